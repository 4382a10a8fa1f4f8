package web

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzLookup feeds what an analyst may type to the lookup's parsers:
// they never panic, an exact match is always a real occurrence (found
// alike by containsValue and by the valueMatcher of a lookup), a CIDR's
// words are a prefix of each of its addresses' text, and a post-login
// destination never leaves the UI.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"203.0.113.45", "203.0.113.0/24", "2001:db8::/32", "evil.example", "https://x.example/a?b",
		"a@b.example", strings.Repeat("ab", 32), "//evil.example", "/ui/../x", "\\\\host", "/ui/objects/x\r\nSet-Cookie: a"} {
		f.Add(s, "prefix "+s+" suffix")
	}
	f.Fuzz(func(t *testing.T, q, text string) {
		_ = kindOf(q)
		if containsValue(text, q) && !strings.Contains(strings.ToLower(text), strings.ToLower(q)) {
			t.Fatalf("containsValue(%q, %q) without an occurrence", text, q)
		}
		// The matcher that folds in place answers as containsValue does,
		// also with its buffer used before.
		m := newValueMatcher(q)
		m.in([]byte(strings.Repeat("X", len(text)+3)))
		if got, want := m.in([]byte(text)), containsValue(text, q); got != want {
			t.Fatalf("valueMatcher(%q).in(%q) = %v, containsValue %v", q, text, got, want)
		}
		if p, err := netip.ParsePrefix(q); err == nil {
			p = p.Masked()
			w := prefixWords(p)
			if p.Addr().Is4() && w != "" && !strings.HasPrefix(p.Addr().String(), w) {
				t.Fatalf("prefixWords(%s) = %q", p, w)
			}
		}
		n := safeNext(q)
		if !strings.HasPrefix(n, "/ui/") || strings.HasPrefix(n, "//") || strings.ContainsAny(n, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q", q, n)
		}
	})
}

func TestKindOf(t *testing.T) {
	for q, want := range map[string]string{
		"203.0.113.45":          "IP address",
		"2001:db8::1":           "IP address",
		"203.0.113.0/24":        "CIDR",
		"evil.example":          "domain",
		"http://x.example":      "URL",
		"a@b.example":           "e-mail address",
		strings.Repeat("a", 32): "file hash",
		"hello world":           "text",
	} {
		if got := kindOf(q); got != want {
			t.Errorf("kindOf(%q) = %q, want %q", q, got, want)
		}
	}
}

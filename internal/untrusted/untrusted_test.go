package untrusted

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven chars", 6, "eleven…"},
		{"a\x1b[31mred\x1b[0m", 100, "a?[31mred?[0m"},
		{"line\nbreak\ttab\r", 100, "line?break?tab?"},
		{"bad \xff utf8", 100, "bad ? utf8"},
		{"403: \u202edeifirev \u2066x\u2069 \u200fy", 100, "403: ?deifirev ?x? ?y"},
		{"héllo", 2, "h…"}, // the cut falls inside é: before it
		{"日本語", 4, "日…"},
		{"anything", 0, "…"},
		{"", 0, ""},
	} {
		if got := Text(c.in, c.n); got != c.want {
			t.Errorf("Text(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	huge := strings.Repeat("\x1b", 1<<20)
	if got := Text(huge, 200); len(got) > 200+len("…") || !utf8.ValidString(got) || strings.ContainsRune(got, 0x1b) {
		t.Errorf("1 MiB of escapes became %d bytes: %.40q", len(got), got)
	}
}

func FuzzText(f *testing.F) {
	f.Add("a\x1b[31mred", 4)
	f.Add("日本語", 4)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		got := Text(s, n)
		if !utf8.ValidString(got) || len(got) > n+len("…") {
			t.Fatalf("Text(%q, %d) = %q", s, n, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("Text(%q, %d) = %q keeps a control character", s, n, got)
			}
		}
	})
}

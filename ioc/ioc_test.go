package ioc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/pattern"
)

func TestRecognize(t *testing.T) {
	for _, tc := range []struct {
		line string
		kind Kind
		want string
	}{
		{"198.51.100.7", IPv4, "198.51.100.7"},
		{"198[.]51[.]100[.]7", IPv4, "198.51.100.7"},
		{"198(.)51(.)100(.)7", IPv4, "198.51.100.7"},
		{"::ffff:198.51.100.7", IPv4, "198.51.100.7"},
		{"2001:db8::1", IPv6, "2001:db8::1"},
		{"2001[:]db8[:][:]1", IPv6, "2001:db8::1"},
		{"203.0.113.9/24", CIDR4, "203.0.113.0/24"},
		{"2001:db8::/32", CIDR6, "2001:db8::/32"},
		{"Example.COM", Domain, "example.com"},
		{"evil[.]example[.]org", Domain, "evil.example.org"},
		{"sub.example.co.uk.", Domain, "sub.example.co.uk"},
		{"xn--bcher-kva.example", Domain, "xn--bcher-kva.example"},
		{"hxxp://evil.example/path?q=1", URL, "http://evil.example/path?q=1"},
		{"hXXps://evil[.]example/a#frag", URL, "https://evil.example/a#frag"},
		{"https://198.51.100.7:8443/x", URL, "https://198.51.100.7:8443/x"},
		{"d41d8cd98f00b204e9800998ecf8427e", MD5, "d41d8cd98f00b204e9800998ecf8427e"},
		{"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{strings.Repeat("ab", 64), SHA512, strings.Repeat("ab", 64)},
		{"phish@Example.com", Email, "phish@example.com"},
		{"phish[@]example[.]com", Email, "phish@example.com"},
		{"phish[at]example[.]com", Email, "phish@example.com"},
		{"phish(at)example(dot)com", Email, "phish@example.com"},
	} {
		got, ok := Recognize(Clean(tc.line))
		if !ok || got.Kind != tc.kind || got.Value != tc.want {
			t.Errorf("%q: %v %v, want %s %q", tc.line, got, ok, tc.kind, tc.want)
		}
	}
}

func TestNotRecognized(t *testing.T) {
	for _, line := range []string{
		"", "localhost", "example", "not a value", "1.2.3", "999.1.1.1", "d41d8cd98f00b204e9800998ecf8427", // 31 hex digits
		"javascript://alert(1)", "http://", "http://exa mple.com", "a@b", "@example.com", ".a@example.com",
		"example.123", "-bad.example.com", "fe80::1%eth0", strings.Repeat("a", MaxLine+1) + ".com",
	} {
		if v, ok := Recognize(Clean(line)); ok {
			t.Errorf("%q recognised as %v", line, v)
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"  # a comment":                        "",
		"#":                                    "",
		"example.com # seen on 2024-01-01":     "example.com",
		"  'example.com'  ":                    "example.com",
		"https://example.com/#anchor":          "https://example.com/#anchor",
		"\"198.51.100.7\"\t# tab then comment": "198.51.100.7",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMISPType(t *testing.T) {
	for k, want := range map[Kind]string{IPv4: "ip-dst", CIDR6: "ip-dst", Domain: "domain", URL: "url", SHA256: "sha256", Email: "email"} {
		if got := (Value{Kind: k}).MISPType(); got != want {
			t.Errorf("%s: %s, want %s", k, got, want)
		}
	}
}

func TestReadCSV(t *testing.T) {
	cols, err := ParseColumns("value,type,comment,-,tags")
	if err != nil {
		t.Fatal(err)
	}
	in := "value,type,comment,x,tags\n# a comment\n198.51.100.7,ip-src,\"seen, twice\",z,tlp:green;c2\nevil[.]example,,,,\n"
	var rows []Row
	if err := ReadCSV(strings.NewReader(in), cols, func(r Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Value != "198.51.100.7" || rows[0].Type != "ip-src" || rows[0].Comment != "seen, twice" ||
		strings.Join(rows[0].Tags, "|") != "tlp:green|c2" || rows[1].Value != "evil[.]example" || rows[1].Type != "" || rows[1].Line != 4 {
		t.Fatalf("rows %+v", rows)
	}
	if err := ReadCSV(strings.NewReader("a\n"), cols, func(Row) error { return nil }); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("short row: %v", err)
	}
	for _, bad := range []string{"type,comment", "value,colour"} {
		if _, err := ParseColumns(bad); err == nil {
			t.Errorf("ParseColumns(%q) accepted", bad)
		}
	}
}

func FuzzRecognize(f *testing.F) {
	for _, s := range []string{"198[.]51.100.7", "hxxp://a.example/", "a[at]b.example", "2001:db8::/32", "d41d8cd98f00b204e9800998ecf8427e", "# c", "x.y # z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		v, ok := Recognize(Clean(line))
		if !ok {
			return
		}
		// A recognised value is canonical: recognising it again gives it back.
		again, ok := Recognize(v.Value)
		if !ok || again != v {
			t.Fatalf("%q -> %v, then %v %v", line, v, again, ok)
		}
		if strings.ContainsAny(v.Value, " \t\n") {
			t.Fatalf("%q -> %q with spaces", line, v.Value)
		}
	})
}

// TestPatternOfABlock: a CIDR block's pattern fires on every address in
// it and on no other ("=" would compare the block as a string, and no
// observed address ever matched it); an address's pattern is equality.
func TestPatternOfABlock(t *testing.T) {
	observed := func(typ, addr string) []byte {
		return fmt.Appendf(nil, `{"type":"bundle","id":"bundle--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f11","objects":[
	{"type":"observed-data","spec_version":"2.1","id":"observed-data--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f12","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z",
	 "first_observed":"2026-01-01T00:00:00Z","last_observed":"2026-01-01T00:00:00Z","number_observed":1,"object_refs":["%[1]s--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f14"]},
	{"type":"%[1]s","spec_version":"2.1","id":"%[1]s--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f14","value":%[2]q}]}`, typ, addr)
	}
	for _, c := range []struct {
		line, typ, in, out string
	}{
		{"203.0.113.0/24", "ipv4-addr", "203.0.113.9", "203.0.114.9"},
		{"2001:db8::/32", "ipv6-addr", "2001:db8:ffff::1", "2001:db9::1"},
		{"198.51.100.7", "ipv4-addr", "198.51.100.7", "198.51.100.8"},
		{"2001:db8::1", "ipv6-addr", "2001:db8::1", "2001:db8::2"},
	} {
		v, ok := Recognize(c.line)
		if !ok {
			t.Fatalf("%s not recognised", c.line)
		}
		p := v.Pattern()
		for addr, want := range map[string]bool{c.in: true, c.out: false} {
			r, err := pattern.MatchJSON(p, observed(c.typ, addr))
			if err != nil || r.Matched != want {
				t.Errorf("%s on %s: matched %v, %v; want %v", p, addr, r.Matched, err, want)
			}
		}
	}
}

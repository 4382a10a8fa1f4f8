package private

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		typ, in, want string
	}{
		{TypeDomainName, "Evil.Example", "evil.example"},
		{TypeDomainName, "evil.example.", "evil.example"},
		{TypeDomainName, "  EVIL.example  ", "evil.example"},
		{TypeDomainName, "Bücher.Example", "xn--bcher-kva.example"},
		{TypeDomainName, "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{TypeDomainName, "BÜCHER.example", "xn--bcher-kva.example"},
		{TypeDomainName, "_dmarc.evil.example", "_dmarc.evil.example"},
		{TypeDomainName, "faß.de", "xn--fa-hia.de"}, // non-transitional: ß kept
		{TypeIPv4, "198.51.100.7", "198.51.100.7"},
		{TypeIPv4, "198.51.100.7/32", "198.51.100.7"},
		{TypeIPv4, "198.51.100.7/24", "198.51.100.0/24"},
		{TypeIPv4, "10.0.0.0/8", "10.0.0.0/8"},
		{TypeIPv6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
		{TypeIPv6, "2001:0db8::0001/128", "2001:db8::1"},
		{TypeIPv6, "2001:db8::1/32", "2001:db8::/32"},
		{TypeIPv6, "::ffff:192.0.2.1", "::ffff:192.0.2.1"},
		{TypeURL, "HTTP://Evil.Example:80/a/./b/../c", "http://evil.example/a/c"},
		{TypeURL, "https://evil.example", "https://evil.example/"},
		{TypeURL, "https://evil.example:443/x?q=%7e%2f#Frag", "https://evil.example/x?q=~%2F#Frag"},
		{TypeURL, "https://evil.example:8443/%41b", "https://evil.example:8443/Ab"},
		{TypeURL, "http://evil.example/a b", "http://evil.example/a%20b"},
		// A '%' that starts no escape is the byte itself, encoded; the
		// form is a fixed point (TestNormalize normalises each result again).
		{TypeURL, "http://evil.example/%zz", "http://evil.example/%25zz"},
		{TypeURL, "http://evil.example/%", "http://evil.example/%25"},
		{TypeURL, "http://evil.example/%5?q=%4#%", "http://evil.example/%255?q=%254#%25"},
		{TypeURL, "http://evil.example/%25zz", "http://evil.example/%25zz"},
		{TypeURL, "http://evil.example/ä", "http://evil.example/%C3%A4"},
		{TypeURL, "http://User@Bücher.example./", "http://User@xn--bcher-kva.example/"},
		{TypeURL, "http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080/"},
		{TypeURL, "http://198.51.100.7/x", "http://198.51.100.7/x"},
		{TypeURL, "mailto:Someone@Example.com", "mailto:Someone@Example.com"},
		{TypeURL, "file:///etc/passwd", "file:///etc/passwd"},
		{TypeEmail, "John.Doe@Evil.Example", "John.Doe@evil.example"},
		{TypeEmail, "\"a@b\"@Evil.Example.", "\"a@b\"@evil.example"},
		{TypeFile, "SHA-256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "SHA-256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{TypeFile, "sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "SHA-256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{TypeFile, "'SHA-256'=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "SHA-256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{TypeFile, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "SHA-256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{TypeFile, "D41D8CD98F00B204E9800998ECF8427E", "MD5=d41d8cd98f00b204e9800998ecf8427e"},
		{TypeFile, "sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709", "SHA-1=da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{TypeFile, "SHA3-256=a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a", "SHA3-256=a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"},
		{TypeMAC, "00-1A-2B-3C-4D-5E", "00:1a:2b:3c:4d:5e"},
		{TypeMAC, "001a.2b3c.4d5e", "00:1a:2b:3c:4d:5e"},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.typ, tt.in)
		if err != nil {
			t.Errorf("Normalize(%q, %q): %v", tt.typ, tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Normalize(%q, %q) = %q, want %q", tt.typ, tt.in, got, tt.want)
		}
		// A normal form is a fixed point.
		again, err := Normalize(tt.typ, got)
		if err != nil || again != got {
			t.Errorf("Normalize(%q, %q) = %q, %v; not idempotent", tt.typ, got, again, err)
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		typ, in string
		want    error
	}{
		{"hostname", "evil.example", ErrUnsupportedType},
		{TypeDomainName, "", ErrInvalidValue},
		{TypeDomainName, "a..example", ErrInvalidValue},
		{TypeDomainName, "evil.example/x", ErrInvalidValue},
		{TypeDomainName, "a b.example", ErrInvalidValue},
		{TypeDomainName, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", ErrInvalidValue},
		{TypeIPv4, "198.51.100.300", ErrInvalidValue},
		{TypeIPv4, "010.0.0.1", ErrInvalidValue},
		{TypeIPv4, "2001:db8::1", ErrInvalidValue},
		{TypeIPv4, "198.51.100.7/33", ErrInvalidValue},
		{TypeIPv6, "198.51.100.7", ErrInvalidValue},
		{TypeIPv6, "fe80::1%eth0", ErrInvalidValue},
		{TypeURL, "evil.example/path", ErrInvalidValue},
		{TypeURL, "http:///nohost", ErrInvalidValue},
		{TypeURL, "http://evil.example:99999/", ErrInvalidValue},
		{TypeURL, "http://[::1/", ErrInvalidValue},
		{TypeEmail, "no-at-sign", ErrInvalidValue},
		{TypeEmail, "@evil.example", ErrInvalidValue},
		{TypeEmail, "a b@evil.example", ErrInvalidValue},
		{TypeFile, "sha256=abcd", ErrInvalidValue},
		{TypeFile, "SHA-256=zz3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8", ErrInvalidValue},
		{TypeFile, "crc32=abcd1234", ErrUnsupportedType},
		{TypeFile, "abcdef", ErrInvalidValue},
		{TypeMAC, "00:1a:2b:3c:4d", ErrInvalidValue},
		{TypeMAC, "00:1a:2b:3c:4d:5g", ErrInvalidValue},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.typ, tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("Normalize(%q, %q) = %q, %v; want error %v", tt.typ, tt.in, got, err, tt.want)
		}
	}
}

func TestParseLine(t *testing.T) {
	typ, v, canon, err := ParseLine("  Domain-Name:Evil.Example. ")
	if err != nil || typ != TypeDomainName || v != "evil.example" || canon != "domain-name:evil.example" {
		t.Fatalf("ParseLine = %q %q %q %v", typ, v, canon, err)
	}
	_, _, canon, err = ParseLine("url:HTTP://Evil.Example")
	if err != nil || canon != "url:http://evil.example/" {
		t.Fatalf("ParseLine(url) = %q %v", canon, err)
	}
	for _, bad := range []string{"", "evil.example", "ipv4-addr:", "unknown:x"} {
		if _, _, _, err := ParseLine(bad); err == nil {
			t.Errorf("ParseLine(%q) succeeded", bad)
		}
	}
}

func TestRemoveDotSegments(t *testing.T) {
	// RFC 3986 section 5.2.4 examples, plus edge cases.
	tests := map[string]string{
		"/a/b/c/./../../g":   "/a/g",
		"mid/content=5/../6": "mid/6",
		"/..":                "/",
		"/a/..":              "/",
		"/a/b/..":            "/a/",
		"/../../x":           "/x",
		"":                   "",
		"/":                  "/",
	}
	for in, want := range tests {
		if got := removeDotSegments(in); got != want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"domain-name:evil.example", "url:http://a/b/../c", "ipv6-addr:2001:db8::1", "file:sha256=00", "email-addr:a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		typ, v, canon, err := ParseLine(line)
		if err != nil {
			return
		}
		if canon != typ+":"+v {
			t.Fatalf("canonical %q != %q:%q", canon, typ, v)
		}
		// The canonical form must be a fixed point.
		_, _, again, err := ParseLine(canon)
		if err != nil {
			t.Fatalf("ParseLine(%q) (canonical of %q): %v", canon, line, err)
		}
		if again != canon {
			t.Fatalf("not idempotent: %q -> %q -> %q", line, canon, again)
		}
	})
}

package match

import (
	"math/rand"
	"net/netip"
	"strings"
	"testing"
)

// plainDomainRef is the byte-by-byte definition plainDomain must agree
// with.
func plainDomainRef(v []byte) bool {
	label := 0
	letters := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z' || c == '-' || c == '_':
			letters = true
			label++
		case c >= '0' && c <= '9':
			label++
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			letters = false // the last label must have one (hostName)
			continue
		default:
			return false
		}
		if label > 63 {
			return false
		}
		if label == 4 && c == '-' && v[i-1] == '-' && v[i-2] == 'n' && v[i-3] == 'x' {
			return false
		}
	}
	return label > 0 && letters
}

// TestPlainDomain checks the table-driven plainDomain against the
// byte-by-byte definition on edge cases and random names.
func TestPlainDomain(t *testing.T) {
	long := strings.Repeat("a", 63)
	cases := []string{
		"", ".", "a", "a.", ".a", "a..b", "example.com", "EXAMPLE.com", "1.2.3.4", "1.2.3.a",
		"xn--bcher-kva.example", "a.xn--bcher-kva", "axn--b.example", "xn-.example", "xn--",
		"xn-", "a.xn--", long + ".com", long + "a.com", "com." + long, "com." + long + "a",
		"_dmarc.example.com", "-a.example", "a_b-c.d", "a b.com", "é.com", "a.com\x00",
	}
	alphabet := "abxn-_.09Z \x80"
	r := rand.New(rand.NewSource(1))
	for range 20000 {
		b := make([]byte, r.Intn(12))
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		got, want := plainDomain([]byte(c)), plainDomainRef([]byte(c))
		if got != want {
			t.Fatalf("plainDomain(%q) = %v, want %v", c, got, want)
		}
	}
}

// TestPlainDomainIsNoAddress backs hostOrIP's shortcut: no name that
// plainDomain accepts parses as an address.
func TestPlainDomainIsNoAddress(t *testing.T) {
	alphabet := "0123456789abcdef.-_x"
	r := rand.New(rand.NewSource(2))
	for range 50000 {
		b := make([]byte, 1+r.Intn(16))
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		if plainDomain(b) {
			if a, err := netip.ParseAddr(string(b)); err == nil {
				t.Fatalf("%q is a plain domain and the address %v", b, a)
			}
		}
	}
}

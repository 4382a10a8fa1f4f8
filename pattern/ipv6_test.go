package pattern

import (
	"net/netip"
	"strings"
	"testing"
)

// TestIPInSubnetIPv6 checks ISSUBSET and ISSUPERSET over IPv6 (RFC 4291
// text forms) and the IPv4-mapped rule of ipInSubnet.
func TestIPInSubnetIPv6(t *testing.T) {
	for _, c := range []struct {
		inner, outer string
		want         bool
		err          bool
	}{
		{"2a04:4e42::81", "2a04:4e42::/32", true, false},
		{"2a04:4e42:ffff::1", "2a04:4e42::/32", true, false},
		{"2a04:4e43::1", "2a04:4e42::/32", false, false},
		{"2A04:4E42:0:0::1", "2a04:4e42::/32", true, false},
		{"2a04:4e42::/48", "2a04:4e42::/32", true, false},
		{"2a04:4e42::/16", "2a04:4e42::/32", false, false},
		{"2001:db8::1", "2001:db8::1/128", true, false},
		{"fe80::1", "::/1", false, false},
		{"8000::1", "8000::/1", true, false},
		// IPv4 and IPv6 never contain each other.
		{"10.0.0.1", "2a04:4e42::/32", false, false},
		{"2a04:4e42::1", "10.0.0.0/8", false, false},
		// IPv4-mapped addresses and subnets are IPv4.
		{"::ffff:10.0.0.2", "10.0.0.0/8", true, false},
		{"10.0.0.2", "::ffff:10.0.0.0/104", true, false},
		{"::ffff:10.0.0.2", "::ffff:10.0.0.0/104", true, false},
		{"::ffff:11.0.0.2", "::ffff:10.0.0.0/104", false, false},
		{"::ffff:a00:2", "10.0.0.0/8", true, false},
		{"10.0.0.2", "::ffff:0.0.0.0/96", true, false},
		{"192.0.2.1", "::ffff:0:0/95", false, false},
		// Errors: not an address, a zone, no prefix on the outer side.
		{"2a04:4e42::zz", "2a04:4e42::/32", false, true},
		{"fe80::1%eth0", "fe80::/10", false, true},
		{"2a04:4e42::1", "2a04:4e42::1", false, true},
		{"2a04:4e42::1", "2a04:4e42::/129", false, true},
		{"2a04:4e42::1", "::/0", false, true},
	} {
		got, err := ipInSubnet(c.inner, c.outer)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ipInSubnet(%q, %q) = %v, %v; want %v, error %v", c.inner, c.outer, got, err, c.want, c.err)
		}
	}
}

// TestIsSubsetIPv6Pattern runs the pattern through the evaluator.
func TestIsSubsetIPv6Pattern(t *testing.T) {
	p, err := Parse("[ipv6-addr:value ISSUBSET '2a04:4e42::/32']")
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"2a04:4e42::81": true, "2a04:4e41::81": false} {
		obs := []Observation{{Count: 1, Objects: map[string]map[string]any{"0": {"type": "ipv6-addr", "value": addr}}}}
		got, err := p.Match(obs)
		if err != nil || got.Matched != want {
			t.Errorf("%s: %v, %v; want %v", addr, got.Matched, err, want)
		}
	}
}

// FuzzIPInSubnet: no input panics, and for IPv6 text that netip reads the
// answer is netip's containment (after unmapping IPv4-mapped addresses).
func FuzzIPInSubnet(f *testing.F) {
	f.Add("2a04:4e42::81", "2a04:4e42::/32")
	f.Add("::ffff:10.0.0.2", "::ffff:10.0.0.0/104")
	f.Add("10.0.0.1", "::ffff:0.0.0.0/96")
	f.Add("fe80::1%eth0", "fe80::/10")
	f.Fuzz(func(t *testing.T, inner, outer string) {
		got, err := ipInSubnet(inner, outer)
		if err != nil || !strings.Contains(inner, ":") || !strings.Contains(outer, ":") || strings.Contains(inner, "/") {
			return
		}
		a, err1 := netip.ParseAddr(inner)
		p, err2 := netip.ParsePrefix(outer)
		if err1 != nil || err2 != nil || a.Zone() != "" {
			t.Fatalf("ipInSubnet(%q, %q) accepted what netip refuses", inner, outer)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		want := p.Masked().Contains(a.Unmap())
		if got != want {
			t.Fatalf("ipInSubnet(%q, %q) = %v, netip says %v", inner, outer, got, want)
		}
	})
}

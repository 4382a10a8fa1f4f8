package match

import (
	"slices"
	"testing"
)

// TestDNSAnswerTypeGeneric: a type written in RFC 3597's generic form,
// TYPE and its number, is read by its number as the named type is:
// TYPE28 (AAAA) and TYPE1 (A) data are addresses, TYPE5 (CNAME), TYPE2
// (NS), TYPE12 (PTR) targets are names, in any case, in ECS dns.answers
// (type before or after the data) and in EVE's records (v1's dns.rrtype,
// v2/v3's answers); TYPE16 (TXT) and TYPE65 (HTTPS) data are no
// observable, nor are "TYPE" alone, "TYPE65536" or "TYPEx". Before,
// every TYPEnn read the data as nothing: the addresses and the targets
// were lost.
func TestDNSAnswerTypeGeneric(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		want      []string
	}{
		{"ecs, keys sorted", `{"@timestamp":"2024-01-01T00:00:00.000Z","ecs":{"version":"8.0.0"},"dns":{"answers":[{"data":"txt1.example","name":"q.example.org","type":"TYPE16"},{"data":"evil.example","name":"example.net","type":"TYPE5"},{"data":"2001:db8::7","name":"evil.example","type":"TYPE28"},{"data":"192.0.2.7","name":"evil.example","type":"type1"},{"data":"1 . alpn=h2","name":"evil.example","type":"TYPE65"}]}}`,
			[]string{"domain-name:value=evil.example", "domain-name:value=example.net", "domain-name:value=q.example.org", "ipv4-addr:value=192.0.2.7", "ipv6-addr:value=2001:db8::7"}},
		{"ecs, type first, dotted", `{"@timestamp":"2024-01-01T00:00:00.000Z","ecs.version":"8.0.0","dns.answers":[{"type":"TYPE16","data":"txt2.example"},{"type":"Type2","data":"ns.evil2.example"},{"type":"TYPE12","data":"evil3.example"}]}`,
			[]string{"domain-name:value=evil3.example", "domain-name:value=ns.evil2.example"}},
		{"eve v3", `{"timestamp":"2025-03-01T10:00:01.000000+0000","event_type":"dns","dns":{"version":3,"answers":[{"rrname":"r.example.org","rrtype":"TYPE5","rdata":"evil4.example"},{"rrname":"s.example.org","rrtype":"TYPE16","rdata":"txt3.example"},{"rrname":"evil4.example","rrtype":"TYPE1","rdata":"198.51.100.9"},{"rrname":"t.example.org","rrtype":"TYPE","rdata":"no1.example"},{"rrname":"u.example.org","rrtype":"TYPE65536","rdata":"no2.example"},{"rrname":"v.example.org","rrtype":"TYPEx","rdata":"no3.example"}]}}`,
			[]string{"domain-name:value=evil4.example", "domain-name:value=r.example.org", "domain-name:value=s.example.org", "domain-name:value=t.example.org", "domain-name:value=u.example.org", "domain-name:value=v.example.org", "ipv4-addr:value=198.51.100.9"}},
		{"eve v1", `{"timestamp":"2025-03-01T10:00:01.000000+0000","event_type":"dns","dns":{"type":"answer","rrname":"r.example.org","rrtype":"TYPE28","rdata":"2001:db8::5"}}`,
			[]string{"domain-name:value=r.example.org", "ipv6-addr:value=2001:db8::5"}},
	} {
		if have := observablesOf(t, FormatAuto, c.doc); !slices.Equal(have, c.want) {
			t.Errorf("%s:\n have %q\n want %q", c.name, have, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		n    uint16
		isOK bool
	}{{"TYPE65", 65, true}, {"type0", 0, true}, {"TYPE65535", 65535, true}, {"TYPE65536", 0, false}, {"TYPE", 0, false}, {"TYPE-1", 0, false}, {"TYPO1", 0, false}, {"TYPE123456", 0, false}} {
		if n, ok := genericRRType([]byte(c.in)); n != c.n || ok != c.isOK {
			t.Errorf("genericRRType(%q) = %d, %v, want %d, %v", c.in, n, ok, c.n, c.isOK)
		}
	}
}

package match

import (
	"slices"
	"testing"
)

// TestDNSAnswerTypeAnyCase: a DNS record's type is a mnemonic read in any
// case (RFC 1035 section 5.1, RFC 3597 section 5), so an answer typed
// "cname", "Aaaa" or "ns" is read as a CNAME, AAAA or NS record is, in
// ECS dns.answers (type before or after the data) and in EVE's records
// (v1's dns.rrtype and v2/v3's answers), while a lower-case "txt" is
// still no name. Before, a type not in upper case read the data as
// nothing: the CNAME's target and the addresses were lost.
func TestDNSAnswerTypeAnyCase(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		want      []string
	}{
		{"ecs, keys sorted", `{"@timestamp":"2024-01-01T00:00:00.000Z","ecs":{"version":"8.0.0"},"dns":{"answers":[{"data":"txt1.example","name":"q.example.org","type":"txt"},{"data":"evil.example","name":"example.net","type":"cname"},{"data":"2001:db8::7","name":"evil.example","type":"Aaaa"},{"data":"192.0.2.7","name":"evil.example","type":"a"}]}}`,
			[]string{"domain-name:value=evil.example", "domain-name:value=example.net", "domain-name:value=q.example.org", "ipv4-addr:value=192.0.2.7", "ipv6-addr:value=2001:db8::7"}},
		{"ecs, type first, dotted", `{"@timestamp":"2024-01-01T00:00:00.000Z","ecs.version":"8.0.0","dns.answers":[{"type":"Txt","data":"txt2.example"},{"type":"ns","data":"ns.evil2.example"},{"type":"dname","data":"evil3.example"}]}`,
			[]string{"domain-name:value=evil3.example", "domain-name:value=ns.evil2.example"}},
		{"eve v3", `{"timestamp":"2025-03-01T10:00:01.000000+0000","event_type":"dns","dns":{"version":3,"answers":[{"rrname":"r.example.org","rrtype":"cname","rdata":"evil4.example"},{"rrname":"s.example.org","rrtype":"txt","rdata":"txt3.example"},{"rrname":"evil4.example","rrtype":"a","rdata":"198.51.100.9"}]}}`,
			[]string{"domain-name:value=evil4.example", "domain-name:value=r.example.org", "domain-name:value=s.example.org", "ipv4-addr:value=198.51.100.9"}},
		{"eve v1", `{"timestamp":"2025-03-01T10:00:01.000000+0000","event_type":"dns","dns":{"type":"answer","rrname":"r.example.org","rrtype":"Cname","rdata":"evil5.example"}}`,
			[]string{"domain-name:value=evil5.example", "domain-name:value=r.example.org"}},
	} {
		if have := observablesOf(t, FormatAuto, c.doc); !slices.Equal(have, c.want) {
			t.Errorf("%s:\n have %q\n want %q", c.name, have, c.want)
		}
	}
}

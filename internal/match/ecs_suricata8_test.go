package match

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// observablesOf decodes one line and gives its observables (Attr=value)
// other than the connection's ports, protocols and references and the
// HTTP request's method and headers, sorted, without duplicates.
func observablesOf(t *testing.T, f Format, line string) []string {
	t.Helper()
	evs, err := NewDecoder(f).Decode([]byte(line))
	if err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	var have []string
	for _, e := range evs {
		for _, fl := range e.Fields {
			s := fl.Attr.String() + "=" + string(fl.Value)
			if strings.HasPrefix(s, "network-traffic:") || slices.Contains(have, s) {
				continue
			}
			have = append(have, s)
		}
	}
	sort.Strings(have)
	return have
}

// TestECSSuricataKeepsWhatEVEGives decodes the ECS documents Elastic's
// suricata integration writes for real EVE events (suricata-verify's
// checks, Suricata 7 and 8 shapes; testdata/sensors/ecs-integrations/
// make-suricata8.py applies the pipeline's processors) and wants from each
// the observables its EVE event gives. The pipeline maps DNS v1 and v2
// only: Suricata 8's default v3 (queries, answers, authorities,
// additionals) stays below suricata.eve.dns, as do the TLS certificate's
// subjectaltname, QUIC's sni, dhcp, sip's sdp, the SMB, NFS, FTP and TFTP
// file names, alerts' files and the tunnel's addresses, which the
// pipeline does not move either. The one expected difference: the
// pipeline also writes the TLS serial without its colons
// (tls.server.x509.serial_number), an extra value.
func TestECSSuricataKeepsWhatEVEGives(t *testing.T) {
	eve := map[string][]string{}
	for _, n := range []string{"events.ndjson", "events2.ndjson", "events3.ndjson", "events4.ndjson", "events5.ndjson", "events6.ndjson", "events7.ndjson", "events8.ndjson"} {
		for i, l := range splitLines(string(readSample(t, "eve-verify/"+n))) {
			eve[fmt.Sprintf("%s:%d", n, i+1)] = append([]string(nil), l)
		}
	}
	docs := splitLines(string(readSample(t, "ecs-integrations/suricata8-derived.ndjson")))
	if len(docs) != 904 {
		t.Fatalf("%d documents, want 904", len(docs))
	}
	var values, missed, dns3 int
	for i, doc := range docs {
		var k struct {
			Eve string `json:"_eve"`
		}
		if err := json.Unmarshal([]byte(doc), &k); err != nil || eve[k.Eve] == nil {
			t.Fatalf("document %d: no EVE event (%v)", i+1, err)
		}
		want := observablesOf(t, FormatEVE, eve[k.Eve][0])
		have := observablesOf(t, FormatAuto, doc)
		if i < len(docs)/2 && strings.Contains(eve[k.Eve][0], `"queries"`) {
			dns3++
		}
		values += len(want)
		var lost, extra []string
		for _, w := range want {
			if !slices.Contains(have, w) {
				lost = append(lost, w)
			}
		}
		for _, h := range have {
			if !slices.Contains(want, h) && !strings.HasPrefix(h, "x509-certificate:serial_number=") {
				extra = append(extra, h)
			}
		}
		missed += len(lost)
		if len(lost) > 0 || len(extra) > 0 {
			t.Errorf("document %d (%s): lost %q, extra %q", i+1, k.Eve, lost, extra)
		}
	}
	t.Logf("%d documents (%d with DNS v3 queries), %d observables wanted, %d lost", len(docs), dns3, values, missed)
}

// TestECSDNSAnswersByType reads an ECS answer's data by its type, whether
// the type comes after the data (Elasticsearch returns an object's keys
// sorted) or before it: Elastic's suricata pipeline writes EVE's rrtype
// there, and the text of a TXT record (an iodine tunnel's reply, from
// suricata-verify's dns/bug-1158 check as the pipeline maps it) is no
// domain name. Answers without a type (Elastic's zeek pipeline) are read
// as Zeek's are.
func TestECSDNSAnswersByType(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		want      []string
	}{
		{"suricata v2, keys sorted", `{"@timestamp":"2024-01-01T00:00:00.000Z","ecs":{"version":"8.0.0"},"dns":{"answers":[{"data":"AhvMAAO1kAFE5TE9QTjFFN09RN1lYSDk","name":"hvMAAAABBA.srv.tunnel.com","ttl":3,"type":"TXT"},{"data":"0K","name":"hvMAAAABBA.srv.tunnel.com","ttl":3,"type":"TXT"},{"data":"www.example.net","name":"example.net","type":"CNAME"},{"data":"192.0.2.7","name":"www.example.net","type":"A"}],"type":"answer"}}`,
			[]string{"domain-name:value=example.net", "domain-name:value=hvmaaaabba.srv.tunnel.com", "domain-name:value=www.example.net", "ipv4-addr:value=192.0.2.7"}},
		{"type first, dotted", `{"@timestamp":"2024-01-01T00:00:00.000Z","ecs.version":"8.0.0","dns.answers":[{"type":"TXT","data":"AhvMAAO1kAFE5TE9QTjFFN09RN1lYSDk"},{"type":"NS","data":"iodine.tunnel.com"}]}`,
			[]string{"domain-name:value=iodine.tunnel.com"}},
		{"zeek, no type", `{"@timestamp":"2024-01-01T00:00:00.000Z","ecs":{"version":"8.2.0"},"dns":{"answers":[{"data":"proxy-production-us-west1.gcp.cloud.es.io","ttl":119},{"data":"89.160.20.156","ttl":59},{"data":"NSEC3","ttl":59}]}}`,
			[]string{"domain-name:value=proxy-production-us-west1.gcp.cloud.es.io", "ipv4-addr:value=89.160.20.156"}},
		// An SOA answer has a type and no data (EVE writes its soa
		// object, not rdata): its type is not the next record's.
		{"record without data, keys sorted", `{"@timestamp":"2024-01-01T00:00:00.000Z","ecs":{"version":"8.0.0"},"dns":{"answers":[{"name":"example.org","ttl":5,"type":"SOA"},{"data":"evil2.example","name":"a.example.org","type":"CNAME"},{"data":"198.51.100.8","name":"b.example.org","type":"A"}]}}`,
			[]string{"domain-name:value=a.example.org", "domain-name:value=b.example.org", "domain-name:value=evil2.example", "domain-name:value=example.org", "ipv4-addr:value=198.51.100.8"}},
		{"record without data, type first", `{"@timestamp":"2024-01-01T00:00:00.000Z","ecs":{"version":"8.0.0"},"dns":{"answers":[{"type":"TXT","name":"t.example.org"},{"data":"evil3.example"}]}}`,
			[]string{"domain-name:value=evil3.example", "domain-name:value=t.example.org"}},
		// EVE's records with their keys sorted (rdata before rrtype), in
		// an EVE event and below suricata.eve: a TXT record's text is
		// no name, and its type doesn't read the CNAME record after it.
		{"eve, keys sorted", `{"timestamp":"2025-03-01T10:00:01.000000+0000","event_type":"dns","dns":{"version":3,"answers":[{"rdata":"txt1.example","rrname":"q.example.org","rrtype":"TXT","ttl":5},{"rdata":"evil4.example","rrname":"r.example.org","rrtype":"CNAME","ttl":5},{"rrname":"s.example.org","rrtype":"SOA","soa":{"mname":"ns.example.org"}},{"rdata":"198.51.100.9","rrname":"t.example.org","rrtype":"A"}]}}`,
			[]string{"domain-name:value=evil4.example", "domain-name:value=ns.example.org", "domain-name:value=q.example.org", "domain-name:value=r.example.org", "domain-name:value=s.example.org", "domain-name:value=t.example.org", "ipv4-addr:value=198.51.100.9"}},
		{"below suricata.eve, keys sorted", `{"@timestamp":"2025-03-01T10:00:01.000Z","ecs":{"version":"8.0.0"},"suricata":{"eve":{"dns":{"version":3,"authorities":[{"rdata":"txt1.example","rrname":"q.example.org","rrtype":"TXT"},{"rdata":"evil5.example","rrname":"r.example.org","rrtype":"NS"}]}}}}`,
			[]string{"domain-name:value=evil5.example", "domain-name:value=q.example.org", "domain-name:value=r.example.org"}},
		{"eve, rdata without rrtype", `{"timestamp":"2025-03-01T10:00:01.000000+0000","event_type":"dns","dns":{"version":3,"answers":[{"rdata":"evil6.example","rrname":"q.example.org"},{"rrname":"r.example.org","rrtype":"TXT","rdata":"txt2.example"}]}}`,
			[]string{"domain-name:value=evil6.example", "domain-name:value=q.example.org", "domain-name:value=r.example.org"}},
		{"type without data, then data", `{"@timestamp":"2024-01-01T00:00:00.000Z","ecs":{"version":"8.0.0"},"dns":{"answers":[{"data":"a.example","ttl":1},{"data":"AhvMAAO1kA","type":"TXT"}]}}`,
			[]string{"domain-name:value=a.example"}},
	} {
		if have := observablesOf(t, FormatAuto, c.doc); !slices.Equal(have, c.want) {
			t.Errorf("%s:\n have %q\n want %q", c.name, have, c.want)
		}
	}
}

// TestECSSuricataQUIC: Elastic's suricata pipeline has no QUIC
// processor, so a Suricata 7 or 8 quic event's sni stays below
// suricata.eve.quic (nested, or dotted as Filebeat ships it).
func TestECSSuricataQUIC(t *testing.T) {
	for _, doc := range []string{
		`{"@timestamp":"2025-03-01T10:00:02.000Z","ecs":{"version":"8.0.0"},"network":{"protocol":"quic"},"suricata":{"eve":{"event_type":"quic","quic":{"version":"1","sni":"quic.example","ua":"Chrome/120","ja4":"q13d0310h3_55b375c5d22e_cd85d2d88918"}}}}`,
		`{"@timestamp":"2025-03-01T10:00:02.000Z","ecs.version":"8.0.0","network.protocol":"quic","suricata.eve.event_type":"quic","suricata.eve.quic.sni":"quic.example","suricata.eve.quic.ja4":"q13d0310h3_55b375c5d22e_cd85d2d88918"}`,
	} {
		if have := observablesOf(t, FormatAuto, doc); !slices.Equal(have, []string{"domain-name:value=quic.example"}) {
			t.Errorf("%s: %q", doc, have)
		}
	}
}

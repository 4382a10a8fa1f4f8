package match

import (
	"fmt"
	"testing"
)

// TestECSReal runs documents that Elastic's own Filebeat pipelines wrote
// (zeek http and ssl, suricata eve; testdata/sensors/ecs-beats), as
// Filebeat ships them (dotted keys) and as Elasticsearch returns them
// (nested objects, here with every object's keys reversed so that
// "@timestamp" comes last), with the format detected and given. The
// expected counts follow from the ECS field reference: url.domain with
// url.original (a path) and url.port is a URL, the default port dropped.
func TestECSReal(t *testing.T) {
	want := map[string]int64{
		"[url:value = 'http://testmynids.org/uid/index.html']": 1,
		"[url:value = 'http://ocsp.apple.com/ocsp04-aaica02/ME4wTKADAgEAMEUwQzBBMAkGBSsOAwIaBQAEFNqvF+Za6oA4ceFRLsAWwEInjUhJBBQx6napI3Sl39T97qDBpp7GEQ4R7AIIUP1IOZZ86ns=']": 1,
		"[domain-name:value = 'testmynids.org']":                                                      1,
		"[domain-name:value = 'ocsp.apple.com']":                                                      1,
		"[x509-certificate:issuer = 'CN=DigiCert SHA2 Secure Server CA,O=DigiCert Inc,C=US']":         2,
		"[domain-name:value = 'dd625ffb4fc54735b281862aa1cd6cd4.us-west1.gcp.cloud.es.io']":           2,
		"[ipv4-addr:value = '10.178.98.102']":                                                         3,
		"[mac-addr:value = '00:03:2d:3f:e5:63']":                                                      1,
		"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'curl/7.58.0']": 1,
	}
	for _, name := range []string{"dotted.ndjson", "nested.ndjson"} {
		log := string(readSample(t, "ecs-beats/"+name))
		for _, f := range []Format{FormatAuto, FormatECS} {
			if st := matchCounts(t, fmt.Sprintf("%s %v", name, f), want, f, log); st.Events != 4 || st.Malformed != 0 || st.Errors != 0 {
				t.Errorf("%s %v: stats %+v", name, f, st)
			}
		}
		// Every document is detected as ECS, whatever its first key.
		d := NewDecoder(FormatAuto)
		for i, line := range splitLines(log) {
			if f := d.Detect([]byte(line)); f != FormatECS {
				t.Errorf("%s line %d detected as %v", name, i+1, f)
			}
		}
		// @timestamp in epoch milliseconds, as these test outputs have it.
		s := sightingsFor(t, []*Indicator{{ID: "indicator--a", Pattern: "[domain-name:value = 'ocsp.apple.com']"}}, FormatAuto, log)["indicator--a"]
		if s == nil || s["first_seen"] != "2019-01-17T01:05:30.000Z" {
			t.Errorf("%s: sighting %v, want first_seen 2019-01-17T01:05:30.000Z", name, s)
		}
	}
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if i > 0 {
			out = append(out, s[:i])
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}

// TestECSShapes: the ECS fields of issue 15, one document each.
func TestECSShapes(t *testing.T) {
	sha256 := "0b5f1c0d0a4e3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"
	cases := []struct {
		name, line string
		want, not  []string
	}{
		{"url from parts", `{"url":{"path":"/a/b","query":"x=1","port":8443,"scheme":"https","domain":"Shop.Example.com"},"@timestamp":"2024-03-01T10:00:00Z"}`,
			[]string{"url:value=https://shop.example.com:8443/a/b?x=1", "domain-name:value=shop.example.com"}, nil},
		{"url domain and original", `{"@timestamp":"2024-03-01T10:00:00Z","url.original":"/index.php?id=7","url.domain":"www.example.com"}`,
			[]string{"url:value=http://www.example.com/index.php?id=7"}, nil},
		{"url domain is an address", `{"@timestamp":"2024-03-01T10:00:00Z","url.original":"/x","url.domain":"192.0.2.4"}`,
			[]string{"ipv4-addr:value=192.0.2.4", "url:value=http://192.0.2.4/x"}, []string{"domain-name:value=192.0.2.4"}},
		{"tls server certificate", `{"tls":{"server":{"subject":"CN=evil.example","issuer":"CN=Evil CA","hash":{"sha256":"` + sha256 + `","md5":"44d88612fea8a8f36de82e1278abb02f"}}},"@timestamp":"2024-03-01T10:00:00Z"}`,
			[]string{"x509-certificate:subject=CN=evil.example", "x509-certificate:issuer=CN=Evil CA", "x509-certificate:hashes.'SHA-256'=" + sha256, "x509-certificate:hashes.MD5=44d88612fea8a8f36de82e1278abb02f"},
			[]string{"file:hashes.'SHA-256'=" + sha256, "file:hashes.MD5=44d88612fea8a8f36de82e1278abb02f"}},
		{"related.hash is not a file hash", `{"@timestamp":"2024-03-01T10:00:00Z","related":{"hash":["` + sha256 + `","44d88612fea8a8f36de82e1278abb02f"],"ip":["2001:db8::1"]}}`,
			[]string{"ipv6-addr:value=2001:db8::1"}, []string{"file:hashes.'SHA-256'=" + sha256, "file:hashes.MD5=44d88612fea8a8f36de82e1278abb02f"}},
		{"suricata fileinfo below suricata.eve", `{"suricata":{"eve":{"event_type":"fileinfo","fileinfo":{"filename":"eicar.com","md5":"44d88612fea8a8f36de82e1278abb02f","sha1":"3395856ce81f2b7382dee72602f798b642f14140","sha256":"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"}}},"@timestamp":"2024-03-01T10:00:00Z"}`,
			[]string{"file:hashes.MD5=44d88612fea8a8f36de82e1278abb02f", "file:hashes.'SHA-1'=3395856ce81f2b7382dee72602f798b642f14140", "file:hashes.'SHA-256'=275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", "file:name=eicar.com"}, nil},
		{"dns", `{"dns":{"answers":[{"type":"CNAME","data":"edge.example.org"},{"type":"AAAA","data":"2001:db8::7"}],"question":{"name":"CDN.example.org."}},"destination":{"domain":"dst.example"},"@timestamp":"2024-03-01T10:00:00Z"}`,
			[]string{"domain-name:value=cdn.example.org", "domain-name:value=edge.example.org", "ipv6-addr:value=2001:db8::7", "domain-name:value=dst.example"}, nil},
		{"dns question is an address", `{"@timestamp":"2024-03-01T10:00:00Z","dns.question.name":"10.0.0.1","tls.client.server_name":"*.example.com"}`,
			nil, []string{"domain-name:value=10.0.0.1", "domain-name:value=*.example.com"}},
		{"mapped address", `{"@timestamp":"2024-03-01T10:00:00Z","source.ip":"::ffff:10.0.0.2"}`,
			[]string{"ipv4-addr:value=10.0.0.2"}, []string{"ipv6-addr:value=::ffff:10.0.0.2"}},
	}
	d := NewDecoder(FormatAuto)
	for _, c := range cases {
		evs, err := d.Decode([]byte(c.line))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if evs[0].Format != FormatECS {
			t.Errorf("%s: detected as %v", c.name, evs[0].Format)
		}
		have := map[string]bool{}
		for _, f := range evs[0].Fields {
			have[f.Attr.String()+"="+string(f.Value)] = true
		}
		for _, w := range c.want {
			if !have[w] {
				t.Errorf("%s: no %s in %v", c.name, w, have)
			}
		}
		for _, w := range c.not {
			if have[w] {
				t.Errorf("%s: unexpected %s", c.name, w)
			}
		}
	}
}

// TestDetectByContent: the format comes from the keys, not their order.
func TestDetectByContent(t *testing.T) {
	for line, want := range map[string]Format{
		`{"ts":1.0,"uid":"C1"}`: FormatZeek,
		`{"_path":"dns","_write_ts":"2018-03-24T17:15:20Z","ts":"2018-03-24T17:15:20Z"}`:              FormatZeek,
		`{"uid":"C1","ts":1.0,"query":"a.example"}`:                                                   FormatZeek,
		`{"timestamp":"2024-03-01T10:00:00Z","event_type":"dns"}`:                                     FormatEVE,
		`{"event_type":"dns","flow_id":1,"timestamp":"2024-03-01T10:00:00Z"}`:                         FormatEVE,
		`{"@timestamp":"2024-03-01T10:00:00Z"}`:                                                       FormatECS,
		`{"suricata":{"eve":{"event_type":"alert"}},"@timestamp":"x"}`:                                FormatECS,
		`{"event":{"kind":"alert"},"ecs":{"version":"8.11.0"},"ts":1}`:                                FormatECS,
		`{"type":"observed-data","id":"observed-data--x"}`:                                            FormatSTIX,
		`{"type":"bundle","objects":[]}`:                                                              FormatSTIX,
		`{"@timestamp":"2024-03-01T10:00:00Z","event_type":"dns","timestamp":"2024-03-01T10:00:00Z"}`: FormatEVE,
		`{"@timestamp":"2024-03-01T10:00:00Z","ts":1.0,"uid":"C1","query":"a.example"}`:               FormatZeek,
		`{"@timestamp":"x","suricata":{"eve":{"event_type":"alert"}},"source":{"ip":"192.0.2.1"}}`:    FormatECS,
		`{"@timestamp":"x","url":{"domain":"ts.example"},"tags":["ts"]}`:                              FormatECS,
		`[{"type":"observed-data","id":"observed-data--x"}]`:                                          FormatSTIX,
		`{"a":1}`:  FormatAuto,
		`not json`: FormatAuto,
	} {
		if got := NewDecoder(FormatAuto).Detect([]byte(line)); got != want {
			t.Errorf("%s: %v, want %v", line, got, want)
		}
	}
}

package match

import (
	"fmt"
	"testing"
)

// TestZeekAddrFieldsRealSamples: fields that Zeek's log reference types
// `addr` outside the connection id are addresses the traffic carried.
// ftp.log's data_channel.orig_h/resp_h (FTP::ExpectedDataChannel, the
// data connection that PASV or PORT set up) on the WRCCDC capture, where a
// NATed server announces 172.20.0.80 in its PASV replies, and dhcp.log's
// requested_addr (the client's DHCP option 50) on Zeek's test baselines.
// Counts from testdata/sensors/zeek-wrccdc/expect.py (ftp) and by hand
// from the baselines (dhcp: all-msg-types has 128.2.6.189 as
// requested_addr in its first and third records and as assigned_addr in
// the first; discover-msg-types has only requested_addr 208.67.222.222).
func TestZeekAddrFieldsRealSamples(t *testing.T) {
	for _, name := range []string{"zeek-wrccdc/ftp.log.gz", "zeek-wrccdc/ftp.json.gz"} {
		st := matchCounts(t, name, map[string]int64{
			"[ipv4-addr:value = '172.20.0.80']":   47,
			"[ipv4-addr:value = '10.47.27.80']":   3,
			"[ipv4-addr:value = '10.164.94.120']": 93,
			// arg of the one STOR (a file command: Zeek logs the URL).
			"[url:value = 'ftp://10.47.27.80/nessus_test']": 1,
		}, FormatAuto, string(readSample(t, name)))
		if st.Events != 93 || st.Malformed != 0 {
			t.Errorf("%s: %+v, want 93 events, none malformed", name, st)
		}
	}
	for name, want := range map[string]map[string]int64{
		"zeek-baseline/scripts.base.protocols.dhcp.dhcp-all-msg-types_dhcp.log": {
			"[ipv4-addr:value = '128.2.6.189']": 2, "[ipv4-addr:value = '128.2.6.97']": 1,
		},
		"zeek-baseline/scripts.base.protocols.dhcp.dhcp-discover-msg-types_dhcp.log": {
			"[ipv4-addr:value = '208.67.222.222']": 1,
		},
	} {
		if st := matchCounts(t, name, want, FormatZeek, string(readSample(t, name))); st.Malformed != 0 {
			t.Errorf("%s: %+v", name, st)
		}
	}
}

// TestECSZeekPipelineFields: Elastic's zeek integration keeps smtp.log's
// mail addresses, dhcp.log's assigned and requested addresses, ftp.log's
// data channel and ssl.log's server_name (as zeek.ssl.server.name) and
// cert_chain_fps below zeek.* only (no ECS field, not in related.ip). The documents are the real records above put through the
// pipeline's renames (testdata/sensors/ecs-zeek/make.py); the counts are
// the Zeek records' (expect.py; the e-mail addresses are smtp.log's
// mailfrom and rcptto), so the ECS form must give the same.
func TestECSZeekPipelineFields(t *testing.T) {
	want := map[string]int64{
		"[email-addr:value = 'nessus49048747@hotmail.com']":             5,
		"[email-addr:value = 'nessus1157527943@invalid1562458422.org']": 1,
		"[ipv4-addr:value = '172.20.0.80']":                             47,
		"[ipv4-addr:value = '208.67.222.222']":                          1,
		"[ipv4-addr:value = '128.2.6.189']":                             2,
		// the first 1000 ssl.log records
		"[domain-name:value = 'ise.wrccdc.org']": 83,
		"[x509-certificate:hashes.'SHA-256' = 'b2dafbcdbc75210672f137f27ce882ccb799887631655d4f11191d5a678e44fe']": 101,
	}
	for _, f := range []Format{FormatAuto, FormatECS} {
		st := matchCounts(t, f.String(), want, f, string(readSample(t, "ecs-zeek/zeek-ecs.ndjson.gz")))
		if st.Events != 1188+93+1000+4 || st.Malformed != 0 {
			t.Errorf("%v: %+v, want 2285 events, none malformed", f, st)
		}
	}
}

// TestECSZeekX509: Elastic's zeek x509 pipeline writes the certificate as
// ECS file.x509 (alternative_names, serial_number) and keeps Zeek's san.*
// below zeek.x509; the document is the first that the integration's
// pipeline test expects (testdata/sensors/ecs-integrations), nested and
// dotted. Its 72 SAN DNS names hold 47 plain names (www.bing.com,
// bing.com, search.msn.com among them); platform.bing.com is only the
// wildcard *.platform.bing.com, which is no domain name.
func TestECSZeekX509(t *testing.T) {
	want := map[string]int64{
		"[domain-name:value = 'search.msn.com']":                                      1,
		"[domain-name:value = 'bing.com']":                                            1,
		"[domain-name:value = 'www.bing.com']":                                        1,
		"[domain-name:value = 'platform.bing.com']":                                   0,
		"[x509-certificate:serial_number = '2D00003299D7071DB7D1708A42000000003299']": 1,
	}
	for _, name := range []string{"zeek-x509-expected.ndjson", "zeek-x509-expected-dotted.ndjson"} {
		for _, f := range []Format{FormatAuto, FormatECS} {
			st := matchCounts(t, fmt.Sprintf("%s %v", name, f), want, f, string(readSample(t, "ecs-integrations/"+name)))
			if st.Events != 1 || st.Malformed != 0 {
				t.Errorf("%s %v: %+v", name, f, st)
			}
		}
	}
}

// TestECSZeekSSLSampleEvent: the document Elastic Agent wrote for a Zeek
// ssl.log record in the integration's system test (its sample_event.json):
// the SNI is only in zeek.ssl.server.name.
func TestECSZeekSSLSampleEvent(t *testing.T) {
	pats := []string{"[domain-name:value = 'dd625ffb4fc54735b281862aa1cd6cd4.us-west1.gcp.cloud.es.io']", "[ipv4-addr:value = '35.199.178.4']"}
	for _, f := range []Format{FormatAuto, FormatECS} {
		got, st := runPatterns(t, pats, f, string(readSample(t, "ecs-integrations/zeek-ssl-sample-event.ndjson")))
		if st.Events != 1 || st.Malformed != 0 {
			t.Errorf("%v: %+v", f, st)
		}
		for _, p := range pats {
			if got[p] != 1 {
				t.Errorf("%v: %s: %d events, want 1", f, p, got[p])
			}
		}
	}
}

// TestECSZeekDNSSampleEvent: the document Elastic Agent wrote for a Zeek
// dns.log record in the integration's system test (sample_event.json) has
// no dns.question.name: the query is only in zeek.dns.query.
func TestECSZeekDNSSampleEvent(t *testing.T) {
	pats := []string{"[domain-name:value = '_googlecast._tcp.local']", "[domain-name:value = 'bravia-4k-gb-5c89f865c9d569ab338815b35e3acc56._googlecast._tcp.local']"}
	for _, f := range []Format{FormatAuto, FormatECS} {
		got, st := runPatterns(t, pats, f, string(readSample(t, "ecs-integrations/zeek-dns-sample-event.ndjson")))
		if st.Events != 1 || st.Malformed != 0 {
			t.Errorf("%v: %+v", f, st)
		}
		for _, p := range pats {
			if got[p] != 1 {
				t.Errorf("%v: %s: %d events, want 1", f, p, got[p])
			}
		}
	}
}

// TestZeekIntelSeen: intel.log's seen.indicator is read as the
// seen.indicator_type beside it says, in TSV (value first, Zeek's own
// baselines) and in JSON with the type before or after the value; types
// that name no observable, and a value without a type, give nothing.
func TestZeekIntelSeen(t *testing.T) {
	st := matchCounts(t, "baselines", map[string]int64{
		"[email-addr:value = 'jan.grashofer@cern.ch']": 2, // IN_RCPT_TO and IN_TO
		"[email-addr:value = 'e@mail.com']":            1,
		"[ipv4-addr:value = '1.2.3.4']":                1,
		"[file:name = 'putty.exe']":                    1,
	}, FormatAuto, string(readSample(t, "zeek-baseline/scripts.policy.frameworks.intel.seen.smtp_intel.log"))+
		string(readSample(t, "zeek-baseline/scripts.base.frameworks.intel.input-and-match_intel.log"))+
		string(readSample(t, "zeek-baseline/scripts.policy.frameworks.intel.seen.filename-in-http-post_intel.log")))
	if st.Events != 10 || st.Malformed != 0 {
		t.Errorf("baselines: %+v, want 10 events, none malformed", st)
	}

	const ts = `"ts":1700000000.0,"uid":"C1"`
	for _, c := range []struct {
		line, pattern string
		want          int64
	}{
		{`{` + ts + `,"seen.indicator":"evil.example","seen.indicator_type":"Intel::DOMAIN"}`, "[domain-name:value = 'evil.example']", 1},
		{`{` + ts + `,"seen.indicator_type":"Intel::DOMAIN","seen.indicator":"evil.example"}`, "[domain-name:value = 'evil.example']", 1},
		{`{` + ts + `,"seen.indicator":"evil.example/a/b.php?x=1","seen.indicator_type":"Intel::URL"}`, "[url:value = 'http://evil.example/a/b.php?x=1']", 1},
		{`{` + ts + `,"seen.indicator":"2001:db8::1","seen.indicator_type":"Intel::ADDR"}`, "[ipv6-addr:value = '2001:db8::1']", 1},
		{`{` + ts + `,"seen.indicator":"3c35cc963eb004451323d3275d05b353235053490d9cd83729a2faf5e7ca1cc0","seen.indicator_type":"Intel::FILE_HASH"}`, "[file:hashes.'SHA-256' = '3c35cc963eb004451323d3275d05b353235053490d9cd83729a2faf5e7ca1cc0']", 1},
		{`{` + ts + `,"seen.indicator":"7359755c6df9a0abc3060bce369564c8ec4542a3","seen.indicator_type":"Intel::CERT_HASH"}`, "[x509-certificate:hashes.'SHA-1' = '7359755c6df9a0abc3060bce369564c8ec4542a3']", 1},
		{`{` + ts + `,"seen.indicator":"7359755c6df9a0abc3060bce369564c8ec4542a3","seen.indicator_type":"Intel::CERT_HASH"}`, "[file:hashes.'SHA-1' = '7359755c6df9a0abc3060bce369564c8ec4542a3']", 0},
		{`{` + ts + `,"seen.indicator":"evil.example","seen.indicator_type":"Intel::USER_NAME"}`, "[domain-name:value = 'evil.example']", 0},
		{`{` + ts + `,"seen.indicator":"evil.example"}`, "[domain-name:value = 'evil.example']", 0},
	} {
		got, st := runPatterns(t, []string{c.pattern}, FormatAuto, c.line)
		if st.Events != 1 || got[c.pattern] != c.want {
			t.Errorf("%s: %s: %d matched (%+v), want %d", c.line, c.pattern, got[c.pattern], st, c.want)
		}
	}
}

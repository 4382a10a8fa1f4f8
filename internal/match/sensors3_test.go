package match

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestEVEVerifyMailURLs: EVE events rebuilt from more of suricata-verify's
// checks (testdata/sensors/eve-verify/events2.ndjson, make.py; the tests
// are listed in SOURCES.md). Suricata logs email.url without its scheme
// unless log-url-scheme is set, and extracts only http:// URLs unless
// extract-urls-schemes says otherwise (both defaults of suricata.yaml's
// smtp mime section): smtp-url-schemes-bug-5174 and detect-email-url log
// "test-site.org/blah/123/" and "google.com" for the body's
// http://test-site.org/blah/123/ and http://google.com, which
// smtp-extract-url-schemes logs with log-url-scheme on. The rest are values
// from the other tests: SMTP envelope addresses in angle brackets, a quoted
// display name holding a comma, colon-separated certificate SHA-1s, IPv6
// addresses written out in full, DNS v3 queries, answers and authorities
// in dns and alert events (DNS over HTTP/2 too). Counts by hand from the
// events (one per event that carries the value; mime-dec-parse-line-test02
// pins one smtp event twice, for two Suricata versions).
func TestEVEVerifyMailURLs(t *testing.T) {
	want := map[string]int64{
		"[url:value = 'http://test-site.org/blah/123/']":                                 3,
		"[url:value = 'http://google.com']":                                              3,
		"[domain-name:value = 'google.com']":                                             0,
		"[url:value = 'https://facebook.com']":                                           1,
		"[url:value = 'ftp://172.42.48.124']":                                            1,
		"[url:value = 'http://codashop-free01.duckdns.org/']":                            1,
		"[url:value = 'http://www.test.com/malware.exe?hahah']":                          2,
		"[email-addr:value = 'gurpartap@patriots.in']":                                   3,
		"[email-addr:value = 'raj_deol2002in@yahoo.co.in']":                              3,
		"[email-addr:value = 'mirjam@abrakadabra.ch']":                                   2,
		"[x509-certificate:hashes.'SHA-1' = '8d974b41043f5537d05890a4133b7b85c64681cb']": 1,
		"[x509-certificate:hashes.'SHA-1' = '0639f95dfe8153c49df0ac803e2d4207e896de09']": 1,
		"[ipv6-addr:value = '2607:f8b0:400a:800::200e']":                                 2,
		"[file:hashes.MD5 = '090fe607a5be1228362614ccaa088577']":                         1,
		"[domain-name:value = 'codemonkey.net']":                                         3,
		"[domain-name:value = 'nav-edge.smartscreen.microsoft.com']":                     4,
		"[domain-name:value = 'westeurope.cloudapp.azure.com']":                          2,
		"[domain-name:value = 'example.com']":                                            1,
		"[domain-name:value = 'b.iana-servers.net']":                                     1,
	}
	for _, f := range []Format{FormatAuto, FormatEVE} {
		st := matchCounts(t, f.String(), want, f, string(readSample(t, "eve-verify/events2.ndjson")))
		if st.Events != 51 || st.Malformed != 0 {
			t.Errorf("%v: %+v, want 51 events, none malformed", f, st)
		}
	}
}

// TestECSZeekIntel: Elastic's zeek intel pipeline keeps intel.log's
// seen.indicator and seen.indicator_type below zeek.intel; they are read
// as intel.log's are. The integration's system-test document
// (ecs-integrations/zeek-intel-sample-event.ndjson, an address also in
// destination.ip) and documents derived from the pipeline test's three
// records by the pipeline's moves (zeek-intel-derived.ndjson, make-intel.py:
// nested, then dotted in reverse key order): the URL and the e-mail
// address were missed in ECS, not in the Zeek JSON they came from
// (zeek-integrations/test-intel.log, read here too with the pipeline
// tests' notice.log and files.log, whose Splunk export line is no record).
// Counts by hand: each derived record twice; notice.log's src/dst and
// id.*_h (not the addresses in msg and sub); files.log's hashes and
// tx_hosts.
func TestECSZeekIntel(t *testing.T) {
	url := "[url:value = 'https://docs.zeek.org/en/master/scripts/base/frameworks/intel/main.zeek.html#type-Intel::Type']"
	for _, c := range []struct {
		files             []string
		want              map[string]int64
		events, malformed int64
	}{
		{[]string{"ecs-integrations/zeek-intel-derived.ndjson"}, map[string]int64{
			"[ipv4-addr:value = '89.160.20.156']":    6,
			url:                                      2,
			"[email-addr:value = 'eve@malcorp.com']": 2,
			"[ipv4-addr:value = '192.168.1.1']":      6,
		}, 6, 0},
		{[]string{"ecs-integrations/zeek-intel-sample-event.ndjson"}, map[string]int64{
			"[ipv4-addr:value = '198.41.0.4']": 1,
		}, 1, 0},
		{[]string{"zeek-integrations/test-intel.log", "zeek-integrations/test-notice.log", "zeek-integrations/test-files.log"}, map[string]int64{
			"[ipv4-addr:value = '89.160.20.156']":                    5,
			url:                                                      1,
			"[email-addr:value = 'eve@malcorp.com']":                 1,
			"[ipv4-addr:value = '172.16.238.1']":                     1,
			"[ipv4-addr:value = '172.16.238.136']":                   0,
			"[file:hashes.MD5 = '79e4a9840d7d3a96d7c04fe2434c892e']": 1,
			"[file:hashes.'SHA-1' = '8e8321ca08b08e3726fe1d82996884eeb5f0d655']": 1,
			"[ipv4-addr:value = '17.134.127.250']":                               2,
		}, 10, 1},
	} {
		in := ""
		for _, f := range c.files {
			in += string(readSample(t, f))
		}
		st := matchCounts(t, c.files[0], c.want, FormatAuto, in)
		if st.Events != c.events || st.Malformed != c.malformed {
			t.Errorf("%v: %+v, want %d events, %d malformed", c.files, st, c.events, c.malformed)
		}
	}
}

// TestEVETLSSubjectAltName: Suricata logs the server certificate's subject
// alternative names as tls.subjectaltname (a tls custom field since
// Suricata 7); they are domain names as Zeek's x509.log san.dns and ECS
// x509.alternative_names are. suricata-verify's tls/tls-glupteba
// (eve-verify/events3.ndjson, make.py): one tls event with 17 names,
// IDNA A-labels (xn--j1ahhq.xn--p1ai is окрф.рф), no tls.sni, and an
// alert without them. Counts by hand.
func TestEVETLSSubjectAltName(t *testing.T) {
	want := map[string]int64{
		"[domain-name:value = 'server5.xn--j1ahhq.xn--p1ai']":                                        1,
		"[domain-name:value = 'server16.xn--j1ahhq.xn--p1ai']":                                       1,
		"[domain-name:value = 'xn--j1ahhq.xn--p1ai']":                                                1,
		"[domain-name:value = 'server5.окрф.рф']":                                                    1,
		"[domain-name:value = 'server17.xn--j1ahhq.xn--p1ai']":                                       0,
		"[x509-certificate:hashes.'SHA-1' = 'e9a06950ba18dcacd3a7fe58224a1f425bbc96b0']":             1,
		"[x509-certificate:serial_number = '03:DE:23:89:7E:97:FB:86:8E:7C:C5:53:09:FE:AE:D0:AE:20']": 1,
	}
	for _, f := range []Format{FormatAuto, FormatEVE} {
		st := matchCounts(t, f.String(), want, f, string(readSample(t, "eve-verify/events3.ndjson")))
		if st.Events != 2 || st.Malformed != 0 {
			t.Errorf("%v: %+v, want 2 events, none malformed", f, st)
		}
	}
}

// TestEVETunnelAddresses: an alert on an encapsulated packet names the
// outer addresses as tunnel.src_ip and tunnel.dest_ip beside the inner
// src_ip and dest_ip; the packet went between both pairs. EVE events
// rebuilt from suricata-verify's bug-4571-01 (IP-in-IP) and bug-4571-03
// (IPv6 in IPv6) (eve-verify/events4.ndjson, make.py). Counts by hand: each
// outer address in its alert's tunnel object and in the outer flow's
// src_ip/dest_ip; each inner one in the alert and the inner flow.
func TestEVETunnelAddresses(t *testing.T) {
	want := map[string]int64{
		"[ipv4-addr:value = '10.1.0.1']":                                2,
		"[ipv4-addr:value = '10.1.0.2']":                                2,
		"[ipv4-addr:value = '10.1.0.3']":                                2,
		"[ipv6-addr:value = '2001:db8:85a3::8a2e:370:7334']":            2,
		"[ipv6-addr:value ISSUBSET '2001:db8:85a3::8a2e:370:7334/127']": 2,
		"[ipv6-addr:value = '2001:db8:85a3::8a2e:370:8334']":            2,
	}
	for _, f := range []Format{FormatAuto, FormatEVE} {
		st := matchCounts(t, f.String(), want, f, string(readSample(t, "eve-verify/events4.ndjson")))
		if st.Events != 8 || st.Malformed != 0 {
			t.Errorf("%v: %+v, want 8 events, none malformed", f, st)
		}
	}
}

// TestEVEFlowMACLists: a flow event logs the Ethernet addresses of all its
// frames as the lists ether.src_macs and ether.dest_macs (Suricata 6 and
// later; the userguide's flow example has them), not src_mac/dest_mac.
// suricata-verify's mac-eve-multiple (two addresses each way),
// mac-eve-multiple-swap, mac-eve-single and ethernet-eve
// (eve-verify/events5.ndjson, make.py --lists). Counts by hand: the events
// naming each address in either form.
func TestEVEFlowMACLists(t *testing.T) {
	want := map[string]int64{
		"[mac-addr:value = '00:00:0c:01:01:11']": 1,
		"[mac-addr:value = '00:00:0c:01:01:14']": 1,
		"[mac-addr:value = 'd8:cb:8a:ed:a1:46']": 6,
		"[mac-addr:value = '0a:00:27:00:00:00']": 3,
		"[mac-addr:value = 'f8:59:71:a9:05:60']": 2,
		"[mac-addr:value = '00:11:2f:8f:a0:76']": 2,
	}
	for _, f := range []Format{FormatAuto, FormatEVE} {
		st := matchCounts(t, f.String(), want, f, string(readSample(t, "eve-verify/events5.ndjson")))
		if st.Events != 15 || st.Malformed != 0 {
			t.Errorf("%v: %+v, want 15 events, none malformed", f, st)
		}
	}
}

// TestEVEAlertDNSAnswer: Suricata 7 gives an alert on a DNS response the
// response as dns.answer (the v2 answer form without answers or grouped:
// the name asked as rrname, and the authorities; output-json-alert.c's
// AlertJsonDns with LOG_ALL_RRTYPES), beside the dns.query list. Events
// rebuilt from suricata-verify's dns/task-7018-dns-ips-stream-rule and
// dns/task-7018-ids-dns-stream-rule (eve-verify/events6.ndjson, make.py),
// whose checks pin both the Suricata 7 and the Suricata 8 form. Counts by
// hand: the events naming each domain as dns.rrname, in dns.query,
// dns.queries or dns.answers, or as dns.answer.rrname (suricata.io in two
// alerts, oisf.net in one, only there).
func TestEVEAlertDNSAnswer(t *testing.T) {
	want := map[string]int64{
		"[domain-name:value = 'suricata.io']":  12,
		"[domain-name:value = 'oisf.net']":     8,
		"[domain-name:value = 'suricata.org']": 6,
	}
	for _, f := range []Format{FormatAuto, FormatEVE} {
		st := matchCounts(t, f.String(), want, f, string(readSample(t, "eve-verify/events6.ndjson")))
		if st.Events != 29 || st.Malformed != 0 {
			t.Errorf("%v: %+v, want 29 events, none malformed", f, st)
		}
	}
}

// TestEVEAlertDNSAnswerAuthorities: the authorities of a Suricata 7
// alert's dns.answer are read as a dns event's are (the record form is
// output-json-alert.c's and dns/log.rs's; the names are documentation
// names).
func TestEVEAlertDNSAnswerAuthorities(t *testing.T) {
	ev := `{"timestamp":"2024-01-01T00:00:00.000000+0000","event_type":"alert","src_ip":"192.0.2.53","dest_ip":"192.0.2.1","alert":{"signature_id":1},"dns":{"version":2,"query":[{"type":"query","id":1,"rrname":"www.example.org","rrtype":"A","tx_id":0}],"answer":{"version":2,"type":"answer","id":1,"flags":"8183","qr":true,"rd":true,"ra":true,"opcode":0,"rrname":"www.example.org","rrtype":"A","rcode":"NXDOMAIN","authorities":[{"rrname":"example.org","rrtype":"SOA","ttl":300,"soa":{"mname":"ns1.example.net","rname":"hostmaster.example.org","serial":1,"refresh":7200,"retry":3600,"expire":1209600,"minimum":300}},{"rrname":"example.org","rrtype":"NS","ttl":300,"rdata":"ns2.example.net"}]}}}` + "\n"
	want := map[string]int64{
		"[domain-name:value = 'www.example.org']":        1,
		"[domain-name:value = 'example.org']":            1,
		"[domain-name:value = 'ns1.example.net']":        1,
		"[domain-name:value = 'ns2.example.net']":        1,
		"[domain-name:value = 'hostmaster.example.org']": 0,
	}
	matchCounts(t, "alert", want, FormatAuto, ev)
}

// TestCompileReportsHashName: an indicator naming a hash by a near miss of
// a STIX 2.1 hash-algorithm-ov name (hashes.SHA256, hashes.md5, a common
// slip) is compiled as written and reported with the vocabulary's name:
// on the nfs3-01 fileinfo event of suricata-verify (its MD5, SHA-1 and
// SHA-256, as the test's check pins them) only the vocabulary's names
// match, silently before. The vocabulary's names and other custom keys
// (PDQ, x_imphash, BLAKE3) are not reported.
func TestCompileReportsHashName(t *testing.T) {
	ev := `{"timestamp":"2024-01-01T00:00:00.000000+0000","event_type":"fileinfo","src_ip":"139.25.22.102","src_port":2049,"dest_ip":"139.25.22.2","dest_port":1022,"proto":"UDP","app_proto":"nfs","fileinfo":{"filename":"bln","gaps":false,"md5":"3a8614dc01881ca20e07e1b9cbc03dc0","sha1":"7035ba04df3785719585929f63ed36f8ba347b62","sha256":"cb39bdb9ce305c91be125134205144c2d5fbf458291711f90f4d2276c69821d8","size":11,"state":"CLOSED","stored":false,"tx_id":38}}` + "\n"
	const h = "cb39bdb9ce305c91be125134205144c2d5fbf458291711f90f4d2276c69821d8"
	for i, c := range []struct {
		pattern string
		want    string // the name the report suggests; "-": not reported
		count   int64
	}{
		{`[file:hashes.'SHA-256' = '` + h + `']`, "-", 1},
		{`[file:hashes.MD5 = '3a8614dc01881ca20e07e1b9cbc03dc0']`, "-", 1},
		{`[file:hashes.SHA256 = '` + h + `']`, "SHA-256", 0},
		{`[file:hashes.'sha-256' = '` + h + `']`, "SHA-256", 0},
		{`[file:hashes.md5 = '3a8614dc01881ca20e07e1b9cbc03dc0']`, "MD5", 0},
		{`[file:name = 'bln' AND file:hashes.SHA1 = '7035ba04df3785719585929f63ed36f8ba347b62']`, "SHA-1", 0},
		{`[file:hashes.x_imphash = 'f34d5f2d4577ed6d9ceec516c1f5a744']`, "-", 0},
		{`[file:hashes.BLAKE3 = 'ab']`, "-", 0},
		{`[file:hashes.PDQ = '` + h + `']`, "-", 0},
	} {
		ind := &Indicator{ID: fmt.Sprintf("indicator--%d", i), Pattern: c.pattern}
		e, errs := Compile([]*Indicator{ind}, Options{})
		if c.want == "-" {
			if len(errs) != 0 {
				t.Errorf("%s: reported %v", c.pattern, errs)
			}
		} else if len(errs) != 1 || !errors.Is(errs[0], ErrHashName) || !strings.Contains(errs[0].Error(), "name is '"+c.want+"'") {
			t.Errorf("%s: errors %v, want ErrHashName suggesting %q", c.pattern, errs, c.want)
		}
		m := NewMatcher(e, Config{Format: FormatAuto, Now: func() time.Time { return testNow }})
		if err := m.ReadLines(context.Background(), strings.NewReader(ev)); err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, o := range m.Flush() {
			if o["type"] == "sighting" {
				n += o["count"].(int64)
			}
		}
		if n != c.count {
			t.Errorf("%s: %d events, want %d", c.pattern, n, c.count)
		}
	}
}

// TestECSSuricataFilePathMail: Elastic's suricata pipeline moves EVE's
// fileinfo.filename to file.path (writing no file.name) and keeps smtp
// and email below suricata.eve; the file's name and the mail addresses
// were missed in its documents. Documents derived by the pipeline's moves
// (ecs-integrations/suricata-derived.ndjson, make-suricata.py, nested and
// dotted) from suricata-verify's output-eve-fileinfo expected eve.json (a
// real EVE fileinfo event, eicar.com over http) and smtp-eve's smtp
// event. Counts by hand: each document twice; the EVE event itself once.
func TestECSSuricataFilePathMail(t *testing.T) {
	want := map[string]int64{
		"[file:name = 'eicar.com']":                               2,
		"[url:value = 'http://www.eicar.org/download/eicar.com']": 2,
		"[email-addr:value = 'gurpartap@patriots.in']":            2,
		"[email-addr:value = 'raj_deol2002in@yahoo.co.in']":       2,
		"[file:name = 'NEWS.txt']":                                2,
		"[ipv4-addr:value = '74.53.140.153']":                     2,
	}
	for _, f := range []Format{FormatAuto, FormatECS} {
		st := matchCounts(t, f.String(), want, f, string(readSample(t, "ecs-integrations/suricata-derived.ndjson")))
		if st.Events != 4 || st.Malformed != 0 {
			t.Errorf("%v: %+v, want 4 events, none malformed", f, st)
		}
	}
	matchCounts(t, "eve", map[string]int64{"[file:name = 'eicar.com']": 1, "[file:size = 68]": 1},
		FormatAuto, string(readSample(t, "eve-verify/output-eve-fileinfo.json")))
	// Suricata's filename of an HTTP download is the URI's path: an
	// indicator of the path or of the name matches it, in EVE and in ECS
	// (file.path), once per event.
	eve := `{"timestamp":"2009-11-24T21:31:00.000+0100","event_type":"fileinfo","src_ip":"192.0.2.1","dest_ip":"192.0.2.2","proto":"TCP","fileinfo":{"filename":"/download/setup.exe","size":68}}` + "\n"
	ecs := `{"@timestamp":"2009-11-24T20:31:00.000Z","event":{"module":"suricata","dataset":"suricata.eve"},"file":{"path":"/download/setup.exe","size":68},"source":{"ip":"192.0.2.1"},"destination":{"ip":"192.0.2.2"}}` + "\n"
	for name, doc := range map[string]string{"eve path": eve, "ecs path": ecs} {
		matchCounts(t, name, map[string]int64{"[file:name = 'setup.exe']": 1, "[file:name = '/download/setup.exe']": 1, "[file:name = 'download']": 0}, FormatAuto, doc)
	}
	// the zeek smb_files pipeline's file.path: the share, then the name
	doc := `{"@timestamp":"2019-01-01T00:00:00.000Z","file":{"name":"x.exe","path":"\\\\10.0.0.2\\C$\\x.exe"},"zeek":{"smb_files":{"action":"SMB::FILE_OPEN","name":"x.exe","path":"\\\\10.0.0.2\\C$"}},"source":{"ip":"10.0.0.1"},"destination":{"ip":"10.0.0.2"}}` + "\n"
	matchCounts(t, "smb_files", map[string]int64{"[file:name = 'x.exe']": 1, "[file:name = 'C$']": 0}, FormatAuto, doc)
}

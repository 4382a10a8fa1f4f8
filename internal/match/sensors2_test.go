package match

import "testing"

// TestZeekProtocolAddrFields: addresses and names that Zeek's log
// reference gives outside the connection id, on Zeek's own test baselines
// (TSV) and on Elastic's zeek integration pipeline-test logs (JSON; the
// Splunk export line in test-socks.log is no Zeek record, so malformed).
// Counts worked out by hand from the records:
//   - socks.log request.host/request.name (the destination asked of the
//     proxy: www.osnews.com in trace1, www.google.com in trace2 and the
//     integration's log) and bound.host (192.168.0.31 in trace1; 0.0.0.0,
//     the unspecified address, in trace2 and the integration's log);
//   - signatures.log src_addr, dst_addr (the record has no id.* fields);
//   - radius.log framed_addr (172.16.3.33 in the first two of the seven
//     multiple-attempts records; 255.255.255.254 in auth, which RFC 2865
//     section 5.8 makes "the server chooses", no address) and
//     tunnel_client (vpn-gateway.example.com);
//   - irc.log dcc_file_name (ssh.trace, the one DCC SEND).
func TestZeekProtocolAddrFields(t *testing.T) {
	for _, c := range []struct {
		name            string
		want            map[string]int64
		events, malform int64
	}{
		{"zeek-baseline/scripts.base.protocols.socks.trace1_socks.log", map[string]int64{
			"[domain-name:value = 'www.osnews.com']": 1,
			"[ipv4-addr:value = '192.168.0.31']":     1,
			"[domain-name:value = 'osnews.com']":     0,
		}, 1, 0},
		{"zeek-baseline/scripts.base.protocols.socks.trace2_socks.log", map[string]int64{
			"[domain-name:value = 'www.google.com']": 1,
			"[ipv4-addr:value = '0.0.0.0']":          0,
		}, 1, 0},
		{"zeek-integrations/test-socks.log", map[string]int64{
			"[domain-name:value = 'www.google.com']": 1,
			"[ipv4-addr:value = '0.0.0.0']":          0,
			"[ipv4-addr:value = '127.0.0.1']":        1,
		}, 1, 1},
		{"zeek-integrations/test-signature.log", map[string]int64{
			"[ipv4-addr:value = '89.160.20.156']": 1,
			"[ipv4-addr:value = '89.160.20.157']": 0,
		}, 1, 0},
		{"zeek-baseline/scripts.base.protocols.radius.radius-multiple-attempts_radius.log", map[string]int64{
			"[ipv4-addr:value = '172.16.3.33']": 2,
		}, 7, 0},
		{"zeek-baseline/scripts.base.protocols.radius.auth_radius.log", map[string]int64{
			"[ipv4-addr:value = '255.255.255.254']": 0,
			"[ipv4-addr:value = '10.0.0.1']":        1,
		}, 1, 0},
		{"zeek-integrations/test-radius.log", map[string]int64{
			"[ipv4-addr:value = '10.10.10.103']":              1,
			"[ipv4-addr:value = '172.20.30.40']":              1,
			"[domain-name:value = 'vpn-gateway.example.com']": 1,
			"[domain-name:value = 'example.com']":             0,
		}, 4, 0},
		{"zeek-baseline/scripts.base.protocols.irc.basic_irc.log", map[string]int64{
			"[file:name = 'ssh.trace']":  1,
			"[file:name = 'ssh.trace2']": 0,
		}, 4, 0},
	} {
		for _, f := range []Format{FormatAuto, FormatZeek} {
			if f == FormatZeek && c.malform > 0 {
				continue // a forced zeek reads any JSON object as a record
			}
			st := matchCounts(t, c.name, c.want, f, string(readSample(t, c.name)))
			if st.Events != c.events || st.Malformed != c.malform {
				t.Errorf("%s %v: %+v, want %d events, %d malformed", c.name, f, st, c.events, c.malform)
			}
		}
	}
}

// TestZeekURLRawByte: Zeek's baseline of a URI holding a raw Latin-1 byte
// (TSV "\xfc", not UTF-8) and spaces. A URL indicator can name that
// resource only percent-encoded (RFC 3986 section 2.1: "%FC", "%20"), and
// must match it; the byte read as the character U+00FC (UTF-8 %C3%BC) is
// another URL.
func TestZeekURLRawByte(t *testing.T) {
	const base = "http://lepo.it.da.ut.ee/~cect/teoreetilised%20seminarid_2010/arheoloogia_uurimisr"
	const tail = "hma_seminar/Joyce%20et%20al%20-%20The%20Languages%20of%20Archaeology%20~%20Dialogue,%20Narrative%20and%20Writing.pdf"
	name := "zeek-baseline/scripts.base.frameworks.logging.ascii-escape-odd-url_http.log"
	st := matchCounts(t, name, map[string]int64{
		"[url:value = '" + base + "%FC" + tail + "']":    1,
		"[url:value = '" + base + "%fc" + tail + "']":    1,
		"[url:value = '" + base + "%C3%BC" + tail + "']": 0,
		"[domain-name:value = 'lepo.it.da.ut.ee']":       1,
	}, FormatZeek, string(readSample(t, name)))
	if st.Events != 1 || st.Malformed != 0 {
		t.Errorf("%+v", st)
	}
}

// TestEVEDNSAuthoritiesSRV: Suricata's DNS records outside answers' rdata,
// on EVE events rebuilt from suricata-verify's checks
// (testdata/sensors/eve-verify/make.py): the NS names of a referral in
// authorities[].rdata (iodine.tunnel.com, the DNS tunnel's name server, in
// 160 responses of bug-1158, v3 and v2; a.l.google.com in decode-teredo-01's
// two), the SOA's primary name server soa.mname (c.l.google.com, also an
// NS name there: 4 events), the SRV target srv.name
// (sip-anycast-1.voice.google.com, dns-udp-eve-log-srv v3 and v2), and
// http-ipv6's hostname "[::1]", an IPv6 literal as the Host header
// brackets it, and the X-Forwarded-For client an alert gives as alert.xff
// in the xff setting's extra-data mode (http-xff-eve-forward-extra-data:
// 10.2.2.2, the first of the header's list; reverse: 10.3.3.3, the last).
// Counts from the events by hand (grep of the value, one per
// event).
func TestEVEDNSAuthoritiesSRVXFF(t *testing.T) {
	want := map[string]int64{
		"[domain-name:value = 'iodine.tunnel.com']":              160,
		"[domain-name:value = 'srv.tunnel.com']":                 160,
		"[domain-name:value = 'tunnel.com']":                     0,
		"[domain-name:value = 'a.l.google.com']":                 2,
		"[domain-name:value = 'c.l.google.com']":                 4,
		"[domain-name:value = 'sip-anycast-1.voice.google.com']": 2,
		"[domain-name:value = 'sip-anycast-2.voice.google.com']": 2,
		"[domain-name:value = 'voice.google.com']":               0,
		"[ipv6-addr:value = '::1']":                              1,
		"[ipv6-addr:value = '2001:4860:0:2001::68']":             3,
		"[ipv4-addr:value = '10.2.2.2']":                         1,
		"[ipv4-addr:value = '10.3.3.3']":                         1,
	}
	for _, f := range []Format{FormatAuto, FormatEVE} {
		st := matchCounts(t, f.String(), want, f, string(readSample(t, "eve-verify/events.ndjson")))
		if st.Events != 372 || st.Malformed != 0 {
			t.Errorf("%v: %+v, want 372 events, none malformed", f, st)
		}
	}
}

// TestHTTPHostIPv6Literal: a Host header "[2001:db8::1]:8080" is the
// address 2001:db8::1 (RFC 9110 section 7.2 brackets an IPv6 literal), in
// Zeek's http.log and in EVE.
func TestHTTPHostIPv6Literal(t *testing.T) {
	zeek := "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\n" +
		"1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t8080\tGET\t[2001:db8::1]:8080\t/a\n" +
		"2.0\tC2\t10.0.0.1\t1\t10.0.0.2\t80\tGET\t[2001:db8::1]\t/b\n"
	eve := `{"timestamp":"2024-01-01T00:00:00Z","event_type":"http","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","http":{"hostname":"[2001:db8::1]","url":"/c"}}` + "\n"
	for label, in := range map[string]string{"zeek": zeek, "eve": eve} {
		want := map[string]int64{"[ipv6-addr:value = '2001:db8::1']": 2, "[ipv6-addr:value = '2001:db8::2']": 0}
		if label == "eve" {
			want["[ipv6-addr:value = '2001:db8::1']"] = 1
		}
		matchCounts(t, label, want, FormatAuto, in)
	}
}

// TestECSZeekSocksRadius: the documents Elastic's zeek socks and radius
// pipeline tests expect (testdata/sensors/ecs-integrations, nested and
// dotted) keep the SOCKS destination and the RADIUS session address and
// tunnel client below zeek.* only: zeek.socks.request.host (www.google.com,
// socks.log's request.name), zeek.socks.bound.host (0.0.0.0, no address),
// zeek.radius.framed_addr (10.10.10.103, 172.20.30.40) and
// zeek.radius.tunnel_client. The same counts as the Zeek records'
// (TestZeekProtocolAddrFields).
func TestECSZeekSocksRadius(t *testing.T) {
	want := map[string]int64{
		"[domain-name:value = 'www.google.com']":          1,
		"[ipv4-addr:value = '0.0.0.0']":                   0,
		"[ipv4-addr:value = '127.0.0.1']":                 1,
		"[ipv4-addr:value = '10.10.10.103']":              1,
		"[ipv4-addr:value = '172.20.30.40']":              1,
		"[domain-name:value = 'vpn-gateway.example.com']": 1,
		"[ipv4-addr:value = '10.0.0.1']":                  2,
	}
	for _, name := range []string{"zeek-socks-radius-expected.ndjson", "zeek-socks-radius-expected-dotted.ndjson"} {
		for _, f := range []Format{FormatAuto, FormatECS} {
			st := matchCounts(t, name+" "+f.String(), want, f, string(readSample(t, "ecs-integrations/"+name)))
			if st.Events != 5 || st.Malformed != 0 {
				t.Errorf("%s %v: %+v", name, f, st)
			}
		}
	}
}

// TestZeekSMBFileNames: smb_files.log's name is the file's name in the
// share (Zeek's TSV escapes its backslash as "\\"); read only beside an
// SMB::FILE_* action, since weird.log's and software.log's "name" are
// no file's. Counts from the records: smb1 has one record per name,
// smb2-create-delete-on-close four each of test_dir and
// test_dir\test_create.dat (opens and deletes), and the integration's
// log (JSON) opens PSEXESVC.exe once. A name that is a path in the share
// is also its last element, as every file name is (fileName): an indicator
// for 2009-12 Payroll.xlsx matched Suricata's smb.filename and the ECS
// file.path of the same open, not Zeek's own log of it.
func TestZeekSMBFileNames(t *testing.T) {
	for name, want := range map[string]map[string]int64{
		"zeek-baseline/scripts.base.protocols.smb.smb1_smb_files.log": {
			`[file:name = 'Test\\2009-12 Payroll.xlsx']`: 1,
			// the path's last element, as Suricata's smb.filename, ECS
			// file.path and prev_name give it
			`[file:name = '2009-12 Payroll.xlsx']`: 1,
		},
		"zeek-baseline/scripts.base.protocols.smb.smb2-create-delete-on-close_smb_files.log": {
			`[file:name = 'test_dir\\test_create.dat']`: 4,
			`[file:name = 'test_dir']`:                  4,
		},
		"zeek-integrations/test-smb-files.log": {
			`[file:name = 'PSEXESVC.exe']`: 1,
		},
		// weird.log's name is the weird's
		"zeek-baseline/scripts.base.frameworks.logging.ascii-escape_ssh.log": {
			`[file:name = 'success']`: 0,
		},
	} {
		matchCounts(t, name, want, FormatAuto, string(readSample(t, name)))
	}
	weird := "#separator \\x09\n#path\tweird\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tname\taddl\tnotice\tpeer\tsource\n" +
		"1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tbad_TCP_checksum\t-\tF\tzeek\tTCP\n"
	matchCounts(t, "weird", map[string]int64{`[file:name = 'bad_TCP_checksum']`: 0, `[ipv4-addr:value = '10.0.0.2']`: 1}, FormatAuto, weird)
}

// TestEVEXFFForms: the X-Forwarded-For address in each place EVE puts it
// (output-json-http.c, output-json-alert.c): the event's "xff" (http and
// fileinfo events, extra-data mode), the alert's "alert.xff", and the raw
// header http.xff that extended http logging dumps, a comma-separated
// list; a name or "unknown" in the list is no address.
func TestEVEXFFForms(t *testing.T) {
	in := `{"timestamp":"2024-01-01T00:00:00Z","event_type":"http","src_ip":"10.0.0.5","dest_ip":"10.0.0.9","http":{"hostname":"www.example.com","url":"/"},"xff":"203.0.113.7"}
{"timestamp":"2024-01-01T00:00:01Z","event_type":"http","src_ip":"10.0.0.5","dest_ip":"10.0.0.9","http":{"hostname":"www.example.com","url":"/","xff":"203.0.113.8, unknown, 2001:db8::8"}}
{"timestamp":"2024-01-01T00:00:02Z","event_type":"alert","src_ip":"10.0.0.5","dest_ip":"10.0.0.9","alert":{"signature_id":1,"xff":"203.0.113.7"}}
`
	st := matchCounts(t, "xff", map[string]int64{
		"[ipv4-addr:value = '203.0.113.7']": 2,
		"[ipv4-addr:value = '203.0.113.8']": 1,
		"[ipv6-addr:value = '2001:db8::8']": 1,
		"[ipv4-addr:value = '10.0.0.5']":    3,
	}, FormatEVE, in)
	if st.Events != 3 || st.Malformed != 0 {
		t.Errorf("%+v", st)
	}
}

// TestZeekJSONPUAByte: Zeek's JSON writer with
// JSON::STRING_ESCAPE_POLICY_PUA (init-bare.zeek: "mapped into Unicode
// Supplementary Private Use Area-A ... encoded as surrogate pair", the
// reversible policy) writes the URI byte 0xFC of the odd-url baseline as
// "\udb80\udcfc"; it is that byte, as in the TSV log, so the same URL
// indicator matches both. A U+F00FC written as UTF-8 is not an escape.
func TestZeekJSONPUAByte(t *testing.T) {
	const url = "http://lepo.it.da.ut.ee/a/uurimisr%FChma"
	pua := `{"ts":1.0,"uid":"C1","id.orig_h":"10.0.1.104","id.orig_p":64685,"id.resp_h":"193.40.5.162","id.resp_p":80,"method":"GET","host":"lepo.it.da.ut.ee","uri":"/a/uurimisr\udb80\udcfchma"}` + "\n"
	raw := `{"ts":1.0,"uid":"C1","id.orig_h":"10.0.1.104","id.orig_p":64685,"id.resp_h":"193.40.5.162","id.resp_p":80,"method":"GET","host":"lepo.it.da.ut.ee","uri":"/a/uurimisr` + "\U000F00FC" + `hma"}` + "\n"
	for _, f := range []Format{FormatAuto, FormatZeek} {
		matchCounts(t, "pua", map[string]int64{"[url:value = '" + url + "']": 1}, f, pua)
		matchCounts(t, "utf-8", map[string]int64{"[url:value = '" + url + "']": 0}, f, raw)
	}
}

// TestURLStrayPercent: a request target with a '%' that starts no escape
// ("/%", "/%zz", "/x%5"), as scanners send and sensors log it, is a URL an
// indicator can name, written as it came or with the '%' encoded ("%25");
// before, both the indicator and the event's URL failed normalisation, so
// the indicator loaded and never matched.
func TestURLStrayPercent(t *testing.T) {
	zeek := "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\n" +
		"1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t80\tGET\tscan.example\t/%\n" +
		"2.0\tC2\t10.0.0.1\t1\t10.0.0.2\t80\tGET\tscan.example\t/%zz\n" +
		"3.0\tC3\t10.0.0.1\t1\t10.0.0.2\t80\tGET\tscan.example\t/x%5\n"
	eve := `{"timestamp":"2024-01-01T00:00:00Z","event_type":"http","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","http":{"hostname":"scan.example","url":"/%zz"}}` + "\n"
	for label, in := range map[string]string{"zeek": zeek, "eve": eve} {
		n := int64(1)
		want := map[string]int64{
			"[url:value = 'http://scan.example/%zz']":   n,
			"[url:value = 'http://scan.example/%25zz']": n,
			"[url:value = 'http://scan.example/zz']":    0,
		}
		if label == "zeek" {
			want["[url:value = 'http://scan.example/%']"] = 1
			want["[url:value = 'http://scan.example/x%5']"] = 1
			want["[url:value = 'http://scan.example/x%255']"] = 1
			want["[url:value = 'http://scan.example/x']"] = 0
		}
		matchCounts(t, label, want, FormatAuto, in)
	}
}

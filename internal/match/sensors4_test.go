package match

import "testing"

// TestZeekSIPIsNoHTTP: sip.log has a method, a uri and a user_agent, as
// http.log has, but they are a SIP request's (Zeek's SIP::Info: "Verb
// used in the SIP request (INVITE, REGISTER etc.)", "URI used in the
// request", "Contents of the User-Agent: header from the client"), not an
// HTTP request's, and its URIs are SIP URIs (README: sip.log's SIP URIs
// and headers are not read); smtp.log's user_agent is the mail client's
// (SMTP::Info, README: deliberately ignored). Real logs: Zeek's sip
// baselines (wireshark: 36 records, 34 with the Nero SIPPS user agent, 22
// REGISTERs, 33 to or from 212.242.33.35; junk: one REGISTER whose Call-ID Zeek did not log),
// Elastic's zeek sip pipeline test log (SIPVicious' "friendly-scanner"
// OPTIONS probes, 2 of 5 records; the Splunk export line is no record),
// and smtp's basic baseline (2 records, Outlook's user agent in one). The
// addresses are still read, as are http.log's and websocket.log's HTTP
// request (the 101-switching-protocols baseline's one upgrade request, the
// 14 GETs of opt.basic_http.log).
// Counts by hand from the logs.
func TestZeekSIPIsNoHTTP(t *testing.T) {
	ua := func(s string) string {
		return "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '" + s + "']"
	}
	method := func(s string) string {
		return "[network-traffic:extensions.'http-request-ext'.request_method = '" + s + "']"
	}
	for _, c := range []struct {
		file              string
		want              map[string]int64
		events, malformed int64
	}{
		{"zeek-baseline/scripts.base.protocols.sip.wireshark_sip.log", map[string]int64{
			ua("Nero SIPPS IP Phone Version 2.0.51.16"): 0,
			method("REGISTER"):                          0,
			method("INVITE"):                            0,
			"[network-traffic:extensions.'http-request-ext'.request_value = 'sip:sip.cybercity.dk']": 0,
			"[url:value = 'sip:sip.cybercity.dk']":                                                   0,
			"[ipv4-addr:value = '212.242.33.35']":                                                    33,
		}, 36, 0},
		{"zeek-baseline/scripts.base.protocols.sip.junk_sip.log", map[string]int64{
			method("REGISTER"):              0,
			"[ipv4-addr:value = '1.1.1.2']": 1,
		}, 1, 0},
		{"zeek-integrations/test-sip.log", map[string]int64{
			ua("friendly-scanner"):                 0,
			method("OPTIONS"):                      0,
			"[ipv4-addr:value = '193.107.216.13']": 1,
			"[ipv4-addr:value = '10.156.0.2']":     2,
		}, 5, 1},
		{"zeek-baseline/scripts.base.protocols.smtp.basic_smtp.log", map[string]int64{
			ua("Microsoft Office Outlook 12.0"):            0,
			"[email-addr:value = 'gurpartap@patriots.in']": 1,
			"[email-message:subject = 'SMTP']":             1,
		}, 2, 0},
		{"zeek-baseline/scripts.base.protocols.http.101-switching-protocols_websocket.log", map[string]int64{
			ua("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:54.0) Gecko/20100101 Firefox/54.0"): 1,
			"[url:value = 'http://sandbox.kaazing.net/echo?.kl=Y']":                                  1,
		}, 1, 0},
		{"zeek-baseline/opt.basic_http.log", map[string]int64{
			method("GET"): 14,
		}, 14, 0},
	} {
		st := matchCounts(t, c.file, c.want, FormatAuto, string(readSample(t, c.file)))
		if c.events > 0 && (st.Events != c.events || st.Malformed != c.malformed) {
			t.Errorf("%s: %+v, want %d events, %d malformed", c.file, st, c.events, c.malformed)
		}
	}
}

// TestEVEDHCPUnsetAddresses: Suricata's dhcp logger writes the message's
// yiaddr (assigned_ip), ciaddr (client_ip), giaddr (relay_ip) and siaddr
// (next_server_ip) whatever they hold; 0.0.0.0 there is RFC 2131's field
// not filled in (a client's request has no yiaddr, a reply not relayed no
// giaddr), not an address the traffic involved. Events rebuilt from
// suricata-verify's dhcp-eve-extended and dhcp-eve-extended-option-60
// (eve-verify/events7.ndjson): the request's assigned_ip and the ack's
// relay_ip are 0.0.0.0; a DHCPDISCOVER's packet does come from 0.0.0.0
// (src_ip of the option-60 dhcp and flow events), which is read. Counts
// by hand from the events.
func TestEVEDHCPUnsetAddresses(t *testing.T) {
	want := map[string]int64{
		"[ipv4-addr:value = '0.0.0.0']":         2,
		"[ipv4-addr:value = '10.16.1.4']":       3,
		"[ipv4-addr:value = '10.16.1.1']":       3,
		"[ipv4-addr:value = '255.255.255.255']": 1,
	}
	for _, f := range []Format{FormatAuto, FormatEVE} {
		st := matchCounts(t, f.String(), want, f, string(readSample(t, "eve-verify/events7.ndjson")))
		if st.Events != 9 || st.Malformed != 0 {
			t.Errorf("%v: %+v, want 9 events, none malformed", f, st)
		}
	}
}

// TestZeekKerberosServiceIsNoProtocol: conn.log's service is the
// protocols Zeek's analysers found, but kerberos.log's service is the
// ticket's service principal (Zeek's KRB::Info: "Service"; "krbtgt/REALM",
// "HOST/admin-pc"), no protocol (README: kerberos.log principals are not
// read). Real logs: Zeek's kinit baseline (85 AS/TGS records between
// 192.168.1.31 and 192.168.1.32, 78 for krbtgt/VLADG.NET, 2 for
// kadmin/changepw), Elastic's zeek kerberos pipeline test log (JSON, one
// record, with its Splunk export line), and, still read, a conn.log's
// "krb_tcp" service (krb-service-name baseline, one record). A service
// Zeek removed after a violation is logged with a "-" before it
// (dpd-logging-configuration baseline: "ftp,-ftp"), no protocol either.
// Counts by hand from the logs.
func TestZeekKerberosServiceIsNoProtocol(t *testing.T) {
	proto := func(s string) string { return "[network-traffic:protocols[*] = '" + s + "']" }
	for _, c := range []struct {
		file              string
		want              map[string]int64
		events, malformed int64
	}{
		{"zeek-baseline/scripts.base.protocols.krb.kinit_kerberos.log", map[string]int64{
			proto("krbtgt/vladg.net"):            0,
			proto("kadmin/changepw"):             0,
			"[ipv4-addr:value = '192.168.1.32']": 85,
		}, 85, 0},
		{"zeek-integrations/test-kerberos.log", map[string]int64{
			proto("host/admin-pc"):                0,
			"[ipv4-addr:value = '192.168.10.10']": 1,
		}, 1, 1},
		{"zeek-baseline/scripts.base.frameworks.analyzer.dpd-logging-configuration_conn.log", map[string]int64{
			proto("ftp"):  1,
			proto("-ftp"): 0,
		}, 1, 0},
		{"zeek-baseline/scripts.base.protocols.krb.krb-service-name_conn.log", map[string]int64{
			proto("krb_tcp"): 1,
			proto("tcp"):     1,
		}, 1, 0},
	} {
		st := matchCounts(t, c.file, c.want, FormatAuto, string(readSample(t, c.file)))
		if st.Events != c.events || st.Malformed != c.malformed {
			t.Errorf("%s: %+v, want %d events, %d malformed", c.file, st, c.events, c.malformed)
		}
	}
}

// TestZeekKnownCertsIssuerSerial: known_certs.log logs each server
// certificate once, with the certificate's subject, issuer_subject and
// serial (Zeek's Known::CertsInfo: "Certificate subject", "Certificate
// issuer subject", "Serial number for the certificate"): they are the
// x509-certificate's subject, issuer and serial_number, as x509.log's
// certificate.* are. Real logs: Zeek's known-certs baseline (TSV, one
// record) and Elastic's zeek known_certs pipeline test log (JSON, ISO 8601
// ts, one record). Counts by hand.
func TestZeekKnownCertsIssuerSerial(t *testing.T) {
	for _, c := range []struct {
		file string
		want map[string]int64
	}{
		{"zeek-baseline/scripts.policy.protocols.ssl.known-certs_known_certs.log", map[string]int64{
			"[x509-certificate:subject = 'CN=*.google.com,O=Google Inc,L=Mountain View,ST=California,C=US']": 1,
			"[x509-certificate:issuer = 'CN=Google Internet Authority G2,O=Google Inc,C=US']":                1,
			"[x509-certificate:serial_number = '4A2C8628C1010633']":                                          1,
			"[ipv4-addr:value = '74.125.239.129']":                                                           1,
		}},
		{"zeek-integrations/test-known-certs.log", map[string]int64{
			"[x509-certificate:issuer = 'L=San Jose,ST=CA,O=Ubiquiti Networks,CN=UBNT Router UI,C=US']": 1,
			"[x509-certificate:serial_number = '98D0AD47D748CDD6']":                                     1,
			"[ipv4-addr:value = '192.168.4.1']":                                                         1,
		}},
	} {
		st := matchCounts(t, c.file, c.want, FormatAuto, string(readSample(t, c.file)))
		if st.Events != 1 || st.Malformed != 0 {
			t.Errorf("%s: %+v, want 1 event, none malformed", c.file, st)
		}
	}
}

// TestZeekDNSAuthAddl: Zeek's policy/protocols/dns/auth-addl adds auth and
// addl to dns.log, the authority and additional records, written as
// answers are (base/protocols/dns/main.zeek: a NS record's name, a SOA's
// primary server, other records as text with spaces); NSEC3 and
// NSEC3PARAM records are written as the bare type name, no name of
// anything, in answers as in auth. They are read as Suricata's authorities
// and additionals are. weird.log's addl ("CCM_POST", "GARBAGE") and
// rfb.log's auth are other things. Real logs: Zeek's dns nsec3 baseline
// (auth: ns0.weberdns.de, RRSIG and NSEC3 records), nsec (auth: RRSIGs, a
// NSEC and the SOA's assailants.net.isc.upenn.edu), nsec3param (an answer
// NSEC3PARAM) and two weird.log baselines (4 of 34 records with
// CCM_POST; 1 with GARBAGE). Counts by hand.
func TestZeekDNSAuthAddl(t *testing.T) {
	dom := func(s string) string { return "[domain-name:value = '" + s + "']" }
	for _, c := range []struct {
		file   string
		want   map[string]int64
		events int64
	}{
		{"zeek-baseline/scripts.base.protocols.dns.nsec3_dns.log", map[string]int64{
			dom("ns0.weberdns.de"):  1,
			dom("nsec3"):            0,
			dom("foobar.sshfp.net"): 1,
		}, 1},
		{"zeek-baseline/scripts.base.protocols.dns.nsec_dns.log", map[string]int64{
			dom("assailants.net.isc.upenn.edu"): 1,
			dom("www.upenn.edgekey.net"):        1,
		}, 2},
		{"zeek-baseline/scripts.base.protocols.dns.nsec3param_dns.log", map[string]int64{
			dom("nsec3param"): 0,
			dom("sshfp.net"):  1,
		}, 1},
		{"zeek-baseline/scripts.base.protocols.http.http-methods_weird.log", map[string]int64{
			dom("ccm_post"): 0,
		}, 34},
		{"zeek-baseline/scripts.base.protocols.pop3.bad-list-retr-crafted_weird.log", map[string]int64{
			dom("garbage"): 0,
		}, 1},
	} {
		st := matchCounts(t, c.file, c.want, FormatAuto, string(readSample(t, c.file)))
		if st.Events != c.events || st.Malformed != 0 {
			t.Errorf("%s: %+v, want %d events, none malformed", c.file, st, c.events)
		}
	}
}

// TestECSSuricataAlertMetadataFilename: Elastic's suricata pipeline
// renames an alert's suricata.eve.alert.metadata.filename (the rule's
// metadata: the rules file its signature came from) to file.name, and
// fileinfo's filename to file.path (packages/suricata/data_stream/eve's
// default pipeline), so an alert document's file.name is no file of the
// traffic (README: EVE alert metadata is not read). The pipeline test's
// expected document for test-eve-metadata.log
// (ecs-integrations/suricata-eve-metadata-expected.ndjson: nested, then
// dotted) has file.name ["exploit.rules"]; its HTTP request is read.
// Counts by hand: each observable once a line.
func TestECSSuricataAlertMetadataFilename(t *testing.T) {
	want := map[string]int64{
		"[file:name = 'exploit.rules']":                        0,
		"[domain-name:value = 'testmynids.org']":               2,
		"[url:value = 'http://testmynids.org/uid/index.html']": 2,
		"[ipv4-addr:value = '175.16.199.1']":                   2,
	}
	for _, f := range []Format{FormatAuto, FormatECS} {
		st := matchCounts(t, f.String(), want, f, string(readSample(t, "ecs-integrations/suricata-eve-metadata-expected.ndjson")))
		if st.Events != 2 || st.Malformed != 0 {
			t.Errorf("%v: %+v, want 2 events, none malformed", f, st)
		}
	}
}

// TestECSDNSAnswersNSEC3: Elastic's zeek dns pipeline keeps Zeek's answers
// (dns.answers.data, zeek.dns.answers), so the bare NSEC3 and NSEC3PARAM
// that Zeek writes for those records (see TestZeekDNSAuthAddl) reach ECS
// too; they are no domain names there either. The records are Zeek's
// nsec3param baseline's as the pipeline writes them, nested and dotted.
func TestECSDNSAnswersNSEC3(t *testing.T) {
	dom := func(s string) string { return "[domain-name:value = '" + s + "']" }
	in := `{"@timestamp":"2009-11-08T04:41:57.000Z","dns":{"question":{"name":"sshfp.net"},"answers":[{"data":"NSEC3PARAM"},{"data":"NSEC3"},{"data":"ns1.sshfp.net"}]},"zeek":{"dns":{"answers":["NSEC3PARAM","NSEC3","ns1.sshfp.net"]}}}
{"@timestamp":"2009-11-08T04:41:57.000Z","dns.question.name":"sshfp.net","dns.answers.data":["NSEC3PARAM","NSEC3"],"zeek.dns.answers":["NSEC3PARAM"]}
`
	st := matchCounts(t, "ecs nsec3", map[string]int64{
		dom("nsec3param"):    0,
		dom("nsec3"):         0,
		dom("sshfp.net"):     2,
		dom("ns1.sshfp.net"): 1,
	}, FormatAuto, in)
	if st.Events != 2 || st.Malformed != 0 {
		t.Errorf("%+v, want 2 events, none malformed", st)
	}
}

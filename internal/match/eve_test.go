package match

import "testing"

// TestEVEDNSReal runs a real Suricata 4.1.4 EVE log with DNS v1 answers
// (one record per event) and v2 answers (lists, grouped) from Elastic's
// module tests; the expected counts come from
// testdata/sensors/eve-beats/expect.py, which reads the EVE format
// documentation, not this code.
func TestEVEDNSReal(t *testing.T) {
	log := string(readSample(t, "eve-beats/eve-dns-4.1.4.log"))
	want := map[string]int64{
		"[domain-name:value = 'dualstack.r2.shared.global.fastly.net']": 4,
		"[domain-name:value = 'atsv2-fp-shed.wg1.b.yahoo.com']":         10,
		"[ipv6-addr:value ISSUBSET '2a04:4e42::/32']":                   2,
		"[ipv6-addr:value = '2a04:4e42:600::729']":                      2,
		"[ipv4-addr:value = '98.138.219.232']":                          1,
		"[ipv6-addr:value ISSUBSET '2001:4998::/32']":                   4,
		"[domain-name:value = 'www.yahoo.com']":                         4,
	}
	for _, f := range []Format{FormatEVE, FormatAuto} {
		if st := matchCounts(t, f.String(), want, f, log); st.Events != 24 || st.Malformed != 0 || st.Errors != 0 {
			t.Errorf("%v: stats %+v", f, st)
		}
	}
}

// TestEVEShapes: one event per EVE shape the decoder reads, each with the
// observables the EVE documentation gives it.
func TestEVEShapes(t *testing.T) {
	ts := `"timestamp":"2024-03-01T10:00:00.000000+0000"`
	cases := []struct {
		name, line string
		want       []string // Attr=value that must be present
		not        []string // and that must not
	}{
		{"dns v1 answer A", `{` + ts + `,"event_type":"dns","dns":{"type":"answer","rrname":"a.example","rrtype":"A","ttl":5,"rdata":"192.0.2.7"}}`,
			[]string{"ipv4-addr:value=192.0.2.7", "domain-name:value=a.example"}, nil},
		{"dns v1 answer CNAME", `{` + ts + `,"event_type":"dns","dns":{"type":"answer","rrname":"a.example","rrtype":"CNAME","rdata":"b.example"}}`,
			[]string{"domain-name:value=b.example"}, nil},
		{"dns v1 TXT is text", `{` + ts + `,"event_type":"dns","dns":{"type":"answer","rrname":"a.example","rrtype":"TXT","rdata":"verification"}}`,
			[]string{"domain-name:value=a.example"}, []string{"domain-name:value=verification"}},
		{"dns v3", `{` + ts + `,"event_type":"dns","dns":{"version":3,"type":"response","queries":[{"rrname":"q.example","rrtype":"AAAA"}],"answers":[{"rrname":"q.example","rrtype":"AAAA","rdata":"2a04:4e42::81"},{"rrname":"q.example","rrtype":"CNAME","rdata":"c.example"}]}}`,
			[]string{"domain-name:value=q.example", "ipv6-addr:value=2a04:4e42::81", "domain-name:value=c.example"}, nil},
		{"dns v2 grouped", `{` + ts + `,"event_type":"dns","dns":{"version":2,"type":"answer","rrname":"g.example","grouped":{"A":["192.0.2.1"],"CNAME":["h.example"],"PTR":["p.example"]}}}`,
			[]string{"ipv4-addr:value=192.0.2.1", "domain-name:value=h.example", "domain-name:value=p.example"}, nil},
		{"dns wildcard query", `{` + ts + `,"event_type":"dns","dns":{"type":"query","rrname":"*","rrtype":"ANY"}}`,
			nil, []string{"domain-name:value=*"}},
		{"http on port 8081", `{` + ts + `,"event_type":"http","dest_port":8081,"http":{"hostname":"host.example","http_port":8081,"url":"/path?q=1","http_method":"GET"}}`,
			[]string{"url:value=http://host.example:8081/path?q=1"}, []string{"url:value=http://host.example/path?q=1"}},
		{"http without port", `{` + ts + `,"event_type":"http","http":{"hostname":"host.example","url":"/path"}}`,
			[]string{"url:value=http://host.example/path"}, nil},
		{"http host already with port", `{` + ts + `,"event_type":"http","http":{"hostname":"host.example:8081","http_port":8081,"url":"/p"}}`,
			[]string{"url:value=http://host.example:8081/p"}, nil},
		{"http to an IPv6 literal", `{` + ts + `,"event_type":"http","http":{"hostname":"2001:db8::1","http_port":8080,"url":"/p"}}`,
			[]string{"url:value=http://[2001:db8::1]:8080/p", "ipv6-addr:value=2001:db8::1"}, nil},
		{"http absolute url (proxy)", `{` + ts + `,"event_type":"http","http":{"hostname":"host.example","http_port":3128,"url":"http://other.example/x"}}`,
			[]string{"url:value=http://other.example/x"}, nil},
		{"http absolute url naming port 80 (proxy)", `{` + ts + `,"event_type":"http","http":{"hostname":"other.example","http_port":3128,"url":"http://other.example:80/x"}}`,
			[]string{"url:value=http://other.example/x"}, []string{"url:value=http://other.example:80/x"}},
		{"fileinfo hashes", `{` + ts + `,"event_type":"fileinfo","fileinfo":{"filename":"eicar.com","md5":"44d88612fea8a8f36de82e1278abb02f","sha1":"3395856ce81f2b7382dee72602f798b642f14140","sha256":"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f","size":68}}`,
			[]string{"file:hashes.MD5=44d88612fea8a8f36de82e1278abb02f", "file:hashes.'SHA-1'=3395856ce81f2b7382dee72602f798b642f14140", "file:hashes.'SHA-256'=275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", "file:name=eicar.com", "file:size=68"}, nil},
		{"alert with files", `{` + ts + `,"event_type":"alert","alert":{"signature_id":1},"files":[{"filename":"a.exe","md5":"44d88612fea8a8f36de82e1278abb02f"}]}`,
			[]string{"file:hashes.MD5=44d88612fea8a8f36de82e1278abb02f"}, nil},
		{"tls", `{` + ts + `,"event_type":"tls","tls":{"sni":"tls.example","subject":"CN=tls.example","issuerdn":"CN=CA","serial":"00:AB","fingerprint":"3b:a1:2c:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00","ja3":{"hash":"e7eca2baf4458d095b7f45da28c16c34"},"ja4":"t13d1516h2_8daaf6152771_02713d6af862"}}`,
			[]string{"domain-name:value=tls.example", "x509-certificate:hashes.'SHA-1'=3ba12c00112233445566778899aabbccddeeff00", "x509-certificate:subject=CN=tls.example"}, nil},
		{"tls sni is an address", `{` + ts + `,"event_type":"tls","tls":{"sni":"192.0.2.9"}}`,
			nil, []string{"domain-name:value=192.0.2.9"}},
		{"quic", `{` + ts + `,"event_type":"quic","quic":{"version":"1","sni":"quic.example"}}`,
			[]string{"domain-name:value=quic.example"}, nil},
		{"dhcp and ethernet", `{` + ts + `,"event_type":"dhcp","ether":{"src_mac":"00:11:22:33:44:55","dest_mac":"ff:ff:ff:ff:ff:ff"},"dhcp":{"type":"reply","client_mac":"00:11:22:33:44:55","assigned_ip":"192.0.2.50"}}`,
			[]string{"mac-addr:value=00:11:22:33:44:55", "ipv4-addr:value=192.0.2.50"}, nil},
		{"dhcp extended", `{` + ts + `,"event_type":"dhcp","dhcp":{"type":"reply","id":7,"client_mac":"00:11:22:33:44:55","assigned_ip":"192.0.2.50","client_ip":"0.0.0.0","relay_ip":"192.0.2.1","next_server_ip":"192.0.2.2","dhcp_type":"ack","subnet_mask":"255.255.255.0","routers":["192.0.2.3","192.0.2.4"],"dns_servers":["198.51.100.53"],"hostname":"laptop"}}`,
			[]string{"ipv4-addr:value=192.0.2.1", "ipv4-addr:value=192.0.2.2", "ipv4-addr:value=192.0.2.3", "ipv4-addr:value=192.0.2.4", "ipv4-addr:value=198.51.100.53"},
			[]string{"ipv4-addr:value=255.255.255.0", "domain-name:value=laptop", "ipv4-addr:value=0.0.0.0"}},
		{"smb file", `{` + ts + `,"event_type":"smb","smb":{"command":"SMB2_COMMAND_CREATE","filename":"temp\\mimikatz.exe","share":"\\\\192.0.2.7\\C$"}}`,
			[]string{`file:name=temp\mimikatz.exe`}, nil},
		{"nfs file", `{` + ts + `,"event_type":"nfs","nfs":{"version":3,"procedure":"READ","filename":"passwd"}}`,
			[]string{"file:name=passwd"}, nil},
		{"ftp data", `{` + ts + `,"event_type":"alert","app_proto":"ftp-data","ftp_data":{"filename":"index.html","command":"RETR"}}`,
			[]string{"file:name=index.html"}, nil},
		{"tftp", `{` + ts + `,"event_type":"tftp","tftp":{"packet":"read","file":"rfc1350.txt","mode":"octet"}}`,
			[]string{"file:name=rfc1350.txt"}, nil},
		{"dhcp request", `{` + ts + `,"event_type":"dhcp","dhcp":{"type":"request","id":8,"client_mac":"00:11:22:33:44:55","assigned_ip":"0.0.0.0","client_ip":"0.0.0.0","dhcp_type":"request","requested_ip":"192.0.2.77","params":["subnet_mask","router"]}}`,
			[]string{"ipv4-addr:value=192.0.2.77"}, nil},
		{"smtp", `{` + ts + `,"event_type":"smtp","smtp":{"mail_from":"<a@mail.example>","rcpt_to":["<b@mail.example>"]},"email":{"from":"A <a@mail.example>","subject":"hi","url":["http://phish.example/x"]}}`,
			[]string{"email-addr:value=a@mail.example", "email-addr:value=b@mail.example", "url:value=http://phish.example/x"}, nil},
	}
	d := NewDecoder(FormatAuto)
	for _, c := range cases {
		evs, err := d.Decode([]byte(c.line))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if evs[0].Format != FormatEVE {
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

// TestEVEMixedReal: Suricata's EVE of one sensor (Elastic's eve-small.log:
// ssh, alert with tls, http, fileinfo, a dns v1 answer, stats, tls with a
// certificate, an IPv6 flow). Counts from the EVE documentation, by hand:
// 192.168.86.85 is the source or destination of six events; the http
// event's URL is its hostname and url (no http_port, so no port); the tls
// sni's trailing dot is not part of the name.
func TestEVEMixedReal(t *testing.T) {
	log := string(readSample(t, "eve-beats/eve-small.log"))
	want := map[string]int64{
		"[domain-name:value = 'l2.io']":                                                                                      1,
		"[domain-name:value = 'p33-btmmdns.icloud.com']":                                                                     1,
		"[x509-certificate:hashes.'SHA-1' = '6affaca65f8a05e7a98c7629b908c769addc7247']":                                     1,
		"[x509-certificate:serial_number = '5C:9C:E1:09:78:87:F8:07']":                                                       1,
		"[x509-certificate:subject = 'CN=*.icloud.com, OU=management:idms.group.506364, O=Apple Inc., ST=California, C=US']": 1,
		"[file:hashes.'SHA-256' = 'f610428ebddf6f8cf9e39322e672583c45fcdcf885efad0ab48fd53a3dfc2c4b']":                       1,
		"[file:hashes.MD5 = '427b7337ff37eeb24d74f47d8e04cf21']":                                                             1,
		"[file:hashes.'SHA-1' = '313573490192c685e9e53abef25453ed0d5e2aee']":                                                 1,
		// Suricata 4 logged no http_port and a hostname without the
		// Host header's port: the URL's port is the server's (the http
		// event's dest_port; the GET's fileinfo event's src_port, as it
		// is logged in the file's direction), as Zeek's build_url has it.
		"[url:value = 'http://192.168.86.28:8008/ssdp/device-desc.xml']": 1,
		"[url:value = 'http://192.168.86.28:63963/dd.xml']":              1,
		"[url:value = 'http://192.168.86.28/dd.xml']":                    0,
		"[ipv4-addr:value = '172.217.13.110']":                           1,
		"[domain-name:value = 'clients.l.google.com']":                   1,
		"[ipv6-addr:value ISSUBSET 'fe80::/10']":                         1,
		"[ipv4-addr:value = '192.168.86.85']":                            6,
	}
	if st := matchCounts(t, "eve-small", want, FormatAuto, log); st.Events != 8 || st.Malformed != 0 || st.Errors != 0 {
		t.Errorf("stats %+v, want 8 events", st)
	}
}

// TestZeekOtherLogs: address and MAC fields of notice.log, dhcp.log and
// conn.log's mac-logging, by the Zeek log reference.
func TestZeekOtherLogs(t *testing.T) {
	d := NewDecoder(FormatAuto)
	for line, want := range map[string][]string{
		`{"ts":1.0,"uid":"C1","note":"Scan::Port_Scan","src":"192.0.2.9","dst":"2001:db8::9"}`:                    {"ipv4-addr:value=192.0.2.9", "ipv6-addr:value=2001:db8::9"},
		`{"ts":1.0,"uids":["C1"],"mac":"00:0c:29:ab:cd:ef","assigned_addr":"10.0.0.50","server_addr":"10.0.0.1"}`: {"mac-addr:value=00:0c:29:ab:cd:ef", "ipv4-addr:value=10.0.0.50", "ipv4-addr:value=10.0.0.1"},
		`{"ts":1.0,"uid":"C1","orig_l2_addr":"00:0C:29:AB:CD:EF","resp_l2_addr":"00:50:56:00:00:01"}`:             {"mac-addr:value=00:0c:29:ab:cd:ef", "mac-addr:value=00:50:56:00:00:01"},
	} {
		evs, err := d.Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, f := range evs[0].Fields {
			have[f.Attr.String()+"="+string(f.Value)] = true
		}
		for _, w := range want {
			if !have[w] {
				t.Errorf("%s: no %s in %v", line, w, have)
			}
		}
	}
}

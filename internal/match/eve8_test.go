package match

import (
	"slices"
	"sort"
	"strings"
	"testing"
)

// suricata8Events are EVE events in the shapes Suricata 8.0 writes, one
// per change of its EVE output that bears on observables, each with every
// observable the userguide gives its fields (the whole set: a field
// the decoder drops fails the test, and so does one it reads that the
// documentation does not make an observable). Sources:
//   - dns v3 as the default, in dns and alert events (requests "request",
//     responses "response", queries[] in both, answers[], authorities[]
//     and additionals[] as full records, SOA, SRV and SSHFP as objects):
//     doc/userguide/upgrade/8.0-dns-logging-changes.rst (its examples, as
//     given) and rust/src/dns/log.rs, OISF/suricata tag suricata-8.0.0;
//   - tls: ja3/ja3s off by default, ja4, client_alpns, client_handshake,
//     server_handshake and the client certificate under tls.client
//     (values from suricata-verify tests/tls/tls-eve-custom-fields,
//     commit 10a45e4bad6d29d0f1239d93119ea24e1bbdab19);
//   - sip's sdp object (new in 8; values from suricata-verify
//     tests/sip-sdp, same commit), whose connection_data is RFC 4566's
//     "c=" connection address;
//   - new event types with no observable the matcher's indicators name:
//     arp (link-local who-has), mdns (link-local names), ldap, pop3,
//     websocket; new alert fields (alert.references, alert.context);
//     ether.ether_type; http.status_string; etc/schema.json at
//     suricata-8.0.0 against suricata-7.0.17.
var suricata8Events = []struct {
	name, line string
	want       []string // every observable (Attr=value) of the event, sorted
}{
	{"dns v3 request", `{"timestamp":"2025-03-01T10:00:00.000000+0000","flow_id":1,"event_type":"dns","src_ip":"10.16.1.11","src_port":53001,"dest_ip":"8.8.8.8","dest_port":53,"proto":"UDP","dns":{"version":3,"type":"request","tx_id":0,"id":0,"flags":"100","rd":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"www.suricata.io","rrtype":"A"}]}}`,
		[]string{"domain-name:value=www.suricata.io", "ipv4-addr:value=10.16.1.11", "ipv4-addr:value=8.8.8.8", "network-traffic:dst_port=53", "network-traffic:protocols[*]=udp", "network-traffic:src_port=53001"}},
	// a v3 response's src_ip is the responder (Suricata ticket 6400)
	{"dns v3 response", `{"timestamp":"2025-03-01T10:00:00.010000+0000","event_type":"dns","src_ip":"8.8.8.8","dest_ip":"10.16.1.11","dns":{"version":3,"type":"response","tx_id":1,"id":0,"flags":"8180","qr":true,"rd":true,"ra":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"www.suricata.io","rrtype":"A"}],"answers":[{"rrname":"www.suricata.io","rrtype":"CNAME","ttl":3597,"rdata":"suricata.io"},{"rrname":"suricata.io","rrtype":"A","ttl":597,"rdata":"35.212.0.44"}]}}`,
		[]string{"domain-name:value=suricata.io", "domain-name:value=www.suricata.io", "ipv4-addr:value=10.16.1.11", "ipv4-addr:value=35.212.0.44", "ipv4-addr:value=8.8.8.8"}},
	{"alert on a dns v3 response", `{"timestamp":"2025-03-01T10:00:00.010000+0000","event_type":"alert","alert":{"action":"allowed","signature_id":5,"signature":"dns","references":["url,suricata.io"],"metadata":{"created_at":["2025_01_01"]}},"app_proto":"dns","dns":{"version":3,"type":"response","tx_id":1,"id":0,"flags":"8180","qr":true,"rcode":"NOERROR","queries":[{"rrname":"www.suricata.io","rrtype":"A"}],"answers":[{"rrname":"www.suricata.io","rrtype":"CNAME","ttl":3597,"rdata":"suricata.io"},{"rrname":"suricata.io","rrtype":"A","ttl":597,"rdata":"35.212.0.44"}]}}`,
		[]string{"domain-name:value=suricata.io", "domain-name:value=www.suricata.io", "ipv4-addr:value=35.212.0.44", "network-traffic:protocols[*]=dns"}},
	// a referral: the zone's NS names in authorities, their glue among
	// the additionals, an EDNS OPT record (no observable)
	{"dns v3 referral", `{"timestamp":"2025-03-01T10:00:00.020000+0000","event_type":"dns","dns":{"version":3,"type":"response","id":7,"flags":"8000","qr":true,"rcode":"NOERROR","queries":[{"rrname":"www.zone.example","rrtype":"A"}],"authorities":[{"rrname":"zone.example","rrtype":"NS","ttl":172800,"rdata":"ns1.zone.example"}],"additionals":[{"rrname":"ns1.zone.example","rrtype":"A","ttl":172800,"rdata":"192.0.2.53"},{"rrname":"ns1.zone.example","rrtype":"AAAA","ttl":172800,"rdata":"2001:db8::53"},{"rrname":"","rrtype":"OPT","ttl":32768,"opt":[{"code":10,"data":"c29tZWRhdGE="}]}]}}`,
		[]string{"domain-name:value=ns1.zone.example", "domain-name:value=www.zone.example", "domain-name:value=zone.example", "ipv4-addr:value=192.0.2.53", "ipv6-addr:value=2001:db8::53"}},
	// SOA records are objects (dns_log_soa), in authorities and, in 8,
	// additionals alike: mname is the zone's primary name server, rname
	// a mailbox
	{"dns v3 SOA", `{"timestamp":"2025-03-01T10:00:00.030000+0000","event_type":"dns","dns":{"version":3,"type":"response","id":8,"flags":"8183","qr":true,"rcode":"NXDOMAIN","queries":[{"rrname":"gone.zone.example","rrtype":"A"}],"authorities":[{"rrname":"zone.example","rrtype":"SOA","ttl":900,"soa":{"mname":"ns-110.awsdns-13.com","rname":"awsdns-hostmaster.amazon.com","serial":1,"refresh":7200,"retry":900,"expire":1209600,"minimum":86400}}],"additionals":[{"rrname":"zone.example","rrtype":"SOA","ttl":900,"soa":{"mname":"ns2.zone.example","rname":"hostmaster.zone.example","serial":1,"refresh":7200,"retry":900,"expire":1209600,"minimum":86400}}]}}`,
		[]string{"domain-name:value=gone.zone.example", "domain-name:value=ns-110.awsdns-13.com", "domain-name:value=ns2.zone.example", "domain-name:value=zone.example"}},
	{"dns v3 SRV and SSHFP", `{"timestamp":"2025-03-01T10:00:00.040000+0000","event_type":"dns","dns":{"version":3,"type":"response","id":9,"flags":"8180","qr":true,"rcode":"NOERROR","queries":[{"rrname":"_sip._udp.voice.example","rrtype":"SRV"}],"answers":[{"rrname":"_sip._udp.voice.example","rrtype":"SRV","ttl":300,"srv":{"priority":20,"weight":1,"port":5060,"name":"sip-anycast-1.voice.example"}},{"rrname":"host.voice.example","rrtype":"SSHFP","ttl":300,"sshfp":{"algo":4,"type":2,"fingerprint":"de:ad:be:ef"}}]}}`,
		[]string{"domain-name:value=_sip._udp.voice.example", "domain-name:value=host.voice.example", "domain-name:value=sip-anycast-1.voice.example"}},
	// ja3/ja3s are off by default in 8 and ja4 is not read (README, JA3);
	// tls.client is the client's certificate, not read (as Zeek's
	// client_cert_chain_fps and ECS tls.client.hash.* are not)
	{"tls", `{"timestamp":"2025-03-01T10:00:01.000000+0000","event_type":"tls","tls":{"subject":"C=HU, ST=Budapest, L=Budapest, O=TLSClientAuthSampleServer, CN=SampleServer","issuerdn":"C=HU, ST=Budapest, L=Budapest, O=TLSClientAuthSampleCA, CN=SampleRoot","subjectaltname":["localhost"],"serial":"00:C7:D4:28:8B:80:E0:1E:25","fingerprint":"06:39:f9:5d:fe:81:53:c4:9d:f0:ac:80:3e:2d:42:07:e8:96:de:09","sni":"localhost","version":"TLS 1.2","notbefore":"2018-04-14T20:55:27","notafter":"2018-05-14T20:55:27","ja4":"t12d1312h2_8b80da21ef18_77989cba1f4a","client_alpns":["h2","http/1.1"],"server_alpns":["h2"],"client_handshake":{"version":"TLS 1.2","ciphers":[49195],"exts":[0,10],"sig_algs":[1027]},"server_handshake":{"version":"TLS 1.2","cipher":49195,"exts":[65281]},"client":{"subject":"C=HU, O=TLSClientAuthSampleClient, CN=SampleClient","issuerdn":"C=HU, ST=Budapest, L=Budapest, O=TLSClientAuthSampleCA, CN=SampleRoot","serial":"00:C7:D4:28:8B:80:E0:1E:27","fingerprint":"11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44","subjectaltname":["client.example"],"notbefore":"2018-04-14T20:55:27","notafter":"2018-05-14T20:55:27"}}}`,
		[]string{"domain-name:value=localhost", "x509-certificate:hashes.'SHA-1'=0639f95dfe8153c49df0ac803e2d4207e896de09", "x509-certificate:issuer=C=HU, ST=Budapest, L=Budapest, O=TLSClientAuthSampleCA, CN=SampleRoot", "x509-certificate:serial_number=c7:d4:28:8b:80:e0:1e:25", "x509-certificate:subject=C=HU, ST=Budapest, L=Budapest, O=TLSClientAuthSampleServer, CN=SampleServer"}},
	{"quic", `{"timestamp":"2025-03-01T10:00:02.000000+0000","event_type":"quic","quic":{"version":"1","sni":"quic.example","ua":"Chrome/120","ja4":"q13d0310h3_55b375c5d22e_cd85d2d88918","extensions":[{"name":"server_name","type":0,"values":["quic.example"]}]}}`,
		[]string{"domain-name:value=quic.example"}},
	// sip over TCP or UDP, logged alike; sdp's connection addresses
	// (session and media) are where the call's media go
	{"sip sdp", `{"timestamp":"2025-03-01T10:00:03.000000+0000","event_type":"sip","sip":{"method":"INVITE","uri":"sip:bob@voice.example","version":"SIP/2.0","sdp":{"version":0,"origin":"SIPPS 105015165 105015162 IN IP4 192.168.1.2","session_name":"SIP call","session_info":"Session Description Protocol","uri":"https://www.sdp.proto","email":"j.doe@example.com (Jane Doe)","phone_number":"+1 617 555-6011 (Jane Doe)","connection_data":"IN IP4 192.168.1.2","bandwidths":["AS:64"],"time_descriptions":[{"time":"3034423619 3042462419","repeat_time":"604800 3600 0 90000"}],"timezone":"2882844526 -1h 2898848070 0","encryption_key":"prompt","attributes":["sendrecv"],"media_descriptions":[{"media":"audio 30000 RTP/AVP 0 8 97 2 3","media_info":"media info","connection_data":"IN IP6 2001:db8::5","encryption_key":"prompt","attributes":["rtpmap:0 pcmu/8000"]},{"media":"video 51372 RTP/AVP 99","connection_data":"IN IP4 233.252.0.1/127/2"}]}}}`,
		[]string{"ipv4-addr:value=192.168.1.2", "ipv4-addr:value=233.252.0.1", "ipv6-addr:value=2001:db8::5"}},
	{"arp", `{"timestamp":"2025-03-01T10:00:04.000000+0000","event_type":"arp","arp":{"hw_type":"ethernet","proto_type":"ipv4","opcode":"reply","src_mac":"00:1a:6b:6c:0c:cc","src_ip":"10.10.10.2","dest_mac":"00:1d:09:f0:92:ab","dest_ip":"10.10.10.1"}}`,
		nil},
	// mdns (rust/src/mdns/log.rs): each record's data under its rrtype
	// in lower case; link-local names and addresses, not read
	{"mdns", `{"timestamp":"2025-03-01T10:00:05.000000+0000","event_type":"mdns","dest_ip":"224.0.0.251","mdns":{"type":"response","id":0,"flags":["aa"],"opcode":0,"rcode":0,"answers":[{"rrname":"_ipp._tcp.local","ptr":"Office._ipp._tcp.local"},{"rrname":"printer.local","a":"192.168.1.5"}],"additionals":[{"rrname":"Office._ipp._tcp.local","txt":["rp=ipp/print"]}]}}`,
		[]string{"ipv4-addr:value=224.0.0.251"}},
	{"ldap", `{"timestamp":"2025-03-01T10:00:06.000000+0000","event_type":"ldap","ldap":{"request":{"message_id":1,"operation":"bind_request","bind_request":{"version":3,"name":"cn=admin,dc=example,dc=com","sasl":{"mechanism":"GSS-SPNEGO"}}},"responses":[{"bind_response":{"result_code":"success","matched_dn":"","message":""}}]}}`,
		nil},
	{"pop3 and websocket", `{"timestamp":"2025-03-01T10:00:07.000000+0000","event_type":"pop3","pop3":{"request":{"command":"USER","args":["alice"]},"response":{"success":true,"status":"+OK","header":"+OK","data":[]}},"websocket":{"fin":true,"opcode":"text","payload_printable":"http://evil.example/"}}`,
		nil},
	{"http status_string and ether_type", `{"timestamp":"2025-03-01T10:00:08.000000+0000","event_type":"http","ether":{"ether_type":2048,"src_mac":"00:11:22:33:44:55","dest_mac":"66:77:88:99:aa:bb"},"http":{"hostname":"www.example.net","url":"/a b","http_user_agent":"curl/8.5.0","http_method":"GET","protocol":"HTTP/1.1","status":200,"status_string":"OK","length":5}}`,
		[]string{"domain-name:value=www.example.net", "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'=curl/8.5.0", "network-traffic:extensions.'http-request-ext'.request_method=GET", "network-traffic:extensions.'http-request-ext'.request_value=/a b", "mac-addr:value=00:11:22:33:44:55", "mac-addr:value=66:77:88:99:aa:bb", "url:value=http://www.example.net/a%20b"}},
}

// TestEVESuricata8 decodes each Suricata 8 shape and compares the
// observables read with the whole set the documentation gives.
func TestEVESuricata8(t *testing.T) {
	d := NewDecoder(FormatAuto)
	for _, c := range suricata8Events {
		evs, err := d.Decode([]byte(c.line))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if evs[0].Format != FormatEVE {
			t.Errorf("%s: detected as %v", c.name, evs[0].Format)
		}
		var have []string
		for _, f := range evs[0].Fields {
			s := f.Attr.String() + "=" + string(f.Value)
			if strings.HasSuffix(s, "_ref=") || slices.Contains(have, s) {
				continue
			}
			have = append(have, s)
		}
		sort.Strings(have)
		want := slices.Clone(c.want)
		sort.Strings(want)
		if !slices.Equal(have, want) {
			t.Errorf("%s:\n have %q\n want %q", c.name, have, want)
		}
	}
}

// TestEVESuricata8Sightings runs the Suricata 8 events through the
// matcher: counts by hand from the events above.
func TestEVESuricata8Sightings(t *testing.T) {
	var log strings.Builder
	for _, c := range suricata8Events {
		log.WriteString(c.line + "\n")
	}
	want := map[string]int64{
		// request, response, alert
		"[domain-name:value = 'www.suricata.io']": 3,
		// response and alert (the A answer)
		"[ipv4-addr:value = '35.212.0.44']": 2,
		// the glue of the referral
		"[ipv4-addr:value = '192.0.2.53']": 1,
		// the SOA in the additionals
		"[domain-name:value = 'ns2.zone.example']": 1,
		// the SRV target
		"[domain-name:value = 'sip-anycast-1.voice.example']": 1,
		// the sdp's session address and a media address
		"[ipv4-addr:value = '192.168.1.2']":                               1,
		"[ipv6-addr:value ISSUBSET '2001:db8::/32']":                      2, // glue AAAA, sdp media
		"[x509-certificate:serial_number = '00:C7:D4:28:8B:80:E0:1E:25']": 1,
		// the client certificate is not the server's
		"[x509-certificate:serial_number = '00:C7:D4:28:8B:80:E0:1E:27']": 0,
		"[domain-name:value = 'client.example']":                          0,
		"[domain-name:value = 'quic.example']":                            1,
		// arp and ldap give nothing
		"[ipv4-addr:value = '10.10.10.2']": 0,
		// a websocket payload is no URL
		"[url:value = 'http://evil.example/']": 0,
	}
	if st := matchCounts(t, "suricata 8", want, FormatEVE, log.String()); st.Events != int64(len(suricata8Events)) || st.Malformed != 0 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
}

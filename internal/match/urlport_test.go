package match

import "testing"

// TestURLServerPort: a request whose Host header has no port went to the
// port of the connection's server, and that port is the URL's, as Zeek's
// HTTP::build_url builds the URL it logs to intel.log and as the
// Suricata export's URL rules match it (the port in the rule's header,
// the Host's name in http.host, found by TestSuricataEndToEnd with
// `curl -H 'Host: url-host.test' http://127.0.0.1:8081/…`). Zeek's
// http.log host never has the port (main.zeek splits it off) and
// Suricata logs http_port only when the Host has one, so the matcher
// takes the server's port from the connection: Zeek's id.resp_p; EVE's
// alert flow.dest_port, an alert's src_port or dest_port by its
// direction, an http event's dest_port and a GET's fileinfo src_port
// (fileinfo is logged in the file's direction).
func TestURLServerPort(t *testing.T) {
	const (
		withPort = "[url:value = 'http://url-host.test:8081/payload/x.bin']"
		noPort   = "[url:value = 'http://url-host.test/payload/x.bin']"
		clientP  = "[url:value = 'http://url-host.test:50123/payload/x.bin']"
	)
	for _, c := range []struct {
		name            string
		f               Format
		log             string
		with, no, cport int64
	}{
		{"zeek json, port 8081", FormatAuto,
			`{"ts":1717243200.0,"uid":"C1","id.orig_h":"127.0.0.1","id.orig_p":50123,"id.resp_h":"127.0.0.1","id.resp_p":8081,"method":"GET","host":"url-host.test","uri":"/payload/x.bin"}`, 1, 0, 0},
		{"zeek json, port 8081, fields in another order", FormatAuto,
			`{"uri":"/payload/x.bin","host":"url-host.test","id.resp_p":8081,"id.orig_p":50123,"ts":1717243200.0,"uid":"C1","id.orig_h":"127.0.0.1","id.resp_h":"127.0.0.1","method":"GET"}`, 1, 0, 0},
		{"zeek json, port 80", FormatAuto,
			`{"ts":1717243200.0,"uid":"C1","id.orig_h":"127.0.0.1","id.orig_p":50123,"id.resp_h":"127.0.0.1","id.resp_p":80,"method":"GET","host":"url-host.test","uri":"/payload/x.bin"}`, 0, 1, 0},
		{"zeek tsv, port 8081", FormatAuto,
			"#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\n" +
				"1717243200.0\tC1\t127.0.0.1\t50123\t127.0.0.1\t8081\tGET\turl-host.test\t/payload/x.bin\n", 1, 0, 0},
		{"eve http event", FormatAuto,
			`{"timestamp":"2024-06-01T12:00:00.000000+0000","event_type":"http","src_ip":"127.0.0.1","src_port":50123,"dest_ip":"127.0.0.1","dest_port":8081,"proto":"TCP","http":{"hostname":"url-host.test","url":"/payload/x.bin","http_method":"GET"}}`, 1, 0, 0},
		{"eve http event, port 80", FormatAuto,
			`{"timestamp":"2024-06-01T12:00:00.000000+0000","event_type":"http","src_ip":"127.0.0.1","src_port":50123,"dest_ip":"127.0.0.1","dest_port":80,"proto":"TCP","http":{"hostname":"url-host.test","url":"/payload/x.bin","http_method":"GET"}}`, 0, 1, 0},
		{"eve alert to the client, with its flow", FormatAuto,
			`{"timestamp":"2024-06-01T12:00:00.000000+0000","event_type":"alert","src_ip":"127.0.0.1","src_port":8081,"dest_ip":"127.0.0.1","dest_port":50123,"proto":"TCP","alert":{"signature_id":1},"http":{"hostname":"url-host.test","url":"/payload/x.bin"},"direction":"to_client","flow":{"src_ip":"127.0.0.1","dest_ip":"127.0.0.1","src_port":50123,"dest_port":8081}}`, 1, 0, 0},
		// flow.dest_port alone tells the server's end.
		{"eve alert to the client, with its flow, no direction", FormatAuto,
			`{"timestamp":"2024-06-01T12:00:00.000000+0000","event_type":"alert","src_ip":"127.0.0.1","src_port":8081,"dest_ip":"127.0.0.1","dest_port":50123,"proto":"TCP","alert":{"signature_id":1},"http":{"hostname":"url-host.test","url":"/payload/x.bin"},"flow":{"src_ip":"127.0.0.1","dest_ip":"127.0.0.1","src_port":50123,"dest_port":8081}}`, 1, 0, 0},
		{"eve alert to the client, direction first, no flow", FormatAuto,
			`{"direction":"to_client","timestamp":"2024-06-01T12:00:00.000000+0000","event_type":"alert","src_ip":"127.0.0.1","src_port":8081,"dest_ip":"127.0.0.1","dest_port":50123,"proto":"TCP","alert":{"signature_id":1},"http":{"hostname":"url-host.test","url":"/payload/x.bin"}}`, 1, 0, 0},
		{"eve alert to the server", FormatAuto,
			`{"timestamp":"2024-06-01T12:00:00.000000+0000","event_type":"alert","src_ip":"127.0.0.1","src_port":50123,"dest_ip":"127.0.0.1","dest_port":8081,"proto":"TCP","alert":{"signature_id":1},"http":{"hostname":"url-host.test","url":"/payload/x.bin"},"direction":"to_server"}`, 1, 0, 0},
		{"eve fileinfo of a GET", FormatAuto,
			`{"timestamp":"2024-06-01T12:00:00.000000+0000","event_type":"fileinfo","src_ip":"127.0.0.1","src_port":8081,"dest_ip":"127.0.0.1","dest_port":50123,"proto":"TCP","http":{"hostname":"url-host.test","url":"/payload/x.bin","http_method":"GET"},"fileinfo":{"filename":"/payload/x.bin","size":8}}`, 1, 0, 0},
		// An upload's fileinfo names the client first, a POST's response
		// the server: neither end is known, and the URL is the Host's.
		{"eve fileinfo of a POST", FormatAuto,
			`{"timestamp":"2024-06-01T12:00:00.000000+0000","event_type":"fileinfo","src_ip":"127.0.0.1","src_port":50123,"dest_ip":"127.0.0.1","dest_port":8081,"proto":"TCP","http":{"hostname":"url-host.test","url":"/payload/x.bin","http_method":"POST"},"fileinfo":{"filename":"/payload/x.bin","size":8}}`, 0, 1, 0},
		// http_port, where Suricata logs it, is the Host's port and wins.
		{"eve http event with http_port", FormatAuto,
			`{"timestamp":"2024-06-01T12:00:00.000000+0000","event_type":"http","src_ip":"127.0.0.1","src_port":50123,"dest_ip":"127.0.0.1","dest_port":8080,"proto":"TCP","http":{"hostname":"url-host.test","http_port":8081,"url":"/payload/x.bin"}}`, 1, 0, 0},
	} {
		matchCounts(t, c.name, map[string]int64{withPort: c.with, noPort: c.no, clientP: c.cport}, c.f, c.log+"\n")
	}
}

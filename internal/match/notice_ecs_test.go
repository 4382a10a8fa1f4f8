package match

import "testing"

// TestECSZeekNoticeSrcDst: Elastic's zeek notice pipeline renames
// notice.log's src and dst to source.address and destination.address only
// where id.orig_h and id.resp_h left none; when the notice's src or dst
// differs from the connection's, it stays below zeek.notice (nested, or
// dotted as some shippers write it). They are read as notice.log's own
// src and dst are: the same counts from the Zeek record and its ECS
// documents.
func TestECSZeekNoticeSrcDst(t *testing.T) {
	want := map[string]int64{
		"[ipv4-addr:value = '10.0.0.1']":     1, // id.orig_h
		"[ipv4-addr:value = '10.0.0.2']":     1, // id.resp_h
		"[ipv4-addr:value = '198.51.100.7']": 1, // src
		"[ipv6-addr:value = '2001:db8::9']":  1, // dst
	}
	zeek := `{"ts":1700000000.0,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"note":"Scan::Address_Scan","msg":"m","src":"198.51.100.7","dst":"2001:db8::9"}` + "\n"
	matchCounts(t, "notice.log", want, FormatAuto, zeek)
	for name, in := range map[string]string{
		"nested": `{"@timestamp":"2023-11-14T22:13:20Z","event":{"module":"zeek","dataset":"zeek.notice","kind":"alert"},"source":{"address":"10.0.0.1","ip":"10.0.0.1","port":1},"destination":{"address":"10.0.0.2","ip":"10.0.0.2","port":2},"zeek":{"session_id":"C1","notice":{"note":"Scan::Address_Scan","msg":"m","src":"198.51.100.7","dst":"2001:db8::9"}}}` + "\n",
		"dotted": `{"@timestamp":"2023-11-14T22:13:20Z","event.module":"zeek","event.dataset":"zeek.notice","source.address":"10.0.0.1","source.ip":"10.0.0.1","destination.address":"10.0.0.2","destination.ip":"10.0.0.2","zeek.notice.note":"Scan::Address_Scan","zeek.notice.src":"198.51.100.7","zeek.notice.dst":"2001:db8::9"}` + "\n",
	} {
		for _, f := range []Format{FormatAuto, FormatECS} {
			st := matchCounts(t, name+" "+f.String(), want, f, in)
			if st.Events != 1 || st.Malformed != 0 {
				t.Errorf("%s %v: %+v", name, f, st)
			}
		}
	}
}

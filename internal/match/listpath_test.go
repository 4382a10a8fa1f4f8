package match

import "testing"

// TestListPathWithoutIndex: the compiled engine and the exports treat a
// path to a list without an index step (network-traffic:protocols = 'tcp',
// as MISP imports once wrote it) as the pattern package and the OASIS
// reference matcher do: the list equals no string, so it matches no
// event and is no value to export; protocols[*] compares each element.
func TestListPathWithoutIndex(t *testing.T) {
	line := `{"ts":1700000000.5,"id.orig_h":"10.0.0.1","id.orig_p":1025,"id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp"}` + "\n"
	matchCounts(t, "zeek conn", map[string]int64{
		"[network-traffic:protocols = 'tcp']":                                      0,
		"[network-traffic:protocols[*] = 'tcp']":                                   1,
		"[network-traffic:protocols[*] = 'udp']":                                   0,
		"[network-traffic:dst_port = 80 AND network-traffic:protocols = 'tcp']":    0,
		"[network-traffic:dst_port = 80 AND network-traffic:protocols[*] = 'tcp']": 1,
	}, FormatZeek, line)

	vals, bad := ExportValues([]*Indicator{
		{ID: "indicator--1", Pattern: "[network-traffic:protocols = 'tcp']", PatternType: "stix"},
		{ID: "indicator--2", Pattern: "[network-traffic:protocols[*] = 'tcp']", PatternType: "stix"},
	})
	if len(bad) != 1 || bad[0].ID != "indicator--1" {
		t.Errorf("unrepresentable %v, want indicator--1's", bad)
	}
	if len(vals) != 1 || vals[0].Attr != AttrProtocol || vals[0].Value != "tcp" {
		t.Errorf("export values %+v, want indicator--2's protocol", vals)
	}
}

package match

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestExportRefusesBroadRanges: an address range broader than
// MinExportPrefixIPv4 or MinExportPrefixIPv6 (0.0.0.0/0, a /1, ::/0, an
// IPv4-mapped /96, which is all of IPv4) is listed as not representable
// and written to neither the Zeek intel file nor the Suricata rules,
// where it would alert on nearly every packet; ranges at the bound are
// exported as before.
func TestExportRefusesBroadRanges(t *testing.T) {
	cases := []struct {
		id, pattern, value string
		exported           bool
	}{
		{"a1", "[ipv4-addr:value ISSUBSET '0.0.0.0/0']", "0.0.0.0/0", false},
		{"a2", "[ipv4-addr:value ISSUBSET '128.0.0.0/1']", "128.0.0.0/1", false},
		{"a3", "[ipv4-addr:value ISSUBSET '10.0.0.0/7']", "10.0.0.0/7", false},
		{"a4", "[ipv4-addr:value ISSUBSET '10.0.0.0/8']", "10.0.0.0/8", true},
		{"a5", "[ipv6-addr:value ISSUBSET '::/0']", "::/0", false},
		{"a6", "[ipv6-addr:value ISSUBSET '2001::/16']", "2001::/16", false},
		{"a7", "[ipv6-addr:value ISSUBSET '2003::/19']", "2003::/19", true},
		{"a8", "[ipv6-addr:value ISSUBSET '::ffff:0.0.0.0/96']", "0.0.0.0/0", false},
		{"a9", "[ipv4-addr:value ISSUBSET '0.0.0.0/0' OR ipv4-addr:value = '192.0.2.77']", "192.0.2.77", false},
	}
	var objs []string
	for _, c := range cases {
		objs = append(objs, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000%s","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","valid_from":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":%q}`, c.id, c.pattern))
	}
	bundle := `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-0000000000b1","objects":[` + strings.Join(objs, ",") + `]}`
	vals, bad := ExportValues(activeIndicators(t, strings.NewReader(bundle)))
	var zeek bytes.Buffer
	if _, err := WriteZeekIntel(&zeek, vals); err != nil {
		t.Fatal(err)
	}
	files, _ := SuricataDatasets(vals, 1)
	var sur strings.Builder
	for _, f := range files {
		sur.Write(f.Data)
	}
	listed := map[string]string{}
	for _, u := range bad {
		listed[u.ID] = u.Reason
	}
	for _, c := range cases {
		id := "indicator--00000000-0000-4000-8000-0000000000" + c.id
		inZeek := strings.Contains(zeek.String(), c.value+"\t")
		inSuricata := strings.Contains(sur.String(), c.value)
		if c.exported {
			if !inZeek || !inSuricata || listed[id] != "" {
				t.Errorf("%s: exported to Zeek %v, to Suricata %v, listed %q; want exported", c.pattern, inZeek, inSuricata, listed[id])
			}
			continue
		}
		if inZeek || inSuricata {
			t.Errorf("%s: exported (Zeek %v, Suricata %v), want it listed", c.pattern, inZeek, inSuricata)
		}
		if !strings.Contains(listed[id], "broader than") {
			t.Errorf("%s: listed as %q, want a range broader than the bound", c.pattern, listed[id])
		}
	}
}

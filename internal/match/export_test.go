package match

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestExport(t *testing.T) {
	set := loadTestIndicators(t)
	active, _ := set.Active(testNow)
	vals, bad := ExportValues(active)
	var zeek bytes.Buffer
	zbad, err := WriteZeekIntel(&zeek, vals)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "export.zeek-intel", zeek.String())
	files, sbad := SuricataDatasets(vals, 9100000)
	var sur strings.Builder
	for _, f := range files {
		fmt.Fprintf(&sur, "== %s\n%s", f.Name, f.Data)
	}
	checkGolden(t, "export.suricata", sur.String())
	var rep strings.Builder
	for _, l := range [][]Unrepresentable{bad, zbad, sbad} {
		for _, u := range l {
			fmt.Fprintf(&rep, "%s: %s\n", u.ID, u.Reason)
		}
		rep.WriteString("--\n")
	}
	checkGolden(t, "export.unrepresentable", rep.String())
	// The normalised forms reach the sensors.
	for _, want := range []string{"testmyids.com\tIntel::DOMAIN", "44d88612fea8a8f36de82e1278abb02f\tIntel::FILE_HASH", "192.0.78.0/24\tIntel::SUBNET", "www.example.com/download/setup.exe?id=1\tIntel::URL"} {
		if !strings.Contains(zeek.String(), want) {
			t.Errorf("zeek intel lacks %q", want)
		}
	}
}

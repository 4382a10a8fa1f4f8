package match

import (
	"strings"
	"testing"
)

// TestWrongFormatCounted: an explicit format that does not fit the input
// is counted line by line, by the format the lines show.
func TestWrongFormatCounted(t *testing.T) {
	zeekTSV := string(readSample(t, "zeek-baseline/scripts.base.protocols.http.http-methods_http.log"))
	eve := string(readSample(t, "eve-beats/eve-dns-4.1.4.log"))
	ecs := string(readSample(t, "ecs-beats/nested.ndjson"))
	for _, c := range []struct {
		f     Format
		input string
		want  [numFormats]int64
	}{
		{FormatEVE, eve, [numFormats]int64{}},
		{FormatZeek, eve, [numFormats]int64{FormatEVE: 24}},
		{FormatEVE, ecs, [numFormats]int64{FormatECS: 4}},
		{FormatECS, eve + ecs, [numFormats]int64{FormatEVE: 24}},
		{FormatZeek, zeekTSV, [numFormats]int64{}},
		// With --format eve a TSV log is malformed; its 58 lines but the
		// "### BTest" comment are Zeek's headers and records.
		{FormatEVE, zeekTSV, [numFormats]int64{FormatZeek: 58}},
		{FormatAuto, eve + ecs + zeekTSV, [numFormats]int64{}},
		// --format stix on sensor logs: no line is STIX, each is counted
		// by what it shows (the Zeek TSV's 58, as above).
		{FormatSTIX, eve + ecs + zeekTSV, [numFormats]int64{FormatEVE: 24, FormatECS: 4, FormatZeek: 58}},
		{FormatSTIX, string(readSample(t, "ecs-zeek/zeek-ecs.ndjson.gz")), [numFormats]int64{FormatECS: 2285}},
		{FormatSTIX, string(readSample(t, "../logs/bundle.json")), [numFormats]int64{}},
	} {
		_, st := runPatterns(t, []string{"[domain-name:value = 'a.example']"}, c.f, c.input)
		if st.Mismatched != c.want {
			t.Errorf("--format %v on %d lines: mismatched %v, want %v", c.f, strings.Count(c.input, "\n"), st.Mismatched, c.want)
		}
	}
}

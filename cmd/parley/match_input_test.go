package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMatchReadsGzipAndBOM: `parley match` reads a log as rotation leaves
// it. The WRCCDC dns.log.gz sample (Zeek 6.2 TSV, gzip, as Zeek archives
// logs) holds 5,000 records, 2,224 of which name ise.wrccdc.org as query
// or answer (counted by hand with awk over the decompressed file); before,
// its compressed bytes were 501 malformed lines. Two gzip members one
// after the other (a file appended to after rotation) are both read, and a
// UTF-8 byte order mark before the first line (a log saved by a Windows
// tool) no longer makes that line malformed. A truncated gzip file is an
// input that could not be read (exit 3), after the lines before the cut.
func TestMatchReadsGzipAndBOM(t *testing.T) {
	gz, err := os.ReadFile("../../internal/match/testdata/sensors/zeek-wrccdc/dns.log.gz")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	bundle := `{"type":"bundle","id":"bundle--5f2c1f5e-7a4e-4c41-9a70-0d1c1f1f1f1f","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--0d7a9a4e-1c3f-4a7e-8d55-0e1f3b2a9c11","created":"2018-01-01T00:00:00Z","modified":"2018-01-01T00:00:00Z","pattern":"[domain-name:value = 'ise.wrccdc.org']","pattern_type":"stix","valid_from":"2018-01-01T00:00:00Z"}]}`
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("ind.json", []byte(bundle))
	json1 := `{"ts":"2018-03-24T17:15:20.865716Z","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","query":"ise.wrccdc.org"}` + "\n"
	for _, c := range []struct {
		name          string
		data          []byte
		code          int
		count, events int64
		malformed     int64
	}{
		{"dns.log.gz", gz, 0, 2224, 5000, 0},
		{"twice.log.gz", append(append([]byte{}, gz...), gz...), 0, 4448, 10000, 0},
		{"bom.json", append([]byte("\xef\xbb\xbf"), json1...), 0, 1, 1, 0},
		{"cut.log.gz", gz[:3000], 3, -1, -1, -1},
	} {
		p := write(c.name, c.data)
		code, out, stderr := runCLI(t, "match", "--indicators", ind, "--as", "identity--00000000-0000-4000-8000-000000000000", p)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d: %s", c.name, code, c.code, stderr)
			continue
		}
		if c.count < 0 {
			continue
		}
		var s struct{ Count int64 }
		if err := json.NewDecoder(strings.NewReader(out)).Decode(&s); err != nil || s.Count != c.count {
			t.Errorf("%s: sighting count %d (%v), want %d: %s", c.name, s.Count, err, c.count, out)
		}
		if !strings.Contains(stderr, fmt.Sprintf(" %d events,", c.events)) || !strings.Contains(stderr, fmt.Sprintf(" %d malformed,", c.malformed)) {
			t.Errorf("%s: %s, want %d events, %d malformed", c.name, stderr, c.events, c.malformed)
		}
	}
}

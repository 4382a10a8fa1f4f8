package match

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDetectTaggedRecords checks that a record as Fluent Bit's nats output
// publishes it after its json parser read a line (the tag first, then the
// line's own members) is told the same format as the line itself, for
// every JSON line of the real and generated sensor samples and for tags
// that the shortcut must leave to the key scan (an escape in the tag, a
// space before the comma, a tag that is not a string).
func TestDetectTaggedRecords(t *testing.T) {
	var lines [][]byte
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".json") && !strings.HasSuffix(name, ".ndjson") && !strings.HasSuffix(name, ".log") && !strings.HasSuffix(name, ".ndjson.gz") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		var r io.Reader = f
		if strings.HasSuffix(name, ".gz") {
			gz, err := gzip.NewReader(f)
			if err != nil {
				return err
			}
			r = gz
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			if l := bytes.TrimSpace(sc.Bytes()); len(l) > 2 && l[0] == '{' {
				lines = append(lines, bytes.Clone(l))
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	lines = append(lines, benchStream(2000, benchDomains(10))...)
	if len(lines) < 5000 {
		t.Fatalf("only %d sample lines", len(lines))
	}
	tags := []string{`"tag":"sensor.log",`, `"tag":"\\\",\\\"ts\\\":1,",`, `"tag":"",`, `"tag":"a\"b",`, `"tag":"x" ,`, `"tag":1,`, `"tag":"zeek.conn","tag":"again",`}
	seen := map[Format]int{}
	for _, l := range lines {
		want := detect(l)
		seen[want]++
		for _, tag := range tags {
			tagged := append([]byte("{"+tag), l[1:]...)
			if got := detect(tagged); got != want {
				t.Fatalf("%s: %v, the line alone %v", tagged[:min(len(tagged), 120)], got, want)
			}
		}
	}
	for _, f := range []Format{FormatZeek, FormatEVE, FormatECS} {
		if seen[f] < 100 {
			t.Errorf("only %d sample lines of %v: %v", seen[f], f, seen)
		}
	}
}

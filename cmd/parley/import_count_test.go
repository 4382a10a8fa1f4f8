package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestImportMISPPushCountsWhatItLeavesOut: the same event counts fewer
// STIX objects pushed than with --out (a push names the member as the
// objects' creator, so the MISP organisation's identity isn't written,
// nor the TLP marking definitions the node has); the push's summary says
// so, with the numbers that make up the difference.
func TestImportMISPPushCountsWhatItLeavesOut(t *testing.T) {
	tn := startTestNode(t)
	coll, err := tn.n.AddCollection(context.Background(), "misp", "", []string{"bench"}, []string{"bench"}, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	if err := os.WriteFile(event, []byte(`{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"e","timestamp":"1465681801","published":true,
"Orgc":{"name":"O","uuid":"5c6983c8-3af8-4304-869c-4800d6c1883c"},"Tag":[{"name":"tlp:amber"}],
"Attribute":[{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83867","type":"url","category":"Network activity","value":"http://evil.example/a","to_ids":true,"timestamp":"1465681801"}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	count := regexp.MustCompile(`-> (\d+) STIX objects(.*)\n`)
	run := func(args ...string) (int, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		if code := c.main(context.Background(), append([]string{"import", "misp"}, args...)); code != 0 {
			t.Fatalf("import misp %s: exit %d: %s", strings.Join(args, " "), code, stderr.Bytes())
		}
		m := count.FindStringSubmatch(stderr.String())
		if m == nil {
			t.Fatalf("no count in %s", stderr.Bytes())
		}
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
	}
	out, outNote := run("--out", filepath.Join(dir, "b.json"), event)
	if outNote != "" {
		t.Errorf("--out's count says something is left out: %q", outNote)
	}
	pushed, note := run("--url", tn.url, "--token-file", tn.tokenFile, "--key", tn.keyFile, "--collection", coll, event)
	want := ", not counting what a push leaves out and --out writes: 1 identity of the MISP organisation that created the events (the objects name your member identity as their creator) and 1 TLP marking definition (the node has them)"
	if note != want {
		t.Errorf("the push's count says %q, want %q", note, want)
	}
	if pushed+2 != out {
		t.Errorf("%d objects pushed, %d with --out: the difference isn't the 2 left out", pushed, out)
	}
}

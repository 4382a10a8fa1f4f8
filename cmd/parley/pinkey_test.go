package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// A served /log/key that isn't a key (a web page from a server that is
// not Parley, terminal escapes from a hostile one) is refused as the
// node's failure (exit 4) and neither pinned nor echoed: "pinning the log
// key on first use: <html>..." printed all 23 KB of the page, escapes and
// line breaks included, before the key was found not to parse.
func TestPinLogKeyServedGarbage(t *testing.T) {
	for _, served := range []string{
		strings.Repeat("<html>not parley</html>", 1000),
		"x+01234567+\x1b[2J\nparley: ok: all verified",
	} {
		var errb bytes.Buffer
		c := &cli{stderr: &errb}
		seen := &tlog.SeenCheckpoints{}
		_, _, err := pinLogKey(c, "", served, seen, filepath.Join(t.TempDir(), "seen.json"))
		if err == nil || exitCode(err) != 4 {
			t.Fatalf("pinLogKey(%.30q) = %v (exit %d), want exit 4", served, err, exitCode(err))
		}
		if seen.Key != "" {
			t.Errorf("pinned %.30q", seen.Key)
		}
		c.printError(err)
		out := errb.String()
		if strings.Contains(out, "pinning") || strings.Count(out, "\n") > 2 || strings.Contains(out, "\x1b") || len(out) > 400 {
			t.Errorf("stderr for a served %.30q:\n%s", served, out)
		}
	}
	// A key that parses is pinned and said.
	var errb bytes.Buffer
	seen := &tlog.SeenCheckpoints{}
	_, key, err := tlog.NewNodeKey(strings.NewReader(strings.Repeat("k", 64)), "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pinLogKey(&cli{stderr: &errb}, "", key, seen, ""); err != nil || seen.Key != key || !strings.Contains(errb.String(), "pinning the log key on first use: "+key) {
		t.Fatalf("pinLogKey(a key) = %v, pinned %q, said %q", err, seen.Key, errb.String())
	}
	// Another key served beside the pinned one is quoted in the warning.
	errb.Reset()
	if _, _, err := pinLogKey(&cli{stderr: &errb}, "", "x\x1b[2J\nfake", seen, ""); err != nil || strings.Contains(errb.String(), "\x1b") || strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("pinLogKey with another key served = %v, said %q", err, errb.String())
	}
}

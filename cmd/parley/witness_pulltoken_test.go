package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/witness"
)

// TestWitnessPullsNodesWithTheirTokens: a witness operator pulls two
// nodes of rival members, each of which serves its log only to its own
// members: --pull-token-file ORIGIN=FILE gives each its token. With
// --token alone (one token for every --pull) the witness could pull one
// of them; the other's pulls failed with 401 forever.
func TestWitnessPullsNodesWithTheirTokens(t *testing.T) {
	dir := t.TempDir()
	var args []string
	var origins []string
	for _, n := range []string{"a", "b"} {
		data := filepath.Join(dir, n)
		if code, _, stderr := runCLI(t, "init", "--data", data, "--origin", "node-"+n+".example/log"); code != 0 {
			t.Fatalf("init: %s", stderr)
		}
		tokenFile := filepath.Join(dir, n+".json")
		if code, _, stderr := runCLI(t, "member", "add", "--data", data, "--name", "member-"+n, "--token-out", tokenFile); code != 0 {
			t.Fatalf("member add: %s", stderr)
		}
		logKey := nodeLogKey(t, data)
		nodeURL := serveInProcess(t, "--data", data, "--listen", "127.0.0.1:0")
		origin, _, _ := strings.Cut(logKey, "+")
		origins = append(origins, origin)
		args = append(args, "--pull", nodeURL+"="+logKey, "--pull-token-file", origin+"="+tokenFile)
	}
	wdir := filepath.Join(dir, "witness")
	if code, _, stderr := runCLI(t, "witness", "init", "--data", wdir, "--name", "witness.example/w1"); code != 0 {
		t.Fatalf("witness init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"witness", "serve", "--data", wdir, "--listen", "127.0.0.1:0"},
		append(args[:len(args):len(args)], "--pull-token-file", "node-c.example/log="+filepath.Join(dir, "a.json"))...)...); code != 2 || !strings.Contains(stderr, "names no --pull log") {
		t.Fatalf("a token for a log not pulled: exit %d: %s", code, stderr)
	}
	wURL := runInProcess(t, []string{"witness", "serve"}, append([]string{"--data", wdir, "--listen", "127.0.0.1:0", "--poll", "50ms"}, args...)...)
	wc := &witness.Client{URL: wURL}
	for _, origin := range origins {
		for deadline := time.Now().Add(30 * time.Second); ; {
			cp, err := wc.Checkpoint(context.Background(), origin)
			if err == nil && strings.Contains(string(cp), "\n— witness.example/w1 ") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the witness has no cosigned checkpoint of %s after 30 s: %q %v", origin, cp, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

package main

import (
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestPrivateCheckSeenAndPolicy: private check checks the checkpoint that
// proves the set's key like every client checks its checkpoints: against
// the seen file (a fork signed by the node's key is caught, exit 1,
// before any value is sent) and against the witness policy (a quorum the
// checkpoint lacks is refused, exit 1).
func TestPrivateCheckSeenAndPolicy(t *testing.T) {
	base, st, dir := demoNode(t)
	a, b := st.Members[0], st.Members[1]
	set := publishPrivateSet(t, base, a.Token, st.Collections.Shared, "domain-name:ballot-phish.example\nipv4-addr:203.0.113.77\n")
	seenFile := filepath.Join(t.TempDir(), "seen.json")
	check := func(extra ...string) (int, string, string) {
		args := append([]string{"private", "check", "--url", base, "--token", b.Token, "--set", set, "--seen", seenFile}, extra...)
		return runCLIWithStdin(t, []byte("ipv4-addr:203.0.113.77\ndomain-name:nothing.example\n"), append(args, "-")...)
	}
	if code, stdout, stderr := check(); code != 0 || stdout != "ipv4-addr:203.0.113.77\n" {
		t.Fatalf("first check: exit %d: %q %s", code, stdout, stderr)
	}
	seen, err := tlog.LoadSeen(seenFile)
	// The node's latest checkpoint (checked first) and the receipt's.
	if err != nil || len(seen.Notes) == 0 || seen.Key == "" {
		t.Fatalf("seen file after the first check: %+v, %v", seen, err)
	}

	// A witness policy the node's checkpoint doesn't meet.
	_, wkey, err := tlog.NewCosignerKey(rand.Reader, "witness.example/w")
	if err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := check("--witness", wkey); code != 1 || stdout != "" || !strings.Contains(stderr, "witness policy") {
		t.Errorf("with a witness quorum the checkpoint lacks: exit %d: %q %s", code, stdout, stderr)
	}

	// A checkpoint of the same size as the latest seen with another root,
	// signed by the node's key: a fork only the node can make.
	var cp tlog.Checkpoint
	for _, n := range seen.Notes {
		c, err := tlog.ParseCheckpoint(mustSplit(t, n))
		if err != nil {
			t.Fatal(err)
		}
		if c.Size >= cp.Size {
			cp = c
		}
	}
	signer := nodeSigner(t, dir)
	cp.Hash[0] ^= 1
	forked, err := tlog.SignCheckpoint(cp, signer)
	if err != nil {
		t.Fatal(err)
	}
	seen.Notes = append(seen.Notes, string(forked))
	if err := seen.Save(); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := check(); code != 1 || stdout != "" || !strings.Contains(stderr, "forked") {
		t.Errorf("with a forked checkpoint seen: exit %d: %q %s", code, stdout, stderr)
	}
}

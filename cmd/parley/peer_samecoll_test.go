package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPeerAddSameCollectionTwice: `parley peer add` of a collection that
// a peer already follows (same origin, another --into) exits 2 naming the
// existing peer; `parley member remove --member peer:NAME` stops that
// peer at once (peer status shows it stopped), and the collection can
// then be followed again.
func TestPeerAddSameCollectionTwice(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	n, err := openNode(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	vkey := n.VerifierKey()
	n.Close()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("a-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	add := func(into string) (int, string) {
		code, _, stderr := runCLI(t, "peer", "add", "--data", data, "--url", "http://127.0.0.1:1", "--token-file", token,
			"--log-key", vkey, "--collection", "collection--8a7e9b2c-4d3f-4a1b-9c6d-2e5f7a8b9c0d", "--into", into)
		return code, stderr
	}
	if code, stderr := add("intel-from-B2"); code != 0 {
		t.Fatalf("peer add: exit %d: %s", code, stderr)
	}
	if code, stderr := add("intel-from-B3"); code != 2 || !strings.Contains(stderr, "already follows") || !strings.Contains(stderr, "intel-from-B2") {
		t.Fatalf("a second peer of the same collection: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "member", "remove", "--data", data, "--member", "peer:intel-from-B2"); code != 0 {
		t.Fatalf("member remove: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "peer", "status", "--data", data)
	if code != 0 || !strings.Contains(stdout, `"state": "stopped"`) || strings.Contains(stdout, `"state": "following"`) {
		t.Fatalf("peer status right after member remove: exit %d: %s%s", code, stdout, stderr)
	}
	if code, stderr := add("intel-from-B4"); code != 0 {
		t.Fatalf("peer add once the first peer is stopped: exit %d: %s", code, stderr)
	}
}

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
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

// TestPeerStatusShowsDuplicate: two peers of one remote collection,
// recorded before peer add refused the second (here, by the store
// directly), each show duplicate_of in `parley peer status`, naming the
// other; a peer of another collection shows none.
func TestPeerStatusShowsDuplicate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	n, err := openNode(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	vkey := n.VerifierKey()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("a-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := "collection--8a7e9b2c-4d3f-4a1b-9c6d-2e5f7a8b9c0d"
	if _, err := n.AddPeer(ctx, node.PeerSpec{Name: "b2", URL: "http://127.0.0.1:1", TokenFile: token, LogKey: vkey, Remote: remote, Into: "intel-from-B2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddPeer(ctx, node.PeerSpec{Name: "other", URL: "http://127.0.0.1:1", TokenFile: token, LogKey: vkey, Remote: "collection--1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b", Into: "other"}); err != nil {
		t.Fatal(err)
	}
	coll, err := n.AddCollection(ctx, "intel-from-B3", "", nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := n.AddMember(ctx, "legacy-b3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Store().AddPeer(ctx, store.Peer{Name: "b3", URL: "http://127.0.0.1:1/", TokenFile: token, LogKey: vkey, Remote: remote, Into: coll, Member: m.ID, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	n.Close()
	code, stdout, stderr := runCLI(t, "peer", "status", "--data", data)
	if code != 0 {
		t.Fatalf("peer status: exit %d: %s", code, stderr)
	}
	var out struct {
		Peers []struct {
			Name        string `json:"name"`
			DuplicateOf string `json:"duplicate_of"`
		} `json:"peers"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || len(out.Peers) != 3 {
		t.Fatalf("peer status: %v\n%s", err, stdout)
	}
	for _, p := range out.Peers {
		switch p.Name {
		case "b2":
			if !strings.Contains(p.DuplicateOf, "peer b3") {
				t.Errorf("b2's duplicate_of: %q", p.DuplicateOf)
			}
		case "b3":
			if !strings.Contains(p.DuplicateOf, "peer b2") {
				t.Errorf("b3's duplicate_of: %q", p.DuplicateOf)
			}
		default:
			if p.DuplicateOf != "" {
				t.Errorf("%s's duplicate_of: %q", p.Name, p.DuplicateOf)
			}
		}
	}
}

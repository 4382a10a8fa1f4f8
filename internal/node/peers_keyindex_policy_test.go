package node

import (
	"context"
	"crypto/rand"
	"database/sql"
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// TestPeerKeyIndexNewerCheckpointNeedsQuorum: the follower adopts the
// newer checkpoint that B's GET /log/keys comes with (its log grew since
// the round read GET /log/checkpoint), as it accepts any checkpoint of
// B's. B's /log/checkpoint serves a checkpoint cosigned by the witness of
// A's policy; its /log/keys a newer one that no witness cosigned. That
// path must not let B skip the policy: A stays at the cosigned tree, and
// says why it holds no index of the newer one.
func TestPeerKeyIndexNewerCheckpointNeedsQuorum(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	skey, wvkey, err := tlog.NewCosignerKey(rand.Reader, "witness.example/w")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tlog.ParseCosignerKey(skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := tlog.NewWitnessPolicy([]string{wvkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	b.share(t, b.intel, 5)
	size1 := waitIntegratedNode(t, b.Node)
	tok, err := peer.ReadToken(b.followers["a"])
	if err != nil {
		t.Fatal(err)
	}
	plain, err := (&tlog.Client{URL: b.URL, Token: tok}).Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	text, err := tlog.SplitNote(plain)
	if err != nil {
		t.Fatal(err)
	}
	cos, err := note.Sign(&note.Note{Text: string(text)}, cs)
	if err != nil {
		t.Fatal(err)
	}
	cosigned := append(append([]byte(nil), plain...), cos[len(text)+1:]...)
	// B's log grows; the witness never saw the newer tree.
	b.share(t, b.intel, 5)
	size2 := waitIntegratedNode(t, b.Node)
	if size2 <= size1 {
		t.Fatalf("B's log didn't grow: %d, %d", size1, size2)
	}
	front := checkpointProxy(t, b, cosigned)
	if _, err := a.AddPeer(ctx, PeerSpec{Name: "a", URL: front, TokenFile: b.followers["a"],
		LogKey: b.VerifierKey(), Policy: pol.String(), Remote: b.intel, Into: "from-b"}); err != nil {
		t.Fatal(err)
	}
	p := a.waitPeer(t, "a", "the newer checkpoint refused", func(p store.Peer) bool {
		return p.State.Next == size1 && strings.Contains(p.State.KeyIndexMissing, "wasn't accepted")
	})
	if p.State.KeyIndex != nil || p.State.Next != size1 {
		t.Fatalf("A at %d with a key index of size %d; want %d and none (B's /log/keys is of the uncosigned tree of size %d)", p.State.Next, p.State.KeyIndexSize, size1, size2)
	}
	if !strings.Contains(p.State.KeyIndexMissing, "quorum") && !strings.Contains(p.State.KeyIndexMissing, "witness") {
		t.Errorf("why A holds no index: %q, want the policy named", p.State.KeyIndexMissing)
	}
}

// TestPeerKeyIndexNewerCheckpointForkCaught: the newer checkpoint that
// B's GET /log/keys comes with is compared with the round's, as every
// checkpoint of B's is: B showed A (by /log/checkpoint) a tree, then
// took its last entry back and grew another history, which its
// /log/keys signs. A stops following B with split-view evidence rather
// than adopt the other history.
func TestPeerKeyIndexNewerCheckpointForkCaught(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	if _, ok := b.store.(interface{ DB() (*sql.DB, *sql.DB) }); !ok {
		t.Skip("the fork is made in B's database, which this store doesn't open")
	}
	b.share(t, b.intel, 5)
	waitIntegratedNode(t, b.Node)
	tok, err := peer.ReadToken(b.followers["a"])
	if err != nil {
		t.Fatal(err)
	}
	old, err := (&tlog.Client{URL: b.URL, Token: tok}).Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := b.store.(interface{ DB() (*sql.DB, *sql.DB) }).DB()
	for _, q := range []string{
		`DELETE FROM objects WHERE log_index = (SELECT max(idx) FROM log_entries)`, `DELETE FROM log_entries WHERE idx = (SELECT max(idx) FROM log_entries)`,
		`DELETE FROM log_tiles`, `DELETE FROM log_checkpoints`,
	} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	b.share(t, b.intel, 3)
	waitIntegratedNode(t, b.Node)
	front := checkpointProxy(t, b, old)
	a.followVia(t, b, front, "a")
	p := a.waitPeer(t, "a", "stopped", func(p store.Peer) bool { return p.State.Stopped != "" || p.State.KeyIndex != nil })
	if p.State.Stopped == "" || p.State.Evidence == "" {
		t.Fatalf("A went on with B's other history: at %d, key index of size %d, stopped %q", p.State.Next, p.State.KeyIndexSize, p.State.Stopped)
	}
	ev, err := os.ReadFile(p.State.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlog.VerifyEvidence(b.VerifierKey(), ev); err != nil {
		t.Fatalf("the evidence doesn't verify: %v", err)
	}
}

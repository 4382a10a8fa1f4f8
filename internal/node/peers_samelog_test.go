package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// TestPeerAddRefusesSecondPeerOfSameLog: a second peer of the same
// remote collection of the same log (the same log key) is refused, naming
// the first, though it reaches B at another origin (B's IP and name, an
// old and a new name); before, only the same origin was refused, and
// both replicated B's objects into two collections. The same collection
// id in another log (another key) at another origin is another node's.
func TestPeerAddRefusesSecondPeerOfSameLog(t *testing.T) {
	ctx := context.Background()
	n, spec := unservedPeerNode(t)
	first := spec
	first.Name, first.Into = "b2", "intel-from-B2"
	if _, err := n.AddPeer(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := spec
	second.Name, second.Into, second.URL = "b3", "intel-from-B3", "http://localhost:2"
	_, err := n.AddPeer(ctx, second)
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "peer b2 already follows") || !strings.Contains(err.Error(), "the same log") {
		t.Fatalf("a second peer of the same log's collection at another origin: %v, want a conflict naming peer b2", err)
	}
	// The same key under another name is the same key.
	renamed := second
	bits, err := base64.StdEncoding.DecodeString(strings.SplitN(spec.LogKey, "+", 3)[2])
	if err != nil {
		t.Fatal(err)
	}
	if renamed.LogKey, err = tlog.VerifierKey("other-origin", ed25519.PublicKey(bits[1:])); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddPeer(ctx, renamed); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the same key under another name: %v, want a conflict", err)
	}
	_, otherKey, err := tlog.NewNodeKey(rand.Reader, "c.example")
	if err != nil {
		t.Fatal(err)
	}
	another := second
	another.LogKey = otherKey
	if _, err := n.AddPeer(ctx, another); err != nil {
		t.Fatalf("the same collection id in another node's log: %v", err)
	}
}

// TestPeerDuplicatesReportedSameLog: two peer records of one collection
// of the same log at different origins (recorded before peer add refused
// the second) are each reported as duplicate_of the other.
func TestPeerDuplicatesReportedSameLog(t *testing.T) {
	ctx := context.Background()
	n, spec := unservedPeerNode(t)
	first := spec
	first.Name, first.Into = "b2", "intel-from-B2"
	if _, err := n.AddPeer(ctx, first); err != nil {
		t.Fatal(err)
	}
	c2, err := n.AddCollection(ctx, "intel-from-B3", "", nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	m3, err := n.AddMember(ctx, "legacy-b3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.store.AddPeer(ctx, store.Peer{Name: "b3", URL: "http://localhost:2", TokenFile: spec.TokenFile, LogKey: spec.LogKey,
		Remote: spec.Remote, Into: c2, Member: m3.ID, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	dups, err := n.PeerDuplicates(ctx)
	if err != nil || len(dups) != 2 || !strings.Contains(dups["b2"], "peer b3 (into local collection "+c2+") at http://localhost:2, the same log (the same log key) at another URL, also follows") ||
		!strings.Contains(dups["b3"], "peer b2") {
		t.Fatalf("duplicates: %q, %v", dups, err)
	}
}

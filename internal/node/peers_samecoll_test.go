package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// unservedPeerNode is a node that doesn't serve (no round runs, as for
// the CLI's parley peer add and peer status) and a peer spec of a remote
// collection, with its token file; the peer is never contacted.
func unservedPeerNode(t *testing.T) (*Node, PeerSpec) {
	t.Helper()
	n, dir := initNode(t, Options{})
	t.Cleanup(func() { n.Close() })
	token := filepath.Join(dir, "peer-token")
	if err := os.WriteFile(token, []byte("a-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return n, PeerSpec{URL: "http://127.0.0.1:1", TokenFile: token, LogKey: n.VerifierKey(),
		Remote: "collection--8a7e9b2c-4d3f-4a1b-9c6d-2e5f7a8b9c0d"}
}

// TestPeerAddRefusesSecondPeerOfSameCollection: a second peer of the same
// remote collection at the same origin (another name, another local
// collection) is refused, naming the first; once the first is stopped
// for good (its member removed), the collection may be followed again
// under a new name.
func TestPeerAddRefusesSecondPeerOfSameCollection(t *testing.T) {
	ctx := context.Background()
	n, spec := unservedPeerNode(t)
	first := spec
	first.Name, first.Into = "b2", "intel-from-B2"
	p, err := n.AddPeer(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	second := spec
	second.Name, second.Into = "b3", "intel-from-B3"
	// The same origin, written another way.
	second.URL = "HTTP://127.0.0.1:1/"
	_, err = n.AddPeer(ctx, second)
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "peer b2 already follows") {
		t.Fatalf("a second peer of the same collection: %v, want a conflict naming peer b2", err)
	}
	other := second
	other.Remote = "collection--1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b"
	other.Name, other.Into = "b3", "other-from-B"
	if _, err := n.AddPeer(ctx, other); err != nil {
		t.Fatalf("a peer of another collection of the same node: %v", err)
	}
	if _, err := n.RemoveMember(ctx, p.Member); err != nil {
		t.Fatal(err)
	}
	second.Name, second.Into = "b4", "intel-from-B4"
	if _, err := n.AddPeer(ctx, second); err != nil {
		t.Fatalf("the collection followed again once its first peer is stopped: %v", err)
	}
}

// TestPeerMemberRemovedShowsStoppedAtOnce: removing (or revoking) a peer's
// member stops the peer at once, not at its next round (which may be a
// backed-off one, minutes later): peer status shows it stopped, with the
// reason, right after.
func TestPeerMemberRemovedShowsStoppedAtOnce(t *testing.T) {
	for _, how := range []string{"removed", "revoked"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			n, spec := unservedPeerNode(t)
			spec.Name, spec.Into = "b", "from-b"
			p, err := n.AddPeer(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			if how == "removed" {
				_, err = n.RemoveMember(ctx, p.Member)
			} else {
				err = n.RevokeMember(ctx, p.Member)
			}
			if err != nil {
				t.Fatal(err)
			}
			ps, err := n.Store().Peers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 1 || !strings.Contains(ps[0].State.Stopped, "revoked or removed") {
				t.Fatalf("the peer right after its member was %s: %+v", how, ps)
			}
		})
	}
}

// TestPeerDuplicatesReported: two peer records of one remote collection,
// recorded before peer add refused the second, are both still followed,
// and each says which other peer follows the same collection and how to
// keep one (peer status: duplicate_of); a stopped one no longer counts,
// nor does a peer of another collection.
func TestPeerDuplicatesReported(t *testing.T) {
	ctx := context.Background()
	n, spec := unservedPeerNode(t)
	first := spec
	first.Name, first.Into = "b2", "intel-from-B2"
	p, err := n.AddPeer(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	other := spec
	other.Name, other.Into, other.Remote = "b5", "other-from-B", "collection--1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b"
	if _, err := n.AddPeer(ctx, other); err != nil {
		t.Fatal(err)
	}
	if dups, err := n.PeerDuplicates(ctx); err != nil || len(dups) != 0 {
		t.Fatalf("duplicates of distinct peers: %v, %v", dups, err)
	}
	// As an earlier version recorded it: the same collection, the origin
	// spelled otherwise, under another name and member.
	c2, err := n.AddCollection(ctx, "intel-from-B3", "", nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	m3, err := n.AddMember(ctx, "legacy-b3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.store.AddPeer(ctx, store.Peer{Name: "b3", URL: "HTTP://127.0.0.1:1/", TokenFile: spec.TokenFile, LogKey: spec.LogKey,
		Remote: spec.Remote, Into: c2, Member: m3.ID, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	dups, err := n.PeerDuplicates(ctx)
	if err != nil || len(dups) != 2 || !strings.Contains(dups["b2"], "peer b3 (into local collection "+c2+") also follows collection "+spec.Remote) ||
		!strings.Contains(dups["b3"], "peer b2") || !strings.Contains(dups["b3"], "parley member remove --member peer:NAME") {
		t.Fatalf("duplicates: %q, %v", dups, err)
	}
	if _, err := n.RemoveMember(ctx, p.Member); err != nil {
		t.Fatal(err)
	}
	if dups, err := n.PeerDuplicates(ctx); err != nil || len(dups) != 0 {
		t.Fatalf("duplicates once b2 is stopped: %q, %v", dups, err)
	}
}

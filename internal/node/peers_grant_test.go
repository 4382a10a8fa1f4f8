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

// TestPeerCollectionWriteRefused: write on a followed peer's read-only
// collection can't be granted to a member of the node while the peer is
// followed. The peer's copies claim no ids there (its log says whose an
// id is), so the peer's later version of an id a member wrote beside
// them (revoked, or anything else) would stand above the member's. Read
// may be granted; once the peer is stopped for good, write may too.
func TestPeerCollectionWriteRefused(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	if _, err := n.AddMember(ctx, "carol", nil); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "peer.token")
	if err := os.WriteFile(tokenFile, []byte("peer-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Added while the node doesn't serve: no round reaches for it.
	p, err := n.AddPeer(ctx, PeerSpec{Name: "b", URL: "https://peer.example", TokenFile: tokenFile, LogKey: n.VerifierKey(), Remote: "c1", Into: "from b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, coll := range []string{"from b", p.Into} {
		_, _, err := n.GrantAccess(ctx, coll, "carol", true, true)
		if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "read-only copy of peer b") {
			t.Fatalf("write on the peer's collection %q granted: %v", coll, err)
		}
	}
	c, err := n.store.Collection(ctx, p.Into)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Writers) != 0 || len(c.Readers) != 0 {
		t.Fatalf("a refused grant changed the lists: readers %v, writers %v", c.Readers, c.Writers)
	}
	if _, _, err := n.GrantAccess(ctx, "from b", "carol", true, false); err != nil {
		t.Fatalf("read on the peer's collection: %v", err)
	}
	if err := n.store.StopPeer(ctx, "b", "the peer's member was removed", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.GrantAccess(ctx, "from b", "carol", false, true); err != nil {
		t.Fatalf("write on a stopped peer's collection: %v", err)
	}
}

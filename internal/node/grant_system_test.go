package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// TestGrantToSystemMemberRefused: no path that puts a member on a
// collection's lists puts a peer's or a feed's member there (peer:NAME,
// feed:NAME: the node's own, with no token): collection grant (read,
// write, both, on any collection), the readers and writers of a new
// collection, and the readers of a new peer's or feed's collection. Each
// fails with ErrSystemMember and changes nothing; before, each was
// granted. The feed's own member still writes the feed's collection,
// and collection revoke takes away a grant an older version recorded.
func TestGrantToSystemMemberRefused(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	if _, err := n.AddMember(ctx, "carol", nil); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "peer.token")
	if err := os.WriteFile(tokenFile, []byte("peer-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := n.AddPeer(ctx, PeerSpec{Name: "b", URL: "https://peer.example", TokenFile: tokenFile, LogKey: n.VerifierKey(), Remote: "c1", Into: "from b"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := n.AddFeed(ctx, FeedSpec{Name: "f", URL: "https://feed.example/api/", Collection: "c", Into: "from f"})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := n.store.Collection(ctx, f.Into)
	if err != nil {
		t.Fatal(err)
	}
	if !fc.CanWrite(f.Member) {
		t.Fatalf("the feed's member doesn't write the feed's collection: writers %v", fc.Writers)
	}
	shared, err := n.CreateCollection(ctx, CollectionSpec{Title: "shared", Readers: []string{"carol"}, Writers: []string{"carol"}})
	if err != nil {
		t.Fatal(err)
	}
	lists := func() map[string]string {
		t.Helper()
		cs, err := n.store.Collections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range cs {
			out[c.ID] = strings.Join(c.Readers, ",") + "|" + strings.Join(c.Writers, ",")
		}
		return out
	}
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrSystemMember) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrSystemMember", what, err)
		}
	}
	before := lists()
	for _, m := range []string{"peer:b", "feed:f", p.Member, f.Member} {
		for _, coll := range []string{shared, "from b", "from f"} {
			for _, rw := range [][2]bool{{true, false}, {false, true}, {true, true}} {
				_, _, err := n.GrantAccess(ctx, coll, m, rw[0], rw[1])
				refused("grant "+m+" on "+coll, err)
			}
		}
		_, err := n.CreateCollection(ctx, CollectionSpec{Title: "new r " + m, Readers: []string{"carol", m}})
		refused("collection add --read "+m, err)
		_, err = n.CreateCollection(ctx, CollectionSpec{Title: "new w " + m, Writers: []string{m}})
		refused("collection add --write "+m, err)
		_, err = n.AddPeer(ctx, PeerSpec{Name: "b2", URL: "https://other.example", TokenFile: tokenFile, LogKey: n.VerifierKey(), Remote: "c2", Into: "from b2", Readers: []string{m}})
		refused("peer add --reader "+m, err)
		_, err = n.AddFeed(ctx, FeedSpec{Name: "f2", URL: "https://other.example/api/", Collection: "c2", Into: "from f2", Readers: []string{m}})
		refused("feed add --read "+m, err)
	}
	if after := lists(); len(after) != len(before) {
		t.Errorf("refused grants made collections: %v, before %v", after, before)
	} else {
		for id, l := range before {
			if after[id] != l {
				t.Errorf("refused grants changed collection %s's lists: %s, before %s", id, after[id], l)
			}
		}
	}
	if _, _, err := n.GrantAccess(ctx, "from b", "carol", true, false); err != nil {
		t.Errorf("read for a member on the peer's collection: %v", err)
	}
	// A grant an older version recorded is taken away as any other.
	if err := n.store.GrantAccess(ctx, shared, p.Member, true, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.RevokeAccess(ctx, shared, "peer:b", true, false); err != nil {
		t.Errorf("revoking an older version's grant to peer:b: %v", err)
	}
	if rd, _, err := n.store.Access(ctx, shared, p.Member); err != nil || rd {
		t.Errorf("peer:b's read after its revocation: %v, %v", rd, err)
	}
}

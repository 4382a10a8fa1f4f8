package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
	"github.com/parley-exchange/parley/tlog"
)

// TestFederationPostgres runs a federation with both nodes on PostgreSQL,
// each in a database (schema) of its own, as two rival operators deploy
// it: A follows B's intel in steps of 16 entries, restarts mid-way
// through a catch-up and resumes exactly (no duplicate object, entry or
// step), then gets a revoked object, B's key rotation and revocation,
// and again after a restart when caught up; A's reader gets B's proofs
// of the revoked object. The other federation tests run on SQLite
// (newFedNode); this one runs whatever PARLEY_TEST_NODE_STORE says, and
// is skipped loudly (failed under CI) without a PostgreSQL server.
func TestFederationPostgres(t *testing.T) {
	ctx := context.Background()
	pgConfig := func(step int) Config {
		return Config{Store: pgtest.SchemaURL(t), PeerInterval: Duration(30 * time.Millisecond), PeerStep: step}
	}
	b := newOriginNode(t, newFedNodeConfig(t, pgConfig(0)), "a")
	a := newFedNodeConfig(t, pgConfig(16))
	for _, n := range []*fedNode{a, b.fedNode} {
		if !strings.HasPrefix(n.cfg.Store, "postgres") {
			t.Fatalf("a node's store is %q, not PostgreSQL", n.cfg.Store)
		}
	}
	carol, err := a.AddMember(ctx, "carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	pa := a.follow(t, b, "a", "from-b", "carol")
	want := func(p store.Peer, objects int) {
		t.Helper()
		if p.State.Objects != int64(objects) || len(localObjects(t, a.Node, pa.Into)) != objects || objectEntries(t, a.Node) != objects {
			t.Fatalf("A: %d objects recorded, %d stored, %d object entries; want %d", p.State.Objects, len(localObjects(t, a.Node, pa.Into)), objectEntries(t, a.Node), objects)
		}
		if p.State.LastError != "" || p.State.Failures != 0 || p.State.Stopped != "" {
			t.Fatalf("A's peer: last error %q, %d failures, stopped %q", p.State.LastError, p.State.Failures, p.State.Stopped)
		}
	}

	b.share(t, b.intel, 100)
	b.share(t, b.secret, 10)
	want(a.caughtUp(t, b, "a"), 100)

	// A restarts mid-way through a catch-up of several steps.
	b.share(t, b.intel, 200)
	a.waitPeer(t, "a", "some progress", func(p store.Peer) bool { return p.State.Objects > 100 })
	a.stop()
	a.start(t)
	want(a.caughtUp(t, b, "a"), 300)

	// A revoked object, B's key rotation and revocation.
	first := localObjects(t, a.Node, pa.Into)[0]
	bKeys := b.revokeRotateRevoke(t, first, 3)
	p := a.caughtUp(t, b, "a")
	want(p, 304)
	if p.State.Keys != int64(len(bKeys)) {
		t.Fatalf("A holds %d of B's key entries, want %d", p.State.Keys, len(bKeys))
	}

	// A restarts caught up: nothing is replicated twice, and what B logs
	// next (a member registered) arrives.
	a.stop()
	a.start(t)
	bobPub, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := b.AddMember(ctx, "bob", bobPub); err != nil {
		t.Fatal(err)
	}
	p = a.caughtUp(t, b, "a")
	want(p, 304)
	if p.State.Keys != int64(len(bKeys))+1 {
		t.Fatalf("after the restart A holds %d of B's key entries, want %d", p.State.Keys, len(bKeys)+1)
	}
	page, err := a.store.Objects(ctx, store.Query{Collection: pa.Into, IDs: []string{first.ID}, Limit: 10})
	if err != nil || len(page.Objects) != 1 || !strings.Contains(string(page.Objects[0].Raw), `"revoked":true`) {
		t.Fatalf("the latest version at A isn't the revoked one: %v %+v", err, page.Objects)
	}
	code, body := getPeerBundle(t, a, carol.Token, pa.Into, first.ID)
	if code != http.StatusOK {
		t.Fatalf("GET /peers/bundle: %d %s", code, body)
	}
	res, err := tlog.VerifyBundle(body, b.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 2 || !res.Items[1].Signed || res.Items[1].Opening.Member != b.alice.ID {
		t.Fatalf("bundle items: %+v", res.Items)
	}
	if ks := res.Keys.Keys(b.alice.ID); len(ks) != 2 || !ks[1].Revoked {
		t.Fatalf("bundle keys of alice: %+v", ks)
	}
}

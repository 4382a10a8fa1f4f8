package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/taxii"
)

// TestRevokeAccessEveryFrontEnd: the operator takes away a member's read,
// then its write, on a collection, through one front end of the store
// (SQLite, or PostgreSQL with PARLEY_TEST_NODE_STORE=postgres); the
// other front end, serving, applies each change at the member's next
// request, on TAXII, /log, private sets and in a web UI session opened
// before: nothing caches the access lists.
func TestRevokeAccessEveryFrontEnd(t *testing.T) {
	ctx := context.Background()
	f := twoFrontEnds(t)
	a, b, srv, bob, coll := f.a, f.b, f.srv, f.bob, f.coll
	st := post(t, bob.Client, coll, indicator(t, bob.ID, bob.Key, t0))
	if st.SuccessCount != 1 {
		t.Fatalf("setup: %+v", st)
	}
	if _, err := mustIntegrator(t, a).Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	obj := st.Successes[0]
	ui := uiLogin(t, srv.URL, bob) // a session opened while bob may read
	page := srv.URL + "/ui/collections/" + url.PathEscape(coll)
	if err := uiGet(ctx, ui, page); err != nil {
		t.Fatal(err)
	}
	status := func(path string) int {
		t.Helper()
		code, _ := rawGet(t, srv.URL+path, bob.Token)
		return code
	}
	receipt := "/log/receipt?object=" + url.QueryEscape(obj.ID) + "&version=" + url.QueryEscape(obj.Version)
	if code := status(receipt); code != http.StatusOK {
		t.Fatalf("bob's receipt before: %d", code)
	}

	// Read taken away: bob may still write, reads nothing.
	if _, _, err := a.RevokeAccess(ctx, "shared", "bob", true, false); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Client.Objects(ctx, coll, taxii.Query{}); !errors.Is(err, taxii.ErrForbidden) {
		t.Errorf("TAXII objects after bob's read was taken away: %v, want 403", err)
	}
	if code := status(receipt); code == http.StatusOK {
		t.Errorf("bob's receipt after his read was taken away: %d", code)
	}
	if code := status("/log/bundle?object=" + url.QueryEscape(obj.ID)); code == http.StatusOK {
		t.Errorf("bob's proof bundle after his read was taken away: %d", code)
	}
	if err := uiGet(ctx, ui, page); err == nil {
		t.Errorf("bob's web UI session, opened before, still shows the collection he may no longer read")
	}
	if st := post(t, bob.Client, coll, indicator(t, bob.ID, bob.Key, t0.Add(1))); st.SuccessCount != 1 {
		t.Errorf("bob, still a writer, couldn't write: %+v", st)
	}

	// Write taken away too: the collection doesn't exist for bob.
	if _, _, err := b.RevokeAccess(ctx, coll, bob.ID, false, true); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Client.AddObjects(ctx, coll, []json.RawMessage{indicator(t, bob.ID, bob.Key, t0.Add(2))}); !errors.Is(err, taxii.ErrNotFound) {
		t.Errorf("TAXII add objects after bob's write was taken away: %v, want 404", err)
	}
	if _, err := (&private.Client{BaseURL: srv.URL, Token: bob.Token}).Publish(ctx, private.PublishRequest{Collection: coll, Values: []string{"domain-name:x.example"}}); err == nil {
		t.Errorf("bob published a private set for a collection he may no longer write")
	}
	c, err := b.store.Collection(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	if c.CanRead(bob.ID) || c.CanWrite(bob.ID) || !c.CanRead(c.Readers[0]) {
		t.Errorf("lists after: readers %v, writers %v", c.Readers, c.Writers)
	}

	// Refusals change nothing.
	if _, _, err := a.RevokeAccess(ctx, coll, "bob", true, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeAccess of a member off the lists: %v, want ErrNotFound", err)
	}
	if _, _, err := a.RevokeAccess(ctx, "no such collection", "alice", true, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeAccess on an unknown collection: %v, want ErrNotFound", err)
	}
	if _, _, err := a.RevokeAccess(ctx, coll, "alice", false, false); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RevokeAccess of nothing: %v, want ErrInvalid", err)
	}

	// Given back through the other front end: bob's next requests, his
	// open web UI session's included, read and write again.
	if _, _, err := b.GrantAccess(ctx, "shared", "bob", true, false); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Client.Objects(ctx, coll, taxii.Query{}); err != nil {
		t.Errorf("TAXII objects after bob's read was given back: %v", err)
	}
	if code := status(receipt); code != http.StatusOK {
		t.Errorf("bob's receipt after his read was given back: %d", code)
	}
	if err := uiGet(ctx, ui, page); err != nil {
		t.Errorf("bob's web UI session after his read was given back: %v", err)
	}
	if _, err := bob.Client.AddObjects(ctx, coll, []json.RawMessage{indicator(t, bob.ID, bob.Key, t0.Add(3))}); !errors.Is(err, taxii.ErrForbidden) {
		t.Errorf("TAXII add objects with read but no write given back: %v, want 403", err)
	}
	if _, _, err := a.GrantAccess(ctx, coll, bob.ID, false, true); err != nil {
		t.Fatal(err)
	}
	if st := post(t, bob.Client, coll, indicator(t, bob.ID, bob.Key, t0.Add(3))); st.SuccessCount != 1 {
		t.Errorf("bob couldn't write after his write was given back: %+v", st)
	}
	if _, err := a.RemoveMember(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.GrantAccess(ctx, coll, "bob", true, true); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("GrantAccess to a removed member: %v, want ErrInvalid", err)
	}
	if _, _, err := a.GrantAccess(ctx, "no such collection", "alice", true, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GrantAccess on an unknown collection: %v, want ErrNotFound", err)
	}
	if c, err := b.store.Collection(ctx, coll); err != nil || c.CanRead(bob.ID) || c.CanWrite(bob.ID) {
		t.Errorf("lists after the refused grant: %+v, %v", c, err)
	}
}

// frontEnds is a node's store with two front ends: a, the operator's,
// and b, serving at srv (without workers: nothing integrates the log
// unless the test does); bob (with a key) and alice (with a key) read
// and write the collection coll ("shared").
type frontEnds struct {
	a, b       *Node
	srv        *httptest.Server
	alice, bob testMember
	coll       string
}

func twoFrontEnds(t *testing.T) frontEnds {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := Init(ctx, dir, testStoreConfig(t), nil); err != nil {
		t.Fatal(err)
	}
	a, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	srv := httptest.NewServer(b.Handler(nil))
	t.Cleanup(srv.Close)
	add := func(name string) testMember {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		nm, err := a.AddMember(ctx, name, pub)
		if err != nil {
			t.Fatal(err)
		}
		return testMember{ID: nm.ID, Token: nm.Token, Key: priv, Client: &taxii.Client{BaseURL: srv.URL, Token: nm.Token}}
	}
	bob, alice := add("bob"), add("alice")
	coll, err := a.AddCollection(ctx, "shared", "", []string{"alice", "bob"}, []string{"alice", "bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return frontEnds{a: a, b: b, srv: srv, alice: alice, bob: bob, coll: coll}
}

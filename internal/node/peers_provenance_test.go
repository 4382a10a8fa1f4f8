package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// TestPeerCantTouchLocalObjects: B logs (behind its checks) a later,
// revoked version of an object that carol, a member of A, shared on A,
// under carol's id, signed by B's alice. A replicates it into B's
// read-only collection only, claiming no id: carol's collection keeps her
// version alone, and her id stays hers (a new version of hers is stored).
// (Write on B's collection can't be granted to carol while B is followed:
// TestPeerCollectionWriteRefused.)
func TestPeerCantTouchLocalObjects(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	cm, err := a.AddMember(ctx, "carol", pub)
	if err != nil {
		t.Fatal(err)
	}
	carol := &taxii.Client{BaseURL: a.URL, Token: cm.Token}
	local, err := a.AddCollection(ctx, "local", "", []string{"carol"}, []string{"carol"}, "")
	if err != nil {
		t.Fatal(err)
	}
	first := indicator(t, cm.ID, priv, t0)
	if st := post(t, carol, local, first); st.SuccessCount != 1 {
		t.Fatalf("carol's object: %+v", st)
	}
	var m map[string]any
	if err := json.Unmarshal(first, &m); err != nil {
		t.Fatal(err)
	}
	id := m["id"].(string)
	delete(m, "extensions")
	m["modified"] = stix.FormatTimestamp(t0.Add(time.Hour))
	m["revoked"] = true
	storeBehindChecks(t, b, object(t, b.alice.Key, m), "")

	pa := a.follow(t, b, "a", "from-b")
	a.caughtUp(t, b, "a")
	if got := localObjects(t, a.Node, pa.Into); len(got) != 1 || got[0].ID != id {
		t.Fatalf("B's collection on A holds %+v, want B's version of %s", got, id)
	}
	got := localObjects(t, a.Node, local)
	if len(got) != 1 || got[0].Member != cm.ID || got[0].Version.Equal(t0.Add(time.Hour)) {
		t.Fatalf("carol's collection holds %+v after B's version, want carol's alone", got)
	}
	delete(m, "revoked")
	m["created_by_ref"], m["modified"] = cm.ID, stix.FormatTimestamp(t0.Add(2*time.Hour))
	if st := post(t, carol, local, object(t, priv, m)); st.SuccessCount != 1 {
		t.Fatalf("carol's new version after B's: %+v", st)
	}
}

// TestPeerCantPreemptLocalVersion: B logs first (behind its checks, signed
// by its alice) another object under the id and version that carol, a
// member of A, shares later on A (what carol shared on B too, edited by
// B's operator). A replicates B's copy into B's read-only collection; carol's
// own object, shared on A afterwards, is still stored in her collection,
// as hers, with her bytes: B's copy claims neither the id nor the version
// (before, carol was refused "a different object with this id and
// version is already stored"). And B's copy of a version carol shared
// first, with other content, doesn't change hers.
func TestPeerCantPreemptLocalVersion(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	cm, err := a.AddMember(ctx, "carol", pub)
	if err != nil {
		t.Fatal(err)
	}
	carol := &taxii.Client{BaseURL: a.URL, Token: cm.Token}
	local, err := a.AddCollection(ctx, "local", "", []string{"carol"}, []string{"carol"}, "")
	if err != nil {
		t.Fatal(err)
	}
	mine := indicator(t, cm.ID, priv, t0)
	var m map[string]any
	if err := json.Unmarshal(mine, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "extensions")
	m["name"], m["created_by_ref"] = "edited by B", b.alice.ID
	storeBehindChecks(t, b, object(t, b.alice.Key, m), "")

	pa := a.follow(t, b, "a", "from-b")
	a.caughtUp(t, b, "a")
	if got := localObjects(t, a.Node, pa.Into); len(got) != 1 || got[0].ID != m["id"] {
		t.Fatalf("B's collection on A holds %+v, want B's copy of %s", got, m["id"])
	}
	if st := post(t, carol, local, mine); st.SuccessCount != 1 {
		t.Fatalf("carol's object, whose id and version B logged first: %+v", st)
	}
	canon, _ := stixCanonical(t, mine)
	got := localObjects(t, a.Node, local)
	if len(got) != 1 || got[0].Member != cm.ID || string(got[0].Raw) != string(canon) {
		t.Fatalf("carol's collection holds %+v, want carol's object", got)
	}
	// The other order: carol's first, then B's copy of her id and version
	// with other content goes into B's collection only.
	second := indicator(t, cm.ID, priv, t0)
	if st := post(t, carol, local, second); st.SuccessCount != 1 {
		t.Fatalf("carol's second object: %+v", st)
	}
	if err := json.Unmarshal(second, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "extensions")
	m["name"], m["created_by_ref"] = "edited by B", b.alice.ID
	storeBehindChecks(t, b, object(t, b.alice.Key, m), "")
	if p := a.caughtUp(t, b, "a"); p.State.Objects != 2 {
		t.Fatalf("peer a: %+v", p.State)
	}
	canon2, _ := stixCanonical(t, second)
	for _, o := range localObjects(t, a.Node, local) {
		if o.ID == m["id"] && (o.Member != cm.ID || string(o.Raw) != string(canon2)) {
			t.Fatalf("carol's second object became %+v", o)
		}
	}
}

// stixCanonical returns raw's canonical form, as the store keeps it.
func stixCanonical(t *testing.T, raw []byte) ([]byte, error) {
	t.Helper()
	o, err := stix.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return o.Canonical()
}

// TestPeerRevocationDoesntRevokeLocal: B logs (behind its checks) a later,
// revoked version of carol's object under her id; carol reads B's
// collection on A too. The concurrence of her object (GET /concurrence:
// the opinions, and whether the object is revoked) still says it isn't
// revoked: B's copy claims no id, so it doesn't stand for carol's object
// (before, the latest version in any readable collection, B's, made it
// revoked).
func TestPeerRevocationDoesntRevokeLocal(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	cm, err := a.AddMember(ctx, "carol", pub)
	if err != nil {
		t.Fatal(err)
	}
	carol := &taxii.Client{BaseURL: a.URL, Token: cm.Token}
	local, err := a.AddCollection(ctx, "local", "", []string{"carol"}, []string{"carol"}, "")
	if err != nil {
		t.Fatal(err)
	}
	first := indicator(t, cm.ID, priv, t0)
	if st := post(t, carol, local, first); st.SuccessCount != 1 {
		t.Fatalf("carol's object: %+v", st)
	}
	var m map[string]any
	if err := json.Unmarshal(first, &m); err != nil {
		t.Fatal(err)
	}
	id := m["id"].(string)
	delete(m, "extensions")
	m["modified"] = stix.FormatTimestamp(t0.Add(time.Hour))
	m["revoked"] = true
	storeBehindChecks(t, b, object(t, b.alice.Key, m), "")
	a.follow(t, b, "a", "from-b", "carol")
	a.caughtUp(t, b, "a")
	me, err := a.Store().Member(ctx, cm.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Concurrence(ctx, me, id, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c.ObjectRevoked || c.ObjectLatestVersion != stix.FormatTimestamp(t0) {
		t.Fatalf("carol's object after B's revoked copy: revoked %v, latest version %s", c.ObjectRevoked, c.ObjectLatestVersion)
	}
}

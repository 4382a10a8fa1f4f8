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

package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// TestConcurrenceLeavesOutPeerOpinions: opinions replicated from a peer
// B (stored under peer:a) take no part in A's concurrence, on B's object
// as on a local object of the same id, whoever they name: neither
// counted nor in the evidence, and peer:a is not counted among the
// members with access, even once the operator grants it read. Before,
// with read granted, peer:a counted in members_with_access and B's
// opinions went into the evidence, where the client's check reported
// alice's honest opinion as forged. A hostile B can't inflate (or, with
// a revoked version of carol's opinion's id, withdraw) carol's count, and
// the client's check agrees with the node.
func TestConcurrenceLeavesOutPeerOpinions(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	cm, err := a.AddMember(ctx, "carol", pub)
	if err != nil {
		t.Fatal(err)
	}
	carol := testMember{ID: cm.ID, Token: cm.Token, Key: priv, Client: &taxii.Client{BaseURL: a.URL, Token: cm.Token}}
	local, err := a.AddCollection(ctx, "local", "", []string{"carol"}, []string{"carol"}, "")
	if err != nil {
		t.Fatal(err)
	}
	rep := indicator(t, carol.ID, carol.Key, t0)
	var m map[string]any
	if err := json.Unmarshal(rep, &m); err != nil {
		t.Fatal(err)
	}
	rid := m["id"].(string)
	mine := stix.NewIdentifier("opinion")
	if st := post(t, carol.Client, local, rep, testOpinion(t, carol, mine, 1, opinion.Disagree, false, rid)); st.SuccessCount != 2 {
		t.Fatalf("carol's objects: %+v", st)
	}

	// On B: alice's object x, B's copy of carol's object (alice's, same
	// id and version), and opinions on both: alice's own (several), one
	// naming carol, one naming nobody, and a revoked later version of
	// carol's opinion's id naming carol.
	x := indicator(t, b.alice.ID, b.alice.Key, t0)
	if err := json.Unmarshal(x, &m); err != nil {
		t.Fatal(err)
	}
	xid := m["id"].(string)
	post(t, b.alice.Client, b.intel, x)
	for i := range 3 {
		post(t, b.alice.Client, b.intel, testOpinion(t, b.alice, stix.NewIdentifier("opinion"), 1+i, opinion.StronglyAgree, false, xid, rid))
	}
	if err := json.Unmarshal(rep, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "extensions")
	storeBehindChecks(t, b, object(t, b.alice.Key, m), "")
	asCarol := testMember{ID: carol.ID, Key: b.alice.Key}
	storeBehindChecks(t, b, testOpinion(t, asCarol, stix.NewIdentifier("opinion"), 2, opinion.StronglyAgree, false, xid, rid), "")
	storeBehindChecks(t, b, testOpinion(t, asCarol, mine, 5, opinion.Disagree, true, rid), "")
	storeBehindChecks(t, b, object(t, b.alice.Key, map[string]any{
		"type": "opinion", "spec_version": "2.1", "id": stix.NewIdentifier("opinion"),
		"created": stix.FormatTimestamp(t0), "modified": stix.FormatTimestamp(t0),
		"opinion": "strongly-agree", "object_refs": []string{xid, rid},
	}), "")
	waitIntegratedNode(t, b.Node)
	a.follow(t, b, "a", "from-b", "carol")
	a.caughtUp(t, b, "a")
	waitIntegratedNode(t, a.Node)
	me, err := a.Store().Member(ctx, carol.ID)
	if err != nil {
		t.Fatal(err)
	}

	check := func(when string) {
		t.Helper()
		for _, tc := range []struct {
			object string
			want   map[opinion.Value]int
		}{{xid, map[opinion.Value]int{}}, {rid, map[opinion.Value]int{opinion.Disagree: 1}}} {
			c, err := a.Concurrence(ctx, me, tc.object, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			voices := 0
			for _, v := range opinion.Values {
				if c.Counts[v] != tc.want[v] {
					t.Errorf("%s: %s: counts %v, want %v", when, tc.object, c.Counts, tc.want)
				}
				voices += tc.want[v]
			}
			if c.Voices != voices || c.MembersWithAccess != 1 || len(c.Evidence.Items) != voices {
				t.Errorf("%s: %s: %d voices of %d members with access, %d evidence items; want %d of 1, %d items (only carol's)",
					when, tc.object, c.Voices, c.MembersWithAccess, len(c.Evidence.Items), voices, voices)
			}
			if voices == 1 {
				if v, ok := voteOf(c, carol.ID); !ok || v.OpinionID != mine {
					t.Errorf("%s: %s: votes %+v, want carol's %s", when, tc.object, c.Votes, mine)
				}
			}
			// The client's check (parley concurrence, the web page's
			// script) of the answer as served.
			raw, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			served, _, err := opinion.ParseConcurrence(raw)
			if err != nil {
				t.Fatal(err)
			}
			res, err := opinion.VerifyConcurrence(served, a.VerifierKey())
			if err != nil {
				t.Errorf("%s: %s: the client's check: %v", when, tc.object, err)
			}
			for _, it := range res.Items {
				if it.Err != nil {
					t.Errorf("%s: %s: the client reports evidence item %d (%s): %v", when, tc.object, it.LogIndex, it.Opinion.ID, it.Err)
				}
			}
		}
	}
	check("peer:a not a reader")
	// As an older version let it be granted (GrantAccess refuses it now:
	// ErrSystemMember), straight into the store.
	pm, err := a.ResolveMember(ctx, "peer:a")
	if err != nil {
		t.Fatal(err)
	}
	for _, coll := range []string{"from-b", local} {
		c, err := a.findCollection(ctx, coll)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.store.GrantAccess(ctx, c.ID, pm.ID, true, false); err != nil {
			t.Fatal(err)
		}
	}
	check("peer:a granted read")
}

package node

import (
	"context"
	"net/http"
	"testing"

	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/stix"
)

// TestConcurrenceLeavesOutSystemMember: a member of the node's own
// (feed:NAME here, with no feed record left, so known by its reserved
// name and missing key), granted read on the collection, is no member
// with access, and the opinions stored under it (a feed's relayed copies,
// unsigned) are not in the evidence, where the client's check would
// report them as not counting. Before, it counted in members_with_access.
func TestConcurrenceLeavesOutSystemMember(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	a := tn.alice
	report, rid := testReport(t, tn, a)
	postOK(t, tn, a, tn.shared, report)
	postOK(t, tn, a, tn.shared, testOpinion(t, a, stix.NewIdentifier("opinion"), 0, opinion.Agree, false, rid))
	code, before := getConcurrence(t, tn, a.Token, rid)
	if code != http.StatusOK {
		t.Fatalf("GET /concurrence = %d", code)
	}
	fm, err := tn.addSystemMember(ctx, "feed:x")
	if err != nil {
		t.Fatal(err)
	}
	// As an older version let it be granted (GrantAccess refuses it now:
	// ErrSystemMember), straight into the store.
	if err := tn.store.GrantAccess(ctx, tn.shared, fm.ID, true, false); err != nil {
		t.Fatal(err)
	}
	plant(t, tn, tn.shared, fm.ID, testOpinion(t, testMember{ID: a.ID}, stix.NewIdentifier("opinion"), 1, opinion.StronglyAgree, false, rid))
	waitIntegratedNode(t, tn.Node)
	code, after := getConcurrence(t, tn, a.Token, rid)
	if code != http.StatusOK {
		t.Fatalf("GET /concurrence = %d", code)
	}
	if after.MembersWithAccess != before.MembersWithAccess || after.Voices != 1 || len(after.Evidence.Items) != 1 {
		t.Errorf("with feed:x reading: %d voices of %d members with access, %d evidence items; want 1 of %d, 1 item (alice's)",
			after.Voices, after.MembersWithAccess, len(after.Evidence.Items), before.MembersWithAccess)
	}
	res, err := opinion.VerifyConcurrence(after, tn.VerifierKey())
	if err != nil {
		t.Fatalf("the client's check: %v", err)
	}
	for _, it := range res.Items {
		if it.Err != nil {
			t.Errorf("the client reports evidence item %d: %v", it.LogIndex, it.Err)
		}
	}
}

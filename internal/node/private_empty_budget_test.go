package node

import (
	"context"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/parley-exchange/parley/private"
)

// TestPrivateEmptySetSpendsNoBudget: a set with no tags (alice's set of
// a collection where she has no indicator) costs its reader nothing. A
// check against it sends nothing, and a batch sent to it anyway is
// refused (409) before the charge: not answered free, since the set may
// gain values at a refresh. A check of zero values sends nothing either.
func TestPrivateEmptySetSpendsNoBudget(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 5, MaxBatch: 10, RefreshInterval: Duration(time.Hour)})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	v := logVerifier(t, tn.Node)
	left := func(id string) int64 {
		t.Helper()
		info, err := bob.Set(ctx, id)
		if err != nil || info.Budget == nil {
			t.Fatalf("bob's view of the set: %+v, %v", info, err)
		}
		return info.Budget.Left
	}
	empty, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Size != 0 {
		t.Fatalf("alice's set of a collection where she has no indicator has %d tags", empty.Size)
	}
	values := []string{"domain-name:a.example", "domain-name:b.example", "domain-name:c.example"}
	if hits, err := bob.Check(ctx, empty.ID, v, values, 0, rand.Reader); err != nil || len(hits) != 0 {
		t.Fatalf("check against the empty set: %v, %v", hits, err)
	}
	if got := left(empty.ID); got != 5 {
		t.Errorf("after a check against the empty set %d of 5 left, want 5", got)
	}
	// A batch sent anyway (a client that doesn't look at the tags).
	key, err := private.ParsePublicKey(empty.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_, req, err := private.NewQuerier(key, rand.Reader).Blind(values)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Evaluate(ctx, empty.ID, req); !isStatus(err, http.StatusConflict) {
		t.Errorf("a batch against the empty set: %v, want 409", err)
	}
	if got := left(empty.ID); got != 5 {
		t.Errorf("after a batch against the empty set %d of 5 left, want 5", got)
	}

	// Zero values against a set with tags.
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{"domain-name:a.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if hits, err := bob.Check(ctx, set.ID, v, nil, 0, rand.Reader); err != nil || len(hits) != 0 {
		t.Fatalf("a check of no values: %v, %v", hits, err)
	}
	if got := left(set.ID); got != 5 {
		t.Errorf("after a check of no values %d of 5 left, want 5", got)
	}
	if hits, err := bob.Check(ctx, set.ID, v, values, 0, rand.Reader); err != nil || len(hits) != 1 {
		t.Fatalf("a check of 3 values: %v, %v", hits, err)
	}
	if got := left(set.ID); got != 2 {
		t.Errorf("after a check of 3 values %d of 5 left, want 2", got)
	}
}

package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/private"
)

// TestPrivateCheckRefusesReplayedWithdrawnSet: a node that goes on
// serving a set as live after its provider withdrew it (its description
// and tags as they were; a hostile node, or one answering from before
// the withdrawal), while its receipt logs the withdrawal, gets no value
// from a querier: private.Client.Check verifies the withdrawal, hands the
// receipt to Verified as evidence and fails with private.ErrWithdrawn
// before any evaluation is asked for.
func TestPrivateCheckRefusesReplayedWithdrawnSet(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour)})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	const value = "domain-name:shared-by-mistake.example"
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{value}})
	if err != nil {
		t.Fatal(err)
	}
	// What the node served while the set was live, to replay it.
	info, err := bob.Set(ctx, set.ID)
	if err != nil {
		t.Fatal(err)
	}
	infoJSON, _ := json.Marshal(info)
	tags, err := bob.Tags(ctx, set.ID, mustKey(t, set.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Withdraw(ctx, set.ID); err != nil {
		t.Fatal(err)
	}

	target, _ := url.Parse(tn.URL)
	forward := httputil.NewSingleHostReverseProxy(target)
	var evaluations atomic.Int64
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/private/sets/" + set.ID:
			w.Header().Set("Content-Type", "application/json")
			w.Write(infoJSON)
		case "/private/sets/" + set.ID + "/tags":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(tags.AppendTags(nil))
		case "/private/sets/" + set.ID + "/evaluate":
			evaluations.Add(1)
			forward.ServeHTTP(w, r)
		default: // the receipt, with its withdrawal
			forward.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(replay.Close)

	var kept []private.SavedReceipt
	c := &private.Client{BaseURL: replay.URL, Token: tn.bob.Token, Verified: func(_ context.Context, s private.SavedReceipt) error {
		kept = append(kept, s)
		return nil
	}}
	hits, err := c.Check(ctx, set.ID, logVerifier(t, tn.Node), []string{value}, 0, rand.Reader)
	if !errors.Is(err, private.ErrWithdrawn) {
		t.Fatalf("checking a withdrawn set served as live = %v, %v; want ErrWithdrawn", hits, err)
	}
	if n := evaluations.Load(); n != 0 {
		t.Fatalf("%d evaluation(s) asked of a set whose receipt logs its withdrawal", n)
	}
	if len(kept) != 1 || kept[0].Receipt.Withdrawal == nil {
		t.Fatalf("the withdrawal's receipt wasn't kept as evidence: %+v", kept)
	}
}

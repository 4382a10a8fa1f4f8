package node

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
)

// nested is a JSON value of k arrays, one in the other.
func nested(k int) json.RawMessage {
	return json.RawMessage(strings.Repeat("[", k) + "1" + strings.Repeat("]", k))
}

// deepIndicator is an indicator whose own nesting is depth (itself one
// level, its property x_deep the rest), signed with key when not nil.
func deepIndicator(t *testing.T, id, creator string, key ed25519.PrivateKey, depth int) json.RawMessage {
	t.Helper()
	m := map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": id,
		"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "created_by_ref": creator,
		"pattern": "[domain-name:value = 'deep.example']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
		"x_deep": nested(depth - 1),
	}
	return object(t, key, m)
}

// TestFeedObjectDepthHeldToConfig: a feed's objects were held only to
// the JSON reader's bound (stix.MaxDepth, 128), not to max_json_depth
// (default 64) that a member's request is: a feed's server stored objects
// nested deeper than any member may send. An object nested as deep as one
// in a member's envelope may be is stored; one level deeper fails alone.
func TestFeedObjectDepthHeldToConfig(t *testing.T) {
	ctx := context.Background()
	limit := taxii.DefaultMaxJSONDepth - 2 // the envelope and its objects list
	ok := deepIndicator(t, "indicator--0f1c4b9e-9b0a-4c55-8d6e-2b1f5f0b7a11", mitreIdentity, nil, limit)
	deep := deepIndicator(t, "indicator--0f1c4b9e-9b0a-4c55-8d6e-2b1f5f0b7a12", mitreIdentity, nil, limit+1)
	body, _ := json.Marshal(map[string]any{"more": false, "objects": []json.RawMessage{ok, deep}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		if r.URL.Query().Get("added_after") != "" {
			w.Write([]byte(`{"more":false}`))
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	n, _ := initNode(t, Options{})
	defer n.Close()
	f, err := n.AddFeed(ctx, FeedSpec{Name: "deep", URL: srv.URL + "/api/", Collection: "c", Into: "deep"})
	if err != nil {
		t.Fatal(err)
	}
	f, err = feed.Poll(ctx, n.FeedStore(), n.FeedSink(), f, n.now, nil)
	if err != nil {
		t.Fatalf("round: %v", err)
	}
	if f.Added != 1 || f.Failed != 1 || !strings.Contains(f.LastFailure, "7a12") || !strings.Contains(f.LastFailure, "max_json_depth 64") {
		t.Fatalf("after the round: %+v", f.FeedPosition)
	}
	p, err := n.store.Objects(ctx, store.Query{Collection: f.Into, Limit: 10})
	if err != nil || len(p.Objects) != 1 || !strings.HasSuffix(p.Objects[0].ID, "7a11") {
		t.Fatalf("stored = %+v, %v", p, err)
	}
}

// TestPeerObjectDepthHeldToConfig: a peer's objects were held only to
// stix.MaxDepth too. B accepts objects nested 100 deep (its
// max_json_depth); A, at the default 64, replicates B's objects up to the
// deep one and refuses it, saying why, storing nothing of it.
func TestPeerObjectDepthHeldToConfig(t *testing.T) {
	b := newOriginNode(t, newFedNodeConfig(t, Config{PeerInterval: Duration(30 * time.Millisecond), MaxJSONDepth: 100}), "a")
	a := newFedNode(t, 0)
	pa := a.follow(t, b, "a", "from-b")
	b.share(t, b.intel, 2)
	a.caughtUp(t, b, "a")
	post(t, b.alice.Client, b.intel, deepIndicator(t, "indicator--0f1c4b9e-9b0a-4c55-8d6e-2b1f5f0b7a13", b.alice.ID, b.alice.Key, 80))
	waitIntegratedNode(t, b.Node)
	p := a.waitPeer(t, "a", "refusal", func(p store.Peer) bool { return strings.Contains(p.State.LastError, "nested") })
	if !strings.Contains(p.State.LastError, "7a13") || !strings.Contains(p.State.LastError, "max_json_depth 64") {
		t.Fatalf("error %q", p.State.LastError)
	}
	if got := localObjects(t, a.Node, pa.Into); len(got) != 2 {
		t.Fatalf("stored %d objects, want the 2 before the deep one", len(got))
	}

}

package node

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
)

// TestFeedHostileContent: a feed's server serves objects that claim a
// member's word: a later version (modified in 2099) and a revocation of
// an object alice shared in another collection, under its id, and a new
// object naming alice as its creator, an object with duplicate keys, and
// one with "__proto__" keys: all refused. Alice's object stays as she
// shared it, in her collection, her version the latest; what the feed
// stored (an object of a vendor's identity, not a member's) is the
// feed's (its member). The object in alice's name was stored, the feed
// its owner (see TestFeedRelaysMemberObjectFirst).
func TestFeedHostileContent(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	mine := indicator(t, tn.alice.ID, tn.alice.Key, t0)
	if st := post(t, tn.alice.Client, tn.shared, mine); st.SuccessCount != 1 {
		t.Fatalf("alice shares: %+v", st)
	}
	id := idOf(t, mine)
	var v map[string]any
	json.Unmarshal(mine, &v)
	delete(v, "extensions")
	v["modified"] = "2099-01-01T00:00:00.000Z"
	v["name"] = "alice says: benign"
	later, _ := json.Marshal(v)
	v["modified"], v["revoked"] = "2099-01-02T00:00:00.000Z", true
	revoked, _ := json.Marshal(v)
	claimed := indicator(t, tn.alice.ID, nil, t0)
	vendor := indicator(t, "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5", nil, t0)
	dup := json.RawMessage(`{"type":"indicator","spec_version":"2.1","id":"indicator--1b1c4b9e-9b0a-4c55-8d6e-2b1f5f0b7a11","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"` + tn.alice.ID + `","pattern":"[domain-name:value = 'a.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","created_by_ref":"identity--00000000-0000-4000-8000-000000000000"}`)
	proto := json.RawMessage(`{"type":"indicator","spec_version":"2.1","id":"indicator--2b1c4b9e-9b0a-4c55-8d6e-2b1f5f0b7a11","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'b.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}`)
	page, _ := json.Marshal(map[string]any{"more": false, "objects": []json.RawMessage{later, revoked, claimed, dup, proto, vendor}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Write(page)
	}))
	defer srv.Close()
	f, err := tn.AddFeed(ctx, FeedSpec{Name: "hostile", URL: srv.URL + "/api/", Collection: "c", Into: "hostile"})
	if err != nil {
		t.Fatal(err)
	}
	f, err = feed.Poll(ctx, tn.FeedStore(), tn.FeedSink(), f, tn.now, nil)
	t.Logf("round: added %d existing %d failed %d last_failure %q err %v", f.Added, f.Existing, f.Failed, f.LastFailure, err)
	// Alice's object, in her collection, is hers and unchanged.
	p, err := tn.store.Objects(ctx, store.Query{Collection: tn.shared, IDs: []string{id}, Versions: []store.VersionSelector{{Kind: "all"}}, Limit: 10})
	if err != nil || len(p.Objects) != 1 || p.Objects[0].Member != tn.alice.ID || strings.Contains(string(p.Objects[0].Raw), "2099") {
		t.Fatalf("alice's object in her collection: %+v, %v", p, err)
	}
	// Whatever the feed stored is the feed's.
	p, err = tn.store.Objects(ctx, store.Query{Collection: f.Into, Versions: []store.VersionSelector{{Kind: "all"}}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range p.Objects {
		t.Logf("feed stored %s %s by %s", o.ID, o.Version, o.Member)
		if o.Member != f.Member {
			t.Errorf("the feed's collection holds %s as %s's", o.ID, o.Member)
		}
	}
	if err != nil || f.Added != 1 || f.Failed != 5 || len(p.Objects) != 1 || p.Objects[0].ID != idOf(t, vendor) {
		t.Fatalf("round: %+v, %v; stored %d", f.FeedPosition, err, len(p.Objects))
	}
}

// TestFeedRelaysMemberObjectFirst: a feed's server serves an object
// alice signed (as another node she shares with serves it) before alice
// shares it here: the feed's unsigned copy is refused, naming alice. It
// was stored, the feed the id's owner, and alice's own signed object was
// then refused for ever ("this id belongs to the member who created its
// first version").
func TestFeedRelaysMemberObjectFirst(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	mine := indicator(t, tn.alice.ID, tn.alice.Key, t0)
	page, _ := json.Marshal(map[string]any{"more": false, "objects": []json.RawMessage{mine}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Write(page)
	}))
	defer srv.Close()
	f, err := tn.AddFeed(ctx, FeedSpec{Name: "first", URL: srv.URL + "/api/", Collection: "c", Into: "first"})
	if err != nil {
		t.Fatal(err)
	}
	f, err = feed.Poll(ctx, tn.FeedStore(), tn.FeedSink(), f, tn.now, nil)
	if err != nil || f.Failed != 1 || !strings.Contains(f.LastFailure, "created_by_ref names the member alice") {
		t.Fatalf("round: %+v, %v", f.FeedPosition, err)
	}
	st := post(t, tn.alice.Client, tn.shared, mine)
	if st.SuccessCount != 1 {
		t.Fatalf("alice shares her own object after the feed relayed it: %+v", st)
	}
}

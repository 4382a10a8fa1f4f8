package node

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// TestStatusNamesNoHiddenMember: the status of a submission that uses
// the id of another member (an identity object under its id, or an
// unsigned object naming it in created_by_ref in a relay collection)
// names that member only to a submitter that is shown it in the member
// lists. A feed's member, which only the readers of the collection it
// fills are shown (store.ListedMembers), is "another member" to the
// others: its name is the operator's, often the title of that collection,
// and its id is in clear in the log (its registration), so alice could
// otherwise post under each keyless id there and read the names back.
func TestStatusNamesNoHiddenMember(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	const secret = "operation-nightjar-red"
	if _, err := tn.AddFeed(ctx, FeedSpec{Name: secret, URL: "http://127.0.0.1:9/taxii2/api/", Collection: "c1",
		Into: secret, Readers: []string{"bob"}}); err != nil {
		t.Fatal(err)
	}
	fs, err := tn.store.Feeds(ctx)
	if err != nil || len(fs) != 1 {
		t.Fatalf("feeds: %v %v", fs, err)
	}
	feedMember := fs[0].Member
	relay, err := tn.CreateCollection(ctx, CollectionSpec{Title: "relay", Readers: []string{"alice", "bob"}, Writers: []string{"alice", "bob"},
		Signatures: store.SignaturesOptional, Relay: true})
	if err != nil {
		t.Fatal(err)
	}
	ident := func(m testMember) map[string]any {
		return map[string]any{"type": "identity", "spec_version": "2.1", "id": feedMember, "created_by_ref": m.ID,
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "x", "identity_class": "organization"}
	}
	unsigned := map[string]any{"type": "indicator", "spec_version": "2.1", "id": "indicator--3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b0a",
		"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "created_by_ref": feedMember,
		"name": "x", "pattern": "[domain-name:value = 'x.example']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}
	for _, tc := range []struct {
		who   testMember
		shown bool
	}{{tn.alice, false}, {tn.bob, true}} {
		st := post(t, tc.who.Client, relay, object(t, tc.who.Key, ident(tc.who)), object(t, nil, unsigned))
		if st.FailureCount != 2 {
			t.Fatalf("%s: want both refused: %+v", tc.who.ID, st)
		}
		for _, f := range st.Failures {
			if named := strings.Contains(f.Message, secret); named != tc.shown {
				t.Errorf("a member shown the feed's member %v, named in the status %v: %s", tc.shown, named, f.Message)
			}
			if !strings.Contains(f.Message, "member") {
				t.Errorf("the status doesn't say the id is a member's: %s", f.Message)
			}
		}
	}
}

package node

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
)

// TestCanWriteNeedsSigningKey: can_write says whether the requester can
// write (TAXII 2.1 section 5.2). Carol, a writer with no signing key in
// force, can't write to a collection that requires signatures (each
// object would be refused), so it says false there, in the list and in
// the collection resource, and her POST is a 403 that says why; in a
// collection with optional signatures she can write, and alice, with a
// key, can write to both.
func TestCanWriteNeedsSigningKey(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	req, err := tn.AddCollection(ctx, "signed", "", []string{"alice", "carol"}, []string{"alice", "carol"}, store.SignaturesRequired)
	if err != nil {
		t.Fatal(err)
	}
	canWrite := func(c *taxii.Client, id string) (list, one bool) {
		t.Helper()
		cs, err := c.Collections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, x := range cs {
			if x.ID == id {
				list, found = x.CanWrite, true
			}
		}
		if !found {
			t.Fatalf("collection %s not listed", id)
		}
		x, err := c.Collection(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return list, x.CanWrite
	}
	for _, tc := range []struct {
		who  string
		c    *taxii.Client
		coll string
		want bool
	}{
		{"carol (no key), required", tn.carol.Client, req, false},
		{"carol (no key), optional", tn.carol.Client, tn.optional, true},
		{"alice (key), required", tn.alice.Client, req, true},
		{"alice (key), optional", tn.alice.Client, tn.optional, true},
	} {
		list, one := canWrite(tc.c, tc.coll)
		if list != tc.want || one != tc.want {
			t.Errorf("%s: can_write %v in the list, %v in the collection, want %v", tc.who, list, one, tc.want)
		}
	}
	_, err = tn.carol.Client.AddObjects(ctx, req, []json.RawMessage{json.RawMessage(`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern":"[ipv4-addr:value = '192.0.2.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","created_by_ref":"` + tn.carol.ID + `"}`)})
	if !errors.Is(err, taxii.ErrForbidden) || !strings.Contains(err.Error(), "no signing key") {
		t.Errorf("carol's post to the signed collection: %v, want 403 saying she has no signing key", err)
	}
	st := post(t, tn.alice.Client, req, indicator(t, tn.alice.ID, tn.alice.Key, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	if st.SuccessCount != 1 {
		t.Errorf("alice's post: %+v", st)
	}
}

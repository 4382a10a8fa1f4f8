package node

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// revokeWhileLogObjectsStore is the node's real store, on which the
// operator takes member's read of collection once the first object of a
// GET /log/objects has been handed to the handler: while the answer
// streams.
type revokeWhileLogObjectsStore struct {
	store.Store
	once               sync.Once
	collection, member string
	err                error
}

func (s *revokeWhileLogObjectsStore) LogObjects(ctx context.Context, start, end int64, collections []string, fn func(int64, tlog.Opening, []byte) error) error {
	return s.Store.LogObjects(ctx, start, end, collections, func(i int64, op tlog.Opening, raw []byte) error {
		err := fn(i, op, raw)
		s.once.Do(func() { s.err = s.Store.RevokeAccess(ctx, s.collection, s.member, true, false) })
		return err
	})
}

// TestLogObjectsStreamReadTakenWhileSent: GET /log/objects writes up to
// MaxLogObjectsBytes as the store reads it, a write timeout for each
// write, so a member reading slowly holds it open for long. The
// member's read of the collection is taken while it streams: the
// objects after that point are not sent (the lists are read again every
// heldRecheck), as a TAXII page or a held request answers what the
// member would get if it asked now.
func TestLogObjectsStreamReadTakenWhileSent(t *testing.T) {
	defer func(d time.Duration) { heldRecheck = d }(heldRecheck)
	heldRecheck = time.Nanosecond // at every object
	fn := newFrontNode(t, nil)
	c := &taxii.Client{BaseURL: fn.srv.URL, Token: fn.alice.Token}
	for i := range 3 {
		post(t, c, fn.coll, indicator(t, fn.alice.ID, fn.key, t0.Add(time.Duration(i)*time.Second)))
	}
	wrapped := &revokeWhileLogObjectsStore{Store: fn.store, collection: fn.coll, member: fn.alice.ID}
	fn.store = wrapped
	resp, body := fn.do(t, http.MethodGet, "/log/objects?start=0&end=1000", "Bearer "+fn.alice.Token, nil)
	if wrapped.err != nil {
		t.Fatal(wrapped.err)
	}
	var out struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Fatalf("GET /log/objects: %s %s", resp.Status, body)
	}
	if len(out.Objects) != 1 {
		t.Errorf("GET /log/objects, alice's read taken after its first object: %d objects sent, want 1:\n%s", len(out.Objects), body)
	}
}

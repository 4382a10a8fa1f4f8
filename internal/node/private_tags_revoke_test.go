package node

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/private"
)

// revokeOnTagsStore is the node's real store, on which the operator
// takes member's read of collection (once armed) as the second page of a
// set's tags is read: after the stream began.
type revokeOnTagsStore struct {
	store.Store
	armed              atomic.Bool
	once               sync.Once
	collection, member string
	err                error
}

func (s *revokeOnTagsStore) PrivateSetTagsAfter(ctx context.Context, id string, after []byte, limit int) ([][]byte, error) {
	if after != nil && s.armed.Load() {
		s.once.Do(func() { s.err = s.Store.RevokeAccess(ctx, s.collection, s.member, true, false) })
	}
	return s.Store.PrivateSetTagsAfter(ctx, id, after, limit)
}

// TestPrivateTagsStreamEndsAtRevocation: GET /private/sets/{id}/tags
// streams a set's tags page by page, each page with a write timeout of
// its own, so a member reading slowly holds the stream for as long as the
// set is large. The member's read of the set's collection is taken while
// it streams: the stream ends there (aborted, so that the part isn't
// taken for the whole), rather than going on with tags read from the
// store after the revocation (a refresh may add tags meanwhile).
func TestPrivateTagsStreamEndsAtRevocation(t *testing.T) {
	ctx := context.Background()
	var wrapped *revokeOnTagsStore
	tn := newTestNodeOver(t, func(s store.Store) store.Store {
		wrapped = &revokeOnTagsStore{Store: s}
		return wrapped
	})
	defer func(p int) { tagsPage = p }(tagsPage)
	tagsPage = 1
	set, err := (&private.Client{BaseURL: tn.URL, Token: tn.alice.Token}).Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("stream", 4)})
	if err != nil {
		t.Fatal(err)
	}
	wrapped.collection, wrapped.member = tn.shared, tn.bob.ID
	wrapped.armed.Store(true)
	a := <-getHeld(tn.URL, "/private/sets/"+set.ID+"/tags", tn.bob)
	if wrapped.err != nil {
		t.Fatal(wrapped.err)
	}
	// Aborted, or (the client retries a GET whose reused connection
	// broke before any byte of its answer came) 404 from the retry.
	if a.err == nil && a.code == http.StatusOK {
		t.Errorf("bob's tags, his read taken while they streamed: %d bytes (%d tags) and a complete answer; want the stream aborted", len(a.body), len(a.body)/private.TagSize)
	}
	if a.code == http.StatusOK && len(a.body) > private.TagSize {
		t.Errorf("bob's tags, his read taken while they streamed: %d tags read and sent after the revocation", len(a.body)/private.TagSize-1)
	}
	if a.code != http.StatusOK && a.code != http.StatusNotFound {
		t.Errorf("bob's tags, his read taken while they streamed: %d %v %q", a.code, a.err, a.body)
	}
}

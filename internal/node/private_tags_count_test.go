package node

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/private"
)

// countSetReadsStore is the node's real store, counting (once armed) its
// reads of a whole private set: each counts the set's tags.
type countSetReadsStore struct {
	store.Store
	armed atomic.Bool
	reads atomic.Int64
}

func (s *countSetReadsStore) PrivateSet(ctx context.Context, id string) (store.PrivateSet, error) {
	if s.armed.Load() {
		s.reads.Add(1)
	}
	return s.Store.PrivateSet(ctx, id)
}

// TestPrivateTagsStreamReadsSetOnce: GET /private/sets/{id}/tags checks,
// before each page after the first, that the member still reads the set
// (privateAPI.stillReadable). That check decides from the set's owner and
// the member's access alone: reading the set itself counts all its tags,
// so one read a page would make streaming a set cost the square of its
// size.
func TestPrivateTagsStreamReadsSetOnce(t *testing.T) {
	ctx := context.Background()
	var wrapped *countSetReadsStore
	tn := newTestNodeOver(t, func(s store.Store) store.Store {
		wrapped = &countSetReadsStore{Store: s}
		return wrapped
	})
	defer func(p int) { tagsPage = p }(tagsPage)
	tagsPage = 1
	const n = 12
	set, err := (&private.Client{BaseURL: tn.URL, Token: tn.alice.Token}).Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("count", n)})
	if err != nil {
		t.Fatal(err)
	}
	wrapped.armed.Store(true)
	a := <-getHeld(tn.URL, "/private/sets/"+set.ID+"/tags", tn.bob)
	if a.err != nil || a.code != http.StatusOK || len(a.body) != n*private.TagSize {
		t.Fatalf("bob's tags: %d %v, %d bytes; want %d tags", a.code, a.err, len(a.body), n)
	}
	// The first check reads the set (readableSet, for its id); the refresh
	// may read it again. Not once a page.
	if got := wrapped.reads.Load(); got > 3 {
		t.Errorf("streaming %d tags a page at a time read the whole set %d times; want at most 3, whatever its size", n, got)
	}
}

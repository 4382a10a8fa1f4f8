package tlog

import (
	"context"
	"errors"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// countingNode is a fakeNode that counts the entry bundles and hash
// tiles it serves.
type countingNode struct {
	*fakeNode
	bundles, tiles atomic.Int64
}

func (n *countingNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/log/tile/entries/"):
		n.bundles.Add(1)
	case strings.HasPrefix(r.URL.Path, "/log/tile/"):
		n.tiles.Add(1)
	}
	n.fakeNode.ServeHTTP(w, r)
}

// TestObjectVerifierBoundedCache: an ObjectVerifier proving a whole
// collection page by page, as parley pull --proofs does, holds a bounded
// number of entry bundles and hash tiles whatever the log's size, and
// reads each bundle and hash tile once: the cache fits the access pattern (pages in log
// order, each spanning more bundles than the cache holds; within a page,
// any order). At a million entries pull held 1,024
// bundles (about 40 MB) and 256 hash tiles (4 MB), read once and kept.
func TestObjectVerifierBoundedCache(t *testing.T) {
	const (
		held      = 16 // entry bundles an ObjectVerifier may hold
		tilesHeld = 32 // hash tiles
	)
	ctx := context.Background()
	for _, bundles := range []int{20, 100} {
		l := newTestLog(t, 0)
		for range bundles*TileWidth - 1 {
			l.addObject(t, nil) // unsigned: the entries are what is read
		}
		l.checkpoint(t)
		n := &countingNode{fakeNode: &fakeNode{l: l}}
		srv := httptest.NewServer(n)
		defer srv.Close()
		c := &Client{URL: srv.URL + "/", Token: testToken, HTTP: srv.Client()}
		v := &ObjectVerifier{Log: c, Key: l.verifier, Proofs: true}
		rng := rand.New(rand.NewSource(1))
		maxHeld, maxTiles := 0, 0
		// The collection is every fifth entry (the others are other
		// collections'): a page of 1,000 objects spans about 20 bundles.
		var coll []VerifyItem
		for i := 1; i < len(l.leaves); i += 5 {
			coll = append(coll, VerifyItem{Object: l.objects[i], LogIndex: uint64(i), Opening: l.openings[i]})
		}
		for first := 0; first < len(coll); first += 1000 {
			items := append([]VerifyItem(nil), coll[first:min(first+1000, len(coll))]...)
			// Within a page, in any order.
			rng.Shuffle(len(items), func(a, b int) { items[a], items[b] = items[b], items[a] })
			res, err := v.Verify(ctx, items)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Err != nil && !errors.Is(r.Err, ErrUnsignedObject) {
					t.Fatalf("%d bundles: entry %d: %v", bundles, items[i].LogIndex, r.Err)
				}
			}
			maxHeld = max(maxHeld, len(v.bundles))
			maxTiles = max(maxTiles, v.tiles.len())
		}
		if maxHeld > held {
			t.Errorf("a log of %d entry bundles: the verifier held up to %d bundles, want at most %d whatever the log's size", bundles, maxHeld, held)
		}
		if maxTiles > tilesHeld {
			t.Errorf("a log of %d entry bundles: the verifier held up to %d hash tiles, want at most %d whatever the log's size", bundles, maxTiles, tilesHeld)
		}
		if got := n.bundles.Load(); got != int64(bundles) {
			t.Errorf("a log of %d entry bundles: %d bundles read, want each once", bundles, got)
		}
		// Each hash tile once: one a bundle at level 0, one above (the
		// tree is under 65,536 entries), none read again.
		if got := n.tiles.Load(); got != int64(bundles)+1 {
			t.Errorf("a log of %d entry bundles: %d hash tiles read, want each once (%d)", bundles, got, bundles+1)
		}
		t.Logf("%d entries: %d bundles read, at most %d held; %d hash tiles read, at most %d held", len(l.leaves), n.bundles.Load(), maxHeld, n.tiles.Load(), maxTiles)
	}
}

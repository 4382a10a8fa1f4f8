package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// fixture opens a store in a fresh schema with member alice and a
// collection she reads and writes.
func fixture(t *testing.T) (*Store, store.Member, string) {
	t.Helper()
	return fixtureAt(t, testURL(t))
}

// fixtureAt is [fixture] in the schema of url.
func fixtureAt(t *testing.T, url string) (*Store, store.Member, string) {
	t.Helper()
	ctx := context.Background()
	s := openTest(t, url, Options{})
	alice := store.Member{ID: "identity--a", Name: "alice", Identity: []byte("{}")}
	if err := s.AddMember(ctx, alice); err != nil {
		t.Fatal(err)
	}
	c := store.Collection{ID: "c", Title: "c", Readers: []string{alice.ID}, Writers: []string{alice.ID}}
	if err := s.AddCollection(ctx, c); err != nil {
		t.Fatal(err)
	}
	return s, alice, c.ID
}

// TestIntegratorsTakeTurns: integrators on two pools (two nodes) that
// both start from an empty tree, at once, never both succeed.
func TestIntegratorsTakeTurns(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	stores := []*Store{openTest(t, u, Options{}), openTest(t, u, Options{})}
	h := bytes.Repeat([]byte{1}, tlog.HashSize)
	// Both integrate under one fence (as a front end that lost the lease
	// without knowing it would, until the fence changes): the row lock
	// alone must keep them from both succeeding.
	fence, ok, err := stores[0].AcquireLease(ctx, store.IntegratorLease, "t", time.Hour)
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	for round := range 5 {
		from := int64(round * 2)
		errs := make(chan error, 2)
		for i, s := range stores {
			go func() {
				size := from + 1 + int64(i)
				tile := tlog.Tile{Level: 0, N: 0, Width: int(size)}
				errs <- s.Integrate(ctx, fence, from, size, map[tlog.Tile][]byte{tile: bytes.Repeat(h, int(size))}, fmt.Appendf(nil, "note %d", size))
			}()
		}
		var ok, conflicts int
		for range stores {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Fatal(err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d integrations succeeded and %d conflicted, want 1 and 1", round, ok, conflicts)
		}
		// The next round starts from whichever won.
		size, _, err := stores[0].LatestCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if size != from+1 && size != from+2 {
			t.Fatalf("round %d: checkpoint %d", round, size)
		}
		if size == from+1 {
			// Bring the tree to from+2 for the next round.
			tile := tlog.Tile{Level: 0, N: 0, Width: int(from + 2)}
			if err := stores[0].Integrate(ctx, fence, size, from+2, map[tlog.Tile][]byte{tile: bytes.Repeat(h, int(from+2))}, []byte("catch up")); err != nil {
				t.Fatal(err)
			}
		}
	}
}

package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// countCosigned counts the store's look-ups of cosigned checkpoints.
type countCosigned struct {
	store.Store
	calls int
}

// errLooping stops a caller that asks the store without end.
var errLooping = errors.New("more than 1,000 look-ups of cosigned checkpoints")

func (c *countCosigned) CosignedCheckpointAtMost(ctx context.Context, size int64) (int64, []byte, error) {
	c.calls++
	if c.calls > 1000 {
		return 0, nil, errLooping
	}
	return c.Store.CosignedCheckpointAtMost(ctx, size)
}

func (c *countCosigned) CosignedCheckpoints(ctx context.Context, start, end int64, limit int, fn func(int64, []byte) error) error {
	c.calls++
	return c.Store.CosignedCheckpoints(ctx, start, end, limit, fn)
}

// TestWitnessedForStretches: the witnessed checkpoints of a bundle of
// every entry of a log, given in any order, are those that asking the
// store for each entry's two checkpoints gives, and the store is asked
// once per stretch between cosigned checkpoints, not twice an entry.
func TestWitnessedForStretches(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	_, _, post1 := serveWitnessed(t, n)
	var sizes []int64
	for range 14 {
		post1()
		sizes = append(sizes, waitIntegratedNode(t, n))
	}
	cosigned := []int64{sizes[2], sizes[5], sizes[6], sizes[10]}
	for _, s := range cosigned {
		if err := n.store.PutCosignedCheckpoint(ctx, s, fmt.Appendf(nil, "cosigned note of size %d\n", s)); err != nil {
			t.Fatal(err)
		}
	}
	size := sizes[len(sizes)-1]
	hr := hashReader(size, n.store, nil)

	// What asking for each index gives.
	want := func(indexes []int64) []tlog.WitnessedCheckpoint {
		notes := map[int64][]byte{}
		for _, i := range indexes {
			s, note, err := n.store.CosignedCheckpointAtMost(ctx, i)
			if err == nil && s > 0 {
				notes[s] = note
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if err := n.store.CosignedCheckpoints(ctx, i+1, size, 1, func(s int64, note []byte) error { notes[s] = note; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		var out []tlog.WitnessedCheckpoint
		for _, s := range slices.Sorted(func(yield func(int64) bool) {
			for s := range notes {
				if !yield(s) {
					return
				}
			}
		}) {
			p, err := tlog.ConsistencyProof(ctx, uint64(s), uint64(size), hr)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tlog.WitnessedCheckpoint{Checkpoint: string(notes[s]), Consistency: p})
		}
		return out
	}
	all := make([]int64, size)
	for i := range all {
		all[i] = int64(i)
	}
	for _, tc := range []struct {
		name     string
		indexes  []int64
		maxCalls int
	}{
		{"every entry, shuffled", shuffled(all), 2 * (len(cosigned) + 1)},
		{"one stretch", []int64{sizes[3], sizes[4], sizes[3]}, 2},
		{"after the last cosigned", []int64{size - 1, sizes[11]}, 2},
		{"before the first", []int64{0, 1}, 2},
		// Not the tree's (a caller's slip): asked about once, not forever.
		{"beyond the tree", []int64{size - 1, size, size + 5}, 6},
	} {
		c := &countCosigned{Store: n.store}
		got, err := witnessedFor(ctx, c, size, hr, tc.indexes)
		if err != nil {
			t.Fatal(err)
		}
		if w := want(tc.indexes); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: witnessed checkpoints\n%v\nwant\n%v", tc.name, got, w)
		}
		if c.calls > tc.maxCalls {
			t.Errorf("%s: %d look-ups of cosigned checkpoints for %d indexes, want at most %d", tc.name, c.calls, len(tc.indexes), tc.maxCalls)
		}
	}
}

func shuffled(s []int64) []int64 {
	s = slices.Clone(s)
	rand.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

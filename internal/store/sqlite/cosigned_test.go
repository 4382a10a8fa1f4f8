package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// Cosigned checkpoints are kept beside the plain ones, only for a size the
// log has a checkpoint of, replaced by a later note of the same size, and
// never change the plain checkpoints.
func TestCosignedCheckpoints(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fence, ok, err := s.AcquireLease(ctx, store.IntegratorLease, "test", time.Hour)
	if err != nil || !ok {
		t.Fatal(err)
	}
	if err := s.PutCosignedCheckpoint(ctx, 3, []byte("note 3\n— w1 x\n")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("cosigned note of a size with no checkpoint: %v", err)
	}
	if _, err := s.CosignedCheckpoint(ctx, 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("nothing stored: %v", err)
	}
	h := bytes.Repeat([]byte{1}, tlog.HashSize)
	if err := s.Integrate(ctx, fence, 0, 1, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 1}: h}, []byte("note 1")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"note 1\n— w1 a\n", "note 1\n— w1 a\n— w2 b\n"} {
		if err := s.PutCosignedCheckpoint(ctx, 1, []byte(n)); err != nil {
			t.Fatal(err)
		}
		got, err := s.CosignedCheckpoint(ctx, 1)
		if err != nil || string(got) != n {
			t.Fatalf("cosigned note %q, %v; want %q", got, err, n)
		}
	}
	if _, note, err := s.LatestCheckpoint(ctx); err != nil || string(note) != "note 1" {
		t.Fatalf("the plain checkpoint changed: %q %v", note, err)
	}
	s.Close()
	// durable across reopening
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.CosignedCheckpoint(ctx, 1); err != nil || string(got) != "note 1\n— w1 a\n— w2 b\n" {
		t.Fatalf("after reopening: %q %v", got, err)
	}
}

// The cosigned checkpoints are listed by size, and the one at or below a
// size is found.
func TestCosignedCheckpointsList(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fence, ok, err := s.AcquireLease(ctx, store.IntegratorLease, "test", time.Hour)
	if err != nil || !ok {
		t.Fatal(err)
	}
	h := bytes.Repeat([]byte{1}, tlog.HashSize)
	for size := int64(1); size <= 4; size++ {
		tile := map[tlog.Tile][]byte{{Level: 0, N: 0, Width: int(size)}: bytes.Repeat(h, int(size))}
		if err := s.Integrate(ctx, fence, size-1, size, tile, []byte(fmt.Sprintf("note %d", size))); err != nil {
			t.Fatal(err)
		}
	}
	for _, size := range []int64{1, 3, 4} {
		if err := s.PutCosignedCheckpoint(ctx, size, []byte(fmt.Sprintf("note %d\n— w\n", size))); err != nil {
			t.Fatal(err)
		}
	}
	list := func(start, end int64, limit int) []int64 {
		var out []int64
		err := s.CosignedCheckpoints(ctx, start, end, limit, func(size int64, note []byte) error {
			if want := fmt.Sprintf("note %d\n— w\n", size); string(note) != want {
				t.Fatalf("size %d: note %q, want %q", size, note, want)
			}
			out = append(out, size)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		start, end int64
		limit      int
		want       []int64
	}{
		{0, 100, 0, []int64{1, 3, 4}},
		{2, 100, 0, []int64{3, 4}},
		{2, 100, 1, []int64{3}},
		{0, 4, 0, []int64{1, 3}},
		{5, 100, 0, nil},
	}
	for _, tc := range tests {
		if got := list(tc.start, tc.end, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("CosignedCheckpoints(%d, %d, %d) = %v, want %v", tc.start, tc.end, tc.limit, got, tc.want)
		}
	}
	for at, want := range map[int64]int64{1: 1, 2: 1, 3: 3, 9: 4} {
		if size, note, err := s.CosignedCheckpointAtMost(ctx, at); err != nil || size != want || string(note) != fmt.Sprintf("note %d\n— w\n", want) {
			t.Errorf("CosignedCheckpointAtMost(%d) = %d %q %v, want %d", at, size, note, err, want)
		}
	}
	if _, _, err := s.CosignedCheckpointAtMost(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CosignedCheckpointAtMost(0): %v", err)
	}
}

package postgres

import (
	"bytes"
	"context"
	"errors"
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
	url := testURL(t)
	s := openTest(t, url, Options{})
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
	if _, _, err := s.LatestCheckpointTime(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestCheckpointTime before the first checkpoint: %v", err)
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
	if size, at, err := s.LatestCheckpointTime(ctx); err != nil || size != 1 || time.Since(at) > time.Minute || time.Since(at) < 0 {
		t.Fatalf("LatestCheckpointTime = %d, %v, %v", size, at, err)
	}
	if _, note, err := s.LatestCheckpoint(ctx); err != nil || string(note) != "note 1" {
		t.Fatalf("the plain checkpoint changed: %q %v", note, err)
	}
	if _, err := s.CosignedCheckpoint(ctx, 2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another size: %v", err)
	}
	s.Close()
	// Durable across reopening (another pool).
	s = openTest(t, url, Options{})
	if got, err := s.CosignedCheckpoint(ctx, 1); err != nil || string(got) != "note 1\n— w1 a\n— w2 b\n" {
		t.Fatalf("after reopening: %q %v", got, err)
	}
}

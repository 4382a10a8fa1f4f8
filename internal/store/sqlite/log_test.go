package sqlite

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// TestLogStore checks the integrator's storage contract: tiles kept at
// their widest and served as prefixes, checkpoints by size, and Integrate
// refusing to interleave with another integrator.
func TestLogStore(t *testing.T) {
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
	if _, _, err := s.LatestCheckpoint(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("fresh store checkpoint: %v", err)
	}
	h := func(b byte) []byte { return bytes.Repeat([]byte{b}, tlog.HashSize) }
	t3 := tlog.Tile{Level: 0, N: 0, Width: 3}
	if err := s.Integrate(ctx, fence, 0, 3, map[tlog.Tile][]byte{t3: append(append(h(1), h(2)...), h(3)...)}, []byte("note 3")); err != nil {
		t.Fatal(err)
	}
	// Another integrator that still thinks the log is empty is refused,
	// and changes nothing.
	if err := s.Integrate(ctx, fence, 0, 2, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 2}: append(h(9), h(9)...)}, []byte("note 2")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("interleaved integration: %v", err)
	}
	t5 := tlog.Tile{Level: 0, N: 0, Width: 5}
	if err := s.Integrate(ctx, fence, 3, 5, map[tlog.Tile][]byte{t5: bytes.Join([][]byte{h(1), h(2), h(3), h(4), h(5)}, nil)}, []byte("note 5")); err != nil {
		t.Fatal(err)
	}
	// A narrower write never replaces a wider tile.
	if err := s.Integrate(ctx, fence, 5, 5, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 2}: append(h(7), h(7)...)}, []byte("same size")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ReadTile(ctx, tlog.Tile{Level: 0, N: 0, Width: 2})
	if err != nil || !bytes.Equal(got, append(h(1), h(2)...)) {
		t.Fatalf("prefix of the stored tile: %x %v", got, err)
	}
	if _, err := s.ReadTile(ctx, tlog.Tile{Level: 0, N: 0, Width: 6}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("wider than stored: %v", err)
	}
	if _, err := s.ReadTile(ctx, tlog.Tile{Level: 1, N: 0, Width: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing level: %v", err)
	}
	size, note, err := s.LatestCheckpoint(ctx)
	if err != nil || size != 5 || string(note) != "note 5" {
		t.Fatalf("latest %d %q %v", size, note, err)
	}
	all, err := s.Checkpoints(ctx)
	if err != nil || len(all) != 2 || string(all[0]) != "note 3" {
		t.Fatalf("checkpoints %q %v", all, err)
	}
	if err := s.Integrate(ctx, fence, 5, 6, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 6}: h(1)}, []byte("x")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("tile of the wrong length: %v", err)
	}
	if size, _, _ := s.LatestCheckpoint(ctx); size != 5 {
		t.Fatalf("a refused integration changed the checkpoint: %d", size)
	}
}

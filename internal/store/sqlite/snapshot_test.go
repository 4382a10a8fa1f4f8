package sqlite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// TestSnapshotWhileWriting: snapshots taken while a writer keeps adding
// tokens are each a consistent prefix (every token of a committed batch or
// none), files of mode 0600, and the read pool is query_only afterwards.
func TestSnapshotWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := store.Member{ID: "identity--a", Name: "a", Identity: []byte(`{}`)}
	if err := s.AddMember(ctx, m); err != nil {
		t.Fatal(err)
	}
	// Each batch adds two tokens in one transaction (ReplaceTokens
	// deletes and inserts), so a snapshot that holds a partial batch would
	// show zero or two tokens of the member, never another count.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	var batches atomic.Int64
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if _, err := s.ReplaceTokens(ctx, store.Token{Hash: sha256.Sum256(fmt.Appendf(nil, "t%d", i)), Member: m.ID}); err != nil {
				t.Error(err)
				return
			}
			batches.Add(1)
		}
	}()
	for i := range 5 {
		path := filepath.Join(dir, fmt.Sprintf("snap%d.db", i))
		if err := s.Snapshot(ctx, path); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != FileMode {
			t.Errorf("snapshot mode %o, want %o", fi.Mode().Perm(), FileMode)
		}
		c, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := c.r.QueryRowContext(ctx, `SELECT count(*) FROM tokens WHERE member = ?`, m.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if n != 1 && !(n == 0 && i == 0) {
			t.Errorf("snapshot %d holds %d tokens of the member, want 1", i, n)
		}
	}
	stop.Store(true)
	wg.Wait()
	if batches.Load() == 0 {
		t.Fatal("the writer made no progress while snapshots ran")
	}
	// The snapshot must not leave a writable connection in the read pool.
	for range 8 {
		if _, err := s.r.ExecContext(ctx, `DELETE FROM tokens`); err == nil {
			t.Fatal("a read connection wrote after Snapshot")
		}
	}
	// An existing file is never overwritten.
	if err := s.Snapshot(ctx, filepath.Join(dir, "snap0.db")); err == nil {
		t.Error("Snapshot over an existing file succeeded")
	}
}

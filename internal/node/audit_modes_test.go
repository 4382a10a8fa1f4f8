package node

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
)

// TestAuditLeavesModes: an audit of a node's store (parley audit --data)
// only reads it, so it leaves its files' modes as the operator set them
// (here 0640, for a group that takes backups), where opening the store
// to serve it tightens them to 0600.
func TestAuditLeavesModes(t *testing.T) {
	onlySQLite(t)
	tn := newTestNode(t)
	ctx := context.Background()
	postEach(t, tn, 2)
	waitIntegrated(t, tn)
	dir := tn.Dir()
	var files []string
	for _, suffix := range []string{"", "-wal", "-shm"} {
		p := filepath.Join(dir, StoreFile+suffix)
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Chmod(p, 0o640); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	src, _, closeStore, err := OpenStoreAudit(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.LogSize(ctx); err != nil {
		t.Fatal(err)
	}
	if err := closeStore(); err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o640 {
			t.Errorf("after the audit %s has mode %o, want 0640 as it was", filepath.Base(p), got)
		}
	}
}

// TestAuditSmallCache: an audit of a node's store reads it once through,
// so its connections keep SQLite's small page cache (2 MiB), not the
// node's 64 MiB each, which the audit filled as it read: parley audit
// --data grew from 121 MB at 150,000 entries to 241 MB at 320,000.
func TestAuditSmallCache(t *testing.T) {
	onlySQLite(t)
	tn := newTestNode(t)
	ctx := context.Background()
	postEach(t, tn, 2)
	waitIntegrated(t, tn)
	cacheOf := func(st store.Store) int {
		t.Helper()
		w, r := st.(*sqlite.Store).DB()
		var wc, rc int
		if err := w.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&wc); err != nil {
			t.Fatal(err)
		}
		if err := r.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&rc); err != nil {
			t.Fatal(err)
		}
		if wc != rc {
			t.Errorf("the writer's cache is %d, the readers' %d", wc, rc)
		}
		return rc
	}
	if got := cacheOf(tn.store); got != -64<<10 {
		t.Errorf("the node's store: cache_size %d, want %d (64 MiB)", got, -64<<10)
	}
	src, _, closeStore, err := OpenStoreAudit(ctx, tn.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	if got := cacheOf(src.st); got != -auditCacheKiB {
		t.Errorf("the audited store: cache_size %d, want %d (2 MiB)", got, -auditCacheKiB)
	}
}

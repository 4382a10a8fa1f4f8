package node

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
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

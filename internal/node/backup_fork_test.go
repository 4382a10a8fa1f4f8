package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// growNode adds a member to the stopped node in dir and integrates its
// log: one more entry, its checkpoint signed.
func growNode(t *testing.T, dir, member string) {
	t.Helper()
	ctx := context.Background()
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.AddMember(ctx, member, nil); err != nil {
		t.Fatal(err)
	}
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	li.release(ctx)
}

// TestRestoreRefusesFork: a backup restored with Force over the node
// whose newest checkpoint is of the same size as the backup's, but of
// another log (the backup is of a copy of the node that went on apart: a
// fork), is refused, nothing written: the sizes alone would let it
// through, the roots tell.
func TestRestoreRefusesFork(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	dir, out := backupNode(t)
	fork := filepath.Join(t.TempDir(), "fork")
	if _, err := Restore(ctx, out, fork, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	growNode(t, dir, "carol")
	growNode(t, fork, "dave")
	forked := filepath.Join(t.TempDir(), "fork.backup")
	if _, err := Backup(ctx, fork, forked, BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Restore(ctx, forked, dir, RestoreOptions{Force: true})
	if !errors.Is(err, ErrRestoreRefused) {
		t.Fatalf("Restore of a fork of the same size over the node = %v (replaced %+v), want it refused", err, rep.Replaced)
	}
	t.Logf("refused: %v", err)
	if after, err := os.ReadFile(filepath.Join(dir, StoreFile)); err != nil || string(after) != string(before) {
		t.Fatalf("a refused restore changed the store (%v)", err)
	}
	// The fork's own backup over the fork is no rollback.
	if _, err := Restore(ctx, forked, fork, RestoreOptions{Force: true}); err != nil {
		t.Fatalf("Restore over the node it was made of = %v", err)
	}
}

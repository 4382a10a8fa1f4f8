//go:build linux

package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBackupOutOnFullDisk: a backup whose --out is on a full filesystem
// fails with an error that names --out and its directory (the snapshot is
// written there), not one that reads as if the node's store were full,
// and leaves nothing there. It needs a small real filesystem: a 64 KiB
// tmpfs, which only root may mount; otherwise it skips, saying so.
func TestBackupOutOnFullDisk(t *testing.T) {
	dir, _ := backupNode(t)
	small := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(small, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", small, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("SKIPPED: couldn't mount a small tmpfs (%v); run as root to check a backup onto a full disk", err)
	}
	t.Cleanup(func() { syscall.Unmount(small, 0) })
	out := filepath.Join(small, "node.backup")
	_, err := Backup(context.Background(), dir, out, BackupOptions{})
	if err == nil {
		t.Fatal("a backup onto a 64 KiB filesystem succeeded")
	}
	if !strings.Contains(err.Error(), "couldn't back up to "+out) || !strings.Contains(err.Error(), small) {
		t.Errorf("the error doesn't name the backup's path: %v", err)
	}
	left, _ := os.ReadDir(small)
	if len(left) != 0 {
		t.Errorf("left behind on the full disk: %v", left)
	}
}

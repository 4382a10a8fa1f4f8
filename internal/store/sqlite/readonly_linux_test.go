//go:build linux

package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// readOnlyDir makes dir read-only for this process: a read-only bind
// mount of it on itself as root (who ignores permissions), its mode 0500
// otherwise. It skips the test, saying why, where neither is possible.
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return
	}
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("SKIPPED: root without mount permission (%v): can't make a read-only directory", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("SKIPPED: couldn't remount %s read-only (%v)", dir, err)
	}
}

// TestOpenReadOnlyDirectory: a store whose directory is read-only (a
// read-only mount, chmod a-w) can't be opened for a node, and the error
// names the database and says that its directory can't be written to,
// not only SQLite's "unable to open database file".
func TestOpenReadOnlyDirectory(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "node")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path + "-wal", path + "-shm"} {
		os.Remove(p)
	}
	readOnlyDir(t, dir)
	s, err = Open(ctx, path, Options{})
	if err == nil {
		s.Close()
		t.Fatal("a store in a read-only directory opened")
	}
	msg := err.Error()
	if !strings.Contains(msg, path) || !strings.Contains(msg, "the directory "+dir+" can't be written to") {
		t.Errorf("the error doesn't name the store and its read-only directory: %v", err)
	}
}

// TestOpenFullDisk: a store on a full filesystem, whose -wal and -shm
// files can be created but not written (SQLite says "disk I/O error"),
// fails to open with an error that says the disk is full; it opens again,
// with its data, once space is back. It needs a small real filesystem, a
// 2 MiB tmpfs that only root may mount; otherwise it skips, saying so.
// (A new store's migrations leave about 1 MB of WAL when it opens: with
// migration 877 that no longer fitted in 1 MiB.)
func TestOpenFullDisk(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("SKIPPED: couldn't mount a small tmpfs (%v); run as root to check a store on a full disk", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	path := filepath.Join(dir, "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	f.Close()
	s, err = Open(ctx, path, Options{})
	if err == nil {
		s.Close()
		t.Skip("SKIPPED: the store opened on a full tmpfs; nothing to check")
	}
	if !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), path) {
		t.Errorf("the error doesn't say the disk is full: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("once space is back: %v", err)
	}
	s.Close()
}

// TestCheckWritableReadOnlyCopy: a store copied with the -wal and -shm a
// running (or crashed) node leaves, into a directory this process may only
// read, opens (SQLite falls back to reading); CheckWritable says it can't
// be written, where the first write would otherwise be the first sign.
func TestCheckWritableReadOnlyCopy(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckWritable(ctx); err != nil {
		t.Fatalf("a writable store: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "copy")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(src + suffix)
		if err != nil {
			t.Fatalf("the open store has no %s file: %v", suffix, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "parley.db"+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	readOnlyDir(t, dir)
	c, err := Open(ctx, filepath.Join(dir, "parley.db"), Options{})
	if err != nil {
		t.Skipf("SKIPPED: a read-only copy doesn't open here (%v), so there is nothing to check", err)
	}
	defer c.Close()
	if err := c.CheckWritable(ctx); err == nil || !strings.Contains(err.Error(), "can't be written") {
		t.Fatalf("CheckWritable of a read-only copy: %v", err)
	}
}

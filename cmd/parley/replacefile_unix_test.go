//go:build unix

package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPendingFileUnix: a FIFO is written through, not replaced; the
// replaced file keeps its owner and group; a link of another user in a
// sticky directory that others can write (a planted /tmp link) is not
// followed.
func TestPendingFileUnix(t *testing.T) {
	dir := t.TempDir()

	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		got := make(chan string, 1)
		go func() {
			f, err := os.Open(fifo)
			if err != nil {
				got <- err.Error()
				return
			}
			b, _ := io.ReadAll(f)
			f.Close()
			got <- string(b)
		}()
		if err := replaceFile(fifo, []byte("through the pipe")); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != "through the pipe" {
			t.Errorf("the FIFO's reader got %q", s)
		}
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
		}
	})

	if os.Geteuid() != 0 {
		t.Skip("the owner cases need root (CI runs as root)")
	}

	t.Run("owner", func(t *testing.T) {
		name := filepath.Join(dir, "intel.dat")
		if err := os.WriteFile(name, []byte("old"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(name, 4321, 4322); err != nil {
			t.Fatal(err)
		}
		if err := replaceFile(name, []byte("new")); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if uid, gid, _ := fileOwner(fi); uid != 4321 || gid != 4322 || fi.Mode().Perm() != 0o640 {
			t.Errorf("replaced file: owner %d:%d mode %v, want 4321:4322 0640", uid, gid, fi.Mode())
		}
	})

	t.Run("planted link", func(t *testing.T) {
		shared := filepath.Join(dir, "tmp")
		if err := os.Mkdir(shared, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
		victim := filepath.Join(dir, "victim")
		if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(shared, "intel.dat")
		if err := os.Symlink(victim, link); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(link, 4321, 4321); err != nil {
			t.Fatal(err)
		}
		err := replaceFile(link, []byte("export"))
		if err == nil || !strings.Contains(err.Error(), "not following") {
			t.Errorf("a planted link was followed: %v", err)
		}
		if got := readString(t, victim); got != "precious" {
			t.Errorf("the link's target now reads %q", got)
		}
		// The same link made by this process is followed.
		if err := os.Lchown(link, os.Geteuid(), os.Getegid()); err != nil {
			t.Fatal(err)
		}
		if err := replaceFile(link, []byte("export")); err != nil {
			t.Fatal(err)
		}
		if got := readString(t, victim); got != "export" {
			t.Errorf("own link: the target reads %q", got)
		}
	})
}

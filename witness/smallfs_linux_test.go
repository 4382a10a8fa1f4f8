//go:build linux

package witness

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// smallFS mounts a 1 MiB tmpfs for the test and returns its directory;
// only root may mount one, so otherwise the test skips, saying what it
// would have checked (what).
func smallFS(t *testing.T, what string) string {
	t.Helper()
	small := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(small, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", small, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("SKIPPED: couldn't mount a small tmpfs (%v); run as root to check %s", err, what)
	}
	t.Cleanup(func() { syscall.Unmount(small, 0) })
	return small
}

// fillFS writes a file in dir until its filesystem is full (ENOSPC) and
// returns the file's path; removing it gives the space back.
func fillFS(t *testing.T, dir string) string {
	t.Helper()
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return filler
		}
	}
}

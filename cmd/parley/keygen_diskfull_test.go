package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestKeygenDiskFull: keygen on a full disk (the key file, its .pub or the
// rotation statement can be created but not written) exits 3, naming the
// file, and leaves none of the new files behind, so that the same command
// works once space is back instead of refusing a half-written key as
// existing. The write failure is injected (ENOSPC on the chosen file).
func TestKeygenDiskFull(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.key")
	if code, _, stderr := runCLI(t, "keygen", "--out", old); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	saved := writeNewData
	defer func() { writeNewData = saved }()
	for _, failing := range []string{".key", ".key.pub", ".key.rotation"} {
		t.Run(failing, func(t *testing.T) {
			writeNewData = func(f *os.File, b []byte) (int, error) {
				if strings.HasSuffix(f.Name(), failing) {
					return 0, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
				}
				return saved(f, b)
			}
			out := filepath.Join(dir, "new"+strings.TrimPrefix(failing, ".key")+".key")
			code, _, stderr := runCLI(t, "keygen", "--out", out, "--rotate", old)
			if code != 3 || !strings.Contains(stderr, "no space left on device") || !strings.Contains(stderr, out) {
				t.Errorf("keygen on a full disk: exit %d: %s", code, stderr)
			}
			for _, p := range []string{out, out + ".pub", out + ".rotation"} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s was left behind", p)
				}
			}
			writeNewData = saved
			if code, _, stderr := runCLI(t, "keygen", "--out", out, "--rotate", old); code != 0 {
				t.Errorf("keygen once space is back: exit %d: %s", code, stderr)
			}
		})
	}
}

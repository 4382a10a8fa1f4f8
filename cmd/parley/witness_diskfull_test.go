package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWitnessInitDiskFull: witness init whose witness.vkey can't be
// written (a full disk after the key was written) exits 3 and leaves
// neither the key nor an empty witness.vkey, so that init works in the
// same directory once space is back and prints the verifier key. The
// write failure is injected (ENOSPC).
func TestWitnessInitDiskFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	saved := writeWitnessVKey
	defer func() { writeWitnessVKey = saved }()
	writeWitnessVKey = func(name string, b []byte, mode os.FileMode) error {
		os.WriteFile(name, nil, mode) // created, then no space for the content
		return &os.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}
	}
	code, _, stderr := runCLI(t, "witness", "init", "--data", dir, "--name", "witness.example/full")
	if code != 3 || !strings.Contains(stderr, "no space left on device") {
		t.Errorf("witness init on a full disk: exit %d: %s", code, stderr)
	}
	for _, name := range []string{"witness.key", "witness.vkey"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s was left behind", name)
		}
	}
	writeWitnessVKey = saved
	code, stdout, stderr := runCLI(t, "witness", "init", "--data", dir, "--name", "witness.example/full")
	if code != 0 || !strings.HasPrefix(stdout, "witness.example/full+") {
		t.Fatalf("witness init once space is back: exit %d: %s%s", code, stdout, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "witness.vkey")); err != nil || string(b) != stdout {
		t.Errorf("witness.vkey = %q, %v; printed %q", b, err, stdout)
	}
}

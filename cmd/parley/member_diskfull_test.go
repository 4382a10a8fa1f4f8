package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMemberTokenOutDiskFull: on a full disk a new token file can be
// created (an inode) but not written. member add --token-out must then
// fail before it adds the member, leave no file behind, and succeed for
// the same name once space is back; member token --rotate must not
// revoke the member's token. The write failure is injected (ENOSPC on
// every token file write).
func TestMemberTokenOutDiskFull(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	first := filepath.Join(dir, "first.json")
	if code, _, stderr := runCLI(t, "member", "add", "--data", data, "--name", "first", "--token-out", first); code != 0 {
		t.Fatalf("member add: exit %d: %s", code, stderr)
	}

	full := func(*os.File, []byte, int64) (int, error) {
		return 0, &os.PathError{Op: "write", Path: "token", Err: syscall.ENOSPC}
	}
	saved := writeTokenFileAt
	writeTokenFileAt = full
	defer func() { writeTokenFileAt = saved }()

	out := filepath.Join(dir, "bob.json")
	code, _, stderr := runCLI(t, "member", "add", "--data", data, "--name", "bob", "--token-out", out)
	if code != 3 || !strings.Contains(stderr, "no space left on device") {
		t.Errorf("member add on a full disk: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a token file was left behind: %v", err)
	}
	rot := filepath.Join(dir, "rot.json")
	code, _, stderr = runCLI(t, "member", "token", "--data", data, "--member", "first", "--rotate", "--token-out", rot)
	if code != 3 {
		t.Errorf("member token --rotate on a full disk: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(rot); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a token file was left behind: %v", err)
	}

	// Space is back: bob was not added, so adding him works, and first's
	// token was not revoked by the failed rotation.
	writeTokenFileAt = saved
	if code, _, stderr := runCLI(t, "member", "add", "--data", data, "--name", "bob", "--token-out", out); code != 0 {
		t.Errorf("member add once space is back: exit %d: %s (the failed attempt added the member)", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), `"token":"parley_`) || strings.ContainsRune(string(b), ' ') {
		t.Errorf("token file %q: %v", b, err)
	}
}

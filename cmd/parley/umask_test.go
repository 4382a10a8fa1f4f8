//go:build unix

package main

import (
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSecretFilesUnderUmaskZero: with umask 0, which masks nothing, every
// file that holds a secret is created 0600 and every directory made for
// them 0700, so none has a looser mode even for a moment: the node's data
// directory (node.key, config.json, the store), a member's key, a
// witness's directory and key, a member's token file, a backup archive and a restored node.
func TestSecretFilesUnderUmaskZero(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	node := filepath.Join(dir, "node")
	run := func(args ...string) {
		t.Helper()
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("parley %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
	}
	run("init", "--data", node)
	run("keygen", "--out", filepath.Join(dir, "member.key"))
	run("member", "add", "--data", node, "--name", "alice", "--pubkey", filepath.Join(dir, "member.key.pub"), "--token-out", filepath.Join(dir, "alice.json"))
	run("member", "token", "--data", node, "--member", "alice", "--rotate", "--token-out", filepath.Join(dir, "alice2.json"))
	run("witness", "init", "--data", filepath.Join(dir, "witness"), "--name", "witness.example/w1")
	run("backup", "--data", node, "--out", filepath.Join(dir, "node.tar.gz"))
	run("restore", "--data", filepath.Join(dir, "restored"), "--from", filepath.Join(dir, "node.tar.gz"))

	public := map[string]bool{"member.key.pub": true, "witness.vkey": true}
	checked := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if public[d.Name()] {
			return nil
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 12 {
		t.Errorf("checked %d files, fewer than were made", checked)
	}
}

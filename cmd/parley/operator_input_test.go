package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
)

// TestRestoreBadBackupWritesNothing restores backups that can't be used:
// missing, not a backup, cut short. Each exits with a sentence that
// names the problem and the hint that nothing was written, and the data
// directory, absent before, is absent after. Before, the directory was
// left behind (empty, mode 0700), a missing backup was a runtime failure
// (exit 3), and a truncated one said "couldn't unpack parley.db: unexpected
// EOF" (exit 3, no hint).
func TestRestoreBadBackupWritesNothing(t *testing.T) {
	work := t.TempDir()
	nodeDir := filepath.Join(work, "node")
	if code, _, stderr := runCLI(t, "init", "--data", nodeDir); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	good := filepath.Join(work, "good.tar.gz")
	if code, _, stderr := runCLI(t, "backup", "--data", nodeDir, "--out", good); code != 0 {
		t.Fatalf("backup: %s", stderr)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, from string
		code       int
		stderr     []string
	}{
		{"missing", filepath.Join(work, "nonexistent.tar.gz"), 2, []string{"couldn't open the backup", "no such file", "nothing was written to"}},
		{"not a backup", write("junk", []byte("junk\n")), 1, []string{"is not a parley backup", "nothing was written to"}},
		{"cut short", write("short.tar.gz", b[:len(b)*2/3]), 1, []string{"is cut short or damaged", "nothing was written to"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "restored")
			code, _, stderr := runCLI(t, "restore", "--data", dir, "--from", tc.from)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, stderr)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the refused restore left %s (%v)", dir, err)
			}
		})
	}
}

// TestInitBadOrigin: an origin that can't name a note key (a space, a
// '+', a line break) is refused as bad input, and nothing is created.
// Before, init made the node and printed its verifier key, and the node
// then never opened ("couldn't parse the node key: malformed verifier
// id").
func TestInitBadOrigin(t *testing.T) {
	for _, origin := range []string{"my log", "parley.example/a+b", "log\nx", "tab\there"} {
		t.Run(origin, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "node")
			code, stdout, stderr := runCLI(t, "init", "--data", dir, "--origin", origin)
			if code != 2 || !strings.Contains(stderr, "no spaces and no '+'") {
				t.Errorf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the refused init left %s (%v)", dir, err)
			}
		})
	}
	dir := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", dir, "--origin", "parley.example.org/log"); code != 0 {
		t.Fatalf("a good origin: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "member", "add", "--data", dir, "--name", "alice"); code != 0 {
		t.Errorf("the node doesn't open: %s", stderr)
	}
}

// TestOperatorBadInput: the operator's commands refuse bad input with
// exit 2 (not 3, a runtime failure) and a sentence, and change nothing.
func TestOperatorBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", dir); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "member", "add", "--data", dir, "--name", "alice"); code != 0 {
		t.Fatalf("member add: %s", stderr)
	}
	pub := filepath.Join(t.TempDir(), "k")
	if code, _, stderr := runCLI(t, "keygen", "--out", pub); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	pub += ".pub"
	if code, _, stderr := runCLI(t, "member", "add", "--data", dir, "--name", "bob", "--pubkey", pub); code != 0 {
		t.Fatalf("member add: %s", stderr)
	}
	code, intel, stderr := runCLI(t, "collection", "add", "--data", dir, "--title", "intel", "--read", "alice", "--write", "alice")
	if code != 0 {
		t.Fatalf("collection add: %s", stderr)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		// A second "intel" would make the title ambiguous for good
		// (collections are never removed).
		{"collection title taken", []string{"collection", "add", "--data", dir, "--title", "intel", "--read", "alice", "--write", "alice"}, `a collection titled "intel" exists (` + strings.TrimSpace(intel) + ")"},
		// Without a statement, no hint about one (checked below).
		{"rotate to the key in force", []string{"member", "key", "rotate", "--data", dir, "--member", "bob", "--pubkey", pub}, "rotates to the key already in force"},
		{"blank collection title", []string{"collection", "add", "--data", dir, "--title", "  ", "--read", "alice", "--write", "alice"}, "the title is empty"},
		{"collection reader unknown", []string{"collection", "add", "--data", dir, "--title", "t", "--read", "alice,nobody", "--write", "alice"}, `"nobody": not found`},
		{"blank member name", []string{"member", "add", "--data", dir, "--name", " "}, "the name is empty"},
		{"member name taken", []string{"member", "add", "--data", dir, "--name", "alice"}, `a member named "alice" exists`},
		// A key belongs to one member: the refusal says so, not that the
		// new name is taken, and a rotation to it is bad input too.
		{"member key taken", []string{"member", "add", "--data", dir, "--name", "carol", "--pubkey", pub}, "a key belongs to one member"},
		{"rotate to another member's key", []string{"member", "key", "rotate", "--data", dir, "--member", "alice", "--pubkey", pub}, "a key belongs to one member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.stderr) || strings.Contains(stderr, "statement must be signed") {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q, and no hint about a statement", code, stdout, stderr, tc.stderr)
			}
		})
	}
	n, err := node.Open(context.Background(), dir, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if cs, err := n.Store().Collections(context.Background()); err != nil || len(cs) != 1 {
		t.Errorf("collections after the refusals: %d (%v), want intel alone", len(cs), err)
	}
}

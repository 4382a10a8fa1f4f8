package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMemberTokenOut: member add and member token --rotate with
// --token-out write the token file (mode 0600, the form --token-file
// reads) and keep the token off stdout; an existing file or one that
// can't be created is refused before anything changes on the node.
func TestMemberTokenOut(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	readToken := func(name string) (id, token string) {
		t.Helper()
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode())
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ ID, Token string }
		if err := json.Unmarshal(b, &m); err != nil || !strings.HasPrefix(m.Token, "parley_") || !strings.HasPrefix(m.ID, "identity--") {
			t.Fatalf("token file %q: %v", b, err)
		}
		return m.ID, m.Token
	}

	alice := filepath.Join(dir, "alice.json")
	code, stdout, stderr := runCLI(t, "member", "add", "--data", data, "--name", "alice", "--token-out", alice)
	if code != 0 {
		t.Fatalf("member add --token-out: exit %d: %s", code, stderr)
	}
	id, tok := readToken(alice)
	if strings.Contains(stdout+stderr, tok) || strings.Contains(stdout+stderr, "parley_") {
		t.Errorf("the token was printed:\nstdout: %s\nstderr: %s", stdout, stderr)
	}
	if !strings.Contains(stdout, id) || !strings.Contains(stdout, "written to "+alice) {
		t.Errorf("stdout does not name the member and the file:\n%s", stdout)
	}

	// Refused before the member is made: an existing file (alice's) and a
	// file in a missing directory. bob can be added afterwards, so neither
	// attempt made him.
	before, _ := os.ReadFile(alice)
	code, _, stderr = runCLI(t, "member", "add", "--data", data, "--name", "bob", "--token-out", alice)
	if code != 2 || !strings.Contains(stderr, "never overwrites") {
		t.Errorf("--token-out over an existing file: exit %d: %s", code, stderr)
	}
	if after, _ := os.ReadFile(alice); string(after) != string(before) {
		t.Errorf("alice's token file changed: %q", after)
	}
	code, _, stderr = runCLI(t, "member", "add", "--data", data, "--name", "bob", "--token-out", filepath.Join(dir, "missing", "bob.json"))
	if code != 3 {
		t.Errorf("--token-out in a missing directory: exit %d: %s", code, stderr)
	}
	bob := filepath.Join(dir, "bob.json")
	if code, _, stderr := runCLI(t, "member", "add", "--data", data, "--name", "bob", "--token-out", bob); code != 0 {
		t.Fatalf("bob after the refused attempts: exit %d: %s", code, stderr)
	}
	readToken(bob)

	if code, _, stderr := runCLI(t, "member", "add", "--data", data, "--name", "carol", "--json", "--token-out", filepath.Join(dir, "carol.json")); code != 2 {
		t.Errorf("--json with --token-out: exit %d: %s", code, stderr)
	}

	// A name taken: refused, and the file made for it is gone.
	dup := filepath.Join(dir, "alice-again.json")
	if code, _, stderr := runCLI(t, "member", "add", "--data", data, "--name", "alice", "--token-out", dup); code != 2 {
		t.Errorf("a second alice: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(dup); err == nil {
		t.Errorf("a refused member add left its token file")
	}

	// Rotation: a new file with a new token.
	alice2 := filepath.Join(dir, "alice2.json")
	code, stdout, stderr = runCLI(t, "member", "token", "--data", data, "--member", "alice", "--rotate", "--token-out", alice2)
	if code != 0 {
		t.Fatalf("member token --rotate --token-out: exit %d: %s", code, stderr)
	}
	id2, tok2 := readToken(alice2)
	if id2 != id || tok2 == tok || strings.Contains(stdout+stderr, "parley_") {
		t.Errorf("rotation: id %s (want %s), same token %v, printed: %s %s", id2, id, tok2 == tok, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "member", "token", "--data", data, "--member", "alice", "--revoke", "--token-out", filepath.Join(dir, "x.json")); code != 2 {
		t.Errorf("--revoke with --token-out: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.json")); err == nil {
		t.Errorf("--revoke --token-out made a file")
	}
}

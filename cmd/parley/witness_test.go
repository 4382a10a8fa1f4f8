package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/mod/sumdb/note"
)

// waitWitness implements the script command
// `waitwitness URL_FILE VKEY_FILE SIZE OUT`: it waits up to 30 s until the
// witness at the URL in URL_FILE serves (monitor retrieval) a checkpoint of
// the log with the key in VKEY_FILE of at least SIZE entries, verified by
// that key, and writes it to OUT.
func waitWitness(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: waitwitness URL_FILE VKEY_FILE SIZE OUT")
	}
	vkey := strings.TrimSpace(ts.ReadFile(args[1]))
	want, err := strconv.ParseUint(args[2], 10, 64)
	ts.Check(err)
	v, err := tlog.NewVerifier(vkey)
	ts.Check(err)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The URL file appears once the witness listens.
		var n []byte
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		if err == nil {
			c := &witness.Client{URL: strings.TrimSpace(string(b))}
			n, err = c.Checkpoint(context.Background(), v.Name())
		}
		if err == nil {
			if cp, err := tlog.OpenCheckpoint(n, v); err == nil && cp.Size >= want {
				ts.Check(os.WriteFile(ts.MkAbs(args[3]), n, 0o644))
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("the witness has no checkpoint of size %d after 30s (last error: %v)", want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEvidence implements `waitevidence DIR VAR`: it waits up to 30 s for a
// file in the witness directory DIR's evidence/ and sets VAR to its path.
func waitEvidence(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitevidence DIR VAR")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), "evidence", "*.json"))
		if len(m) > 0 {
			ts.Setenv(args[1], m[0])
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no evidence in %s after 30s", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestParsePull(t *testing.T) {
	_, vkey, err := tlog.NewNodeKey(bytes.NewReader(make([]byte, 64)), "node.example/log")
	if err != nil {
		t.Fatal(err)
	}
	_, eqKey, _ := tlog.NewNodeKey(bytes.NewReader(make([]byte, 64)), "a=b")
	for _, tc := range []struct {
		in, url, vkey string
	}{
		{"http://127.0.0.1:8080=" + vkey, "http://127.0.0.1:8080", vkey},
		{"https://node.example/p?x=1=" + vkey, "https://node.example/p?x=1", vkey},
		{"https://node.example=" + eqKey, "https://node.example", eqKey},
		{"https://node.example", "", ""},
		{"node.example=" + vkey, "", ""},
		{"https://node.example=nope", "", ""},
	} {
		got, err := parsePull(tc.in)
		if (err == nil) != (tc.url != "") || got.url != tc.url || got.vkey != tc.vkey {
			t.Errorf("parsePull(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

// TestVerifyEvidenceCLI runs `parley verify` on evidence: exit 0 with one
// line when it proves a fork under the pinned key; 1 when the key is
// another's or the evidence was changed.
func TestVerifyEvidenceCLI(t *testing.T) {
	skey, vkey, err := tlog.NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{1}, 64)), "node.example/log")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := tlog.NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{2}, 64)), "node.example/log")
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(root string) []byte {
		b, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "node.example/log", Size: 2, Hash: sha256.Sum256([]byte(root))}, s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ev, err := tlog.NewEvidence(vkey, sign("a"), sign("b"), tlog.Hash{}, nil, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "ev.json")
	os.WriteFile(good, ev, 0o644)
	var e tlog.Evidence
	json.Unmarshal(ev, &e)
	e.Checkpoints[1] = string(sign("a"))
	same, _ := json.Marshal(e)
	sameFile := filepath.Join(dir, "same.json")
	os.WriteFile(sameFile, same, 0o644)

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"proves the fork", []string{"verify", "--log-key", vkey, good}, 0, "evidence verified: the log's key signed inconsistent histories: log node.example/log signed two checkpoints of size 2"},
		{"flags after the file", []string{"verify", good, "--log-key", vkey}, 0, "evidence verified"},
		{"another log's key", []string{"verify", "--log-key", otherKey, good}, 1, ""},
		{"two equal checkpoints", []string{"verify", "--log-key", vkey, sameFile}, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
			code := c.main(context.Background(), tc.args)
			if code != tc.code || !strings.Contains(out.String(), tc.stdout) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d with %q", code, out.String(), errb.String(), tc.code, tc.stdout)
			}
			if code == 0 && strings.Count(out.String(), "\n") != 1 {
				t.Fatalf("not one line: %q", out.String())
			}
			if code == 1 && !strings.Contains(errb.String(), "parley: error:") {
				t.Fatalf("no error on stderr: %q", errb.String())
			}
		})
	}
}

func TestPolicyFlags(t *testing.T) {
	_, w1, _ := tlog.NewCosignerKey(bytes.NewReader(bytes.Repeat([]byte{1}, 64)), "w1.example")
	_, w2, _ := tlog.NewCosignerKey(bytes.NewReader(bytes.Repeat([]byte{2}, 64)), "w2.example")
	dir := t.TempDir()
	good := filepath.Join(dir, "policy")
	os.WriteFile(good, []byte("witness a "+w1+"\nwitness b "+w2+"\ngroup g any a b\nquorum g\n"), 0o644)
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("witness a "+w1+"\n"), 0o644)
	for _, tc := range []struct {
		name   string
		args   []string
		quorum string // the policy's canonical quorum line, "" for no policy
		code   int    // exit code of the error, 0 for none
	}{
		{"none", nil, "", 0},
		{"file", []string{"--witness-policy", good}, "quorum g\n", 0},
		{"shorthand, default all", []string{"--witness", w1, "--witness", w2}, "group 2-of-2 2 w1.example w2.example\nquorum 2-of-2\n", 0},
		{"shorthand, one of two", []string{"--witness", w1, "--witness", w2, "--witness-quorum", "1"}, "group 1-of-2 1 w1.example w2.example\nquorum 1-of-2\n", 0},
		{"both", []string{"--witness-policy", good, "--witness", w1}, "", 2},
		{"quorum too big", []string{"--witness", w1, "--witness-quorum", "2"}, "", 2},
		{"quorum alone", []string{"--witness-quorum", "1"}, "", 2},
		{"bad file", []string{"--witness-policy", bad}, "", 2},
		{"missing file", []string{"--witness-policy", filepath.Join(dir, "nope")}, "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cli{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
			fs := c.newFlagSet("test")
			pf := addPolicyFlags(fs)
			if err := c.parseFlags(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			pol, err := pf.policy()
			if exitCode(err) != tc.code {
				t.Fatalf("exit %d (%v), want %d", exitCode(err), err, tc.code)
			}
			switch {
			case tc.quorum == "" && pol != nil:
				t.Fatalf("a policy from %v", tc.args)
			case tc.quorum != "" && (pol == nil || !strings.HasSuffix(pol.String(), tc.quorum)):
				t.Fatalf("policy %v, want one ending %q", pol, tc.quorum)
			}
		})
	}
	// A checkpoint without cosignatures fails the quorum with exit 1.
	pol, _ := tlog.NewWitnessPolicy([]string{w1}, 1)
	skey, _, _ := tlog.NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{3}, 64)), "node.example/log")
	s, _ := note.NewSigner(skey)
	cp, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "node.example/log", Size: 1, Hash: tlog.EmptyRoot()}, s)
	if _, err := checkQuorum(pol, cp); exitCode(err) != 1 {
		t.Fatalf("uncosigned checkpoint: %v", err)
	}
	if cos, err := checkQuorum(nil, cp); err != nil || cos != nil {
		t.Fatalf("no policy: %v", err)
	}
}

// TestWitnessInitFiles checks what `parley witness init` leaves: the
// directory 0700, the key 0600 and readable as a cosigner key whose
// verifier key is the one printed.
func TestWitnessInitFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := c.main(context.Background(), []string{"witness", "init", "--data", dir, "--name", "witness.example/w1"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for name, want := range map[string]os.FileMode{"": 0o700, witnessKeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Join(dir, name), fi.Mode().Perm(), want)
		}
	}
	skey, _ := os.ReadFile(filepath.Join(dir, witnessKeyFile))
	cos, err := tlog.ParseCosignerKey(string(skey), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != cos.VerifierKey() {
		t.Fatalf("printed %q, key file's verifier key %q", got, cos.VerifierKey())
	}
	if code := c.main(context.Background(), []string{"witness", "init", "--data", dir, "--name", "a b"}); code != 2 {
		t.Fatalf("bad name: exit %d", code)
	}
}

// TestPolicyFlagsHelpAndHints checks what the witness policy flags tell a
// user: --help gives --witness-quorum's default as all the --witness keys
// (not the -1 that stands for it inside), and a malformed --witness key
// gets a hint about the key, not about the quorum.
func TestPolicyFlagsHelpAndHints(t *testing.T) {
	for _, cmd := range []string{"audit", "proof", "verify", "pull", "concurrence"} {
		code, stdout, _ := runCLI(t, cmd, "--help")
		if code != 0 || !strings.Contains(stdout, "-witness-quorum") {
			t.Fatalf("%s --help: exit %d, no --witness-quorum:\n%s", cmd, code, stdout)
		}
		_, after, _ := strings.Cut(stdout, "-witness-quorum")
		if line, _, _ := strings.Cut(strings.TrimPrefix(after, strings.SplitN(after, "\n", 2)[0]+"\n"), "\n"); !strings.Contains(line, "default all") || strings.Contains(line, "(default") {
			t.Errorf("%s --help gives --witness-quorum's default as %q; want only \"default all\"", cmd, line)
		}
	}
	_, w1, _ := tlog.NewCosignerKey(bytes.NewReader(bytes.Repeat([]byte{1}, 64)), "w1.example")
	name, rest, _ := strings.Cut(w1, "+")
	_, key, _ := strings.Cut(rest, "+")
	badID := name + "+00000000+" + key
	hint := func(args ...string) (int, string) {
		c := &cli{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
		fs := c.newFlagSet("test")
		pf := addPolicyFlags(fs)
		if err := c.parseFlags(fs, args); err != nil {
			t.Fatal(err)
		}
		_, err := pf.policy()
		var ee *exitError
		if !errors.As(err, &ee) {
			t.Fatalf("%v: %v, want an exit error", args, err)
		}
		return ee.code, ee.hint
	}
	if code, h := hint("--witness", badID); code != 2 || strings.Contains(h, "quorum") || !strings.Contains(h, "witness init") {
		t.Errorf("a malformed --witness key: exit %d, hint %q; want 2 and a hint about the key", code, h)
	}
	for _, q := range []string{"0", "2"} {
		if code, h := hint("--witness", w1, "--witness-quorum", q); code != 2 || !strings.Contains(h, "--witness-quorum") {
			t.Errorf("--witness-quorum %s of 1 key: exit %d, hint %q; want 2 and a hint about the quorum", q, code, h)
		}
	}
}

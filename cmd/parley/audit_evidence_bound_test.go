package main

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/tlog"
)

// signedForks writes n pieces of split-view evidence beside seen, each of
// another fork (two checkpoints of one size, sizes from first on, roots
// of root), signed by signer for origin, and returns the error of the
// first write that failed.
func signedForks(signer note.Signer, vkey, origin, seen, root string, first, n int) error {
	for i := range n {
		var notes [][]byte
		for _, side := range []string{"a", "b"} {
			cp := tlog.Checkpoint{Origin: origin, Size: uint64(first + i), Hash: tlog.LeafHash([]byte(root + side + strconv.Itoa(i)))}
			b, err := tlog.SignCheckpoint(cp, signer)
			if err != nil {
				return err
			}
			notes = append(notes, b)
		}
		ev, err := tlog.NewEvidence(vkey, notes[0], notes[1], tlog.Hash{}, nil, "", "")
		if err != nil {
			return err
		}
		if _, err := writeEvidence(seen, ev, "test", time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// countEvidence is how many <seen>.evidence-<n>.json files there are.
func countEvidence(t testing.TB, seen string) int {
	files, err := filepath.Glob(seen + ".evidence-*.json")
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

// TestWriteEvidenceBounded: a node that forks at every audit adds no
// more than maxSeenEvidence evidence files beside a seen file; the first
// ones are kept, one fork seen again (under other extension lines too)
// stays one file, and another log's evidence has a bound of its own.
func TestWriteEvidenceBounded(t *testing.T) {
	skey, vkey, err := tlog.NewNodeKey(rand.Reader, "log.example/a")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(t.TempDir(), "seen")
	if err := signedForks(signer, vkey, "log.example/a", seen, "x", 1, maxSeenEvidence); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(seen + ".evidence-1.json")
	if err != nil {
		t.Fatal(err)
	}
	err = signedForks(signer, vkey, "log.example/a", seen, "y", 100, 5)
	if !errors.Is(err, errEvidenceKept) {
		t.Errorf("evidence of fork %d written: %v", maxSeenEvidence+1, err)
	}
	if n := countEvidence(t, seen); n != maxSeenEvidence {
		t.Errorf("%d evidence files, want %d", n, maxSeenEvidence)
	}
	if b, _ := os.ReadFile(seen + ".evidence-1.json"); string(b) != string(first) {
		t.Errorf("the first evidence file was replaced")
	}
	// The first fork again, signed with an extension line: its file.
	var notes [][]byte
	for _, side := range []string{"a", "b"} {
		cp := tlog.Checkpoint{Origin: "log.example/a", Size: 1, Hash: tlog.LeafHash([]byte("x" + side + "0")), Extensions: []string{"ext.example/x 1"}}
		b, err := tlog.SignCheckpoint(cp, signer)
		if err != nil {
			t.Fatal(err)
		}
		notes = append(notes, b)
	}
	ev, err := tlog.NewEvidence(vkey, notes[0], notes[1], tlog.Hash{}, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if path, err := writeEvidence(seen, ev, "test", time.Now()); err != nil || path != seen+".evidence-1.json" {
		t.Errorf("the first fork under an extension line: %q, %v; want its file", path, err)
	}
	// Another log beside the same seen file has its own bound.
	skey2, vkey2, err := tlog.NewNodeKey(rand.Reader, "log.example/b")
	if err != nil {
		t.Fatal(err)
	}
	signer2, err := note.NewSigner(skey2)
	if err != nil {
		t.Fatal(err)
	}
	if err := signedForks(signer2, vkey2, "log.example/b", seen, "z", 1, 1); err != nil {
		t.Errorf("the other log's first fork: %v", err)
	}
	if n := countEvidence(t, seen); n != maxSeenEvidence+1 {
		t.Errorf("%d evidence files, want %d", n, maxSeenEvidence+1)
	}
}

// fillEvidence implements the script command `fillevidence SEEN NODEDIR
// N`: it writes N pieces of split-view evidence of made-up forks, signed
// with the node's key, beside the seen file SEEN, as audits of a node that
// forked N times before would have.
func fillEvidence(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: fillevidence SEEN NODEDIR N")
	}
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	dir := ts.MkAbs(args[1])
	signer, err := note.NewSigner(strings.TrimSpace(ts.ReadFile(filepath.Join(dir, node.KeyFile))))
	ts.Check(err)
	vkey := strings.TrimSpace(ts.ReadFile(filepath.Join(dir, node.PubKeyFile)))
	origin, _, _ := strings.Cut(vkey, "+")
	ts.Check(signedForks(signer, vkey, origin, ts.MkAbs(args[0]), "made-up", 1000, n))
}

// evidenceCount implements the script command `evidencecount SEEN N`:
// it fails unless there are N evidence files beside the seen file SEEN.
func evidenceCount(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: evidencecount SEEN N")
	}
	files, err := filepath.Glob(ts.MkAbs(args[0]) + ".evidence-*.json")
	ts.Check(err)
	if got := strconv.Itoa(len(files)); (got == args[1]) == neg {
		ts.Fatalf("%s evidence files beside %s (want %s%s)", got, args[0], map[bool]string{true: "not "}[neg], args[1])
	}
}

package tlog

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSeenFloodOfOneCheckpoint: a node that serves one checkpoint (its
// log quiet, or at a fork) as a new note at each pull or audit, each of
// the same origin, size and root (another extension line each time, or
// the same note with 99 lines of keys no one knows, which can't be
// merged and is recorded beside), had every one kept: thinning kept every
// note of the largest size, and every note of the first fork's, so the
// file grew past what LoadSeen reads and every later command refused the
// member's own seen file (exit 3). Notes that repeat another's origin,
// size and root may now be thinned like any other, and the file stays
// readable, with the latest checkpoint and the fork's evidence.
func TestSeenFloodOfOneCheckpoint(t *testing.T) {
	old := MaxSeenNotes
	MaxSeenNotes = 16
	defer func() { MaxSeenNotes = old }()
	l := newTestLog(t, 1)
	sign := func(size uint64, root byte, ext ...string) []byte {
		t.Helper()
		n, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: size, Hash: Hash{root}, Extensions: ext}, l.signer)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name string
		// before are recorded first, then note(i) for each i.
		before []string
		note   func(i int) []byte
		// kept must be in the file at the end.
		kept []string
	}{
		{
			name:   "extension lines",
			before: []string{string(sign(1, 1)), string(sign(2, 1))},
			note:   func(i int) []byte { return sign(2, 1, fmt.Sprintf("ext %d", i)) },
		},
		{
			name:   "unmergeable lines",
			before: []string{string(sign(1, 1)), string(sign(2, 1))},
			note: func(i int) []byte {
				return []byte(string(sign(2, 1)) + junkSignatures(fmt.Sprintf("junk%d", i), 99))
			},
		},
		{
			name:   "at a fork",
			before: []string{string(sign(1, 1)), string(sign(1, 2)), string(sign(3, 1))},
			note:   func(i int) []byte { return sign(1, 2, fmt.Sprintf("ext %d", i)) },
			kept:   []string{string(sign(1, 1)), string(sign(3, 1))},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &SeenCheckpoints{path: filepath.Join(t.TempDir(), "seen.json")}
			for _, n := range tc.before {
				s.Add([]byte(n))
			}
			for i := range 3 * maxSeenRead() {
				n := tc.note(i)
				// As pull and audit record it: a fork is an error,
				// and recorded all the same.
				s.CheckConsistent(context.Background(), n, l.verifier, noProofs{})
				if len(s.Notes) > maxSeenKept() {
					t.Fatalf("after %d notes: %d in the file, over %d", i+1, len(s.Notes), maxSeenKept())
				}
			}
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			got, err := LoadSeen(s.path)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, n := range got.Notes {
				have[n] = true
			}
			for _, n := range append(tc.kept, string(tc.note(3*maxSeenRead()-1))) {
				if !have[n] {
					t.Errorf("dropped:\n%s", n)
				}
			}
		})
	}
}

// noProofs serves no consistency proof (the roots of these tests are
// made up): CheckConsistent fails, and records the note all the same.
type noProofs struct{}

func (noProofs) ConsistencyProof(context.Context, uint64, uint64) ([]Hash, error) {
	return nil, errors.New("no proofs here")
}

// TestSeenFloodOfLongNotes: a node may serve each checkpoint as a note
// of up to MaxCheckpointNote (lines of keys no one knows, or an extension
// line of "<", which the seen file's JSON writes as six bytes each). The
// file was thinned only by its number of notes, so a few hundred such
// pulls (of one checkpoint or of a growing log) made it longer than
// LoadSeen reads, and every later command refused the member's own seen
// file. Now the file is thinned to half of what LoadSeen reads.
func TestSeenFloodOfLongNotes(t *testing.T) {
	old := seenFileLimit
	seenFileLimit = 8 << 20
	defer func() { seenFileLimit = old }()
	l := newTestLog(t, 1)
	sign := func(size uint64, ext ...string) []byte {
		t.Helper()
		n, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: size, Hash: Hash{byte(size)}, Extensions: ext}, l.signer)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	angles := strings.Repeat("<", 200<<10)
	tests := []struct {
		name string
		note func(i int) []byte
	}{
		{name: "growing log, escaped extension", note: func(i int) []byte { return sign(uint64(i+1), angles) }},
		{name: "one checkpoint, escaped extensions", note: func(i int) []byte { return sign(1, fmt.Sprint(i), angles) }},
		{name: "growing log, long lines", note: func(i int) []byte {
			return []byte(string(sign(uint64(i+1))) + "— junk.example " + base64.StdEncoding.EncodeToString(make([]byte, 700<<10)) + "\n")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &SeenCheckpoints{path: filepath.Join(t.TempDir(), "seen.json")}
			for i := range 40 {
				n := tc.note(i)
				if _, err := OpenCheckpoint(n, l.verifier); err != nil {
					t.Fatal(err)
				}
				s.CheckConsistent(context.Background(), n, l.verifier, noProofs{})
			}
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			got, err := LoadSeen(s.path)
			if err != nil {
				t.Fatal(err)
			}
			if last := string(tc.note(39)); !slices.Contains(got.Notes, last) {
				t.Error("the latest checkpoint was dropped")
			}
		})
	}
}

// TestSeenFloodOfMergedLines: the file is kept to half of what LoadSeen
// reads when a note is merged into one of the same checkpoint, not only
// when one is added beside the others: each of a node's checkpoints
// recorded short, then served again with a long line of a key no one
// knows (merged in, as a witness's later cosignature is), grew the file
// past what LoadSeen reads, and every later command refused the
// member's own seen file.
func TestSeenFloodOfMergedLines(t *testing.T) {
	old := seenFileLimit
	seenFileLimit = 8 << 20
	defer func() { seenFileLimit = old }()
	l := newTestLog(t, 1)
	sign := func(size uint64) []byte {
		t.Helper()
		n, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: size, Hash: Hash{byte(size)}}, l.signer)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	s := &SeenCheckpoints{path: filepath.Join(t.TempDir(), "seen.json")}
	const n = 40
	for i := range n {
		s.CheckConsistent(context.Background(), sign(uint64(i+1)), l.verifier, noProofs{})
	}
	for i := range n {
		long := []byte(string(sign(uint64(i+1))) + "— junk.example " + base64.StdEncoding.EncodeToString(make([]byte, 300<<10)) + "\n")
		s.CheckConsistent(context.Background(), long, l.verifier, noProofs{})
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSeen(s.path)
	if err != nil {
		t.Fatal(err)
	}
	if last := string(sign(n)); !slices.ContainsFunc(got.Notes, func(h string) bool { return strings.HasPrefix(h, last) }) {
		t.Error("the latest checkpoint was dropped")
	}
}

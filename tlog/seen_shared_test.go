package tlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestSeenSaveKeepsWhatOthersSaved: two commands share one seen file (a
// daemon's match --url --poll beside an audit). What the audit recorded
// after the daemon read the file (a larger checkpoint, or a fork's
// evidence) stays when the daemon saves; a file re-pinned to another key
// or removed since the daemon read it isn't written over with the old pin.
func TestSeenSaveKeepsWhatOthersSaved(t *testing.T) {
	skey, vkey, err := NewNodeKey(strings.NewReader(strings.Repeat("s", 64)), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	cp := func(size uint64, root byte) string {
		return string(signedCheckpoint(t, signer, size, Hash{root}))
	}
	path := filepath.Join(t.TempDir(), "seen.json")
	first, err := LoadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	first.Key = vkey
	first.Add([]byte(cp(5, 1)))
	if err := first.Save(); err != nil {
		t.Fatal(err)
	}

	daemon, err := LoadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := LoadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	audit.Add([]byte(cp(9, 2)))
	audit.Add([]byte(cp(9, 3))) // a fork's evidence
	if err := audit.Save(); err != nil {
		t.Fatal(err)
	}
	daemon.Add([]byte(cp(7, 4)))
	if err := daemon.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{cp(5, 1), cp(7, 4), cp(9, 2), cp(9, 3)} {
		if !slices.Contains(got.Notes, want) {
			t.Errorf("the saved file lacks a checkpoint one of its writers recorded:\n%s\nit holds %d notes", want, len(got.Notes))
		}
	}

	// Re-pinned by another command since the daemon read it (the
	// command that re-pins may: the file pinned what it read).
	daemon, _ = LoadSeen(path)
	repinned, _ := LoadSeen(path)
	_, otherKey, _ := NewNodeKey(strings.NewReader(strings.Repeat("o", 64)), testOrigin)
	repinned.Key, repinned.Notes = otherKey, nil
	if err := repinned.Save(); err != nil {
		t.Fatalf("re-pinning the file it read: %v", err)
	}
	daemon.Add([]byte(cp(11, 5)))
	if err := daemon.Save(); !errors.Is(err, ErrSeenChanged) {
		t.Errorf("saving over a file re-pinned since it was read: %v, want ErrSeenChanged", err)
	}
	if got, _ := LoadSeen(path); got.Key != otherKey {
		t.Errorf("the re-pinned file was written over with the old pin")
	}

	// Removed since the daemon read it.
	daemon, _ = LoadSeen(path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := daemon.Save(); !errors.Is(err, ErrSeenChanged) {
		t.Errorf("saving a file removed since it was read: %v, want ErrSeenChanged", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a removed seen file was written back: %v", err)
	}
}

// proverFunc is a ConsistencyProver of one function.
type proverFunc func(ctx context.Context, from, to uint64) ([]Hash, error)

func (f proverFunc) ConsistencyProof(ctx context.Context, from, to uint64) ([]Hash, error) {
	return f(ctx, from, to)
}

// TestSeenLogWentBack: a node whose checkpoint is smaller than one seen,
// and that answers that it can't prove it a prefix of it, went back
// (ErrBehind: a restore from an older backup); one that couldn't be
// reached is not said to have.
func TestSeenLogWentBack(t *testing.T) {
	skey, vkey, err := NewNodeKey(strings.NewReader(strings.Repeat("b", 64)), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		err    error
		behind bool
	}{
		{"the node refuses the proof", &HTTPError{Path: "/log/proof/consistency", Code: 400, Message: "to is beyond the latest checkpoint"}, true},
		{"the node can't be reached", errors.New("dial tcp: connection refused"), false},
	} {
		s := &SeenCheckpoints{Key: vkey}
		s.Add(signedCheckpoint(t, signer, 30, Hash{1}))
		err := s.CheckConsistent(context.Background(), signedCheckpoint(t, signer, 29, Hash{2}), v,
			proverFunc(func(context.Context, uint64, uint64) ([]Hash, error) { return nil, tc.err }))
		if errors.Is(err, ErrBehind) != tc.behind || err == nil {
			t.Errorf("%s: %v; want an error, ErrBehind %v", tc.name, err, tc.behind)
		}
	}
}

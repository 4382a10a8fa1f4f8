package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/demo"
	"github.com/parley-exchange/parley/tlog"
)

// TestOpinionSavesTheSeenCheckpoint: opinion checked the node's latest
// checkpoint before posting but kept nothing of it, so the next command
// could not hold the node to it. Now the checkpoint it checked is in the
// seen file, beside the pinned key, as pull keeps it.
func TestOpinionSavesTheSeenCheckpoint(t *testing.T) {
	base, st, _ := demoNode(t)
	a := st.Members[0]
	seenPath := filepath.Join(t.TempDir(), "seen.json")
	if code, _, stderr := runCLI(t, "opinion", "--url", base, "--token", a.Token, "--key", a.KeyFile, "--seen", seenPath, demo.Report, "agree"); code != 0 {
		t.Fatalf("opinion: exit %d: %s", code, stderr)
	}
	seen, err := tlog.LoadSeen(seenPath)
	if err != nil {
		t.Fatal(err)
	}
	checkpoints := 0
	for _, n := range seen.Notes {
		if !strings.HasPrefix(n, "parley-key-index") {
			checkpoints++
		}
	}
	if seen.Key == "" || checkpoints == 0 {
		t.Errorf("the seen file holds key %q and %d checkpoints, want the pinned key and the checkpoint opinion checked", seen.Key, checkpoints)
	}
}

// TestPushPinsOnFirstUse: push, with no key pinned for the node, checked
// nothing and pinned nothing (only a later pull did), so the node it
// first sent to was never held to anything. Now it pins the served key on
// first use, as pull does, says so, and records the checkpoint it checked.
func TestPushPinsOnFirstUse(t *testing.T) {
	base, st, dir := demoNode(t)
	a := st.Members[0]
	tmp := t.TempDir()
	ind := filepath.Join(tmp, "ind.json")
	if err := os.WriteFile(ind, []byte(`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56e","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd41","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+a.ID+`","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	seenPath := filepath.Join(tmp, "seen.json")
	code, _, stderr := runCLI(t, "push", "--url", base, "--token", a.Token, "--key", a.KeyFile, "--collection", st.Collections.Shared, "--seen", seenPath, ind)
	if code != 0 || !strings.Contains(stderr, "pinning the log key on first use") {
		t.Fatalf("push: exit %d, want 0 and the key pinned on first use: %s", code, stderr)
	}
	seen, err := tlog.LoadSeen(seenPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := nodeLogKey(t, dir); seen.Key != want || len(seen.Notes) == 0 {
		t.Errorf("the seen file holds key %q and %d notes, want %q and the checkpoint push checked", seen.Key, len(seen.Notes), want)
	}
}

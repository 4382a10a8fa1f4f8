package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestEvidenceHeldBounded: evidence that can't be written (here its
// directory can't be made: a file holds its name) is held in memory up
// to maxHeldEvidence; more is logged as lost. Once a later checkpoint's
// write succeeds with the directory back, the held evidence is written,
// each file once.
func TestEvidenceHeldBounded(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "w")
	l := newTestLog(t, "example.com/log")
	a := l.newHistory(t, "a", 5, 20)
	var logged bytes.Buffer
	w, err := Open(Config{Dir: dir, Cosigner: newCosigner(t, "witness.example/w1"), Logs: []string{l.vkey},
		Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.AddCheckpoint(ctx, 0, nil, a.checkpointAt(t, 10)); err != nil {
		t.Fatal(err)
	}
	evDir := filepath.Join(dir, "evidence")
	if err := os.WriteFile(evDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const forks = maxHeldEvidence + 2
	for i := range forks {
		fork, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "example.com/log", Size: 10, Hash: tlog.LeafHash([]byte(fmt.Sprint(i)))}, l.signer)
		if _, err := w.AddCheckpoint(ctx, 10, nil, fork); !errors.Is(err, ErrFork) {
			t.Fatalf("fork %d: %v, want ErrFork", i, err)
		}
	}
	if n := w.npending.Load(); n != maxHeldEvidence {
		t.Fatalf("%d evidence files held, want %d", n, maxHeldEvidence)
	}
	if n := strings.Count(logged.String(), "so this one is lost"); n != forks-maxHeldEvidence {
		t.Errorf("%d logged as lost, want %d:\n%s", n, forks-maxHeldEvidence, logged.String())
	}
	if err := os.Remove(evDir); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddCheckpoint(ctx, 10, a.proof(t, 10, 20), a.checkpointAt(t, 20)); err != nil {
		t.Fatal(err)
	}
	if ev, _ := w.Evidence(); len(ev) != maxHeldEvidence {
		t.Errorf("%d evidence files written, want %d", len(ev), maxHeldEvidence)
	}
	if n := w.npending.Load(); n != 0 {
		t.Errorf("%d still held", n)
	}
}

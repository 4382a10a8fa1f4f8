//go:build linux

package witness

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestEvidenceHeldOnFullDisk: a witness shown a fork while its disk is
// full can't write the split-view evidence; it says so and holds the
// evidence, and writes it once a later write succeeds (the next
// checkpoint it cosigns after space is back). Before, the evidence was
// logged as lost and never written. It needs a small real filesystem: a
// 1 MiB tmpfs, which only root may mount; otherwise it skips, saying so.
func TestEvidenceHeldOnFullDisk(t *testing.T) {
	small := smallFS(t, "evidence kept across a full disk")
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	a := l.newHistory(t, "a", 5, 20)
	b := l.newHistory(t, "b", 5, 20)
	var logged bytes.Buffer
	w, err := Open(Config{Dir: filepath.Join(small, "w"), Cosigner: newCosigner(t, "witness.example/w1"), Logs: []string{l.vkey},
		Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.AddCheckpoint(ctx, 0, nil, a.checkpointAt(t, 10)); err != nil {
		t.Fatal(err)
	}

	// Fill the disk.
	filler := fillFS(t, small)

	if _, err := w.AddCheckpoint(ctx, 10, nil, b.checkpointAt(t, 10)); !errors.Is(err, ErrFork) {
		t.Fatalf("the fork: %v, want ErrFork", err)
	}
	if ev, _ := w.Evidence(); len(ev) != 0 {
		t.Fatalf("evidence written on a full disk: %v", ev)
	}
	if !strings.Contains(logged.String(), "held in memory") {
		t.Fatalf("the failed write isn't logged as held:\n%s", logged.String())
	}

	// Space is back; the next cosigned checkpoint's write succeeds, and
	// the evidence is written after it.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddCheckpoint(ctx, 10, a.proof(t, 10, 20), a.checkpointAt(t, 20)); err != nil {
		t.Fatal(err)
	}
	ev, _ := w.Evidence()
	if len(ev) != 1 {
		t.Fatalf("%d evidence files once space is back, want 1\n%s", len(ev), logged.String())
	}
	if data, err := os.ReadFile(ev[0]); err != nil {
		t.Fatal(err)
	} else if _, err := tlog.VerifyEvidence(l.vkey, data); err != nil {
		t.Errorf("the evidence written late doesn't verify: %v", err)
	}
	if !strings.Contains(logged.String(), "evidence held since a write failed is written") {
		t.Errorf("the written evidence isn't logged:\n%s", logged.String())
	}
	if w.npending.Load() != 0 {
		t.Errorf("%d evidence files still held", w.npending.Load())
	}
}

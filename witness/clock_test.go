package witness

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// TestCosignatureTimesNeverGoBack: a witness whose clock steps back used
// to cosign a log's larger tree with a time before its cosignature of a
// smaller one, which is how an auditor would see an honest log's entries
// received after the witness saw a tree that holds them (docs/witness.md,
// "Time"). Each log's cosignatures now carry at least the time of its
// latest one, in the same run and after a restart (from the saved
// checkpoint); the clock seen behind is logged once; another log's times
// are its own.
func TestCosignatureTimesNeverGoBack(t *testing.T) {
	ctx := context.Background()
	la, lb := newTestLog(t, "a.example/log"), newTestLog(t, "b.example/log")
	ha, hb := la.newHistory(t, "a", 0, 20), lb.newHistory(t, "b", 0, 5)
	skey, _, err := tlog.NewCosignerKey(seedRand("clock"), "witness.example/clock")
	if err != nil {
		t.Fatal(err)
	}
	const t0 = 1_800_000_000
	var clock atomic.Int64
	cs, err := tlog.ParseCosignerKey(skey, func() time.Time { return time.Unix(clock.Load(), 0) })
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var logged bytes.Buffer
	open := func() *Witness {
		w, err := Open(Config{Dir: dir, Cosigner: cs, Logs: []string{la.vkey, lb.vkey}, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	// add cosigns h's checkpoint of size to (from size from) at clock
	// time at and returns the cosignature's time.
	add := func(w *Witness, h *history, from, to uint64, at int64) int64 {
		t.Helper()
		clock.Store(at)
		var proof []tlog.Hash
		if from > 0 && from < to {
			proof = h.proof(t, from, to)
		}
		sig, err := w.AddCheckpoint(ctx, from, proof, h.checkpointAt(t, to))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(sig))
		ct, err := tlog.CosignatureTime(f[len(f)-1])
		if err != nil {
			t.Fatal(err)
		}
		return ct.Unix()
	}
	w := open()
	if got := add(w, ha, 0, 3, t0+100); got != t0+100 {
		t.Fatalf("size 3 cosigned at %d, want the clock's %d", got, t0+100)
	}
	for _, c := range []struct {
		from, to uint64
		clock    int64
	}{{3, 6, t0}, {6, 9, t0 + 10}, {9, 9, t0 + 20}} {
		if got := add(w, ha, c.from, c.to, c.clock); got != t0+100 {
			t.Fatalf("size %d cosigned at %d with the clock at %d, want %d (the time of the latest cosignature)", c.to, got, c.clock, t0+100)
		}
	}
	if got := add(w, hb, 0, 5, t0); got != t0 {
		t.Fatalf("another log cosigned at %d, want the clock's %d", got, t0)
	}
	if n := strings.Count(logged.String(), "clock is behind"); n != 1 {
		t.Fatalf("logged the clock behind %d times, want once:\n%s", n, logged.String())
	}
	w.Close()
	// After a restart the bound is the saved checkpoint's cosignature.
	w = open()
	defer w.Close()
	if got := add(w, ha, 9, 12, t0+50); got != t0+100 {
		t.Fatalf("after a restart, size 12 cosigned at %d, want %d", got, t0+100)
	}
	if got := add(w, ha, 12, 15, t0+200); got != t0+200 {
		t.Fatalf("the clock caught up: cosigned at %d, want %d", got, t0+200)
	}
	if n := strings.Count(logged.String(), "clock is behind"); n != 2 {
		t.Fatalf("logged the clock behind %d times in two runs, want twice:\n%s", n, logged.String())
	}
}

package witness

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
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
// latest one, in the same run and after a restart (from the time
// reservation on disk); the clock seen behind is logged once; another
// log's times are its own in a run.
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
	// After a restart the bound is the time reservation on disk, made
	// for the cosignature at t0+100.
	w = open()
	defer w.Close()
	if got, want := add(w, ha, 9, 12, t0+50), t0+100+int64(TimeReservation/time.Second); got != want {
		t.Fatalf("after a restart, size 12 cosigned at %d, want %d", got, want)
	}
	if got := add(w, ha, 12, 15, t0+200); got != t0+200 {
		t.Fatalf("the clock caught up: cosigned at %d, want %d", got, t0+200)
	}
	if n := strings.Count(logged.String(), "clock is behind"); n != 2 {
		t.Fatalf("logged the clock behind %d times in two runs, want twice:\n%s", n, logged.String())
	}
}

// clockWitness opens a witness of logs in dir whose cosigner's clock
// reads clock (POSIX seconds).
func clockWitness(t *testing.T, dir string, clock *atomic.Int64, logs ...*testLog) *Witness {
	t.Helper()
	skey, _, err := tlog.NewCosignerKey(seedRand("clock"), "witness.example/clock")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tlog.ParseCosignerKey(skey, func() time.Time { return time.Unix(clock.Load(), 0) })
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range logs {
		keys = append(keys, l.vkey)
	}
	w, err := Open(Config{Dir: dir, Cosigner: cs, Logs: keys})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// cosignAt cosigns h's checkpoint of size to (from size from) with the
// clock at at and returns the cosignature's time.
func cosignAt(t *testing.T, w *Witness, clock *atomic.Int64, h *history, from, to uint64, at int64) int64 {
	t.Helper()
	clock.Store(at)
	var proof []tlog.Hash
	if from > 0 && from < to {
		proof = h.proof(t, from, to)
	}
	sig, err := w.AddCheckpoint(context.Background(), from, proof, h.checkpointAt(t, to))
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

// TestRecosignatureTimeSurvivesRestart: a re-cosignature of an unchanged
// checkpoint isn't written to the journal, so a witness that cosigned a
// log's checkpoint at T, cosigned it again at T+100 s, and was restarted
// with its clock set back to T cosigned that log again at T (the time of
// the cosignature on disk): two cosignatures of one log whose times pair
// out of order, the witness vouching for an earlier time than it already
// had. After a restart every cosignature now carries at least the time
// reservation on disk, which is later than any time handed out before:
// a re-cosignature, a larger tree, and after a compaction rewrote the
// journal (the reservation is in its snapshot).
func TestRecosignatureTimeSurvivesRestart(t *testing.T) {
	const t0 = 1_800_000_000
	for _, tc := range []struct {
		name          string
		grow, compact bool
	}{{"re-cosignature", false, false}, {"a larger tree", true, false}, {"after a compaction", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			la, lb := newTestLog(t, "a.example/log"), newTestLog(t, "b.example/log")
			ha, hb := la.newHistory(t, "a", 0, 6), lb.newHistory(t, "b", 0, 20)
			dir := t.TempDir()
			var clock atomic.Int64
			w := clockWitness(t, dir, &clock, la, lb)
			if got := cosignAt(t, w, &clock, ha, 0, 3, t0); got != t0 {
				t.Fatalf("cosigned at %d, want %d", got, t0)
			}
			if got := cosignAt(t, w, &clock, ha, 3, 3, t0+100); got != t0+100 {
				t.Fatalf("cosigned again at %d, want %d", got, t0+100)
			}
			if tc.compact {
				// Another log grows until the journal is rewritten
				// with one record per origin.
				w.j.slack = 0
				for size := uint64(1); size <= 20; size++ {
					cosignAt(t, w, &clock, hb, size-1, size, t0+100)
				}
				file, err := os.ReadFile(filepath.Join(dir, "state", journalFile))
				if err != nil {
					t.Fatal(err)
				}
				snap := batchSpans(t, file)[0]
				h, _ := parseBatchHeader(file[snap.start:])
				recs, _ := batchRecords(file[snap.start:], h)
				if !slices.ContainsFunc(recs, func(r []byte) bool { return recordOrigin(r) == reservationOrigin }) {
					t.Fatalf("the journal's snapshot has no time reservation: %d records", len(recs))
				}
			}
			w.Close()
			w = clockWitness(t, dir, &clock, la, lb)
			defer w.Close()
			to := uint64(3)
			if tc.grow {
				to = 6
			}
			if got := cosignAt(t, w, &clock, ha, 3, to, t0); got < t0+100 {
				t.Fatalf("after a restart with the clock at %d, size %d cosigned at %d, before the cosignature at %d", t0, to, got, t0+100)
			}
		})
	}
}

// TestReservationWritesOncePerInterval: the time reservation is written
// when a cosignature's time passes it, not per cosignature: cosigning an
// unchanged checkpoint again within TimeReservation writes nothing, of
// any log; a larger tree writes its checkpoint only; the first time past
// the reservation writes one reservation; a clock set back writes none.
func TestReservationWritesOncePerInterval(t *testing.T) {
	const t0 = 1_800_000_000
	r := int64(TimeReservation / time.Second)
	la, lb := newTestLog(t, "a.example/log"), newTestLog(t, "b.example/log")
	ha, hb := la.newHistory(t, "a", 0, 3), lb.newHistory(t, "b", 0, 5)
	var clock atomic.Int64
	w := clockWitness(t, t.TempDir(), &clock, la, lb)
	defer w.Close()
	writes := func() int {
		w.j.mu.Lock()
		defer w.j.mu.Unlock()
		return w.j.writes
	}
	check := func(what string, want int) {
		t.Helper()
		if got := writes(); got != want {
			t.Fatalf("%s: %d journal writes, want %d", what, got, want)
		}
	}
	cosignAt(t, w, &clock, ha, 0, 3, t0)
	check("the first checkpoint", 2) // the reservation, then the checkpoint
	for _, at := range []int64{t0, t0 + 1, t0 + r/2, t0 + r} {
		cosignAt(t, w, &clock, ha, 3, 3, at)
	}
	check("cosigning again within the reservation", 2)
	cosignAt(t, w, &clock, hb, 0, 5, t0+r)
	check("another log's checkpoint", 3)
	cosignAt(t, w, &clock, hb, 5, 5, t0+r)
	check("another log cosigned again", 3)
	cosignAt(t, w, &clock, ha, 3, 3, t0+r+1)
	check("cosigning again past the reservation", 4)
	for _, at := range []int64{t0 + 10, t0 + r + 2, t0 + 2*r + 1} {
		cosignAt(t, w, &clock, ha, 3, 3, at)
		cosignAt(t, w, &clock, hb, 5, 5, at)
	}
	check("cosigning again, the clock set back, then within the new reservation", 4)
}

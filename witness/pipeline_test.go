package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// pipelineSetup opens a witness holding the log's checkpoint of size 10
// on disk, and makes its journal's next write wait for release (whose
// value is that write's result); started receives when it begins.
func pipelineSetup(t *testing.T) (w *Witness, h *history, dir string, started chan struct{}, release chan error) {
	l := newTestLog(t, "example.com/log")
	h = l.newHistory(t, "a", 0, 60)
	dir = t.TempDir()
	w = openWitness(t, dir, "w", l)
	if _, err := w.AddCheckpoint(context.Background(), 0, nil, h.checkpointAt(t, 10)); err != nil {
		t.Fatal(err)
	}
	started, release = make(chan struct{}), make(chan error)
	first := true
	w.j.beforeWrite = func(*batch) error {
		if !first {
			return nil
		}
		first = false
		started <- struct{}{}
		return <-release
	}
	return w, h, dir, started, release
}

type addResult struct {
	size uint64
	sig  []byte
	err  error
}

// submitAsync sends add-checkpoint old→size in a goroutine.
func submitAsync(w *Witness, h *history, t *testing.T, old, size uint64, out chan<- addResult) {
	cp, proof := h.checkpointAt(t, size), h.proof(t, old, size)
	go func() {
		sig, err := w.AddCheckpoint(context.Background(), old, proof, cp)
		out <- addResult{size, sig, err}
	}()
}

// waitQueued waits until the journal's pending batch holds n records.
func waitQueued(t *testing.T, j *journal, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		j.mu.Lock()
		got := 0
		if j.cur != nil {
			got = len(j.cur.recs)
		}
		j.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// waiters returns the number of requests of the log waiting for the
// checkpoints before them.
func waiters(w *Witness, origin string) int {
	ls := w.logs[origin]
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.waiting)
}

func checkpointSize(t *testing.T, n []byte) uint64 {
	t.Helper()
	if n == nil {
		return 0
	}
	text, err := tlog.SplitNote(n)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.ParseCheckpoint(text)
	if err != nil {
		t.Fatal(err)
	}
	return cp.Size
}

// TestPipelinedCheckpoints sends checkpoints 20, 30 and 40 of one log
// without waiting for the cosignatures, 40 before 30: 30 and 40 are
// accepted against the checkpoints before them while 20's write is in
// flight, join the next write together, and none is cosigned (or served
// to monitors) before its write is done.
//
// 40 used to be sent 20 ms before 30, in the hope that it arrived first,
// and waited for 30 up to waitForOlder (a second), after which it got a
// 409: a loaded machine that ran 30's request more than a second after
// 40's failed the test. 40 is now seen waiting before 30 is sent, and
// waits for nothing but 30.
func TestPipelinedCheckpoints(t *testing.T) {
	defer func(d time.Duration) { waitForOlder = d }(waitForOlder)
	waitForOlder = time.Hour
	w, h, dir, started, release := pipelineSetup(t)
	out := make(chan addResult, 3)
	submitAsync(w, h, t, 10, 20, out)
	<-started // 20 is being written
	submitAsync(w, h, t, 30, 40, out)
	waitUntil(t, "40 waits for 30", func() bool { return waiters(w, "example.com/log") == 1 })
	submitAsync(w, h, t, 20, 30, out)
	waitQueued(t, w.j, 2)
	select {
	case r := <-out:
		t.Fatalf("checkpoint %d answered (%v) before its write", r.size, r.err)
	default:
	}
	if got := checkpointSize(t, w.Checkpoint("example.com/log")); got != 10 {
		t.Fatalf("monitors see size %d before it is on disk", got)
	}
	release <- nil
	witnessV, err := tlog.NewCosignatureVerifier(w.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r := <-out
		if r.err != nil {
			t.Fatalf("checkpoint %d: %v", r.size, r.err)
		}
		if _, err := note.Open(append(h.checkpointAt(t, r.size), r.sig...), note.VerifierList(witnessV)); err != nil {
			t.Fatalf("checkpoint %d: bad cosignature: %v", r.size, err)
		}
	}
	if got := checkpointSize(t, w.Checkpoint("example.com/log")); got != 40 {
		t.Fatalf("monitors see size %d, want 40", got)
	}
	w.Close()
	w2 := openWitness(t, dir, "w", h.log)
	if got := checkpointSize(t, w2.Checkpoint("example.com/log")); got != 40 {
		t.Fatalf("reopened at size %d, want 40", got)
	}
}

// TestPipelinedFailedWrite fails the write of checkpoint 20 while 30 and
// 40, accepted against it, wait for the next write: all three fail, none
// is served, every later request fails, and the reopened witness is at 10.
func TestPipelinedFailedWrite(t *testing.T) {
	w, h, dir, started, release := pipelineSetup(t)
	out := make(chan addResult, 3)
	submitAsync(w, h, t, 10, 20, out)
	<-started
	submitAsync(w, h, t, 20, 30, out)
	waitQueued(t, w.j, 1)
	submitAsync(w, h, t, 30, 40, out)
	waitQueued(t, w.j, 2)
	injected := errors.New("injected write failure")
	release <- injected
	for range 3 {
		r := <-out
		var conflict *ConflictError
		if r.err == nil || errors.As(r.err, &conflict) || errors.Is(r.err, ErrInconsistent) {
			t.Fatalf("checkpoint %d: %q, %v; want the write's failure", r.size, r.sig, r.err)
		}
		if !errors.Is(r.err, injected) {
			t.Fatalf("checkpoint %d: %v, want the injected failure", r.size, r.err)
		}
	}
	if got := checkpointSize(t, w.Checkpoint("example.com/log")); got != 10 {
		t.Fatalf("monitors see size %d after the failed write, want 10", got)
	}
	for _, old := range []uint64{10, 40} {
		if _, err := w.AddCheckpoint(context.Background(), old, h.proof(t, old, 50), h.checkpointAt(t, 50)); !errors.Is(err, injected) {
			t.Fatalf("after the failure, old size %d: %v, want the failure", old, err)
		}
	}
	w.Close()
	w2 := openWitness(t, dir, "w", h.log)
	if got := checkpointSize(t, w2.Checkpoint("example.com/log")); got != 10 {
		t.Fatalf("reopened at size %d, want 10", got)
	}
	if _, err := w2.AddCheckpoint(context.Background(), 10, h.proof(t, 10, 50), h.checkpointAt(t, 50)); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
}

// TestAheadOfWitnessGets409 sends a checkpoint whose old size the witness
// never reaches: after waiting for the requests before it, a 409 with the
// witness's size.
func TestAheadOfWitnessGets409(t *testing.T) {
	defer func(d time.Duration) { waitForOlder = d }(waitForOlder)
	waitForOlder = 50 * time.Millisecond
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 30)
	w := openWitness(t, t.TempDir(), "w", l)
	ctx := context.Background()
	var conflict *ConflictError
	if _, err := w.AddCheckpoint(ctx, 10, h.proof(t, 10, 20), h.checkpointAt(t, 20)); !errors.As(err, &conflict) || conflict.Size != 0 {
		t.Fatalf("no checkpoint yet: %v, want a 409 at 0", err)
	}
	if _, err := w.AddCheckpoint(ctx, 0, nil, h.checkpointAt(t, 5)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := w.AddCheckpoint(ctx, 10, h.proof(t, 10, 20), h.checkpointAt(t, 20)); !errors.As(err, &conflict) || conflict.Size != 5 {
		t.Fatalf("%v, want a 409 at 5", err)
	}
	if d := time.Since(start); d < waitForOlder {
		t.Fatalf("answered after %v, before waiting %v for the requests before it", d, waitForOlder)
	}
	// Behind the witness: at once, without waiting. (This was checked
	// as an answer within waitForOlder, 50 ms, which a loaded machine
	// that stalled the request that long failed.) With waitForOlder an
	// hour, a request that waited would be seen waiting.
	waitForOlder = time.Hour
	behind := make(chan error, 1)
	go func() {
		_, err := w.AddCheckpoint(ctx, 3, h.proof(t, 3, 20), h.checkpointAt(t, 20))
		behind <- err
	}()
	var err error
	waitUntil(t, "the answer to a request behind the witness", func() bool {
		if n := waiters(w, "example.com/log"); n > 0 {
			t.Fatalf("a request behind the witness waits (%d waiting)", n)
		}
		select {
		case err = <-behind:
			return true
		default:
			return false
		}
	})
	if !errors.As(err, &conflict) || conflict.Size != 5 {
		t.Fatalf("%v, want a 409 at 5", err)
	}
	// A cancelled request stops waiting.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w.AddCheckpoint(cctx, 10, h.proof(t, 10, 20), h.checkpointAt(t, 20)); !errors.As(err, &conflict) {
		t.Fatalf("cancelled: %v, want a 409", err)
	}
}

// TestJournalPreallocated appends to a journal until its zeros run out
// (and it is rewritten) several times, reopening now and then: the file is
// records then zeros, the records are each origin's last one, and what an
// append wrote is there after reopening.
func TestJournalPreallocated(t *testing.T) {
	dir := t.TempDir()
	j, _, _, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(o, i int) []byte { return fmt.Appendf(nil, "o%d\n%d\n%s", o, i, bytes.Repeat([]byte("x"), 2000)) }
	last := map[int]int{}
	n := 3 * journalZeros / 2000
	for i := 0; i < n; i++ {
		o := i % 7
		if err := j.append(fmt.Sprintf("o%d", o), rec(o, i)); err != nil {
			t.Fatal(err)
		}
		last[o] = i
		if i%(n/5) == 0 {
			j.close()
			if j, _, _, err = openJournal(dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	j.close()
	b, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	c := readJournal(b)
	latest, end := c.latest, c.end
	if c.v1 || !c.clean || c.torn != "" || c.damage != "" || len(b)%4096 != 0 || len(b)-end < 2000 {
		t.Fatalf("journal of %d bytes, batches end at %d: not batches then zeros (%+v)", len(b), end, c)
	}
	for o, i := range last {
		if got := latest[fmt.Sprintf("o%d", o)]; !bytes.Equal(got, rec(o, i)) {
			t.Fatalf("origin %d: %.20q, want record %d", o, got, i)
		}
	}
}

// TestRecosignInFlightWritesNothing: a checkpoint re-submitted (old size =
// its size, no proof) while the write of that checkpoint is still in
// flight is cosigned again without a journal record of its own, as one
// re-submitted once it is on disk is (TestRecosignWritesNothing); it was
// written again. It waits for that write, and fails with it.
func TestRecosignInFlightWritesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write error
	}{{"write succeeds", nil}, {"write fails", errors.New("injected write failure")}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLog(t, "example.com/log")
			h := l.newHistory(t, "a", 0, 30)
			dir := t.TempDir()
			skey, vkey, err := tlog.NewCosignerKey(seedRand("w"), "w")
			if err != nil {
				t.Fatal(err)
			}
			// The witness's clock says when a request is cosigned
			// (accepted, under the log's lock).
			signed := make(chan struct{}, 8)
			cs, err := tlog.ParseCosignerKey(skey, func() time.Time {
				signed <- struct{}{}
				return time.Unix(1_800_000_000, 0)
			})
			if err != nil {
				t.Fatal(err)
			}
			w, err := Open(Config{Dir: dir, Cosigner: cs, Logs: []string{l.vkey}})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.AddCheckpoint(context.Background(), 0, nil, h.checkpointAt(t, 10)); err != nil {
				t.Fatal(err)
			}
			<-signed
			started, release := make(chan struct{}), make(chan error)
			first := true
			w.j.beforeWrite = func(*batch) error {
				if !first {
					return nil
				}
				first = false
				started <- struct{}{}
				return <-release
			}
			out := make(chan addResult, 2)
			submitAsync(w, h, t, 10, 20, out)
			<-signed
			<-started // 20 is being written
			submitAsync(w, h, t, 20, 20, out)
			<-signed // the re-submission is accepted while 20's write is in flight
			select {
			case r := <-out:
				t.Fatalf("answered (%v) before the write of checkpoint 20", r.err)
			default:
			}
			release <- tc.write
			witnessV, err := tlog.NewCosignatureVerifier(vkey)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				r := <-out
				if tc.write != nil {
					if !errors.Is(r.err, tc.write) {
						t.Fatalf("%v, want the write's failure", r.err)
					}
					continue
				}
				if r.err != nil {
					t.Fatal(r.err)
				}
				if _, err := note.Open(append(h.checkpointAt(t, 20), r.sig...), note.VerifierList(witnessV)); err != nil {
					t.Fatalf("bad cosignature: %v", err)
				}
			}
			b, err := os.ReadFile(filepath.Join(dir, "state", journalFile))
			if err != nil {
				t.Fatal(err)
			}
			// The time reservation of 10's cosignature (the clock
			// stands still: one), 10, then 20 once.
			want, size := 3, uint64(20)
			if tc.write != nil {
				want, size = 2, 10
			}
			c := readJournal(b)
			latest, records := c.latest, c.records
			if records != want || checkpointSize(t, latest["example.com/log"]) != size {
				t.Fatalf("%d journal records, the latest of size %d; want %d, of size %d", records, checkpointSize(t, latest["example.com/log"]), want, size)
			}
			if got := checkpointSize(t, w.Checkpoint("example.com/log")); got != size {
				t.Fatalf("monitors see size %d, want %d", got, size)
			}
		})
	}
}

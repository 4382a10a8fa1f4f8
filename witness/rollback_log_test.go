package witness

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// syncLog is a log buffer written from the pulling goroutine.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// growingSource grows the history it serves by one entry before each
// checkpoint it serves, as a live log does, and counts the polls.
type growingSource struct {
	Source
	t     *testing.T
	h     *history
	polls atomic.Int64
}

func (g *growingSource) Checkpoint(ctx context.Context) ([]byte, error) {
	g.h.grow(g.t, 1)
	g.polls.Add(1)
	return g.Source.Checkpoint(ctx)
}

// pullAfterSwap has a witness cosign the first 1000 entries of l's
// history "a", then serves next (growing by one entry at each poll) and
// runs Pull every millisecond until it has polled polls times, within
// timeout. It returns the witness and what it logged.
func pullAfterSwap(t *testing.T, l *testLog, next func(*testLog) *history, polls int64, timeout time.Duration) (*Witness, *syncLog, int64) {
	t.Helper()
	ctx := context.Background()
	srv := newTileServer(t, l.newHistory(t, "a", 0, 1000), "tok")
	logged := &syncLog{}
	w, err := Open(Config{Dir: t.TempDir(), Cosigner: newCosigner(t, "w"), Logs: []string{l.vkey},
		Logger: slog.New(slog.NewTextHandler(logged, nil)), Now: func() time.Time { return time.Unix(1800000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.PullOnce(ctx, l.vkey, &tlog.Client{URL: srv.URL, Token: "tok"}); err != nil {
		t.Fatal(err)
	}
	h := next(l)
	srv.swap(h)
	src := &growingSource{Source: &tlog.Client{URL: srv.URL, Token: "tok"}, t: t, h: h}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Pull(pctx, l.vkey, src, time.Millisecond); close(done) }()
	deadline := time.Now().Add(timeout)
	for src.polls.Load() < polls {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("%d polls in %v", src.polls.Load(), timeout)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	return w, logged, src.polls.Load()
}

// TestPullLogsARollbackOnce: a log restored from an older backup serves a
// smaller tree that grows back at every poll; each poll's error names the
// new size, and the witness logged every one of them (47 lines in 47 s
// of a node's rollback, every poll until it forked or caught up). It logs
// the rollback once.
func TestPullLogsARollbackOnce(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	_, logged, polls := pullAfterSwap(t, l, func(l *testLog) *history { return l.newHistory(t, "a", 0, 50) }, 20, 10*time.Second)
	if got := strings.Count(logged.String(), "pull failed"); got != 1 {
		t.Fatalf("a rollback of %d polls logged %d times, want once:\n%s", polls, got, logged.String())
	}
	if !strings.Contains(logged.String(), ErrRollback.Error()) {
		t.Fatalf("the rollback isn't named:\n%s", logged.String())
	}
}

// TestSubmitRollback: a checkpoint smaller than the witness's is
// ErrRollback, whatever its size, so that a node restored from an older
// backup logs it once (FailureKey), not once per new checkpoint.
func TestSubmitRollback(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	a := l.newHistory(t, "a", 0, 100)
	w := openWitness(t, t.TempDir(), "w", l)
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	c := &Client{URL: srv.URL}
	prove := func(ctx context.Context, from, to uint64) ([]tlog.Hash, error) {
		return tlog.ConsistencyProof(ctx, from, to, tlog.TileHashReader(to, a))
	}
	a.mu.RLock()
	note := a.note
	a.mu.RUnlock()
	if _, err := c.Submit(ctx, note, prove); err != nil {
		t.Fatal(err)
	}
	back := l.newHistory(t, "a", 0, 40)
	var keys []string
	for _, n := range []int{1, 2} {
		back.grow(t, n)
		back.mu.RLock()
		note := back.note
		back.mu.RUnlock()
		_, err := c.Submit(ctx, note, prove)
		if !errors.Is(err, ErrRollback) {
			t.Fatalf("a smaller checkpoint: %v, want ErrRollback", err)
		}
		keys = append(keys, FailureKey(err))
	}
	if keys[0] != keys[1] {
		t.Fatalf("two rollbacks are two failures: %q, %q", keys[0], keys[1])
	}
	if FailureKey(errors.New("x")) == FailureKey(errors.New("y")) {
		t.Fatal("two distinct failures are one")
	}
}

// TestPullLogsAForkBeyondItsEvidenceOnce: a forked log that goes on
// growing shows the witness a new inconsistent checkpoint at every poll.
// Each of the first MaxEvidencePerLog is kept and logged; after that, each
// poll failed with "couldn't write the evidence" and its sizes, and was
// logged (269 lines in 4 minutes of a forked node). It is logged once.
func TestPullLogsAForkBeyondItsEvidenceOnce(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	w, logged, polls := pullAfterSwap(t, l, func(l *testLog) *history { return l.newHistory(t, "b", 900, 1001) }, MaxEvidencePerLog+20, 20*time.Second)
	if ev, _ := w.Evidence(); len(ev) != MaxEvidencePerLog {
		t.Fatalf("%d evidence files, want %d", len(ev), MaxEvidencePerLog)
	}
	out := logged.String()
	if got := strings.Count(out, "pull failed"); got != MaxEvidencePerLog+1 {
		t.Fatalf("%d polls of a fork logged %d times, want %d (each evidence file, then the fork once):\n%s", polls, got, MaxEvidencePerLog+1, out)
	}
	if !strings.Contains(out, ErrEvidenceFull.Error()) {
		t.Fatalf("the evidence not kept isn't said:\n%s", out)
	}
}

// TestFailureKeyRefusals: a witness's refusals of successive checkpoints
// of a forked log (422, naming each size) are one failure to log.
func TestFailureKeyRefusals(t *testing.T) {
	a := &StatusError{Code: 422, Body: "checkpoint isn't consistent with the witness's view: consistency of sizes 3958 and 4852"}
	b := &StatusError{Code: 422, Body: "checkpoint isn't consistent with the witness's view: consistency of sizes 3958 and 4853"}
	if FailureKey(a) != FailureKey(b) {
		t.Fatalf("two refusals of a fork are two failures: %q, %q", FailureKey(a), FailureKey(b))
	}
	if FailureKey(a) == FailureKey(&StatusError{Code: 500, Body: "x"}) {
		t.Fatal("a refusal and a server error are one failure")
	}
}

package witness

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// switchSource serves from one growing source, then from another.
type switchSource struct{ cur atomic.Pointer[growingSource] }

func (s *switchSource) Checkpoint(ctx context.Context) ([]byte, error) {
	return s.cur.Load().Checkpoint(ctx)
}

func (s *switchSource) ReadTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	return s.cur.Load().ReadTile(ctx, t)
}

// TestPullLogsAForkAfterARollback: a rollback is logged once while it
// lasts, and a fork that follows it (the log restored from an older
// backup grows past the witness's size with other entries) is another
// failure, logged at once, not hidden as the rollback going on.
// (Each fork's evidence file is logged, as before.)
func TestPullLogsAForkAfterARollback(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	a := l.newHistory(t, "a", 0, 1000)
	srv := newTileServer(t, a, "tok")
	srvB := newTileServer(t, a, "tok")
	var logged syncLog
	w, err := Open(Config{Dir: t.TempDir(), Cosigner: newCosigner(t, "w"), Logs: []string{l.vkey},
		Logger: slog.New(slog.NewTextHandler(&logged, nil)), Now: func() time.Time { return time.Unix(1800000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.PullOnce(ctx, l.vkey, &tlog.Client{URL: srv.URL, Token: "tok"}); err != nil {
		t.Fatal(err)
	}
	back := l.newHistory(t, "a", 0, 50)
	srv.swap(back)
	rb := &growingSource{Source: &tlog.Client{URL: srv.URL, Token: "tok"}, t: t, h: back}
	fork := l.newHistory(t, "b", 900, 1001)
	srvB.swap(fork)
	fk := &growingSource{Source: &tlog.Client{URL: srvB.URL, Token: "tok"}, t: t, h: fork}
	var src switchSource
	src.cur.Store(rb)
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Pull(pctx, l.vkey, &src, time.Millisecond); close(done) }()
	wait := func(g *growingSource, n int64) {
		deadline := time.Now().Add(10 * time.Second)
		for g.polls.Load() < n {
			if time.Now().After(deadline) {
				cancel()
				<-done
				t.Fatalf("%d polls in 10 s", g.polls.Load())
			}
			time.Sleep(time.Millisecond)
		}
	}
	wait(rb, 10)
	src.cur.Store(fk)
	wait(fk, 10)
	cancel()
	<-done
	out := logged.String()
	// The rollback once; the fork at once (each evidence file is logged,
	// as a fork always was).
	if got := strings.Count(out, ErrRollback.Error()); got != 1 {
		t.Fatalf("a rollback of %d polls logged %d times, want once:\n%s", rb.polls.Load(), got, out)
	}
	if !strings.Contains(out, ErrFork.Error()) {
		t.Fatalf("the fork after the rollback isn't logged:\n%s", out)
	}
}

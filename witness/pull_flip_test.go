package witness

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// flipSource serves two histories of one log in turn, one per poll (a
// hostile log showing the witness its two forks alternately), and cancels
// the pull at its last poll.
type flipSource struct {
	hs     [2]*history
	cur    atomic.Pointer[history]
	polls  atomic.Int64
	last   int64
	cancel context.CancelFunc
}

func (s *flipSource) Checkpoint(ctx context.Context) ([]byte, error) {
	i := s.polls.Add(1)
	if i >= s.last {
		s.cancel()
	}
	s.cur.Store(s.hs[i%2])
	return s.hs[i%2].Checkpoint(ctx)
}

func (s *flipSource) ReadTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	return s.cur.Load().ReadTile(ctx, t)
}

// TestPullLogsAFlippingForkOnce: a log that serves its fork and the
// cosigned tree in turn, one per poll, made the witness log the same fork
// at every other poll: the poll in between succeeds (the cosigned
// checkpoint again), which reset what Pull remembered. One evidence file,
// and the fork logged once per run, as a pushed fork is (by evidence
// file); for a larger fork and for one of the same size.
func TestPullLogsAFlippingForkOnce(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	a := l.newHistory(t, "a", 0, 1000)
	for _, tc := range []struct {
		name string
		fork *history
	}{
		{"larger", l.newHistory(t, "b", 900, 1001)},
		{"same size", l.newHistory(t, "c", 900, 1000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged syncLog
			w, err := Open(Config{Dir: t.TempDir(), Cosigner: newCosigner(t, "w"), Logs: []string{l.vkey},
				Logger: slog.New(slog.NewTextHandler(&logged, nil)), Now: func() time.Time { return time.Unix(1800000000, 0) }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			if _, err := w.PullOnce(context.Background(), l.vkey, a); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			src := &flipSource{hs: [2]*history{a, tc.fork}, last: 20, cancel: cancel}
			w.Pull(ctx, l.vkey, src, time.Millisecond)
			if ev, _ := w.Evidence(); len(ev) != 1 {
				t.Fatalf("%d evidence files, want 1", len(ev))
			}
			out := logged.String()
			if got := strings.Count(out, "pull failed"); got != 1 {
				t.Fatalf("%d polls of a log flipping between two forks logged %d failures, want 1:\n%s", src.polls.Load(), got, out)
			}
		})
	}
}

// failingSource fails every poll with err, and cancels the pull at its
// second poll.
type failingSource struct {
	err    error
	polls  atomic.Int64
	cancel context.CancelFunc
}

func (s *failingSource) Checkpoint(ctx context.Context) ([]byte, error) {
	if s.polls.Add(1) >= 2 {
		s.cancel()
	}
	return nil, s.err
}

func (s *failingSource) ReadTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	return nil, s.err
}

// TestPullOnUnknownCAHints: a witness pulling a node whose certificate
// comes from a private CA, without --ca, failed every poll with Go's x509
// error alone; the log line says to give the CA.
func TestPullOnUnknownCAHints(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	var logged syncLog
	w, err := Open(Config{Dir: t.TempDir(), Cosigner: newCosigner(t, "w"), Logs: []string{l.vkey},
		Logger: slog.New(slog.NewTextHandler(&logged, nil)), Now: func() time.Time { return time.Unix(1800000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	src := &failingSource{err: fmt.Errorf("couldn't read the log's checkpoint: %w", &url.Error{Op: "Get", URL: "https://node.example/log/checkpoint", Err: x509.UnknownAuthorityError{}}), cancel: cancel}
	w.Pull(ctx, l.vkey, src, time.Millisecond)
	if out := logged.String(); !strings.Contains(out, "pull failed") || !strings.Contains(out, "parley witness serve --ca FILE") {
		t.Errorf("a pull refused on the log's certificate logged no hint:\n%s", out)
	}
}

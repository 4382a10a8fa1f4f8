package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/slowlink"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/taxii"
)

// runner runs feed.Run over st with a clock of its own until stopped, as
// one process of the node; a second runner over the same store is the
// node restarted (nothing of the first one's memory).
type runner struct {
	st     *countingStore
	cancel context.CancelFunc
	done   chan error
}

func startRun(st *countingStore, now func() time.Time) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{st: st, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- feed.Run(ctx, st, &sink{stored: map[string]int{}}, now, time.Millisecond, func(string, ...any) {})
	}()
	return r
}

func (r *runner) stop() {
	r.cancel()
	<-r.done
}

// waitRounds waits until Run has listed the feeds n more times.
func (r *runner) waitRounds(n int) {
	for want := r.st.round() + n; r.st.round() < want; {
		runtime.Gosched()
	}
}

// TestRunBackoffSurvivesRestart: the backoff of a failing feed, and the
// Retry-After its server gave, are in the store: a node restarted after
// the feed's interval doesn't ask the server again before them (it did,
// at once, when they were kept in memory), and asks once they pass.
func TestRunBackoffSurvivesRestart(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string // the server's Retry-After, "" for none
		fail       int    // failed rounds before the restart
		wait       time.Duration
	}{
		{name: "backoff", fail: 3, wait: feed.Backoff(3, time.Minute)},
		{name: "retry-after", retryAfter: "3600", fail: 1, wait: time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			requests := 0
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				requests++
				mu.Unlock()
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
					http.Error(w, "slow down", http.StatusTooManyRequests)
					return
				}
				http.Error(w, "down", http.StatusInternalServerError)
			}))
			defer hs.Close()
			got := func() int {
				mu.Lock()
				defer mu.Unlock()
				return requests
			}
			path := filepath.Join(t.TempDir(), "parley.db")
			first := newStoreAt(t, path, feed.Feed{Name: "t", URL: hs.URL, Collection: "c", Into: "l", Member: "m", Interval: time.Minute})
			st := &countingStore{Store: first}
			var clock atomic.Int64
			clock.Store(epoch.UnixNano())
			now := func() time.Time { return time.Unix(0, clock.Load()) }

			r := startRun(st, now)
			r.waitRounds(3)
			for n := 1; n < tc.fail; n++ {
				clock.Add(int64(feed.Backoff(int64(n), time.Minute)))
				r.waitRounds(5)
			}
			r.stop()
			if got() != tc.fail {
				t.Fatalf("%d requests before the restart, want %d", got(), tc.fail)
			}
			fs, err := st.Feeds(context.Background())
			if err != nil || fs[0].Failures != int64(tc.fail) || fs[0].LastError == "" {
				t.Fatalf("recorded before the restart: %+v, %v", fs, err)
			}
			last := fs[0].LastPoll
			if next := feed.NextRound(fs[0]); !next.Equal(last.Add(tc.wait)) {
				t.Errorf("NextRound = %v, want %v after the last poll", next.Sub(last), tc.wait)
			}

			// Restarted an interval later (the database closed and
			// opened again): not asked before the wait.
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			reopened, err := sqlite.Open(context.Background(), path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer reopened.Close()
			st = &countingStore{Store: reopened}
			clock.Store(last.Add(time.Minute).UnixNano())
			r = startRun(st, now)
			defer func() { r.stop() }()
			r.waitRounds(5)
			if got() != tc.fail {
				t.Fatalf("the restarted node asked %d times %s after the last failure, before its wait of %s", got()-tc.fail, time.Minute, tc.wait)
			}
			clock.Store(last.Add(tc.wait - time.Millisecond).UnixNano())
			r.waitRounds(5)
			if got() != tc.fail {
				t.Fatalf("the restarted node asked before the wait of %s had passed", tc.wait)
			}
			clock.Store(last.Add(tc.wait).UnixNano())
			r.waitRounds(5)
			if got() != tc.fail+1 {
				t.Fatalf("%d requests once the wait of %s had passed, want %d", got(), tc.wait, tc.fail+1)
			}
		})
	}
}

// TestPollResetsFailures: a round that stores a page ends the backoff
// (Failures and NotBefore back to zero, in the store), and the next
// round is due an interval later.
func TestPollResetsFailures(t *testing.T) {
	srv := &server{n: 3}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx := context.Background()
	k := &killable{Store: newStoreWith(t, feed.Feed{Name: "t", URL: hs.URL, Collection: "c", Into: "l", Member: "m", Interval: time.Minute})}
	f := k.feed(t)
	f.LastPoll, f.LastError, f.Failures, f.NotBefore = epoch, "down", 6, epoch.Add(time.Hour)
	if err := k.RecordPoll(ctx, "t", f.FeedPosition); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return epoch.Add(2 * time.Hour) }
	if !feed.Due(k.feed(t), now()) {
		t.Fatal("not due after its backoff")
	}
	if _, err := feed.Poll(ctx, k, &sink{stored: map[string]int{}}, k.feed(t), now, nil); err != nil {
		t.Fatal(err)
	}
	f = k.feed(t)
	if f.Failures != 0 || !f.NotBefore.IsZero() || f.LastError != "" || !f.RoundStarted.IsZero() {
		t.Errorf("after a round that worked: %+v", f.FeedPosition)
	}
	if next := feed.NextRound(f); !next.Equal(now().Add(time.Minute)) {
		t.Errorf("NextRound = %v, want an interval after the round", next)
	}
}

// cancelSink cancels the round's context once it has stored a page: the
// node stopping mid-round.
type cancelSink struct {
	sink
	cancel context.CancelFunc
}

func (c *cancelSink) Submit(ctx context.Context, member, coll string, objs []json.RawMessage) (store.Status, error) {
	st, err := c.sink.Submit(ctx, member, coll, objs)
	c.cancel()
	return st, err
}

// TestPollRoundMark: a round is marked in the store while it runs
// (RoundStarted, RoundFrom: the pages before it); a node killed mid-round
// (its last write never made) leaves the mark, which its next round
// replaces and clears; a node stopped mid-round clears it, and the round,
// cut short, is no failure: due again at once.
func TestPollRoundMark(t *testing.T) {
	srv := &server{n: 30}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	now := func() time.Time { return epoch.Add(time.Hour) }
	k := &killable{Store: newStore(t, hs.URL), failAt: 3}
	var seen []feed.Feed
	progress := func(f feed.Feed) { seen = append(seen, f) }
	if _, err := feed.Poll(context.Background(), k, &sink{stored: map[string]int{}}, k.feed(t), now, progress); err == nil {
		t.Fatal("the killed round succeeded")
	}
	if len(seen) != 2 || !seen[0].RoundStarted.Equal(now()) || seen[0].RoundFrom != 0 {
		t.Fatalf("pages of the killed round: %+v", seen)
	}
	f := k.feed(t)
	if !f.RoundStarted.Equal(now()) || f.RoundFrom != 0 || f.Pages != 2 {
		t.Fatalf("after a kill mid-round: %+v, want the round still marked", f.FeedPosition)
	}

	// The node stopped mid-round: the mark is cleared, nothing counted
	// as failed, and the round goes on at once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k.failAt, seen = 0, nil
	later := func() time.Time { return epoch.Add(2 * time.Hour) }
	_, err := feed.Poll(ctx, k, &cancelSink{sink: sink{stored: map[string]int{}}, cancel: cancel}, f, later, progress)
	if err == nil {
		t.Fatal("the stopped round succeeded")
	}
	f = k.feed(t)
	if !f.RoundStarted.IsZero() || f.RoundFrom != 0 || f.Failures != 0 || f.LastError != "" || !feed.Due(f, later()) {
		t.Errorf("after a stop mid-round: %+v, due %v", f.FeedPosition, feed.Due(f, later()))
	}
}

// TestPollSlowLink: a page that keeps coming over a slow link, for longer
// than the request timeout in all, was cut by it at every round, so that
// the feed never got past it. Now it is read whole; one that comes slower
// than the minimum rate is abandoned once past the request timeout, the
// error saying so; one that stops is abandoned after the stall timeout.
func TestPollSlowLink(t *testing.T) {
	defer feed.SetRequestTimeout(300 * time.Millisecond)()
	for _, tc := range []struct {
		name    string
		minRate int64
		stop    bool // the server stops sending after the first piece
		want    string
	}{
		{name: "progressing", minRate: 1},
		{name: "slower than the minimum rate", minRate: 1 << 30, want: "the feed's server stopped sending: GET "},
		{name: "stops", minRate: 1, stop: true, want: "no byte of the response body for 500ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer feed.SetStallTimeout(500*time.Millisecond, tc.minRate)()
			var objs []string
			for i := range 5 {
				objs = append(objs, fmt.Sprintf(`{"type":"x-test","id":"x-test--%08d-0000-4000-8000-000000000000"}`, i))
			}
			body := []byte(`{"more":false,"objects":[` + strings.Join(objs, ",") + `]}`)
			release := make(chan struct{})
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", taxii.MediaType)
				w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(added(4)))
				w.WriteHeader(http.StatusOK)
				// 10 pieces, one every 100 ms: a second in all, past
				// the request timeout, each well within the stall
				// timeout.
				piece := (len(body) + 9) / 10
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for rest := body; len(rest) > 0; {
					k := min(piece, len(rest))
					w.Write(rest[:k])
					w.(http.Flusher).Flush()
					rest = rest[k:]
					if tc.stop {
						<-release
						return
					}
					<-tick.C
				}
			}))
			defer hs.Close()
			defer close(release) // before hs.Close, which waits for the handler
			k := &killable{Store: newStore(t, hs.URL)}
			m := &sink{stored: map[string]int{}}
			start := time.Now()
			f, err := feed.Poll(context.Background(), k, m, k.feed(t), time.Now, nil)
			took := time.Since(start)
			if tc.want == "" {
				if err != nil || len(m.stored) != 5 || f.Added != 5 {
					t.Fatalf("a page that kept coming (%s in all) was cut: %v, %d stored", took, err, len(m.stored))
				}
				if took < 300*time.Millisecond {
					t.Fatalf("the page took %s, less than the request timeout: it tested nothing", took)
				}
				return
			}
			var se *slowlink.StallError
			if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) || len(m.stored) != 0 {
				t.Fatalf("Poll = %v, %d stored; want an error saying %q", err, len(m.stored), tc.want)
			}
			if got := k.feed(t); !strings.Contains(got.LastError, tc.want) || got.Failures != 1 {
				t.Fatalf("recorded %+v", got.FeedPosition)
			}
		})
	}
}

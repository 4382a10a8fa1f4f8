package feed_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
)

// dripServer is a TAXII server whose page never ends: it sends its
// beginning, then a space every few milliseconds (within the slow-link
// rules, so no request is cut) until the request ends. dripping gets a
// send when a request has begun.
func dripServer(t *testing.T, dripping chan<- struct{}) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		w.Write([]byte(`{"more":false,"objects":[`))
		w.(http.Flusher).Flush()
		if dripping != nil {
			select {
			case dripping <- struct{}{}:
			default:
			}
		}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	}))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
	})
	return hs
}

// TestRunDrippingServersStarveNoFeed: four hostile servers, each
// dripping its page within the slow-link rules, held all four of
// RunRounds's slots for as long as they dripped (hours), and the fifth,
// honest, feed was never polled. A round gives its slot back after
// maxRoundTime, so the honest feed's objects come while the four drip.
func TestRunDrippingServersStarveNoFeed(t *testing.T) {
	defer feed.SetMaxRoundTime(20 * time.Millisecond)()
	defer feed.SetStallTimeout(time.Hour, 1)()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dripping := make(chan struct{}, 4)
	// The dripping feeds are listed, and dispatched, first.
	var st *feedStore
	for i, name := range []string{"a", "b", "c", "d"} {
		f := feed.Feed{Name: name, URL: dripServer(t, dripping).URL, Collection: "c", Into: "l", Member: "m", Overlap: -1}
		if i == 0 {
			st = &feedStore{Store: newStoreWith(t, f)}
			continue
		}
		if err := st.AddFeed(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	good := httptest.NewServer(&server{n: 3})
	defer good.Close()
	if err := st.AddFeed(ctx, feed.Feed{Name: "e", URL: good.URL, Collection: "c", Into: "l", Member: "m", Overlap: -1}); err != nil {
		t.Fatal(err)
	}
	sk := &signalSink{sink: sink{stored: map[string]int{}}, got: make(chan struct{}, 1)}
	now := func() time.Time { return epoch }
	stopRunner := runRoundsBackground(ctx, cancel, st, sk, now, feed.Rounds{Owner: "fe/1/me", Concurrency: 4})
	defer stopRunner()
	timeout := time.After(20 * time.Second)
	for range 4 {
		select {
		case <-dripping:
		case <-timeout:
			t.Fatal("the dripping feeds' rounds didn't start")
		}
	}
	select {
	case <-sk.got:
	case <-timeout:
		t.Fatal("the honest feed's objects didn't come while four feeds' servers dripped their pages")
	}
}

// feedStore is a feed store that can hold the write that ends a round
// (a RecordPoll that clears RoundStarted) until the test lets it go.
type feedStore struct {
	feed.Store
	mu      sync.Mutex
	hold    chan struct{} // nil: hold nothing
	reached chan struct{} // closed when a held write is reached
	ends    int           // round ends written
}

func (s *feedStore) RecordPoll(ctx context.Context, name string, p feed.Position) error {
	if p.RoundStarted.IsZero() {
		s.mu.Lock()
		hold, reached := s.hold, s.reached
		s.hold = nil
		s.mu.Unlock()
		if hold != nil {
			close(reached)
			<-hold
		}
		defer func() {
			s.mu.Lock()
			s.ends++
			s.mu.Unlock()
		}()
	}
	return s.Store.RecordPoll(ctx, name, p)
}

// TestRunReturnsAfterItsRoundsOnShutdown: when its context ends while a
// feed's server drips a page, RunRounds ends the round promptly (the
// drip doesn't hold the shutdown) and returns only once the round has
// recorded its end: a node that closed its store when Run returned
// would otherwise have the round write to a closed store, and leave its
// mark to be counted as a crash.
func TestRunReturnsAfterItsRoundsOnShutdown(t *testing.T) {
	defer feed.SetStallTimeout(time.Hour, 1)()
	dripping := make(chan struct{}, 1)
	hs := dripServer(t, dripping)
	st := &feedStore{Store: newStore(t, hs.URL), hold: make(chan struct{}), reached: make(chan struct{})}
	hold, reached := st.hold, st.reached
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sk := &sink{stored: map[string]int{}}
	now := func() time.Time { return epoch }
	done := make(chan error, 1)
	go func() {
		done <- feed.RunRounds(ctx, st, sk, now, time.Millisecond, feed.Rounds{Owner: "fe/1/me"}, func(string, ...any) {})
	}()
	timeout := time.After(20 * time.Second)
	select {
	case <-dripping:
	case <-timeout:
		t.Fatal("the round didn't ask the server")
	}
	cancel()
	// The round, ended by the shutdown, reaches the write of its end
	// (held here); RunRounds must not return before it is done.
	select {
	case err := <-done:
		t.Fatalf("RunRounds returned (%v) while its round still ran", err)
	case <-reached:
	case <-timeout:
		t.Fatal("the round didn't end promptly on shutdown while its server dripped")
	}
	select {
	case err := <-done:
		t.Fatalf("RunRounds returned (%v) before its round recorded its end", err)
	case <-time.After(50 * time.Millisecond): // not returned meanwhile
	}
	close(hold)
	select {
	case <-done:
	case <-timeout:
		t.Fatal("RunRounds didn't return once its round ended")
	}
	if f := storedFeed(t, st.Store); !f.RoundStarted.IsZero() {
		t.Errorf("the round's end wasn't recorded before RunRounds returned: %+v", f.FeedPosition)
	}
}

// staleListStore hands RunRounds, at the listing after arm is closed, the
// feeds as listed while a round ran, returned only once that round has
// written its end (and its goroutine has had time to finish): a listing
// that began before a round ended.
type staleListStore struct {
	feed.Store
	arm      chan struct{} // closed by the test: the next listing is the stale one
	release  chan struct{} // closed here: the round may end
	ended    chan struct{} // closed when the round's end is written
	once     sync.Once
	listings chan struct{} // a send per listing, when someone waits for it
}

func (s *staleListStore) Feeds(ctx context.Context) ([]feed.Feed, error) {
	fs, err := s.Store.Feeds(ctx)
	select {
	case <-s.arm:
		s.once.Do(func() {
			close(s.release)
			<-s.ended
			// Not for the test's passing: a moment for the ended
			// round's goroutine to finish, so that a runner that
			// forgets it ended would start it again from this list.
			time.Sleep(50 * time.Millisecond)
		})
	default:
	}
	select {
	case s.listings <- struct{}{}:
	default:
	}
	return fs, err
}

func (s *staleListStore) RecordPoll(ctx context.Context, name string, p feed.Position) error {
	err := s.Store.RecordPoll(ctx, name, p)
	if p.RoundStarted.IsZero() && p.Pages > 0 {
		select {
		case <-s.ended:
		default:
			close(s.ended)
		}
	}
	return err
}

// TestRunEndedRoundNotRestartedFromStaleListing: a round that ends while
// a listing is under way (the list read before its end shows the feed's
// old position, its last poll long ago) is not started again from that
// list: RunRounds keeps the rounds that ended since the listing began.
// Its server, which answered the round, is not asked again before the
// feed's interval.
func TestRunEndedRoundNotRestartedFromStaleListing(t *testing.T) {
	defer feed.SetMaxRoundTime(time.Millisecond)()
	defer feed.SetStallTimeout(time.Hour, 1)()
	var mu sync.Mutex
	asked := 0
	st := &staleListStore{arm: make(chan struct{}), release: make(chan struct{}), ended: make(chan struct{}), listings: make(chan struct{})}
	arrived := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked++
		n := asked
		mu.Unlock()
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		if n == 1 {
			close(arrived)
			select {
			case <-st.release:
			case <-r.Context().Done():
				return
			}
		}
		w.Write([]byte(`{"more":false,"objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}]}`))
	}))
	defer hs.Close()
	st.Store = newStore(t, hs.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sk := &sink{stored: map[string]int{}}
	now := func() time.Time { return epoch }
	stopRunner := runRoundsBackground(ctx, cancel, st, sk, now, feed.Rounds{Owner: "fe/1/me"})
	defer stopRunner()
	timeout := time.After(20 * time.Second)
	select {
	case <-arrived:
	case <-timeout:
		t.Fatal("the round didn't ask the server")
	}
	close(st.arm)
	// The stale listing (or one under way, then the stale one), then
	// more, each a tick apart: a round started again from the stale one
	// has asked the server by the last of them.
	for range 30 {
		select {
		case <-st.listings:
		case <-timeout:
			t.Fatal("RunRounds didn't list the feeds")
		}
		mu.Lock()
		again := asked > 1
		mu.Unlock()
		if again {
			break
		}
	}
	if f := storedFeed(t, st.Store); f.Added != 1 || !f.RoundStarted.IsZero() {
		t.Fatalf("the round ended with %+v", f.FeedPosition)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked != 1 {
		t.Errorf("the server was asked %d times: the round that ended during a listing was started again from it, before the feed's interval", asked)
	}
}

// stopSink is a sink, a feed.Stopper, whose feeds are stopped once stop
// is closed.
type stopSink struct {
	*signalSink
	stop chan struct{}
}

func (s *stopSink) Stopped(ctx context.Context, f feed.Feed) (string, error) {
	select {
	case <-s.stop:
		return "stopped: its member was removed", nil
	default:
		return "", nil
	}
}

// TestRunRecordsStopAfterRound: a feed stopped while its round runs
// (its member removed meanwhile: the stop couldn't be recorded then, the
// round held the feed) has its stop recorded as the round ends, not at
// its next round, an interval (or a backoff) later.
func TestRunRecordsStopAfterRound(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{})
	var once sync.Once
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		w.Write([]byte(`{"more":false,"objects":[]}`))
	}))
	defer hs.Close()
	base := newStore(t, hs.URL)
	st := &listedStore{Store: base, listed: make(chan struct{})}
	sk := &stopSink{signalSink: &signalSink{sink: sink{stored: map[string]int{}}, got: make(chan struct{}, 1)}, stop: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := func() time.Time { return epoch }
	stopRunner := runRoundsBackground(ctx, cancel, st, sk, now, feed.Rounds{Owner: "fe/1/me"})
	defer stopRunner()
	timeout := time.After(20 * time.Second)
	select {
	case <-arrived:
	case <-timeout:
		t.Fatal("the round didn't ask the server")
	}
	close(sk.stop)
	close(release)
	for {
		f := storedFeed(t, base)
		if f.RoundStarted.IsZero() && f.LastError != "" {
			if f.LastError != "stopped: its member was removed" {
				t.Fatalf("after the round: %+v", f.FeedPosition)
			}
			return
		}
		select {
		case <-st.listed:
		case <-timeout:
			t.Fatalf("the stop wasn't recorded after the round: %+v", f.FeedPosition)
		}
	}
}

// TestRunStoppedFeedEndsItsDrippingRound: a feed stopped (its member
// removed) while its server drips a page had that round go on for as
// long as the server kept dripping (hours), its status "running", the
// server still asked. The round ends at its next heartbeat, counted as
// no failure, and the stop is recorded.
func TestRunStoppedFeedEndsItsDrippingRound(t *testing.T) {
	defer feed.SetStallTimeout(time.Hour, 1)()
	dripping := make(chan struct{}, 1)
	hs := dripServer(t, dripping)
	base := newStore(t, hs.URL)
	st := &listedStore{Store: base, listed: make(chan struct{})}
	sk := &stopSink{signalSink: &signalSink{sink: sink{stored: map[string]int{}}, got: make(chan struct{}, 1)}, stop: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := func() time.Time { return epoch }
	stopRunner := runRoundsBackground(ctx, cancel, st, sk, now, feed.Rounds{Owner: "fe/1/me", Heartbeat: 10 * time.Millisecond, Lease: time.Minute})
	defer stopRunner()
	timeout := time.After(20 * time.Second)
	select {
	case <-dripping:
	case <-timeout:
		t.Fatal("the round didn't ask the server")
	}
	close(sk.stop)
	for {
		f := storedFeed(t, base)
		if f.RoundStarted.IsZero() && f.LastError != "" {
			if f.LastError != "stopped: its member was removed" || f.Failures != 0 {
				t.Fatalf("after the stop: %+v", f.FeedPosition)
			}
			return
		}
		select {
		case <-st.listed:
		case <-timeout:
			t.Fatalf("the stopped feed's dripping round went on: %+v", f.FeedPosition)
		}
	}
}

// runRoundsBackground sets up a background round runner for a test: it runs
// feed.RunRounds(ctx, st, sk, now, time.Millisecond, r) in a goroutine,
// logging nothing, and returns what stops it: cancel (ctx's), then wait
// until RunRounds has returned.
func runRoundsBackground(ctx context.Context, cancel context.CancelFunc, st feed.Store, sk feed.Sink, now func() time.Time, r feed.Rounds) (stop func()) {
	done := make(chan error, 1)
	go func() {
		done <- feed.RunRounds(ctx, st, sk, now, time.Millisecond, r, func(string, ...any) {})
	}()
	return func() {
		cancel()
		<-done
	}
}

// runBackground is [runRoundsBackground] for feed.Run: it runs feed.Run(ctx, st, sk,
// now, time.Millisecond) in a goroutine, logging nothing, and returns
// what cancels ctx and waits until Run has returned.
func runBackground(ctx context.Context, cancel context.CancelFunc, st feed.Store, sk feed.Sink, now func() time.Time) (stop func()) {
	done := make(chan error, 1)
	go func() {
		done <- feed.Run(ctx, st, sk, now, time.Millisecond, func(string, ...any) {})
	}()
	return func() {
		cancel()
		<-done
	}
}

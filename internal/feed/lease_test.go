package feed_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
)

// storedFeed returns the feed "t" of st.
func storedFeed(t *testing.T, st feed.Store) feed.Feed {
	t.Helper()
	fs, err := st.Feeds(context.Background())
	if err != nil || len(fs) != 1 {
		t.Fatalf("Feeds = %+v, %v", fs, err)
	}
	return fs[0]
}

// TestInterruptedOnlyAfterLease: a round left marked by a process that
// stopped renewing its lease (killed) is not another process's to end or
// to run while the lease lasts: Interrupted leaves it, and a round of
// another owner is refused (ErrBusy) without asking the server. At the
// lease's expiry it counts as interrupted, once, naming the process, and
// the feed's next round may then be claimed.
func TestInterruptedOnlyAfterLease(t *testing.T) {
	ctx := context.Background()
	var requests atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer hs.Close()
	st := newStore(t, hs.URL)
	clock := epoch
	now := func() time.Time { return clock }
	dead := store.RoundLease{Owner: "fe1/4242/dead", Started: epoch, Expires: epoch.Add(feed.DefaultRoundLease)}
	if _, ok, err := st.ClaimFeedRound(ctx, "t", dead); !ok || err != nil {
		t.Fatalf("ClaimFeedRound: %v %v", ok, err)
	}

	clock = dead.Expires.Add(-time.Millisecond)
	if names, err := feed.Interrupted(ctx, st, now, clock); len(names) != 0 || err != nil {
		t.Fatalf("Interrupted while the lease lasts = %v, %v", names, err)
	}
	f := storedFeed(t, st)
	if _, err := feed.PollRound(ctx, st, &sink{stored: map[string]int{}}, f, now, nil, feed.Rounds{Owner: "fe2/1/live"}); !errors.Is(err, feed.ErrBusy) || !strings.Contains(err.Error(), dead.Owner) {
		t.Fatalf("PollRound of a feed another process holds = %v, want ErrBusy naming it", err)
	}
	if f := storedFeed(t, st); f.Failures != 0 || f.LastError != "" || !f.RoundStarted.Equal(epoch) || f.RoundOwner != dead.Owner || requests.Load() != 0 {
		t.Fatalf("a held feed changed: %+v, %d requests", f.FeedPosition, requests.Load())
	}
	if s := feed.StalledAt(f, clock); s != "" {
		t.Errorf("StalledAt of a round whose lease lasts, 30 s old = %q", s)
	}

	clock = dead.Expires
	if s := feed.StalledAt(storedFeed(t, st), clock); !strings.Contains(s, "lease expired") || !strings.Contains(s, dead.Owner) {
		t.Errorf("StalledAt of a round whose lease expired = %q", s)
	}
	names, err := feed.Interrupted(ctx, st, now, clock)
	if len(names) != 1 || err != nil {
		t.Fatalf("Interrupted at the lease's expiry = %v, %v", names, err)
	}
	f = storedFeed(t, st)
	if f.Failures != 1 || !strings.HasPrefix(f.LastError, feed.InterruptedPrefix) || !strings.Contains(f.LastError, dead.Owner) ||
		!f.RoundStarted.IsZero() || f.RoundOwner != "" || !f.LastPoll.Equal(clock) {
		t.Fatalf("after the interruption: %+v", f.FeedPosition)
	}
	if names, err := feed.Interrupted(ctx, st, now, clock.Add(time.Hour)); len(names) != 0 || err != nil {
		t.Fatalf("Interrupted again = %v, %v", names, err)
	}
	if _, err := feed.PollRound(ctx, st, &sink{stored: map[string]int{}}, f, now, nil, feed.Rounds{Owner: "fe2/1/live"}); errors.Is(err, feed.ErrBusy) || requests.Load() != 1 {
		t.Fatalf("the next round = %v, %d requests; want it run", err, requests.Load())
	}
}

// TestPollRoundHeartbeat: a round whose server sends its page slowly
// renews its lease every heartbeat and records the bytes received so
// far and when the last came, so that feed status tells a slow round
// that progresses (not stalled, however long it runs) from one that
// receives nothing; the lease and transfer are cleared with the round.
func TestPollRoundHeartbeat(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"more": false, "objects": [`))
		w.(http.Flusher).Flush()
		<-release
		w.Write([]byte(`]}`))
	}))
	defer hs.Close()
	defer close(release) // before hs.Close, which waits for the handler
	st := newStore(t, hs.URL)
	r := feed.Rounds{Owner: "fe1/1/x", Lease: time.Hour, Heartbeat: 5 * time.Millisecond}
	done := make(chan error, 1)
	go func() {
		_, err := feed.PollRound(ctx, st, &sink{stored: map[string]int{}}, storedFeed(t, st), time.Now, nil, r)
		done <- err
	}()
	var f feed.Feed
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		f = storedFeed(t, st)
		if f.RoundBytes > 0 && !f.RoundActive.IsZero() && f.RoundExpires.After(f.RoundStarted.Add(time.Hour)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat recorded: %+v", f.FeedPosition)
		}
	}
	if f.RoundOwner != r.Owner || f.RoundBytes != int64(len(`{"more": false, "objects": [`)) {
		t.Errorf("heartbeat: %+v", f.FeedPosition)
	}
	// Bytes came a moment ago: progressing. Nothing more for the
	// activity window: stalled, though the lease is renewed.
	if s := feed.StalledAt(f, f.RoundActive.Add(feed.ActivityWindow-time.Second)); s != "" {
		t.Errorf("a round whose bytes come is stalled: %q", s)
	}
	if s := feed.StalledAt(f, f.RoundActive.Add(feed.ActivityWindow)); !strings.Contains(s, "nothing has come") {
		t.Errorf("a round that receives nothing: stalled = %q", s)
	}
	release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f = storedFeed(t, st)
	if !f.RoundStarted.IsZero() || f.RoundOwner != "" || !f.RoundExpires.IsZero() || !f.RoundActive.IsZero() || f.RoundBytes != 0 || f.Failures != 0 {
		t.Fatalf("after the round: %+v", f.FeedPosition)
	}
}

// TestPollRoundLeaseLost: a round whose lease another process counted as
// expired (the round's process paused past it) stops at its next
// heartbeat with ErrLeaseLost, and writes nothing over what the other
// process recorded.
func TestPollRoundLeaseLost(t *testing.T) {
	ctx := context.Background()
	held := make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held <- struct{}{}
		<-r.Context().Done() // until the round gives up
	}))
	defer hs.Close()
	st := newStore(t, hs.URL)
	done := make(chan error, 1)
	go func() {
		_, err := feed.PollRound(ctx, st, &sink{stored: map[string]int{}}, storedFeed(t, st), time.Now, nil, feed.Rounds{Owner: "paused", Lease: time.Hour, Heartbeat: 5 * time.Millisecond})
		done <- err
	}()
	<-held
	f := storedFeed(t, st)
	if ok, err := st.InterruptFeedRound(ctx, "t", f.RoundStarted, f.RoundExpires.Add(time.Hour), "interrupted: by the test"); !ok || err != nil {
		t.Fatalf("InterruptFeedRound: %v %v", ok, err)
	}
	if err := <-done; !errors.Is(err, feed.ErrLeaseLost) {
		t.Fatalf("PollRound = %v, want ErrLeaseLost", err)
	}
	if f := storedFeed(t, st); f.Failures != 1 || f.LastError != "interrupted: by the test" || !f.RoundStarted.IsZero() || f.RoundOwner != "" {
		t.Fatalf("after the lost round: %+v", f.FeedPosition)
	}
}

// TestRunRoundsTakesBackItsOwnMark: a round whose end this process
// couldn't record (the store down at that moment) leaves the feed marked
// with this process's own lease. The next tick's round takes it back at
// once; the feed isn't skipped as another process's until the lease
// expires and then counted as a crashed round.
func TestRunRoundsTakesBackItsOwnMark(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var requests atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		cancel()
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer hs.Close()
	st := newStore(t, hs.URL)
	me := store.RoundLease{Owner: "fe1/1/me", Started: epoch, Expires: epoch.Add(feed.DefaultRoundLease)}
	if _, ok, err := st.ClaimFeedRound(context.Background(), "t", me); !ok || err != nil {
		t.Fatalf("ClaimFeedRound: %v %v", ok, err)
	}
	clock := epoch.Add(time.Second)
	now := func() time.Time { return clock }
	done := make(chan error, 1)
	go func() {
		done <- feed.RunRounds(ctx, st, &sink{stored: map[string]int{}}, now, time.Millisecond, feed.Rounds{Owner: me.Owner}, func(string, ...any) {})
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cancel()
		<-done
	}
	if requests.Load() == 0 {
		t.Fatal("the feed marked with this process's own lease was skipped")
	}
	if f := storedFeed(t, st); strings.HasPrefix(f.LastError, feed.InterruptedPrefix) {
		t.Fatalf("counted as interrupted: %+v", f.FeedPosition)
	}
}

// TestRunRoundsEndsItsOwnExpiredMark: a round mark of this process's own
// (its end not recorded, the store down then) whose lease has expired,
// of a feed not due for an hour, was counted by this process's next look
// as interrupted ("the node was killed", a failed round): RunRounds runs
// its rounds itself, so it knows none of its own runs for that feed. It
// is ended instead, counted as nothing, as the peers' worker does.
func TestRunRoundsEndsItsOwnExpiredMark(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var requests atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer hs.Close()
	st := newStoreWith(t, feed.Feed{Name: "t", URL: hs.URL, Collection: "c", Into: "l", Member: "m", Overlap: -1, Interval: time.Hour})
	f := storedFeed(t, st)
	f.LastPoll = epoch
	if err := st.RecordPoll(ctx, "t", f.FeedPosition); err != nil {
		t.Fatal(err)
	}
	me := store.RoundLease{Owner: "fe1/1/me", Started: epoch, Expires: epoch.Add(time.Second)}
	if _, ok, err := st.ClaimFeedRound(ctx, "t", me); !ok || err != nil {
		t.Fatalf("ClaimFeedRound: %v %v", ok, err)
	}
	clock := epoch.Add(time.Minute) // the lease expired; the feed is due in an hour
	now := func() time.Time { return clock }
	done := make(chan error, 1)
	go func() {
		done <- feed.RunRounds(ctx, st, &sink{stored: map[string]int{}}, now, time.Millisecond, feed.Rounds{Owner: me.Owner}, func(string, ...any) {})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f = storedFeed(t, st)
		if f.RoundStarted.IsZero() || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if strings.HasPrefix(f.LastError, feed.InterruptedPrefix) || f.Failures != 0 {
		t.Fatalf("this process's own mark was counted as a crash: failures %d, last error %q", f.Failures, f.LastError)
	}
	if !f.RoundStarted.IsZero() || requests.Load() != 0 {
		t.Fatalf("the mark stays (%v), or the feed not due was polled (%d requests)", f.RoundStarted, requests.Load())
	}
}

// claimAcknowledgedLate is a store whose claim of a round is committed
// but answered only after the round's context ended, as PostgreSQL's
// commit answered after a cancellation is: the claim is made, and the
// caller is told the context's error.
type claimAcknowledgedLate struct {
	*sqlite.Store
	cancel context.CancelFunc
}

func (s claimAcknowledgedLate) ClaimFeedRound(ctx context.Context, name string, l store.RoundLease) (store.FeedPosition, bool, error) {
	pos, ok, err := s.Store.ClaimFeedRound(context.WithoutCancel(ctx), name, l)
	s.cancel()
	if err == nil && ctx.Err() != nil {
		return pos, ok, ctx.Err()
	}
	return pos, ok, err
}

// TestPollRoundClaimAnsweredAfterStop: a node stopping while a round
// claims its feed, with the store committing the claim, left the feed
// marked by a round that never ran nor ended (its claim had "failed"),
// which a restarted node, another owner, skipped until the lease expired
// and then counted as a crash. The claim is not cut short by the stop:
// the round, made, ends at once and clears its mark.
func TestPollRoundClaimAnsweredAfterStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not reached", http.StatusInternalServerError)
	}))
	defer hs.Close()
	st := newStore(t, hs.URL)
	late := claimAcknowledgedLate{Store: st, cancel: cancel}
	if _, err := feed.PollRound(ctx, late, &sink{stored: map[string]int{}}, storedFeed(t, st), time.Now, nil, feed.Rounds{Owner: "stopping"}); err == nil {
		t.Fatal("a round of a stopped node succeeded")
	}
	if f := storedFeed(t, st); !f.RoundStarted.IsZero() || f.RoundOwner != "" || f.Failures != 0 {
		t.Fatalf("after a round stopped as it claimed the feed: %+v; want no mark and no failure", f.FeedPosition)
	}
}

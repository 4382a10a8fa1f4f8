package feed_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
)

// stopAfterRound is a sink whose feed is stopped; when RunRounds first
// asks, another front end (owner "fe2") has just run a round of the feed
// since RunRounds listed it: the feed's position moved on in the store.
// At its second question (RunRounds's next tick) it ends RunRounds.
type stopAfterRound struct {
	t      *testing.T
	st     feed.Store
	cancel context.CancelFunc
	asked  int
}

func (s *stopAfterRound) Submit(context.Context, string, string, []json.RawMessage) (store.Status, error) {
	s.t.Error("a stopped feed's objects were submitted")
	return store.Status{}, nil
}

func (s *stopAfterRound) Stopped(ctx context.Context, f feed.Feed) (string, error) {
	s.asked++
	if s.asked > 1 {
		s.cancel()
		return "", nil
	}
	l := store.RoundLease{Owner: "fe2/2/other", Started: epoch, Expires: epoch.Add(feed.DefaultRoundLease)}
	pos, ok, err := s.st.ClaimFeedRound(ctx, f.Name, l)
	if !ok || err != nil {
		s.t.Fatalf("ClaimFeedRound by the other front end: %v %v", ok, err)
	}
	pos.Pages, pos.Added, pos.Next = 5, 40, "cursor-5"
	pos.HighWater = epoch.Add(time.Hour)
	pos.RoundStarted, pos.RoundFrom = time.Time{}, 0
	if err := s.st.RecordPoll(ctx, f.Name, pos); err != nil {
		s.t.Fatalf("RecordPoll by the other front end: %v", err)
	}
	return "its member was revoked", nil
}

// TestStopKeepsAnotherFrontEndsPosition: a feed found stopped is
// recorded so from the feed as stored then, not from RunRounds's listing
// of it, which another front end's round may have moved on since (a
// listing is as old as the rounds of the feeds before it): the position
// that round recorded doesn't go back.
func TestStopKeepsAnotherFrontEndsPosition(t *testing.T) {
	st := newStore(t, "http://127.0.0.1:1/unused")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sk := &stopAfterRound{t: t, st: st, cancel: cancel}
	// Each look is a day later, so that the feed is due at every tick.
	var days int64
	now := func() time.Time { days++; return epoch.Add(time.Duration(days) * 24 * time.Hour) }
	feed.RunRounds(ctx, st, sk, now, time.Millisecond, feed.Rounds{Owner: "fe1/1/me"}, func(msg string, args ...any) { t.Log(append([]any{msg}, args...)...) })
	f := storedFeed(t, st)
	if f.Pages != 5 || f.Added != 40 || f.Next != "cursor-5" || !f.HighWater.Equal(epoch.Add(time.Hour)) {
		t.Errorf("the other front end's position went back: %+v", f.FeedPosition)
	}
	if f.LastError != "its member was revoked" || f.Failures != 0 || !f.RoundStarted.IsZero() || f.RoundOwner != "" {
		t.Errorf("the stop isn't recorded as it should: %+v", f.FeedPosition)
	}
}

// revokedBeforeClaim is a store on which the feed's member is revoked
// just before RunRounds's claim of a round, after RunRounds found the
// feed followed: the revocation stops the sink's feeds (stop) and
// records the stop under a claim of its own, as the node's RevokeMember
// does (feed.RecordStop), which ends before RunRounds's claim is made.
type revokedBeforeClaim struct {
	feed.Store
	t      *testing.T
	stop   chan struct{}
	once   sync.Once
	reason string
}

func (s *revokedBeforeClaim) ClaimFeedRound(ctx context.Context, name string, l store.RoundLease) (store.FeedPosition, bool, error) {
	s.once.Do(func() {
		close(s.stop)
		fs, err := s.Store.Feeds(ctx)
		if err != nil || len(fs) != 1 {
			s.t.Fatalf("Feeds: %v %v", fs, err)
		}
		if err := feed.RecordStop(ctx, s.Store, fs[0], func() time.Time { return epoch }, s.reason, feed.Rounds{Owner: "node/revocation"}); err != nil {
			s.t.Errorf("RecordStop: %v", err)
		}
	})
	return s.Store.ClaimFeedRound(ctx, name, l)
}

// TestRunAsksNothingOfFeedStoppedBeforeClaim: a member revoked between
// RunRounds's look at its feed (followed then) and the round's claim had
// its stop recorded by the revocation, and then the round ran anyway:
// the stopped feed's server was asked once more, after its stop showed
// in the feed's status (TestFeedMemberRemovedStopsPolling, PostgreSQL).
// The round asks again under its claim and ends before asking the
// server, recording and logging nothing more.
func TestRunAsksNothingOfFeedStoppedBeforeClaim(t *testing.T) {
	var asked atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		w.Write([]byte(`{"more":false,"objects":[]}`))
	}))
	defer hs.Close()
	const reason = "stopped: its member was removed"
	base := newStore(t, hs.URL)
	st := &revokedBeforeClaim{Store: &listedStore{Store: base, listed: make(chan struct{})}, t: t, stop: make(chan struct{}), reason: reason}
	sk := &stopSink{signalSink: &signalSink{sink: sink{stored: map[string]int{}}, got: make(chan struct{}, 1)}, stop: st.stop}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var logged []string
	logf := func(msg string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, msg)
	}
	// Each look is a day later: the feed is due at every listing.
	var days atomic.Int64
	now := func() time.Time { return epoch.Add(time.Duration(days.Add(1)) * 24 * time.Hour) }
	done := make(chan error, 1)
	go func() {
		done <- feed.RunRounds(ctx, st, sk, now, time.Millisecond, feed.Rounds{Owner: "fe/1/me"}, logf)
	}()
	timeout := time.After(20 * time.Second)
	// Listings after the revocation: each would start a round of a feed
	// still taken for followed.
	for listings := 0; listings < 10; {
		select {
		case <-st.Store.(*listedStore).listed:
			select {
			case <-st.stop:
				listings++
			default:
			}
		case <-timeout:
			t.Fatal("RunRounds didn't list the feeds")
		}
	}
	cancel()
	<-done
	if n := asked.Load(); n != 0 {
		t.Errorf("the server of the feed stopped before the round's claim was asked %d times", n)
	}
	f := storedFeed(t, base)
	if f.LastError != reason || f.Failures != 0 || !f.RoundStarted.IsZero() || f.RoundOwner != "" {
		t.Errorf("the feed as stored: %+v", f.FeedPosition)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 0 {
		t.Errorf("logged %q: the stop was recorded by the revocation", logged)
	}
}

package feed_test

import (
	"context"
	"encoding/json"
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

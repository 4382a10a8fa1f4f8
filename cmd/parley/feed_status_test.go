package main

import (
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
)

// TestFeedStatusRound: a round recorded as running (by parley serve, or
// left so by a node killed mid-round) shows as running, since when, and
// from how many pages; a Retry-After alone shows as next_round.
func TestFeedStatusRound(t *testing.T) {
	started := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	f := feed.Feed{Name: "t", Interval: time.Minute}
	f.Pages, f.RoundStarted, f.RoundFrom = 9, started, 4
	f.LastPoll, f.NotBefore = started.Add(-time.Hour), started.Add(time.Hour)
	s := statusOf(f)
	if s.Round != "running" || s.RoundStarted == nil || *s.RoundStarted != store.FormatTime(started) || s.RoundFrom == nil || *s.RoundFrom != 4 {
		t.Errorf("running round: %+v", s)
	}
	if s.FailedRounds != 0 || s.NextRound == nil || *s.NextRound != store.FormatTime(started.Add(time.Hour)) {
		t.Errorf("next round after a Retry-After: %+v", s)
	}
	f.RoundStarted, f.RoundFrom, f.NotBefore = time.Time{}, 0, time.Time{}
	if s := statusOf(f); s.Round != "idle" || s.RoundStarted != nil || s.RoundFrom != nil || s.NextRound != nil {
		t.Errorf("idle feed: %+v", s)
	}
}

// TestFeedStatusRoundLease: a running round shows the process that runs
// it, its lease, and its transfer; it is stalled when its lease expired,
// or when nothing came for a minute, not while its bytes keep coming.
func TestFeedStatusRoundLease(t *testing.T) {
	started := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	f := feed.Feed{Name: "t", Interval: time.Minute}
	f.RoundStarted, f.RoundOwner, f.RoundExpires = started, "fe1/42/ab", started.Add(10*time.Minute)
	f.RoundActive, f.RoundBytes = started.Add(5*time.Minute), 123456
	s := statusAt(f, f.RoundActive.Add(time.Second))
	if s.RoundOwner != "fe1/42/ab" || s.RoundExpires == nil || *s.RoundExpires != store.FormatTime(f.RoundExpires) ||
		s.RoundBytes == nil || *s.RoundBytes != 123456 || s.RoundActive == nil || *s.RoundActive != store.FormatTime(f.RoundActive) || s.Stalled != "" {
		t.Errorf("a slow round that progresses: %+v", s)
	}
	if s := statusAt(f, f.RoundActive.Add(feed.ActivityWindow)); s.Stalled == "" {
		t.Errorf("a round that receives nothing for a minute: %+v", s)
	}
	if s := statusAt(f, f.RoundExpires); s.Stalled == "" {
		t.Errorf("a round whose lease expired: %+v", s)
	}
}

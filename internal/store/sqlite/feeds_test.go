package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
)

// TestFeeds: feeds and their positions survive a reopen exactly (zero
// times stay zero), a taken name is a conflict, and a position for an
// unknown feed is not found, changing nothing.
func TestFeeds(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, store.Member{ID: "identity--f", Name: "feed:ics", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "c1", Title: "ics", Writers: []string{"identity--f"}, Relay: true}); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	f := feed.Feed{Name: "ics", URL: "https://attack-taxii.mitre.org/api/v21/", Collection: "x", Into: "c1", Member: "identity--f",
		Auth: feed.AuthBasic, User: "u", SecretFile: "/etc/pw", Interval: time.Hour, Created: created}
	for _, tc := range []struct {
		name string
		f    feed.Feed
		want error
	}{
		{"new", f, nil},
		{"taken name", f, store.ErrConflict},
		{"no url", feed.Feed{Name: "b", Collection: "x", Into: "c1", Member: "identity--f"}, store.ErrInvalid},
	} {
		if err := s.AddFeed(ctx, tc.f); !errors.Is(err, tc.want) {
			t.Errorf("%s: AddFeed = %v, want %v", tc.name, err, tc.want)
		}
	}
	p := feed.Position{AddedAfter: created, Next: "17", HighWater: created.Add(time.Second), LastPoll: created.Add(time.Minute),
		LastError: "boom", Added: 5, Existing: 2, Failed: 1, Pages: 3, LastFailure: "attack-pattern--x 2026-01-01T00:00:00.000Z: conflict"}
	if err := s.RecordPoll(ctx, "ics", p); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordPoll(ctx, "nope", p); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordPoll of an unknown feed = %v", err)
	}
	s.Close()
	if s, err = Open(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fs, err := s.Feeds(ctx)
	if err != nil || len(fs) != 1 {
		t.Fatalf("Feeds = %+v, %v", fs, err)
	}
	want := f
	want.FeedPosition = p
	if !reflect.DeepEqual(fs[0], want) {
		t.Errorf("feed read back\n%+v\nwant\n%+v", fs[0], want)
	}
	// The zero position reads back as zero.
	if err := s.RecordPoll(ctx, "ics", feed.Position{}); err != nil {
		t.Fatal(err)
	}
	if fs, _ = s.Feeds(ctx); !reflect.DeepEqual(fs[0].FeedPosition, feed.Position{}) {
		t.Errorf("zero position read back as %+v", fs[0].FeedPosition)
	}
}

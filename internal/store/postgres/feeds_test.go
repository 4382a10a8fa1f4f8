package postgres

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestFeeds: feeds and their positions survive a reopen exactly (zero
// times stay zero, nanoseconds kept), a taken name is a conflict, an
// unknown member or collection is not found, and a position for an
// unknown feed is not found, changing nothing.
func TestFeeds(t *testing.T) {
	ctx := context.Background()
	url := testURL(t)
	s := openTest(t, url, Options{})
	if err := s.AddMember(ctx, store.Member{ID: "identity--f", Name: "feed:ics", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "c1", Title: "ics", Writers: []string{"identity--f"}, Relay: true}); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	f := store.Feed{Name: "ics", URL: "https://attack-taxii.mitre.org/api/v21/", Collection: "x", Into: "c1", Member: "identity--f",
		Auth: "basic", User: "u", SecretFile: "/etc/pw", Interval: time.Hour, Created: created}
	unknown := f
	unknown.Name, unknown.Into = "other", "nope"
	for _, tc := range []struct {
		name string
		f    store.Feed
		want error
	}{
		{"new", f, nil},
		{"taken name", f, store.ErrConflict},
		{"no url", store.Feed{Name: "b", Collection: "x", Into: "c1", Member: "identity--f"}, store.ErrInvalid},
		{"unknown collection", unknown, store.ErrNotFound},
	} {
		if err := s.AddFeed(ctx, tc.f); !errors.Is(err, tc.want) {
			t.Errorf("%s: AddFeed = %v, want %v", tc.name, err, tc.want)
		}
	}
	p := store.FeedPosition{AddedAfter: created, Next: "17", HighWater: created.Add(time.Second), LastPoll: created.Add(time.Minute),
		LastError: "boom", Added: 5, Existing: 2, Failed: 1, Pages: 3, LastFailure: "attack-pattern--x 2026-01-01T00:00:00.000Z: conflict"}
	if err := s.RecordPoll(ctx, "ics", p); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordPoll(ctx, "nope", p); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordPoll of an unknown feed = %v", err)
	}
	s.Close()
	s = openTest(t, url, Options{})
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
	if err := s.RecordPoll(ctx, "ics", store.FeedPosition{}); err != nil {
		t.Fatal(err)
	}
	if fs, _ = s.Feeds(ctx); !reflect.DeepEqual(fs[0].FeedPosition, store.FeedPosition{}) {
		t.Errorf("zero position read back as %+v", fs[0].FeedPosition)
	}
}

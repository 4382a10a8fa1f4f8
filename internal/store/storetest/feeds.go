package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// testFeeds: feeds and their positions read back exactly (zero times stay
// zero), ordered by name; a taken name is a conflict, a feed missing a
// field is invalid, an unknown collection or member is not found, and a
// position for an unknown feed is not found, changing nothing.
func testFeeds(t *testing.T, s store.Store) {
	fm := member("feed:ics")
	fm.PublicKey = nil
	must(t, s.AddMember(ctx, fm))
	must(t, s.AddCollection(ctx, store.Collection{ID: "c1", Title: "ics", Writers: []string{fm.ID}, Relay: true, Signatures: store.SignaturesOptional}))
	if fs, err := s.Feeds(ctx); err != nil || len(fs) != 0 {
		t.Fatalf("Feeds of a fresh store = %+v, %v", fs, err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	f := store.Feed{Name: "ics", URL: "https://attack-taxii.mitre.org/api/v21/", Collection: "x", Into: "c1", Member: fm.ID,
		Auth: "basic", User: "u", SecretFile: "/etc/pw", CAFile: "/etc/ca.pem", Interval: time.Hour, Reread: 36 * time.Hour, Overlap: 20 * time.Minute, Created: created}
	a := store.Feed{Name: "attack", URL: "https://example.org/", Collection: "y", Into: "c1", Member: fm.ID, Interval: time.Minute, Reread: -1, Overlap: -1, Created: created}
	for _, tc := range []struct {
		name string
		f    store.Feed
		want error
	}{
		{"new", f, nil},
		{"another", a, nil},
		{"taken name", f, store.ErrConflict},
		{"no url", store.Feed{Name: "b", Collection: "x", Into: "c1", Member: fm.ID}, store.ErrInvalid},
		{"no name", store.Feed{URL: "https://example.org/", Collection: "x", Into: "c1", Member: fm.ID}, store.ErrInvalid},
		{"unknown collection", store.Feed{Name: "other", URL: "https://example.org/", Collection: "x", Into: "nope", Member: fm.ID}, store.ErrNotFound},
		{"unknown member", store.Feed{Name: "other", URL: "https://example.org/", Collection: "x", Into: "c1", Member: "identity--nobody"}, store.ErrNotFound},
	} {
		if err := s.AddFeed(ctx, tc.f); !errors.Is(err, tc.want) {
			t.Errorf("%s: AddFeed = %v, want %v", tc.name, err, tc.want)
		}
	}
	p := store.FeedPosition{AddedAfter: created, Next: "17", HighWater: created.Add(time.Second), FullRead: created.Add(-time.Hour), ReadTo: created.Add(-time.Second + 7), LastPoll: created.Add(time.Minute),
		LastError: "boom", Added: 5, Existing: 2, Failed: 1, Pages: 3, LastFailure: "attack-pattern--x 2026-01-01T00:00:00.000Z: conflict",
		Failures: 4, NotBefore: created.Add(time.Hour + 9), RoundStarted: created.Add(2*time.Minute + 11), RoundFrom: 2}
	must(t, s.RecordPoll(ctx, "ics", p))
	if err := s.RecordPoll(ctx, "nope", p); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordPoll of an unknown feed = %v", err)
	}
	fs, err := s.Feeds(ctx)
	if err != nil || len(fs) != 2 || fs[0].Name != "attack" || fs[1].Name != "ics" {
		t.Fatalf("Feeds = %+v, %v", fs, err)
	}
	want := f
	want.FeedPosition = p
	if !equalFeed(fs[1], want) {
		t.Errorf("feed read back\n%+v\nwant\n%+v", fs[1], want)
	}
	if !equalFeed(fs[0], a) {
		t.Errorf("feed without a poll read back\n%+v\nwant\n%+v", fs[0], a)
	}
	// The zero position reads back as zero.
	must(t, s.RecordPoll(ctx, "ics", store.FeedPosition{}))
	if fs, _ = s.Feeds(ctx); !reflect.DeepEqual(fs[1].FeedPosition, store.FeedPosition{}) {
		t.Errorf("zero position read back as %+v", fs[1].FeedPosition)
	}
}

// equalFeed compares feeds with times by instant (an implementation may
// return them in another location).
func equalFeed(a, b store.Feed) bool {
	times := func(f *store.Feed) []time.Time {
		ts := []time.Time{f.Created, f.AddedAfter, f.HighWater, f.FullRead, f.ReadTo, f.LastPoll, f.NotBefore, f.RoundStarted}
		f.Created, f.AddedAfter, f.HighWater, f.FullRead, f.ReadTo, f.LastPoll, f.NotBefore, f.RoundStarted = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
		return ts
	}
	ta, tb := times(&a), times(&b)
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	return reflect.DeepEqual(a, b)
}

package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestFeedReadToMigration opens a schema made before migration 503
// holding a feed in the middle of a round (a cursor, a high-water mark):
// the upgrade keeps its position, with no progress of the round (read_to
// zero: the round goes on from its added_after), and records one after.
func TestFeedReadToMigration(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	saved := migrations
	var old []migration
	for _, m := range migrations {
		if m.Version != 503 {
			old = append(old, m)
		}
	}
	migrations = old
	s, err := Open(ctx, u, Options{MaxConns: 2})
	migrations = saved
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, store.Member{ID: "m", Name: "feed:t", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "l", Title: "l", Writers: []string{"m"}, Relay: true, Signatures: store.SignaturesOptional}); err != nil {
		t.Fatal(err)
	}
	// The row as the version before 503 wrote it.
	if _, err := s.pool.Exec(ctx, `INSERT INTO feeds(name, url, collection, into_coll, member, auth, username, secret_file, ca_file, interval_ns, created,
		added_after, next, high_water, last_poll, last_error, added, existing, failed, pages, last_failure, reread_ns, full_read)
		VALUES ('t', 'https://taxii.example/', 'c', 'l', 'm', '', '', '', '', 0, '2026-01-01T00:00:00.000000000Z',
		'', '0.14', '2026-01-01T00:00:00.040000000Z', '2026-01-03T00:00:00.000000000Z', '', 14, 0, 0, 2, '', 0, '2026-01-03T00:00:00.000000000Z')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, u, Options{})
	fs, err := s.Feeds(ctx)
	if err != nil || len(fs) != 1 {
		t.Fatalf("Feeds after the upgrade = %+v, %v", fs, err)
	}
	hw := time.Date(2026, 1, 1, 0, 0, 0, 40_000_000, time.UTC)
	p := fs[0].FeedPosition
	if p.Next != "0.14" || !p.HighWater.Equal(hw) || !p.AddedAfter.IsZero() || !p.ReadTo.IsZero() || p.Added != 14 || p.Pages != 2 {
		t.Fatalf("position after the upgrade: %+v", p)
	}
	p.ReadTo = time.Date(2026, 1, 1, 0, 0, 0, 13_000_000, time.UTC)
	if err := s.RecordPoll(ctx, "t", p); err != nil {
		t.Fatal(err)
	}
	if fs, err = s.Feeds(ctx); err != nil || !fs[0].ReadTo.Equal(p.ReadTo) {
		t.Fatalf("read_to after RecordPoll: %+v, %v", fs, err)
	}
}

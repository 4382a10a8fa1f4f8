package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestUsageMigration checks that the member_usage migration counts what
// was stored before it existed.
func TestUsageMigration(t *testing.T) {
	ctx := context.Background()
	s, alice, coll := groupStore(t)
	raw := []byte(`{"id":"indicator--1","x":1}`)
	if _, err := s.Submit(ctx, store.Submission{StatusID: "s1", Collection: coll, Member: alice.ID, Received: time.Now(), Items: []store.Item{{
		Object: store.Object{ID: "indicator--1", Type: "indicator", SpecVersion: "2.1", Version: time.Now(), Raw: raw},
		Salt:   []byte{1}, Entry: func(store.Object) ([]byte, error) { return []byte("{}"), nil },
	}}}); err != nil {
		t.Fatal(err)
	}
	w, _ := s.DB()
	// Undo migration 410 and apply its SQL again over the stored object.
	if _, err := w.Exec(`DROP TRIGGER objects_member_usage; DROP TABLE member_usage; DELETE FROM schema_migrations WHERE version = 410`); err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Usage(ctx, alice.ID); err != nil || got != int64(len(raw)) {
		t.Errorf("usage after migration = %d (%v), want %d", got, err, len(raw))
	}
}

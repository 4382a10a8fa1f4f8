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

// TestPrivateSetUsageMigration: migration 411 charges the sets stored
// before CreatePrivateSet charged them what they hold.
func TestPrivateSetUsageMigration(t *testing.T) {
	ctx := context.Background()
	s, alice, coll := groupStore(t)
	n := store.NewPrivateSet{
		Set: store.PrivateSet{ID: "set-1", Member: alice.ID, Collection: coll, Source: store.PrivateSourceValues, Suite: "x",
			PrivateKey: []byte("k"), PublicKey: []byte("p"), Created: time.Now()},
		Tags:       []store.PrivateTag{{Tag: []byte("12345678"), Line: "domain-name:a.example"}, {Tag: []byte("abcdefgh")}},
		Indicators: []store.IndicatorValues{{IndicatorID: "indicator--1", Lines: []string{"domain-name:a.example"}}},
		KeyEntry:   func(int64, time.Time) ([]byte, error) { return []byte("{}"), nil },
		Salt:       []byte{1}, Version: time.Now(),
	}
	if _, err := s.CreatePrivateSet(ctx, n); err != nil {
		t.Fatal(err)
	}
	want := store.PrivateSetBytes(n) // 8 + 21 + 8 + 21 and the overhead
	if got, err := s.Usage(ctx, alice.ID); err != nil || got != want || want != 58+store.PrivateSetOverhead {
		t.Fatalf("usage after the set = %d (%v), want %d (58 and the overhead)", got, err, want)
	}
	// As before migration 411: the set uncharged.
	w, _ := s.DB()
	if _, err := w.Exec(`UPDATE member_usage SET bytes = 0; DELETE FROM schema_migrations WHERE version = 411`); err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Usage(ctx, alice.ID); err != nil || got != want {
		t.Errorf("usage after migration 411 = %d (%v), want %d", got, err, want)
	}
}

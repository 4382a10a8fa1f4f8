package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestUIValuesMigration: migration 313 indexes the exact values of the
// object versions stored before it (at Open, in batches), and a look-up
// then finds each of them.
func TestUIValuesMigration(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	s := openTest(t, u, Options{})
	if err := s.AddMember(ctx, store.Member{ID: "identity--a", Name: "a", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "c1", Title: "c1", Readers: []string{"identity--a"}, Writers: []string{"identity--a"}}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	var items []store.Item
	for i := range 20 {
		id := fmt.Sprintf("indicator--%08d", i)
		raw := fmt.Sprintf(`{"id":%q,"pattern":"[ipv4-addr:value = '10.0.0.%d']","type":"indicator"}`, id, i)
		items = append(items, store.Item{Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: t0, Signed: true, Raw: []byte(raw)},
			Salt: make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return []byte(raw), nil }})
	}
	if _, err := s.Submit(ctx, store.Submission{StatusID: "st-1", Collection: "c1", Member: "identity--a", Received: t0, Items: items}); err != nil {
		t.Fatal(err)
	}
	// The store as a build before 313 left it.
	if _, err := s.Pool().Exec(ctx, `DROP TABLE ui_values; DROP TABLE ui_values_backfill; DELETE FROM schema_migrations WHERE version = 313`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	defer func(n int) { backfillBatch = n }(backfillBatch)
	backfillBatch = 3
	s2 := openTest(t, u, Options{})
	for i := range 20 {
		v := fmt.Sprintf("10.0.0.%d", i)
		got, _, err := s2.ValueObjects(ctx, []string{"c1"}, v, store.Bound{Rows: 10})
		if err != nil || len(got) != 1 || got[0].ID != fmt.Sprintf("indicator--%08d", i) {
			t.Errorf("ValueObjects(%s) after the migration: %v (%v)", v, got, err)
		}
	}
	var left int
	if err := s2.Pool().QueryRow(ctx, `SELECT count(*) FROM ui_values_backfill`).Scan(&left); err != nil || left != 0 {
		t.Errorf("ui_values_backfill keeps %d rows (%v)", left, err)
	}
}

// TestUIValuesRepairedAtOpen: object versions stored without their rows
// in ui_values (by a build from before migration 314, which writes none
// of them, on a database the backfill had indexed) were never found by a
// look-up of their values; they are indexed when the store is opened
// again.
func TestUIValuesRepairedAtOpen(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	s := openTest(t, u, Options{})
	if err := s.AddMember(ctx, store.Member{ID: "identity--a", Name: "a", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "c1", Title: "c1", Readers: []string{"identity--a"}, Writers: []string{"identity--a"}}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	const url = "https://c2.example/gate.php?id=7&k=%41"
	var items []store.Item
	for i := range 5 {
		id := fmt.Sprintf("indicator--%08d", i)
		raw := fmt.Sprintf(`{"id":%q,"pattern":"[ipv4-addr:value = '10.0.0.%d'] OR [url:value = '%s%d']","type":"indicator"}`, id, i, url, i)
		items = append(items, store.Item{Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: t0, Signed: true, Raw: []byte(raw)},
			Salt: make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return []byte(raw), nil }})
	}
	if _, err := s.Submit(ctx, store.Submission{StatusID: "st-1", Collection: "c1", Member: "identity--a", Received: t0, Items: items}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `DELETE FROM ui_values WHERE object_seq IN (SELECT seq FROM objects WHERE object_id = 'indicator--00000003')`); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.ValueObjects(ctx, []string{"c1"}, "10.0.0.3", store.Bound{Rows: 10}); err != nil || len(got) != 0 {
		t.Fatalf("before the repair, ValueObjects found %v (%v)", got, err)
	}
	s.Close()
	s2 := openTest(t, u, Options{})
	for _, v := range []string{"10.0.0.3", url + "3", "10.0.0.2", url + "2"} {
		got, _, err := s2.ValueObjects(ctx, []string{"c1"}, v, store.Bound{Rows: 10})
		if err != nil || len(got) != 1 {
			t.Errorf("ValueObjects(%s) after reopening: %v (%v)", v, got, err)
		}
	}
}

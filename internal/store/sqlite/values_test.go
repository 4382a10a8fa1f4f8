package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestUIValuesMigration: migration 317 indexes the exact values of the
// object versions stored before it (at Open, in batches), and a look-up
// then finds each of them.
func TestUIValuesMigration(t *testing.T) {
	ctx := context.Background()
	s := webStore(t, 20)
	w, _ := s.DB()
	var path string
	if err := w.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	// The store as a build before 317 left it.
	if _, err := w.Exec(`DROP TRIGGER ui_values_delete; DROP TABLE ui_values; DROP TABLE ui_values_backfill; DELETE FROM schema_migrations WHERE version = 317`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	defer func(n int) { backfillBatch = n }(backfillBatch)
	backfillBatch = 3
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for i := range 20 {
		v := fmt.Sprintf("10.0.0.%d", i)
		got, _, err := s2.ValueObjects(ctx, []string{"c1"}, v, store.Bound{Rows: 10})
		if err != nil || len(got) != 1 || got[0].ID != fmt.Sprintf("indicator--%08d", i) {
			t.Errorf("ValueObjects(%s) after the migration: %v (%v)", v, got, err)
		}
	}
	got, _, err := s2.ValueObjects(ctx, []string{"c2"}, "10.0.0.1", store.Bound{Rows: 10})
	if err != nil || len(got) != 1 || got[0].ID != "indicator--secret" {
		t.Errorf("ValueObjects(c2, 10.0.0.1): %v (%v)", got, err)
	}
	w2, _ := s2.DB()
	var left int
	if err := w2.QueryRow(`SELECT count(*) FROM ui_values_backfill`).Scan(&left); err != nil || left != 0 {
		t.Errorf("ui_values_backfill keeps %d rows (%v)", left, err)
	}
}

// TestUIValuesRepairedAtOpen: object versions stored without their rows
// in ui_values (by a build from before migration 318, which writes none
// of them, opening a database the backfill had indexed) were never found
// by a look-up of their values; they are indexed when the store is opened
// again, and only they are read.
func TestUIValuesRepairedAtOpen(t *testing.T) {
	ctx := context.Background()
	s := webStore(t, 20)
	w, _ := s.DB()
	var path string
	if err := w.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`DELETE FROM ui_values WHERE seq IN (SELECT seq FROM objects WHERE object_id IN ('indicator--00000007', 'indicator--secret'))`); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.ValueObjects(ctx, []string{"c1"}, "10.0.0.7", store.Bound{Rows: 10}); err != nil || len(got) != 0 {
		t.Fatalf("before the repair, ValueObjects found %v (%v)", got, err)
	}
	s.Close()
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, c := range []struct{ coll, value, id string }{
		{"c1", "10.0.0.7", "indicator--00000007"},
		{"c2", "10.0.0.1", "indicator--secret"},
		{"c1", "10.0.0.8", "indicator--00000008"},
	} {
		got, _, err := s2.ValueObjects(ctx, []string{c.coll}, c.value, store.Bound{Rows: 10})
		if err != nil || len(got) != 1 || got[0].ID != c.id {
			t.Errorf("ValueObjects(%s, %s) after reopening: %v (%v)", c.coll, c.value, got, err)
		}
	}
	w2, _ := s2.DB()
	var objects, marked int
	if err := w2.QueryRow(`SELECT count(*) FROM objects`).Scan(&objects); err != nil {
		t.Fatal(err)
	}
	if err := w2.QueryRow(`SELECT count(*) FROM ui_values WHERE value = ''`).Scan(&marked); err != nil {
		t.Fatal(err)
	}
	if marked != objects {
		t.Errorf("%d object versions marked indexed of %d", marked, objects)
	}
}

// TestUIValuesIndexedAgain: migration 318 indexes the versions stored
// before it again, so that the values store.ExactValues finds since (a
// URL with its query string) are found in them too.
func TestUIValuesIndexedAgain(t *testing.T) {
	ctx := context.Background()
	s := webStore(t, 3)
	const u = "https://c2.example/gate.php?id=7&k=%41"
	raw := `{"id":"indicator--url","pattern":"[url:value = 'https://c2.example/gate.php?id=7\u0026k=%41']","type":"indicator"}`
	t0 := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	if _, err := s.Submit(ctx, store.Submission{StatusID: "st-url", Collection: "c1", Member: "identity--a", Received: t0, Items: []store.Item{{
		Object: store.Object{ID: "indicator--url", Type: "indicator", SpecVersion: "2.1", Version: t0, Signed: true, Raw: []byte(raw)},
		Salt:   make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return []byte(raw), nil },
	}}}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.ValueObjects(ctx, []string{"c1"}, u, store.Bound{Rows: 10}); err != nil || len(got) != 1 {
		t.Fatalf("ValueObjects(%s) of a version Submit indexed: %v (%v)", u, got, err)
	}
	w, _ := s.DB()
	var path string
	if err := w.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	// The index as the builds before 318 left it.
	if _, err := w.Exec(`DELETE FROM ui_values WHERE value = '' OR value LIKE '%?%'; DELETE FROM schema_migrations WHERE version = 318`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, _, err := s2.ValueObjects(ctx, []string{"c1"}, u, store.Bound{Rows: 10}); err != nil || len(got) != 1 || got[0].ID != "indicator--url" {
		t.Errorf("ValueObjects(%s) after migration 318: %v (%v)", u, got, err)
	}
}

// TestUIValuesBySeqMigration: migration 877 indexes ui_values by seq on a
// store from before it, and rows an operator deletes behind the node's
// back still take their exact values' rows with them (through the index
// now), and no other collection's.
func TestUIValuesBySeqMigration(t *testing.T) {
	ctx := context.Background()
	s := webStore(t, 20)
	w, _ := s.DB()
	var path string
	if err := w.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`DROP INDEX ui_values_seq; DELETE FROM schema_migrations WHERE version = 877`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	w2, _ := s2.DB()
	var n int
	if err := w2.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'ui_values_seq'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("ui_values_seq after the migration: %d (%v)", n, err)
	}
	if _, err := w2.Exec(`DELETE FROM objects WHERE collection = 'c1' AND object_id IN ('indicator--00000001', 'indicator--00000002')`); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 0, 0, 1} {
		v := fmt.Sprintf("10.0.0.%d", i)
		if err := w2.QueryRow(`SELECT count(*) FROM ui_values WHERE collection = 'c1' AND value = ?`, v).Scan(&n); err != nil || n != want {
			t.Errorf("ui_values rows of %s in c1 after the delete: %d (%v), want %d", v, n, err, want)
		}
	}
	got, _, err := s2.ValueObjects(ctx, []string{"c2"}, "10.0.0.1", store.Bound{Rows: 10})
	if err != nil || len(got) != 1 || got[0].ID != "indicator--secret" {
		t.Errorf("ValueObjects(c2, 10.0.0.1) after the delete in c1: %v (%v)", got, err)
	}
}

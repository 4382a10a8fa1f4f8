package sqlite

import (
	"context"
	"fmt"
	"testing"

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

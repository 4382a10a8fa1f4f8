package sqlite

import (
	"context"
	"testing"

	"github.com/parley-exchange/parley/internal/store/storetest"
)

// TestCollectionStatsMigration checks that migration 875 counts what was
// stored before it, and that its triggers follow a version deleted
// behind the node's back.
func TestCollectionStatsMigration(t *testing.T) {
	ctx := context.Background()
	s := opener("")(t, storetest.Options{}).(*Store)
	storetest.FillForCollectionStats(t, s)
	w, _ := s.DB()
	// Undo migration 875 and apply it again over the stored objects.
	if _, err := w.Exec(`DROP TRIGGER objects_collection_stats_insert; DROP TRIGGER objects_collection_stats_delete; DROP TABLE collection_stats;
DELETE FROM schema_migrations WHERE version = 875`); err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.CheckCollectionStats(t, s)
	// The newest row of the first collection deleted, then every row of
	// the second.
	if _, err := w.Exec(`DELETE FROM objects WHERE seq = (SELECT max(seq) FROM objects WHERE collection <> 'c4a1b2d3-0000-4000-8000-000000000002')`); err != nil {
		t.Fatal(err)
	}
	storetest.CheckCollectionStats(t, s)
	if _, err := w.Exec(`DELETE FROM objects WHERE collection = 'c4a1b2d3-0000-4000-8000-000000000002'`); err != nil {
		t.Fatal(err)
	}
	storetest.CheckCollectionStats(t, s)
}

package postgres

import (
	"context"
	"testing"

	"github.com/parley-exchange/parley/internal/store/storetest"
)

// TestCollectionStatsMigration stores objects, undoes migration 875 and
// checks that applying it again, at the next Open, counts them.
func TestCollectionStatsMigration(t *testing.T) {
	u := testURL(t)
	s := openTest(t, u, Options{})
	storetest.FillForCollectionStats(t, s)
	if _, err := s.pool.Exec(context.Background(), `DROP TABLE collection_stats; DELETE FROM schema_migrations WHERE version = 875`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, u, Options{})
	if up := s.SchemaUpgrade(); len(up) != 1 || up[0].Version != 875 {
		t.Fatalf("upgrade: %+v", up)
	}
	storetest.CheckCollectionStats(t, s)
}

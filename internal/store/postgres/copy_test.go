package postgres

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
)

// notCopied are the tables parley migrate deliberately leaves out of
// [store.StateTables]: indexes derived from the objects (rebuilt by Load),
// the log's counter (set by Load), bookkeeping and the front ends' runtime
// coordination rows.
var notCopied = []string{"schema_migrations", "log_head", "ui_objects", "ui_refs", "opinion_refs", "ui_values", "ui_values_backfill", "leases", "log_integrator", "ui_sessions", "collection_stats"}

// TestStateTablesCoverSchema: every table of this store's schema is copied
// by parley migrate or deliberately not, and each copied table has
// exactly the columns [store.StateTables] names, so a new table or column
// can't be left behind by a migration unnoticed.
func TestStateTablesCoverSchema(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.SchemaURL(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.pool.Query(ctx, `SELECT table_name, array_agg(column_name::text ORDER BY column_name) FROM information_schema.columns
WHERE table_schema = current_schema() GROUP BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	type table struct {
		name string
		cols []string
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var tb table
		return tb, r.Scan(&tb.name, &tb.cols)
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tb := range tables {
		seen[tb.name] = true
		st, ok := store.StateTable(tb.name)
		if !ok {
			if !slices.Contains(notCopied, tb.name) {
				t.Errorf("table %s is neither in store.StateTables nor deliberately left out (notCopied)", tb.name)
			}
			continue
		}
		var want []string
		for _, c := range st.Columns {
			want = append(want, c.Name)
		}
		slices.Sort(want)
		if !slices.Equal(tb.cols, want) {
			t.Errorf("table %s has columns %v, store.StateTables names %v", tb.name, tb.cols, want)
		}
	}
	for _, st := range store.StateTables {
		if !seen[st.Name] {
			t.Errorf("store.StateTables names %s, which this schema lacks", st.Name)
		}
	}
}

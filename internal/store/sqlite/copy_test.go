package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// notCopied are the tables parley migrate deliberately leaves out of
// [store.StateTables]: indexes derived from the objects (the target
// rebuilds them), bookkeeping and runtime coordination.
var notCopied = []string{"schema_migrations", "ui_collection_refs", "ui_collection_pdq", "opinion_refs", "ui_values", "ui_values_backfill", "leases", "ui_sessions", "collection_stats"}

// TestStateTablesCoverSchema: every table of this store is copied by
// parley migrate or deliberately not, and each copied table has exactly
// the columns store.StateTables names (through copyColumns), so a new
// table or column can't be left behind unnoticed.
func TestStateTablesCoverSchema(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	seen := map[string]bool{}
	for _, name := range names {
		if strings.HasPrefix(name, "ui_text_") || strings.HasPrefix(name, "sqlite_") {
			continue // FTS5's shadow tables, SQLite's own
		}
		seen[name] = true
		st, ok := store.StateTable(name)
		if !ok {
			if !slices.Contains(notCopied, name) {
				t.Errorf("table %s is neither in store.StateTables nor deliberately left out (notCopied)", name)
			}
			continue
		}
		crows, err := s.r.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, name)
		if err != nil {
			t.Fatal(err)
		}
		var have []string
		for crows.Next() {
			var c string
			if err := crows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			have = append(have, c)
		}
		crows.Close()
		var want []string
		for _, c := range st.Columns {
			e, mapped := copyColumns[name+"."+c.Name]
			switch {
			case !mapped:
				want = append(want, c.Name)
			case e != "rowid":
				want = append(want, strings.Trim(e, `"`))
			}
		}
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			t.Errorf("table %s has columns %v, store.StateTables names %v", name, have, want)
		}
	}
	for _, st := range store.StateTables {
		if !seen[st.Name] {
			t.Errorf("store.StateTables names %s, which this store lacks", st.Name)
		}
	}
}

package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogObjectsPlan: every batch of LogObjects walks the log_index range,
// with or without collections, instead of reading a whole collection
// through objects_collection_seq and sorting it (which made replication
// and /log/objects quadratic in a collection's size).
func TestLogObjectsPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, colls := range [][]string{nil, {"a"}, {"a", "b", "c"}} {
		args := []any{"EXPLAIN QUERY PLAN " + logObjectsQuery(colls), int64(0), int64(100)}
		for _, c := range colls {
			args = append(args, c)
		}
		rows, err := s.r.QueryContext(ctx, args[0].(string), append(args[1:], 10)...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "log_index>? AND log_index<?") || strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "objects_collection_seq") {
			t.Errorf("collections %q: plan %s", colls, p)
		}
	}
}

package sqlite

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
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
		p := queryPlan(t, s, args[0].(string), append(args[1:], 10)...)
		if !strings.Contains(p, "log_index>? AND log_index<?") || strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "objects_collection_seq") {
			t.Errorf("collections %q: plan %s", colls, p)
		}
	}
}

// TestObjectsByIDPlan: a query naming object ids (a proof bundle's, TAXII's
// match[id]) looks the ids up in objects_version instead of walking the
// whole collection in seq order through objects_collection_seq (which made
// one proof bundle take 15 s in a log of 320,000 entries); a query without
// ids still pages in seq order without a sort.
func TestObjectsByIDPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all := []store.VersionSelector{{Kind: store.VersionAll}}
	for _, tc := range []struct {
		q          store.Query
		want, lack string
	}{
		{store.Query{Collection: "c", IDs: []string{"indicator--a"}, Versions: all, Limit: 1000}, "objects_version (collection=? AND object_id=?)", "objects_collection_seq"},
		{store.Query{Collection: "c", IDs: []string{"indicator--a", "indicator--b"}, Limit: 10}, "objects_version (collection=? AND object_id=?)", "objects_collection_seq"},
		{store.Query{Collection: "c", Versions: all, Limit: 1000}, "objects_collection_seq (collection=? AND seq>?)", "TEMP B-TREE"},
	} {
		query, args, err := objectsQuery(tc.q, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p := queryPlan(t, s, "EXPLAIN QUERY PLAN "+query, args...); !strings.Contains(p, tc.want) || strings.Contains(p, tc.lack) {
			t.Errorf("ids %q: plan %s; want %s, without %s", tc.q.IDs, p, tc.want, tc.lack)
		}
	}
}

// TestObjectsAtPlan: ObjectsAt (the opinion versions a tally reads, GET
// /concurrence) walks its list of seqs and looks each up by its primary
// key, instead of walking every object of the collections through
// objects_collection_seq and searching the list for each, which made a
// tally's cost grow with the collections' size times its opinions.
func TestObjectsAtPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, colls := range [][]string{{"a"}, {"a", "b", "c"}} {
		args := append([]any{"[1,2,3]"}, strArgs(colls)...)
		p := queryPlan(t, s, "EXPLAIN QUERY PLAN SELECT o.seq, octet_length(o.raw) "+objectsAtFrom(len(colls))+" ORDER BY j.key LIMIT ?", append(args, 10)...)
		if !strings.Contains(p, "SCAN j VIRTUAL TABLE") || !strings.Contains(p, "SEARCH o USING INTEGER PRIMARY KEY") || strings.Contains(p, "objects_collection_seq") {
			t.Errorf("collections %q: plan %s", colls, p)
		}
	}
}

// queryPlan is the detail column of the rows of query (an EXPLAIN QUERY
// PLAN) run with args on s's readers, joined with "; ".
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.r.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

// TestTextObjectsPlan: a search (TextObjects) walks the collection's
// full-text matches in seq order and stops at its bound, instead of
// reading every match, with its object, into a sort to keep the first:
// a word that a million objects hold read them all.
func TestTextObjectsPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddCollection(ctx, store.Collection{ID: "c", Title: "c"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.hasUIText(ctx, "c"); err != nil || !ok {
		t.Skipf("no full-text table (%v)", err)
	}
	p := queryPlan(t, s, "EXPLAIN QUERY PLAN SELECT o.seq, octet_length(o.raw) "+textFrom("c")+" ORDER BY "+textSeq+" LIMIT ?", FTSQuery("word"), "c", 10)
	if !strings.Contains(p, "VIRTUAL TABLE") || !strings.Contains(p, "SEARCH o USING INTEGER PRIMARY KEY") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("plan %s", p)
	}
}

// TestHandDeleteTriggersPlan: each statement of the triggers that keep
// the indexes in step when an operator deletes object versions behind
// the node's back (one firing per row deleted) finds its rows with every
// column it compares to the deleted row, instead of reading a whole
// collection's rows per row deleted: ui_values_delete read every value
// row of the collection through the primary key's leading column (1,000
// rows deleted from a collection of 20,000 took 2.7 s), until migration
// 877 gave it an index by seq. The full-text tables' own triggers go
// through FTS5's rowid look-up and are left out.
func TestHandDeleteTriggersPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddCollection(ctx, store.Collection{ID: "c", Title: "c"}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'objects' AND sql LIKE '%AFTER DELETE ON objects%'`)
	if err != nil {
		t.Fatal(err)
	}
	triggers := map[string]string{}
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			t.Fatal(err)
		}
		triggers[name] = sql
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if triggers["ui_values_delete"] == "" || triggers["objects_collection_stats_delete"] == "" {
		t.Fatalf("delete triggers: %v", triggers)
	}
	old := regexp.MustCompile(`OLD\.\w+`)
	for name, sql := range triggers {
		body := sql[strings.Index(sql, "BEGIN")+len("BEGIN") : strings.LastIndex(sql, "END")]
		for _, stmt := range strings.Split(body, ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			compared := strings.Count(stmt, "= OLD.")
			q := old.ReplaceAllString(stmt, "?")
			args := make([]any, strings.Count(q, "?"))
			for i := range args {
				args[i] = "x"
			}
			p := queryPlan(t, s, "EXPLAIN QUERY PLAN "+q, args...)
			if strings.Contains(p, "VIRTUAL TABLE") {
				continue
			}
			if strings.Contains(strings.ReplaceAll(p, "SCAN CONSTANT ROW", ""), "SCAN ") || strings.Count(p, "=?") < compared {
				t.Errorf("%s: %s: plan %s; want each of its %d comparisons with the deleted row searched", name, strings.TrimSpace(stmt), p, compared)
			}
		}
	}
}

package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"modernc.org/sqlite"

	"github.com/parley-exchange/parley/internal/store/storetest"
)

// TestQueriesReadNothingOfUnreadableCollections runs
// storetest.Unreadable, measuring a query's work as the pages SQLite
// fetched for it (cache hits and misses of the store's one reader
// connection).
func TestQueriesReadNothingOfUnreadableCollections(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), Options{ReadConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	counter := func(reset bool) int64 {
		conn, err := s.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var sum int64
		if err := conn.Raw(func(dc any) error {
			for _, op := range []sqlite.DBStatusOp{sqlite.DBStatusCacheHit, sqlite.DBStatusCacheMiss} {
				cur, _, err := dc.(sqlite.DBStatus).Status(op, reset)
				if err != nil {
					return err
				}
				sum += int64(cur)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	// 2,500 then 1,500 more objects of each kind: sizes at which no
	// B-tree of this store grows a level deeper (pages count it).
	storetest.Unreadable(t, s, [2]int{2500, 1500}, func(fn func() error) int64 {
		counter(true)
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		return counter(false)
	})
}

// TestUIIndexesByCollectionMigration opens a database made before
// migrations 314–316 (one full-text table for all collections, ui_refs
// and ui_pdq without theirs) and checks the UI's queries over it once
// they have run.
func TestUIIndexesByCollectionMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s := openBefore314(t, path)
	if s.uiText {
		t.Fatal("a store without migration 314 indexes words per collection")
	}
	storetest.FillForUIMigration(t, s)
	// Its references and PDQ hashes went in by the triggers of 311 and
	// 312, keyed without the collection; its words are indexed from the
	// objects by ensureUIText.
	s.Close()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckAfterUIMigration(t, s)
}

// TestUIIndexesMigrationAcrossDrivers: a database made at migration 313
// by the pure-Go driver (one ui_text, with its trigger), opened by a
// driver without FTS5 (which skips 314 and applies 315 and 316, and
// stores objects it can't index), then by the pure-Go driver again,
// answers the UI's queries for everything, the objects stored by the
// second driver included, in new collections. The migrations must not
// re-check the schema's triggers (ALTER TABLE does), which would fail
// on ui_text's without FTS5.
func TestUIIndexesMigrationAcrossDrivers(t *testing.T) {
	if len(benchDrivers) < 2 {
		t.Skip("no second driver linked (cgo off)")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	openBefore314(t, path).Close()
	s, err := Open(ctx, path, Options{Driver: benchDrivers[1]})
	if err != nil {
		t.Fatalf("opening a database at 313 with %s: %v", benchDrivers[1], err)
	}
	if s.hasModule(ctx, "fts5") {
		s.Close()
		t.Skipf("driver %s has FTS5", benchDrivers[1])
	}
	storetest.FillForUIMigration(t, s)
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckAfterUIMigration(t, s)
}

// openBefore314 opens (making it) the database at path with every
// migration but 314–316: one ui_text for all collections, ui_refs and
// ui_pdq without their collection.
func openBefore314(t *testing.T, path string) *Store {
	t.Helper()
	saved := migrations
	migrations = slices.DeleteFunc(slices.Clone(saved), func(m migration) bool { return m.Version >= 314 && m.Version <= 316 })
	s, err := Open(context.Background(), path, Options{})
	migrations = saved
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAddedAfterByCollectionMigration opens a database made before
// migration 4, with objects, and checks added_after over it once 4 has
// replaced objects_date_added with objects_collection_date_added.
func TestAddedAfterByCollectionMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	saved := migrations
	migrations = slices.DeleteFunc(slices.Clone(saved), func(m migration) bool { return m.Version == 4 })
	s, err := Open(ctx, path, Options{})
	migrations = saved
	if err != nil {
		t.Fatal(err)
	}
	storetest.FillForAddedAfter(t, s)
	s.Close()
	if s, err = Open(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var names string
	if err := s.r.QueryRowContext(ctx, `SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'objects_%date_added' ORDER BY name)`).Scan(&names); err != nil || names != "objects_collection_date_added" {
		t.Fatalf("indexes on date_added: %q, %v", names, err)
	}
	storetest.CheckAddedAfter(t, s)
}

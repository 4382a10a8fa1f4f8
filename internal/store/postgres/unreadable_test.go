package postgres

import (
	"context"
	"net/url"
	"slices"
	"testing"

	"github.com/parley-exchange/parley/internal/store/storetest"
)

// TestQueriesReadNothingOfUnreadableCollections runs
// storetest.Unreadable, measuring a query's work as the rows the store's
// one connection read from the schema's tables and indexes (seq_tup_read
// and idx_tup_fetch of pg_stat_user_tables, idx_tup_read of
// pg_stat_user_indexes): rows, not blocks, so that an index a level
// deeper changes nothing. Before each query, ANALYZE gives the planner
// statistics of everything stored (all rows: the tables hold fewer than
// ANALYZE samples), so that a plan never changes because autovacuum ran
// between two measurements.
//
// It runs twice: with the plans PostgreSQL makes for the values it is
// given (what the store asks for, see planned), and with every plan
// generic (plan_cache_mode force_generic_plan, which applies to unnamed
// statements too): made without the values, so that a query passes only
// if its structure reads the readable collections' rows and no others,
// not because the statistics of the day make the planner choose so.
func TestQueriesReadNothingOfUnreadableCollections(t *testing.T) {
	t.Run("custom plans", func(t *testing.T) { testUnreadable(t, testURL(t)) })
	t.Run("generic plans", func(t *testing.T) {
		u, err := url.Parse(testURL(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("plan_cache_mode", "force_generic_plan")
		u.RawQuery = q.Encode()
		testUnreadable(t, u.String())
	})
}

func testUnreadable(t *testing.T, url string) {
	ctx := context.Background()
	s := openTest(t, url, Options{MaxConns: 1})
	rows := func() int64 {
		// The backend's counters reach the statistics when it next goes
		// idle; forced, whatever the time since the last flush.
		if _, err := s.pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := s.pool.QueryRow(ctx, `SELECT
	(SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0) FROM pg_stat_user_tables WHERE schemaname = current_schema())
	+ (SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE schemaname = current_schema())`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	storetest.Unreadable(t, s, [2]int{1000, 2000}, func(fn func() error) int64 {
		if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		before := rows()
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		return rows() - before
	})
}

// TestAddedAfterByCollectionMigration opens a schema made before
// migration 4, with objects, and checks added_after over it once 4 has
// replaced objects_date_added with objects_collection_date_added.
func TestAddedAfterByCollectionMigration(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	saved := migrations
	migrations = slices.DeleteFunc(slices.Clone(saved), func(m migration) bool { return m.Version == 4 })
	s, err := Open(ctx, u, Options{MaxConns: 2})
	migrations = saved
	if err != nil {
		t.Fatal(err)
	}
	storetest.FillForAddedAfter(t, s)
	s.Close()
	s = openTest(t, u, Options{})
	var names string
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(string_agg(indexname, ' ' ORDER BY indexname), '') FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = 'objects' AND indexdef LIKE '%date_added%'`).Scan(&names); err != nil || names != "objects_collection_date_added" {
		t.Fatalf("indexes on date_added: %q, %v", names, err)
	}
	storetest.CheckAddedAfter(t, s)
}

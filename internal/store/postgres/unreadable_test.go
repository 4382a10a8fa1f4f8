package postgres

import (
	"context"
	"testing"

	"github.com/parley-exchange/parley/internal/store/storetest"
)

// TestQueriesReadNothingOfUnreadableCollections runs
// storetest.Unreadable, measuring a query's work as the blocks of the
// schema's tables, indexes and TOAST tables that the store's one
// connection read (hits and reads, from pg_statio_user_tables). Before
// each query, ANALYZE gives the planner statistics of everything stored
// (all rows: the tables hold fewer than ANALYZE samples), so that a plan
// never changes because autovacuum ran between two measurements.
func TestQueriesReadNothingOfUnreadableCollections(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, testURL(t), Options{MaxConns: 1})
	blocks := func() int64 {
		// The backend's counters reach the statistics when it next goes
		// idle; forced, whatever the time since the last flush.
		if _, err := s.pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0)
	+ coalesce(idx_blks_hit, 0) + coalesce(idx_blks_read, 0)
	+ coalesce(toast_blks_hit, 0) + coalesce(toast_blks_read, 0)
	+ coalesce(tidx_blks_hit, 0) + coalesce(tidx_blks_read, 0)), 0)::bigint
FROM pg_statio_user_tables WHERE schemaname = current_schema()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	storetest.Unreadable(t, s, func(fn func() error) int64 {
		if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		before := blocks()
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		return blocks() - before
	})
}

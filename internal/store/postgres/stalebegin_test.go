package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
)

// TestWriteAfterBackendsTerminated: the server ends every session of the
// store's pool while they are idle (pg_terminate_backend, as an operator
// or a failover does), and a write comes at once, before the pool has
// noticed (it pings only connections idle for more than a second). The
// write must not fail with store.ErrUnavailable because it was handed a
// dead connection: a BEGIN that fails on one changed nothing, and the
// transaction starts again on a fresh connection. The server is
// reachable all along.
func TestWriteAfterBackendsTerminated(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	s := openTest(t, u, Options{MaxConns: 4})
	admin, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for round := range 5 {
		// Fill the pool: four connections in use at once.
		var pids [4]int64
		var wg sync.WaitGroup
		var ready sync.WaitGroup
		ready.Add(len(pids))
		release := make(chan struct{})
		for i := range pids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := s.pool.Acquire(ctx)
				if err != nil {
					t.Error(err)
					ready.Done()
					return
				}
				defer c.Release()
				pids[i] = int64(c.Conn().PgConn().PID())
				ready.Done()
				<-release
			}()
		}
		ready.Wait()
		close(release)
		wg.Wait()
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid`, pids[:]); err != nil {
			t.Fatal(err)
		}
		// Wait until the server has ended them.
		for {
			var n int
			if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])`, pids[:]).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		m := store.Member{ID: "m" + string(rune('a'+round)), Name: "n" + string(rune('a'+round)), Identity: []byte("{}")}
		if err := s.AddMember(ctx, m); err != nil {
			t.Fatalf("round %d: a write right after the server ended the pool's idle sessions: %v", round, err)
		}
	}
}

// TestReadAfterBackendsTerminated is TestWriteAfterBackendsTerminated for
// the reads that don't run in a transaction (Query, QueryRow of the
// pool): they are run again on another connection.
func TestReadAfterBackendsTerminated(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	s := openTest(t, u, Options{MaxConns: 4})
	admin, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	terminateIdle := func() {
		var pids [4]int64
		var wg, ready sync.WaitGroup
		ready.Add(len(pids))
		release := make(chan struct{})
		for i := range pids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := s.pool.Acquire(ctx)
				if err != nil {
					t.Error(err)
					ready.Done()
					return
				}
				defer c.Release()
				pids[i] = int64(c.Conn().PgConn().PID())
				ready.Done()
				<-release
			}()
		}
		ready.Wait()
		close(release)
		wg.Wait()
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid`, pids[:]); err != nil {
			t.Fatal(err)
		}
		for {
			var n int
			if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])`, pids[:]).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
		}
	}
	for round := range 3 {
		terminateIdle()
		if _, err := s.LogSize(ctx); err != nil { // QueryRow
			t.Fatalf("round %d: LogSize right after the server ended the pool's idle sessions: %v", round, err)
		}
		terminateIdle()
		if _, err := s.Members(ctx); err != nil { // Query
			t.Fatalf("round %d: Members right after the server ended the pool's idle sessions: %v", round, err)
		}
	}
}

package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
)

// TestOpenReadOnlyChangesNothing: a store opened ReadOnly reads a current
// store without changing it (a backfill an interrupted open left pending
// is not resumed), and every session of its pool refuses writes, the
// store's write methods and a statement sent directly alike.
func TestOpenReadOnlyChangesNothing(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	s := openTest(t, u, Options{})
	if err := s.AddMember(ctx, store.Member{ID: "alice", Name: "alice", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	// An open killed before its backfill finished: the next read-write
	// Open resumes it (here, deletes the finished marker).
	if _, err := s.pool.Exec(ctx, `INSERT INTO ui_values_backfill(next, upto) VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before := pgtest.Content(t, u)

	ro, err := Open(ctx, u, Options{ReadOnly: true, MaxConns: 2})
	if err != nil {
		t.Fatalf("Open ReadOnly: %v", err)
	}
	defer ro.Close()
	if _, err := ro.Member(ctx, "alice"); err != nil {
		t.Errorf("Member through the read-only store: %v", err)
	}
	if err := ro.AddMember(ctx, store.Member{ID: "mallory", Name: "mallory", Identity: []byte("{}")}); err == nil {
		t.Error("AddMember through the read-only store succeeded")
	}
	// Every connection of the pool, not only the first.
	var conns []*pgxpool.Conn
	for range 2 {
		c, err := ro.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		if _, err := c.Exec(ctx, `DELETE FROM members`); err == nil || !strings.Contains(err.Error(), "read-only transaction") {
			t.Errorf("a direct DELETE on connection %d of the read-only pool: %v, want a read-only transaction error", i, err)
		}
		if _, err := c.Exec(ctx, `CREATE TABLE intruder (x int)`); err == nil {
			t.Errorf("CREATE TABLE on connection %d of the read-only pool succeeded", i)
		}
		c.Release()
	}
	if after := pgtest.Content(t, u); after != before {
		t.Errorf("the read-only open changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestOpenReadOnlyOlderSchema: a store lacking a migration this version
// applies is refused ReadOnly with store.ErrSchemaTooOld naming it (not
// ErrUnavailable, which serve would wait on), and nothing is migrated; a
// database without Parley's schema and a newer schema are refused too.
func TestOpenReadOnlyOlderSchema(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, setup, want string
		is                error
	}{
		{"missing 720", `DROP TABLE leases; DELETE FROM schema_migrations WHERE version = 720`, `720 "`, store.ErrSchemaTooOld},
		{"no schema", `DROP TABLE schema_migrations`, "no Parley schema", store.ErrSchemaTooOld},
		{"newer", `INSERT INTO schema_migrations VALUES (9001, 'a newer feature', '2027-01-01T00:00:00Z')`, `9001 "a newer feature"`, store.ErrNewerSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := testURL(t)
			s := openTest(t, u, Options{})
			if _, err := s.pool.Exec(ctx, tc.setup); err != nil {
				t.Fatal(err)
			}
			s.Close()
			before := pgtest.Content(t, u)
			ro, err := Open(ctx, u, Options{ReadOnly: true, MaxConns: 2})
			if err == nil {
				ro.Close()
				t.Fatal("Open ReadOnly accepted the store")
			}
			if !errors.Is(err, tc.is) || errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open ReadOnly: %v; want %v (not ErrUnavailable) saying %s", err, tc.is, tc.want)
			}
			if after := pgtest.Content(t, u); after != before {
				t.Errorf("the refused open changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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

// TestReadOnlyRepostFails: a store that takes no writes (its sessions
// read-only, as on a replica) fails a submission of a version it holds
// already, as it fails a new one: every submission locks the log head
// and keeps its status. A fleet member's probe (an object the node took
// from it, posted again: see match.PushRetryingSeparatingProbed) then
// fails as every new object does, and the member waits, setting nothing
// apart, as for a node that is down.
func TestReadOnlyRepostFails(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	s := openTest(t, u, Options{})
	if err := s.AddMember(ctx, store.Member{ID: "alice", Name: "alice", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	const coll = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	if err := s.AddCollection(ctx, store.Collection{ID: coll, Title: "shared", Readers: []string{"alice"}, Writers: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	o := store.Object{ID: "indicator--1", Type: "indicator", SpecVersion: "2.1", Signed: true,
		Version: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Raw: []byte(`{"id":"indicator--1","n":1}`)}
	submit := func(st *Store, id string) (store.Status, error) {
		return st.Submit(ctx, store.Submission{StatusID: id, Collection: coll, Member: "alice", Received: time.Now(),
			Items: []store.Item{{Owned: true, Object: o, Entry: func(store.Object) ([]byte, error) { return []byte(`{}`), nil }}}})
	}
	if _, err := submit(s, "first"); err != nil {
		t.Fatal(err)
	}
	if st, err := submit(s, "again"); err != nil || len(st.Successes) != 1 || st.Successes[0].Message != "already stored" {
		t.Fatalf("posted again: %+v, %v; want it already stored", st, err)
	}
	ro, err := Open(ctx, u, Options{ReadOnly: true, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if st, err := submit(ro, "read-only"); err == nil {
		t.Errorf("a version it holds, posted again to the read-only store: %+v, want an error", st)
	}
}

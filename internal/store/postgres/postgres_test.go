package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/storetest"
)

// defaultTestURL is the server CI runs (.ci/run exports it as
// PARLEY_TEST_POSTGRES).
const defaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// serverURL returns the test server's URL, or skips t (fails it under
// CI, where the server must be there) if the server is unreachable.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PARLEY_TEST_POSTGRES")
	if u == "" {
		u = defaultTestURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL unreachable at %s: %v — CI must run these (set PARLEY_TEST_POSTGRES)", redact(u), err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING THE POSTGRESQL STORE TESTS: " + msg)
	}
	conn.Close(ctx)
	return u
}

// redact drops a password from a URL for messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a URL that doesn't parse)"
	}
	return p.Redacted()
}

// testURL creates a fresh schema on the test server, dropped (CASCADE)
// when t ends, and returns a URL whose connections use it (search_path),
// so that tests and packages running in parallel don't meet.
func testURL(t testing.TB) string {
	t.Helper()
	base := serverURL(t)
	var r [6]byte
	rand.Read(r[:])
	schema := "parley_test_" + hex.EncodeToString(r[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("couldn't drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("couldn't drop schema %s: %v", schema, err)
		}
	})
	p, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set("search_path", schema)
	p.RawQuery = q.Encode()
	return p.String()
}

// openTest opens a Store on url, closed when t ends. Tests keep pools
// small: many packages share the server's connections.
func openTest(t testing.TB, url string, opts Options) *Store {
	t.Helper()
	if opts.MaxConns == 0 {
		opts.MaxConns = 4
	}
	s, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// useLogObjectsBatches sets the bounds of a LogObjects batch that opts
// asks for until t ends.
func useLogObjectsBatches(t *testing.T, opts storetest.Options) {
	b, r := logObjectsBatch, logObjectsBatchRows
	if opts.LogObjectsBatch != 0 {
		logObjectsBatch = opts.LogObjectsBatch
	}
	if opts.LogObjectsBatchRows != 0 {
		logObjectsBatchRows = opts.LogObjectsBatchRows
	}
	t.Cleanup(func() { logObjectsBatch, logObjectsBatchRows = b, r })
}

func TestConformance(t *testing.T) {
	serverURL(t)
	// Each store has a schema of its own; opts.Reopen's is opened again.
	storetest.Run(t, storetest.OpenerAt(func(t *testing.T) string { return testURL(t) },
		func(t *testing.T, u string, opts storetest.Options) store.Store {
			s := openTest(t, u, Options{Now: opts.Now, Limits: opts.Limits})
			useLogObjectsBatches(t, opts)
			return s
		}))
}

// TestReopen checks that what a Store acknowledged is there for a fresh
// pool (a new process, as far as the server knows), and that migrations
// are applied once, also when two stores open a new schema at once.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 8) // enough at once to meet the CREATE TABLE race (isCreateRace)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, u, Options{MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	s := openTest(t, u, Options{})
	m := store.Member{ID: "identity--a", Name: "alice", Identity: []byte("{}")}
	if err := s.AddMember(ctx, m); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, u, Options{})
	if _, err := s.Member(ctx, "identity--a"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
		t.Fatalf("schema_migrations has %d rows (%v), want %d", n, err, len(migrations))
	}
	var sync string
	if err := s.pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&sync); err != nil || sync != "on" {
		t.Errorf("synchronous_commit = %q, %v; want on", sync, err)
	}
}

func TestDuplicateMigrationVersion(t *testing.T) {
	u := testURL(t)
	saved := migrations
	defer func() { migrations = saved }()
	registerMigrations(migration{1, "dup", "SELECT 1"})
	if s, err := Open(context.Background(), u, Options{}); err == nil {
		s.Close()
		t.Fatal("Open accepted two migrations with the same version")
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := Open(context.Background(), "postgres://user:secret@[::1", Options{})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Open of a malformed URL: %v, want ErrInvalid", err)
	}
	if err != nil && contains(err.Error(), "secret") {
		t.Errorf("the error shows the password: %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestDiskFullIsErrFull: a transaction that fails with disk_full (53100)
// surfaces as store.ErrFull, without retries, so the node answers 507;
// other errors keep their kind.
func TestDiskFullIsErrFull(t *testing.T) {
	s := openTest(t, testURL(t), Options{})
	ctx := context.Background()
	calls := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		calls++
		return &pgconn.PgError{Code: "53100", Message: "could not extend file: No space left on device"}
	})
	if !errors.Is(err, store.ErrFull) || calls != 1 {
		t.Fatalf("disk full: %v after %d calls", err, calls)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error { return &pgconn.PgError{Code: "23505"} })
	if errors.Is(err, store.ErrFull) || !isUnique(err) {
		t.Fatalf("unique violation: %v", err)
	}
}

// TestOpenMissingSchema: a URL whose search_path names a schema that
// doesn't exist is refused with an error that says so and how to make
// it (it said only "no schema has been selected to create in").
func TestOpenMissingSchema(t *testing.T) {
	u, err := url.Parse(serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	rand.Read(b[:])
	q := u.Query()
	q.Set("search_path", "parley_missing_"+hex.EncodeToString(b[:]))
	u.RawQuery = q.Encode()
	st, err := Open(context.Background(), u.String(), Options{})
	if err == nil {
		st.Close()
		t.Fatal("Open with a search_path naming a missing schema succeeded")
	}
	if !strings.Contains(err.Error(), "search_path") || !strings.Contains(err.Error(), "CREATE SCHEMA") {
		t.Fatalf("Open with a missing schema: %v, want it to name the search_path and CREATE SCHEMA", err)
	}
}

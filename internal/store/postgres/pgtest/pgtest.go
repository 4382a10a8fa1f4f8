// Package pgtest gives tests outside the PostgreSQL store a database of
// their own on the test server: a fresh schema, dropped when the test
// ends. The server is the one PARLEY_TEST_POSTGRES names (CI exports it;
// the default is PostgreSQL on 127.0.0.1:5432 with trust auth and a
// database "test"). When it is unreachable the test is skipped loudly, or
// fails when the environment variable CI is set: CI must run these.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-exchange/parley/internal/untrusted"
)

// DefaultURL is the server used when PARLEY_TEST_POSTGRES is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// ServerURL returns the test server's URL, or skips t (fails it under CI)
// when the server is unreachable.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PARLEY_TEST_POSTGRES")
	if u == "" {
		u = DefaultURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL unreachable at %s: %v — CI must run these (set PARLEY_TEST_POSTGRES)", Redact(u), err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING THE POSTGRESQL TESTS: " + msg)
	}
	conn.Close(ctx)
	return u
}

// Redact drops a password from a URL for messages.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a URL that doesn't parse)"
	}
	return untrusted.URLRedacted(p)
}

// SchemaURL creates a fresh schema on the test server, dropped (CASCADE)
// when t ends, and returns a URL whose connections use it (search_path).
// Every store opened on that URL, in this process or another, shares it.
func SchemaURL(t testing.TB) string {
	t.Helper()
	u, drop, err := NewSchema(ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return u
}

// NewSchema creates a fresh schema on the server at base and returns a
// URL whose connections use it (search_path) and a function that drops
// it (CASCADE). For harnesses that have no testing.TB (CLI scripts);
// tests use [SchemaURL].
func NewSchema(base string) (string, func() error, error) {
	var r [6]byte
	rand.Read(r[:])
	schema := "parley_test_" + hex.EncodeToString(r[:])
	ctx := context.Background()
	p, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("the test server's URL doesn't parse")
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, err
	}
	drop := func() error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return fmt.Errorf("couldn't drop schema %s: %w", schema, err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			return fmt.Errorf("couldn't drop schema %s: %w", schema, err)
		}
		return nil
	}
	q := p.Query()
	q.Set("search_path", schema)
	p.RawQuery = q.Encode()
	return p.String(), drop, nil
}

// Content describes everything the schema that u's search_path
// selects holds: each table's columns and indexes, and a digest and count
// of its rows. Two equal results mean nothing was changed.
func Content(t testing.TB, u string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var b strings.Builder
	rows, err := conn.Query(ctx, `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	rows, err = conn.Query(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "%s\n%s\n", strings.Join(cols, "\n"), strings.Join(idx, "\n"))
	rows, err = conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) == 0 {
		t.Fatal("no tables in the test schema")
	}
	for _, tb := range tables {
		var n int64
		var sum string
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(r::text, ',' ORDER BY r::text)), '') FROM %s r`, pgx.Identifier{tb}.Sanitize())
		if err := conn.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %d rows %s\n", tb, n, sum)
	}
	return b.String()
}

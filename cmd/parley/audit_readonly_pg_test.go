package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
)

// TestAuditPostgresChangesNothing: parley audit --data of a node whose
// config names a PostgreSQL store changes nothing of that store: a
// current one is audited (exit 0) without resuming the backfill an
// interrupted open left pending, and one lacking a migration this
// version applies is refused with exit 4, "nothing was changed", as an
// embedded store is; the schema, rows and indexes are compared before and
// after. The audit used to open it as serve does, migrating it.
func TestAuditPostgresChangesNothing(t *testing.T) {
	pgURL := postgresSchema(t, "audit of a PostgreSQL store")
	data := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "migrate", "--data", data, "--to", pgURL); code != 0 {
		t.Fatalf("migrate: %s", stderr)
	}
	// The node runs once on it, so that its log has a checkpoint.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var serveErr syncBuffer
	done := make(chan int, 1)
	go func() {
		c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &serveErr, getenv: func(string) string { return "" }}
		done <- c.main(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0"})
	}()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if pgCount(t, pgURL, `SELECT count(*) FROM log_checkpoints`) > 0 {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before its log had a checkpoint: %s", code, serveErr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint in the log a minute after serve started: %s", serveErr.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit %d: %s", code, serveErr.String())
	}

	exec := func(sql string) {
		t.Helper()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	audit := func() (int, string) {
		t.Helper()
		code, _, stderr := runCLI(t, "audit", "--data", data, "--seen", filepath.Join(t.TempDir(), "seen.json"))
		return code, stderr
	}

	// A backfill that a killed serve left pending: serve's open resumes it.
	exec(`INSERT INTO ui_values_backfill(next, upto) VALUES (1, 0)`)
	before := pgtest.Content(t, pgURL)
	if code, stderr := audit(); code != 0 {
		t.Fatalf("audit --data of a current PostgreSQL store: exit %d\n%s", code, stderr)
	}
	if after := pgtest.Content(t, pgURL); after != before {
		t.Errorf("the audit changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// An older version's store: migration 720 (leases) not applied.
	exec(`DROP TABLE leases; DELETE FROM schema_migrations WHERE version = 720`)
	before = pgtest.Content(t, pgURL)
	code, stderr := audit()
	if code != 4 {
		t.Errorf("audit --data of an older PostgreSQL store: exit %d, want 4\n%s", code, stderr)
	}
	for _, want := range []string{"older than this version of parley reads", `720 "`, "nothing was changed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr doesn't say %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, pgURL) {
		t.Errorf("stderr repeats the store URL:\n%s", stderr)
	}
	if after := pgtest.Content(t, pgURL); after != before {
		t.Errorf("the refused audit changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// pgCount returns the number that the query q gives on the store at u.
func pgCount(t *testing.T, u, q string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
)

// testPostgresURL is the PostgreSQL test server: PARLEY_TEST_POSTGRES, or
// pgtest.DefaultURL.
func testPostgresURL() string {
	if u := os.Getenv("PARLEY_TEST_POSTGRES"); u != "" {
		return u
	}
	return pgtest.DefaultURL
}

// postgresCondition implements the script condition [postgres]: whether
// the PostgreSQL test server is reachable. Scripts skip on [!postgres]
// (saying so: SKIPPING in the output); under CI=1 an unreachable server is
// an error instead, as pgtest makes it for Go tests.
func postgresCondition() (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testPostgresURL())
	if err != nil {
		if os.Getenv("CI") != "" {
			return false, fmt.Errorf("PostgreSQL unreachable at %s: %v — CI must run these (set PARLEY_TEST_POSTGRES)", pgtest.Redact(testPostgresURL()), err)
		}
		return false, nil
	}
	conn.Close(ctx)
	return true, nil
}

// postgresSchema creates a fresh schema on the PostgreSQL test server,
// dropped when the test ends, and returns a URL that uses it. An
// unreachable server skips the test, loudly, saying what was not tested
// (untested); under CI it fails it (postgresCondition).
func postgresSchema(t *testing.T, untested string) string {
	t.Helper()
	if ok, err := postgresCondition(); err != nil {
		t.Fatal(err)
	} else if !ok {
		t.Skipf("SKIPPING LOUDLY: PostgreSQL is unreachable (set PARLEY_TEST_POSTGRES); %s was not tested", untested)
	}
	u, drop, err := pgtest.NewSchema(testPostgresURL())
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

// pgSchema implements the script command `pgschema VAR`: it creates a
// fresh schema on the PostgreSQL test server, dropped when the script
// ends, and sets VAR to a URL that uses it. Guard it with
// `[!postgres] skip`.
func pgSchema(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pgschema VAR")
	}
	u, drop, err := pgtest.NewSchema(testPostgresURL())
	if err != nil {
		ts.Fatalf("couldn't create a schema on %s: %v", pgtest.Redact(testPostgresURL()), err)
	}
	ts.Defer(func() {
		if err := drop(); err != nil {
			ts.Logf("%v", err)
		}
	})
	ts.Setenv(args[0], u)
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-exchange/parley/internal/store"
)

// TestUnavailable checks which driver errors mean that the server can't be
// reached (store.ErrUnavailable) and that the driver's error stays
// wrapped, with real pgconn values.
func TestUnavailable(t *testing.T) {
	// A real *pgconn.ConnectError: nothing listens on a port just closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, connectErr := pgconn.Connect(ctx, fmt.Sprintf("postgres://u:secret@127.0.0.1:%d/db?sslmode=disable", addr.Port))
	var ce *pgconn.ConnectError
	if !errors.As(connectErr, &ce) {
		t.Fatalf("connecting to a closed port: %T %v, want a *pgconn.ConnectError", connectErr, connectErr)
	}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"connect error", connectErr, true},
		{"connect error, wrapped", fmt.Errorf("couldn't begin a transaction: %w", connectErr), true},
		{"admin_shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"crash_shutdown", &pgconn.PgError{Code: "57P02"}, true},
		{"cannot_connect_now", &pgconn.PgError{Code: "57P03"}, true},
		{"too_many_connections", &pgconn.PgError{Code: "53300"}, true},
		{"idle_in_transaction_session_timeout", &pgconn.PgError{Code: "25P03"}, true},
		{"idle_session_timeout", &pgconn.PgError{Code: "57P05"}, true},
		{"connection_failure", &pgconn.PgError{Code: "08006"}, true},
		{"sqlclient_unable_to_establish_sqlconnection", &pgconn.PgError{Code: "08001"}, true},
		{"protocol_violation", &pgconn.PgError{Code: "08P01"}, true},
		{"admin_shutdown at commit", fmt.Errorf("couldn't commit: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"connection reset", reset, true},
		{"stream cut", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"conn closed", pgconn.ErrConnClosed, true},
		{"closed network connection", fmt.Errorf("write: %w", net.ErrClosed), true},
		{"broken pipe", syscall.EPIPE, true},

		{"nil", nil, false},
		{"no rows", pgx.ErrNoRows, false},
		{"unique_violation", &pgconn.PgError{Code: "23505"}, false},
		{"serialization_failure", &pgconn.PgError{Code: "40001"}, false},
		{"disk_full", &pgconn.PgError{Code: "53100"}, false},
		{"query_canceled", &pgconn.PgError{Code: "57014"}, false},
		{"undefined_table", &pgconn.PgError{Code: "42P01"}, false},
		{"canceled", context.Canceled, false},
		{"deadline", context.DeadlineExceeded, false},
		// The caller's cancellation interrupts a read with a timeout.
		{"canceled read", fmt.Errorf("%w: %w", context.Canceled, &net.OpError{Op: "read", Net: "tcp", Err: errors.New("i/o timeout")}), false},
		{"other", errors.New("couldn't read a stored time"), false},
	}
	// A server that answers a connection with a refusal retrying won't
	// mend (a missing database; a wrong password is class 28 alike) is
	// a configuration to fix, not an outage.
	if base := os.Getenv("PARLEY_TEST_POSTGRES"); base != "" {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/parley_no_such_database"
		_, missing := pgconn.Connect(ctx, u.String())
		var pe *pgconn.PgError
		if !errors.As(missing, &ce) || !errors.As(missing, &pe) || pe.Code != "3D000" {
			t.Fatalf("connecting to a missing database: %T %v, want a *pgconn.ConnectError of 3D000", missing, missing)
		}
		cases = append(cases, struct {
			name string
			err  error
			want bool
		}{"connect error, missing database", missing, false})
	} else {
		t.Log("PARLEY_TEST_POSTGRES unset: the missing-database case isn't checked")
	}
	for _, tc := range cases {
		if got := isUnavailable(tc.err); tc.err != nil && got != tc.want {
			t.Errorf("%s: isUnavailable = %v, want %v", tc.name, got, tc.want)
		}
		got := unavailable(tc.err)
		if errors.Is(got, store.ErrUnavailable) != tc.want {
			t.Errorf("%s: unavailable(err) is store.ErrUnavailable: %v, want %v", tc.name, !tc.want, tc.want)
		}
		if tc.err != nil && !errors.Is(got, tc.err) {
			t.Errorf("%s: unavailable(err) no longer wraps the driver's error", tc.name)
		}
		if tc.want && unavailable(got) != got {
			t.Errorf("%s: unavailable wraps twice", tc.name)
		}
	}
}

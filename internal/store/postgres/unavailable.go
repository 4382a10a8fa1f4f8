package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-exchange/parley/internal/store"
)

// Errors leave this store through two doors: [Store.inTx] (every write,
// and the reads that run in a transaction) and [db], the pool as the
// other reads use it. Both pass their errors through [unavailable], so
// that a server that can't be reached is [store.ErrUnavailable] wherever
// it shows.

// unavailable wraps err with [store.ErrUnavailable] when it says that the
// server can't be reached now (see [isUnavailable]); the driver's error
// stays wrapped too, for the log. Other errors, and nil, are returned as
// they are.
func unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !isUnavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// isUnavailable reports whether err means that the server can't be
// reached now, rather than that the request was wrong:
//
//   - a connection that couldn't be made (*pgconn.ConnectError: refused,
//     unreachable, timed out), or that the server refused with one of
//     the codes below (too_many_connections, cannot_connect_now), but
//     not for a wrong password or a missing database;
//   - a connection that broke: a network error (net.Error, ECONNRESET,
//     EPIPE), the server's stream ending mid-message
//     (io.ErrUnexpectedEOF), a connection already closed;
//   - the server's SQLSTATE class 08 (connection exception), 57P01
//     admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now,
//     53300 too_many_connections, and the two timeouts after which the
//     server ends the session: 25P03 idle_in_transaction_session_timeout
//     and 57P05 idle_session_timeout.
//
// A statement the server canceled by itself (see [unavailableIn]) is
// unavailability too, but only the caller knows that it didn't cancel it.
//
// The caller's own cancellation or deadline is not unavailability (the
// node answers those itself), unless it cut a connection attempt short.
func isUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	if errors.As(err, &ce) && !errors.As(err, &pe) {
		return true // no answer from the server at all
	}
	// A server that answered refuses for a reason: an outage (the codes
	// below), or a configuration that retrying won't mend, such as a
	// wrong password (class 28) or a missing database (3D000).
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"),
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03",
			pe.Code == "53300", pe.Code == "25P03", pe.Code == "57P05":
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE)
}

// unavailableIn is [unavailable] for an error of work done with ctx. It
// also marks [store.ErrUnavailable] a statement that the server canceled
// while ctx was still live: 57014 query_canceled from statement_timeout
// (or an administrator's pg_cancel_backend), and 55P03 lock_not_available
// from lock_timeout. The transaction was rolled back and the same call
// may succeed later, when the locks or the load that held it are gone; it
// is not the request's fault, so it must not be a 500. When ctx is done,
// a 57014 is the driver's cancelling for the caller, and stays as it is.
func unavailableIn(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	var pe *pgconn.PgError
	if ctx.Err() == nil && errors.As(err, &pe) && (pe.Code == "57014" || pe.Code == "55P03") {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return unavailable(err)
}

// db is the pool as this store's reads use it: its errors, and those of
// the rows it returns, pass through [unavailable].
//
// Its statements are reads (and the idempotent CREATE TABLE IF NOT EXISTS
// of [Store.migrate]); writes go through [Store.inTx]. So a statement
// that failed on a pooled connection the server had ended while it was
// idle is run again on another (see [db.retryOnNewConn]).
type db struct{ *pgxpool.Pool }

func (d db) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	for i := 1; ; i++ {
		rows, err := d.Pool.Query(ctx, sql, args...)
		if err != nil {
			err = unavailableIn(ctx, err)
			if d.retryOnNewConn(ctx, err, i) {
				continue
			}
			return rows, err
		}
		return unavailableRows{rows, ctx}, nil
	}
}

func (d db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return unavailableRow{d.Pool.QueryRow(ctx, sql, args...), ctx, d, sql, args}
}

// retryOnNewConn reports whether a statement or BEGIN that failed with err
// on its tries-th try should be tried again: err says the connection broke
// (store.ErrUnavailable) but not that a new one couldn't be made
// (*pgconn.ConnectError: the server is out of reach), the caller's ctx is
// live, and the pool may still hold connections that the server ended
// while they were idle: the pool pings only connections idle for more
// than a second, and drops a broken one when it is released, so each try
// takes another, and the last one dials.
func (d db) retryOnNewConn(ctx context.Context, err error, tries int) bool {
	var ce *pgconn.ConnectError
	return err != nil && tries <= int(d.Pool.Config().MaxConns) && ctx.Err() == nil &&
		errors.Is(err, store.ErrUnavailable) && !errors.As(err, &ce)
}

func (d db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := d.Pool.Exec(ctx, sql, args...)
	return tag, unavailableIn(ctx, err)
}

func (d db) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	tx, err := d.Pool.BeginTx(ctx, opts)
	return tx, unavailableIn(ctx, err)
}

// unavailableRows and unavailableRow pass the errors of rows through
// [unavailable]: a connection that breaks while rows are read shows in
// Err or Scan.
type unavailableRows struct {
	pgx.Rows
	ctx context.Context
}

func (r unavailableRows) Err() error             { return unavailableIn(r.ctx, r.Rows.Err()) }
func (r unavailableRows) Scan(dest ...any) error { return unavailableIn(r.ctx, r.Rows.Scan(dest...)) }
func (r unavailableRows) Values() ([]any, error) {
	v, err := r.Rows.Values()
	return v, unavailableIn(r.ctx, err)
}

type unavailableRow struct {
	row pgx.Row
	ctx context.Context
	// To run the statement again (see [db.retryOnNewConn]).
	db   db
	sql  string
	args []any
}

func (r unavailableRow) Scan(dest ...any) error {
	err := unavailableIn(r.ctx, r.row.Scan(dest...))
	for i := 1; r.db.retryOnNewConn(r.ctx, err, i); i++ {
		err = unavailableIn(r.ctx, r.db.Pool.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...))
	}
	return err
}

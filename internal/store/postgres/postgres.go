// Package postgres is the PostgreSQL implementation of [store.Store]
// (https://www.postgresql.org), through github.com/jackc/pgx/v5 and its
// connection pool. It keeps exactly the contract of the embedded SQLite
// store (internal/store/sqlite) and runs the same conformance suite
// (internal/store/storetest) against a real server.
//
// # Durability
//
// Every change is one transaction, and a method returns nil only after
// its COMMIT succeeded. Connections set synchronous_commit=on, so a
// server configured with it off (which acknowledges commits before their
// WAL is flushed) cannot weaken the contract for this store's sessions.
//
// # Ordering and concurrency
//
// The SQL is meant to port to PostgreSQL-compatible distributed databases
// (docs/scaling.md): no order is taken from SERIAL columns or sequences,
// which such databases hand out out of order across nodes. The log index,
// each entry's received time and each object's Seq come from one counter
// row (log_head) that every appending transaction locks first
// (SELECT ... FOR UPDATE) and advances in the same transaction; see
// [logHead]. Transactions that fail with a serialization failure
// or a deadlock (SQLSTATE 40001, 40P01) are retried by [Store.inTx].
//
// # Schema
//
// The schema is an ordered list of migrations, each applied in its own
// transaction together with its row in schema_migrations; see [migration].
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-exchange/parley/internal/store"
)

// Options tune [Open]. The zero value is the production configuration.
type Options struct {
	// Now returns the current time; nil means time.Now. Tests inject it.
	Now func() time.Time
	// Limits bound objects and members' storage (see [store.Limits]);
	// the zero value sets none.
	Limits store.Limits
	// MaxConns is the size of the connection pool; zero means pgxpool's
	// default (the larger of 4 and the number of CPUs).
	MaxConns int32
	// ReadOnly opens an existing store for reading only (an audit): no
	// migration, no backfill, no DDL, and every session of the pool runs
	// with default_transaction_read_only=on, so that the server refuses
	// any write through it (the store's write methods fail). A schema
	// lacking a migration this version applies is refused with an error
	// wrapping [store.ErrSchemaTooOld], one a newer version migrated with
	// [store.ErrNewerSchema]; see [Store.checkReadable].
	ReadOnly bool
}

// Store is the PostgreSQL [store.Store]. It is safe for concurrent use,
// and several processes (nodes) may share one database.
type Store struct {
	pool   db
	now    func() time.Time
	limits store.Limits

	// upgraded are the schema migrations Open applied to a store that an
	// older version had migrated ([Store.SchemaUpgrade]).
	upgraded []store.AppliedMigration
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a PostgreSQL connection URL or
// key=value string, as pgx parses it; a search_path parameter selects the
// schema) and applies pending migrations. Several processes may Open the
// same database at once: each migration is applied once.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, fmt.Errorf("couldn't open the PostgreSQL store: the connection URL doesn't parse: %w", store.ErrInvalid)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	// See the package documentation (Durability).
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	if opts.ReadOnly {
		// Set at connection start-up, after the URL's own parameters: a
		// URL's options can't turn it off, and a bug can't write.
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("couldn't open the PostgreSQL store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		// store.ErrUnavailable when the server can't be reached now (not
		// for a wrong password or database): a node that starts before
		// its database may wait for it.
		return nil, fmt.Errorf("couldn't connect to PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, unavailable(err))
	}
	s := &Store{pool: db{pool}, now: opts.Now, limits: opts.Limits}
	if opts.ReadOnly {
		if err := s.checkReadable(ctx); err != nil {
			pool.Close()
			return nil, err
		}
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, unavailable(err)
	}
	if err := s.backfillUIValues(ctx); err != nil {
		pool.Close()
		return nil, unavailable(err)
	}
	if err := s.repairUIValues(ctx); err != nil {
		pool.Close()
		return nil, unavailable(err)
	}
	return s, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool returns the connection pool, for code in this package's tests and
// benchmarks. Writes must go through [Store.inTx].
func (s *Store) Pool() *pgxpool.Pool { return s.pool.Pool }

// Retries of [Store.inTx]: at most maxAttempts attempts, waiting a random
// time up to retryBase·2^attempt (at most retryMax) between them, so that
// transactions that collided don't collide again in step.
const (
	maxAttempts = 10
	retryBase   = 2 * time.Millisecond
	retryMax    = 500 * time.Millisecond
)

// inTx runs fn in one READ COMMITTED transaction and commits it; when it
// returns nil the change is durable. An error from fn rolls back
// everything. A transaction that fails with a serialization failure
// (40001) or a deadlock (40P01), in fn or at COMMIT, is rolled back and
// run again from the start after a jittered backoff, up to maxAttempts
// times: fn must therefore do nothing but database work through tx (or
// work it can repeat), and must not keep results of a failed attempt.
// A server that can't be reached (see [isUnavailable]) is not retried
// here, nor is a statement the server canceled (statement_timeout,
// lock_timeout: see [unavailableIn]): the error is [store.ErrUnavailable], and when the connection
// broke at COMMIT ("couldn't commit") the change may have been committed.
//
// Why READ COMMITTED and row locks rather than SERIALIZABLE: every
// transaction that appends to the log locks the one counter row first
// ([logHead]), so the log's writers are serialised by that lock
// and each statement after it sees every entry committed before; the
// other writes are guarded by primary keys and unique indexes. Under
// SERIALIZABLE the same writers would not wait for each other but abort
// (all but one of every concurrent group, at the counter's update) and
// retry, which costs more and gains nothing. On databases that run every
// transaction SERIALIZABLE (CockroachDB by default) the lock still orders
// the writers, and the rare 40001 is what the retry is for.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := unavailableIn(ctx, s.tryTx(ctx, fn))
		if diskFull(err) {
			// The node answers 507, not 500, for a full disk.
			return fmt.Errorf("%w: %w", store.ErrFull, err)
		}
		if err == nil || !retryable(err) || attempt+1 >= maxAttempts {
			return err
		}
		wait := min(retryBase<<attempt, retryMax)
		t := time.NewTimer(rand.N(wait) + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while retrying after: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.begin(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("couldn't begin a transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("couldn't commit: %w", err)
	}
	return nil
}

// begin begins a transaction on a connection of the pool. A pooled
// connection whose session the server ended while it was idle (an
// administrator's pg_terminate_backend, a failover, idle_session_timeout)
// fails at BEGIN; the pool only pings connections idle for more than a
// second, so after the server ends several at once each would fail one
// request with store.ErrUnavailable although the server answers. BEGIN
// changes nothing, so a BEGIN that fails on a broken connection is tried
// again, on another connection (the pool drops the broken one), up to
// once per connection of the pool and one more, which dials. A fresh
// connection that can't be made ends the tries: the server is out of
// reach.
func (s *Store) begin(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	for i := 1; ; i++ {
		tx, err := s.pool.BeginTx(ctx, opts)
		if !s.pool.retryOnNewConn(ctx, err, i) {
			return tx, err
		}
	}
}

// retryable reports whether err is a serialization failure or a deadlock,
// after which the whole transaction may be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// diskFull reports whether err is PostgreSQL's disk_full (SQLSTATE 53100):
// the server could not extend a file, and nothing of the transaction was
// committed.
func diskFull(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "53100"
}

// isUnique reports whether err is a unique (or primary key) violation.
// isCreateRace reports the errors of a CREATE TABLE IF NOT EXISTS that
// lost a race with the same statement in another session: IF NOT EXISTS
// looks before it creates, so both may try, and the loser meets the
// winner's catalog rows as a unique violation on the catalog (23505), its
// row type (42710 duplicate_object) or the table (42P07 duplicate_table).
// The table exists either way.
func isCreateRace(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42710" || pe.Code == "42P07")
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// Times are stored as fixed-width UTC text, as in the SQLite store, so
// that object versions keep their nanoseconds (timestamptz keeps
// microseconds) and compare equal exactly when the times are equal. Text
// order is time order in every collation, because every value has the
// same punctuation at the same places; columns that are ordered or
// ranged over also use COLLATE "C", byte order, which indexes serve
// fastest.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("couldn't read a stored time %q: %w", s, err)
	}
	return t, nil
}

// migration is one step of the schema. Migrations are applied in Version
// order, each in its own transaction together with its row in
// schema_migrations, so a crash leaves the schema at a whole step.
// Applied migrations are never edited: a change is a new migration. SQL
// may hold several statements (it is sent with the simple protocol).
//
// Version ranges, the same as the SQLite store's so that a feature has
// one number in both, let other files of this package add tables from an
// init function calling [registerMigrations]:
//
//	1–99     the core store (schema.go)
//	100–199  the log integrator (tree tiles, checkpoints)
//	200–299  private sets
//	300–399  opinions, the web UI and others
//	400–409  log format v2 (folded into the core schema here)
//	410–499  limits (member storage use)
//	500–599  TAXII feeds
//	600–699  cosigned checkpoints
//	860–869  withdrawn private sets (private.go)
//	875      the collections' counts for the UI's home page (stats.go)
//	890–899  the provider's signed statement of a withdrawal (private.go)
type migration struct {
	Version int
	Name    string
	SQL     string
}

var migrations []migration

// registerMigrations adds migrations; call it from an init function.
// Versions must be unique (checked at Open).
func registerMigrations(ms ...migration) { migrations = append(migrations, ms...) }

// migrate applies pending migrations. The row in schema_migrations is
// inserted before the migration's SQL runs, in the same transaction: a
// second process applying the same migration at the same moment blocks on
// that row's key until the first commits, then finds it taken and skips
// the migration. No advisory lock is needed.
// SchemaUpgrade returns the schema migrations that Open applied to a store
// an older version had migrated, in the order applied: an upgrade, which
// the node logs. It is empty for a store Open created, for one that was up
// to date, and for migrations another process applied meanwhile.
func (s *Store) SchemaUpgrade() []store.AppliedMigration {
	return slices.Clone(s.upgraded)
}

func (s *Store) migrate(ctx context.Context) error {
	ms := append([]migration(nil), migrations...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return fmt.Errorf("couldn't migrate: two migrations with version %d (%s, %s)", ms[i].Version, ms[i-1].Name, ms[i].Name)
		}
	}
	_, err := s.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)`)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "3F000" {
		// invalid_schema_name: every schema the search_path names is missing.
		return fmt.Errorf("couldn't create the store's tables: no schema of the URL's search_path exists (create it first: CREATE SCHEMA name): %w", err)
	}
	if err != nil && !isCreateRace(err) {
		return fmt.Errorf("couldn't create schema_migrations: %w", err)
	}
	applied := map[int64]bool{}
	rows, err := s.pool.Query(ctx, `SELECT version, name FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("couldn't read schema_migrations: %w", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[store.AppliedMigration])
	if err != nil {
		return fmt.Errorf("couldn't read schema_migrations: %w", err)
	}
	for _, v := range vs {
		applied[v.Version] = true
	}
	known := make(map[int64]bool, len(ms))
	for _, m := range ms {
		known[int64(m.Version)] = true
	}
	// A store a newer version migrated is refused before anything is
	// applied (see store.CheckSchemaKnown).
	if err := store.CheckSchemaKnown(vs, known); err != nil {
		return err
	}
	for _, m := range ms {
		if applied[int64(m.Version)] {
			continue
		}
		did := false
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			did = false
			tag, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version, name, applied) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING`,
				m.Version, m.Name, fmtTime(s.now()))
			if err != nil || tag.RowsAffected() == 0 {
				return err // applied meanwhile by another process
			}
			_, err = tx.Exec(ctx, m.SQL)
			did = err == nil
			return err
		})
		if err != nil {
			return fmt.Errorf("couldn't apply migration %d (%s): %w", m.Version, m.Name, err)
		}
		if did && len(vs) > 0 {
			s.upgraded = append(s.upgraded, store.AppliedMigration{Version: int64(m.Version), Name: m.Name})
		}
	}
	return nil
}

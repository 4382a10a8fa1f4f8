// Package sqlite is the embedded default implementation of
// [store.Store], on SQLite (https://sqlite.org) through the pure-Go
// driver modernc.org/sqlite, so that `go run ./cmd/parley` needs no C
// toolchain. docs/benchmarks.md compares it with the cgo driver
// github.com/mattn/go-sqlite3 on the same workload.
//
// The database runs in WAL mode with synchronous=FULL: in WAL mode SQLite
// syncs the write-ahead log on every commit only with FULL (NORMAL defers
// the sync to checkpoints and may lose the last commits on power loss), and
// a Parley node acknowledges a submission only when it is durable. All
// writes go through one connection (a single writer; SQLite serialises
// writers anyway, and this avoids SQLITE_BUSY between our own writers),
// taking the write lock at BEGIN (BEGIN IMMEDIATE). Reads use a separate
// pool and see the last committed state. A busy timeout covers other
// processes (such as `parley member add` run beside `parley serve`).
//
// The schema is an ordered list of migrations, each applied in its own
// transaction and recorded in schema_migrations; see [migration].
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options tune [Open]. The zero value is the production configuration.
type Options struct {
	// Driver is the database/sql driver name: "sqlite" (modernc.org/sqlite,
	// the default) or "sqlite3" (github.com/mattn/go-sqlite3, which the
	// caller must import; used by benchmarks).
	Driver string
	// BusyTimeout is how long a statement waits for a lock held by another
	// process; zero means 10 s.
	BusyTimeout time.Duration
	// ReadConns is the size of the read pool; zero means 4.
	ReadConns int
	// Now returns the current time; nil means time.Now. Tests inject it.
	Now func() time.Time
	// Limits bound objects and members' storage (see [store.Limits]);
	// the zero value sets none.
	Limits store.Limits
	// KeepModes leaves the modes of the existing database files as they
	// are, for a caller that only reads the store (an audit): it must not
	// change what it only reads, even to tighten it. A new file is still
	// created with [FileMode].
	KeepModes bool
	// CacheKiB is each connection's page cache in KiB; zero means
	// cacheKiB (64 MiB). A caller that reads the store once through (an
	// audit) gains nothing from a large one, which would fill as it
	// reads: up to 64 MiB for each of the five connections.
	CacheKiB int
	// ReadOnly opens an existing database for reading only (an audit):
	// nothing is written to it, its -wal or -shm (see [openReadOnly]),
	// no migration is applied and no mode changed. A database whose
	// schema lacks a migration this version applies is refused with an
	// error wrapping [ErrSchemaTooOld], one a newer version migrated
	// with [store.ErrNewerSchema]. The store's write methods fail.
	ReadOnly bool
}

// ErrSchemaTooOld is wrapped by [Open] with ReadOnly for a database that
// an older version wrote and that this version would have to migrate
// before reading it. It is [store.ErrSchemaTooOld], which the PostgreSQL
// store wraps too.
var ErrSchemaTooOld = store.ErrSchemaTooOld

// Store is the SQLite [store.Store].
type Store struct {
	w   *sql.DB // the single writer connection
	r   *sql.DB // readers
	now func() time.Time

	// upgraded are the schema migrations Open applied to a store that an
	// older version had migrated ([Store.SchemaUpgrade]).
	upgraded []store.AppliedMigration

	limits store.Limits

	// uiText is whether the web UI's full-text tables exist and Submit
	// fills them (migration 314 applied; see uiTextTable).
	uiText bool
	// textTables holds the collections whose full-text table is known
	// to exist (see hasUIText).
	textTables sync.Map

	mu sync.Mutex // serialises write transactions in this process

	qmu   sync.Mutex       // guards queue
	queue []*submitRequest // Submit calls waiting for the next group commit
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies pending
// migrations.
//
// The database and its -wal and -shm files are readable by their owner
// only (mode 0600), whatever the umask: they hold every object of every
// collection, salts and private-set keys. A new database file is created
// with that mode before SQLite opens it (SQLite gives -wal and -shm the
// mode of the database file), and the modes of existing files are
// tightened to it after opening.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.ReadOnly {
		return openReadOnly(ctx, path, opts)
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	if opts.Driver == "" {
		opts.Driver = "sqlite"
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.ReadConns == 0 {
		opts.ReadConns = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheKiB == 0 {
		opts.CacheKiB = cacheKiB
	}
	wdsn, err := dsn(opts.Driver, path, opts.BusyTimeout, opts.CacheKiB, false)
	if err != nil {
		return nil, err
	}
	rdsn, _ := dsn(opts.Driver, path, opts.BusyTimeout, opts.CacheKiB, true)
	w, err := sql.Open(opts.Driver, wdsn)
	if err != nil {
		return nil, fmt.Errorf("couldn't open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if opts.Driver == "sqlite3" {
		// mattn's DSN has no temp_store setting; the writer pool's one
		// connection lives as long as the store.
		if _, err := w.ExecContext(ctx, `PRAGMA temp_store = MEMORY`); err != nil {
			w.Close()
			return nil, fmt.Errorf("couldn't open %s: %w", path, err)
		}
	}
	s := &Store{w: w, now: opts.Now, limits: opts.Limits}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("couldn't open %s: %w", path, whyNotWritable(path, err))
	}
	if err := s.backfillUIValues(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("couldn't open %s: %w", path, err)
	}
	if err := s.repairUIValues(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("couldn't open %s: %w", path, err)
	}
	var one int
	// A database at 314 opened by a driver without FTS5 (see needsModule)
	// has no full-text search for that process.
	switch err := w.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = 314`).Scan(&one); {
	case err == nil:
		if s.uiText = s.hasModule(ctx, "fts5"); s.uiText {
			if err := s.ensureUIText(ctx); err != nil {
				w.Close()
				return nil, fmt.Errorf("couldn't open %s: full-text tables: %w", path, err)
			}
		}
	case !errors.Is(err, sql.ErrNoRows):
		w.Close()
		return nil, fmt.Errorf("couldn't open %s: %w", path, err)
	}
	r, err := sql.Open(opts.Driver, rdsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("couldn't open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	s.r = r
	if !opts.KeepModes {
		if err := restrictFiles(path); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// FileMode is the mode of the database file and of every file SQLite
// keeps beside it.
const FileMode = 0o600

// createPrivate creates an empty file at path with [FileMode] if there is
// none; SQLite takes an empty file for a new database.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("couldn't create %s: %w", path, err)
	}
	// OpenFile's mode is masked by the umask; only a wider umask than
	// 0077 could make it looser, and Chmod is not masked.
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		return fmt.Errorf("couldn't restrict %s: %w", path, err)
	}
	return f.Close()
}

// whyNotWritable adds to err, an error opening the database at path, the
// reason when it is that the database's directory can't be written to (a
// read-only mount, a directory without write permission, a full disk): SQLite says only
// "unable to open database file" or "attempt to write a readonly
// database", and opening needs to create the -wal and -shm files beside
// the database.
func whyNotWritable(path string, err error) error {
	dir := filepath.Dir(path)
	f, perr := os.CreateTemp(dir, ".parley-probe-*")
	if perr != nil {
		return fmt.Errorf("%w (the directory %s can't be written to: %v)", err, dir, perr)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	// On a full disk a file can be made but not written; SQLite then
	// says "disk I/O error" (it can't size the -shm file).
	if _, perr := f.Write(make([]byte, 4096)); perr != nil {
		return fmt.Errorf("%w (the directory %s can't be written to: %v)", err, dir, perr)
	}
	return err
}

// restrictFiles sets [FileMode] on the database and its -wal and -shm
// files (those that exist), so that a store made by an older version or
// copied in with a looser mode is tightened when opened.
func restrictFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("couldn't check the mode of %s: %w", p, err)
		}
		if fi.Mode().Perm() != FileMode {
			if err := os.Chmod(p, FileMode); err != nil {
				return fmt.Errorf("couldn't restrict %s to mode %o: %w", p, FileMode, err)
			}
		}
	}
	return nil
}

// cacheKiB is each connection's page cache. SQLite's default (2 MiB) makes
// a writer re-read index pages from the file on every batch once the
// database outgrows it; 64 MiB keeps the hot part of the indexes of a
// million-object collection in memory.
const cacheKiB = 64 << 10

// Every connection keeps its temporary files in memory (temp_store):
// an INSERT that fires a trigger (objects_version_flags) opens a statement
// journal, the pages' contents before the statement, needed only to undo
// that statement within its transaction; on disk it costs a temporary
// file write per page. Durability does not depend on it: the WAL does.

// dsn builds the connection string for each supported driver; they spell
// the same settings differently.
func dsn(driver, path string, busy time.Duration, cacheKiB int, readOnly bool) (string, error) {
	ms := busy.Milliseconds()
	q := url.Values{}
	switch driver {
	case "sqlite":
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", ms))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cacheKiB))
		q.Add("_pragma", "temp_store(MEMORY)")
		if readOnly {
			q.Add("_pragma", "query_only(1)")
		} else {
			q.Set("_txlock", "immediate")
		}
	case "sqlite3":
		q.Set("_busy_timeout", fmt.Sprint(ms))
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL")
		q.Set("_foreign_keys", "1")
		q.Set("_cache_size", fmt.Sprint(-cacheKiB))
		if readOnly {
			q.Set("_query_only", "1")
		} else {
			q.Set("_txlock", "immediate")
		}
	default:
		return "", fmt.Errorf("couldn't open the store: unknown driver %q: %w", driver, store.ErrInvalid)
	}
	return fileDSN(path, q), nil
}

// fileDSN is the connection string of the database file at path with the
// settings q.
func fileDSN(path string, q url.Values) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes both pools.
func (s *Store) Close() error {
	err := s.w.Close()
	if s.r != nil {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// DB returns the writer and reader pools, for code in other packages that
// extends the schema through [Register] (such as the log integrator) and
// for benchmarks. Writes must go through [Store.Write].
func (s *Store) DB() (writer, reader *sql.DB) { return s.w, s.r }

// Write runs fn in one write transaction (BEGIN IMMEDIATE on the single
// writer) and commits it; when it returns nil the change is durable. An
// error from fn rolls back everything.
func (s *Store) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("couldn't begin a transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return fullError(err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("couldn't commit: %w", fullError(err))
	}
	return nil
}

// sqliteFull is SQLite's primary result code SQLITE_FULL ("database or
// disk is full").
const sqliteFull = 13

// isFull reports whether err is SQLite's SQLITE_FULL (of either driver:
// modernc's *sqlite.Error has a Code method, mattn's sqlite3.Error says
// "database or disk is full") or the system's ENOSPC.
func isFull(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code()&0xff == sqliteFull {
		return true
	}
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "database or disk is full")
}

// fullError returns err marked with [store.ErrFull] when it is a full
// disk, so that callers can answer "insufficient storage" rather than
// "internal error"; other errors are returned as they are.
func fullError(err error) error {
	if !isFull(err) || errors.Is(err, store.ErrFull) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrFull, err)
}

// Times are stored as fixed-width UTC text so that text order is time
// order and indexes serve range queries.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("couldn't read a stored time %q: %w", s, err)
	}
	return t, nil
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// isForeignKey reports a row that names a collection, member or other
// row that isn't there (both drivers word SQLite's error the same way).
func isForeignKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

const memberCols = `id, name, public_key, identity, created`

func scanMember(row interface{ Scan(...any) error }) (store.Member, error) {
	var m store.Member
	var created string
	if err := row.Scan(&m.ID, &m.Name, &m.PublicKey, &m.Identity, &created); err != nil {
		return m, err
	}
	if len(m.PublicKey) == 0 {
		m.PublicKey = nil
	}
	var err error
	m.Created, err = parseTime(created)
	return m, err
}

func (s *Store) memberWhere(ctx context.Context, where string, arg any) (store.Member, error) {
	m, err := scanMember(s.r.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("couldn't find member %v: %w", arg, store.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("couldn't read member: %w", err)
	}
	return m, nil
}

// Member implements [store.Store].
func (s *Store) Member(ctx context.Context, id string) (store.Member, error) {
	return s.memberWhere(ctx, "id = ?", id)
}

// MemberByName implements [store.Store].
func (s *Store) MemberByName(ctx context.Context, name string) (store.Member, error) {
	return s.memberWhere(ctx, "name = ?", name)
}

// Members implements [store.Store].
func (s *Store) Members(ctx context.Context) ([]store.Member, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+memberCols+` FROM members ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("couldn't list members: %w", err)
	}
	defer rows.Close()
	var out []store.Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("couldn't list members: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// AddToken implements [store.Store]. The lookup column holds the first 8
// bytes of the hash so that [Store.TokenMember] can find a candidate by
// index and then compare the full hash in constant time.
func (s *Store) AddToken(ctx context.Context, t store.Token) error {
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	err := s.Write(ctx, func(tx *sql.Tx) error { return insertToken(ctx, tx, t) })
	if isUnique(err) {
		return fmt.Errorf("couldn't add token: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("couldn't add token: %w", err)
	}
	return nil
}

// TokenMember implements [store.Store], comparing every candidate with
// the same lookup prefix in constant time ([store.TokenMatch]).
func (s *Store) TokenMember(ctx context.Context, hash [32]byte) (store.Member, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT hash, member FROM tokens WHERE lookup = ?`, hash[:8])
	if err != nil {
		return store.Member{}, fmt.Errorf("couldn't look up token: %w", err)
	}
	match := store.NewTokenMatch(hash)
	for rows.Next() {
		var h []byte
		var m string
		if err := rows.Scan(&h, &m); err != nil {
			rows.Close()
			return store.Member{}, fmt.Errorf("couldn't look up token: %w", err)
		}
		match.Offer(h, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Member{}, fmt.Errorf("couldn't look up token: %w", err)
	}
	member, err := match.Member()
	if err != nil {
		return store.Member{}, err
	}
	return s.Member(ctx, member)
}

// AddCollection implements [store.Store].
func (s *Store) AddCollection(ctx context.Context, c store.Collection) error {
	access, err := c.PrepareNew(s.now())
	if err != nil {
		return err
	}
	err = s.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO collections(id, title, description, signatures, relay, created) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, c.Title, c.Description, string(c.Signatures), c.Relay, fmtTime(c.Created)); err != nil {
			return err
		}
		if s.uiText {
			if _, err := createUIText(ctx, tx, c.ID); err != nil {
				return err
			}
		}
		for _, a := range access {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM members WHERE id = ?`, a.Member).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("couldn't add collection %q: member %q: %w", c.Title, a.Member, store.ErrNotFound)
			} else if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO collection_access(collection, member, can_read, can_write) VALUES (?, ?, ?, ?)`,
				c.ID, a.Member, a.Read, a.Write); err != nil {
				return err
			}
		}
		return nil
	})
	if isUnique(err) {
		return fmt.Errorf("couldn't add collection %q: id taken: %w", c.Title, store.ErrConflict)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("couldn't add collection %q: %w", c.Title, err)
	}
	return err
}

func (s *Store) loadAccess(ctx context.Context, cs []store.Collection) error {
	idx := map[string]int{}
	for i, c := range cs {
		idx[c.ID] = i
	}
	q, args := `SELECT collection, member, can_read, can_write FROM collection_access ORDER BY rowid`, []any(nil)
	if len(cs) == 1 {
		q, args = `SELECT collection, member, can_read, can_write FROM collection_access WHERE collection = ? ORDER BY rowid`, []any{cs[0].ID}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var coll, m string
		var rd, wr bool
		if err := rows.Scan(&coll, &m, &rd, &wr); err != nil {
			return err
		}
		i, ok := idx[coll]
		if !ok {
			continue
		}
		if rd {
			cs[i].Readers = append(cs[i].Readers, m)
		}
		if wr {
			cs[i].Writers = append(cs[i].Writers, m)
		}
	}
	return rows.Err()
}

func (s *Store) collections(ctx context.Context, where string, args ...any) ([]store.Collection, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, title, description, signatures, relay, created FROM collections `+where+` ORDER BY created, id`, args...)
	if err != nil {
		return nil, err
	}
	var out []store.Collection
	for rows.Next() {
		var c store.Collection
		var sig, created string
		if err := rows.Scan(&c.ID, &c.Title, &c.Description, &sig, &c.Relay, &created); err != nil {
			rows.Close()
			return nil, err
		}
		c.Signatures = store.SignaturePolicy(sig)
		if c.Created, err = parseTime(created); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.loadAccess(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Collection implements [store.Store].
func (s *Store) Collection(ctx context.Context, id string) (store.Collection, error) {
	cs, err := s.collections(ctx, `WHERE id = ?`, id)
	if err != nil {
		return store.Collection{}, fmt.Errorf("couldn't read collection: %w", err)
	}
	if len(cs) == 0 {
		return store.Collection{}, fmt.Errorf("couldn't find collection %q: %w", id, store.ErrNotFound)
	}
	return cs[0], nil
}

// Access implements [store.Store]: the collections and collection_access
// primary keys find the collection and the pair.
func (s *Store) Access(ctx context.Context, id, member string) (bool, bool, error) {
	var rd, wr sql.NullBool
	err := s.r.QueryRowContext(ctx, `SELECT a.can_read, a.can_write FROM collections c
		LEFT JOIN collection_access a ON a.collection = c.id AND a.member = ? WHERE c.id = ?`, member, id).Scan(&rd, &wr)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, fmt.Errorf("couldn't find collection %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return false, false, fmt.Errorf("couldn't read collection access: %w", err)
	}
	return rd.Bool, wr.Bool, nil
}

// Collections implements [store.Store].
func (s *Store) Collections(ctx context.Context) ([]store.Collection, error) {
	cs, err := s.collections(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("couldn't list collections: %w", err)
	}
	return cs, nil
}

// PeekLogSize returns the size of the log in the SQLite store at path
// without changing anything there: the database is opened read-only, and
// neither created, nor migrated, nor its files' modes changed, as Open
// would. For a check that must not touch what may be an operator's only
// copy of a log (a database an older Parley wrote, say).
func PeekLogSize(ctx context.Context, path string) (int64, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("couldn't read %s: %w", path, err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", fileDSN(path, q))
	if err != nil {
		return 0, fmt.Errorf("couldn't open %s: %w", path, err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM log_entries`).Scan(&n); err != nil {
		return 0, fmt.Errorf("couldn't read the log size of %s: %w", path, err)
	}
	return n, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// openReadOnly opens the existing database at path for reading only
// ([Options.ReadOnly]). How depends on what lies beside it, so that
// reading a stopped node's store changes no byte of it, its -wal and
// -shm included (SQLite's read-only mode alone still creates them, and
// rebuilds a WAL index left by a node that was killed):
//
//   - another process has it open (a running node, see [InUse]):
//     read-only mode, sharing the node's WAL index as any reader does;
//   - a WAL index (-shm) that no process holds (a node that was
//     killed): read-only with readonly_shm, so that SQLite reads the WAL
//     into this process's memory instead of rebuilding the index in -shm;
//   - neither a WAL index nor a WAL with frames in it (a node that
//     stopped cleanly): immutable, which takes no lock and creates no
//     file. A node started while it is read changes the file under it:
//     the reads may then fail (the audit says so), so stop nothing, but
//     don't start the node during an audit of its stopped store;
//   - otherwise (a WAL without its index, a rollback journal): read-only
//     mode, which may create the -shm, or refuse a journal it would have
//     to roll back.
//
// No migration is applied: a schema this version would have to migrate
// is refused ([ErrSchemaTooOld]).
func openReadOnly(ctx context.Context, path string, opts Options) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("couldn't open %s: %w", path, err)
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
	how, err := readOnlyHow(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("mode", "ro")
	if how != "" {
		q.Set(how, "1")
	}
	ms := opts.BusyTimeout.Milliseconds()
	switch opts.Driver {
	case "sqlite":
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", ms))
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -opts.CacheKiB))
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Add("_pragma", "query_only(1)")
	case "sqlite3":
		q.Set("_busy_timeout", fmt.Sprint(ms))
		q.Set("_cache_size", fmt.Sprint(-opts.CacheKiB))
		q.Set("_query_only", "1")
	default:
		return nil, fmt.Errorf("couldn't open the store: unknown driver %q: %w", opts.Driver, store.ErrInvalid)
	}
	d := fileDSN(path, q)
	w, err := sql.Open(opts.Driver, d)
	if err != nil {
		return nil, fmt.Errorf("couldn't open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	s := &Store{w: w, now: opts.Now, limits: opts.Limits}
	if err := s.checkReadable(ctx, path); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open(opts.Driver, d)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("couldn't open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	s.r = r
	return s, nil
}

// readOnlyHow returns the SQLite URI parameter [openReadOnly] opens the
// database at path with: "readonly_shm", "immutable", or "" for plain
// read-only mode.
func readOnlyHow(path string) (string, error) {
	exists := func(p string) (os.FileInfo, bool, error) {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("couldn't open %s: %w", path, err)
		}
		return fi, true, nil
	}
	if _, ok, err := exists(path + "-journal"); err != nil || ok {
		return "", err
	}
	if _, ok, err := exists(path + "-shm"); err != nil {
		return "", err
	} else if ok {
		if openedHere(path + "-shm") {
			// InUse can't tell, and closing its file would drop
			// this process's locks (a node serving in it).
			return "", nil
		}
		busy, err := InUse(path)
		if err != nil {
			return "", err
		}
		if busy {
			return "", nil
		}
		return "readonly_shm", nil
	}
	if fi, ok, err := exists(path + "-wal"); err != nil {
		return "", err
	} else if ok && fi.Size() > 0 {
		return "", nil
	}
	return "immutable", nil
}

// checkReadable refuses a database whose schema this version doesn't
// read without migrating it: one without Parley's schema, one that a
// newer version migrated, one that lacks a migration this version would
// apply (those that need a module the driver lacks aside: see
// needsModule).
func (s *Store) checkReadable(ctx context.Context, path string) error {
	rows, err := s.w.QueryContext(ctx, `SELECT version, name FROM schema_migrations`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return fmt.Errorf("couldn't open %s: %w: it holds no Parley schema (no schema_migrations table)", path, ErrSchemaTooOld)
		}
		return fmt.Errorf("couldn't open %s: couldn't read schema_migrations: %w", path, err)
	}
	defer rows.Close()
	var applied []store.AppliedMigration
	have := map[int64]bool{}
	for rows.Next() {
		var m store.AppliedMigration
		if err := rows.Scan(&m.Version, &m.Name); err != nil {
			return fmt.Errorf("couldn't open %s: couldn't read schema_migrations: %w", path, err)
		}
		applied = append(applied, m)
		have[m.Version] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("couldn't open %s: couldn't read schema_migrations: %w", path, err)
	}
	known := make(map[int64]bool, len(migrations))
	var pending []migration
	for _, m := range migrations {
		known[int64(m.Version)] = true
		if !have[int64(m.Version)] && needsModule[m.Version] == "" {
			pending = append(pending, m)
		}
	}
	if err := store.CheckSchemaKnown(applied, known); err != nil {
		return fmt.Errorf("couldn't open %s: %w", path, err)
	}
	if len(pending) == 0 {
		return nil
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].Version < pending[j].Version })
	names := make([]string, len(pending))
	for i, m := range pending {
		names[i] = fmt.Sprintf("%d %q", m.Version, m.Name)
	}
	return fmt.Errorf("couldn't read %s: %w: it lacks schema migration(s) %s, which this version applies when it opens a store to serve it, and reading it only must not change it", path, ErrSchemaTooOld, strings.Join(names, ", "))
}

// openedHere reports whether this process has the file at path open
// (a node serving the store in the same process, as in tests), or can't
// tell: POSIX locks belong to the process, so [InUse] neither sees this
// process's connections nor may close a file they hold. It reads
// /proc/self/fd, which Linux has; elsewhere it answers true.
func openedHere(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return true
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return true
	}
	for _, fd := range fds {
		if o, err := os.Stat("/proc/self/fd/" + fd.Name()); err == nil && os.SameFile(fi, o) {
			return true
		}
	}
	return false
}

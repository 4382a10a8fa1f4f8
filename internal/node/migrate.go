package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/internal/untrusted"
)

// Migration (parley migrate): moving a node from the embedded SQLite
// store to PostgreSQL with the same log.
//
// [Migrate] copies a consistent snapshot of the SQLite store (every row of
// [store.StateTables]: members and their key events, tokens, collections
// and their access lists, log entries with their salts, tiles,
// checkpoints, cosigned checkpoints, objects with their seq and log
// index, owners, statuses, private sets with their tags, lines, budgets
// and cursor, feeds, usage, followed peers with their tiles, checkpoints,
// key entries and object provenance) into an empty PostgreSQL schema in one
// transaction ([postgres.Store.Load]), then verifies the copy before it
// touches config.json: every table read back from PostgreSQL equals the
// snapshot's row for row, and the newest signed checkpoint is the same
// note. Only then is config.json's "store" set to the URL, atomically.
// The log is the same log: the same entries at the same indexes, the same
// tiles and checkpoints, so receipts and proof bundles issued before
// still verify, and the node continues it.

// ErrMigrate marks a migration refused with config.json unchanged: before
// anything was written (the node is not on SQLite or is running, or the
// target holds another node), or after the copy when the node wrote to
// SQLite meanwhile (the target then holds a stale copy to drop).
var ErrMigrate = errors.New("migration refused")

// MigrateOptions configure [Migrate].
type MigrateOptions struct {
	// Progress, if not nil, is called with each table's name and rows
	// copied so far while copying, and with the table's name and rows
	// verified (verify true) while verifying.
	Progress func(table string, rows int64, verify bool)
}

// MigrateReport is what [Migrate] copied.
type MigrateReport struct {
	// Rows copied per table of [store.StateTables].
	Rows map[string]int64
	// Resumed: the target already held this node, row for row (a run
	// stopped after its copy committed and before config.json named the
	// target), and Migrate finished that run instead of copying.
	Resumed bool
	// LogSize is the number of log entries copied; CheckpointSize the
	// size of the newest signed checkpoint (0 when none was signed).
	LogSize, CheckpointSize int64
}

// Migrate moves the node in dir from its SQLite store to the PostgreSQL
// database at url (see the comment above), and rewrites dir's
// config.json to name url. The node must be stopped: Migrate refuses
// when another process has the SQLite store open ([sqlite.InUse], on
// unix), and, since it copies a snapshot, when the store's log or
// checkpoints changed while it copied, leaving config.json as it was. Errors never
// contain url, which may hold a password.
//
// On an error before the copy committed, nothing was changed. If the
// copy committed but verification failed, config.json still names SQLite
// and the node runs on it as before; the PostgreSQL schema holds the
// unverified copy and must be dropped before another try. A target that
// already holds a node equal to the snapshot, row for row (what a run
// stopped between its commit and config.json leaves behind), is taken as
// that run's copy: Migrate checks the log as after a copy, sets
// config.json and reports Resumed.
func Migrate(ctx context.Context, dir, url string, opts MigrateOptions) (rep MigrateReport, err error) {
	progress := opts.Progress
	if progress == nil {
		progress = func(string, int64, bool) {}
	}
	if kind, kerr := storeKindOf(url); kerr != nil || kind != storePostgres {
		return rep, fmt.Errorf("%w: the target must be a postgres:// or postgresql:// URL", ErrMigrate)
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return rep, err
	}
	if kind, _ := storeKindOf(cfg.Store); kind != storeSQLite {
		return rep, fmt.Errorf("%w: %s names a store other than SQLite; the node is already migrated", ErrMigrate, ConfigFile)
	}
	// Before this process opens the store (see sqlite.InUse).
	if busy, err := sqlite.InUse(filepath.Join(dir, StoreFile)); err != nil {
		return rep, err
	} else if busy {
		return rep, fmt.Errorf("%w: another process has the node's store open (parley serve is running?); stop it and migrate again", ErrMigrate)
	}
	src, err := openStore(ctx, dir, cfg, storeOptions{Existing: true, KeepModes: true})
	if err != nil {
		return rep, err
	}
	defer src.Close()
	// A log this version refuses to serve (format v1) is refused here, before
	// anything is copied or config.json names the new store.
	if err := checkLogFormat(ctx, src); err != nil {
		return rep, fmt.Errorf("%w: %w", ErrMigrate, err)
	}
	live := src.(*sqlite.Store) // openStore returns *sqlite.Store for storeSQLite
	tmp, err := os.MkdirTemp(dir, ".parley-migrate-*")
	if err != nil {
		return rep, fmt.Errorf("couldn't migrate: %w", err)
	}
	defer os.RemoveAll(tmp)
	snapPath := filepath.Join(tmp, StoreFile)
	if err := live.Snapshot(ctx, snapPath); err != nil {
		return rep, err
	}
	snap, err := sqlite.Open(ctx, snapPath, sqlite.Options{})
	if err != nil {
		return rep, err
	}
	defer snap.Close()
	before, err := readMigrateLog(ctx, snap)
	if err != nil {
		return rep, err
	}

	dst, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		return rep, fmt.Errorf("couldn't open the target: %w", redactURL(err, url))
	}
	defer dst.Close()
	rep.Rows, err = dst.Load(ctx, snap, func(t string, n int64) { progress(t, n, false) })
	if errors.Is(err, postgres.ErrNotEmpty) {
		// A run stopped (killed, power cut) after its copy committed and
		// before config.json named the target leaves exactly this: a target
		// that holds the node. When it equals the snapshot row for row,
		// finish that run rather than refuse it; anything else is refused.
		rows, verr := compareCopy(ctx, snap, dst, nil, progress)
		if verr != nil {
			return rep, fmt.Errorf("%w: %v, not a copy of this node; give an empty database or schema (a search_path parameter in the URL selects the schema)", ErrMigrate, err)
		}
		rep.Rows, rep.Resumed = rows, true
	} else if err != nil {
		return rep, fmt.Errorf("couldn't copy the store: %w", redactURL(err, url))
	} else if _, err := compareCopy(ctx, snap, dst, rep.Rows, progress); err != nil {
		// Verify what PostgreSQL now holds against the snapshot.
		return rep, redactURL(err, url)
	}
	after, err := readMigrateLog(ctx, dst)
	if err != nil {
		return rep, fmt.Errorf("couldn't verify the copy: %w", redactURL(err, url))
	}
	if after != before {
		return rep, fmt.Errorf("couldn't verify the copy: PostgreSQL's log (size %d, checkpoint of size %d) differs from SQLite's (size %d, checkpoint of size %d)",
			after.size, after.cpSize, before.size, before.cpSize)
	}
	// The node must not have written meanwhile: what it wrote after the
	// snapshot would stay behind in SQLite.
	now, err := readMigrateLog(ctx, live)
	if err != nil {
		return rep, err
	}
	if now != before {
		return rep, fmt.Errorf("%w: the node wrote to its SQLite store while it was copied (it is running); stop it, drop the PostgreSQL schema and migrate again", ErrMigrate)
	}
	if err := setConfigStore(dir, url); err != nil {
		return rep, err
	}
	rep.LogSize, rep.CheckpointSize = before.size, before.cpSize
	return rep, nil
}

// compareCopy compares every table of [store.StateTables] in dst with
// snap, row for row, and returns the rows per table; with copied, each
// table must also have the rows [postgres.Store.Load] reported copying.
func compareCopy(ctx context.Context, snap, dst store.TableReader, copied map[string]int64, progress func(string, int64, bool)) (map[string]int64, error) {
	rows := map[string]int64{}
	for _, t := range store.StateTables {
		n, err := store.CompareTable(ctx, t, snap, dst)
		if err != nil {
			return nil, fmt.Errorf("couldn't verify the copy (config.json still names SQLite; drop the PostgreSQL schema before trying again): %w", err)
		}
		if copied != nil && n != copied[t.Name] {
			return nil, fmt.Errorf("couldn't verify the copy: table %s has %d rows, %d were copied", t.Name, n, copied[t.Name])
		}
		rows[t.Name] = n
		progress(t.Name, n, true)
	}
	return rows, nil
}

// migrateLog is what Migrate compares between the stores: the log's size
// and the newest signed checkpoint note.
type migrateLog struct {
	size, cpSize int64
	note         string
}

func readMigrateLog(ctx context.Context, st store.LogStore) (migrateLog, error) {
	var s migrateLog
	var err error
	if s.size, err = st.LogSize(ctx); err != nil {
		return s, err
	}
	size, note, err := st.LatestCheckpoint(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return s, nil
	}
	s.cpSize, s.note = size, string(note)
	return s, err
}

// setConfigStore sets "store" in dir's config.json to url, keeping every
// other field as it is, by writing a new file (mode 0600: the URL may
// hold a password) and renaming it over the old one, so that a crash
// leaves the old or the new configuration, never a mix.
func setConfigStore(dir, url string) error {
	path := filepath.Join(dir, ConfigFile)
	b, err := untrusted.ReadFile(path, maxConfigSz)
	if err != nil {
		return fmt.Errorf("couldn't read the configuration: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("couldn't parse %s: %w", path, err)
	}
	v, _ := json.Marshal(url) // a string always marshals
	m["store"] = v
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("couldn't write %s: %w", path, err)
	}
	var buf bytes.Buffer
	buf.Write(out)
	buf.WriteByte('\n')
	tmp := path + ".migrate"
	os.Remove(tmp) // a leftover of a crashed run
	if err := writeFileSync(tmp, buf.Bytes(), secretMode); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("couldn't write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("couldn't write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

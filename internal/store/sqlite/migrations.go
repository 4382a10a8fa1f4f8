package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// migration is one step of the schema. Migrations are applied in Version
// order, each in its own transaction together with its row in
// schema_migrations, so a crash leaves the schema at a whole step.
// Applied migrations are never edited: a change is a new migration.
//
// Version ranges, so that parts of Parley can add tables in their own
// files of this package without touching this one (from an init function
// calling [registerMigrations]):
//
//	1–99     the core store (this file)
//	100–199  the log integrator (tree tiles, checkpoints)
//	200–299  private sets
//	300–399  opinions, the web UI and others
//	400–409  log format v2 (entry kinds, object owners, keys.go)
//	410–499  limits (member storage use, usage.go)
//	500–599  TAXII feeds (feeds.go)
//	860–869  withdrawn private sets (private.go)
//	875–876  the collections' counts for the UI's home page (stats.go)
//	877      the exact values' rows by seq, for deletes (values.go)
//	890–899  the provider's signed statement of a withdrawal (private.go)
type migration struct {
	Version int
	Name    string
	SQL     string
}

var migrations = []migration{
	{1, "core", `
CREATE TABLE members (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	public_key BLOB,
	identity   BLOB NOT NULL,
	created    TEXT NOT NULL
);
CREATE TABLE tokens (
	hash    BLOB PRIMARY KEY,
	lookup  BLOB NOT NULL,
	member  TEXT NOT NULL REFERENCES members(id),
	created TEXT NOT NULL
);
CREATE INDEX tokens_lookup ON tokens(lookup);
CREATE TABLE collections (
	id          TEXT PRIMARY KEY,
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	signatures  TEXT NOT NULL,
	created     TEXT NOT NULL
);
CREATE TABLE collection_access (
	collection TEXT NOT NULL REFERENCES collections(id),
	member     TEXT NOT NULL REFERENCES members(id),
	can_read   INTEGER NOT NULL,
	can_write  INTEGER NOT NULL,
	PRIMARY KEY (collection, member)
);
CREATE TABLE log_entries (
	idx        INTEGER PRIMARY KEY,
	leaf       BLOB NOT NULL,
	salt       BLOB NOT NULL,
	collection TEXT NOT NULL,
	object_id  TEXT NOT NULL,
	version    TEXT NOT NULL,
	member     TEXT NOT NULL,
	received   TEXT NOT NULL
);
CREATE TABLE objects (
	seq          INTEGER PRIMARY KEY,
	collection   TEXT NOT NULL REFERENCES collections(id),
	object_id    TEXT NOT NULL,
	type         TEXT NOT NULL,
	spec_version TEXT NOT NULL,
	version      TEXT NOT NULL,
	date_added   TEXT NOT NULL,
	member       TEXT NOT NULL,
	signed       INTEGER NOT NULL,
	raw          BLOB NOT NULL,
	log_index    INTEGER NOT NULL UNIQUE REFERENCES log_entries(idx)
);
CREATE UNIQUE INDEX objects_version ON objects(collection, object_id, version);
CREATE INDEX objects_collection_seq ON objects(collection, seq);
CREATE INDEX objects_date_added ON objects(date_added);
CREATE TABLE statuses (
	id         TEXT PRIMARY KEY,
	collection TEXT NOT NULL,
	member     TEXT NOT NULL,
	body       BLOB NOT NULL
);
`},
	// Version selection flags, so that match[version]=first/last (last is
	// TAXII's default) read a flag instead of probing the index for a
	// newer or older version of every row on a page. Submit sets them on
	// the inserted row and the trigger clears them on the row it
	// supersedes, in the same transaction; they are the only columns of
	// objects that ever change, and never the object itself.
	{2, "version flags", `
ALTER TABLE objects ADD COLUMN is_first INTEGER NOT NULL DEFAULT 1;
ALTER TABLE objects ADD COLUMN is_last INTEGER NOT NULL DEFAULT 1;
UPDATE objects SET is_last = 0 WHERE EXISTS (SELECT 1 FROM objects o2
	WHERE o2.collection = objects.collection AND o2.object_id = objects.object_id AND o2.version > objects.version);
UPDATE objects SET is_first = 0 WHERE EXISTS (SELECT 1 FROM objects o2
	WHERE o2.collection = objects.collection AND o2.object_id = objects.object_id AND o2.version < objects.version);
CREATE TRIGGER objects_version_flags AFTER INSERT ON objects BEGIN
	UPDATE objects SET is_last = 0 WHERE NEW.is_last = 1 AND collection = NEW.collection
		AND object_id = NEW.object_id AND version < NEW.version AND is_last = 1;
	UPDATE objects SET is_first = 0 WHERE NEW.is_first = 1 AND collection = NEW.collection
		AND object_id = NEW.object_id AND version > NEW.version AND is_first = 1;
END;
`},
	// The same id and version must be the same object in every collection;
	// this index makes that check one lookup.
	{3, "object identity", `
CREATE INDEX objects_id_version ON objects(object_id, version);
`},
	// TAXII's added_after is found among the collection's additions: the
	// date_added index held every collection's, and the bound was the
	// least seq added after it in any of them, which read the rows of
	// collections the member may not read (storetest.Unreadable). Nothing
	// else used that index. Building this one reads the whole objects
	// table once, a one-time cost of the upgrade that grows with the
	// table (writes wait for it).
	{4, "objects by collection and date added", `
CREATE INDEX objects_collection_date_added ON objects(collection, date_added);
DROP INDEX objects_date_added;
`},
}

// registerMigrations adds migrations from other files of this package; call
// it from an init function. Versions must be unique (checked at Open).
func registerMigrations(ms ...migration) { migrations = append(migrations, ms...) }

func (s *Store) migrate(ctx context.Context) error {
	ms := append([]migration(nil), migrations...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return fmt.Errorf("couldn't migrate: two migrations with version %d (%s, %s)", ms[i].Version, ms[i-1].Name, ms[i].Name)
		}
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("couldn't create schema_migrations: %w", err)
	}
	if err := s.checkSchemaKnown(ctx, ms); err != nil {
		return err
	}
	var had int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&had); err != nil {
		return fmt.Errorf("couldn't read schema_migrations: %w", err)
	}
	for _, m := range ms {
		if mod := needsModule[m.Version]; mod != "" && !s.hasModule(ctx, mod) {
			continue // see needsModule
		}
		applied := false
		err := s.Write(ctx, func(tx *sql.Tx) error {
			applied = false
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = ?`, m.Version).Scan(&one)
			if err == nil {
				return nil // already applied
			}
			if err != sql.ErrNoRows {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied) VALUES (?, ?, ?)`,
				m.Version, m.Name, fmtTime(s.now()))
			applied = err == nil
			return err
		})
		if err != nil {
			return fmt.Errorf("couldn't apply migration %d (%s): %w", m.Version, m.Name, err)
		}
		if applied && had > 0 {
			s.upgraded = append(s.upgraded, store.AppliedMigration{Version: int64(m.Version), Name: m.Name})
		}
	}
	return nil
}

// SchemaUpgrade returns the schema migrations that Open applied to a store
// an older version had migrated, in the order applied: an upgrade, which
// the node logs. It is empty for a store Open created, and for one that
// was up to date (the next start after an upgrade).
func (s *Store) SchemaUpgrade() []store.AppliedMigration {
	return slices.Clone(s.upgraded)
}

// checkSchemaKnown refuses a store that a newer version migrated, before
// anything is applied (see [store.CheckSchemaKnown]).
func (s *Store) checkSchemaKnown(ctx context.Context, ms []migration) error {
	rows, err := s.w.QueryContext(ctx, `SELECT version, name FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("couldn't read schema_migrations: %w", err)
	}
	defer rows.Close()
	var applied []store.AppliedMigration
	for rows.Next() {
		var m store.AppliedMigration
		if err := rows.Scan(&m.Version, &m.Name); err != nil {
			return fmt.Errorf("couldn't read schema_migrations: %w", err)
		}
		applied = append(applied, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("couldn't read schema_migrations: %w", err)
	}
	known := make(map[int64]bool, len(ms))
	for _, m := range ms {
		known[int64(m.Version)] = true
	}
	if err := store.CheckSchemaKnown(applied, known); err != nil {
		return err
	}
	// A store migrated before log format v2 (migration 400) whose first
	// log entry is in format v1 is refused as it is, not migrated first
	// (the node checks the first entry after Open too, for every store).
	v2 := len(applied) == 0
	for _, m := range applied {
		v2 = v2 || m.Version == 400
	}
	if !v2 {
		var leaf []byte
		switch err := s.w.QueryRowContext(ctx, `SELECT leaf FROM log_entries ORDER BY idx LIMIT 1`).Scan(&leaf); {
		case err == nil:
			if _, err := tlog.ParseEntry(leaf); errors.Is(err, tlog.ErrOldFormat) {
				return store.ErrOldLogFormat
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("couldn't read log_entries: %w", err)
		}
	}
	return nil
}

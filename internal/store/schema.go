package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNewerSchema: the store holds schema migrations that this version of
// Parley doesn't know: a newer version wrote it. Opening it anyway would
// run code that doesn't know the newer tables and columns (a version
// before this check answered every push with 500 "no such table", and
// wrote rows without the newer columns), so an older version refuses,
// changing nothing; the way back after an upgrade is the newer version,
// or the backup taken before it.
var ErrNewerSchema = errors.New("store written by a newer version of parley")

// ErrSchemaTooOld: a store opened for reading only (an audit) lacks a
// schema migration that this version applies when it opens a store to
// serve it. Reading it only must not change it, so it is refused, changing
// nothing. Both stores wrap it ([sqlite.ErrSchemaTooOld] is this error).
var ErrSchemaTooOld = errors.New("the store's schema is older than this version of parley reads")

// ErrOldLogFormat: the store holds a log in entry format v1, which this
// version refuses (v1 entries showed every member the collection, object
// id, sharer and version of entries they may not read). A SQLite store of
// that time (before migration 400, log format v2) is refused before any
// migration is applied, so that the refusal leaves it as it was.
var ErrOldLogFormat = errors.New("this data directory holds a log in entry format v1, which this version of parley refuses (see docs/log.md); start a new node with parley init and share the objects again")

// RetiredMigrations are schema migrations that some version of Parley
// applied and that were then withdrawn from the code; a store holding
// them is not newer. Both stores share the version numbers.
//
// 411 "private sets in member usage" was in main from 3 to 3 December
// 2026 (3e67218 to 1fe360a): it charged the private sets then stored to
// their members' usage, which later versions leave uncharged.
var RetiredMigrations = map[int64]string{
	411: "private sets in member usage",
}

// SchemaUpgrader is a store that tells which schema migrations its Open
// applied to a store an older version had migrated (an upgrade): none for
// a store it created or one up to date. Both stores are one.
type SchemaUpgrader interface {
	SchemaUpgrade() []AppliedMigration
}

// AppliedMigration is a row of a store's schema_migrations table.
type AppliedMigration struct {
	Version int64
	Name    string
}

// CheckSchemaKnown returns an error wrapping [ErrNewerSchema] when applied
// holds a migration that is neither in known (this version's) nor
// retired. It is called before any migration is applied.
func CheckSchemaKnown(applied []AppliedMigration, known map[int64]bool) error {
	var unknown []AppliedMigration
	for _, m := range applied {
		if !known[m.Version] {
			if _, ok := RetiredMigrations[m.Version]; !ok {
				unknown = append(unknown, m)
			}
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Slice(unknown, func(i, j int) bool { return unknown[i].Version < unknown[j].Version })
	names := make([]string, len(unknown))
	for i, m := range unknown {
		names[i] = fmt.Sprintf("%d %q", m.Version, m.Name)
	}
	return fmt.Errorf("%w: it holds schema migration(s) %s, which this version doesn't know; run the newer version that wrote it (or restore the backup taken before the upgrade): a store is never downgraded", ErrNewerSchema, strings.Join(names, ", "))
}

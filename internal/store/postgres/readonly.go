package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-exchange/parley/internal/store"
)

// checkReadable refuses, for [Options.ReadOnly], a database whose schema
// this version doesn't read without migrating it: one without Parley's
// schema (no schema_migrations table), one that a newer version migrated
// ([store.ErrNewerSchema]), one that lacks a migration this version would
// apply ([store.ErrSchemaTooOld]). It only reads. The backfills that
// [Open] runs after the migrations are skipped: they fill the web UI's
// exact-value index, which a read-only caller (an audit of the log)
// doesn't use.
func (s *Store) checkReadable(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT version, name FROM schema_migrations`)
	if err != nil {
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "42P01" {
			// undefined_table
			return fmt.Errorf("couldn't open the PostgreSQL store: %w: it holds no Parley schema (no schema_migrations table in the URL's search_path)", store.ErrSchemaTooOld)
		}
		return unavailable(fmt.Errorf("couldn't read schema_migrations: %w", err))
	}
	applied, err := pgx.CollectRows(rows, pgx.RowToStructByPos[store.AppliedMigration])
	if err != nil {
		return unavailable(fmt.Errorf("couldn't read schema_migrations: %w", err))
	}
	have := make(map[int64]bool, len(applied))
	for _, m := range applied {
		have[m.Version] = true
	}
	known := make(map[int64]bool, len(migrations))
	var pending []migration
	for _, m := range migrations {
		known[int64(m.Version)] = true
		if !have[int64(m.Version)] {
			pending = append(pending, m)
		}
	}
	if err := store.CheckSchemaKnown(applied, known); err != nil {
		return fmt.Errorf("couldn't open the PostgreSQL store: %w", err)
	}
	if len(pending) == 0 {
		return nil
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].Version < pending[j].Version })
	names := make([]string, len(pending))
	for i, m := range pending {
		names[i] = fmt.Sprintf("%d %q", m.Version, m.Name)
	}
	return fmt.Errorf("couldn't read the PostgreSQL store: %w: it lacks schema migration(s) %s, which this version applies when it opens a store to serve it, and reading it only must not change it", store.ErrSchemaTooOld, strings.Join(names, ", "))
}

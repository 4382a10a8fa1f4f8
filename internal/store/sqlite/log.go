package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// The log integrator's tables (migration range 100–199): the hash tiles of
// the integrated tree, each kept at its widest (a partial tile grows until
// it is full, then never changes), and every signed checkpoint.
func init() {
	registerMigrations(migration{100, "log tiles and checkpoints", `
CREATE TABLE log_tiles (
	level INTEGER NOT NULL,
	n     INTEGER NOT NULL,
	width INTEGER NOT NULL,
	data  BLOB NOT NULL,
	PRIMARY KEY (level, n)
);
CREATE TABLE log_checkpoints (
	size    INTEGER PRIMARY KEY,
	note    BLOB NOT NULL,
	created TEXT NOT NULL
);
`})
}

var _ store.LogStore = (*Store)(nil)

// ReadTile implements [store.LogStore].
func (s *Store) ReadTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	if t.Entries || t.Width < 1 || t.Width > tlog.TileWidth {
		return nil, fmt.Errorf("couldn't read tile %s: %w", t.Path(), store.ErrInvalid)
	}
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM log_tiles WHERE level = ? AND n = ? AND width >= ?`, t.Level, int64(t.N), t.Width).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("couldn't read tile %s: %w", t.Path(), store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read tile %s: %w", t.Path(), err)
	}
	if len(data) < t.Width*tlog.HashSize {
		return nil, fmt.Errorf("couldn't read tile %s: stored tile is short", t.Path())
	}
	return data[:t.Width*tlog.HashSize], nil
}

// LatestCheckpoint implements [store.LogStore].
func (s *Store) LatestCheckpoint(ctx context.Context) (int64, []byte, error) {
	return latestCheckpoint(ctx, s.r)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func latestCheckpoint(ctx context.Context, q queryRower) (int64, []byte, error) {
	var size int64
	var note []byte
	err := q.QueryRowContext(ctx, `SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &note)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, fmt.Errorf("couldn't read the checkpoint: %w", store.ErrNotFound)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("couldn't read the checkpoint: %w", err)
	}
	return size, note, nil
}

// Checkpoints implements [store.LogStore].
func (s *Store) Checkpoints(ctx context.Context) ([][]byte, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT note FROM log_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("couldn't read checkpoints: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var n []byte
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("couldn't read checkpoints: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Integrate implements [store.LogStore].
func (s *Store) Integrate(ctx context.Context, from, size int64, tiles map[tlog.Tile][]byte, note []byte) error {
	if size < from || len(note) == 0 {
		return fmt.Errorf("couldn't integrate: %w", store.ErrInvalid)
	}
	return s.Write(ctx, func(tx *sql.Tx) error {
		have, _, err := latestCheckpoint(ctx, tx)
		switch {
		case errors.Is(err, store.ErrNotFound):
			have = 0
		case err != nil:
			return err
		}
		if have != from {
			return fmt.Errorf("couldn't integrate from %d: the log is integrated to %d: %w", from, have, store.ErrConflict)
		}
		up, err := tx.PrepareContext(ctx, `INSERT INTO log_tiles(level, n, width, data) VALUES (?, ?, ?, ?)
			ON CONFLICT(level, n) DO UPDATE SET width = excluded.width, data = excluded.data WHERE excluded.width > log_tiles.width`)
		if err != nil {
			return err
		}
		defer up.Close()
		for t, data := range tiles {
			if t.Entries || len(data) != t.Width*tlog.HashSize {
				return fmt.Errorf("couldn't integrate: bad tile %s: %w", t.Path(), store.ErrInvalid)
			}
			if _, err := up.ExecContext(ctx, t.Level, int64(t.N), t.Width, data); err != nil {
				return fmt.Errorf("couldn't store tile %s: %w", t.Path(), err)
			}
		}
		if size == from && from > 0 {
			// Nothing new: the latest checkpoint stands (re-signing the
			// same size would only add a duplicate).
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_checkpoints(size, note, created) VALUES (?, ?, ?)
			ON CONFLICT(size) DO NOTHING`, size, note, fmtTime(s.now())); err != nil {
			return fmt.Errorf("couldn't store the checkpoint: %w", err)
		}
		return nil
	})
}

// LogObjects implements [store.LogStore].
func (s *Store) LogObjects(ctx context.Context, start, end int64, fn func(index int64, op tlog.Opening, raw []byte) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT o.log_index, o.raw, e.salt, e.collection, e.object_id, e.version, e.member
		FROM objects o JOIN log_entries e ON e.idx = o.log_index
		WHERE o.log_index >= ? AND o.log_index < ? ORDER BY o.log_index`, start, end)
	if err != nil {
		return fmt.Errorf("couldn't read logged objects: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var raw []byte
		var e store.Entry
		var version string
		if err := rows.Scan(&idx, &raw, &e.Salt, &e.Collection, &e.ObjectID, &version, &e.Member); err != nil {
			return fmt.Errorf("couldn't read logged objects: %w", err)
		}
		if e.Version, err = parseTime(version); err != nil {
			return fmt.Errorf("couldn't read logged objects: %w", err)
		}
		if err := fn(idx, e.Opening(), raw); err != nil {
			return err
		}
	}
	return rows.Err()
}

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
func (s *Store) Integrate(ctx context.Context, fence, from, size int64, tiles map[tlog.Tile][]byte, note []byte) error {
	if size < from || len(note) == 0 {
		return fmt.Errorf("couldn't integrate: %w", store.ErrInvalid)
	}
	return s.Write(ctx, func(tx *sql.Tx) error {
		if err := checkFence(ctx, tx, store.IntegratorLease, "", fence); err != nil {
			return fmt.Errorf("couldn't integrate: %w", err)
		}
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

// logObjectsQuery reads one batch of LogObjects: from, to, the
// collections (if not nil), then the row limit.
func logObjectsQuery(collections []string) string {
	in := ""
	if collections != nil {
		// "+" keeps SQLite from taking objects_collection_seq for this
		// term: it would read the whole collection and sort it for
		// every batch, where the log_index range reads just the batch
		// (TestLogObjectsPlan).
		in = ` AND +o.collection IN (` + placeholders(len(collections)) + `)`
	}
	return `SELECT o.log_index, o.raw, e.salt, e.collection, e.object_id, e.version, e.member
		FROM objects o JOIN log_entries e ON e.idx = o.log_index
		WHERE o.log_index >= ? AND o.log_index < ?` + in + ` ORDER BY o.log_index LIMIT ?`
}

// LogObjects implements [store.LogStore]. It reads in batches of at most
// logObjectsBatch bytes of objects (and at least one object), each with
// its own query, and calls fn only between queries: fn may be slow (the
// node writes each object to a client) without holding a read connection,
// which authentication and every other reader share, or a read snapshot
// that keeps the WAL from being checkpointed. Memory is one batch.
func (s *Store) LogObjects(ctx context.Context, start, end int64, collections []string, fn func(index int64, op tlog.Opening, raw []byte) error) error {
	if collections != nil && len(collections) == 0 {
		return nil
	}
	query := logObjectsQuery(collections)
	type row struct {
		idx     int64
		opening tlog.Opening
		raw     []byte
	}
	var batch []row
	for start < end {
		batch = batch[:0]
		err := func() error {
			args := append([]any{start, end}, strArgs(collections)...)
			rows, err := s.r.QueryContext(ctx, query, append(args, logObjectsBatchRows)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			size := 0
			for size < logObjectsBatch && rows.Next() {
				var r row
				var e store.Entry
				var version string
				if err := rows.Scan(&r.idx, &r.raw, &e.Salt, &e.Collection, &e.ObjectID, &version, &e.Member); err != nil {
					return err
				}
				if e.Version, err = parseTime(version); err != nil {
					return err
				}
				r.opening = e.Opening()
				size += len(r.raw)
				batch = append(batch, r)
			}
			return rows.Err()
		}()
		if err != nil {
			return fmt.Errorf("couldn't read logged objects: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		start = batch[len(batch)-1].idx + 1
		for i := range batch {
			r := &batch[i]
			if err := fn(r.idx, r.opening, r.raw); err != nil {
				return err
			}
			batch[i] = row{} // fn may keep the slices; the batch doesn't
		}
	}
	return nil
}

// A batch of [Store.LogObjects] ends once it holds logObjectsBatch bytes
// of objects or logObjectsBatchRows objects (variables for tests).
var (
	logObjectsBatch     = store.LogObjectsBatch
	logObjectsBatchRows = 256
)

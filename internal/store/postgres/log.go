package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// The log integrator's tables (migration range 100–199): the hash tiles of
// the integrated tree, each kept at its widest (a partial tile grows until
// it is full, then never changes), every signed checkpoint, and one row
// that integrators lock so that two of them (on two nodes sharing the
// database) take turns.
func init() {
	registerMigrations(migration{100, "log tiles and checkpoints", `
CREATE TABLE log_tiles (
	level INTEGER NOT NULL,
	n     BIGINT NOT NULL,
	width INTEGER NOT NULL,
	data  BYTEA NOT NULL,
	PRIMARY KEY (level, n)
);
CREATE TABLE log_checkpoints (
	size    BIGINT PRIMARY KEY,
	note    BYTEA NOT NULL,
	created TEXT NOT NULL
);
CREATE TABLE log_integrator (
	id INTEGER PRIMARY KEY CHECK (id = 1)
);
INSERT INTO log_integrator(id) VALUES (1);
`})
}

var _ store.LogStore = (*Store)(nil)

// ReadTile implements [store.LogStore].
func (s *Store) ReadTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	if t.Entries || t.Width < 1 || t.Width > tlog.TileWidth {
		return nil, fmt.Errorf("couldn't read tile %s: %w", t.Path(), store.ErrInvalid)
	}
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM log_tiles WHERE level = $1 AND n = $2 AND width >= $3`, t.Level, int64(t.N), t.Width).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
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
	return latestCheckpoint(ctx, s.pool.QueryRow(ctx, `SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1`))
}

func latestCheckpoint(ctx context.Context, row pgx.Row) (int64, []byte, error) {
	var size int64
	var note []byte
	err := row.Scan(&size, &note)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, fmt.Errorf("couldn't read the checkpoint: %w", store.ErrNotFound)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("couldn't read the checkpoint: %w", err)
	}
	return size, note, nil
}

// Checkpoints implements [store.LogStore].
func (s *Store) Checkpoints(ctx context.Context) ([][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT note FROM log_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("couldn't read checkpoints: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("couldn't read checkpoints: %w", err)
	}
	return out, nil
}

// Integrate implements [store.LogStore]. It locks the log_integrator row
// before it reads the latest checkpoint, so two integrators (on two nodes
// sharing the database) take turns: the second then sees the first's
// checkpoint and fails with ErrConflict, also before the first
// checkpoint exists. Submissions don't wait for it (they lock the log
// head, not this row). It fails with ErrFenced, changing nothing, when
// fence is not the integrator lease's current fence.
func (s *Store) Integrate(ctx context.Context, fence, from, size int64, tiles map[tlog.Tile][]byte, note []byte) error {
	if size < from || len(note) == 0 {
		return fmt.Errorf("couldn't integrate: %w", store.ErrInvalid)
	}
	for t, data := range tiles {
		if t.Entries || len(data) != t.Width*tlog.HashSize {
			return fmt.Errorf("couldn't integrate: bad tile %s: %w", t.Path(), store.ErrInvalid)
		}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM log_integrator WHERE id = 1 FOR UPDATE`); err != nil {
			return err
		}
		if err := checkFence(ctx, tx, store.IntegratorLease, fence); err != nil {
			return err
		}
		have, _, err := latestCheckpoint(ctx, tx.QueryRow(ctx, `SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1`))
		switch {
		case errors.Is(err, store.ErrNotFound):
			have = 0
		case err != nil:
			return err
		}
		if have != from {
			return fmt.Errorf("couldn't integrate from %d: the log is integrated to %d: %w", from, have, store.ErrConflict)
		}
		var b pgx.Batch
		for t, data := range tiles {
			b.Queue(`INSERT INTO log_tiles(level, n, width, data) VALUES ($1, $2, $3, $4)
				ON CONFLICT (level, n) DO UPDATE SET width = excluded.width, data = excluded.data WHERE excluded.width > log_tiles.width`,
				t.Level, int64(t.N), t.Width, data)
		}
		if size != from || from == 0 {
			// (With nothing new the latest checkpoint stands: re-signing
			// the same size would only add a duplicate.)
			b.Queue(`INSERT INTO log_checkpoints(size, note, created) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING`, size, note, fmtTime(s.now()))
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrFenced) {
		return fmt.Errorf("couldn't integrate: %w", err)
	}
	return err
}

// LogObjects implements [store.LogStore]. It reads in batches of at most
// logObjectsBatch bytes of objects (and at least one object), each with
// its own query outside any transaction, and calls fn only between
// queries, so a slow fn holds no connection or snapshot. The server ends
// each batch itself (a running total of the sizes), so no more than one
// batch is sent, and pgx reads it a row at a time.
func (s *Store) LogObjects(ctx context.Context, start, end int64, collections []string, fn func(index int64, op tlog.Opening, raw []byte) error) error {
	if collections != nil && len(collections) == 0 {
		return nil
	}
	type row struct {
		idx     int64
		opening tlog.Opening
		raw     []byte
	}
	var batch []row
	for start < end {
		batch = batch[:0]
		err := func() error {
			rows, err := s.pool.Query(ctx, `SELECT log_index, raw, salt, collection, object_id, version, member FROM (
				SELECT o.log_index, o.raw, e.salt, e.collection, e.object_id, e.version, e.member,
					coalesce(sum(octet_length(o.raw)) OVER (ORDER BY o.log_index ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
				FROM (SELECT log_index, raw FROM objects WHERE log_index >= $1 AND log_index < $2
					AND ($5::text[] IS NULL OR collection = ANY($5)) ORDER BY log_index LIMIT $3) AS o
				JOIN log_entries e ON e.idx = o.log_index) AS w
				WHERE before < $4 ORDER BY log_index`, start, end, logObjectsBatchRows, logObjectsBatch, collections)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
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

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	// Cosigned checkpoints: the node's signed checkpoint of a tree size
	// with the witness cosignature lines it collected appended. Kept
	// beside log_checkpoints (whose notes stay exactly as the node signed
	// them, for audits) rather than in it, so that a cosignature arriving
	// late never rewrites the log's own history.
	registerMigrations(migration{600, "cosigned checkpoints", `
CREATE TABLE log_cosigned (
	size INTEGER PRIMARY KEY,
	note BLOB NOT NULL
);
`})
}

// PutCosignedCheckpoint stores note, the checkpoint of the tree of that
// size with cosignature lines appended, replacing any earlier cosigned
// note of that size. It fails with store.ErrInvalid (and stores nothing)
// unless the log has a checkpoint of that size.
func (s *Store) PutCosignedCheckpoint(ctx context.Context, size int64, note []byte) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO log_cosigned(size, note)
SELECT size, ? FROM log_checkpoints WHERE size = ?
ON CONFLICT(size) DO UPDATE SET note = excluded.note`, note, size)
	if err != nil {
		return fmt.Errorf("couldn't store the cosigned checkpoint: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("couldn't store the cosigned checkpoint: %w: no checkpoint of size %d", store.ErrInvalid, size)
	}
	return nil
}

// CosignedCheckpoint returns the cosigned note of the tree of that size;
// store.ErrNotFound when none was stored.
func (s *Store) CosignedCheckpoint(ctx context.Context, size int64) ([]byte, error) {
	var note []byte
	err := s.r.QueryRowContext(ctx, `SELECT note FROM log_cosigned WHERE size = ?`, size).Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("couldn't read the cosigned checkpoint: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read the cosigned checkpoint: %w", err)
	}
	return note, nil
}

// CosignedCheckpoints calls fn with each cosigned note of a tree size in
// [start, end), in increasing size order, at most limit of them (limit ≤
// 0: all).
func (s *Store) CosignedCheckpoints(ctx context.Context, start, end int64, limit int, fn func(size int64, note []byte) error) error {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT size, note FROM log_cosigned WHERE size >= ? AND size < ? ORDER BY size LIMIT ?`, start, end, limit)
	if err != nil {
		return fmt.Errorf("couldn't read the cosigned checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var size int64
		var note []byte
		if err := rows.Scan(&size, &note); err != nil {
			return fmt.Errorf("couldn't read the cosigned checkpoints: %w", err)
		}
		if err := fn(size, note); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("couldn't read the cosigned checkpoints: %w", err)
	}
	return nil
}

// CosignedCheckpointAtMost returns the cosigned note of the largest tree
// size ≤ size; store.ErrNotFound when there is none.
func (s *Store) CosignedCheckpointAtMost(ctx context.Context, size int64) (int64, []byte, error) {
	var got int64
	var note []byte
	err := s.r.QueryRowContext(ctx, `SELECT size, note FROM log_cosigned WHERE size <= ? ORDER BY size DESC LIMIT 1`, size).Scan(&got, &note)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, fmt.Errorf("couldn't read the cosigned checkpoint: %w", store.ErrNotFound)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("couldn't read the cosigned checkpoint: %w", err)
	}
	return got, note, nil
}

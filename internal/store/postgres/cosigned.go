package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
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
	size BIGINT PRIMARY KEY,
	note BYTEA NOT NULL
);
`})
}

// PutCosignedCheckpoint stores note, the checkpoint of the tree of that
// size with cosignature lines appended, replacing any earlier cosigned
// note of that size. It fails with store.ErrInvalid (and stores nothing)
// unless the log has a checkpoint of that size. The check and the write
// are one statement, so a checkpoint can't be missing by the time the
// note is stored.
func (s *Store) PutCosignedCheckpoint(ctx context.Context, size int64, note []byte) error {
	var stored bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO log_cosigned(size, note)
SELECT size, $1::bytea FROM log_checkpoints WHERE size = $2
ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note`, note, size)
		stored = err == nil && tag.RowsAffected() > 0
		return err
	})
	if err != nil {
		return fmt.Errorf("couldn't store the cosigned checkpoint: %w", err)
	}
	if !stored {
		return fmt.Errorf("couldn't store the cosigned checkpoint: %w: no checkpoint of size %d", store.ErrInvalid, size)
	}
	return nil
}

// CosignedCheckpoint returns the cosigned note of the tree of that size;
// store.ErrNotFound when none was stored.
func (s *Store) CosignedCheckpoint(ctx context.Context, size int64) ([]byte, error) {
	var note []byte
	err := s.pool.QueryRow(ctx, `SELECT note FROM log_cosigned WHERE size = $1`, size).Scan(&note)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("couldn't read the cosigned checkpoint: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read the cosigned checkpoint: %w", err)
	}
	return note, nil
}

// CosignedCheckpoints calls fn with each cosigned note of a tree size in
// [start, end), in increasing size order, at most limit of them (limit ≤
// 0: all). The rows are read before fn is called, in pages, so that fn may
// use the store and a slow fn holds no connection.
func (s *Store) CosignedCheckpoints(ctx context.Context, start, end int64, limit int, fn func(size int64, note []byte) error) error {
	const page = 500
	left := limit
	for start < end {
		n := page
		if limit > 0 && left < n {
			n = left
		}
		if n == 0 {
			return nil
		}
		rows, err := s.pool.Query(ctx, `SELECT size, note FROM log_cosigned WHERE size >= $1 AND size < $2 ORDER BY size LIMIT $3`, start, end, n)
		if err != nil {
			return fmt.Errorf("couldn't read the cosigned checkpoints: %w", err)
		}
		type row struct {
			size int64
			note []byte
		}
		var got []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.size, &r.note); err != nil {
				rows.Close()
				return fmt.Errorf("couldn't read the cosigned checkpoints: %w", err)
			}
			got = append(got, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("couldn't read the cosigned checkpoints: %w", err)
		}
		for _, r := range got {
			if err := fn(r.size, r.note); err != nil {
				return err
			}
		}
		if len(got) < n {
			return nil
		}
		start = got[len(got)-1].size + 1
		left -= len(got)
	}
	return nil
}

// CosignedCheckpointAtMost returns the cosigned note of the largest tree
// size ≤ size; store.ErrNotFound when there is none.
func (s *Store) CosignedCheckpointAtMost(ctx context.Context, size int64) (int64, []byte, error) {
	var got int64
	var note []byte
	err := s.pool.QueryRow(ctx, `SELECT size, note FROM log_cosigned WHERE size <= $1 ORDER BY size DESC LIMIT 1`, size).Scan(&got, &note)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, fmt.Errorf("couldn't read the cosigned checkpoint: %w", store.ErrNotFound)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("couldn't read the cosigned checkpoint: %w", err)
	}
	return got, note, nil
}

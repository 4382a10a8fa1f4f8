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

package store

import "context"

// CosignedCheckpoints keeps the node's checkpoints with the witness
// cosignature lines it collected (docs/witness.md), beside the log's own
// checkpoints ([LogStore.Checkpoints]), whose notes stay exactly as the
// node signed them: a cosignature arriving late never rewrites the log's
// history.
type CosignedCheckpoints interface {
	// PutCosignedCheckpoint stores note, the checkpoint of the tree of
	// that size with cosignature lines appended, replacing any earlier
	// cosigned note of that size. It fails with ErrInvalid (and stores
	// nothing) unless the log has a checkpoint of that size.
	PutCosignedCheckpoint(ctx context.Context, size int64, note []byte) error
	// CosignedCheckpoint returns the cosigned note of the tree of that
	// size; ErrNotFound when none was stored.
	CosignedCheckpoint(ctx context.Context, size int64) ([]byte, error)
	// CosignedCheckpoints calls fn with each cosigned note of a tree size
	// in [start, end), in increasing size order, at most limit of them
	// (limit ≤ 0: all). An error from fn stops the walk and is returned.
	CosignedCheckpoints(ctx context.Context, start, end int64, limit int, fn func(size int64, note []byte) error) error
	// CosignedCheckpointAtMost returns the cosigned note of the largest
	// tree size ≤ size; ErrNotFound when there is none.
	CosignedCheckpointAtMost(ctx context.Context, size int64) (int64, []byte, error)
}

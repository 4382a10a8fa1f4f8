package store

import (
	"context"

	"github.com/parley-exchange/parley/tlog"
)

// LogStore is the optional ability of a [Store] to keep the integrated
// Merkle tree of its log (C2SP tlog-tiles hash tiles) and the signed
// checkpoints, next to the entries that Submit sequences. The node's
// integrator type-asserts it.
//
// Durability: Integrate returns nil only after the tiles and checkpoint are
// durable together; a crash leaves the previous integration intact.
type LogStore interface {
	// ReadTile returns the hash tile t (exactly t.Width hashes) of the
	// integrated tree; a stored wider version of a partial tile serves
	// its prefix. ErrNotFound if the tree isn't integrated that far.
	ReadTile(ctx context.Context, t tlog.Tile) ([]byte, error)
	// LatestCheckpoint returns the newest signed checkpoint note and the
	// tree size it covers; ErrNotFound before the first integration.
	LatestCheckpoint(ctx context.Context) (size int64, note []byte, err error)
	// Checkpoints returns every signed checkpoint, by size.
	Checkpoints(ctx context.Context) ([][]byte, error)
	// Integrate stores the changed tiles and the checkpoint of the tree of
	// the given size in one transaction. It fails with ErrConflict (and
	// changes nothing) unless the latest checkpoint covers exactly from
	// entries (none: from 0), so two integrators can't interleave.
	Integrate(ctx context.Context, from, size int64, tiles map[tlog.Tile][]byte, note []byte) error
	// LogObjects calls fn for each stored object version whose log entry
	// index is in [start, end), in index order, with its entry's opening
	// (salt, collection, id, version, member) and the object exactly as
	// stored (for audits and the node's /log/objects). fn may keep the
	// slices. It holds at most [LogObjectsBatch] bytes of objects plus one
	// object in memory at a time, and holds no read transaction open while
	// fn runs, so fn may be slow (writing to a client).
	LogObjects(ctx context.Context, start, end int64, fn func(index int64, op tlog.Opening, raw []byte) error) error
}

// LogObjectsBatch is the most bytes of objects (beyond one object) that
// [LogStore.LogObjects] reads ahead of fn.
const LogObjectsBatch = 1 << 20

// ObjectSizer is the optional ability of a [Store] to tell how much a set
// of objects weighs without reading them, so that a response can reserve
// its memory before it builds (the node's GET /log/bundle).
type ObjectSizer interface {
	// ObjectsSize returns the number of stored versions of the objects
	// ids in collection, and the sum of their sizes ([Object].Raw).
	ObjectsSize(ctx context.Context, collection string, ids []string) (versions int64, bytes int64, err error)
}

package store

import (
	"context"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// LogStore keeps the integrated Merkle tree of the log (C2SP tlog-tiles
// hash tiles) and the signed checkpoints, next to the entries that Submit
// (and the other appending methods) sequence.
//
// Durability: Integrate returns nil only after the tiles and checkpoint are
// durable together; a crash leaves the previous integration intact.
type LogStore interface {
	// LogSize returns the number of log entries.
	LogSize(ctx context.Context) (int64, error)
	// Entries returns the log entries with start <= index < end (fewer if
	// the log is shorter).
	Entries(ctx context.Context, start, end int64) ([]Entry, error)
	// EntryFor returns the log entry of one object version (ErrNotFound).
	EntryFor(ctx context.Context, collection, objectID string, version time.Time) (Entry, error)
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
	// the given size in one transaction. It fails, changing nothing, with
	// [ErrFenced] unless fence is the current fence of the lease
	// [IntegratorLease] (so an integrator that lost its lease can't
	// write), and with ErrConflict unless the latest checkpoint covers
	// exactly from entries (none: from 0), so two integrators can't
	// interleave; with ErrInvalid for a tile of the wrong length, an
	// empty note or size < from. A stored tile is replaced only by a
	// wider one; with size == from > 0 the latest checkpoint stands.
	Integrate(ctx context.Context, fence, from, size int64, tiles map[tlog.Tile][]byte, note []byte) error
	// LogObjects calls fn for each stored object version whose log entry
	// index is in [start, end), in index order, with its entry's opening
	// (salt, collection, id, version, member) and the object exactly as
	// stored (for audits and the node's /log/objects). fn may keep the
	// slices. It holds at most [LogObjectsBatch] bytes of objects plus one
	// object in memory at a time, and holds no read transaction open while
	// fn runs, so fn may be slow (writing to a client). collections, when
	// not nil, keeps only the versions stored in those collections (none
	// when it is empty): the others are not read at all, so that a
	// member's /log/objects takes no longer for objects it may not read.
	LogObjects(ctx context.Context, start, end int64, collections []string, fn func(index int64, op tlog.Opening, raw []byte) error) error
}

// LogObjectsBatch is the most bytes of objects (beyond one object) that
// [LogStore.LogObjects] reads ahead of fn.
const LogObjectsBatch = 1 << 20

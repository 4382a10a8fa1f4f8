package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
)

// StoreAuditSource reads a node's store directly for `parley audit --data`:
// every entry, every object with its salt, every checkpoint the node signed
// and the stored tiles. It is a [tlog.AuditSource], a
// [tlog.CheckpointHistory] and a [tlog.TileReader].
type StoreAuditSource struct {
	st store.Store
}

var (
	_ tlog.EntryNamer        = (*StoreAuditSource)(nil)
	_ tlog.AuditSource       = (*StoreAuditSource)(nil)
	_ tlog.CheckpointHistory = (*StoreAuditSource)(nil)
	_ tlog.TileReader        = (*StoreAuditSource)(nil)
	_ tlog.CosignedHistory   = (*StoreAuditSource)(nil)
	_ tlog.KeyLookup         = (*StoreAuditSource)(nil).KeyIndex
)

// NewStoreAuditSource returns the audit source of st.
func NewStoreAuditSource(st store.Store) *StoreAuditSource {
	return &StoreAuditSource{st: st}
}

// Checkpoint implements [tlog.AuditSource].
func (s *StoreAuditSource) Checkpoint(ctx context.Context) ([]byte, error) {
	size, note, err := s.st.LatestCheckpoint(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("the log has no checkpoint yet (has the node run?): %w", err)
	}
	if err != nil {
		return nil, err
	}
	// With its cosignatures, so that audit --data checks a witness policy.
	return withCosignatures(ctx, s.st, size, note), nil
}

// CosignedCheckpoints implements [tlog.CosignedHistory].
func (s *StoreAuditSource) CosignedCheckpoints(ctx context.Context, fn func([]byte) error) error {
	return s.st.CosignedCheckpoints(ctx, 0, math.MaxInt64, 0, func(_ int64, note []byte) error { return fn(note) })
}

// Checkpoints implements [tlog.CheckpointHistory].
func (s *StoreAuditSource) Checkpoints(ctx context.Context) ([][]byte, error) {
	return s.st.Checkpoints(ctx)
}

// ReadTile implements [tlog.TileReader].
func (s *StoreAuditSource) ReadTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	return s.st.ReadTile(ctx, t)
}

// LogSize returns the number of entries the store holds, which may be
// more than its latest checkpoint covers: entries appended while the node
// was stopped (member add, collection add), or that it had not yet
// integrated when it stopped, are covered when it next serves.
func (s *StoreAuditSource) LogSize(ctx context.Context) (int64, error) {
	return s.st.LogSize(ctx)
}

// Leaves implements [tlog.AuditSource].
func (s *StoreAuditSource) Leaves(ctx context.Context, start, end uint64, fn func(uint64, []byte) error) error {
	const page = 1024
	for from := start; from < end; from += page {
		es, err := s.st.Entries(ctx, int64(from), int64(min(from+page, end)))
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := fn(uint64(e.Index), e.Leaf); err != nil {
				return err
			}
		}
		if len(es) < int(min(page, end-from)) {
			return nil // the log is shorter; Audit reports the gap
		}
	}
	return nil
}

// Objects implements [tlog.AuditSource].
func (s *StoreAuditSource) Objects(ctx context.Context, start, end uint64, fn func(uint64, tlog.Opening, []byte) error) error {
	return s.st.LogObjects(ctx, int64(start), int64(end), nil, func(i int64, op tlog.Opening, raw []byte) error {
		return fn(uint64(i), op, raw)
	})
}

// EntryObjectID implements [tlog.EntryNamer]: the store knows each entry's
// object id, which the entry itself hides.
func (s *StoreAuditSource) EntryObjectID(ctx context.Context, index uint64) (string, error) {
	es, err := s.st.Entries(ctx, int64(index), int64(index)+1)
	if err != nil || len(es) != 1 {
		return "", err
	}
	return es[0].ObjectID, nil
}

// KeyIndex is a [tlog.KeyLookup]: the key index of the tree of the given
// size that the node would sign, built through the look-up its
// GET /log/keys and proof bundles find member key entries with
// (keyEntries): of every member when members is empty (Complete), else of
// those members. [tlog.Audit] compares it with its replay of the entries.
func (s *StoreAuditSource) KeyIndex(ctx context.Context, size uint64, members []string) (tlog.KeyIndex, error) {
	es, err := keyEntries(ctx, s.st, int64(size), members...)
	if err != nil {
		return tlog.KeyIndex{}, err
	}
	keys := make([]tlog.BundleKey, len(es))
	for i, e := range es {
		keys[i] = tlog.BundleKey{Entry: e.Leaf, LogIndex: uint64(e.Index)}
	}
	return newKeyIndex(tlog.Checkpoint{Size: size}, keys, members, len(members) == 0)
}

// OpenStoreAudit opens the store in a node's data directory for an audit,
// without the node's secret key, and returns the source, the verifier key
// in DIR/node.pub (empty if absent) and a function that closes the store.
// It works on a stopped node and beside a running one, and changes
// nothing of the store: an embedded database is opened read-only, its
// files (-wal and -shm too) and their modes left as they are, and one
// whose schema is older than this version reads without migrating it is
// refused with an error wrapping [store.ErrSchemaTooOld]. A PostgreSQL
// store is opened read-only too ([postgres.Options.ReadOnly]).
func OpenStoreAudit(ctx context.Context, dir string) (*StoreAuditSource, string, func() error, error) {
	return openStoreAudit(ctx, dir, storeOptions{Existing: true, ReadOnly: true})
}

// openStoreAudit is [OpenStoreAudit] with the store opened with opts (a
// restore audits its own staged copy, which it may migrate).
func openStoreAudit(ctx context.Context, dir string, opts storeOptions) (*StoreAuditSource, string, func() error, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, "", nil, err
	}
	st, err := openStore(ctx, dir, cfg, opts)
	if err != nil {
		return nil, "", nil, err
	}
	src := NewStoreAuditSource(st)
	var vkey string
	if b, err := untrusted.ReadFile(filepath.Join(dir, PubKeyFile), maxKeySz); err == nil {
		vkey = strings.TrimSpace(string(b))
	}
	return src, vkey, st.Close, nil
}

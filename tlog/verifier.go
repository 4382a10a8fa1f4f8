package tlog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// ObjectVerifier checks objects that a node serves (over TAXII, with their
// openings) against the node's log, trusting nothing but the pinned log key:
// each object's entry is read from the log's entry bundles, its commitment
// is checked against the opening, and its signature against the key the
// log's member key entries (GET /log/keys, each checked for inclusion
// against a signed checkpoint) show in force for the member at the entry's
// position. Every checkpoint it uses is checked against Seen (when not
// nil). With Proofs, each entry is also proved included in a signed
// checkpoint from the log's hash tiles.
//
// It is what `parley pull`, `parley match --url`, `parley opinion` and
// `parley concurrence` use. It is not safe for concurrent use.
type ObjectVerifier struct {
	// Log reads the node's log.
	Log *Client
	// Key verifies the node's checkpoints (the pinned log key).
	Key note.Verifier
	// Proofs asks for an inclusion proof of every entry against a signed
	// checkpoint (built from the log's hash tiles), not only for the
	// entry bundles' word.
	Proofs bool
	// Seen, when not nil, holds the checkpoints seen before: every
	// checkpoint used (by Verify and CheckLog, with Proofs or not) must be
	// consistent with them, proved from the log's consistency proofs, and
	// is recorded (the caller saves the file).
	Seen *SeenCheckpoints
	// Wait is how long Verify waits for a checkpoint covering an object
	// the node acknowledged moments ago (nodes sign within about a
	// second); 0 means [DefaultCoverWait].
	Wait time.Duration
	// Policy, when not nil, is the witness policy every checkpoint used
	// must meet ([CheckQuorum]); one that doesn't fails Verify with an
	// error wrapping [ErrQuorum].
	Policy *Policy

	cp      Checkpoint
	cpNote  []byte
	keys    *KeyHistory
	keySize uint64
	// bundles caches entry bundles by tile index, the maxBundles most
	// recently used; order holds their indexes, least recently used
	// first.
	bundles map[uint64][][]byte
	order   []uint64
	tiles   *TileCache
}

// DefaultCoverWait is how long [ObjectVerifier.Verify] waits by default for
// a checkpoint that covers the objects it checks.
const DefaultCoverWait = 5 * time.Second

// maxBundles bounds the entry bundles an ObjectVerifier keeps (each 256
// entries of about 140 bytes, up to 256 × (2 + MaxEntrySize)). Verify
// reads each call's entries in log order, so within a call every bundle
// is read once, whatever the order of the items; a client paging through
// a collection (pull, match --url) asks for entries in log order, so
// from one call to the next it needs again only the bundle a page ended
// in. A few more cover callers whose pages overlap or step back a
// little. 1,024, as before, held 40 MB at a million entries, never
// read again.
const maxBundles = 16

// clientTiles is the number of hash tiles (about 16 KiB each with their
// inner hashes) an ObjectVerifier keeps. An inclusion proof needs one
// tile a level along the entry's path and those of the tree's right
// edge, so entries in log order use a handful at a time, and the cache
// keeps those most recently used. 256 filled (4 MiB, and as much again
// of the GC's headroom) as a pull went along the log, never read again.
const clientTiles = 32

// VerifyItem is one object to check with [ObjectVerifier.Verify].
type VerifyItem struct {
	Object   []byte
	LogIndex uint64
	Opening  Opening
}

// Verified is the outcome for one [VerifyItem]: Err is nil when the object
// verified (Check then says who signed and whether it was relayed), wraps
// [ErrUnsignedObject] for an unsigned object whose entry matched, and
// otherwise says what failed.
type Verified struct {
	Check ObjectCheck
	Err   error
}

// refresh reads and verifies the latest checkpoint.
func (v *ObjectVerifier) refresh(ctx context.Context) error {
	n, err := v.Log.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("couldn't read the log's checkpoint: %w", err)
	}
	cp, err := OpenCheckpoint(n, v.Key)
	if err != nil {
		return fmt.Errorf("the log's checkpoint doesn't verify with the pinned key: %w", err)
	}
	// Seen first: a checkpoint signed by the pinned key that contradicts
	// one seen before proves a fork whether or not the witnesses cosigned
	// it (they refuse a fork), and Seen keeps both as evidence.
	if v.Seen != nil {
		if err := v.Seen.checkConsistent(ctx, n, v.Key, v.Log, v.Seen.policyOr(v.Policy)); err != nil {
			return err
		}
	}
	if v.Policy != nil {
		if _, err := CheckQuorum(v.Policy, n); err != nil {
			return fmt.Errorf("couldn't accept the log's checkpoint: %w", err)
		}
	}
	v.cp, v.cpNote = cp, n
	return nil
}

// loadKeys reads the member key entries of the log, each proved included
// in a checkpoint signed by the pinned key.
func (v *ObjectVerifier) loadKeys(ctx context.Context) error {
	r, err := v.Log.Keys(ctx)
	if err != nil {
		return fmt.Errorf("couldn't read the log's member keys: %w", err)
	}
	h, kcp, err := r.VerifyComplete(v.Key)
	if err != nil {
		return fmt.Errorf("the log's member keys don't verify: %w", err)
	}
	// The keys must come from the same tree as the entries: a node showing
	// two histories must not mix a key from one with entries of the other.
	small, big := kcp, v.cp
	if small.Size > big.Size {
		small, big = big, small
	}
	switch {
	case small.Size == big.Size && small.Hash != big.Hash:
		return fmt.Errorf("%w: the member keys come from a tree of size %d whose root isn't the checkpoint's: the log forked", ErrProof, small.Size)
	case small.Size > 0 && small.Size < big.Size:
		p, err := v.Log.ConsistencyProof(ctx, small.Size, big.Size)
		if err != nil {
			return fmt.Errorf("couldn't read the log's consistency proof from %d to %d: %w", small.Size, big.Size, err)
		}
		if err := VerifyConsistency(small.Size, big.Size, p, small.Hash, big.Hash); err != nil {
			return fmt.Errorf("%w: the member keys' checkpoint isn't consistent with the entries': the log forked", ErrProof)
		}
	}
	if v.Seen != nil {
		if err := v.Seen.checkConsistent(ctx, []byte(r.Checkpoint), v.Key, v.Log, v.Seen.policyOr(v.Policy)); err != nil {
			return err
		}
	}
	v.keys, v.keySize = h, r.TreeSize
	return nil
}

// entry returns the leaf at index i from the log's entry bundles.
func (v *ObjectVerifier) entry(ctx context.Context, i uint64) ([]byte, error) {
	n := i / TileWidth
	leaves, ok := v.bundles[n]
	if ok && uint64(len(leaves)) > i%TileWidth {
		v.touch(n)
	} else {
		t := Tile{Level: 0, N: n, Width: int(min(TileWidth, v.cp.Size-n*TileWidth)), Entries: true}
		data, err := v.Log.ReadTile(ctx, t)
		if err != nil {
			return nil, err
		}
		if leaves, err = ParseEntryBundle(data); err != nil {
			return nil, err
		}
		if len(leaves) != t.Width {
			return nil, fmt.Errorf("%w: %s has %d entries", ErrMalformedTile, t.Path(), len(leaves))
		}
		if v.bundles == nil {
			v.bundles = map[uint64][][]byte{}
		}
		if ok {
			v.touch(n)
		} else {
			v.order = append(v.order, n)
		}
		v.bundles[n] = leaves
		if len(v.order) > maxBundles {
			delete(v.bundles, v.order[0])
			v.order = append(v.order[:0], v.order[1:]...)
		}
	}
	return leaves[i%TileWidth], nil
}

// touch marks bundle n, which the cache holds, as the most recently used.
func (v *ObjectVerifier) touch(n uint64) {
	last := len(v.order) - 1
	if v.order[last] == n {
		return
	}
	for j, m := range v.order {
		if m == n {
			copy(v.order[j:], v.order[j+1:])
			v.order[last] = n
			return
		}
	}
}

// ErrNotInLog is returned (wrapped) for an object whose entry the log
// doesn't have or doesn't prove.
var ErrNotInLog = errors.New("the object's entry isn't in the log")

// ErrNotCovered is wrapped with [ErrNotInLog] for an object whose entry
// is past the log's latest checkpoint after [ObjectVerifier.Wait]: not a
// proof that anything is wrong (a node signs within a second; longer
// while another front end takes integration over), so a client that polls
// fetches it again.
var ErrNotCovered = errors.New("not yet in a signed checkpoint")

// Verify checks items against the log (see [ObjectVerifier]); the result
// has one [Verified] per item, in order. The error is for failing to read
// or trust the log itself (an unreachable node, a checkpoint that doesn't
// verify with the pinned key, a checkpoint inconsistent with Seen), in
// which case nothing can be said of any item.
func (v *ObjectVerifier) Verify(ctx context.Context, items []VerifyItem) ([]Verified, error) {
	out := make([]Verified, len(items))
	if len(items) == 0 {
		return out, nil
	}
	var maxIndex uint64
	for _, it := range items {
		maxIndex = max(maxIndex, it.LogIndex)
	}
	if v.cpNote == nil || maxIndex >= v.cp.Size {
		wait := v.Wait
		if wait == 0 {
			wait = DefaultCoverWait
		}
		deadline := time.Now().Add(wait)
		for {
			if err := v.refresh(ctx); err != nil {
				return nil, err
			}
			if maxIndex < v.cp.Size || time.Now().After(deadline) {
				break
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if v.keys == nil || maxIndex >= v.keySize {
		if err := v.loadKeys(ctx); err != nil {
			return nil, err
		}
	}
	if v.tiles == nil {
		v.tiles = NewClientTileCache(clientTiles)
	}
	entries := make([]Entry, len(items))
	// In log order, so that each entry bundle and hash tile is read once
	// (see maxBundles).
	byIndex := make([]int, len(items))
	for i := range byIndex {
		byIndex[i] = i
	}
	sort.SliceStable(byIndex, func(a, b int) bool { return items[byIndex[a]].LogIndex < items[byIndex[b]].LogIndex })
	for _, i := range byIndex {
		it := items[i]
		if it.LogIndex >= v.cp.Size || it.LogIndex >= v.keySize {
			out[i].Err = fmt.Errorf("%w: %w: entry %d isn't covered by the log's latest checkpoint (size %d)", ErrNotInLog, ErrNotCovered, it.LogIndex, v.cp.Size)
			continue
		}
		leaf, err := v.entry(ctx, it.LogIndex)
		if err != nil {
			return nil, fmt.Errorf("couldn't read log entry %d: %w", it.LogIndex, err)
		}
		if v.Proofs {
			p, err := InclusionProof(ctx, it.LogIndex, v.cp.Size, CachedTileHashReader(v.cp.Size, v.Log, v.tiles))
			if err == nil {
				err = VerifyInclusion(it.LogIndex, v.cp.Size, LeafHash(leaf), p, v.cp.Hash)
			}
			if err != nil {
				out[i].Err = fmt.Errorf("%w: entry %d isn't proved included in the signed checkpoint: %v", ErrNotInLog, it.LogIndex, err)
				continue
			}
		}
		if entries[i], err = ParseEntry(leaf); err != nil {
			out[i].Err = fmt.Errorf("%w: entry %d: %v", ErrNotInLog, it.LogIndex, err)
		}
	}
	// The signatures dominate: check them on every core.
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(items) {
					return
				}
				if out[i].Err != nil {
					continue
				}
				it := items[i]
				out[i].Check, out[i].Err = CheckObject(it.Object, it.Opening, entries[i], it.LogIndex, v.keys)
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// Checkpoint returns the checkpoint the last [ObjectVerifier.Verify] used.
func (v *ObjectVerifier) Checkpoint() Checkpoint { return v.cp }

// CheckLog reads and verifies the log's latest checkpoint, as [Verify]
// does before the first object it checks (the pinned key, Seen, Policy),
// unless a Verify call already did: a client that
// was given no object to check (an empty collection, nothing added
// since) still refuses a log that isn't the pinned one. The errors are
// Verify's.
//
// A node that has signed no checkpoint yet (404: a node just started)
// has no log to refuse, unless Seen holds a checkpoint of the pinned
// log: then the log that was seen is gone, and that is the error.
func (v *ObjectVerifier) CheckLog(ctx context.Context) error {
	if v.cpNote != nil {
		return nil
	}
	err := v.refresh(ctx)
	var herr *HTTPError
	if errors.As(err, &herr) && herr.Code == http.StatusNotFound {
		if v.Seen == nil {
			return nil
		}
		if _, _, seen := v.Seen.Neighbours(Checkpoint{Origin: v.Key.Name()}, v.Key); seen != "" {
			c, _ := peekCheckpoint(seen)
			return fmt.Errorf("the node shows no checkpoint, but one of size %d of its log was seen before: the log it showed is gone: %w", c.Size, err)
		}
		return nil
	}
	return err
}

// CheckLogAgain is [ObjectVerifier.CheckLog] that reads the log's latest
// checkpoint even when an earlier call already did: a client that polls
// the node (parley match --url) checks the log at every round, not only
// at its first. The errors are Verify's.
func (v *ObjectVerifier) CheckLogAgain(ctx context.Context) error {
	v.cp, v.cpNote = Checkpoint{}, nil
	return v.CheckLog(ctx)
}

// Keys returns the member key history the last Verify used.
func (v *ObjectVerifier) Keys() *KeyHistory { return v.keys }

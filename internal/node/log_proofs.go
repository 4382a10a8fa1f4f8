package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// waitCovered waits up to wait for a checkpoint covering entry index
// (index < 0: any checkpoint, or none for an empty log) and returns its size
// and note; after wait it fails with [ErrNotIntegrated]. check, when not
// nil, is whether the request may still have its answer: checked every
// heldRecheck while it waits (a refusal ends the wait at once) and once
// more when the checkpoint came (held.go).
func waitCovered(ctx context.Context, ls store.Store, index int64, wait time.Duration, check func(context.Context) error) (size int64, note []byte, err error) {
	if check == nil {
		return pollCovered(ctx, ls, index, wait)
	}
	// One look first: most entries are covered already, and need no
	// watching.
	size, note, err = pollCovered(ctx, ls, index, 0)
	if errors.Is(err, ErrNotIntegrated) && wait > 0 {
		err = watchHeld(ctx, check, func(ctx context.Context) error {
			size, note, err = pollCovered(ctx, ls, index, wait)
			return err
		})
	}
	if err != nil {
		return 0, nil, err
	}
	if err := check(ctx); err != nil {
		return 0, nil, err
	}
	return size, note, nil
}

// pollCovered is waitCovered without the checks.
func pollCovered(ctx context.Context, ls store.Store, index int64, wait time.Duration) (int64, []byte, error) {
	deadline := time.Now().Add(wait)
	for {
		size, note, err := ls.LatestCheckpoint(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, nil, err
		}
		if err == nil && index < size {
			return size, withCosignatures(ctx, ls, size, note), nil
		}
		if time.Now().After(deadline) {
			return 0, nil, ErrNotIntegrated
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// bundleOf builds the proof bundle of objs (which the caller has checked the
// member may read) against the latest checkpoint once one covers them all,
// waiting up to wait ([ErrNotIntegrated] after): each version with its entry,
// opening and inclusion proof, and the member key entries (with theirs) of
// every member who shared one, so that a verifier checks each signature
// against the key the log shows in force. It is the one bundle builder of
// the node: /log/bundle and /concurrence evidence both use it.
//
// check, when not nil, is whether the request may still have the bundle
// ([waitCovered]).
func (n *Node) bundleOf(ctx context.Context, ls store.Store, objs []store.Object, wait time.Duration, cache *tlog.TileCache, check func(context.Context) error) (tlog.Bundle, error) {
	b := tlog.Bundle{Type: tlog.BundleType, LogKey: n.vkey, Keys: []tlog.BundleKey{}, Items: []tlog.BundleItem{}, Names: map[string]string{}}
	maxIndex := int64(-1)
	for _, o := range objs {
		maxIndex = max(maxIndex, o.LogIndex)
	}
	size, note, err := waitCovered(ctx, ls, maxIndex, wait, check)
	if err != nil {
		return b, err
	}
	if note == nil {
		return b, nil // an empty log and nothing to prove
	}
	b.Checkpoint = string(note)
	hr := hashReader(size, ls, cache)
	entries, err := entriesAt(ctx, n.store, objs)
	if err != nil {
		return b, err
	}
	var sharers []string
	for _, o := range objs {
		e, ok := entries[o.LogIndex]
		if !ok {
			return b, fmt.Errorf("couldn't find the log entry of %s: %w", o.ID, store.ErrNotFound)
		}
		p, err := tlog.InclusionProof(ctx, uint64(o.LogIndex), uint64(size), hr)
		if err != nil {
			return b, err
		}
		if p == nil {
			p = []tlog.Hash{}
		}
		b.Items = append(b.Items, tlog.BundleItem{Object: o.Raw, Entry: e.Leaf, Opening: e.Opening(), LogIndex: uint64(o.LogIndex), InclusionProof: p})
		if !slices.Contains(sharers, o.Member) {
			sharers = append(sharers, o.Member)
		}
	}
	if b.Keys, err = n.keyEvidence(ctx, size, hr, sharers...); err != nil {
		return b, err
	}
	if b.KeyIndex, err = n.keyIndex(note, b.Keys, sharers, false); err != nil {
		return b, err
	}
	indexes := make([]int64, len(objs))
	for i, o := range objs {
		indexes[i] = o.LogIndex
	}
	if b.Witnessed, err = witnessedFor(ctx, ls, size, hr, indexes); err != nil {
		return b, err
	}
	for _, id := range sharers {
		if m, err := n.store.Member(ctx, id); err == nil {
			b.Names[id] = m.Name
		}
	}
	return b, nil
}

// keyEvidence returns the member key entries of members (every member's
// when none is named) in the tree of the given size, each with its
// inclusion proof: what a client replays into a [tlog.KeyHistory].
func (n *Node) keyEvidence(ctx context.Context, size int64, hr tlog.HashReader, members ...string) ([]tlog.BundleKey, error) {
	out := []tlog.BundleKey{}
	es, err := keyEntries(ctx, n.store, size, members...)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		p, err := tlog.InclusionProof(ctx, uint64(e.Index), uint64(size), hr)
		if err != nil {
			return nil, err
		}
		if p == nil {
			p = []tlog.Hash{}
		}
		out = append(out, tlog.BundleKey{Entry: e.Leaf, LogIndex: uint64(e.Index), InclusionProof: p})
	}
	return out, nil
}

// keyEntries is the look-up through which the node finds the member key
// entries it serves and indexes (GET /log/keys, proof bundles): those of
// members, every member's when none is named, in the tree of the given
// size. parley audit --data indexes through it too
// ([StoreAuditSource.KeyIndex]), so that a damaged look-up table, which
// would make the node sign false key indexes, is found.
func keyEntries(ctx context.Context, st store.Store, size int64, members ...string) ([]store.Entry, error) {
	return st.KeyEntries(ctx, size, members...)
}

// newKeyIndex is the key index of keys, the key entries keyEntries found
// of members in the tree of cp: of every member (Complete) when all is
// set, which GET /log/keys asking for no member answers with.
func newKeyIndex(cp tlog.Checkpoint, keys []tlog.BundleKey, members []string, all bool) (tlog.KeyIndex, error) {
	k, err := tlog.NewKeyIndex(cp, keys, members)
	k.Complete = all
	return k, err
}

// keyIndex signs the key index ([tlog.KeyIndex]) of keys, the key
// entries keyEvidence returned for members (every member's when none is
// named) in the tree of the signed checkpoint note: the statement that
// they are all of those members' key entries in that tree, which lets a
// verifier tell that the bundle leaves out no rotation or revocation.
// With all (GET /log/keys asking for no member) it is signed as the index
// of every member ([tlog.KeyIndexAllHeader]), which also states that no
// other member has a key entry in the tree: a member left out of it is
// provable.
func (n *Node) keyIndex(note []byte, keys []tlog.BundleKey, members []string, all bool) (string, error) {
	cp, err := tlog.OpenCheckpoint(note, n.verifier)
	if err != nil {
		return "", fmt.Errorf("couldn't index the member key entries: %w", err)
	}
	k, err := newKeyIndex(cp, keys, members, all)
	if err != nil {
		return "", err
	}
	return tlog.SignKeyIndex(k, n.signer)
}

// entriesAt reads the log entries of versions, one query per run of
// nearby indexes (objects are often posted together).
func entriesAt(ctx context.Context, st store.Store, versions []store.Object) (map[int64]store.Entry, error) {
	idx := make([]int64, 0, len(versions))
	for _, v := range versions {
		idx = append(idx, v.LogIndex)
	}
	slices.Sort(idx)
	out := make(map[int64]store.Entry, len(idx))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1]-idx[j] <= 8 {
			j++
		}
		es, err := st.Entries(ctx, idx[i], idx[j]+1)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			out[e.Index] = e
		}
		i = j + 1
	}
	return out, nil
}

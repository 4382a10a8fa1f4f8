package peer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// ErrNoProof is returned (wrapped) by [Bundle] when no replicated version
// of the object is covered by a checkpoint of the peer yet.
var ErrNoProof = errors.New("not replicated up to a checkpoint of the peer yet")

// Bundle returns a proof bundle in the peer's log ([tlog.Bundle], whose
// log key is the peer's) for every replicated version of objectID: the
// latest checkpoint of the peer whose tree this node replicated whole,
// each version's entry in the peer's log with its opening there and its
// inclusion proof, and the peer's member key entries of the members who
// shared them, with theirs. The proofs are built from the tree kept here,
// so the bundle verifies offline with the peer's key
// ([tlog.VerifyBundle], `parley verify --log-key PEER_KEY`) whether or not
// the peer is up. When the peer's key index (recorded by the follower,
// checked against the peer's key entries replicated) is of a tree that
// holds every replicated version, the bundle is proved against that
// tree's checkpoint, carries the index, and shows every key entry it
// lists. It fails with store.ErrNotFound when no version was
// replicated, and [ErrNoProof] when none is covered yet.
//
// The key index is left out, and the bundle shows only the sharers' key
// entries (it verifies then with its key history not proved complete, as
// a bundle of a peer older than the key index does), when the peer's
// replicated key entries are more than maxKeys or their leaves hold more
// than maxKeyBytes (0: no bound): a bundle must stay servable and readable
// by clients, which read at most 64 MiB of one response, and a peer may
// log up to [DefaultMaxKeyEntries] key entries ([DefaultMaxKeyBytes]).
// keyIndexOmitted then says why.
func Bundle(ctx context.Context, st store.Store, p store.Peer, objectID string, maxKeys, maxKeyBytes int64) (b tlog.Bundle, keyIndexOmitted string, err error) {
	if ki := p.State; ki.KeyIndex != nil && maxKeys > 0 && ki.Keys > maxKeys {
		keyIndexOmitted = fmt.Sprintf("the peer's log holds %d member key entries, more than the %d a bundle shows", ki.Keys, maxKeys)
		p.State.KeyIndex = nil
	}
	b, omitted, err := bundle(ctx, st, p, objectID, maxKeyBytes)
	if omitted != "" {
		keyIndexOmitted = omitted
	}
	return b, keyIndexOmitted, err
}

func bundle(ctx context.Context, st store.Store, p store.Peer, objectID string, maxKeyBytes int64) (tlog.Bundle, string, error) {
	b, err := bundleWith(ctx, st, p, objectID, maxKeyBytes)
	if errors.Is(err, errKeyBytes) {
		p.State.KeyIndex = nil
		b, err = bundleWith(ctx, st, p, objectID, 0)
		return b, fmt.Sprintf("the peer's member key entries hold more than the %d bytes a bundle shows", maxKeyBytes), err
	}
	return b, "", err
}

// errKeyBytes: the key entries a bundle with the key index would show hold
// more bytes than its bound.
var errKeyBytes = errors.New("too many key entry bytes for one bundle")

func bundleWith(ctx context.Context, st store.Store, p store.Peer, objectID string, maxKeyBytes int64) (tlog.Bundle, error) {
	b := tlog.Bundle{Type: tlog.BundleType, LogKey: p.LogKey, Keys: []tlog.BundleKey{}, Items: []tlog.BundleItem{}}
	prov, err := st.PeerObjects(ctx, p.Name, objectID)
	if err != nil {
		return b, err
	}
	if len(prov) == 0 {
		return b, fmt.Errorf("couldn't find %s among the objects of peer %s: %w", objectID, p.Name, store.ErrNotFound)
	}
	// The latest checkpoint whose tree is replicated whole.
	note, err := st.PeerCheckpoint(ctx, p.Name, p.State.Next)
	if errors.Is(err, store.ErrNotFound) {
		return b, fmt.Errorf("couldn't prove %s: %w", objectID, ErrNoProof)
	}
	if err != nil {
		return b, err
	}
	v, err := tlog.NewVerifier(p.LogKey)
	if err != nil {
		return b, err
	}
	cp, err := tlog.OpenCheckpoint(note, v)
	if err != nil {
		return b, fmt.Errorf("couldn't read a stored checkpoint of peer %s: %w", p.Name, err)
	}
	// The peer's key index, when it covers every replicated version: the
	// bundle is then proved against the checkpoint of its tree (the
	// latest, unless the peer served none since), and shows every key
	// entry the index lists, which tells a client that no rotation or
	// revocation of the sharers is left out (tlog.Bundle.CheckKeyIndex).
	if ki := p.State; ki.KeyIndex != nil && ki.KeyIndexSize <= p.State.Next && prov[len(prov)-1].Index < ki.KeyIndexSize {
		if icp, err := tlog.OpenCheckpoint(ki.KeyIndexCheckpoint, v); err == nil && int64(icp.Size) == ki.KeyIndexSize {
			note, cp, b.KeyIndex = ki.KeyIndexCheckpoint, icp, string(ki.KeyIndex)
		}
	}
	b.Checkpoint = string(note)
	if int64(cp.Size) > p.State.Next || prov[0].Index >= int64(cp.Size) {
		return b, fmt.Errorf("couldn't prove %s: %w", objectID, ErrNoProof)
	}
	page, err := st.Objects(ctx, store.Query{Collection: p.Into, IDs: []string{objectID},
		Versions: []store.VersionSelector{{Kind: store.VersionAll}}, Limit: len(prov) + 1})
	if err != nil {
		return b, err
	}
	hr := tlog.TileHashReader(cp.Size, PeerTiles(st, p.Name))
	stored := make(map[string][]byte, len(page.Objects)) // by version
	for _, so := range page.Objects {
		stored[store.FormatTime(so.Version)] = so.Raw
	}
	var sharers []string
	for _, o := range prov {
		if o.Index >= int64(cp.Size) {
			break
		}
		raw := stored[store.FormatTime(o.Version)]
		if raw == nil {
			return b, fmt.Errorf("couldn't find the stored version %s of %s: %w", o.Opening.Version, objectID, store.ErrNotFound)
		}
		proof, err := tlog.InclusionProof(ctx, uint64(o.Index), cp.Size, hr)
		if err != nil {
			return b, err
		}
		if proof == nil {
			proof = []tlog.Hash{}
		}
		b.Items = append(b.Items, tlog.BundleItem{Object: raw, Entry: o.Leaf, Opening: o.Opening, LogIndex: uint64(o.Index), InclusionProof: proof})
		if !slices.Contains(sharers, o.Opening.Member) {
			sharers = append(sharers, o.Opening.Member)
		}
	}
	keys, err := st.PeerKeys(ctx, p.Name, int64(cp.Size))
	if err != nil {
		return b, err
	}
	if b.KeyIndex != "" && maxKeyBytes > 0 {
		var n int64
		for _, k := range keys {
			n += int64(len(k.Leaf))
		}
		if n > maxKeyBytes {
			return b, errKeyBytes
		}
	}
	for _, k := range keys {
		e, err := tlog.ParseEntry(k.Leaf)
		if err != nil {
			return b, err
		}
		if b.KeyIndex == "" && !slices.Contains(sharers, e.Member) {
			continue
		}
		proof, err := tlog.InclusionProof(ctx, uint64(k.Index), cp.Size, hr)
		if err != nil {
			return b, err
		}
		if proof == nil {
			proof = []tlog.Hash{}
		}
		b.Keys = append(b.Keys, tlog.BundleKey{Entry: k.Leaf, LogIndex: uint64(k.Index), InclusionProof: proof})
	}
	return b, nil
}

package peer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
)

// ErrFalseKeyIndex is returned (wrapped) by [Follower.Round] when the peer
// signed a key index ([tlog.KeyIndex]) that is false: of another tree
// than its checkpoint of the same size, or listing other member key
// entries than its log holds (a rotation or revocation left out, or one
// added). Like a fork, it is proved by what the peer signed: replication
// stops for good, with the evidence kept.
var ErrFalseKeyIndex = errors.New("the peer signed a false key index")

// NoKeyIndex begins the peer's KeyIndexMissing when it serves no key index
// (a node older than it): replication goes on, and the bundles of its
// objects carry none (clients check its replicated objects as logged,
// not verified).
const NoKeyIndex = "the peer serves no key index"

// wantKeyIndex reports whether a round that ends at cp needs the peer's
// key index: none is stored of cp's tree, and the peer isn't known to
// serve none while nothing new is to replicate (asked again with its next
// entries).
func (f *Follower) wantKeyIndex(p store.Peer, cp tlog.Checkpoint) bool {
	if p.State.KeyIndex != nil && p.State.KeyIndexSize == int64(cp.Size) {
		return false
	}
	if p.State.Next == int64(cp.Size) && strings.HasPrefix(p.State.KeyIndexMissing, NoKeyIndex) {
		return false
	}
	return true
}

// fetchKeyIndex reads the peer's key index (GET /log/keys, every member's
// key entries, of its latest checkpoint) for the round's checkpoint cp
// (signed). When the peer's log grew since cp was read, its answer is of
// a newer checkpoint: that one is accepted as cp was (fork, witness
// policy) and becomes the round's, so that the round ends at a tree
// whose index it holds. It returns the round's checkpoint and the index
// (not yet checked: the entries up to it are replicated first), or, when
// there is none to use, why (missing); an error for a fork, and, wrapping
// [tlog.ErrKeyIndex], for a peer that served the index of every member
// and now serves none (GET /log/keys not found, or without an index): a
// downgrade, refused as one to the older form is (indexMatches).
func (f *Follower) fetchKeyIndex(ctx context.Context, p store.Peer, c *tlog.Client, signed []byte, cp tlog.Checkpoint, res *Result) ([]byte, tlog.Checkpoint, []byte, string, error) {
	downgrade := func(now string) error {
		return fmt.Errorf("refused the key index of peer %s: %w: the peer served %s before (the index held here, of tree size %d), and now %s: a downgrade, which would leave a member it omits unprovable", p.Name, tlog.ErrKeyIndex, tlog.KeyIndexAllHeader, p.State.KeyIndexSize, now)
	}
	kr, err := c.Keys(ctx)
	if he := (*tlog.HTTPError)(nil); errors.As(err, &he) && he.Code == http.StatusNotFound {
		if f.servedAll(p) {
			return signed, cp, nil, "", downgrade("its GET /log/keys is not found (HTTP 404)")
		}
		return signed, cp, nil, NoKeyIndex + " (GET /log/keys is not found): its replicated objects check as logged, not verified", nil
	}
	if err != nil {
		return signed, cp, nil, untrusted.Text("couldn't read the peer's key index (GET /log/keys): "+err.Error(), 300), nil
	}
	if kr.KeyIndex == "" {
		if f.servedAll(p) {
			return signed, cp, nil, "", downgrade("it sends no key index with GET /log/keys")
		}
		return signed, cp, nil, NoKeyIndex + " (a node older than the key index): its replicated objects check as logged, not verified", nil
	}
	switch {
	case kr.TreeSize == cp.Size:
		return signed, cp, []byte(kr.KeyIndex), "", nil
	case kr.TreeSize > cp.Size:
		size := res.RemoteSize
		ncp, err := f.accept(ctx, p, c, signed, []byte(kr.Checkpoint), res)
		if errors.Is(err, ErrFork) {
			return signed, cp, nil, "", err
		}
		if err != nil {
			res.RemoteSize = size
			return signed, cp, nil, untrusted.Text(fmt.Sprintf("the peer's key index is of its newer checkpoint of size %d, which wasn't accepted (%v); the next round asks again", kr.TreeSize, err), 300), nil
		}
		c.SetTreeSize(ncp.Size)
		return []byte(kr.Checkpoint), ncp, []byte(kr.KeyIndex), "", nil
	default:
		return signed, cp, nil, fmt.Sprintf("the peer's key index is of tree size %d, older than its checkpoint of size %d; the next round asks again", kr.TreeSize, cp.Size), nil
	}
}

// indexMatches checks the peer's key index against the tree of cp and
// keys, every member key entry of the peer's log up to cp's size, as
// replicated here: it must verify with the peer's log key and be of cp's
// tree, and list for every member exactly the indexes of its key entries
// (not only for the members it lists: every key entry of the log must be
// listed). An index of cp's size but another root, or that misstates a
// member's entries, is false ([ErrFalseKeyIndex]): the peer signed it; so
// is an index of every member ([tlog.KeyIndexAllHeader]) that leaves a
// member out. One of the older form ([tlog.KeyIndexHeader], a node older
// than the index of every member) that leaves a member out is refused,
// as it claims nothing of the members it doesn't list; and so is any of
// the older form once the peer served the index of every member
// (servedAll: a downgrade).
func (f *Follower) indexMatches(p store.Peer, cp tlog.Checkpoint, index []byte, keys []store.PeerKey) error {
	k, err := tlog.OpenKeyIndex(index, f.key)
	if err != nil {
		return fmt.Errorf("refused the key index of peer %s: %w", p.Name, err)
	}
	if k.Size != cp.Size {
		return fmt.Errorf("refused the key index of peer %s: %w: it is of tree size %d, not %d", p.Name, tlog.ErrKeyIndex, k.Size, cp.Size)
	}
	if !k.Complete && f.servedAll(p) {
		// A peer that signed the index of every member before and now
		// signs the older form would make a member it leaves out
		// unprovable: refused, without a stop (the older form proves
		// nothing false), and the held index stays.
		return fmt.Errorf("refused the key index of peer %s: %w: it is of the older form %s, and the peer served %s before (the index held here, of tree size %d): a downgrade, which would leave a member it omits unprovable", p.Name, tlog.ErrKeyIndex, tlog.KeyIndexHeader, tlog.KeyIndexAllHeader, p.State.KeyIndexSize)
	}
	if k.Hash != cp.Hash {
		return fmt.Errorf("%w: it is of a tree of size %d with root %s, and the peer's checkpoint of that size has root %s", ErrFalseKeyIndex, k.Size, k.Hash, cp.Hash)
	}
	logged := map[string][]uint64{}
	for _, pk := range keys {
		e, err := tlog.ParseEntry(pk.Leaf)
		if err != nil {
			return fmt.Errorf("couldn't read the stored key entry %d of peer %s: %w", pk.Index, p.Name, err)
		}
		logged[e.Member] = append(logged[e.Member], uint64(pk.Index))
	}
	ids := make([]string, 0, len(logged)+len(k.Members))
	for m := range logged {
		ids = append(ids, m)
	}
	for m := range k.Members {
		if _, ok := logged[m]; !ok {
			ids = append(ids, m)
		}
	}
	sort.Strings(ids)
	for _, m := range ids {
		// An index of every member (parley-key-index-all-v1) states
		// that a member it doesn't list has no key entry.
		listed, ok := k.Lists(m)
		if !ok {
			// An index of the older form (parley-key-index-v1) states
			// the key entries of the members it lists, so one that
			// lists fewer isn't false, and nothing proves it against
			// the peer: refused, without a stop.
			return fmt.Errorf("refused the key index of peer %s: %w: it doesn't list member %s, whose key entries %v the log holds (GET /log/keys must list every member; the index, of the older form %s of a node older than %s, doesn't claim to, so nothing proves it false)", p.Name, tlog.ErrKeyIndex, untrusted.Text(m, 200), logged[m], tlog.KeyIndexHeader, tlog.KeyIndexAllHeader)
		}
		if !slices.Equal(listed, logged[m]) {
			if _, shown := k.Members[m]; !shown {
				return fmt.Errorf("%w: signed as the index of every member, it leaves out member %s, whose key entries %v the log holds", ErrFalseKeyIndex, untrusted.Text(m, 200), logged[m])
			}
			return fmt.Errorf("%w: it lists key entries %v of member %s, and the log holds %v (a registration, rotation or revocation left out or added)", ErrFalseKeyIndex, listed, untrusted.Text(m, 200), logged[m])
		}
	}
	if !k.Complete {
		// True, and accepted as today's nodes' are; but a member it
		// left out would have been refused, not proved false.
		f.cfg.Logger.Warn("the peer's key index is of the older form, which doesn't claim to list every member (a node older than "+tlog.KeyIndexAllHeader+")", "peer", p.Name, "size", k.Size)
	}
	return nil
}

// servedAll reports whether the key index held of the peer is signed as
// the index of every member ([tlog.KeyIndexAllHeader]): the peer served
// that form, and an index of the older form is then refused. The stored
// state says so without more: a held index is replaced only by one
// accepted, and after an index of every member none of the older form is.
func (f *Follower) servedAll(p store.Peer) bool {
	if p.State.KeyIndex == nil {
		return false
	}
	k, err := tlog.OpenKeyIndex(p.State.KeyIndex, f.key)
	return err == nil && k.Complete
}

// checkKeyIndex is indexMatches, and refuseKeyIndex when it fails.
func (f *Follower) checkKeyIndex(ctx context.Context, p store.Peer, c *tlog.Client, signed []byte, cp tlog.Checkpoint, index []byte, keys []store.PeerKey) error {
	if err := f.indexMatches(p, cp, index, keys); err != nil {
		return f.refuseKeyIndex(ctx, p, c, signed, cp, index, err)
	}
	return nil
}

// refuseKeyIndex handles a key index that indexMatches refused with
// cause, once the entries up to cp's size are recorded. One that doesn't
// verify with the peer's key, is of another size (which the peer's key
// may not have signed, or signed truthfully of another tree), or is of
// the older form and leaves out a member, is refused: the round fails with it, and the peer's
// KeyIndexMissing says so. A false one ([ErrFalseKeyIndex]) stops the
// peer, as a fork does, with false key index evidence
// ([tlog.KeyIndexEvidence], which parley verify --log-key checks) kept
// under Dir/evidence. Should no evidence that verifies be built (the
// peer's entry couldn't be read again), the index is refused without a
// stop, and the next round checks it again.
func (f *Follower) refuseKeyIndex(ctx context.Context, p store.Peer, c *tlog.Client, signed []byte, cp tlog.Checkpoint, index []byte, cause error) error {
	refuse := func(cause error) error {
		if err := f.cfg.Store.RecordPeerKeyIndex(ctx, p.Name, 0, nil, nil, untrusted.Text(cause.Error(), 300)); err != nil {
			f.cfg.Logger.Warn("couldn't record why the key index was refused", "peer", p.Name, "err", err)
		}
		return cause
	}
	if !errors.Is(cause, ErrFalseKeyIndex) {
		return refuse(cause)
	}
	b, err := f.keyIndexEvidence(ctx, p, c, signed, cp, index)
	if err != nil {
		// Not stopped on what this node couldn't prove; the cause
		// still says false, so the round's error is a refusal.
		return refuse(fmt.Errorf("refused the key index of peer %s without a stop: no evidence of it could be built (%s), and the next round checks it again: %w: %v", p.Name, untrusted.Text(err.Error(), 150), tlog.ErrKeyIndex, cause))
	}
	path, werr := writeEvidence(f.cfg.Dir, p.Name, b)
	reason := fmt.Sprintf("%v; replication stopped", cause)
	if werr != nil {
		reason = fmt.Sprintf("%v; replication stopped; the evidence couldn't be written (%v), and is logged", cause, werr)
		f.cfg.Logger.Error("false key index: replication stopped; the evidence couldn't be written", "peer", p.Name, "err", werr, "evidence_json", string(b))
	} else {
		f.cfg.Logger.Error("false key index: replication stopped", "peer", p.Name, "evidence", path)
	}
	if err := f.cfg.Store.StopPeer(ctx, p.Name, untrusted.Text(reason, MaxErrorText), path, f.cfg.Now()); err != nil {
		return fmt.Errorf("%w, and couldn't record the stop: %v", cause, err)
	}
	if werr != nil {
		return fmt.Errorf("%w; the evidence couldn't be written: %v", cause, werr)
	}
	return fmt.Errorf("%w; evidence in %s", cause, path)
}

// keyIndexEvidence builds the false key index evidence
// ([tlog.NewKeyIndexEvidence]) of the peer's signed key index, which
// indexMatches found false against its checkpoint cp (signed) and its log
// as replicated here (recorded up to cp's size). An index of another root
// is proved by the two signed notes alone. Otherwise the first member (by
// id) whose line is false is shown by one entry with its inclusion proof
// in the tiles replicated here: a key entry of that member the index
// leaves out (or, of an index of every member, a key entry of a member it
// doesn't list), else an entry the index lists for it that is no key
// entry of it. That entry's leaf is the stored key entry when it is one (of
// another member), else it is read again from the peer's entry bundles:
// its hash must be the one in the replicated tree, which the inclusion
// proof checks, so a peer can't make this node keep evidence that proves
// nothing.
func (f *Follower) keyIndexEvidence(ctx context.Context, p store.Peer, c *tlog.Client, signed []byte, cp tlog.Checkpoint, index []byte) ([]byte, error) {
	foundBy, foundAt := "parley peer "+p.Name+" following "+p.URL, f.cfg.Now().UTC().Format(time.RFC3339)
	k, err := tlog.OpenKeyIndex(index, f.key)
	if err != nil {
		return nil, err
	}
	if k.Hash != cp.Hash {
		return tlog.NewKeyIndexTreeEvidence(p.LogKey, index, signed, foundBy, foundAt)
	}
	keys, err := f.cfg.Store.PeerKeys(ctx, p.Name, int64(cp.Size))
	if err != nil {
		return nil, fmt.Errorf("couldn't read its key entries: %w", err)
	}
	logged := map[string][]uint64{}
	leaves := map[uint64][]byte{}
	for _, pk := range keys {
		e, err := tlog.ParseEntry(pk.Leaf)
		if err != nil {
			return nil, fmt.Errorf("couldn't read the stored key entry %d: %w", pk.Index, err)
		}
		logged[e.Member] = append(logged[e.Member], uint64(pk.Index))
		leaves[uint64(pk.Index)] = pk.Leaf
	}
	ids := make([]string, 0, len(k.Members)+len(logged))
	for m := range k.Members {
		ids = append(ids, m)
	}
	if k.Complete {
		// A member it doesn't list is one it states has no key entry.
		for m := range logged {
			if _, ok := k.Members[m]; !ok {
				ids = append(ids, m)
			}
		}
	}
	sort.Strings(ids)
	var shows []uint64 // the entries that show a line false, in order
	for _, m := range ids {
		listed, _ := k.Lists(m)
		for _, i := range logged[m] {
			if !slices.Contains(listed, i) {
				shows = append(shows, i)
			}
		}
		for _, i := range listed {
			if !slices.Contains(logged[m], i) {
				shows = append(shows, i)
			}
		}
	}
	if len(shows) == 0 {
		return nil, errors.New("no entry shows it")
	}
	hr := tlog.TileHashReader(cp.Size, f.tiles())
	var errs []error
	for _, i := range shows {
		if i >= cp.Size {
			continue
		}
		leaf, ok := leaves[i]
		if !ok {
			if leaf, err = peerLeaf(ctx, c, cp, i); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		proof, err := tlog.InclusionProof(ctx, i, cp.Size, hr)
		if err != nil {
			errs = append(errs, fmt.Errorf("couldn't prove entry %d: %w", i, err))
			continue
		}
		ev, err := tlog.NewKeyIndexEvidence(p.LogKey, index, signed, leaf, i, proof, foundBy, foundAt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return ev, nil
	}
	return nil, errors.Join(errs...)
}

// peerLeaf reads the leaf at index i of the peer's tree of cp from its
// entry bundles (not trusted: the caller checks it against the tree).
func peerLeaf(ctx context.Context, c *tlog.Client, cp tlog.Checkpoint, i uint64) ([]byte, error) {
	if c == nil {
		return nil, fmt.Errorf("entry %d: no connection to the peer", i)
	}
	var leaf []byte
	c.SetTreeSize(cp.Size)
	err := c.Leaves(ctx, i, i+1, func(_ uint64, l []byte) error {
		leaf = l
		return nil
	})
	if err == nil && leaf == nil {
		err = errors.New("not served")
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read the peer's entry %d: %s", i, untrusted.Text(err.Error(), 300))
	}
	return leaf, nil
}

package peer

import (
	"context"
	"encoding/json"
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

// KeyIndexEvidenceType is the type of the evidence a follower keeps of a
// false key index.
const KeyIndexEvidenceType = "parley-false-key-index-v1"

// KeyIndexEvidence is the evidence of a false key index: the peer's
// checkpoint and key index, both signed with its log key, and the
// member key entries of its log (each with its inclusion proof against
// the checkpoint) that the index misstates; Reason says how. With the
// checkpoint alone, an index of another tree of the same size.
type KeyIndexEvidence struct {
	Type       string           `json:"type"`
	LogKey     string           `json:"log_key"`
	Checkpoint string           `json:"checkpoint"`
	KeyIndex   string           `json:"key_index"`
	Keys       []tlog.BundleKey `json:"keys"`
	Reason     string           `json:"reason"`
	FoundBy    string           `json:"found_by,omitempty"`
	FoundAt    string           `json:"found_at,omitempty"`
}

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
// there is none to use, why (missing); an error only for a fork.
func (f *Follower) fetchKeyIndex(ctx context.Context, p store.Peer, c *tlog.Client, signed []byte, cp tlog.Checkpoint, res *Result) ([]byte, tlog.Checkpoint, []byte, string, error) {
	kr, err := c.Keys(ctx)
	if he := (*tlog.HTTPError)(nil); errors.As(err, &he) && he.Code == http.StatusNotFound {
		return signed, cp, nil, NoKeyIndex + " (GET /log/keys is not found): its replicated objects check as logged, not verified", nil
	}
	if err != nil {
		return signed, cp, nil, untrusted.Text("couldn't read the peer's key index (GET /log/keys): "+err.Error(), 300), nil
	}
	if kr.KeyIndex == "" {
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
// member's entries, is false ([ErrFalseKeyIndex]): the peer signed it.
func (f *Follower) indexMatches(p store.Peer, cp tlog.Checkpoint, index []byte, keys []store.PeerKey) error {
	k, err := tlog.OpenKeyIndex(index, f.key)
	if err != nil {
		return fmt.Errorf("refused the key index of peer %s: %w", p.Name, err)
	}
	if k.Size != cp.Size {
		return fmt.Errorf("refused the key index of peer %s: %w: it is of tree size %d, not %d", p.Name, tlog.ErrKeyIndex, k.Size, cp.Size)
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
		listed, ok := k.Members[m]
		if !ok {
			return fmt.Errorf("%w: it doesn't list member %s, whose key entries %v the log holds", ErrFalseKeyIndex, untrusted.Text(m, 200), logged[m])
		}
		if !slices.Equal(listed, logged[m]) {
			return fmt.Errorf("%w: it lists key entries %v of member %s, and the log holds %v (a registration, rotation or revocation left out or added)", ErrFalseKeyIndex, listed, untrusted.Text(m, 200), logged[m])
		}
	}
	return nil
}

// checkKeyIndex is indexMatches, and refuseKeyIndex when it fails.
func (f *Follower) checkKeyIndex(ctx context.Context, p store.Peer, signed []byte, cp tlog.Checkpoint, index []byte, keys []store.PeerKey) error {
	if err := f.indexMatches(p, cp, index, keys); err != nil {
		return f.refuseKeyIndex(ctx, p, signed, cp, index, err)
	}
	return nil
}

// refuseKeyIndex handles a key index that indexMatches refused with
// cause, once the entries up to cp's size are recorded. One that doesn't
// verify with the peer's key, or is of another size (which the peer's
// key may not have signed, or signed truthfully of another tree), is
// refused: the round fails with it, and the peer's KeyIndexMissing says
// so. A false one ([ErrFalseKeyIndex]) stops the peer, as a fork does,
// with the evidence kept under Dir/evidence.
func (f *Follower) refuseKeyIndex(ctx context.Context, p store.Peer, signed []byte, cp tlog.Checkpoint, index []byte, cause error) error {
	if !errors.Is(cause, ErrFalseKeyIndex) {
		if err := f.cfg.Store.RecordPeerKeyIndex(ctx, p.Name, 0, nil, nil, untrusted.Text(cause.Error(), 300)); err != nil {
			f.cfg.Logger.Warn("couldn't record why the key index was refused", "peer", p.Name, "err", err)
		}
		return cause
	}
	ev := KeyIndexEvidence{Type: KeyIndexEvidenceType, LogKey: p.LogKey, Checkpoint: string(signed), KeyIndex: string(index), Keys: []tlog.BundleKey{},
		Reason: cause.Error(), FoundBy: "parley peer " + p.Name + " following " + p.URL, FoundAt: f.cfg.Now().UTC().Format(time.RFC3339)}
	// The key entries of the members the index misstates, with their
	// inclusion proofs in the tree replicated here (recorded up to cp).
	if k, err := tlog.OpenKeyIndex(index, f.key); err == nil && k.Hash == cp.Hash {
		keys, err := f.cfg.Store.PeerKeys(ctx, p.Name, int64(cp.Size))
		if err != nil {
			return fmt.Errorf("%w; couldn't read its key entries for the evidence: %v", cause, err)
		}
		hr := tlog.TileHashReader(cp.Size, f.tiles())
		for _, pk := range keys {
			e, err := tlog.ParseEntry(pk.Leaf)
			if err != nil {
				continue
			}
			if listed, ok := k.Members[e.Member]; ok && slices.Contains(listed, uint64(pk.Index)) {
				continue
			}
			proof, err := tlog.InclusionProof(ctx, uint64(pk.Index), cp.Size, hr)
			if err != nil {
				return fmt.Errorf("%w; couldn't prove key entry %d for the evidence: %v", cause, pk.Index, err)
			}
			if proof == nil {
				proof = []tlog.Hash{}
			}
			ev.Keys = append(ev.Keys, tlog.BundleKey{Entry: pk.Leaf, LogIndex: uint64(pk.Index), InclusionProof: proof})
		}
	}
	b, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return err
	}
	path, werr := writeEvidence(f.cfg.Dir, p.Name, append(b, '\n'))
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

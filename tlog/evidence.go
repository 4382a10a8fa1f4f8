package tlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
)

// Split-view evidence: two checkpoints signed by one log key that cannot
// both be true, with what proves it, in a JSON document anyone can check
// offline with only the log's verifier key (docs/witness.md):
//
//	{
//	  "type": "parley-split-view-evidence-v1",
//	  "log_key": "<the log's note verifier key>",
//	  "checkpoints": ["<signed note, smaller size>", "<signed note, larger or equal size>"],
//	  "proof": {"prefix_root": "<base64>", "consistency": ["<base64>", ...]},
//	  "found_by": "<free text>", "found_at": "<RFC 3339>"
//	}
//
// With equal sizes the roots differ and "proof" is absent. With sizes m < n,
// "consistency" is an RFC 9162 consistency proof from the tree of size m
// with root "prefix_root" to the tree of the second checkpoint; it verifies,
// and prefix_root is not the first checkpoint's root. Since a tree has one
// prefix of each size, the larger checkpoint's tree doesn't extend the
// smaller one (Go's checksum database client proves a fork the same way).
// "found_by" and "found_at" are informational and not verified.

// EvidenceType is the "type" of split-view evidence, version 1.
const EvidenceType = "parley-split-view-evidence-v1"

// MaxEvidenceSize bounds an evidence document; real ones are a few KiB.
const MaxEvidenceSize = 1 << 20

// maxProofHashes bounds a consistency proof: at most two hashes per tree
// level of a 2^64 tree.
const maxProofHashes = 128

// ErrNotEvidence is returned (wrapped) for a document that isn't
// split-view evidence at all (so a caller can try another format).
var ErrNotEvidence = errors.New("not split-view evidence")

// ErrEvidence is returned (wrapped) for evidence that doesn't prove a split
// view: malformed, not signed by the log key, or the checkpoints agree.
var ErrEvidence = errors.New("evidence doesn't prove a split view")

// Evidence is a split-view evidence document.
type Evidence struct {
	Type        string         `json:"type"`
	LogKey      string         `json:"log_key"`
	Checkpoints []string       `json:"checkpoints"`
	Proof       *EvidenceProof `json:"proof,omitempty"`
	FoundBy     string         `json:"found_by,omitempty"`
	FoundAt     string         `json:"found_at,omitempty"`
}

// evidenceFields are the names of [Evidence] and [EvidenceProof], as
// [exactNames] checks them.
var evidenceFields = jsonFields{"type": nil, "log_key": nil, "checkpoints": nil,
	"proof": {"prefix_root": nil, "consistency": nil}, "found_by": nil, "found_at": nil}

// EvidenceProof shows that a larger tree doesn't extend a smaller one: the
// larger tree's root at the smaller size, and the consistency proof from
// that root to the larger checkpoint's root.
type EvidenceProof struct {
	PrefixRoot  Hash   `json:"prefix_root"`
	Consistency []Hash `json:"consistency"`
}

// SplitView is what verified evidence proves: the log signed both
// checkpoints.
type SplitView struct {
	Origin string
	// A is the smaller (or equal-size) checkpoint, B the other.
	A, B Checkpoint
	// PrefixRoot is B's tree's root at A's size (for A.Size < B.Size).
	PrefixRoot Hash
}

// String says what the evidence proves in one line.
func (s SplitView) String() string {
	if s.A.Size == s.B.Size {
		return fmt.Sprintf("log %s signed two checkpoints of size %d with roots %s and %s", s.Origin, s.A.Size, s.A.Hash, s.B.Hash)
	}
	return fmt.Sprintf("log %s signed size %d with root %s and size %d whose tree has root %s at size %d", s.Origin, s.A.Size, s.A.Hash, s.B.Size, s.PrefixRoot, s.A.Size)
}

// NewEvidence builds the evidence document for two signed checkpoints of
// the log with verifier key logKey, in either order. For different sizes,
// prefixRoot and proof come from the larger tree (see [EvidenceProof]);
// for equal sizes they are ignored. The result is checked with
// [VerifyEvidence], so NewEvidence fails with [ErrEvidence] unless it
// proves a split view.
func NewEvidence(logKey string, a, b []byte, prefixRoot Hash, proof []Hash, foundBy, foundAt string) ([]byte, error) {
	v, err := NewVerifier(logKey)
	if err != nil {
		return nil, err
	}
	ca, err := OpenCheckpoint(a, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEvidence, err)
	}
	cb, err := OpenCheckpoint(b, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEvidence, err)
	}
	if ca.Size > cb.Size {
		a, b = b, a
	}
	e := Evidence{Type: EvidenceType, LogKey: logKey, Checkpoints: []string{string(a), string(b)}, FoundBy: foundBy, FoundAt: foundAt}
	if ca.Size != cb.Size {
		e.Proof = &EvidenceProof{PrefixRoot: prefixRoot, Consistency: append([]Hash{}, proof...)}
	}
	out, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("couldn't encode evidence: %w", err)
	}
	out = append(out, '\n')
	if _, err := VerifyEvidence(logKey, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseEvidence decodes an evidence document without checking what it
// proves. It fails with [ErrNotEvidence] if the document isn't JSON with
// "type" [EvidenceType], and with [ErrEvidence] if it is but is malformed
// (unknown fields, wrong number of checkpoints, too large).
func ParseEvidence(data []byte) (*Evidence, error) {
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &head) != nil || head.Type != EvidenceType {
		return nil, fmt.Errorf("%w: no \"type\": %q", ErrNotEvidence, EvidenceType)
	}
	if len(data) > MaxEvidenceSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrEvidence, MaxEvidenceSize)
	}
	if err := exactNames(data, evidenceFields); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEvidence, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var e Evidence
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEvidence, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the document", ErrEvidence)
	}
	if len(e.Checkpoints) != 2 {
		return nil, fmt.Errorf("%w: %d checkpoints, want 2", ErrEvidence, len(e.Checkpoints))
	}
	if e.Proof != nil && len(e.Proof.Consistency) > maxProofHashes {
		return nil, fmt.Errorf("%w: consistency proof of %d hashes", ErrEvidence, len(e.Proof.Consistency))
	}
	return &e, nil
}

// IsEvidence reports whether data claims to be split-view evidence (its
// "type"), whether or not it proves anything.
func IsEvidence(data []byte) bool {
	_, err := ParseEvidence(data)
	return !errors.Is(err, ErrNotEvidence)
}

// VerifyEvidence checks that data proves the log with verifier key logKey
// signed two inconsistent checkpoints. logKey is the key the caller trusts;
// empty means the document's own "log_key" (which then proves only that
// the holder of that key forked). It fails with [ErrNotEvidence] or
// [ErrEvidence].
func VerifyEvidence(logKey string, data []byte) (SplitView, error) {
	e, err := ParseEvidence(data)
	if err != nil {
		return SplitView{}, err
	}
	if logKey == "" {
		logKey = e.LogKey
	}
	v, err := NewVerifier(logKey)
	if err != nil {
		return SplitView{}, fmt.Errorf("%w: %v", ErrEvidence, err)
	}
	var cps [2]Checkpoint
	for i, n := range e.Checkpoints {
		if cps[i], err = OpenCheckpoint([]byte(n), v); err != nil {
			return SplitView{}, fmt.Errorf("%w: checkpoint %d: %v", ErrEvidence, i+1, err)
		}
	}
	a, b := cps[0], cps[1]
	if a.Size > b.Size {
		a, b = b, a
	}
	sv := SplitView{Origin: a.Origin, A: a, B: b}
	switch {
	case a.Size == b.Size:
		if e.Proof != nil {
			return SplitView{}, fmt.Errorf("%w: a proof for two checkpoints of one size", ErrEvidence)
		}
		if a.Hash == b.Hash {
			return SplitView{}, fmt.Errorf("%w: both checkpoints have size %d and root %s", ErrEvidence, a.Size, a.Hash)
		}
		return sv, nil
	case e.Proof == nil:
		return SplitView{}, fmt.Errorf("%w: checkpoints of sizes %d and %d need a proof", ErrEvidence, a.Size, b.Size)
	case a.Size == 0:
		// The empty tree is a prefix of every tree: only a size-0
		// checkpoint with a root other than the empty one is a lie.
		if len(e.Proof.Consistency) != 0 || e.Proof.PrefixRoot != EmptyRoot() {
			return SplitView{}, fmt.Errorf("%w: the prefix of size 0 is the empty tree, with no proof", ErrEvidence)
		}
	default:
		if err := VerifyConsistency(a.Size, b.Size, e.Proof.Consistency, e.Proof.PrefixRoot, b.Hash); err != nil {
			return SplitView{}, fmt.Errorf("%w: %v", ErrEvidence, err)
		}
	}
	if e.Proof.PrefixRoot == a.Hash {
		return SplitView{}, fmt.Errorf("%w: the tree of size %d extends the one of size %d", ErrEvidence, b.Size, a.Size)
	}
	sv.PrefixRoot = e.Proof.PrefixRoot
	return sv, nil
}

// ConsistencyRoots runs an RFC 9162 §2.1.4.2 consistency proof from size1
// to size2 (0 < size1 < size2) without knowing either root, and returns
// the two roots it implies. When size1 is a power of two the proof doesn't
// carry the smaller root, so ok is false; it is also false for a proof of
// the wrong shape. A witness uses it to turn a proof that the log sent
// against a root the witness never saw into split-view evidence.
func ConsistencyRoots(size1, size2 uint64, proof []Hash) (root1, root2 Hash, ok bool) {
	if size1 == 0 || size1 >= size2 || len(proof) == 0 || size1&(size1-1) == 0 {
		return Hash{}, Hash{}, false
	}
	fn, sn := size1-1, size2-1
	// Skip the levels where the smaller tree's last node is a right child
	// of a complete subtree shared by both trees.
	tz := uint(bits.TrailingZeros64(^fn))
	fn >>= tz
	sn >>= tz
	fr, sr := proof[0], proof[0]
	for _, c := range proof[1:] {
		if sn == 0 {
			return Hash{}, Hash{}, false
		}
		if fn&1 == 1 || fn == sn {
			fr = NodeHash(c, fr)
			sr = NodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = NodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return Hash{}, Hash{}, false
	}
	return fr, sr, true
}

// ErrSplitView is returned (wrapped) by [CompareCheckpoints] when two
// checkpoints signed by the log's key can't both be true.
var ErrSplitView = errors.New("the log signed inconsistent checkpoints")

// CompareCheckpoints checks whether two checkpoint notes signed by the log
// with verifier key logKey (in either order) can both be true: whether the
// larger one's tree extends the smaller one's. larger reads hashes of the
// larger checkpoint's tree, such as [TileHashReader] over the log's tiles
// at that size; it isn't used for equal sizes, and what it returns is
// checked against the larger checkpoint's root, so a lying reader can't
// fake a fork. It returns nil if they are consistent; split-view evidence
// ([NewEvidence]) and an error wrapping [ErrSplitView] if not; and any
// other error (bad signatures, hashes that don't match the larger
// checkpoint) when it can't tell. An auditor uses it to compare the node's
// checkpoint with the one a witness serves.
func CompareCheckpoints(ctx context.Context, logKey string, a, b []byte, larger HashReader) ([]byte, error) {
	v, err := NewVerifier(logKey)
	if err != nil {
		return nil, err
	}
	ca, err := OpenCheckpoint(a, v)
	if err != nil {
		return nil, fmt.Errorf("couldn't compare checkpoints: %w", err)
	}
	cb, err := OpenCheckpoint(b, v)
	if err != nil {
		return nil, fmt.Errorf("couldn't compare checkpoints: %w", err)
	}
	if ca.Size > cb.Size {
		a, b, ca, cb = b, a, cb, ca
	}
	var prefix Hash
	var proof []Hash
	switch {
	case ca.Size == cb.Size:
		if ca.Hash == cb.Hash {
			return nil, nil
		}
	case ca.Size == 0:
		if ca.Hash == EmptyRoot() {
			return nil, nil
		}
		prefix = EmptyRoot()
	default:
		if proof, err = ConsistencyProof(ctx, ca.Size, cb.Size, larger); err != nil {
			return nil, fmt.Errorf("couldn't compare checkpoints: %w", err)
		}
		if prefix, err = TreeRoot(ctx, ca.Size, larger); err != nil {
			return nil, fmt.Errorf("couldn't compare checkpoints: %w", err)
		}
		if err := VerifyConsistency(ca.Size, cb.Size, proof, prefix, cb.Hash); err != nil {
			return nil, fmt.Errorf("couldn't compare checkpoints: the hashes read aren't those of the tree of size %d: %w", cb.Size, err)
		}
		if prefix == ca.Hash {
			return nil, nil
		}
	}
	ev, err := NewEvidence(logKey, a, b, prefix, proof, "", "")
	if err != nil {
		return nil, fmt.Errorf("couldn't build evidence: %w", err)
	}
	return ev, fmt.Errorf("%w: sizes %d and %d", ErrSplitView, ca.Size, cb.Size)
}

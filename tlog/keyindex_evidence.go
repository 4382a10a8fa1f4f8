package tlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// False key index evidence: a key index ([KeyIndex]) signed by the log key
// that a member key entry of the same tree contradicts, in a JSON document
// anyone can check offline with only the log's verifier key (docs/log.md,
// "False key index evidence"):
//
//	{
//	  "type": "parley-false-key-index-evidence-v1",
//	  "log_key": "<the log's note verifier key>",
//	  "key_index": "<signed key index note>",
//	  "checkpoint": "<signed checkpoint note of the index's tree>",
//	  "entry": {"entry": "<base64 leaf>", "log_index": N, "inclusion_proof": ["<base64>", ...]},  (optional)
//	  "found_by": "<free text>", "found_at": "<RFC 3339>"
//	}
//
// With "entry", the key index and the checkpoint verify with the log key
// and are of one tree (origin, size and root); the entry's inclusion
// proof puts its leaf at log_index in that tree. It proves the index
// false when either
//
//   - the entry is a member key entry of a member the index lists, and the
//     index doesn't list log_index for that member (left out), or
//   - the index is of every member (its first line is
//     [KeyIndexAllHeader]), and the entry is a member key entry of a
//     member it doesn't list (member left out), or
//   - the index lists log_index for a member, and the entry (which parses)
//     is not a member key entry of that member (wrongly listed).
//
// Without "entry", the key index and the checkpoint verify with the log
// key, are of one origin and size, and have different roots: the log key
// signed two different trees of one size, so the index is of a tree that
// isn't the log's (another tree).
//
// "found_by" and "found_at" are informational and not verified. A
// verifier older than the index of every member can't open such an
// index, so it refuses evidence against one: it never reads it as
// evidence against an index of some members.

// KeyIndexEvidenceType is the "type" of false key index evidence,
// version 1.
const KeyIndexEvidenceType = "parley-false-key-index-evidence-v1"

// ErrKeyIndexEvidence is returned (wrapped) for false key index evidence
// that doesn't prove the index false: malformed, not signed by the log
// key, of two trees with an entry (or of one tree without), an entry not
// in the tree, or an index that agrees with the entry.
var ErrKeyIndexEvidence = errors.New("evidence doesn't prove a false key index")

// KeyIndexEvidence is a false key index evidence document.
type KeyIndexEvidence struct {
	Type       string `json:"type"`
	LogKey     string `json:"log_key"`
	KeyIndex   string `json:"key_index"`
	Checkpoint string `json:"checkpoint"`
	// Entry is nil for evidence of an index of another tree.
	Entry   *BundleKey `json:"entry,omitempty"`
	FoundBy string     `json:"found_by,omitempty"`
	FoundAt string     `json:"found_at,omitempty"`
}

// keyIndexEvidenceFields are the names of [KeyIndexEvidence] and its
// entry ([BundleKey]), as [exactNames] checks them.
var keyIndexEvidenceFields = jsonFields{"type": nil, "log_key": nil, "key_index": nil, "checkpoint": nil,
	"entry": {"entry": nil, "log_index": nil, "inclusion_proof": nil}, "found_by": nil, "found_at": nil}

// FalseKeyIndex is what verified false key index evidence proves.
type FalseKeyIndex struct {
	Origin string
	// Size and Hash are the index's tree.
	Size uint64
	Hash Hash
	// Member is the member whose line of the index is false, Index the
	// log position of the entry that shows it.
	Member string
	Index  uint64
	// LeftOut: the entry is a key entry of Member that the index leaves
	// out; otherwise the index lists Index for Member but the entry is
	// no key entry of Member.
	LeftOut bool
	// Unlisted (with LeftOut): the index, signed as the index of every
	// member ([KeyIndex].Complete), doesn't list Member at all.
	Unlisted bool
	// OtherTree: the evidence has no entry, and the checkpoint, signed
	// by the same key and of the same size, has the root CheckpointHash,
	// not Hash (Member, Index, LeftOut and Event are unset).
	OtherTree      bool
	CheckpointHash Hash
	// Event is the entry's member key event (LeftOut), or what the entry
	// is instead ("an object entry", "a member key entry of M").
	Event string
}

// String says what the evidence proves in one line.
func (f FalseKeyIndex) String() string {
	if f.OtherTree {
		return fmt.Sprintf("log %s signed a key index of the tree of size %d with root %s and a checkpoint of size %d with root %s: two different trees of one size", f.Origin, f.Size, f.Hash, f.Size, f.CheckpointHash)
	}
	if f.Unlisted {
		return fmt.Sprintf("log %s signed a key index of every member of the tree of size %d (root %s) that leaves out member %s, whose entry %d is a %s entry", f.Origin, f.Size, f.Hash, f.Member, f.Index, f.Event)
	}
	if f.LeftOut {
		return fmt.Sprintf("log %s signed a key index of the tree of size %d (root %s) that leaves out entry %d, a %s entry of member %s", f.Origin, f.Size, f.Hash, f.Index, f.Event, f.Member)
	}
	return fmt.Sprintf("log %s signed a key index of the tree of size %d (root %s) that lists entry %d as a key entry of member %s, which it isn't (it is %s)", f.Origin, f.Size, f.Hash, f.Index, f.Member, f.Event)
}

// IsKeyIndexEvidence reports whether data claims to be false key index
// evidence (its "type"), whether or not it proves anything.
func IsKeyIndexEvidence(data []byte) bool {
	var head struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(data, &head) == nil && head.Type == KeyIndexEvidenceType
}

// NewKeyIndexEvidence builds the evidence that the signed key index
// keyIndex of the log with verifier key logKey is false, from a signed
// checkpoint of its tree and the entry leaf at index with its inclusion
// proof in that tree. The result is checked with
// [VerifyKeyIndexEvidence], so it fails with [ErrKeyIndexEvidence] unless
// it proves the index false.
func NewKeyIndexEvidence(logKey string, keyIndex, checkpoint, leaf []byte, index uint64, proof []Hash, foundBy, foundAt string) ([]byte, error) {
	if proof == nil {
		proof = []Hash{}
	}
	return encodeKeyIndexEvidence(KeyIndexEvidence{
		Type: KeyIndexEvidenceType, LogKey: logKey, KeyIndex: string(keyIndex), Checkpoint: string(checkpoint),
		Entry:   &BundleKey{Entry: leaf, LogIndex: index, InclusionProof: proof},
		FoundBy: foundBy, FoundAt: foundAt,
	})
}

// NewKeyIndexTreeEvidence builds the evidence that the signed key index
// keyIndex of the log with verifier key logKey is of another tree than
// the log's: checkpoint, signed by the same key, is of a tree of the same
// size with another root. It has no entry. The result is checked with
// [VerifyKeyIndexEvidence], so it fails with [ErrKeyIndexEvidence] unless
// it proves that.
func NewKeyIndexTreeEvidence(logKey string, keyIndex, checkpoint []byte, foundBy, foundAt string) ([]byte, error) {
	return encodeKeyIndexEvidence(KeyIndexEvidence{
		Type: KeyIndexEvidenceType, LogKey: logKey, KeyIndex: string(keyIndex), Checkpoint: string(checkpoint),
		FoundBy: foundBy, FoundAt: foundAt,
	})
}

// encodeKeyIndexEvidence encodes e and checks that it proves a false key
// index with its own log key.
func encodeKeyIndexEvidence(e KeyIndexEvidence) ([]byte, error) {
	logKey := e.LogKey
	out, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("couldn't encode evidence: %w", err)
	}
	out = append(out, '\n')
	if _, err := VerifyKeyIndexEvidence(logKey, out); err != nil {
		return nil, err
	}
	return out, nil
}

// VerifyKeyIndexEvidence checks that data proves the log with verifier
// key logKey signed a false key index. logKey is the key the caller
// trusts; empty means the document's own "log_key" (which then proves
// only that the holder of that key signed it). It fails with
// [ErrKeyIndexEvidence].
func VerifyKeyIndexEvidence(logKey string, data []byte) (FalseKeyIndex, error) {
	bad := func(format string, args ...any) (FalseKeyIndex, error) {
		return FalseKeyIndex{}, fmt.Errorf("%w: %s", ErrKeyIndexEvidence, fmt.Sprintf(format, args...))
	}
	if !IsKeyIndexEvidence(data) {
		return bad("no \"type\": %q", KeyIndexEvidenceType)
	}
	if len(data) > MaxEvidenceSize {
		return bad("larger than %d bytes", MaxEvidenceSize)
	}
	if err := exactNames(data, keyIndexEvidenceFields); err != nil {
		return bad("%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var e KeyIndexEvidence
	if err := dec.Decode(&e); err != nil {
		return bad("%v", err)
	}
	if dec.More() {
		return bad("data after the document")
	}
	if e.Entry != nil && len(e.Entry.InclusionProof) > maxProofHashes {
		return bad("inclusion proof of %d hashes", len(e.Entry.InclusionProof))
	}
	if logKey == "" {
		logKey = e.LogKey
	}
	v, err := NewVerifier(logKey)
	if err != nil {
		return bad("%v", err)
	}
	k, err := OpenKeyIndex([]byte(e.KeyIndex), v)
	if err != nil {
		return bad("key index: %v", err)
	}
	cp, err := OpenCheckpoint([]byte(e.Checkpoint), v)
	if err != nil {
		return bad("checkpoint: %v", err)
	}
	if e.Entry == nil {
		// Two signed trees of one size: the index's isn't the log's.
		if cp.Origin != k.Origin || cp.Size != k.Size || cp.Hash == k.Hash {
			return bad("no entry, and the key index (size %d, root %s) and the checkpoint (size %d, root %s) aren't two trees of one size", k.Size, k.Hash, cp.Size, cp.Hash)
		}
		return FalseKeyIndex{Origin: k.Origin, Size: k.Size, Hash: k.Hash, OtherTree: true, CheckpointHash: cp.Hash}, nil
	}
	if cp.Origin != k.Origin || cp.Size != k.Size || cp.Hash != k.Hash {
		return bad("the key index is of the tree of size %d and root %s, the checkpoint of size %d and root %s", k.Size, k.Hash, cp.Size, cp.Hash)
	}
	i := e.Entry.LogIndex
	if i >= cp.Size {
		return bad("entry %d isn't in the tree of size %d", i, cp.Size)
	}
	if err := VerifyInclusion(i, cp.Size, LeafHash(e.Entry.Entry), e.Entry.InclusionProof, cp.Hash); err != nil {
		return bad("entry %d: %v", i, err)
	}
	f := FalseKeyIndex{Origin: k.Origin, Size: k.Size, Hash: k.Hash, Index: i}
	ent, perr := ParseEntry(e.Entry.Entry)
	if perr == nil && ent.Kind == KindMemberKey {
		if listed, ok := k.Lists(ent.Member); ok && !slices.Contains(listed, i) {
			_, shown := k.Members[ent.Member]
			f.Member, f.LeftOut, f.Unlisted, f.Event = ent.Member, true, !shown, ent.Event
			return f, nil
		}
	}
	// Listed for a member whose key entry it isn't. An entry this version
	// can't parse proves nothing: it may be a key entry of a later format.
	if perr == nil {
		ids := make([]string, 0, len(k.Members))
		for id := range k.Members {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if !slices.Contains(k.Members[id], i) || (ent.Kind == KindMemberKey && ent.Member == id) {
				continue
			}
			f.Member, f.Event = id, "an "+ent.Kind+" entry"
			if ent.Kind == KindMemberKey {
				f.Event = "a member key entry of " + ent.Member
			}
			return f, nil
		}
	}
	if perr != nil {
		return bad("entry %d doesn't parse (%v), so it shows nothing about the key index", i, perr)
	}
	return bad("the key index agrees with entry %d", i)
}

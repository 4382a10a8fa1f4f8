package tlog

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// BundleType is the "type" of a proof bundle document.
const BundleType = "parley-proof-bundle-v1"

// ErrBundle is returned (wrapped) by [VerifyBundle]; the message names the
// first check that failed.
var ErrBundle = errors.New("proof bundle doesn't verify")

// Bundle is a proof bundle: "proof and evidence" that a log committed to
// some STIX object versions, shared by named members, verifiable offline
// with no trust in the node. Its JSON form is the wire format.
type Bundle struct {
	// Type is [BundleType].
	Type string `json:"type"`
	// LogKey is the node's note verifier key (C2SP signed-note vkey).
	LogKey string `json:"log_key"`
	// Checkpoint is the signed checkpoint note that every proof is against.
	Checkpoint string `json:"checkpoint"`
	// Members are the public keys of the members who shared the objects.
	Members []BundleMember `json:"members"`
	// Items are the object versions with their entries and proofs.
	Items []BundleItem `json:"items"`
}

// BundleMember is one member's registered key.
type BundleMember struct {
	// ID is the member's STIX identity id.
	ID string `json:"id"`
	// Name is the member's display name (informative).
	Name string `json:"name,omitempty"`
	// PublicKey is the member's 32-byte Ed25519 key (base64 in JSON).
	PublicKey Bytes `json:"public_key"`
}

// BundleItem is one object version and the evidence for it.
type BundleItem struct {
	// Object is the STIX object exactly as stored, signature included.
	Object json.RawMessage `json:"object"`
	// Entry is the log entry's leaf bytes (base64 in JSON).
	Entry Bytes `json:"entry"`
	// Salt is the commitment's salt (base64 in JSON).
	Salt Bytes `json:"salt"`
	// LogIndex is the entry's index in the log.
	LogIndex uint64 `json:"log_index"`
	// InclusionProof proves the entry at LogIndex in the checkpoint's tree.
	InclusionProof []Hash `json:"inclusion_proof"`
}

// Bytes is a byte string whose JSON form is strict standard base64 (RFC
// 4648 §4, padded, no stray bits), so that one value has one encoding and
// a changed character is always a changed value.
type Bytes []byte

// MarshalText encodes b as standard base64.
func (b Bytes) MarshalText() ([]byte, error) {
	return []byte(base64.StdEncoding.EncodeToString(b)), nil
}

// UnmarshalText decodes strict standard base64.
func (b *Bytes) UnmarshalText(text []byte) error {
	v, err := base64.StdEncoding.Strict().DecodeString(string(text))
	if err != nil {
		return fmt.Errorf("couldn't decode base64: %w", err)
	}
	*b = v
	return nil
}

// VerifiedItem is what [VerifyBundle] established about one item.
type VerifiedItem struct {
	Entry Entry
	// Signed is false for an object accepted unsigned.
	Signed bool
}

// BundleResult is what a verified bundle proves.
type BundleResult struct {
	// LogKey is the log key the checkpoint verified with.
	LogKey     string
	Checkpoint Checkpoint
	Items      []VerifiedItem
}

// VerifyBundle checks a proof bundle with no network access: the
// checkpoint's signature by the bundle's log key (which must equal
// pinnedKey when pinnedKey isn't empty: pin the key you trust rather than
// the one the bundle brings), then for each item that its entry parses, is
// included at its index in the checkpoint's tree, commits to the object
// with its salt, and that the object is signed by the registered key of the
// member the entry names. Unsigned objects are reported, not rejected (the
// collection's policy allowed them); a member with no key in the bundle is
// a failure for a signed object. The error wraps [ErrBundle] and names the
// first failure.
func VerifyBundle(data []byte, pinnedKey string) (BundleResult, error) {
	var res BundleResult
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return res, fmt.Errorf("%w: not a bundle: %v", ErrBundle, err)
	}
	if b.Type != BundleType {
		return res, fmt.Errorf("%w: type is %q, want %q", ErrBundle, b.Type, BundleType)
	}
	if pinnedKey != "" && pinnedKey != b.LogKey {
		return res, fmt.Errorf("%w: the bundle's log key isn't the pinned key", ErrBundle)
	}
	v, err := NewVerifier(b.LogKey)
	if err != nil {
		return res, fmt.Errorf("%w: log key: %v", ErrBundle, err)
	}
	cp, err := OpenCheckpoint([]byte(b.Checkpoint), v)
	if err != nil {
		return res, fmt.Errorf("%w: checkpoint: %v", ErrBundle, err)
	}
	res.Checkpoint, res.LogKey = cp, b.LogKey
	keys := map[string]ed25519.PublicKey{}
	for _, m := range b.Members {
		if len(m.PublicKey) != ed25519.PublicKeySize {
			return res, fmt.Errorf("%w: member %s: public key isn't %d bytes", ErrBundle, m.ID, ed25519.PublicKeySize)
		}
		if _, dup := keys[m.ID]; dup {
			return res, fmt.Errorf("%w: member %s listed twice", ErrBundle, m.ID)
		}
		keys[m.ID] = ed25519.PublicKey(m.PublicKey)
	}
	if len(b.Items) == 0 {
		return res, fmt.Errorf("%w: no items", ErrBundle)
	}
	for i, it := range b.Items {
		e, err := ParseEntry(it.Entry)
		if err != nil {
			return res, fmt.Errorf("%w: item %d: entry: %v", ErrBundle, i, err)
		}
		if err := VerifyInclusion(it.LogIndex, cp.Size, LeafHash(it.Entry), it.InclusionProof, cp.Hash); err != nil {
			return res, fmt.Errorf("%w: object %s: entry %d isn't in the checkpoint's tree: %v", ErrBundle, e.ObjectID, it.LogIndex, err)
		}
		if e.Kind != KindObject {
			return res, fmt.Errorf("%w: item %d: entry of kind %q isn't an object entry", ErrBundle, i, e.Kind)
		}
		err = CheckObject(it.Object, it.Salt, e, keys[e.Member])
		signed := true
		if errors.Is(err, ErrUnsignedObject) {
			signed, err = false, nil
		}
		if err != nil {
			return res, fmt.Errorf("%w: object %s: %v", ErrBundle, e.ObjectID, err)
		}
		res.Items = append(res.Items, VerifiedItem{Entry: e, Signed: signed})
	}
	return res, nil
}

// Receipt is the node's answer to GET /log/receipt: the inclusion of one
// object version's entry in a signed checkpoint (DESIGN.md, wire formats).
type Receipt struct {
	LogIndex       uint64 `json:"log_index"`
	TreeSize       uint64 `json:"tree_size"`
	Entry          Bytes  `json:"entry"`
	Salt           Bytes  `json:"salt"`
	InclusionProof []Hash `json:"inclusion_proof"`
	Checkpoint     string `json:"checkpoint"`
}

// Verify checks the receipt's checkpoint with the log verifier and its
// inclusion proof, and returns the parsed entry.
func (r Receipt) Verify(logKey string) (Entry, Checkpoint, error) {
	v, err := NewVerifier(logKey)
	if err != nil {
		return Entry{}, Checkpoint{}, err
	}
	cp, err := OpenCheckpoint([]byte(r.Checkpoint), v)
	if err != nil {
		return Entry{}, Checkpoint{}, err
	}
	if cp.Size != r.TreeSize {
		return Entry{}, cp, fmt.Errorf("%w: receipt tree size %d isn't the checkpoint's %d", ErrProof, r.TreeSize, cp.Size)
	}
	e, err := ParseEntry(r.Entry)
	if err != nil {
		return Entry{}, cp, err
	}
	if err := VerifyInclusion(r.LogIndex, cp.Size, LeafHash(r.Entry), r.InclusionProof, cp.Hash); err != nil {
		return Entry{}, cp, err
	}
	return e, cp, nil
}

// ConsistencyResponse is the node's answer to GET /log/proof/consistency.
type ConsistencyResponse struct {
	Proof []Hash `json:"proof"`
}

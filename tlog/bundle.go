package tlog

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// BundleType is the "type" of a proof bundle document. Version 2 carries
// the member key entries of the log (with their inclusion proofs) instead
// of keys the node asserted, and each item's opening.
const BundleType = "parley-proof-bundle-v2"

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
	// Keys are the log's member key entries for the members who shared
	// the objects, up to the checkpoint, in log order, each with its
	// inclusion proof: what puts a key in force is the log, not the node.
	Keys []BundleKey `json:"keys"`
	// KeyIndex is the node's signed statement of the indexes of ALL the
	// member key entries, up to the checkpoint, of the members whose
	// entries Keys holds ([KeyIndex]): what lets a verifier tell that
	// Keys leaves out no rotation or revocation
	// ([Bundle.CheckKeyIndex]). Bundles of nodes older than it have
	// none.
	KeyIndex string `json:"key_index,omitempty"`
	// Names maps member identity ids to their display names: informative,
	// the node's word, not verified.
	Names map[string]string `json:"names,omitempty"`
	// Items are the object versions with their entries and proofs.
	Items []BundleItem `json:"items"`
	// Witnessed are cosigned checkpoints that bound the items' received
	// times (docs/witness.md, "Time"): for each item, the latest cosigned
	// checkpoint that doesn't include it and the first that does, each
	// with the consistency proof to Checkpoint. Optional: a node with no
	// witnesses has none, and a verifier only checks what is there.
	Witnessed []WitnessedCheckpoint `json:"witnessed,omitempty"`
}

// WitnessedCheckpoint is a cosigned checkpoint note carried in a bundle or
// receipt, with the RFC 9162 consistency proof from its tree to the tree
// of the checkpoint it accompanies (empty when the sizes are equal).
type WitnessedCheckpoint struct {
	Checkpoint  string `json:"checkpoint"`
	Consistency []Hash `json:"consistency"`
}

// Open checks the witnessed checkpoint's log signature with v and its
// consistency with cp, the checkpoint it accompanies.
func (w WitnessedCheckpoint) Open(v note.Verifier, cp Checkpoint) (Checkpoint, error) {
	wc, err := OpenCheckpoint([]byte(w.Checkpoint), v)
	if err != nil {
		return wc, fmt.Errorf("witnessed checkpoint: %w", err)
	}
	switch {
	case wc.Origin != cp.Origin:
		return wc, fmt.Errorf("witnessed checkpoint of size %d is of another log (%q)", wc.Size, wc.Origin)
	case wc.Size > cp.Size:
		return wc, fmt.Errorf("witnessed checkpoint of size %d is larger than the checkpoint's %d", wc.Size, cp.Size)
	case wc.Size == cp.Size:
		if wc.Hash != cp.Hash || len(w.Consistency) != 0 {
			return wc, fmt.Errorf("%w: witnessed checkpoint of size %d has another root than the checkpoint", ErrProof, wc.Size)
		}
	case wc.Size == 0:
		return wc, fmt.Errorf("witnessed checkpoint of size 0")
	default:
		if err := VerifyConsistency(wc.Size, cp.Size, w.Consistency, wc.Hash, cp.Hash); err != nil {
			return wc, fmt.Errorf("witnessed checkpoint of size %d isn't consistent with the checkpoint: %w", wc.Size, err)
		}
	}
	return wc, nil
}

// BundleKey is one member key entry and the evidence for it.
type BundleKey struct {
	// Entry is the member key entry's leaf bytes (base64 in JSON).
	Entry Bytes `json:"entry"`
	// LogIndex is the entry's index in the log.
	LogIndex uint64 `json:"log_index"`
	// InclusionProof proves the entry at LogIndex in the checkpoint's tree.
	InclusionProof []Hash `json:"inclusion_proof"`
}

// BundleItem is one object version and the evidence for it.
type BundleItem struct {
	// Object is the STIX object exactly as stored, signature included.
	Object json.RawMessage `json:"object"`
	// Entry is the log entry's leaf bytes (base64 in JSON).
	Entry Bytes `json:"entry"`
	// Opening is the entry's opening: salt, collection, object id,
	// version and member.
	Opening
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
	v, err := decodeBase64(string(text))
	if err != nil {
		return fmt.Errorf("couldn't decode base64: %w", err)
	}
	*b = v
	return nil
}

// VerifiedItem is what [VerifyBundle] established about one item.
type VerifiedItem struct {
	Entry   Entry
	Opening Opening
	// Check says which key signed the object and whether it was relayed.
	Check ObjectCheck
	// Signed is false for an object accepted unsigned.
	Signed bool
	// Index is the entry's index in the log.
	Index uint64
}

// BundleResult is what a verified bundle proves.
type BundleResult struct {
	// LogKey is the log key the checkpoint verified with.
	LogKey     string
	Checkpoint Checkpoint
	// Keys is the member key history the bundle's key entries show.
	Keys *KeyHistory
	// KeysComplete is true when the bundle's key index verified: Keys is
	// the whole key history, up to the checkpoint, of every member it
	// names (see [VerifyBundle]).
	KeysComplete bool
	Items        []VerifiedItem
	// Witnessed are the cosigned checkpoint notes that verified with the
	// log key and are consistent with Checkpoint, the bundle's own
	// checkpoint among them: [BundleResult.WitnessedTimes] reads their
	// cosignatures.
	Witnessed [][]byte
	// Unknown are the bundle's fields that this version doesn't know
	// (dotted paths, such as "items.x"): a later node's additions to the
	// format, which nothing here verified.
	Unknown []string
}

// bundleFields are the names of a [Bundle]'s fields, as [knownNames]
// checks them: a name spelt otherwise than exactly (in another case),
// or given twice, is refused, since encoding/json reads it as the field
// and another implementation doesn't; a name of neither kind is a later
// node's addition, reported ([BundleResult.Unknown]).
var bundleFields = jsonFields{"type": nil, "log_key": nil, "checkpoint": nil,
	"keys":      {"entry": nil, "log_index": nil, "inclusion_proof": nil},
	"key_index": nil, "names": {AnyName: nil},
	"items": {"object": nil, "entry": nil, "salt": nil, "collection": nil, "object_id": nil,
		"version": nil, "member": nil, "log_index": nil, "inclusion_proof": nil},
	"witnessed": {"checkpoint": nil, "consistency": nil},
}

// ParseBundle reads a proof bundle by its exact field names
// ([bundleFields]; see [VerifyBundle]) and returns the fields of other
// names (a later node's additions). It verifies nothing. Errors wrap
// [ErrBundle].
//
// Each item's Object is a slice of data, not a copy (a bundle is mostly
// its objects: a copy doubled what reading one holds): the caller must
// not change data while it uses the bundle.
func ParseBundle(data []byte) (Bundle, []string, error) {
	var a struct {
		Bundle
		Items []struct {
			BundleItem
			Object sharedRaw `json:"object"`
		} `json:"items"`
	}
	unknown, err := knownNames(data, bundleFields, true)
	if err == nil {
		err = ClipJSONError(json.Unmarshal(data, &a))
	}
	if err != nil {
		return Bundle{}, nil, fmt.Errorf("%w: not a bundle: %v", ErrBundle, err)
	}
	b := a.Bundle
	if a.Items != nil {
		b.Items = make([]BundleItem, len(a.Items))
		for i, it := range a.Items {
			b.Items[i] = it.BundleItem
			b.Items[i].Object = json.RawMessage(it.Object)
		}
	}
	return b, unknown, nil
}

// sharedRaw is a [json.RawMessage] that keeps the slice of the input it
// is given rather than a copy: for [json.Unmarshal] of a document the
// caller keeps unchanged while it uses the result (a RawMessage's
// UnmarshalJSON copies, as the [json.Unmarshaler] contract asks of
// values that outlive a [json.Decoder]'s buffer).
type sharedRaw []byte

func (r *sharedRaw) UnmarshalJSON(b []byte) error {
	*r = b[:len(b):len(b)]
	return nil
}

// VerifyBundle checks a proof bundle with no network access: the
// checkpoint's signature by the bundle's log key (which must equal
// pinnedKey when pinnedKey isn't empty: pin the key you trust rather than
// the one the bundle brings); each member key entry's inclusion, replayed
// in log order into a [KeyHistory]; then for each item that its entry
// parses, is included at its index in the checkpoint's tree, commits to the
// object with its opening, and that the object is signed by the key in
// force for the opening's member at the item's index. Unsigned objects are
// reported, not rejected (the collection's policy allowed them), and so
// are signed objects whose member the bundle's key entries show
// registered without a key ([ErrForeignSignature]: Signed is false,
// Check.ForeignKey set), such as objects a node replicated from a peer.
// The error
// wraps [ErrBundle] and names the first failure.
//
// The bundle is read by its exact field names ([bundleFields]): a field
// named in another case than the format's, or given twice, fails (Go's
// encoding/json would read "LOG_KEY" as log_key, or keep the last of two
// "checkpoint"s, where another implementation reads otherwise); a field
// of another name is a later node's addition, listed in
// [BundleResult.Unknown] and not verified.
//
// A bundle with a key index ([Bundle.KeyIndex]) must list in it exactly
// the key entries it carries of every member it names and of every
// item's member ([Bundle.CheckKeyIndex]): one that leaves out a rotation
// or revocation fails, and KeysComplete is true. A bundle without one (a
// node older than the key index made it) verifies as before, KeysComplete
// false: it proves what its entries say, and that the node left out no
// later key event is what a full [Audit] proves.
func VerifyBundle(data []byte, pinnedKey string) (BundleResult, error) {
	var res BundleResult
	b, unknown, err := ParseBundle(data)
	if err != nil {
		return res, err
	}
	res.Unknown = unknown
	if b.Type != BundleType {
		return res, fmt.Errorf("%w: type is %q, want %q", ErrBundle, b.Type, BundleType)
	}
	if pinnedKey != "" && pinnedKey != b.LogKey {
		return res, fmt.Errorf("%w: the bundle's log key isn't the pinned key", ErrBundle)
	}
	cp, keys, err := b.Open()
	if err != nil {
		return res, err
	}
	res.Checkpoint, res.LogKey, res.Keys = cp, b.LogKey, keys
	if len(b.Items) == 0 {
		return res, fmt.Errorf("%w: no items", ErrBundle)
	}
	if b.KeyIndex != "" {
		members := make([]string, len(b.Items))
		for i, it := range b.Items {
			members[i] = it.Member
		}
		if err := b.CheckKeyIndex(cp, members); err != nil {
			return res, fmt.Errorf("%w: %v", ErrBundle, err)
		}
		res.KeysComplete = true
	}
	v, _ := NewVerifier(b.LogKey) // Open checked it
	res.Witnessed = append(res.Witnessed, []byte(b.Checkpoint))
	for _, w := range b.Witnessed {
		if _, err := w.Open(v, cp); err != nil {
			return res, fmt.Errorf("%w: %v", ErrBundle, err)
		}
		res.Witnessed = append(res.Witnessed, []byte(w.Checkpoint))
	}
	for i, it := range b.Items {
		e, err := it.Included(cp)
		if err != nil {
			return res, fmt.Errorf("%w: item %d: %v", ErrBundle, i, err)
		}
		check, err := CheckObject(it.Object, it.Opening, e, it.LogIndex, keys)
		signed := true
		if errors.Is(err, ErrUnsignedObject) {
			signed, err = false, nil
		}
		if err != nil {
			return res, fmt.Errorf("%w: object %s: %v", ErrBundle, it.ObjectID, err)
		}
		res.Items = append(res.Items, VerifiedItem{Entry: e, Opening: it.Opening, Check: check, Signed: signed, Index: it.LogIndex})
	}
	return res, nil
}

// WitnessedTimes checks each item's received time against the times of
// the cosignatures, by witnesses the policy names, on the bundle's
// witnessed checkpoints, as [Audit] does ([TimeBounds]; skew ≤ 0 means
// [DefaultClockSkew]). It returns, for each item in order, the witnessed
// checkpoint whose cosignature is the earliest covering it (Size 0 when
// none covers it yet), and one line for each item whose received time they
// contradict. A bundle shows only the witnessed checkpoints its node
// chose: a back-dated entry is certain to be caught by an [Audit], which
// reads them all.
func (r BundleResult) WitnessedTimes(p *Policy, skew time.Duration) ([]WitnessedAt, []string) {
	v, err := NewVerifier(r.LogKey)
	if err != nil || p == nil {
		return make([]WitnessedAt, len(r.Items)), nil
	}
	var ws []WitnessedAt
	for _, n := range r.Witnessed {
		if w, err := CosignedTimes(n, v, p); err == nil {
			ws = append(ws, w)
		}
	}
	tb := NewTimeBounds(ws)
	out := make([]WitnessedAt, len(r.Items))
	var problems []string
	for i, it := range r.Items {
		idx := it.Index
		if _, _, hi, ok := tb.Bounds(idx); ok {
			out[i] = hi
		}
		if reason := tb.CheckReceived(idx, it.Entry.Received, skew); reason != "" {
			problems = append(problems, fmt.Sprintf("entry %d, object %s: %s", idx, it.Opening.ObjectID, reason))
		}
	}
	return out, problems
}

// CheckWitnessed checks, under the witness policy p, the cosignatures of
// the bundle's witnessed checkpoints (its own among them): a signature
// line that names a policy witness's key but doesn't verify fails, with
// the checkpoint's size, as it fails a checkpoint's quorum (C2SP
// signed-note, [CheckQuorum]). [BundleResult.WitnessedTimes] passes over
// such a checkpoint, so without this a bundle whose witnessed
// cosignatures were changed verified, its items merely shown without a
// witnessed time. A checkpoint that no policy witness cosigned bounds
// nothing and is no error. Errors wrap [ErrBundle].
func (r BundleResult) CheckWitnessed(p *Policy) error {
	if p == nil {
		return nil
	}
	v, err := NewVerifier(r.LogKey)
	if err != nil {
		return fmt.Errorf("%w: log key: %v", ErrBundle, err)
	}
	for _, n := range r.Witnessed {
		if _, err := OpenCheckpoint(n, v); err != nil {
			return fmt.Errorf("%w: witnessed checkpoint: %v", ErrBundle, err)
		}
		_, _, err := checkQuorum(p, n)
		var invalid *note.InvalidSignatureError
		if err != nil && (!errors.Is(err, ErrQuorum) || errors.As(err, &invalid)) {
			size := "?"
			if text, serr := SplitNote(n); serr == nil {
				if c, perr := ParseCheckpoint(text); perr == nil {
					size = strconv.FormatUint(c.Size, 10)
				}
			}
			return fmt.Errorf("%w: witnessed checkpoint of size %s: %v", ErrBundle, size, err)
		}
	}
	return nil
}

// Open checks the bundle's checkpoint with its log key and replays its
// member key entries, each checked for inclusion in the checkpoint's tree,
// in log order. Errors wrap [ErrBundle].
func (b *Bundle) Open() (Checkpoint, *KeyHistory, error) {
	v, err := NewVerifier(b.LogKey)
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("%w: log key: %v", ErrBundle, err)
	}
	cp, err := OpenCheckpoint([]byte(b.Checkpoint), v)
	if err != nil {
		return cp, nil, fmt.Errorf("%w: checkpoint: %v", ErrBundle, err)
	}
	keys, err := ReplayKeys(b.Keys, cp)
	if err != nil {
		return cp, nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	return cp, keys, nil
}

// ReplayKeys checks each member key entry's inclusion in cp's tree and
// replays them, in strictly increasing log order, into a [KeyHistory].
func ReplayKeys(events []BundleKey, cp Checkpoint) (*KeyHistory, error) {
	return replayKeys(events, &cp)
}

// replayKeys is [ReplayKeys], checking inclusion only when cp is not nil.
func replayKeys(events []BundleKey, cp *Checkpoint) (*KeyHistory, error) {
	keys := NewKeyHistory()
	last := int64(-1)
	for _, k := range events {
		if int64(k.LogIndex) <= last {
			return nil, fmt.Errorf("member key entries are not in log order")
		}
		last = int64(k.LogIndex)
		e, err := ParseEntry(k.Entry)
		if err != nil {
			return nil, fmt.Errorf("member key entry %d: %w", k.LogIndex, err)
		}
		if cp != nil {
			if err := VerifyInclusion(k.LogIndex, cp.Size, LeafHash(k.Entry), k.InclusionProof, cp.Hash); err != nil {
				return nil, fmt.Errorf("member key entry %d isn't in the checkpoint's tree: %w", k.LogIndex, err)
			}
		}
		if err := keys.Apply(k.LogIndex, e); err != nil {
			return nil, fmt.Errorf("member key entry %d: %w", k.LogIndex, err)
		}
	}
	return keys, nil
}

// Included parses the item's entry and checks its inclusion at LogIndex in
// cp's tree.
func (it BundleItem) Included(cp Checkpoint) (Entry, error) {
	e, err := ParseEntry(it.Entry)
	if err != nil {
		return e, fmt.Errorf("entry: %w", err)
	}
	if err := VerifyInclusion(it.LogIndex, cp.Size, LeafHash(it.Entry), it.InclusionProof, cp.Hash); err != nil {
		return e, fmt.Errorf("object %s: entry %d isn't in the checkpoint's tree: %w", it.ObjectID, it.LogIndex, err)
	}
	return e, nil
}

// Receipt is the node's answer to GET /log/receipt: the inclusion of one
// object version's entry in a signed checkpoint (docs/log.md, "HTTP API").
type Receipt struct {
	LogIndex uint64 `json:"log_index"`
	TreeSize uint64 `json:"tree_size"`
	Entry    Bytes  `json:"entry"`
	// Opening is the entry's opening (salt, collection, object_id,
	// version, member), for readers of the collection.
	Opening
	InclusionProof []Hash `json:"inclusion_proof"`
	Checkpoint     string `json:"checkpoint"`
	// Witnessed, when the node has one, is the first cosigned checkpoint
	// that includes the entry, with the consistency proof to Checkpoint:
	// its cosignatures' times are the earliest witnessed time covering
	// the entry ([CosignedTimes]).
	Witnessed *WitnessedCheckpoint `json:"witnessed,omitempty"`
}

// Verify checks the receipt's checkpoint with the log verifier and its
// inclusion proof, and, when the receipt has a witnessed checkpoint, that
// it is signed by the log, consistent with the checkpoint and includes the
// entry (its cosignatures are the caller's to check against a policy:
// [CosignedTimes]); it returns the parsed entry.
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
	if r.Witnessed != nil {
		wc, err := r.Witnessed.Open(v, cp)
		if err != nil {
			return Entry{}, cp, err
		}
		if wc.Size <= r.LogIndex {
			return Entry{}, cp, fmt.Errorf("%w: the witnessed checkpoint of size %d doesn't include entry %d", ErrProof, wc.Size, r.LogIndex)
		}
	}
	return e, cp, nil
}

// ConsistencyResponse is the node's answer to GET /log/proof/consistency.
type ConsistencyResponse struct {
	Proof []Hash `json:"proof"`
}

package tlog

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parley-exchange/parley/stix"
)

// ErrObjectMismatch is returned (wrapped) when a stored or bundled object
// doesn't match its log entry: its commitment, id, version or member
// signature.
var ErrObjectMismatch = errors.New("object doesn't match its log entry")

// ErrUnsignedObject is returned (wrapped) by [CheckObject] for an object
// without a signature (accepted by collections whose policy allows it);
// everything else about it matched.
var ErrUnsignedObject = errors.New("object is unsigned")

// ErrForeignSignature is returned by [CheckObject], wrapped together with
// [ErrUnsignedObject], for an object whose signature verifies but whose
// sharing member the log registered without a key and had given no key
// by the object's entry ([KeyHistory.KeylessAt]): an object a node
// replicated from a peer (stored under the keyless member peer:NAME,
// signed by a member of the peer's log, where its key and proofs are:
// GET /peers/bundle). This log proves that the object was logged, not who
// signed it, so it counts as unsigned here; [ObjectCheck.ForeignKey] holds
// the key it was signed with.
var ErrForeignSignature = errors.New("object is signed with a key this log doesn't hold (replicated from another log, where its signer's key is)")

// ObjectCheck is what [CheckObject] established about an object.
type ObjectCheck struct {
	// Signer is the key in force for the sharing member that signed the
	// object (zero for an unsigned object).
	Signer MemberKey
	// ClaimedCreator is the object's created_by_ref when it names someone
	// other than the member who shared it: a relayed object, whose
	// signature vouches for the relay, not for the authorship.
	ClaimedCreator string
	// ForeignKey is, for [ErrForeignSignature], the key the object's
	// signature verifies with, which this log doesn't hold.
	ForeignKey ed25519.PublicKey
}

// Relayed reports whether the object was shared by a member other than the
// creator it names.
func (c ObjectCheck) Relayed() bool { return c.ClaimedCreator != "" }

// Foreign reports whether the object is signed with a key this log
// doesn't hold ([ErrForeignSignature]).
func (c ObjectCheck) Foreign() bool { return len(c.ForeignKey) > 0 }

// CheckObject checks a STIX object against its log entry e at index i and
// the entry's opening: the entry is an object entry; its commitment is
// [ObjectCommitment] of the opening and the object's RFC 8785 canonical
// JSON; the object's id and version are the opening's; and its signature
// extension verifies with the key the log shows in force for the opening's
// member at index i (keys). It fails with [ErrObjectMismatch] (or
// [ErrKey] wrapped in it), or [ErrUnsignedObject] when only the signature
// is missing, or [ErrForeignSignature] (which wraps [ErrUnsignedObject])
// when the signature verifies but the log registered the member without a
// key and gave it none before index i.
func CheckObject(object []byte, op Opening, e Entry, i uint64, keys *KeyHistory) (ObjectCheck, error) {
	var res ObjectCheck
	canonical, claimed, err := CheckOpening(object, op, e)
	if err != nil {
		return res, err
	}
	res.ClaimedCreator = claimed
	pub, err := stix.Verify(canonical)
	if errors.Is(err, stix.ErrUnsigned) {
		return res, fmt.Errorf("%w", ErrUnsignedObject)
	}
	if err != nil {
		return res, fmt.Errorf("%w: %w: %v", ErrObjectMismatch, ErrBadSignature, err)
	}
	k, err := keys.CheckSignature(op.Member, i, pub)
	if err != nil && keys.KeylessAt(op.Member, i) {
		// The log registered the member without a key, so it can't have
		// signed this in this log: a replicated object (or one the
		// operator wrote), which no key of this log vouches for, as for
		// an unsigned object. A member the key entries don't show, one
		// revoked, or one that had a key (since revoked or rotated),
		// signing with another is a mismatch, so that leaving key entries
		// out of what a client reads can't turn a member's signed object
		// into an unsigned one (except by leaving out the first key of a
		// member registered without one, which gains nothing over logging
		// an unsigned object under it; a full audit still fails it).
		res.ForeignKey = pub
		return res, fmt.Errorf("%w: %w", ErrUnsignedObject, ErrForeignSignature)
	}
	if err != nil {
		return res, fmt.Errorf("%w: %w: %w", ErrObjectMismatch, ErrBadSignature, err)
	}
	res.Signer = k
	return res, nil
}

// ErrBadSignature is wrapped (with [ErrObjectMismatch]) by [CheckObject]
// when everything but the member signature matched: the signature doesn't
// verify, or not with the key in force for the member.
var ErrBadSignature = errors.New("bad member signature")

// CheckOpening checks the part of [CheckObject] that needs no keys: e is an
// object entry whose commitment is [ObjectCommitment] of op and the
// object's canonical JSON, and the object's id and version are the
// opening's. It returns the canonical object and, for a relayed object,
// the creator its created_by_ref claims. It fails with [ErrObjectMismatch].
func CheckOpening(object []byte, op Opening, e Entry) (canonical []byte, claimedCreator string, err error) {
	if e.Kind != KindObject {
		return nil, "", fmt.Errorf("%w: the entry is a %s entry, not an object entry", ErrObjectMismatch, e.Kind)
	}
	// Fast path: the node stores (and serves) objects in canonical form,
	// so the bytes usually hash to the commitment as they are. Otherwise
	// (a bundle re-indented by a tool) canonicalize first.
	canonical = object
	if ObjectCommitment(op, object) != e.Commitment {
		if canonical, err = stix.Canonicalize(object); err != nil {
			return nil, "", fmt.Errorf("%w: the object isn't valid JSON: %v", ErrObjectMismatch, err)
		}
		if ObjectCommitment(op, canonical) != e.Commitment {
			return nil, "", fmt.Errorf("%w: the commitment doesn't match the object and its opening", ErrObjectMismatch)
		}
	}
	// The fast path took the bytes as they are: a name of the head in
	// another case ("ID" beside "id"), or any name given twice, would be
	// read by encoding/json (the last, case-insensitively) otherwise than
	// by an implementation that reads "id" exactly or canonicalizes first.
	if headMaybeAmbiguous(canonical) {
		// An object may have any number of fields (its size, which the
		// node bounds, bounds them).
		if _, err := knownNamesUpTo(canonical, objectHeadFields, true, -1); err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrObjectMismatch, err)
		}
	}
	var head struct {
		ID           string `json:"id"`
		Modified     string `json:"modified"`
		Created      string `json:"created"`
		CreatedByRef string `json:"created_by_ref"`
	}
	if err := json.Unmarshal(canonical, &head); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrObjectMismatch, err)
	}
	if head.ID != op.ObjectID {
		return nil, "", fmt.Errorf("%w: the object's id is %s, the opening's %s", ErrObjectMismatch, head.ID, op.ObjectID)
	}
	if v := cmp(head.Modified, head.Created); v != "" && !sameTime(v, op.Version) {
		return nil, "", fmt.Errorf("%w: the object's version is %s, the opening's %s", ErrObjectMismatch, v, op.Version)
	}
	if head.CreatedByRef != "" && head.CreatedByRef != op.Member {
		claimedCreator = head.CreatedByRef
	}
	return canonical, claimedCreator, nil
}

// objectHeadFields are the names of an object's fields that
// [CheckOpening] reads.
var objectHeadFields = jsonFields{"id": nil, "modified": nil, "created": nil, "created_by_ref": nil}

// headMaybeAmbiguous reports whether the object b may name a field of
// [objectHeadFields] twice or in another case, which [knownNames] then
// tells (it costs about twice the rest of [CheckOpening], so it isn't
// run on every object): a name given more than once anywhere in b, or
// matched case-insensitively more often than exactly, or a \u escape
// (which may spell a name). The names are ASCII without k or s, so
// their only case variants (the ones encoding/json matches) are ASCII.
func headMaybeAmbiguous(b []byte) bool {
	if bytes.Contains(b, []byte(`\u`)) {
		return true
	}
	// Every quote is taken for a name's start: one that isn't (a string
	// value "id", an escaped quote) can only send b to the exact check.
	var seen [len(headNames)]bool
	for i := bytes.IndexByte(b, '"'); i >= 0; {
		for k, name := range headNames {
			end := i + 1 + len(name)
			if end >= len(b) || b[end] != '"' || !bytes.EqualFold(b[i+1:end], []byte(name)) {
				continue
			}
			if seen[k] || string(b[i+1:end]) != name {
				return true
			}
			seen[k] = true
		}
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// headNames are [objectHeadFields]' names.
var headNames = [...]string{"id", "modified", "created", "created_by_ref"}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sameTime compares two RFC 3339 timestamps as instants, so that
// "…48Z" and "…48.000Z" are one version; unparsable ones compare as text.
func sameTime(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return ta.Equal(tb)
}

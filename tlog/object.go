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
// doesn't match its log entry: its commitment, id, version, creator or
// member signature.
var ErrObjectMismatch = errors.New("object doesn't match its log entry")

// ErrUnsignedObject is returned (wrapped) by [CheckObject] for an object
// without a signature (accepted by collections whose policy allows it);
// everything else about it matched.
var ErrUnsignedObject = errors.New("object is unsigned")

// CheckObject checks a STIX object against its log entry: the commitment
// (salt ‖ RFC 8785 canonical JSON of the object), the object's id and
// version (its modified, or created, timestamp), its created_by_ref (if
// any) against the entry's member, and its signature extension, which must
// verify with memberKey (the member's registered Ed25519 key). It fails
// with [ErrObjectMismatch], or [ErrUnsignedObject] when only the signature
// is missing.
func CheckObject(object, salt []byte, e Entry, memberKey ed25519.PublicKey) error {
	// Fast path: the node stores (and serves) objects in canonical form,
	// so the bytes usually hash to the commitment as they are. Otherwise
	// (a bundle re-indented by a tool) canonicalize first.
	canonical := object
	if Commitment(salt, object) != e.Commitment {
		var err error
		if canonical, err = stix.Canonicalize(object); err != nil {
			return fmt.Errorf("%w: the object isn't valid JSON: %v", ErrObjectMismatch, err)
		}
		if Commitment(salt, canonical) != e.Commitment {
			return fmt.Errorf("%w: the commitment doesn't match the object and salt", ErrObjectMismatch)
		}
	}
	var head struct {
		ID           string `json:"id"`
		Modified     string `json:"modified"`
		Created      string `json:"created"`
		CreatedByRef string `json:"created_by_ref"`
	}
	if err := json.Unmarshal(canonical, &head); err != nil {
		return fmt.Errorf("%w: %v", ErrObjectMismatch, err)
	}
	if head.ID != e.ObjectID {
		return fmt.Errorf("%w: the object's id is %s, the entry's %s", ErrObjectMismatch, head.ID, e.ObjectID)
	}
	if v := cmp(head.Modified, head.Created); v != "" && !sameTime(v, e.Version) {
		return fmt.Errorf("%w: the object's version is %s, the entry's %s", ErrObjectMismatch, v, e.Version)
	}
	if head.CreatedByRef != "" && head.CreatedByRef != e.Member {
		return fmt.Errorf("%w: created_by_ref is %s but %s shared it", ErrObjectMismatch, head.CreatedByRef, e.Member)
	}
	pub, err := stix.Verify(canonical)
	if errors.Is(err, stix.ErrUnsigned) {
		return fmt.Errorf("%w", ErrUnsignedObject)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrObjectMismatch, err)
	}
	if len(memberKey) != ed25519.PublicKeySize || !bytes.Equal(pub, memberKey) {
		return fmt.Errorf("%w: signed by a key that isn't the registered key of %s", ErrObjectMismatch, e.Member)
	}
	return nil
}

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

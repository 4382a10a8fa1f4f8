package tlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// ErrReceipt is wrapped by the errors of [ParseReceipt] and
// [Receipt.VerifyObject]: the receipt doesn't prove that the object was
// logged.
var ErrReceipt = errors.New("receipt doesn't prove the object")

// receiptFields are the names of a [Receipt]'s fields (GET /log/receipt,
// docs/log.md), as [knownNames] checks them: one spelt in another case,
// or given twice, is refused; one of another name is a later node's
// addition, which [ParseReceipt] returns.
var receiptFields = jsonFields{"log_index": nil, "tree_size": nil, "entry": nil,
	"salt": nil, "collection": nil, "object_id": nil, "version": nil, "member": nil,
	"inclusion_proof": nil, "checkpoint": nil,
	"witnessed": {"checkpoint": nil, "consistency": nil},
}

// ParseReceipt reads a receipt as the node serves it (GET /log/receipt)
// by its exact field names: a field named in another case than the
// format's, or given twice, fails (encoding/json alone would read
// "LOG_INDEX" as log_index, or keep the last of two "entry"s, where
// another implementation reads otherwise). It returns the fields of other
// names (a later node's additions, which nothing verifies). Errors wrap
// [ErrReceipt]. It verifies nothing: see [Receipt.VerifyObject].
func ParseReceipt(data []byte) (Receipt, []string, error) {
	var r Receipt
	unknown, err := knownNames(data, receiptFields, true)
	if err == nil {
		err = ClipJSONError(json.Unmarshal(data, &r))
	}
	if err != nil {
		return Receipt{}, nil, fmt.Errorf("%w: not a receipt: %v", ErrReceipt, err)
	}
	return r, unknown, nil
}

// ReceiptResult is what a receipt verified with its object proves.
type ReceiptResult struct {
	// Index is the object's entry's index, Entry the entry, Opening its
	// opening and Checkpoint the signed checkpoint whose tree includes it.
	Index      uint64
	Entry      Entry
	Opening    Opening
	Checkpoint Checkpoint
	// ClaimedCreator is the creator the object names when it isn't the
	// member who shared it (a relayed object; nothing verifies it).
	ClaimedCreator string
	// Witnessed is, under a witness policy, the earliest time a quorum
	// of its witnesses stated the tree held the entry (Size 0: none of
	// the receipt's checkpoints says).
	Witnessed WitnessedAt
}

// VerifyObject checks, with no network access, that the receipt proves
// that object (a STIX object, in any JSON spelling) was logged: the
// receipt verifies with logKey ([Receipt.Verify]: the checkpoint's
// signature, the entry's inclusion at its index, the witnessed
// checkpoint's consistency), its entry is an object entry, and the
// entry's commitment is [ObjectCommitment] of the receipt's opening and
// the object's RFC 8785 canonical form, whose id and version are the
// opening's ([CheckOpening]). A receipt carries no member keys: the
// object's signature is not checked (a proof bundle's is).
//
// With a witness policy p, the policy's quorum must have cosigned the
// receipt's checkpoint or its witnessed checkpoint (the first cosigned
// one that includes the entry), a policy witness's signature line that
// doesn't verify fails, and the entry's received time must lie within
// what the cosignatures state ([TimeBounds]; skew ≤ 0 means
// [DefaultClockSkew]). Errors wrap [ErrReceipt].
func (r Receipt) VerifyObject(logKey string, object []byte, p *Policy, skew time.Duration) (ReceiptResult, error) {
	res := ReceiptResult{Index: r.LogIndex, Opening: r.Opening}
	e, cp, err := r.Verify(logKey)
	if err != nil {
		return res, fmt.Errorf("%w: %v", ErrReceipt, err)
	}
	res.Entry, res.Checkpoint = e, cp
	_, claimed, err := CheckOpening(object, r.Opening, e)
	if err != nil {
		return res, fmt.Errorf("%w: %v", ErrReceipt, err)
	}
	res.ClaimedCreator = claimed
	if p == nil {
		return res, nil
	}
	v, _ := NewVerifier(logKey) // Verify checked it
	notes := [][]byte{[]byte(r.Checkpoint)}
	if r.Witnessed != nil {
		notes = append(notes, []byte(r.Witnessed.Checkpoint))
	}
	var (
		ws     []WitnessedAt
		quorum error = fmt.Errorf("%w: the receipt has no checkpoint", ErrQuorum)
	)
	for i, n := range notes {
		_, _, err := checkQuorum(p, n)
		var invalid *note.InvalidSignatureError
		if err != nil && (!errors.Is(err, ErrQuorum) || errors.As(err, &invalid)) {
			return res, fmt.Errorf("%w: %s: %v", ErrReceipt, [2]string{"checkpoint", "witnessed checkpoint"}[i], err)
		}
		if i == 0 || quorum != nil {
			quorum = err
		}
		if w, err := CosignedTimes(n, v, p); err == nil {
			ws = append(ws, w)
		}
	}
	if quorum != nil {
		return res, fmt.Errorf("%w: neither the receipt's checkpoint nor its witnessed checkpoint meets the witness policy: %w", ErrReceipt, quorum)
	}
	tb := NewTimeBounds(ws)
	if reason := tb.CheckReceived(r.LogIndex, e.Received, skew); reason != "" {
		return res, fmt.Errorf("%w: entry %d: %s", ErrReceipt, r.LogIndex, reason)
	}
	if _, _, hi, ok := tb.Bounds(r.LogIndex); ok {
		res.Witnessed = hi
	}
	return res, nil
}

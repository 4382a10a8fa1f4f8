package private

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/tlog"
)

// ErrKeyNotInLog is returned by [KeyReceipt.Verify] when the receipt does
// not prove that the node's log commits to the set's public key.
var ErrKeyNotInLog = errors.New("set key is not committed in the node's log")

// KeyReceipt is the evidence that a set's public key is committed in the
// node's log, in the shape of the log's receipts (GET
// /private/sets/{id}/receipt): the key's log entry (a tlog entry of kind
// [tlog.KindOPRFKey]), its RFC 9162 inclusion proof and a signed
// checkpoint of a tree that contains it.
//
// Why the key goes in the log: a provider that answered different
// queriers under different keys could tell, from which key's tags a
// querier later acted on, who had asked what. With the key in the
// append-only log, every querier checks it holds the one key everybody
// else sees; a second oprf-key entry for the same set id is public,
// attributable evidence of equivocation.
type KeyReceipt struct {
	LogIndex uint64 `json:"log_index"`
	TreeSize uint64 `json:"tree_size"`
	Entry    []byte `json:"entry"`
	// Opening is the key entry's opening (salt, set id as object_id,
	// collection, member); the entry itself shows only a salted
	// commitment, so non-readers of the set learn nothing from it.
	Opening        tlog.Opening `json:"opening"`
	InclusionProof []tlog.Hash  `json:"inclusion_proof"`
	Checkpoint     string       `json:"checkpoint"`
}

// Verify checks, with the node's pinned note verifier, that the receipt's
// checkpoint is signed by the node, that the entry is included at LogIndex
// in that tree, and that the entry is an oprf-key entry whose commitment
// opens (with the receipt's opening) to set setID, the set's collection
// and provider, and key. Any failure wraps [ErrKeyNotInLog].
func (r *KeyReceipt) Verify(v note.Verifier, setID string, key *PublicKey) error {
	cp, err := tlog.OpenCheckpoint([]byte(r.Checkpoint), v)
	if err != nil {
		return fmt.Errorf("%w: checkpoint: %v", ErrKeyNotInLog, err)
	}
	if cp.Size != r.TreeSize || r.LogIndex >= r.TreeSize {
		return fmt.Errorf("%w: entry %d is not in the checkpoint's tree of size %d", ErrKeyNotInLog, r.LogIndex, cp.Size)
	}
	if err := tlog.VerifyInclusion(r.LogIndex, r.TreeSize, tlog.LeafHash(r.Entry), r.InclusionProof, cp.Hash); err != nil {
		return fmt.Errorf("%w: inclusion proof: %v", ErrKeyNotInLog, err)
	}
	e, err := tlog.ParseEntry(r.Entry)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKeyNotInLog, err)
	}
	if e.Kind != tlog.KindOPRFKey || r.Opening.ObjectID != setID {
		return fmt.Errorf("%w: entry %d is not the key entry of set %s", ErrKeyNotInLog, r.LogIndex, setID)
	}
	if e.Commitment != tlog.OPRFKeyCommitment(r.Opening, SuiteID, key.Bytes()) {
		return fmt.Errorf("%w: the log commits set %s to another key", ErrKeyNotInLog, setID)
	}
	return nil
}

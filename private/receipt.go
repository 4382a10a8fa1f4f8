package private

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/untrusted"
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
	// Withdrawal is present only for a withdrawn set (served to the
	// members who could read it when it was withdrawn): the set's suite
	// and key, which GET /private/sets/{id} no longer serves, and the
	// receipt of its withdrawal entry ([VerifyWithdrawn]).
	Withdrawal *WithdrawalReceipt `json:"withdrawal,omitempty"`
}

// WithdrawalReceipt is the evidence that a set was withdrawn: its
// [tlog.KindOPRFWithdrawal] log entry, the entry's opening, inclusion
// proof and a signed checkpoint, with the set's suite and public key
// (to check the key entry's commitment) and its creation and withdrawal
// times, which [KeyReceipt.VerifyWithdrawn] checks against the log:
// Created is the key entry's committed version (its opening's),
// Withdrawn the withdrawal entry's received time.
type WithdrawalReceipt struct {
	Suite          string       `json:"suite"`
	PublicKey      []byte       `json:"public_key"`
	Created        time.Time    `json:"created"`
	Withdrawn      time.Time    `json:"withdrawn"`
	LogIndex       uint64       `json:"log_index"`
	TreeSize       uint64       `json:"tree_size"`
	Entry          []byte       `json:"entry"`
	Opening        tlog.Opening `json:"opening"`
	InclusionProof []tlog.Hash  `json:"inclusion_proof"`
	Checkpoint     string       `json:"checkpoint"`

	// The provider's statement, present when the provider signed its
	// withdrawal ([WithdrawRequest]; a node since it added them):
	// SignedAt and Signature, its time and its signature, by Signer, the
	// provider's member key then in force; Nonce, what with them makes
	// the withdrawal entry's salt ([WithdrawalSalt]); and ProviderKeys,
	// the provider's member key history up to a checkpoint that covers
	// the withdrawal entry (GET /log/keys?member=ID, its key index
	// included), which shows Signer in force there. Absent, the
	// withdrawal is the node's word alone ([WithdrawalReceipt.ProviderSigned]).
	SignedAt     time.Time          `json:"signed,omitzero"`
	Nonce        []byte             `json:"nonce,omitempty"`
	Signer       []byte             `json:"signer,omitempty"`
	Signature    []byte             `json:"signature,omitempty"`
	ProviderKeys *tlog.KeysResponse `json:"provider_keys,omitempty"`

	// signerAsserted is set by [KeyReceipt.VerifyWithdrawn] when Signer
	// is a key the operator rotated in alone ([tlog.MemberKey.OperatorAsserted]).
	signerAsserted bool
}

// SignerOperatorAsserted reports, after [KeyReceipt.VerifyWithdrawn]
// succeeded, whether the provider's statement is signed by a key the
// operator rotated in for the provider alone, without a statement by its
// previous key (parley member key rotate without --statement): the
// operator could have swapped in a key of its own and signed the
// withdrawal itself, so the statement is the provider's only if that
// rotation was, as with an object signed by such a key.
func (w *WithdrawalReceipt) SignerOperatorAsserted() bool {
	return w != nil && w.signerAsserted
}

// ProviderSigned reports whether the withdrawal carries its provider's
// signed statement. After [KeyReceipt.VerifyWithdrawn] succeeded, true
// means the provider itself withdrew the set; false that only the node
// says so (a withdrawal by a client older than signed withdrawals, or
// by the operator: the two can't be told apart).
func (w *WithdrawalReceipt) ProviderSigned() bool {
	return w != nil && (w.Signature != nil || w.Signer != nil || w.Nonce != nil || !w.SignedAt.IsZero() || w.ProviderKeys != nil)
}

// verifyStatement checks the provider's statement of withdrawal w of set
// setID, whose provider is member, logged at entry we of the log of
// origin origin: see [WithdrawalReceipt].
func (w *WithdrawalReceipt) verifyStatement(v note.Verifier, origin, setID, member string, we tlog.Entry) error {
	if len(w.Signer) != ed25519.PublicKeySize || len(w.Signature) != ed25519.SignatureSize || len(w.Nonce) != tlog.SaltSize || w.SignedAt.IsZero() || w.ProviderKeys == nil {
		return fmt.Errorf("%w: set %s: the provider's statement of withdrawal is incomplete", ErrKeyNotInLog, setID)
	}
	if !bytes.Equal(w.Opening.Salt, WithdrawalSalt(w.Nonce, w.SignedAt, w.Signer, w.Signature)) {
		return fmt.Errorf("%w: set %s: the withdrawal entry %d doesn't commit to the provider's statement", ErrKeyNotInLog, setID, w.LogIndex)
	}
	if d := we.Received.Sub(w.SignedAt); d > WithdrawalSkew || d < -WithdrawalSkew {
		return fmt.Errorf("%w: set %s: the provider signed its withdrawal at %s, %s from its entry's %s", ErrKeyNotInLog, setID,
			w.SignedAt.UTC().Format(time.RFC3339Nano), d, we.Received.UTC().Format(time.RFC3339Nano))
	}
	if !ed25519.Verify(ed25519.PublicKey(w.Signer), WithdrawalMessage(origin, setID, w.SignedAt), w.Signature) {
		return fmt.Errorf("%w: set %s: the provider's signature of its withdrawal doesn't verify", ErrKeyNotInLog, setID)
	}
	keys, cp, err := w.ProviderKeys.VerifyComplete(v, member)
	if err != nil {
		return fmt.Errorf("%w: set %s: the provider's key history: %v", ErrKeyNotInLog, setID, err)
	}
	if cp.Size <= w.LogIndex {
		return fmt.Errorf("%w: set %s: the provider's key history ends at %d, before the withdrawal entry %d", ErrKeyNotInLog, setID, cp.Size, w.LogIndex)
	}
	k, err := keys.CheckSignature(member, w.LogIndex, ed25519.PublicKey(w.Signer))
	if err != nil {
		return fmt.Errorf("%w: set %s: the withdrawal's signer: %v", ErrKeyNotInLog, setID, err)
	}
	w.signerAsserted = k.OperatorAsserted()
	return nil
}

// VerifyWithdrawn checks the receipt of withdrawn set setID with the
// node's pinned note verifier: the key entry as [KeyReceipt.Verify]
// checks it, under the key the withdrawal names, and the withdrawal
// entry: its checkpoint signed by the node, its inclusion, its kind, and
// its commitment, which opens to the same set, collection and provider
// as the key entry's, at the entry's received time, and binds the key
// entry's commitment; and the receipt's Created and Withdrawn, which
// must be the key entry's committed version and the withdrawal entry's
// received time; and, when the withdrawal carries one
// ([WithdrawalReceipt.ProviderSigned]), the provider's statement: its
// signature, by the provider's member key in force at the withdrawal
// entry, of [WithdrawalMessage] of the checkpoint's origin, set setID
// and its time, which is within [WithdrawalSkew] of the entry's, all
// committed to by the entry's salt ([WithdrawalSalt]). It returns
// the set's key. Any failure wraps [ErrKeyNotInLog].
func (r *KeyReceipt) VerifyWithdrawn(v note.Verifier, setID string) (*PublicKey, error) {
	w := r.Withdrawal
	if w == nil {
		return nil, fmt.Errorf("%w: set %s: the receipt holds no withdrawal", ErrKeyNotInLog, setID)
	}
	if w.Suite != SuiteID {
		return nil, fmt.Errorf("%w: set %s: suite %q is not %s", ErrKeyNotInLog, setID, w.Suite, SuiteID)
	}
	key, err := ParsePublicKey(w.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: set %s: %v", ErrKeyNotInLog, setID, err)
	}
	if err := r.Verify(v, setID, key); err != nil {
		return nil, err
	}
	cp, err := tlog.OpenCheckpoint([]byte(w.Checkpoint), v)
	if err != nil {
		return nil, fmt.Errorf("%w: withdrawal checkpoint: %v", ErrKeyNotInLog, err)
	}
	if cp.Size != w.TreeSize || w.LogIndex >= w.TreeSize || w.LogIndex <= r.LogIndex {
		return nil, fmt.Errorf("%w: withdrawal entry %d is not in the checkpoint's tree of size %d after key entry %d", ErrKeyNotInLog, w.LogIndex, cp.Size, r.LogIndex)
	}
	if err := tlog.VerifyInclusion(w.LogIndex, w.TreeSize, tlog.LeafHash(w.Entry), w.InclusionProof, cp.Hash); err != nil {
		return nil, fmt.Errorf("%w: withdrawal inclusion proof: %v", ErrKeyNotInLog, err)
	}
	we, err := tlog.ParseEntry(w.Entry)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyNotInLog, err)
	}
	ke, err := tlog.ParseEntry(r.Entry)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyNotInLog, err)
	}
	if we.Kind != tlog.KindOPRFWithdrawal || w.Opening.ObjectID != setID ||
		w.Opening.Collection != r.Opening.Collection || w.Opening.Member != r.Opening.Member {
		return nil, fmt.Errorf("%w: entry %d is not the withdrawal of set %s", ErrKeyNotInLog, w.LogIndex, setID)
	}
	// The time the opening states (the one shown) is the entry's, which
	// the log orders and its witnesses bound, not one the node chose.
	if at, err := time.Parse(time.RFC3339Nano, w.Opening.Version); err != nil || !at.Equal(we.Received) {
		return nil, fmt.Errorf("%w: the withdrawal entry %d was received at %s, its opening states %s", ErrKeyNotInLog, w.LogIndex,
			we.Received.UTC().Format(time.RFC3339Nano), untrusted.Text(w.Opening.Version, 64))
	}
	if we.Commitment != tlog.OPRFWithdrawalCommitment(w.Opening, ke.Commitment) {
		return nil, fmt.Errorf("%w: the withdrawal entry %d doesn't commit to set %s's key entry", ErrKeyNotInLog, w.LogIndex, setID)
	}
	// The times stated beside the entries (Created, Withdrawn) are the
	// log's: the key entry's committed version (the set's creation, as
	// the node stamped it) and the withdrawal entry's received time.
	if !w.Withdrawn.Equal(we.Received) {
		return nil, fmt.Errorf("%w: the withdrawal entry %d was received at %s, the receipt states %s", ErrKeyNotInLog, w.LogIndex,
			we.Received.UTC().Format(time.RFC3339Nano), w.Withdrawn.UTC().Format(time.RFC3339Nano))
	}
	if at, err := time.Parse(time.RFC3339Nano, r.Opening.Version); err != nil || !at.Equal(w.Created) {
		return nil, fmt.Errorf("%w: the key entry %d commits to set %s created at %s, the receipt states %s", ErrKeyNotInLog, r.LogIndex, setID,
			untrusted.Text(r.Opening.Version, 64), w.Created.UTC().Format(time.RFC3339Nano))
	}
	if !ke.Received.Before(we.Received) {
		return nil, fmt.Errorf("%w: the withdrawal entry %d is not after the key entry %d", ErrKeyNotInLog, w.LogIndex, r.LogIndex)
	}
	if w.ProviderSigned() {
		if err := w.verifyStatement(v, cp.Origin, setID, r.Opening.Member, we); err != nil {
			return nil, err
		}
	}
	return key, nil
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
	// The opening's version, the set's creation as the node stamped it,
	// is not under the commitment: it is held to the entry instead. The
	// node stamps the set before it logs its key, and the log's times
	// only grow, so the version (to the microsecond the log keeps) is no
	// later than the entry's received time; a receipt stating a later
	// one, or no time, was written by hand.
	if created, err := time.Parse(time.RFC3339Nano, r.Opening.Version); err != nil || created.Truncate(time.Microsecond).After(e.Received) {
		return fmt.Errorf("%w: set %s: its key entry %d was received at %s, its opening states the set created at %s", ErrKeyNotInLog, untrusted.Text(setID, 120), r.LogIndex,
			e.Received.UTC().Format(time.RFC3339Nano), untrusted.Text(r.Opening.Version, 64))
	}
	return nil
}

// SavedReceipt is a verified receipt as a querier keeps it (parley
// private check and parley private receipt save one per set and key
// entry): self-contained evidence, checkable offline with the node's
// note verifier key ([SavedReceipt.Verify]), that the node's log
// committed set Set to PublicKey, and, with Receipt.Withdrawal, that the
// set was withdrawn. A provider (or an operator) who later denies the
// set, or its key, is answered with it.
type SavedReceipt struct {
	Set       string     `json:"set"`
	Suite     string     `json:"suite"`
	PublicKey []byte     `json:"public_key"`
	Receipt   KeyReceipt `json:"receipt"`
}

// savedReceiptFields are the names of a [SavedReceipt]'s fields, as
// [tlog.ExactNames] checks them.
var savedReceiptFields = tlog.JSONFields{"set": nil, "suite": nil, "public_key": nil,
	"receipt": {"log_index": nil, "tree_size": nil, "entry": nil, "opening": openingFields,
		"inclusion_proof": nil, "checkpoint": nil,
		"withdrawal": {"suite": nil, "public_key": nil, "created": nil, "withdrawn": nil,
			"log_index": nil, "tree_size": nil, "entry": nil, "opening": openingFields,
			"inclusion_proof": nil, "checkpoint": nil,
			"signed": nil, "nonce": nil, "signer": nil, "signature": nil,
			"provider_keys": {"tree_size": nil, "checkpoint": nil, "sequenced": nil, "key_index": nil,
				"events": {"entry": nil, "log_index": nil, "inclusion_proof": nil}}}},
}

var openingFields = tlog.JSONFields{"salt": nil, "collection": nil, "object_id": nil, "version": nil, "member": nil}

// ParseSavedReceipt reads a saved receipt (as parley private check and
// parley private receipt write it) by its exact field names: a field
// named in another case than the format's, an unknown one, or one given
// twice, is refused (encoding/json alone would read "SET" as set, or
// keep the last of two "receipt"s, where another implementation reads
// otherwise). It verifies nothing: see [SavedReceipt.Verify].
func ParseSavedReceipt(data []byte) (SavedReceipt, error) {
	var s SavedReceipt
	if err := tlog.ExactNames(data, savedReceiptFields); err != nil {
		return s, fmt.Errorf("not a saved receipt: %w", err)
	}
	if err := tlog.ClipJSONError(json.Unmarshal(data, &s)); err != nil {
		return s, fmt.Errorf("not a saved receipt: %w", err)
	}
	return s, nil
}

// Verify checks the saved receipt with the node's note verifier: the key
// entry (and the withdrawal entry, when there is one) as
// [KeyReceipt.Verify] and [KeyReceipt.VerifyWithdrawn] check them.
func (s *SavedReceipt) Verify(v note.Verifier) error {
	if s.Suite != SuiteID {
		return fmt.Errorf("%w: set %s: suite %q is not %s", ErrKeyNotInLog, s.Set, s.Suite, SuiteID)
	}
	key, err := ParsePublicKey(s.PublicKey)
	if err != nil {
		return fmt.Errorf("%w: set %s: %v", ErrKeyNotInLog, s.Set, err)
	}
	if s.Receipt.Withdrawal != nil {
		wkey, err := s.Receipt.VerifyWithdrawn(v, s.Set)
		if err != nil {
			return err
		}
		if !wkey.Equal(key) {
			return fmt.Errorf("%w: set %s: the withdrawal names another key", ErrKeyNotInLog, s.Set)
		}
		return nil
	}
	return s.Receipt.Verify(v, s.Set, key)
}

// CheckTimes checks, under witness policy p, that the log's times of the
// receipt's entries (the key entry's, and the withdrawal's, which parley
// verify prints as the time the set was withdrawn) lie within what the
// cosignatures of the receipt's checkpoints state ([tlog.TimeBounds];
// skew <= 0 means [tlog.DefaultClockSkew]), as [tlog.Receipt.VerifyObject]
// checks an object's: a checkpoint cosigned before the entry's time
// shows the entry post-dated. A checkpoint no witness of p cosigned
// bounds nothing (the caller checks the quorum). Call it after
// [SavedReceipt.Verify]; a failure wraps [ErrKeyNotInLog].
func (s *SavedReceipt) CheckTimes(v note.Verifier, p *tlog.Policy, skew time.Duration) error {
	type logged struct {
		index uint64
		entry []byte
	}
	rc := s.Receipt
	notes, entries := []string{rc.Checkpoint}, []logged{{rc.LogIndex, rc.Entry}}
	if w := rc.Withdrawal; w != nil {
		notes, entries = append(notes, w.Checkpoint), append(entries, logged{w.LogIndex, w.Entry})
	}
	var ws []tlog.WitnessedAt
	for _, n := range notes {
		if w, err := tlog.CosignedTimes([]byte(n), v, p); err == nil {
			ws = append(ws, w)
		}
	}
	tb := tlog.NewTimeBounds(ws)
	for _, l := range entries {
		e, err := tlog.ParseEntry(l.entry)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrKeyNotInLog, err)
		}
		if reason := tb.CheckReceived(l.index, e.Received, skew); reason != "" {
			return fmt.Errorf("%w: set %s: entry %d: %s", ErrKeyNotInLog, untrusted.Text(s.Set, 120), l.index, reason)
		}
	}
	return nil
}

// IsSavedReceipt reports whether data is a JSON object with the members
// "set" and "receipt": a saved receipt ([SavedReceipt]), which
// [ParseSavedReceipt] reads.
func IsSavedReceipt(data []byte) bool {
	head, ok := tlog.MemberNames(data)
	return ok && head["set"] && head["receipt"]
}

// setInfoFields are the names of a [SetInfo]'s fields.
var setInfoFields = tlog.JSONFields{"id": nil, "suite": nil, "public_key": nil, "size": nil,
	"key_log_index": nil, "collection": nil, "provider": nil, "source": nil, "created": nil,
	"budget": {"limit": nil, "left": nil}, "max_batch": nil}

// ParseSetInfo reads the description of set id from data: one set as GET
// /private/sets/{id} serves it, or a list of them as GET /private/sets
// (and parley private sets --json) serves it, from which the one of id is
// taken. Each is read by its exact field names ([tlog.KnownNames]): a
// field named in another case, or given twice, fails; the fields of other
// names (a later node's) are returned.
func ParseSetInfo(data []byte, id string) (SetInfo, []string, error) {
	one := func(d []byte) (SetInfo, []string, error) {
		u, err := tlog.KnownNames(d, setInfoFields)
		var info SetInfo
		if err == nil {
			err = tlog.ClipJSONError(json.Unmarshal(d, &info))
		}
		if err != nil {
			return SetInfo{}, nil, fmt.Errorf("not a private set's description: %w", err)
		}
		return info, u, nil
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '[' {
		info, u, err := one(data)
		if err != nil {
			return SetInfo{}, nil, err
		}
		if info.ID != id {
			return SetInfo{}, nil, fmt.Errorf("no description of set %s", untrusted.Text(id, 120))
		}
		return info, u, nil
	}
	// A list is read one description at a time, at most
	// tlog.MaxJSONElements of them: decoded whole, a file of "{},"
	// repeated took a slice header and a copy for each, 10 times its
	// size and more.
	if !json.Valid(data) {
		return SetInfo{}, nil, fmt.Errorf("not a private set's description: %w", tlog.ClipJSONError(json.Unmarshal(data, new(any))))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return SetInfo{}, nil, fmt.Errorf("not a private set's description: %w", err)
	}
	var (
		found   SetInfo
		unknown []string
		ok      bool
	)
	for n := 0; dec.More(); n++ {
		if n == tlog.MaxJSONElements {
			return SetInfo{}, nil, fmt.Errorf("not a private set's description: a list of more than %d sets", tlog.MaxJSONElements)
		}
		var d json.RawMessage
		if err := dec.Decode(&d); err != nil {
			return SetInfo{}, nil, fmt.Errorf("not a private set's description: %w", tlog.ClipJSONError(err))
		}
		info, u, err := one(d)
		if err != nil {
			return SetInfo{}, nil, err
		}
		if !ok && info.ID == id {
			found, unknown, ok = info, u, true
		}
	}
	if !ok {
		return SetInfo{}, nil, fmt.Errorf("no description of set %s", untrusted.Text(id, 120))
	}
	return found, unknown, nil
}

// VerifySet checks, with the node's note verifier, that the saved
// receipt verifies ([SavedReceipt.Verify]) and that it is the receipt of
// the set info describes: its id, suite and key, and, where info gives
// them, its collection and provider (which the key entry's opening
// commits to). Any failure wraps [ErrKeyNotInLog].
func (s *SavedReceipt) VerifySet(v note.Verifier, info SetInfo) error {
	op := s.Receipt.Opening
	switch {
	case info.ID != s.Set:
		return fmt.Errorf("%w: the receipt is of set %s, the description of %s", ErrKeyNotInLog, untrusted.Text(s.Set, 120), untrusted.Text(info.ID, 120))
	case info.Suite != s.Suite || !bytes.Equal(info.PublicKey, s.PublicKey):
		return fmt.Errorf("%w: set %s: the description gives another key (or suite) than the receipt", ErrKeyNotInLog, untrusted.Text(s.Set, 120))
	case info.Collection != "" && info.Collection != op.Collection, info.Provider != "" && info.Provider != op.Member:
		return fmt.Errorf("%w: set %s: the description gives another collection or provider than the log's key entry", ErrKeyNotInLog, untrusted.Text(s.Set, 120))
	case !info.Created.IsZero() && !sameTime(op.Version, info.Created):
		return fmt.Errorf("%w: set %s: the description states it created at %s, the key entry's opening at %s", ErrKeyNotInLog, untrusted.Text(s.Set, 120),
			info.Created.UTC().Format(time.RFC3339Nano), untrusted.Text(op.Version, 64))
	}
	return s.Verify(v)
}

// sameTime reports whether version, an RFC 3339 time, is the instant t.
func sameTime(version string, t time.Time) bool {
	at, err := time.Parse(time.RFC3339Nano, version)
	return err == nil && at.Equal(t)
}

package opinion

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/tlog"
)

// Concurrence is a Parley node's answer to GET /concurrence?object=ID, as
// JSON:
//
//	{"object", "counts": {value: n}, "opinions": [{"member", "opinion",
//	 "opinion_id", "version", "confidence"}], "voices",
//	 "members_with_access", "object_revoked", "object_latest_version",
//	 "writable_collections", "evidence"}
//
// The embedded [Tally] is the node's claim. Evidence is what lets a client
// check it without trusting the node: a proof bundle (the format of
// `parley verify`) holding every version the requesting member may read of
// every opinion that refers to the object in any version, each with its
// log entry, salt and inclusion proof against one signed checkpoint, and
// the member key entries of the members who wrote them, with the node's
// signed key index listing all of them up to the checkpoint
// ([tlog.KeyIndex]): each version counts only with the key they show in
// force at its log position, and none of them may be left out.
type Concurrence struct {
	Tally
	// Voices is the number of members whose opinion counts (len(Opinions)).
	Voices int `json:"voices"`
	// MembersWithAccess is the number of members who may read the object
	// in some collection that holds it and that the requesting member may
	// read too (collections it can't read are never counted, so the
	// answer reveals nothing of them), the node's own members (a peer's
	// peer:NAME, a feed's feed:NAME) left out: the "of N" in "4 of 17". It rests
	// on the node's access lists, which the log doesn't record, so a
	// client can't check it.
	MembersWithAccess int `json:"members_with_access"`
	// ObjectRevoked says that the latest version of the object the
	// requesting member may read (of the latest version each collection
	// it may read holds, the newest; of the collections replicated from
	// another node, whose copies claim no id, only when no other holds
	// it) is revoked: its author withdrew the
	// object, so opinions agreeing with it vouch for something withdrawn.
	// Like MembersWithAccess it is the node's word: the evidence doesn't
	// hold the object, so [VerifyConcurrence] can't check it, and a node
	// could hide a revocation by leaving it false.
	ObjectRevoked bool `json:"object_revoked"`
	// ObjectLatestVersion is the modified timestamp (RFC 3339) of that latest
	// version, the node's word too; empty from a node that predates it.
	ObjectLatestVersion string `json:"object_latest_version,omitempty"`
	// WritableCollections are the collections holding the object that the
	// requesting member may read and write: where its own opinion can go.
	WritableCollections []string `json:"writable_collections"`
	// Evidence is the proof bundle described above; with no opinions it
	// has no items (and may have no checkpoint).
	Evidence tlog.Bundle `json:"evidence"`
}

// concurrenceFields are the names of a [Concurrence]'s fields, as GET
// /concurrence serves it and parley concurrence --json writes it, its
// evidence a proof bundle's.
var concurrenceFields = tlog.JSONFields{"object": nil, "counts": {tlog.AnyName: nil},
	"opinions": {"member": nil, "opinion": nil, "opinion_id": nil, "version": nil, "confidence": nil},
	"voices":   nil, "members_with_access": nil, "object_revoked": nil, "object_latest_version": nil,
	"writable_collections": nil, "evidence": tlog.BundleFieldNames(),
}

// IsConcurrence reports whether data is a JSON object with the members
// "object" and "evidence" and no "type": a concurrence answer (parley
// concurrence --json), not a document of a typed format.
func IsConcurrence(data []byte) bool {
	head, ok := tlog.MemberNames(data)
	return ok && head["object"] && head["evidence"] && !head["type"]
}

// ParseConcurrence reads a concurrence answer by its exact field names
// ([tlog.KnownNames]): a field named in another case than the format's,
// or given twice, fails, since encoding/json reads it as the field (or
// keeps the last) where another implementation doesn't; it returns the
// fields of other names (a later node's additions, which nothing
// verifies). It verifies nothing: see [VerifyConcurrence].
func ParseConcurrence(data []byte) (Concurrence, []string, error) {
	var c Concurrence
	unknown, err := tlog.KnownNames(data, concurrenceFields)
	if err == nil {
		err = tlog.ClipJSONError(json.Unmarshal(data, &c))
	}
	if err != nil {
		return Concurrence{}, nil, fmt.Errorf("not a concurrence answer: %w", err)
	}
	return c, unknown, nil
}

// ErrEvidence is returned (wrapped) by [VerifyConcurrence] when the
// node's evidence doesn't verify: a checkpoint signature, an inclusion
// proof, a commitment, or an entry that doesn't match its object. That is
// the node misbehaving, not an opinion failing to count.
var ErrEvidence = errors.New("the concurrence evidence doesn't verify")

// Checked is one evidence item after [VerifyConcurrence].
type Checked struct {
	// Opinion is the parsed opinion (its zero value if the object isn't a
	// valid opinion); Opinion.Verified says whether it may count.
	Opinion Opinion
	// LogIndex and Collection come from the item's verified log entry.
	LogIndex   uint64
	Collection string
	// Err says why the opinion isn't verified (wrapping [ErrUnsigned],
	// [ErrForged], [ErrUnknownMember] or [ErrInvalid]); nil when it is.
	Err error
}

// Verification is what [VerifyConcurrence] established.
type Verification struct {
	// Tally is the tally recomputed from the verified opinions.
	Tally Tally
	// Checkpoint is the verified checkpoint of the evidence (zero when
	// there was none).
	Checkpoint tlog.Checkpoint
	// Items are the evidence items in the node's order.
	Items []Checked
	// Names maps member ids to the names the evidence gives them (the
	// node's word, for display only).
	Names map[string]string
}

// VerifyConcurrence checks a node's concurrence answer with no trust in
// the node beyond its member keys:
//
//  1. the evidence's log key must equal pinnedLogKey (when not empty) and
//     sign its checkpoint;
//  2. every item's entry must be an object entry included at its index in
//     the checkpoint's tree, commit to the object with its salt, and name
//     the object's id, version and creator; any failure is [ErrEvidence];
//  3. the evidence's key index ([tlog.Bundle.CheckKeyIndex]) must verify
//     with the log key, be of the checkpoint's tree, and list exactly the
//     member key entries the evidence shows for every member who shared
//     an item: evidence that leaves out a rotation or revocation of one
//     (or has no key index) is [ErrEvidence]. Then every item's opinion is
//     verified with [VerifyLogged] (the entry's member shared it) against
//     the key the evidence's member key entries held in force for that
//     member at the item's index; those that fail simply don't count;
//  4. the claimed tally is checked against the verified opinions with
//     [Check] (an error wraps [ErrMismatch]); Voices must equal the number
//     of claimed opinions, and the verified voices may not outnumber
//     MembersWithAccess (the node counts only members who may read the
//     object).
//
// It returns what it verified even when it fails, for display.
func VerifyConcurrence(c Concurrence, pinnedLogKey string) (Verification, error) {
	res := Verification{Names: map[string]string{}}
	for id, name := range c.Evidence.Names {
		res.Names[id] = name
	}
	b := c.Evidence
	var keys *tlog.KeyHistory
	if len(b.Items) > 0 || b.Checkpoint != "" {
		if pinnedLogKey != "" && pinnedLogKey != b.LogKey {
			return res, fmt.Errorf("%w: the evidence's log key isn't the pinned key", ErrEvidence)
		}
		var err error
		if res.Checkpoint, keys, err = b.Open(); err != nil {
			return res, fmt.Errorf("%w: %v", ErrEvidence, err)
		}
	}
	if len(b.Items) > 0 {
		// The key entries must be each sharer's whole key history up to
		// the checkpoint: one left out (a rotation, a revocation) would
		// leave an ended key looking in force, and an opinion signed with
		// it counting.
		sharers := make([]string, 0, len(b.Items))
		for _, it := range b.Items {
			sharers = append(sharers, it.Member)
		}
		if err := b.CheckKeyIndex(res.Checkpoint, sharers); err != nil {
			return res, fmt.Errorf("%w: %v", ErrEvidence, err)
		}
	}
	var verified []Opinion
	entries := map[uint64]bool{}
	for i, it := range b.Items {
		if err := checkItem(it, res.Checkpoint); err != nil {
			return res, fmt.Errorf("%w: item %d: %v", ErrEvidence, i, err)
		}
		// Each entry once: a repeated one would be counted again in what
		// the client reports of the evidence.
		if entries[it.LogIndex] {
			return res, fmt.Errorf("%w: item %d repeats log entry %d", ErrEvidence, i, it.LogIndex)
		}
		entries[it.LogIndex] = true
		// The opinion counts only if signed by the key the log shows in
		// force for its member at the opinion's position.
		op, verr := VerifyLogged(it.Object, it.Member, it.LogIndex, keys)
		res.Items = append(res.Items, Checked{Opinion: op, LogIndex: it.LogIndex, Collection: it.Collection, Err: verr})
		if verr == nil {
			verified = append(verified, op)
		}
	}
	var err error
	res.Tally, err = Check(c.Tally, verified)
	switch {
	case err != nil:
	case c.Voices != len(c.Votes):
		err = fmt.Errorf("%w: %d voices are claimed but %d opinions are listed", ErrMismatch, c.Voices, len(c.Votes))
	case res.Tally.Voices() > c.MembersWithAccess:
		// The node counts only members who may read the object; more
		// voices than such members is a count no honest node gives.
		err = fmt.Errorf("%w: %d voices are counted but only %d members are said to have access to the object", ErrMismatch, res.Tally.Voices(), c.MembersWithAccess)
	}
	return res, err
}

// VerifyLogged is [VerifyShared] with the key that keys (the log's member
// key history, as [tlog.Bundle.Open] replays it) holds in force for sharer
// at log index i, where the version was logged: an opinion signed before
// its member rotated or revoked its key still verifies, and one signed
// with a key not in force when it was logged never does. Node and clients
// both verify opinions this way, so that they tally alike. A nil keys
// holds no key.
func VerifyLogged(raw []byte, sharer string, i uint64, keys *tlog.KeyHistory) (Opinion, error) {
	inForce := Keys{}
	if keys != nil {
		if k, ok := keys.KeyAt(sharer, i); ok {
			inForce[sharer] = k.Key
		}
	}
	return VerifyShared(raw, sharer, inForce)
}

// checkItem verifies an item's log evidence (not the opinion's signature):
// its entry's inclusion and that the entry commits to the object with the
// item's opening.
func checkItem(it tlog.BundleItem, cp tlog.Checkpoint) error {
	e, err := it.Included(cp)
	if err != nil {
		return err
	}
	_, _, err = tlog.CheckOpening(it.Object, it.Opening, e)
	return err
}

package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

// GET /concurrence?object=ID answers "how many members concur" on one
// object with an [opinion.Concurrence]: the tally of the package opinion's
// rule, and the evidence that lets the client recompute it.
//
// Access rule. Only a member who may read the object (in some collection
// holding it) gets an answer; to anyone else the object doesn't exist
// (404, as for an unknown id). The tally a member gets is computed from
// the opinion versions in the collections that member may read, and
// nothing else: an opinion shared only in a collection it can't read is
// neither counted nor shown nor hinted at, and a revocation it can't read
// doesn't withdraw an opinion it can. So two members may see different
// tallies, each one checkable from what that member may read.
// members_with_access (the "17" in "4 of 17") counts the members who may
// read the object in a collection holding it that the requesting member
// may read too: a collection it can't read is never counted, so the count
// says nothing of it. The node's own members (a peer's peer:NAME, a
// feed's feed:NAME, [Node.systemMembers]) are never counted, and their
// opinions (copies of another node's or a feed's) take no part in the
// tally or the evidence (docs/federation.md, "Opinions from B"). object_revoked says whether the latest version of
// the object in the collections the requesting member may read is
// revoked (object_latest_version is that version's modified): the node's
// word, as members_with_access, read from those collections only.
// The route is a row of the route table (routes.go).

// ConcurrenceWait is how long GET /concurrence waits for opinions that are
// acknowledged but not yet in a checkpoint before answering 503 with
// Retry-After.
const ConcurrenceWait = 2 * time.Second

// errOpinionsPending means an opinion version is acknowledged but no
// signed checkpoint covers it yet.
var errOpinionsPending = errors.New("an opinion isn't in a checkpoint yet")

func (n *Node) serveConcurrence(w http.ResponseWriter, r *http.Request, m store.Member) {
	object := r.URL.Query().Get("object")
	if _, err := stix.SplitIdentifier(object); err != nil {
		respondError(w, r, requestErrorf(store.ErrInvalid, "object must be a STIX id (type--UUID)"))
		return
	}
	size, compute, err := n.PrepareConcurrence(r.Context(), m, object, ConcurrenceWait)
	if err != nil {
		respondError(w, r, err)
		return
	}
	release, ok := n.reserve(w, r, m, size)
	if !ok {
		return
	}
	defer release()
	c, err := compute(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondJSON(w, http.StatusOK, "application/json", c)
}

// opinionsPerMember bounds what one member's opinions add to a tally: its
// newest opinion versions on the object, at most 16 of them and 64 KiB of
// JSON (always its newest, whatever its size). A member's opinion buried
// under that many newer versions of its own no longer counts; the bound
// holds whatever a member shares, so no member can make the tally of an
// object, or the object's page, cost more than the others' opinions and
// its own bound.
var opinionsPerMember = store.Bound{Rows: 16, Bytes: 64 << 10}

// The memory of a tally, measured (TestConcurrenceReservationBySize
// checks GET /concurrence against it with small opinions and with one of
// nearly max_object_size); counted as the web UI's pages count theirs,
// every byte allocated, garbage included:
//
//   - tallyFactor: bytes per byte of opinion JSON: the store's read and
//     copy, the opinion parsed, its signature checked over its canonical
//     form, and the answer's JSON encoding (about 9.6 measured);
//   - tallyItemBytes: bytes per opinion version beside its JSON: its log
//     entry, opening and inclusion proof with the tiles read for it, its
//     member's key entry and proof (about 41 KiB measured, on a small
//     log whose tiles are all partial, so never cached);
//   - tallyMemberBytes: bytes per member of the node: the member as
//     listed, and its key entry and proof (the evidence of a tally with
//     no opinions holds every member's key; about 13 KiB measured).
const (
	tallyFactor      = 12
	tallyItemBytes   = 48 << 10
	tallyMemberBytes = 16 << 10
)

// A tally is measured, then computed. [Node.PrepareConcurrence] reads
// which opinion versions the tally will read and their sizes
// ([store.OpinionIndex.OpinionSizes]), without reading them, and returns
// the reservation they make; the caller reserves it, and compute then
// reads those versions by their Seqs ([store.UIQueries.ObjectsAt]) and
// nothing else. Versions never change, so they weigh then what they
// weighed when measured; a version stored in between is not read (it
// counts in the next tally), so the reservation stays an upper bound.

// concurrenceReservation is what computing and answering a tally of
// versions opinion versions of bytes bytes of JSON in all, on a node of
// members members, reserves of the response budget.
func concurrenceReservation(versions int, bytes int64, members int) int64 {
	return tallyFactor*bytes + int64(versions)*tallyItemBytes + int64(members)*tallyMemberBytes + reserveSlack
}

// PrepareConcurrence measures the concurrence on object for member m (see
// the access rule above and the note on measuring): it returns what
// computing it reserves of the response budget, and compute, which
// computes it as [Node.Concurrence] does (waiting up to wait for a
// checkpoint) reading only the opinion versions measured. The caller
// reserves memory before it calls compute; the web UI's object page
// reserves it together with its own. Only opinions in collections m may
// read are measured.
func (n *Node) PrepareConcurrence(ctx context.Context, m store.Member, object string, wait time.Duration) (memory int64, compute func(context.Context) (opinion.Concurrence, error), err error) {
	cs, err := n.store.Collections(ctx)
	if err != nil {
		return 0, nil, err
	}
	readable := store.ReadableBy(cs, m.ID)
	seqs, bytes, err := n.store.OpinionSizes(ctx, readable, object, opinionsPerMember)
	if err != nil {
		return 0, nil, err
	}
	members, err := n.store.Members(ctx)
	if err != nil {
		return 0, nil, err
	}
	compute = func(ctx context.Context) (opinion.Concurrence, error) {
		return n.concurrence(ctx, m, object, seqs, bytes, wait)
	}
	return concurrenceReservation(len(seqs), bytes, len(members)), compute, nil
}

// Concurrence computes the concurrence on object for member m, as GET
// /concurrence serves it (see the access rule above), without reserving
// memory: the tally by [opinion.Compute] over the opinion versions m may
// read (of each member, the newest within opinionsPerMember), and as
// evidence every such version with its log entry, salt and inclusion
// proof against the latest checkpoint (waiting up to wait for one that
// covers them all, then failing), and the keys of their members. An
// object m may not read fails with store.ErrNotFound.
func (n *Node) Concurrence(ctx context.Context, m store.Member, object string, wait time.Duration) (opinion.Concurrence, error) {
	_, compute, err := n.PrepareConcurrence(ctx, m, object, wait)
	if err != nil {
		return opinion.Concurrence{}, err
	}
	return compute(ctx)
}

// concurrence computes the concurrence on object for member m from the
// opinion versions at seqs, of bytes bytes, that PrepareConcurrence
// measured, in the collections m may read when it computes.
func (n *Node) concurrence(ctx context.Context, m store.Member, object string, seqs []int64, bytes int64, wait time.Duration) (opinion.Concurrence, error) {
	var out opinion.Concurrence
	// The lists as they are now, not as measured: the caller may have
	// waited for its reservation meanwhile, and the operator taken m's
	// read (held.go). The versions read are still only those measured.
	if err := reauthenticate(ctx); err != nil {
		return out, err
	}
	cs, err := n.store.Collections(ctx)
	if err != nil {
		return out, err
	}
	var readable []string
	readers := map[string]bool{}
	visible := false
	out.WritableCollections = []string{}
	// Only collections m can read are looked at: neither the counts nor
	// the time the answer takes may tell what a collection m can't read
	// holds, or who reads it. Whether one holds the object is counted,
	// not read: the reservation holds the opinions alone.
	for _, c := range cs {
		if !c.CanRead(m.ID) {
			continue
		}
		readable = append(readable, c.ID)
		held, _, err := n.store.ObjectsSize(ctx, c.ID, []string{object})
		if err != nil {
			return out, err
		}
		if held == 0 {
			continue
		}
		for _, r := range c.Readers {
			readers[r] = true
		}
		visible = true
		if c.CanWrite(m.ID) {
			out.WritableCollections = append(out.WritableCollections, c.ID)
		}
	}
	if !visible {
		return out, fmt.Errorf("couldn't find %s: %w", object, store.ErrNotFound)
	}
	// The node's own members (a peer's peer:NAME, a feed's feed:NAME) are
	// no members: what is stored under them are copies of another node's
	// or feed's objects, signed (if at all) by keys this node's log
	// doesn't hold. They never read the object, and their opinions take
	// no part (see "Opinions from peers" in opinion's doc): before, one
	// granted read counted in members_with_access, and a peer's copy of
	// its member's opinion went into the evidence, where every client
	// reported it as forged or as of a member with no key.
	system, err := n.systemMembers(ctx)
	if err != nil {
		return out, err
	}
	for id := range system {
		delete(readers, id)
	}
	out.MembersWithAccess = len(readers)
	// Whether the latest version m may read is revoked: read by the
	// store, which keeps the object's JSON (the reservation holds the
	// opinions alone), and from the collections m reads only, like the
	// rest of the answer.
	latest, revoked, err := n.latestOwnRevoked(ctx, readable, object)
	if err != nil {
		return out, err
	}
	out.ObjectRevoked, out.ObjectLatestVersion = revoked, stix.FormatTimestamp(latest.Version)
	// Within bytes: the versions measured weigh that, so the bound only
	// guards the reservation against a store that breaks its contract.
	versions, more, err := n.store.ObjectsAt(ctx, readable, seqs, store.Bound{Bytes: bytes})
	if err != nil {
		return out, err
	}
	if more {
		return out, fmt.Errorf("couldn't read the opinions measured: they outgrew their %d bytes", bytes)
	}
	// Only the opinions of members who may read the object take part
	// (the readers counted in MembersWithAccess): a member that can write
	// a collection m reads, but can't read the object, mustn't weigh in
	// on it, nor make the voices outnumber the members with access. They
	// are left out of the evidence too, so that a client's recount from
	// the evidence agrees.
	versions = slices.DeleteFunc(versions, func(v store.Object) bool { return !readers[v.Member] })
	out.Evidence, err = n.opinionEvidence(ctx, versions, wait, func(ctx context.Context) error { return n.mayStillRead(ctx, m, readable) })
	if err != nil {
		return out, err
	}
	// Each version is verified with the key its member had in force when
	// it was logged, replayed from the evidence's key entries, exactly as
	// a client's check does (opinion.VerifyConcurrence): an opinion signed
	// before its member rotated its key still counts.
	var keys *tlog.KeyHistory
	if len(versions) > 0 {
		if _, keys, err = out.Evidence.Open(); err != nil {
			return out, fmt.Errorf("couldn't replay the member keys of the opinions: %w", err)
		}
	}
	ops := make([]opinion.Opinion, 0, len(versions))
	for _, v := range versions {
		op, _ := opinion.VerifyLogged(v.Raw, v.Member, uint64(v.LogIndex), keys) // an opinion that fails simply doesn't count
		ops = append(ops, op)
	}
	out.Tally = opinion.Compute(object, ops)
	out.Voices = out.Tally.Voices()
	return out, nil
}

// opinionEvidence builds the proof bundle of versions ([Node.bundleOf]).
func (n *Node) opinionEvidence(ctx context.Context, versions []store.Object, wait time.Duration, check func(context.Context) error) (tlog.Bundle, error) {
	b, err := n.bundleOf(ctx, n.store, versions, wait, n.tiles, check)
	if errors.Is(err, ErrNotIntegrated) {
		return b, errOpinionsPending
	}
	return b, err
}

// latestOwnRevoked is [store.OpinionIndex.LatestRevoked] of object in the
// readable collections outside those replicated from peers, when it has a
// version there, and else in all of them: a peer's copies claim no id
// (docs/federation.md), so a later version a peer logged of a member's id
// (a revocation) doesn't stand for the member's object, as the web UI's
// object page doesn't show it as the object either.
func (n *Node) latestOwnRevoked(ctx context.Context, readable []string, object string) (store.Object, bool, error) {
	ps, err := n.store.Peers(ctx)
	if err != nil {
		return store.Object{}, false, err
	}
	copies := store.PeerCollections(ps)
	own := slices.DeleteFunc(slices.Clone(readable), func(c string) bool { return copies[c] })
	if len(own) > 0 && len(own) < len(readable) {
		latest, revoked, err := n.store.LatestRevoked(ctx, own, object)
		if !errors.Is(err, store.ErrNotFound) {
			return latest, revoked, err
		}
	}
	return n.store.LatestRevoked(ctx, readable, object)
}

// systemMembers returns the ids of the node's own members, which nobody
// logs in as and whose objects are copies: every peer's member (peer:NAME)
// and every feed's (feed:NAME), followed or stopped, and any member with
// a name of theirs ([reservedPrefix]) and no key (a peer or feed whose
// record is gone). A member named so by an earlier version's member add,
// with a key, is a member.
func (n *Node) systemMembers(ctx context.Context) (map[string]bool, error) {
	sys := map[string]bool{}
	ps, err := n.store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		sys[p.Member] = true
	}
	fs, err := n.FeedStore().Feeds(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		sys[f.Member] = true
	}
	ms, err := n.store.Members(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.PublicKey == nil && reservedPrefix(m.Name) != "" {
			sys[m.ID] = true
		}
	}
	return sys, nil
}

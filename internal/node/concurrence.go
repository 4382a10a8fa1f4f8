package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
// tallies, each one checkable from what that member may read. Only
// members_with_access looks beyond that: it counts every member who may
// read the object in any collection holding it (the "17" in "4 of 17").
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
	size, err := n.concurrenceReservation(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	release, ok := n.reserve(w, r, m, size)
	if !ok {
		return
	}
	defer release()
	c, err := n.Concurrence(r.Context(), m, object, ConcurrenceWait)
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

// concurrenceReservation is what computing and answering a concurrence
// reserves of the response budget: the bundle of at most
// opinionsPerMember of every member's opinion versions (or one of the
// largest size), counted as a proof bundle is (bundleReservation): four
// times its size with bundleItemBytes a version, plus slack.
func (n *Node) concurrenceReservation(ctx context.Context) (int64, error) {
	ms, err := n.store.Members(ctx)
	if err != nil {
		return 0, err
	}
	perMember := max(opinionsPerMember.Bytes, n.cfg.MaxObjectSize) + int64(opinionsPerMember.Rows)*bundleItemBytes
	return 4*int64(len(ms))*perMember + reserveSlack, nil
}

// Concurrence computes the concurrence on object for member m, as GET
// /concurrence serves it (see the access rule above): the tally by
// [opinion.Compute] over the opinion versions m may read (of each member,
// the newest within opinionsPerMember), and as evidence every such
// version with its log entry, salt and inclusion proof against
// the latest checkpoint (waiting up to wait for one that covers them all,
// then failing), and the keys of their members. An
// object m may not read fails with store.ErrNotFound.
func (n *Node) Concurrence(ctx context.Context, m store.Member, object string, wait time.Duration) (opinion.Concurrence, error) {
	var out opinion.Concurrence
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
	// holds, or who reads it.
	for _, c := range cs {
		if !c.CanRead(m.ID) {
			continue
		}
		readable = append(readable, c.ID)
		page, err := n.store.Objects(ctx, store.Query{Collection: c.ID, IDs: []string{object}, Limit: 1})
		if err != nil {
			return out, err
		}
		if len(page.Objects) == 0 {
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
	out.MembersWithAccess = len(readers)
	versions, err := n.store.OpinionVersions(ctx, readable, object, opinionsPerMember)
	if err != nil {
		return out, err
	}
	members, err := n.store.Members(ctx)
	if err != nil {
		return out, err
	}
	keys := opinion.Keys{}
	byID := map[string]store.Member{}
	for _, mm := range members {
		byID[mm.ID] = mm
		if len(mm.PublicKey) > 0 {
			keys[mm.ID] = mm.PublicKey
		}
	}
	ops := make([]opinion.Opinion, 0, len(versions))
	for _, v := range versions {
		op, _ := opinion.VerifyShared(v.Raw, v.Member, keys) // an opinion that fails simply doesn't count
		ops = append(ops, op)
	}
	out.Tally = opinion.Compute(object, ops)
	out.Voices = out.Tally.Voices()
	out.Evidence, err = n.opinionEvidence(ctx, versions, wait)
	return out, err
}

// opinionEvidence builds the proof bundle of versions ([Node.bundleOf]).
func (n *Node) opinionEvidence(ctx context.Context, versions []store.Object, wait time.Duration) (tlog.Bundle, error) {
	b, err := n.bundleOf(ctx, n.store, versions, wait, n.tiles)
	if errors.Is(err, ErrNotIntegrated) {
		return b, errOpinionsPending
	}
	return b, err
}

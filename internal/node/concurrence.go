package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/transparency-dev/merkle/compact"

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
func init() {
	registerRoutes("concurrence", func(n *Node, mux *http.ServeMux) {
		mux.HandleFunc("GET /concurrence", n.serveConcurrence)
	})
}

// ConcurrenceWait is how long GET /concurrence waits for opinions that are
// acknowledged but not yet in a checkpoint before answering 503 with
// Retry-After.
const ConcurrenceWait = 2 * time.Second

// errOpinionsPending means an opinion version is acknowledged but no
// signed checkpoint covers it yet.
var errOpinionsPending = errors.New("an opinion isn't in a checkpoint yet")

// concurrenceError ends a request with a plain-text error; anything the
// handler doesn't know is "internal error", so no SQL leaks.
func concurrenceError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

func (n *Node) serveConcurrence(w http.ResponseWriter, r *http.Request) {
	m, err := n.AuthenticateRequest(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
		concurrenceError(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	object := r.URL.Query().Get("object")
	if _, err := stix.SplitIdentifier(object); err != nil {
		concurrenceError(w, http.StatusBadRequest, "object must be a STIX id (type--UUID)")
		return
	}
	c, err := n.Concurrence(r.Context(), m, object, ConcurrenceWait)
	switch {
	case errors.Is(err, errOpinionsPending):
		w.Header().Set("Retry-After", "1")
		concurrenceError(w, http.StatusServiceUnavailable, "an opinion isn't in a checkpoint yet; retry")
	case errors.Is(err, store.ErrNotFound):
		concurrenceError(w, http.StatusNotFound, "object not found")
	case errors.Is(err, context.Canceled):
		concurrenceError(w, http.StatusServiceUnavailable, "request canceled")
	case err != nil:
		concurrenceError(w, http.StatusInternalServerError, "internal error")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(c)
	}
}

// Concurrence computes the concurrence on object for member m, as GET
// /concurrence serves it (see the access rule above): the tally by
// [opinion.Compute] over the opinion versions m may read, and as evidence
// every such version with its log entry, salt and inclusion proof against
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
	for _, c := range cs {
		if c.CanRead(m.ID) {
			readable = append(readable, c.ID)
		}
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
		if c.CanRead(m.ID) {
			visible = true
			// Only collections m can read: a write-only member must not
			// learn what a collection holds.
			if c.CanWrite(m.ID) {
				out.WritableCollections = append(out.WritableCollections, c.ID)
			}
		}
	}
	if !visible {
		return out, fmt.Errorf("couldn't find %s: %w", object, store.ErrNotFound)
	}
	out.MembersWithAccess = len(readers)
	versions, err := n.opinionVersions(ctx, readable, object)
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
	out.Evidence, err = n.opinionEvidence(ctx, versions, byID, wait)
	return out, err
}

// opinionVersions returns the versions that [store.OpinionIndex] defines,
// through the store's index when it has one and by reading every opinion
// of the collections otherwise.
func (n *Node) opinionVersions(ctx context.Context, collections []string, object string) ([]store.Object, error) {
	if idx, ok := n.store.(store.OpinionIndex); ok {
		return idx.OpinionVersions(ctx, collections, object)
	}
	var all []store.Object
	about := map[string]bool{}
	for _, c := range collections {
		for after := int64(0); ; {
			page, err := n.store.Objects(ctx, store.Query{Collection: c, Types: []string{"opinion"},
				Versions: []store.VersionSelector{{Kind: store.VersionAll}}, After: after, Limit: 1000})
			if err != nil {
				return nil, err
			}
			for _, o := range page.Objects {
				var refs struct {
					ObjectRefs []string `json:"object_refs"`
				}
				if json.Unmarshal(o.Raw, &refs) == nil && slices.Contains(refs.ObjectRefs, object) {
					about[o.ID] = true
				}
			}
			all = append(all, page.Objects...)
			if !page.More || len(page.Objects) == 0 {
				break
			}
			after = page.Objects[len(page.Objects)-1].Seq
		}
	}
	var out []store.Object
	for _, o := range all {
		if about[o.ID] {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b store.Object) int { return int(a.Seq - b.Seq) })
	return out, nil
}

// opinionEvidence builds the proof bundle of versions against the latest
// checkpoint, once one covers them all.
func (n *Node) opinionEvidence(ctx context.Context, versions []store.Object, members map[string]store.Member, wait time.Duration) (tlog.Bundle, error) {
	b := tlog.Bundle{Type: tlog.BundleType, LogKey: n.vkey, Members: []tlog.BundleMember{}, Items: []tlog.BundleItem{}}
	ls, ok := n.store.(store.LogStore)
	if !ok {
		return b, ErrNoLogStore
	}
	maxIndex := int64(-1)
	for _, v := range versions {
		maxIndex = max(maxIndex, v.LogIndex)
	}
	deadline := time.Now().Add(wait)
	var size int64
	var note []byte
	for {
		var err error
		size, note, err = ls.LatestCheckpoint(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return b, err
		}
		if err == nil && maxIndex < size {
			break
		}
		if err != nil && maxIndex < 0 {
			return b, nil // an empty log and nothing to prove
		}
		if time.Now().After(deadline) {
			return b, errOpinionsPending
		}
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	b.Checkpoint = string(note)
	hr := &hashCache{hr: tlog.TileHashReader(uint64(size), &tileCache{tr: ls, m: map[tlog.Tile][]byte{}}), m: map[compact.NodeID]tlog.Hash{}}
	listed := map[string]bool{}
	addMember := func(id string) {
		mm, ok := members[id]
		if listed[id] || !ok || len(mm.PublicKey) == 0 {
			return
		}
		listed[id] = true
		b.Members = append(b.Members, tlog.BundleMember{ID: mm.ID, Name: mm.Name, PublicKey: mm.PublicKey})
	}
	entries, err := entriesAt(ctx, n.store, versions)
	if err != nil {
		return b, err
	}
	for _, v := range versions {
		e, ok := entries[v.LogIndex]
		if !ok {
			return b, fmt.Errorf("couldn't find the log entry of %s: %w", v.ID, store.ErrNotFound)
		}
		p, err := tlog.InclusionProof(ctx, uint64(v.LogIndex), uint64(size), hr)
		if err != nil {
			return b, err
		}
		if p == nil {
			p = []tlog.Hash{}
		}
		b.Items = append(b.Items, tlog.BundleItem{Object: v.Raw, Entry: e.Leaf, Salt: e.Salt, LogIndex: uint64(v.LogIndex), InclusionProof: p})
		addMember(v.Member)
		var head struct {
			CreatedByRef string `json:"created_by_ref"`
		}
		if json.Unmarshal(v.Raw, &head) == nil {
			addMember(head.CreatedByRef)
		}
	}
	return b, nil
}

// entriesAt reads the log entries of versions, one query per run of
// nearby indexes (opinions are often posted together).
func entriesAt(ctx context.Context, st store.Store, versions []store.Object) (map[int64]store.Entry, error) {
	idx := make([]int64, 0, len(versions))
	for _, v := range versions {
		idx = append(idx, v.LogIndex)
	}
	slices.Sort(idx)
	out := make(map[int64]store.Entry, len(idx))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1]-idx[j] <= 8 {
			j++
		}
		es, err := st.Entries(ctx, idx[i], idx[j]+1)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			out[e.Index] = e
		}
		i = j + 1
	}
	return out, nil
}

// hashCache keeps the tree nodes read for one answer: the inclusion
// proofs of many opinions share their upper nodes, which a tile reader
// would hash up again for each proof.
type hashCache struct {
	hr tlog.HashReader
	m  map[compact.NodeID]tlog.Hash
}

func (c *hashCache) ReadHashes(ctx context.Context, nodes []compact.NodeID) ([]tlog.Hash, error) {
	var missing []compact.NodeID
	for _, id := range nodes {
		if _, ok := c.m[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		hs, err := c.hr.ReadHashes(ctx, missing)
		if err != nil {
			return nil, err
		}
		if len(hs) != len(missing) {
			return nil, fmt.Errorf("couldn't read tree nodes: got %d hashes for %d nodes", len(hs), len(missing))
		}
		for i, id := range missing {
			c.m[id] = hs[i]
		}
	}
	out := make([]tlog.Hash, len(nodes))
	for i, id := range nodes {
		out[i] = c.m[id]
	}
	return out, nil
}

// tileCache keeps the tiles read for one answer: the inclusion proofs of
// many opinions share most of their tiles.
type tileCache struct {
	tr tlog.TileReader
	m  map[tlog.Tile][]byte
}

func (c *tileCache) ReadTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	if b, ok := c.m[t]; ok {
		return b, nil
	}
	b, err := c.tr.ReadTile(ctx, t)
	if err == nil {
		c.m[t] = b
	}
	return b, err
}

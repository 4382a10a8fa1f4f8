package tlog

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"golang.org/x/mod/sumdb/note"
)

// KeyLookup builds the key index of the tree of the given size that the
// log's server would sign (without signing it), through the look-up it
// finds member key entries with: of every member when members is empty,
// else of those members. [AuditOptions].KeyLookup.
type KeyLookup func(ctx context.Context, size uint64, members []string) (KeyIndex, error)

// AuditKeyIndex is a signed key index for [Audit] to check against its
// replay of the whole log: one the node serves (GET /log/keys) or one a
// user kept (in a proof bundle or concurrence evidence).
type AuditKeyIndex struct {
	// Source names where it came from, for the problem lines.
	Source string
	// KeyIndex is the signed key index note.
	KeyIndex []byte
	// Checkpoint is the signed checkpoint note it came with, of its tree
	// (what evidence against it shows beside it).
	Checkpoint []byte
	// Complete says that it was served as the index of every member
	// (GET /log/keys asked for no member), so a member left out is a
	// problem too, even in an index of the form [KeyIndexHeader] (an
	// older node's), which doesn't claim it. An index of the form
	// [KeyIndexAllHeader] claims it whatever Complete says.
	Complete bool
}

// KeyIndexFault kinds.
const (
	// FaultLeftOut: the index lists the member but not one of its key
	// entries (Entry).
	FaultLeftOut = "left-out"
	// FaultWronglyListed: the index lists Entry for the member, and it is
	// no key entry of the member.
	FaultWronglyListed = "wrongly-listed"
	// FaultMemberMissing: an index served as every member's
	// ([AuditKeyIndex].Complete) doesn't list a member that has key
	// entries in its tree (Entry is the first), and is of the form
	// [KeyIndexHeader], which doesn't claim every member, so no evidence
	// proves it.
	FaultMemberMissing = "member-missing"
	// FaultMemberLeftOut: an index of every member ([KeyIndex].Complete,
	// signed) doesn't list a member that has key entries in its tree
	// (Entry is the first): proved by that entry, as [FaultLeftOut] is.
	FaultMemberLeftOut = "member-left-out"
	// FaultNotPrefix: the index's tree isn't the audited log's tree at
	// its size (or is larger): the log showed another history.
	FaultNotPrefix = "not-prefix"
)

// KeyIndexFault is a false key index an audit found.
type KeyIndexFault struct {
	// Index is the position of the key index in [AuditOptions.KeyIndexes].
	Index int
	Kind  string
	// Member is the member whose line is false; Entry the log position
	// that shows it (for [FaultLeftOut], [FaultWronglyListed],
	// [FaultMemberMissing], [FaultMemberLeftOut]).
	Member string
	Entry  uint64
	// Size is the index's tree size.
	Size uint64
	// Reason says what is wrong in one sentence.
	Reason string
}

// keyEntryPos is a member key entry's position and member.
type keyEntryPos struct {
	index  uint64
	member string
}

// keyIndexCheck is what [Audit] gathers to check key indexes: each one
// opened, the roots of the recomputed tree at their sizes, and every
// member key entry's position.
type keyIndexCheck struct {
	opened []*KeyIndex // nil where it didn't open
	roots  map[uint64]*Hash
	keys   []keyEntryPos
}

// newKeyIndexCheck opens each index with v; those that don't open, or
// aren't of a tree within size, are problems.
func newKeyIndexCheck(list []AuditKeyIndex, v note.Verifier, size uint64, rep *AuditReport) *keyIndexCheck {
	c := &keyIndexCheck{opened: make([]*KeyIndex, len(list)), roots: map[uint64]*Hash{}}
	for i, a := range list {
		k, err := OpenKeyIndex(a.KeyIndex, v)
		if err != nil {
			rep.add(-1, "", "the key index of %s doesn't verify with the log key: %v", a.Source, err)
			continue
		}
		if k.Size > size {
			f := KeyIndexFault{Index: i, Kind: FaultNotPrefix, Size: k.Size,
				Reason: fmt.Sprintf("false key index (%s): it is of a tree of size %d, larger than the log's latest checkpoint (%d): the log showed another history", a.Source, k.Size, size)}
			rep.KeyIndexFaults = append(rep.KeyIndexFaults, f)
			rep.add(-1, "", "%s", f.Reason)
			continue
		}
		c.opened[i] = &k
		c.roots[k.Size] = nil
	}
	if _, ok := c.roots[0]; ok {
		e := EmptyRoot()
		c.roots[0] = &e
	}
	return c
}

// appended records the tree's root when its size is one an index is of.
func (c *keyIndexCheck) appended(t *Tree) {
	if c == nil {
		return
	}
	if _, ok := c.roots[t.Size()]; ok {
		r := t.Root()
		c.roots[t.Size()] = &r
	}
}

// entry records a member key entry.
func (c *keyIndexCheck) entry(i uint64, member string) {
	if c != nil {
		c.keys = append(c.keys, keyEntryPos{i, member})
	}
}

// check compares every opened index with the replay.
func (c *keyIndexCheck) check(list []AuditKeyIndex, rep *AuditReport) {
	for i, k := range c.opened {
		if k == nil {
			continue
		}
		src := list[i].Source
		fault := func(kind, member string, entry uint64, format string, args ...any) {
			f := KeyIndexFault{Index: i, Kind: kind, Member: member, Entry: entry, Size: k.Size,
				Reason: fmt.Sprintf("false key index (%s, tree size %d): ", src, k.Size) + fmt.Sprintf(format, args...)}
			rep.KeyIndexFaults = append(rep.KeyIndexFaults, f)
			rep.add(-1, "", "%s", f.Reason)
		}
		if r := c.roots[k.Size]; r == nil || *r != k.Hash {
			fault(FaultNotPrefix, "", 0, "its tree (root %s) isn't the audited log's tree at that size: the log showed another history", k.Hash)
			continue
		}
		c.compare(k, list[i].Complete, false, nil, fault)
	}
}

// compare compares the index k (of a tree the log holds) with the
// replay's key entries below its size, calling fault for each false line:
// each member it lists (or asked, which it must list) must be listed with
// exactly its key entries, and when k is Complete, or served as complete
// (complete), every member with a key entry must be listed. lookup says
// that k is a look-up's, not signed (checkLookup).
func (c *keyIndexCheck) compare(k *KeyIndex, complete, lookup bool, asked []string, fault func(kind, member string, entry uint64, format string, args ...any)) {
	want := map[string][]uint64{}
	for _, p := range c.keys {
		if p.index < k.Size {
			want[p.member] = append(want[p.member], p.index)
		}
	}
	ids := make([]string, 0, len(k.Members))
	for id := range k.Members {
		ids = append(ids, id)
	}
	for _, id := range asked {
		if _, ok := k.Members[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		listed, ok := k.Members[id]
		have := want[id]
		if !ok {
			if len(have) > 0 {
				fault(FaultMemberMissing, id, have[0], "it doesn't list %s, whose key entries start at entry %d", id, have[0])
			}
			continue
		}
		for _, n := range have {
			if !slices.Contains(listed, n) {
				fault(FaultLeftOut, id, n, "it leaves out entry %d, a member key entry of %s (a rotation or revocation left out makes an ended key look in force)", n, id)
			}
		}
		for _, n := range listed {
			if !slices.Contains(have, n) {
				fault(FaultWronglyListed, id, n, "it lists entry %d as a member key entry of %s, which it isn't", n, id)
			}
		}
	}
	if !k.Complete && !complete {
		return
	}
	missing := make([]string, 0)
	for id := range want {
		if _, ok := k.Members[id]; !ok && !slices.Contains(asked, id) {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	for _, id := range missing {
		switch {
		case lookup:
			fault(FaultMemberMissing, id, want[id][0], "it doesn't find %s, whose key entries start at entry %d", id, want[id][0])
		case k.Complete:
			fault(FaultMemberLeftOut, id, want[id][0], "it is signed as the index of every member but leaves out %s, whose key entries start at entry %d", id, want[id][0])
		default:
			fault(FaultMemberMissing, id, want[id][0], "it was served as every member's but doesn't list %s, whose key entries start at entry %d (an index of the older form %s, which doesn't claim every member: no evidence proves it)", id, want[id][0], KeyIndexHeader)
		}
	}
}

// checkLookup compares the key indexes lookup builds of the tree of the
// given size with the replay: that of every member (no member named),
// then that of each member the replay or that index names, one at a
// time. Each false line is a problem: a server finding member key entries
// through it would sign and serve a false index.
func (c *keyIndexCheck) checkLookup(ctx context.Context, lookup KeyLookup, size uint64, rep *AuditReport) {
	fault := func(what string) func(kind, member string, entry uint64, format string, args ...any) {
		return func(kind, member string, entry uint64, format string, args ...any) {
			rep.add(-1, "", "the log's member key look-up (%s, as GET /log/keys finds them) disagrees with the entries: %s; the node would serve a false key index", what, fmt.Sprintf(format, args...))
		}
	}
	all, err := lookup(ctx, size, nil)
	if err != nil {
		rep.add(-1, "", "couldn't look up the member key entries as GET /log/keys does: %v", err)
		return
	}
	all.Size, all.Complete = size, false
	c.compare(&all, true, true, nil, fault("every member"))
	members := map[string]bool{}
	for _, p := range c.keys {
		if p.index < size {
			members[p.member] = true
		}
	}
	for id := range all.Members {
		members[id] = true
	}
	ids := make([]string, 0, len(members))
	for id := range members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		k, err := lookup(ctx, size, []string{id})
		if err != nil {
			rep.add(-1, "", "couldn't look up the member key entries of %s as GET /log/keys does: %v", id, err)
			return
		}
		k.Size, k.Complete = size, false
		c.compare(&k, false, true, []string{id}, fault("member "+id))
	}
}

// KeyIndexEvidence builds the evidence of a fault of kind [FaultLeftOut],
// [FaultWronglyListed] or [FaultMemberLeftOut] that [Audit] found in a,
// the key index it checked, of the log with verifier key logKey: a's key
// index and checkpoint beside the entry the fault names, read from src,
// with its inclusion proof in the index's tree, built from tiles of the
// log's tree of size size (the audited checkpoint's). The evidence is
// checked ([VerifyKeyIndexEvidence]) before it is returned.
func (f KeyIndexFault) KeyIndexEvidence(ctx context.Context, logKey string, a AuditKeyIndex, src AuditSource, tiles TileReader, size uint64, foundBy, foundAt string) ([]byte, error) {
	if f.Kind != FaultLeftOut && f.Kind != FaultWronglyListed && f.Kind != FaultMemberLeftOut {
		return nil, fmt.Errorf("%w: a fault of kind %s", ErrKeyIndexEvidence, f.Kind)
	}
	var leaf []byte
	if err := src.Leaves(ctx, f.Entry, f.Entry+1, func(i uint64, l []byte) error {
		if i == f.Entry {
			leaf = append([]byte(nil), l...)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("couldn't read entry %d: %w", f.Entry, err)
	}
	proof, err := InclusionProof(ctx, f.Entry, f.Size, TileHashReader(size, tiles))
	if err != nil {
		return nil, err
	}
	return NewKeyIndexEvidence(logKey, a.KeyIndex, a.Checkpoint, leaf, f.Entry, proof, foundBy, foundAt)
}

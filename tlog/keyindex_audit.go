package tlog

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"golang.org/x/mod/sumdb/note"
)

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
	// Complete says that it claims to list every member with a key entry
	// in its tree (GET /log/keys asked for no member), so a member left
	// out is a problem too.
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
	// FaultMemberMissing: a complete index doesn't list a member that has
	// key entries in its tree (Entry is the first). The index alone
	// doesn't say it claims every member, so no evidence proves it.
	FaultMemberMissing = "member-missing"
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
	// [FaultMemberMissing]).
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
		sort.Strings(ids)
		for _, id := range ids {
			listed, have := k.Members[id], want[id]
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
		if list[i].Complete {
			missing := make([]string, 0)
			for id := range want {
				if _, ok := k.Members[id]; !ok {
					missing = append(missing, id)
				}
			}
			sort.Strings(missing)
			for _, id := range missing {
				fault(FaultMemberMissing, id, want[id][0], "it claims every member but doesn't list %s, whose key entries start at entry %d", id, want[id][0])
			}
		}
	}
}

// KeyIndexEvidence builds the evidence of a fault of kind [FaultLeftOut]
// or [FaultWronglyListed] that [Audit] found in a, the key index it
// checked, of the log with verifier key logKey: a's key index and
// checkpoint beside the entry the fault names, read from src, with its
// inclusion proof in the index's tree, built from tiles of the log's tree
// of size size (the audited checkpoint's). The evidence is checked
// ([VerifyKeyIndexEvidence]) before it is returned.
func (f KeyIndexFault) KeyIndexEvidence(ctx context.Context, logKey string, a AuditKeyIndex, src AuditSource, tiles TileReader, size uint64, foundBy, foundAt string) ([]byte, error) {
	if f.Kind != FaultLeftOut && f.Kind != FaultWronglyListed {
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

package tlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// TestAuditKeyIndexes: Audit checks each key index against its replay at
// the index's own tree size; a rotation left out, an object entry listed
// as a key entry, a member missing from a complete index and a tree the
// log doesn't hold are faults, and the first two come with evidence that
// VerifyKeyIndexEvidence accepts. Evidence of an index that agrees with
// its entry is refused.
func TestAuditKeyIndexes(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, 3)
	prefixNote := l.notes[0]
	prefixIndex := l.keyIndex(t, l.keyEvents(t))
	l.addKeyEvent(t, Entry{Event: EventRotate, Key: pubOf(testKey(1)), Authority: AuthorityOperator})
	l.addObject(t, testKey(1))
	note := l.checkpoint(t)
	size := uint64(len(l.leaves))
	cp, err := OpenCheckpoint(note, l.verifier)
	if err != nil {
		t.Fatal(err)
	}
	forgeAs := func(complete bool, c Checkpoint, m map[string][]uint64) string {
		s, err := SignKeyIndex(KeyIndex{Origin: c.Origin, Size: c.Size, Hash: c.Hash, Members: m, Complete: complete}, l.signer)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	forge := func(c Checkpoint, m map[string][]uint64) string { return forgeAs(false, c, m) }
	other := "identity--" + strings.Repeat("b", 8) + "-0000-4000-8000-000000000000"
	list := []AuditKeyIndex{
		{Source: "true", KeyIndex: []byte(l.keyIndex(t, l.keyEvents(t))), Checkpoint: note, Complete: true},
		{Source: "prefix", KeyIndex: []byte(prefixIndex), Checkpoint: prefixNote},
		{Source: "left out", KeyIndex: []byte(forge(cp, map[string][]uint64{testMember: {0}})), Checkpoint: note},
		{Source: "object", KeyIndex: []byte(forge(cp, map[string][]uint64{testMember: {0, 1, 4}})), Checkpoint: note},
		{Source: "missing", KeyIndex: []byte(forge(cp, map[string][]uint64{})), Checkpoint: note, Complete: true},
		{Source: "other tree", KeyIndex: []byte(forge(Checkpoint{Origin: testOrigin, Size: 2, Hash: LeafHash([]byte("x"))}, map[string][]uint64{})), Checkpoint: note},
		{Source: "all true", KeyIndex: []byte(forgeAs(true, cp, map[string][]uint64{testMember: {0, 4}})), Checkpoint: note},
		{Source: "all, some listed", KeyIndex: []byte(forgeAs(true, cp, map[string][]uint64{other: {}})), Checkpoint: note},
		{Source: "all, none listed", KeyIndex: []byte(forgeAs(true, cp, map[string][]uint64{})), Checkpoint: note},
	}
	rep, err := Audit(ctx, l, AuditOptions{Verifier: l.verifier, Tiles: l.tiles, KeyIndexes: list})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]KeyIndexFault{}
	for _, f := range rep.KeyIndexFaults {
		got[list[f.Index].Source] = f
	}
	for src, want := range map[string]KeyIndexFault{
		"left out":   {Kind: FaultLeftOut, Member: testMember, Entry: 4},
		"object":     {Kind: FaultWronglyListed, Member: testMember, Entry: 1},
		"missing":    {Kind: FaultMemberMissing, Member: testMember, Entry: 0},
		"other tree": {Kind: FaultNotPrefix},
		// Signed as every member's: provable, whoever served it.
		"all, some listed": {Kind: FaultMemberLeftOut, Member: testMember, Entry: 0},
		"all, none listed": {Kind: FaultMemberLeftOut, Member: testMember, Entry: 0},
	} {
		f := got[src]
		if f.Kind != want.Kind || f.Member != want.Member || f.Entry != want.Entry {
			t.Errorf("%s: fault %+v, want %+v", src, f, want)
		}
	}
	if len(rep.KeyIndexFaults) != 6 || len(rep.Problems) != 6 {
		t.Errorf("%d faults, %d problems, want 6 each (the true, prefix and all true indexes pass): %v", len(rep.KeyIndexFaults), len(rep.Problems), rep.Problems)
	}
	for src, want := range map[string]FalseKeyIndex{
		"left out":         {Member: testMember, Index: 4, LeftOut: true, Event: EventRotate},
		"object":           {Member: testMember, Index: 1, Event: "an object entry"},
		"all, some listed": {Member: testMember, Index: 0, LeftOut: true, Unlisted: true, Event: EventRegister},
		"all, none listed": {Member: testMember, Index: 0, LeftOut: true, Unlisted: true, Event: EventRegister},
	} {
		f := got[src]
		ev, err := f.KeyIndexEvidence(ctx, l.vkey, list[f.Index], l, l.tiles, size, "test", "")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		fk, err := VerifyKeyIndexEvidence(l.vkey, ev)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if fk.Member != want.Member || fk.Index != want.Index || fk.LeftOut != want.LeftOut || fk.Unlisted != want.Unlisted || fk.Event != want.Event || fk.Size != size {
			t.Errorf("%s: proves %+v, want %+v", src, fk, want)
		}
	}
	// The true index with a key entry: nothing proved.
	p, err := InclusionProof(ctx, 4, size, l.tiles.reader(size))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKeyIndexEvidence(l.vkey, list[0].KeyIndex, note, l.leaves[4], 4, p, "", ""); !errors.Is(err, ErrKeyIndexEvidence) {
		t.Errorf("evidence of a true index: %v, want ErrKeyIndexEvidence", err)
	}
	// The member left out of an index of some members, of the same
	// body, or of the member-missing fault (served as every member's by
	// an older node): nothing proved.
	p0, err := InclusionProof(ctx, 0, size, l.tiles.reader(size))
	if err != nil {
		t.Fatal(err)
	}
	some := forge(cp, map[string][]uint64{other: {}})
	if _, err := NewKeyIndexEvidence(l.vkey, []byte(some), note, l.leaves[0], 0, p0, "", ""); !errors.Is(err, ErrKeyIndexEvidence) {
		t.Errorf("evidence of a member an index of some members doesn't list: %v, want ErrKeyIndexEvidence", err)
	}
	if _, err := got["missing"].KeyIndexEvidence(ctx, l.vkey, list[got["missing"].Index], l, l.tiles, size, "test", ""); !errors.Is(err, ErrKeyIndexEvidence) {
		t.Errorf("evidence of a member-missing fault: %v, want ErrKeyIndexEvidence", err)
	}
	// The index beside a checkpoint of another tree: nothing proved.
	if _, err := NewKeyIndexEvidence(l.vkey, list[2].KeyIndex, prefixNote, l.leaves[4], 4, p, "", ""); !errors.Is(err, ErrKeyIndexEvidence) {
		t.Errorf("evidence with another tree's checkpoint: %v, want ErrKeyIndexEvidence", err)
	}
}

// TestKeyIndexEvidenceGolden: vectors of false key index evidence for
// other implementations (tlog/testdata/evidence/false-key-index-*-v1.json,
// the fixture log's key), one entry left out, one wrongly listed, and a
// member left out of an index of every member (refused when that index
// is of some members, or changed into one).
func TestKeyIndexEvidenceGolden(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, 2)
	l.addKeyEvent(t, Entry{Event: EventRevokeKey, Key: pubOf(l.key), Authority: AuthorityOperator})
	note := l.checkpoint(t)
	size := uint64(len(l.leaves))
	cp, err := OpenCheckpoint(note, l.verifier)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file     string
		members  map[string][]uint64
		complete bool
		entry    uint64
		means    string
	}{
		{"false-key-index-left-out-v1.json", map[string][]uint64{testMember: {0}}, false, 3, "log parley.test/log signed a key index of the tree of size 4 (root " + cp.Hash.String() + ") that leaves out entry 3, a revoke-key entry of member " + testMember},
		{"false-key-index-listed-v1.json", map[string][]uint64{testMember: {0, 2, 3}}, false, 2, "log parley.test/log signed a key index of the tree of size 4 (root " + cp.Hash.String() + ") that lists entry 2 as a key entry of member " + testMember + ", which it isn't (it is an object entry)"},
		// An index of every member (parley-key-index-all-v1) that
		// doesn't list the member at all.
		{"false-key-index-member-left-out-v1.json", map[string][]uint64{}, true, 3, "log parley.test/log signed a key index of every member of the tree of size 4 (root " + cp.Hash.String() + ") that leaves out member " + testMember + ", whose entry 3 is a revoke-key entry"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ki, err := SignKeyIndex(KeyIndex{Origin: cp.Origin, Size: cp.Size, Hash: cp.Hash, Members: tc.members, Complete: tc.complete}, l.signer)
			if err != nil {
				t.Fatal(err)
			}
			p, err := InclusionProof(ctx, tc.entry, size, l.tiles.reader(size))
			if err != nil {
				t.Fatal(err)
			}
			got, err := NewKeyIndexEvidence(l.vkey, []byte(ki), note, l.leaves[tc.entry], tc.entry, p, "test", "2026-01-01T00:00:00Z")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "evidence", tc.file)
			if *updateEvidence {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("evidence changed (run with -update-evidence if on purpose):\n%s", got)
			}
			f, err := VerifyKeyIndexEvidence(l.vkey, want)
			if err != nil || f.String() != tc.means {
				t.Fatalf("%q, %v; want %q", f, err, tc.means)
			}
			if !tc.complete {
				return
			}
			// The same index of some members proves nothing: it states
			// nothing of a member it doesn't list. Made so by hand, its
			// signature doesn't verify; signed so, it isn't false.
			var e KeyIndexEvidence
			if err := json.Unmarshal(want, &e); err != nil {
				t.Fatal(err)
			}
			e.KeyIndex = strings.Replace(e.KeyIndex, KeyIndexAllHeader+"\n", KeyIndexHeader+"\n", 1)
			tampered, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if f, err := VerifyKeyIndexEvidence(l.vkey, tampered); !errors.Is(err, ErrKeyIndexEvidence) {
				t.Errorf("the index's first line changed: proves %q (%v), want ErrKeyIndexEvidence", f, err)
			}
			some, err := SignKeyIndex(KeyIndex{Origin: cp.Origin, Size: cp.Size, Hash: cp.Hash, Members: tc.members}, l.signer)
			if err != nil {
				t.Fatal(err)
			}
			e.KeyIndex = some
			partial, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if f, err := VerifyKeyIndexEvidence(l.vkey, partial); !errors.Is(err, ErrKeyIndexEvidence) {
				t.Errorf("an index of some members: proves %q (%v), want ErrKeyIndexEvidence", f, err)
			}
		})
	}
}

// FuzzVerifyKeyIndexEvidence: any document is refused or proves what it
// says; none panics, and a document that proves something proves it
// again from its re-encoding.
func FuzzVerifyKeyIndexEvidence(f *testing.F) {
	for _, name := range []string{"false-key-index-left-out-v1.json", "false-key-index-listed-v1.json", "false-key-index-member-left-out-v1.json", "false-key-index-other-tree-v1.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "evidence", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		for _, s := range hostileSeeds(b, "inclusion_proof") {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fk FalseKeyIndex
		var err error
		allocBounded(t, len(data), func() { fk, err = VerifyKeyIndexEvidence("", data) })
		if err == nil && !utf8.Valid(data) {
			t.Fatal("proved something from evidence of invalid UTF-8")
		}
		if err != nil {
			if !errors.Is(err, ErrKeyIndexEvidence) {
				t.Fatalf("error not wrapping ErrKeyIndexEvidence: %v", err)
			}
			return
		}
		var e KeyIndexEvidence
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatal(err)
		}
		var again []byte
		if e.Entry == nil {
			again, err = NewKeyIndexTreeEvidence(e.LogKey, []byte(e.KeyIndex), []byte(e.Checkpoint), e.FoundBy, e.FoundAt)
		} else {
			again, err = NewKeyIndexEvidence(e.LogKey, []byte(e.KeyIndex), []byte(e.Checkpoint), e.Entry.Entry, e.Entry.LogIndex, e.Entry.InclusionProof, e.FoundBy, e.FoundAt)
		}
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if fk2, err := VerifyKeyIndexEvidence("", again); err != nil || fk2.String() != fk.String() {
			t.Fatalf("re-encoded proves %q (%v), first %q", fk2, err, fk)
		}
	})
}

// TestKeyIndexEvidenceOtherTree: a key index signed by the log key beside
// a checkpoint it signed of the same size and another root, with no
// entry, proves the index of another tree than the log's (the golden
// vector false-key-index-other-tree-v1.json, the fixture log's key).
// Without an entry, a checkpoint of the index's own tree, of another
// size, or signed by another key proves nothing; nor does an entry
// beside a checkpoint of another root.
func TestKeyIndexEvidenceOtherTree(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, 2)
	l.addKeyEvent(t, Entry{Event: EventRevokeKey, Key: pubOf(l.key), Authority: AuthorityOperator})
	cpNote := l.checkpoint(t)
	size := uint64(len(l.leaves))
	cp, err := OpenCheckpoint(cpNote, l.verifier)
	if err != nil {
		t.Fatal(err)
	}
	other := cp.Hash
	other[0] ^= 1
	members := map[string][]uint64{testMember: {0, 3}}
	ki, err := SignKeyIndex(KeyIndex{Origin: cp.Origin, Size: cp.Size, Hash: other, Members: members}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewKeyIndexTreeEvidence(l.vkey, []byte(ki), cpNote, "test", "2026-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "evidence", "false-key-index-other-tree-v1.json")
	if *updateEvidence {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("evidence changed (run with -update-evidence if on purpose):\n%s", got)
	}
	means := "log parley.test/log signed a key index of the tree of size 4 with root " + other.String() + " and a checkpoint of size 4 with root " + cp.Hash.String() + ": two different trees of one size"
	f, err := VerifyKeyIndexEvidence(l.vkey, want)
	if err != nil || f.String() != means || !f.OtherTree || f.Size != size || f.Hash != other || f.CheckpointHash != cp.Hash {
		t.Fatalf("%+v, %v; want %q", f, err, means)
	}
	if bytes.Contains(want, []byte(`"entry"`)) {
		t.Fatalf("evidence of another tree has an entry:\n%s", want)
	}

	refused := func(what string, data []byte) {
		t.Helper()
		if f, err := VerifyKeyIndexEvidence(l.vkey, data); !errors.Is(err, ErrKeyIndexEvidence) {
			t.Errorf("%s: proves %q (%v), want ErrKeyIndexEvidence", what, f, err)
		}
	}
	doc := func(keyIndex string, checkpoint []byte, entry *BundleKey) []byte {
		b, err := json.Marshal(KeyIndexEvidence{Type: KeyIndexEvidenceType, LogKey: l.vkey, KeyIndex: keyIndex, Checkpoint: string(checkpoint), Entry: entry})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	same, err := SignKeyIndex(KeyIndex{Origin: cp.Origin, Size: cp.Size, Hash: cp.Hash, Members: members}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	refused("the index's own tree", doc(same, cpNote, nil))
	smaller, err := SignKeyIndex(KeyIndex{Origin: cp.Origin, Size: size - 1, Hash: other, Members: map[string][]uint64{testMember: {0}}}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	refused("another size", doc(smaller, cpNote, nil))
	skey, _, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := SignKeyIndex(KeyIndex{Origin: cp.Origin, Size: cp.Size, Hash: other, Members: members}, stranger)
	if err != nil {
		t.Fatal(err)
	}
	refused("an index signed by another key", doc(forged, cpNote, nil))
	p, err := InclusionProof(ctx, 3, size, l.tiles.reader(size))
	if err != nil {
		t.Fatal(err)
	}
	refused("an entry beside another root", doc(ki, cpNote, &BundleKey{Entry: l.leaves[3], LogIndex: 3, InclusionProof: p}))
	// A changed root in the evidence's checkpoint breaks its signature.
	var e map[string]any
	if err := json.Unmarshal(want, &e); err != nil {
		t.Fatal(err)
	}
	e["checkpoint"] = strings.Replace(e["checkpoint"].(string), cp.Hash.String(), other.String(), 1)
	tampered, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	refused("a tampered checkpoint", tampered)
}

// TestAuditKeyLookup: with a KeyLookup (how the server finds member key
// entries to index), Audit compares the index of every member, and that
// of each member alone, that the look-up builds with the replay. A key
// entry the look-up misses (its kind column damaged), an entry it takes
// for a key entry, and a key entry filed under another member (found in
// every member's index, not in its own member's) are each a problem; an
// honest look-up none.
func TestAuditKeyLookup(t *testing.T) {
	ctx := context.Background()
	other := "identity--" + strings.Repeat("b", 8) + "-0000-4000-8000-000000000000"
	l := newTestLog(t, 2)
	l.addKeyEvent(t, Entry{Event: EventRotate, Key: pubOf(testKey(1)), Authority: AuthorityOperator})
	l.addKeyEvent(t, Entry{Member: other, Event: EventRegister, Key: pubOf(testKey(2)), Authority: AuthorityOperator})
	l.checkpoint(t)
	// rows is the look-up table: each entry's kind and member as the
	// store's columns hold them.
	type row struct {
		kind, member string
	}
	honest := func() map[uint64]row {
		rows := map[uint64]row{}
		for i, leaf := range l.leaves {
			e, err := ParseEntry(leaf)
			if err != nil {
				t.Fatal(err)
			}
			rows[uint64(i)] = row{e.Kind, e.Member}
		}
		return rows
	}
	lookupOf := func(rows map[uint64]row) KeyLookup {
		return func(_ context.Context, size uint64, members []string) (KeyIndex, error) {
			var keys []BundleKey
			for i := uint64(0); i < size; i++ {
				r := rows[i]
				if r.kind != KindMemberKey || (len(members) > 0 && !slices.Contains(members, r.member)) {
					continue
				}
				keys = append(keys, BundleKey{Entry: l.leaves[i], LogIndex: i})
			}
			cp, err := OpenCheckpoint(l.notes[len(l.notes)-1], l.verifier)
			if err != nil {
				return KeyIndex{}, err
			}
			return NewKeyIndex(cp, keys, members)
		}
	}
	audit := func(rows map[uint64]row) []string {
		t.Helper()
		rep, err := Audit(ctx, l, AuditOptions{Verifier: l.verifier, Tiles: l.tiles, KeyLookup: lookupOf(rows)})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range rep.Problems {
			out = append(out, p.String())
		}
		return out
	}
	if p := audit(honest()); len(p) != 0 {
		t.Fatalf("an honest look-up: problems %q", p)
	}
	for name, tc := range map[string]struct {
		change func(map[uint64]row)
		want   string
	}{
		"a key entry missed":                     {func(r map[uint64]row) { r[3] = row{KindObject, testMember} }, "(every member, as GET /log/keys finds them) disagrees with the entries: it leaves out entry 3, a member key entry of " + testMember},
		"an object taken for a key entry":        {func(r map[uint64]row) { r[1] = row{KindMemberKey, testMember} }, "it lists entry 1 as a member key entry"},
		"a member's only key entry missed":       {func(r map[uint64]row) { r[4] = row{KindObject, other} }, "it doesn't find " + other + ", whose key entries start at entry 4"},
		"a key entry filed under another member": {func(r map[uint64]row) { r[3] = row{KindMemberKey, other} }, "(member " + testMember + ", as GET /log/keys finds them) disagrees with the entries: it leaves out entry 3"},
	} {
		rows := honest()
		tc.change(rows)
		p := audit(rows)
		if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), tc.want) || !strings.Contains(p[0], "the node would serve a false key index") {
			t.Errorf("%s: problems %q, want one with %q", name, p, tc.want)
		}
	}
}

package tlog

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func auditOK(t *testing.T, l *testLog, opts AuditOptions) *AuditReport {
	t.Helper()
	opts.Verifier = l.verifier
	rep, err := Audit(context.Background(), l, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestAuditClean(t *testing.T) {
	l := newTestLog(t, 600)
	var calls int
	rep := auditOK(t, l, AuditOptions{Tiles: l.tiles, AllObjects: true, Progress: func(done, total uint64) { calls++ }})
	if !rep.OK() || rep.Entries != 600 || rep.Objects != 600 || rep.Unsigned != 0 || calls == 0 {
		t.Fatalf("report %+v, progress calls %d", rep, calls)
	}
}

func TestAuditNamesTamperedObject(t *testing.T) {
	l := newTestLog(t, 20)
	l.objects[7] = bytes.Replace(l.objects[7], []byte("198.51.100.7"), []byte("198.51.100.8"), 1)
	rep := auditOK(t, l, AuditOptions{AllObjects: true})
	if len(rep.Problems) != 1 || rep.Problems[0].ObjectID != "indicator--00000007-0000-4000-8000-000000000000" {
		t.Fatalf("problems %v", rep.Problems)
	}
}

func TestAuditNamesMissingObject(t *testing.T) {
	l := newTestLog(t, 5)
	l.objects[3] = nil
	rep := auditOK(t, l, AuditOptions{AllObjects: true})
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 3 {
		t.Fatalf("problems %v", rep.Problems)
	}
	// A remote auditor that may not read it isn't told anything is wrong.
	if rep := auditOK(t, l, AuditOptions{}); !rep.OK() || rep.Objects != 4 {
		t.Fatalf("remote report %+v", rep)
	}
}

func TestAuditNamesTamperedEntry(t *testing.T) {
	l := newTestLog(t, 300)
	l.leaves[260] = bytes.Replace(l.leaves[260], []byte("20:00:00.00000026"), []byte("19:00:00.00000026"), 1)
	rep := auditOK(t, l, AuditOptions{Tiles: l.tiles})
	var named, root bool
	for _, p := range rep.Problems {
		if p.Index == 260 && p.ObjectID == "indicator--00000260-0000-4000-8000-000000000000" {
			named = true
		}
		if p.Index == -1 && strings.Contains(p.Reason, "root") {
			root = true
		}
	}
	if !named || !root {
		t.Fatalf("problems %v", rep.Problems)
	}
}

func TestAuditBadCheckpoint(t *testing.T) {
	l := newTestLog(t, 3)
	l.notes[0] = bytes.Replace(l.notes[0], []byte("\n3\n"), []byte("\n2\n"), 1)
	if rep := auditOK(t, l, AuditOptions{}); rep.OK() {
		t.Fatal("forged checkpoint accepted")
	}
}

// TestAuditForkEvidence: a node that signs two different trees of one size
// is caught, and both checkpoints are kept.
func TestAuditForkEvidence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seen.json")
	l := newTestLog(t, 10)
	seen, err := LoadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	if rep := auditOK(t, l, AuditOptions{Seen: seen}); !rep.OK() {
		t.Fatal(rep.Problems)
	}
	if err := seen.Save(); err != nil {
		t.Fatal(err)
	}
	first := l.notes[0]

	// The same node key signs another history of the same size.
	other := newTestLog(t, 10)
	other.objects[9] = other.objects[8]
	other.leaves[9] = other.leaves[8]
	forged := other.checkpoint(t)
	l.notes = append(l.notes, forged)
	l.leaves, l.objects, l.salts = other.leaves, other.objects, other.salts
	seen, _ = LoadSeen(path)
	rep := auditOK(t, l, AuditOptions{Seen: seen})
	if rep.OK() || rep.Fork == nil {
		t.Fatalf("fork not caught: %+v", rep)
	}
	if err := seen.Save(); err != nil {
		t.Fatal(err)
	}
	again, _ := LoadSeen(path)
	var haveFirst, haveForged bool
	for _, n := range again.Notes {
		haveFirst = haveFirst || n == string(first)
		haveForged = haveForged || n == string(forged)
	}
	if !haveFirst || !haveForged {
		t.Fatalf("evidence not kept: %d notes", len(again.Notes))
	}

	// A later, longer log must still contain the seen prefix.
	grown := newTestLog(t, 12)
	seen, _ = LoadSeen(path)
	seen.Notes = []string{string(first)}
	if rep := auditOK(t, grown, AuditOptions{Seen: seen}); !rep.OK() {
		t.Fatalf("consistent growth flagged: %v", rep.Problems)
	}
	seen.Notes = []string{string(forged)}
	if rep := auditOK(t, grown, AuditOptions{Seen: seen}); rep.OK() {
		t.Fatal("growth from a forked prefix accepted")
	}
	// A log that shrank below a seen checkpoint is caught.
	small := newTestLog(t, 4)
	seen.Notes = []string{string(first)}
	if rep := auditOK(t, small, AuditOptions{Seen: seen}); rep.OK() {
		t.Fatal("shrunk log accepted")
	}
}

func TestVerifyBundle(t *testing.T) {
	l := newTestLog(t, 40)
	b := l.bundle(t, 3, 39)
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	res, err := VerifyBundle(data, "")
	if err != nil || len(res.Items) != 2 || !res.Items[0].Signed || res.Checkpoint.Size != 40 {
		t.Fatalf("VerifyBundle = %+v, %v", res, err)
	}
	if _, err := VerifyBundle(data, l.vkey); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBundle(data, "other+01234567+AaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaA"); err == nil {
		t.Fatal("bundle accepted against another pinned key")
	}
	mutations := map[string]func(b *Bundle){
		"object": func(b *Bundle) {
			b.Items[0].Object = bytes.Replace(b.Items[0].Object, []byte("test 3"), []byte("test 4"), 1)
		},
		"signature": func(b *Bundle) {
			b.Items[1].Object = bytes.Replace(b.Items[1].Object, []byte(`"signature":"`), []byte(`"signature":"A`), 1)
		},
		"entry": func(b *Bundle) {
			b.Items[0].Entry = bytes.Replace(b.Items[0].Entry, []byte("20:00"), []byte("21:00"), 1)
		},
		"salt":        func(b *Bundle) { b.Items[0].Salt[0] ^= 1 },
		"proof":       func(b *Bundle) { b.Items[1].InclusionProof[0][5] ^= 1 },
		"index":       func(b *Bundle) { b.Items[0].LogIndex = 2 },
		"checkpoint":  func(b *Bundle) { b.Checkpoint = strings.Replace(b.Checkpoint, "\n40\n", "\n41\n", 1) },
		"member key":  func(b *Bundle) { b.Members[0].PublicKey[0] ^= 1 },
		"no member":   func(b *Bundle) { b.Members = nil },
		"other entry": func(b *Bundle) { b.Items[0].Entry = l.leaves[4] },
		"type":        func(b *Bundle) { b.Type = "x" },
	}
	for name, mut := range mutations {
		var c Bundle
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		mut(&c)
		bad, _ := json.Marshal(c)
		if _, err := VerifyBundle(bad, ""); err == nil {
			t.Errorf("%s changed: bundle still verifies", name)
		}
	}
}

// TestVerifyBundleAnyByte flips every byte of a small bundle's JSON in turn:
// either the JSON stops parsing or verification fails, unless the flip
// only touched insignificant bytes (none exist in the compact encoding
// apart from the key order, which json ignores).
func TestVerifyBundleAnyByte(t *testing.T) {
	l := newTestLog(t, 3)
	data, _ := json.Marshal(l.bundle(t, 1))
	if _, err := VerifyBundle(data, ""); err != nil {
		t.Fatal(err)
	}
	var accepted []int
	for i := range data {
		mod := bytes.Clone(data)
		mod[i] ^= 0x01
		if _, err := VerifyBundle(mod, ""); err == nil {
			accepted = append(accepted, i)
		}
	}
	for _, i := range accepted {
		// Flipping the case of a JSON member name can still decode
		// (encoding/json matches names case-insensitively) — and must not
		// change any value, so those are acceptable; anything else isn't.
		if !isNameByte(data, i) {
			t.Errorf("flipping byte %d (%q) left the bundle valid", i, data[max(0, i-20):min(len(data), i+20)])
		}
	}
}

// isNameByte reports whether data[i] is part of a JSON member name of the
// bundle's own structure, whose case-insensitive decoding is harmless.
func isNameByte(data []byte, i int) bool {
	for _, name := range []string{"type", "log_key", "checkpoint", "members", "items", "id", "name", "public_key", "object", "entry", "salt", "log_index", "inclusion_proof"} {
		q := []byte(`"` + name + `":`)
		for off := 0; ; {
			j := bytes.Index(data[off:], q)
			if j < 0 {
				break
			}
			j += off
			if i > j && i < j+len(q)-2 {
				return true
			}
			off = j + 1
		}
	}
	return false
}

// proverLog adds the log's own consistency proofs to a testLog, optionally
// corrupted.
type proverLog struct {
	*testLog
	corrupt bool
}

func (p proverLog) ConsistencyProof(ctx context.Context, from, to uint64) ([]Hash, error) {
	proof, err := ConsistencyProof(ctx, from, to, p.tiles.reader(to))
	if err == nil && p.corrupt && len(proof) > 0 {
		proof[0][0] ^= 1
	}
	return proof, err
}

func TestAuditChecksServedConsistencyProofs(t *testing.T) {
	small := newTestLog(t, 5)
	seen := &SeenCheckpoints{Notes: []string{string(small.notes[0])}}
	l := newTestLog(t, 300)
	rep, err := Audit(context.Background(), proverLog{l, false}, AuditOptions{Verifier: l.verifier, Seen: seen})
	if err != nil || !rep.OK() {
		t.Fatalf("good proofs: %+v %v", rep, err)
	}
	seen = &SeenCheckpoints{Notes: []string{string(small.notes[0])}}
	rep, err = Audit(context.Background(), proverLog{l, true}, AuditOptions{Verifier: l.verifier, Seen: seen})
	if err != nil || rep.OK() || !strings.Contains(rep.Problems[0].Reason, "consistency proof") {
		t.Fatalf("corrupt proofs: %+v %v", rep, err)
	}
}

func TestAuditChecksHigherTiles(t *testing.T) {
	l := newTestLog(t, 600)
	// Corrupt a level-0 hash inside a full tile's subtree that isn't a
	// leaf the audit compares (the level-1 tile is what changes the root).
	k := [2]uint64{1, 0}
	d := bytes.Clone(l.tiles.tiles[k])
	d[0] ^= 1
	l.tiles.tiles[k] = d
	rep := auditOK(t, l, AuditOptions{Tiles: l.tiles})
	if rep.OK() {
		t.Fatal("corrupt level-1 tile not caught")
	}
}

// FuzzVerifyBundle: arbitrary bytes never panic the offline verifier, and
// anything it accepts proves something in a checkpoint signed by the key
// it names.
func FuzzVerifyBundle(f *testing.F) {
	l := newTestLog(f, 3)
	good, _ := json.Marshal(l.bundle(f, 0, 2))
	f.Add(good)
	f.Add([]byte(`{"type":"parley-proof-bundle-v1","items":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := VerifyBundle(data, "")
		if err != nil {
			return
		}
		if len(res.Items) == 0 || res.LogKey == "" {
			t.Fatalf("accepted an empty result: %+v", res)
		}
	})
}

// TestAuditBackdatedEntry: a node that signs a log in which an object
// entry claims an earlier time than the one before it is caught, even
// though the tree and checkpoint are consistent.
func TestAuditBackdatedEntry(t *testing.T) {
	l := newTestLog(t, 8)
	e, err := ParseEntry(l.leaves[5])
	if err != nil {
		t.Fatal(err)
	}
	e.Received = e.Received.Add(-time.Hour)
	if l.leaves[5], err = e.Marshal(); err != nil {
		t.Fatal(err)
	}
	l.notes = nil
	l.checkpoint(t)
	rep := auditOK(t, l, AuditOptions{Tiles: l.tiles})
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 5 || !strings.Contains(rep.Problems[0].Reason, "back-dated") {
		t.Fatalf("problems %v", rep.Problems)
	}
}

// movedLog reports one object as stored in another collection than its
// entry names.
type movedLog struct{ *testLog }

func (m movedLog) Objects(ctx context.Context, start, end uint64, fn func(uint64, string, []byte, []byte) error) error {
	return m.testLog.Objects(ctx, start, end, func(i uint64, c string, o, s []byte) error {
		if i == 2 {
			c = "00000000-0000-4000-8000-000000000000"
		}
		return fn(i, c, o, s)
	})
}

func TestAuditCollectionMismatch(t *testing.T) {
	l := newTestLog(t, 4)
	rep, err := Audit(context.Background(), movedLog{l}, AuditOptions{Verifier: l.verifier})
	if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Index != 2 || !strings.Contains(rep.Problems[0].Reason, "collection") {
		t.Fatalf("%+v %v", rep, err)
	}
}

// A private set has one OPRF key for life: a second, different key entry
// for the same set is named by the audit, while the same key logged again
// and keys of other sets are not problems.
func TestAuditNamesSecondSetKey(t *testing.T) {
	l := newTestLog(t, 3)
	addKey := func(set string, key byte) {
		e := Entry{
			Kind: KindOPRFKey, ObjectID: set, Version: "2026-11-24T20:00:00Z",
			Collection: "91a7b528-80eb-42ed-a74d-c6fbd5a26116", Member: l.member,
			Received:   time.Date(2026, 11, 24, 21, 0, 0, len(l.leaves), time.UTC),
			Commitment: KeyCommitment("ristretto255-SHA512", bytes.Repeat([]byte{key}, 32)),
		}
		leaf, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		l.leaves = append(l.leaves, leaf)
		l.objects = append(l.objects, nil)
		l.salts = append(l.salts, nil)
	}
	addKey("set-a", 1)
	addKey("set-b", 2)
	addKey("set-a", 1)
	l.checkpoint(t)
	if rep := auditOK(t, l, AuditOptions{AllObjects: true}); !rep.OK() {
		t.Fatalf("one key per set: problems %v", rep.Problems)
	}
	addKey("set-a", 3)
	l.checkpoint(t)
	rep := auditOK(t, l, AuditOptions{AllObjects: true})
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 6 || rep.Problems[0].ObjectID != "set-a" ||
		!strings.Contains(rep.Problems[0].Reason, "second OPRF key") {
		t.Fatalf("problems %v", rep.Problems)
	}
}

package tlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
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
	if !rep.OK() || rep.Entries != 601 || rep.Objects != 600 || rep.Unsigned != 0 || calls == 0 {
		t.Fatalf("report %+v, progress calls %d", rep, calls)
	}
	// The report carries the key history the log shows.
	if k, ok := rep.Keys.KeyAt(l.member, 600); !ok || !k.Key.Equal(pubOf(l.key)) || k.From != 0 || k.Authority != AuthorityOperator {
		t.Fatalf("key in force at 600: %+v %v", k, ok)
	}
}

func TestAuditNamesTamperedObject(t *testing.T) {
	l := newTestLog(t, 20)
	l.objects[7] = bytes.Replace(l.objects[7], []byte("198.51.100.7"), []byte("198.51.100.8"), 1)
	rep := auditOK(t, l, AuditOptions{AllObjects: true})
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 7 || rep.Problems[0].ObjectID != objectID(7) ||
		!strings.Contains(rep.Problems[0].Reason, "commitment") {
		t.Fatalf("problems %v", rep.Problems)
	}
}

func TestAuditNamesMissingObject(t *testing.T) {
	l := newTestLog(t, 5)
	l.objects[3] = nil
	rep := auditOK(t, l, AuditOptions{AllObjects: true})
	// Entry 0 (a member key entry) has no object and isn't a problem.
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 3 || !strings.Contains(rep.Problems[0].Reason, "isn't in the store") {
		t.Fatalf("problems %v", rep.Problems)
	}
	// A remote auditor that may not read it isn't told anything is wrong.
	if rep := auditOK(t, l, AuditOptions{}); !rep.OK() || rep.Objects != 4 {
		t.Fatalf("remote report %+v", rep)
	}
	// The node's own store knows which object the entry was for.
	rep, err := Audit(context.Background(), namedLog{l}, AuditOptions{Verifier: l.verifier, AllObjects: true})
	if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Index != 3 || rep.Problems[0].ObjectID != objectID(3) {
		t.Fatalf("named: %+v %v", rep, err)
	}
}

// namedLog is a testLog that, like the node's store, knows the object of
// every entry, also when the object itself is gone.
type namedLog struct{ *testLog }

func (n namedLog) EntryObjectID(_ context.Context, i uint64) (string, error) {
	return n.openings[i].ObjectID, nil
}

func TestAuditNamesTamperedEntry(t *testing.T) {
	l := newTestLog(t, 300)
	l.leaves[260] = bytes.Replace(l.leaves[260], []byte("20:00:00.00000026"), []byte("19:00:00.00000026"), 1)
	rep := auditOK(t, l, AuditOptions{Tiles: l.tiles})
	var named, root bool
	for _, p := range rep.Problems {
		if p.Index == 260 && p.ObjectID == objectID(260) && strings.Contains(p.Reason, "the entry was changed") {
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
	l.notes[0] = bytes.Replace(l.notes[0], []byte("\n4\n"), []byte("\n3\n"), 1)
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
	other.objects[9], other.openings[9] = other.objects[8], other.openings[8]
	other.leaves[9] = other.leaves[8]
	forged := other.checkpoint(t)
	l.notes = append(l.notes, forged)
	l.leaves, l.objects, l.openings = other.leaves, other.objects, other.openings
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
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 5 || rep.Problems[0].ObjectID != objectID(5) || !strings.Contains(rep.Problems[0].Reason, "back-dated") {
		t.Fatalf("problems %v", rep.Problems)
	}
}

// reordered builds a log in which entry 6, added by add, claims a received
// time shifted by d (so that it is later than the object entry after it,
// or earlier than the one before it).
func reordered(t *testing.T, add func(l *testLog), d time.Duration) *testLog {
	t.Helper()
	l := newTestLog(t, 5)
	add(l)
	e, err := ParseEntry(l.leaves[6])
	if err != nil {
		t.Fatal(err)
	}
	e.Received = e.Received.Add(d)
	if l.leaves[6], err = e.Marshal(); err != nil {
		t.Fatal(err)
	}
	l.addObject(t, l.key)
	l.checkpoint(t)
	return l
}

// TestAuditOrderAcrossKinds: every entry kind takes part in the one
// received-time order, though the object entries alone are in order here.
// A member key or OPRF key entry stamped later than the object entry after
// it is named (at the object entry, which comes too early after it); one
// stamped earlier than the object entry before it is named itself.
func TestAuditOrderAcrossKinds(t *testing.T) {
	for name, add := range map[string]func(*testLog){
		"member-key": func(l *testLog) {
			l.addKeyEvent(t, Entry{Member: "identity--00000000-0000-4000-8000-000000000001", Event: EventRegister, Authority: AuthorityOperator})
		},
		"oprf-key":        func(l *testLog) { l.addOPRFKey(t, "set-a", 1) },
		"oprf-withdrawal": func(l *testLog) { l.addOPRFWithdrawal(t, "set-a", 1) },
	} {
		t.Run(name, func(t *testing.T) {
			// In order, the same entries are clean.
			l := newTestLog(t, 5)
			add(l)
			l.addObject(t, l.key)
			l.checkpoint(t)
			if rep := auditOK(t, l, AuditOptions{AllObjects: true, Tiles: l.tiles}); !rep.OK() {
				t.Fatalf("in order: problems %v", rep.Problems)
			}
			for d, at := range map[time.Duration]int64{time.Hour: 7, -time.Hour: 6} {
				l = reordered(t, add, d)
				rep := auditOK(t, l, AuditOptions{AllObjects: true, Tiles: l.tiles})
				if len(rep.Problems) != 1 || rep.Problems[0].Index != at || !strings.Contains(rep.Problems[0].Reason, "back-dated or reordered") {
					t.Fatalf("shifted by %v: problems %v", d, rep.Problems)
				}
			}
		})
	}
}

// swapLog is the operator key swap attack: the log registers key A for the
// member (entry 0), objects signed with A follow, then the operator alone
// asserts a rotation to key B (entry 4) and posts an object signed with B
// in the member's name (entry 5).
func swapLog(t *testing.T) (l *testLog, b ed25519.PrivateKey) {
	t.Helper()
	l = newTestLog(t, 3)
	b = testKey(0xbb)
	l.addKeyEvent(t, Entry{Event: EventRotate, Key: pubOf(b), Authority: AuthorityOperator})
	l.addObject(t, b)
	l.checkpoint(t)
	return l, b
}

// TestAuditOperatorKeySwap: the swapped-in key is in force in the log, so
// the forged object verifies cryptographically; only the member itself can
// tell that it never held key B, and an audit told its key names B.
func TestAuditOperatorKeySwap(t *testing.T) {
	l, b := swapLog(t)
	a := pubOf(l.key)
	rep := auditOK(t, l, AuditOptions{AllObjects: true})
	if !rep.OK() || rep.Objects != 4 {
		t.Fatalf("without the member's key: %+v", rep)
	}
	if k, ok := rep.Keys.KeyAt(l.member, 5); !ok || !k.Key.Equal(pubOf(b)) || !k.OperatorAsserted() {
		t.Fatalf("key in force at 5: %+v %v", k, ok)
	}

	rep = auditOK(t, l, AuditOptions{AllObjects: true, Mine: []ed25519.PublicKey{a}})
	if len(rep.Problems) != 1 {
		t.Fatalf("with Mine=[A]: problems %v", rep.Problems)
	}
	p := rep.Problems[0]
	if p.Index != 4 || !strings.Contains(p.Reason, base64.StdEncoding.EncodeToString(pubOf(b))) ||
		!strings.Contains(p.Reason, l.member) || !strings.Contains(p.Reason, "operator-asserted") ||
		!strings.Contains(p.Reason, "don't hold") {
		t.Fatalf("problem %v", p)
	}

	// The member who did rotate holds both keys: clean.
	if rep := auditOK(t, l, AuditOptions{Mine: []ed25519.PublicKey{a, pubOf(b)}}); !rep.OK() {
		t.Fatalf("with Mine=[A,B]: problems %v", rep.Problems)
	}
	// Without the swap, Mine=[A] is clean.
	clean := newTestLog(t, 3)
	if rep := auditOK(t, clean, AuditOptions{AllObjects: true, Mine: []ed25519.PublicKey{a}}); !rep.OK() {
		t.Fatalf("no swap: problems %v", rep.Problems)
	}
	// A key no member of the log is registered with is a problem too: the
	// operator may have registered the member with another key from the
	// start.
	rep = auditOK(t, clean, AuditOptions{Mine: []ed25519.PublicKey{pubOf(testKey(0xcc))}})
	if len(rep.Problems) != 1 || rep.Problems[0].Index != -1 || !strings.Contains(rep.Problems[0].Reason, "no member") {
		t.Fatalf("unregistered key: problems %v", rep.Problems)
	}
}

// TestAuditKeyInForce: an object signed by a key rotated out before its
// entry is named, while the objects it signed before the rotation are not
// blamed.
func TestAuditKeyInForce(t *testing.T) {
	l := newTestLog(t, 2)
	b := testKey(0xbb)
	stmt := ed25519.Sign(l.key, RotationMessage(pubOf(l.key), pubOf(b)))
	l.addKeyEvent(t, Entry{Event: EventRotate, Key: pubOf(b), Authority: AuthorityMember, Statement: stmt})
	l.addObject(t, b)     // 4: signed with the key in force
	l.addObject(t, l.key) // 5: signed with the rotated-out key
	l.checkpoint(t)
	rep := auditOK(t, l, AuditOptions{AllObjects: true})
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 5 || rep.Problems[0].ObjectID != objectID(5) ||
		!strings.Contains(rep.Problems[0].Reason, "key in force") {
		t.Fatalf("problems %v", rep.Problems)
	}
	if k, ok := rep.Keys.KeyAt(l.member, 4); !ok || k.Authority != AuthorityMember {
		t.Fatalf("member-signed rotation recorded as %+v %v", k, ok)
	}
}

// TestAuditNamesBadKeyEvents: member key entries the log should never
// contain are named at their index, and change nothing.
func TestAuditNamesBadKeyEvents(t *testing.T) {
	for name, c := range map[string]struct {
		e    Entry
		want string
	}{
		"second register": {Entry{Event: EventRegister, Key: pubOf(testKey(9)), Authority: AuthorityOperator}, "second time"},
		"bad statement": {Entry{Event: EventRotate, Key: pubOf(testKey(9)), Authority: AuthorityMember,
			Statement: ed25519.Sign(testKey(9), RotationMessage(pubOf(testKey(9)), pubOf(testKey(9))))}, "doesn't verify"},
		"unregistered member": {Entry{Member: "identity--00000000-0000-4000-8000-00000000dead", Event: EventRotate,
			Key: pubOf(testKey(9)), Authority: AuthorityOperator}, "isn't registered"},
	} {
		t.Run(name, func(t *testing.T) {
			l := newTestLog(t, 2)
			l.addKeyEvent(t, c.e)
			l.addObject(t, l.key) // still the key in force
			l.checkpoint(t)
			rep := auditOK(t, l, AuditOptions{AllObjects: true})
			if len(rep.Problems) != 1 || rep.Problems[0].Index != 3 || !strings.Contains(rep.Problems[0].Reason, c.want) {
				t.Fatalf("problems %v", rep.Problems)
			}
		})
	}
}

// TestAuditNamesTamperedOpening: a store or node that serves an object
// with any field of its opening changed (the object moved to another
// collection, credited to another member, …) is named, since the opening
// no longer opens the entry's commitment.
func TestAuditNamesTamperedOpening(t *testing.T) {
	for name, mut := range map[string]func(*Opening){
		"salt":       func(op *Opening) { op.Salt = testSalt(99) },
		"collection": func(op *Opening) { op.Collection = "00000000-0000-4000-8000-000000000000" },
		"object id":  func(op *Opening) { op.ObjectID = objectID(3) },
		"version":    func(op *Opening) { op.Version = "2026-01-01T00:00:00.001Z" },
		"member":     func(op *Opening) { op.Member = "identity--00000000-0000-4000-8000-000000000001" },
	} {
		t.Run(name, func(t *testing.T) {
			l := newTestLog(t, 4)
			op := l.openings[2]
			op.Salt = bytes.Clone(op.Salt)
			mut(&op)
			l.openings[2] = op
			rep := auditOK(t, l, AuditOptions{AllObjects: true})
			if len(rep.Problems) != 1 || rep.Problems[0].Index != 2 || rep.Problems[0].ObjectID != op.ObjectID ||
				!strings.Contains(rep.Problems[0].Reason, "commitment") {
				t.Fatalf("problems %v", rep.Problems)
			}
		})
	}
}

// TestAuditUnsignedAndKeyEntries: an unsigned object (allowed by its
// collection's policy) is counted, not a problem; OPRF key and member key
// entries have no object and aren't missing ones; an object served for an
// entry that isn't an object entry is named.
func TestAuditUnsignedAndKeyEntries(t *testing.T) {
	l := newTestLog(t, 2)
	l.addObject(t, nil)
	l.addOPRFKey(t, "set-a", 1)
	l.addObject(t, l.key)
	l.checkpoint(t)
	rep := auditOK(t, l, AuditOptions{AllObjects: true, Tiles: l.tiles})
	if !rep.OK() || rep.Objects != 4 || rep.Unsigned != 1 || rep.Entries != 6 {
		t.Fatalf("report %+v", rep)
	}
	l.objects[4], l.openings[4] = l.objects[5], l.openings[5]
	rep = auditOK(t, l, AuditOptions{AllObjects: true})
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 4 || !strings.Contains(rep.Problems[0].Reason, "not an object entry") {
		t.Fatalf("problems %v", rep.Problems)
	}
	// So is one served for a member key entry (in clear, no commitment).
	l.objects[4], l.openings[4] = nil, Opening{}
	l.objects[0], l.openings[0] = l.objects[1], l.openings[1]
	rep = auditOK(t, l, AuditOptions{AllObjects: true})
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 0 || !strings.Contains(rep.Problems[0].Reason, "not an object entry") {
		t.Fatalf("an object served for the member key entry 0: problems %v", rep.Problems)
	}
}

// copyingSource hands out a fresh copy of every object, as a store that
// reads rows does, and samples the live heap every few objects.
type copyingSource struct {
	*testLog
	base, peak uint64
	n          int
}

func (c *copyingSource) Objects(ctx context.Context, start, end uint64, fn func(uint64, Opening, []byte) error) error {
	return c.testLog.Objects(ctx, start, end, func(i uint64, op Opening, object []byte) error {
		if c.n++; c.n%16 == 0 {
			if h := liveHeap(); h > c.base && h-c.base > c.peak {
				c.peak = h - c.base
			}
		}
		return fn(i, op, bytes.Clone(object))
	})
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestAuditMemoryBoundedByBytes audits 400 objects of 160 KB (64 MB,
// all in one chunk of entries) with the objects' byte budget at 8 MiB: the
// audit may hold only about the budget's worth of objects at a time, not
// the chunk's, and still checks every one (a tampered one late in the
// log is named).
func TestAuditMemoryBoundedByBytes(t *testing.T) {
	defer func(b int) { auditObjectBytes = b }(auditObjectBytes)
	auditObjectBytes = 8 << 20
	l := newTestLog(t, 0)
	pad := strings.Repeat("p", 160_000)
	for i := 1; i <= 400; i++ {
		obj := []byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"%s","created":"%s","modified":"%s","created_by_ref":"%s","name":"test %d","description":"%s","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`,
			objectID(i), testVersion, testVersion, l.member, i, pad, i%256))
		obj, err := stix.Sign(obj, l.key)
		if err != nil {
			t.Fatal(err)
		}
		op := Opening{Salt: testSalt(i), Collection: testCollection, ObjectID: objectID(i), Version: testVersion, Member: l.member}
		l.addEntry(t, Entry{Kind: KindObject, Commitment: ObjectCommitment(op, obj)}, obj, op)
	}
	l.objects[390] = bytes.Replace(l.objects[390], []byte("test 390"), []byte("test 391"), 1)
	l.checkpoint(t)
	src := &copyingSource{testLog: l, base: liveHeap()}
	rep, err := Audit(context.Background(), src, AuditOptions{Verifier: l.verifier, AllObjects: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Objects != 400 || len(rep.Problems) != 1 || rep.Problems[0].Index != 390 || rep.Problems[0].ObjectID != objectID(390) {
		t.Fatalf("report: %d objects, problems %+v; want 400 and the tampered one at 390", rep.Objects, rep.Problems)
	}
	if limit := uint64(3 * auditObjectBytes); src.peak > limit {
		t.Errorf("the audit held %d MB of objects at its peak; the budget is %d MB (64 MB read in all)", src.peak>>20, auditObjectBytes>>20)
	}
	t.Logf("peak live heap above the fixture: %.1f MB (budget %d MB, objects %d MB)", float64(src.peak)/(1<<20), auditObjectBytes>>20, 400*160_000>>20)
}

// TestProblemStringInert: a problem names the node's object id and may
// quote the node; both are printed inert, so a node can't hide the line
// behind a carriage return or terminal escapes.
func TestProblemStringInert(t *testing.T) {
	for _, p := range []Problem{
		{Index: 2, ObjectID: "x\x1b[31m\rparley: ok", Reason: "the commitment doesn't match"},
		{Index: 2, Reason: "bad \x1b]0;t\x07 entry\r"},
		{Index: -1, Reason: "log \x1b[2J\n"},
	} {
		if s := p.String(); strings.ContainsAny(s, "\x1b\r\n\x07") {
			t.Errorf("Problem{%d, %q, %q}.String() = %q: holds a control character", p.Index, p.ObjectID, p.Reason, s)
		}
	}
}

// TestLoadSeenRefusesOtherFiles: a file that isn't a seen file (a STIX
// object, a bundle, a key, a web page) is refused and left as it was: it
// was read as an empty memory and replaced by the next Save, so `parley
// pull --seen bundle.json` lost the bundle. A seen file as Save writes it
// still loads, and one over MaxSeenFile is refused without being read.
func TestLoadSeenRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, want string }{
		{"stix object", `{"type":"indicator","id":"indicator--11111111-2222-4333-8444-555555555555"}`, `it isn't a seen file (it has "`},
		{"empty object", `{}`, `no "checkpoints"`},
		{"key only", `{"key":"k"}`, `no "checkpoints"`},
		{"null", `null`, "not a JSON object"},
		{"list", `[]`, "not a JSON object"},
		{"text", "parley.example/log+01234567+AAAA\n", "not a JSON object"},
		{"empty file", ``, "not a JSON object"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadSeen(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadSeen(%s) = %v, want an error with %q", tc.content, err, tc.want)
		}
	}
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, MaxSeenFile+1); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSeen(huge); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("LoadSeen(a file over MaxSeenFile) = %v", err)
	}
	// What Save writes, empty or not, loads again.
	path := filepath.Join(dir, "seen.json")
	s, err := LoadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSeen(path); err != nil {
		t.Fatalf("an empty seen file as Save writes it: %v", err)
	}
	s.Key, s.Notes = "k", []string{"n"}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if again, err := LoadSeen(path); err != nil || again.Key != "k" || len(again.Notes) != 1 {
		t.Fatalf("LoadSeen after Save = %+v, %v", again, err)
	}
}

package tlog

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
	"golang.org/x/mod/sumdb/note"
)

const (
	testOrigin     = "parley.test/log"
	testCollection = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	testMember     = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
	testVersion    = "2026-01-01T00:00:00.000Z"
)

// testT0 is the received time of entry 0; entry i is received i
// nanoseconds later, so times strictly increase in log order.
var testT0 = time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)

// testLog is a small log built the way a node builds one: entry 0
// registers the member's key (operator-asserted), then each accepted
// object version is a salted object entry whose opening is kept beside the
// object; tiles and a signed checkpoint cover it all. Slices are indexed
// by log index.
type testLog struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	member   string
	key      ed25519.PrivateKey
	leaves   [][]byte
	objects  [][]byte  // nil for entries without an object (key entries) or one the store lost
	openings []Opening // zero for entries without an object
	tiles    *memTiles
	notes    [][]byte
}

// testKey derives a deterministic Ed25519 key from a one-byte seed.
func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// newTestLog returns a log of n+1 entries: entry 0 registers the member's
// key, entries 1…n are objects signed with it, the object of entry i
// having id indicator--<i, 8 digits>-…; and a checkpoint of them all.
func newTestLog(t testing.TB, n int) *testLog {
	t.Helper()
	skey, vkey, err := NewNodeKey(strings.NewReader(strings.Repeat("n", 64)), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{vkey: vkey, member: testMember, key: testKey(0)}
	if l.signer, err = note.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	if l.verifier, err = NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	l.addKeyEvent(t, Entry{Event: EventRegister, Key: pubOf(l.key), Authority: AuthorityOperator})
	for range n {
		l.addObject(t, l.key)
	}
	l.checkpoint(t)
	return l
}

// objectID is the id of the fixture object at log index i.
func objectID(i int) string { return fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i) }

// testSalt is the fixture's salt for the entry at index i: 32 bytes.
func testSalt(i int) []byte { return []byte(fmt.Sprintf("%032d", i)) }

// addEntry adds an entry (and its object and opening, if any) at the next
// index, stamped with that index's received time.
func (l *testLog) addEntry(t testing.TB, e Entry, object []byte, op Opening) {
	t.Helper()
	if e.Received.IsZero() {
		e.Received = testT0.Add(time.Duration(len(l.leaves)))
	}
	leaf, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	l.leaves = append(l.leaves, leaf)
	l.objects = append(l.objects, object)
	l.openings = append(l.openings, op)
}

// addKeyEvent appends a member key entry for the log's member.
func (l *testLog) addKeyEvent(t testing.TB, e Entry) {
	t.Helper()
	e.Kind = KindMemberKey
	if e.Member == "" {
		e.Member = l.member
	}
	l.addEntry(t, e, nil, Opening{})
}

// addObject appends an object entry for an indicator signed with key
// (unsigned when key is nil) and shared by the log's member.
func (l *testLog) addObject(t testing.TB, key ed25519.PrivateKey) {
	t.Helper()
	i := len(l.leaves)
	obj := []byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"%s","created":"%s","modified":"%s","created_by_ref":"%s","name":"test %d","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`,
		objectID(i), testVersion, testVersion, l.member, i, i%256))
	var err error
	if key != nil {
		obj, err = stix.Sign(obj, key)
	} else {
		obj, err = stix.Canonicalize(obj)
	}
	if err != nil {
		t.Fatal(err)
	}
	op := Opening{Salt: testSalt(i), Collection: testCollection, ObjectID: objectID(i), Version: testVersion, Member: l.member}
	l.addEntry(t, Entry{Kind: KindObject, Commitment: ObjectCommitment(op, obj)}, obj, op)
}

// addOPRFKey appends a private set's OPRF key entry.
func (l *testLog) addOPRFKey(t testing.TB, set string, key byte) {
	t.Helper()
	op := Opening{Salt: testSalt(len(l.leaves)), Collection: testCollection, ObjectID: set, Member: l.member}
	c := OPRFKeyCommitment(op, "ristretto255-SHA512", []byte{key})
	l.addEntry(t, Entry{Kind: KindOPRFKey, Commitment: c}, nil, Opening{})
}

// addOPRFWithdrawal appends the withdrawal of a private set whose key
// entry addOPRFKey appended with key.
func (l *testLog) addOPRFWithdrawal(t testing.TB, set string, key byte) {
	t.Helper()
	kop := Opening{Salt: testSalt(len(l.leaves)), Collection: testCollection, ObjectID: set, Member: l.member}
	op := Opening{Salt: testSalt(len(l.leaves) + 1000), Collection: testCollection, ObjectID: set, Member: l.member, Version: testVersion}
	c := OPRFWithdrawalCommitment(op, OPRFKeyCommitment(kop, "ristretto255-SHA512", []byte{key}))
	l.addEntry(t, Entry{Kind: KindOPRFWithdrawal, Commitment: c}, nil, Opening{})
}

// checkpoint rebuilds the tiles and signs a checkpoint at the current size.
func (l *testLog) checkpoint(t testing.TB) []byte {
	l.tiles = newMemTiles(l.leaves)
	root, err := TreeRoot(context.Background(), uint64(len(l.leaves)), l.tiles.reader(uint64(len(l.leaves))))
	if err != nil {
		t.Fatal(err)
	}
	n, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: uint64(len(l.leaves)), Hash: root}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	l.notes = append(l.notes, n)
	return n
}

// The test log is its own AuditSource.

func (l *testLog) Checkpoint(context.Context) ([]byte, error) { return l.notes[len(l.notes)-1], nil }

func (l *testLog) Leaves(_ context.Context, start, end uint64, fn func(uint64, []byte) error) error {
	for i := start; i < end && i < uint64(len(l.leaves)); i++ {
		if err := fn(i, l.leaves[i]); err != nil {
			return err
		}
	}
	return nil
}

func (l *testLog) Objects(_ context.Context, start, end uint64, fn func(uint64, Opening, []byte) error) error {
	for i := start; i < end && i < uint64(len(l.objects)); i++ {
		if l.objects[i] == nil {
			continue
		}
		if err := fn(i, l.openings[i], l.objects[i]); err != nil {
			return err
		}
	}
	return nil
}

// keyEvents returns every member key entry of the log with its inclusion
// proof at the current size, in log order, skipping the indices in drop.
func (l *testLog) keyEvents(t testing.TB, drop ...uint64) []BundleKey {
	t.Helper()
	size := uint64(len(l.leaves))
	var out []BundleKey
next:
	for i, leaf := range l.leaves {
		for _, d := range drop {
			if uint64(i) == d {
				continue next
			}
		}
		if e, err := ParseEntry(leaf); err != nil || e.Kind != KindMemberKey {
			continue
		}
		p, err := InclusionProof(context.Background(), uint64(i), size, l.tiles.reader(size))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, BundleKey{Entry: leaf, LogIndex: uint64(i), InclusionProof: p})
	}
	return out
}

// bundle returns the proof bundle of the objects at the given indices
// against the latest checkpoint, with every member key entry of the log.
func (l *testLog) bundle(t testing.TB, idx ...uint64) Bundle {
	t.Helper()
	size := uint64(len(l.leaves))
	b := Bundle{Type: BundleType, LogKey: l.vkey, Checkpoint: string(l.notes[len(l.notes)-1]), Keys: l.keyEvents(t)}
	for _, i := range idx {
		p, err := InclusionProof(context.Background(), i, size, l.tiles.reader(size))
		if err != nil {
			t.Fatal(err)
		}
		b.Items = append(b.Items, BundleItem{Object: l.objects[i], Entry: l.leaves[i], Opening: l.openings[i], LogIndex: i, InclusionProof: p})
	}
	b.KeyIndex = l.keyIndex(t, b.Keys)
	return b
}

// keyIndex signs the key index of keys against the latest checkpoint.
func (l *testLog) keyIndex(t testing.TB, keys []BundleKey, members ...string) string {
	t.Helper()
	cp, err := ParseCheckpoint(mustSplit(t, l.notes[len(l.notes)-1]))
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKeyIndex(cp, keys, members)
	if err != nil {
		t.Fatal(err)
	}
	s, err := SignKeyIndex(k, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSplit(t testing.TB, signed []byte) []byte {
	t.Helper()
	text, err := SplitNote(signed)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

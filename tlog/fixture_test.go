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

const testOrigin = "parley.test/log"

// testLog is a small log built the way a node builds one: signed STIX
// objects, salted entries, tiles and a signed checkpoint.
type testLog struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	member   string
	key      ed25519.PrivateKey
	leaves   [][]byte
	objects  [][]byte
	salts    [][]byte
	tiles    *memTiles
	notes    [][]byte
}

func newTestLog(t testing.TB, n int) *testLog {
	t.Helper()
	skey, vkey, err := NewNodeKey(strings.NewReader(strings.Repeat("n", 64)), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{vkey: vkey, member: "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"}
	if l.signer, err = note.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	if l.verifier, err = NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	l.key = ed25519.NewKeyFromSeed(make([]byte, 32))
	l.tiles = &memTiles{tiles: map[[2]uint64][]byte{}}
	for i := range n {
		l.add(t, i)
	}
	l.checkpoint(t)
	return l
}

func (l *testLog) add(t testing.TB, i int) {
	obj := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%08d-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"%s","name":"test %d","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, i, l.member, i, i%256)
	signed, err := stix.Sign([]byte(obj), l.key)
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte(fmt.Sprintf("%032d", i))
	e := Entry{
		ObjectID:   fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i),
		Version:    "2026-01-01T00:00:00.000Z",
		Collection: "91a7b528-80eb-42ed-a74d-c6fbd5a26116",
		Member:     l.member,
		Received:   time.Date(2026, 11, 24, 20, 0, 0, i, time.UTC),
		Commitment: Commitment(salt, signed),
	}
	leaf, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	l.leaves = append(l.leaves, leaf)
	l.objects = append(l.objects, signed)
	l.salts = append(l.salts, salt)
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

func (l *testLog) Objects(_ context.Context, start, end uint64, fn func(uint64, string, []byte, []byte) error) error {
	for i := start; i < end && i < uint64(len(l.objects)); i++ {
		if l.objects[i] == nil {
			continue
		}
		if err := fn(i, "91a7b528-80eb-42ed-a74d-c6fbd5a26116", l.objects[i], l.salts[i]); err != nil {
			return err
		}
	}
	return nil
}

func (l *testLog) MemberKeys(context.Context) (map[string]ed25519.PublicKey, error) {
	return map[string]ed25519.PublicKey{l.member: l.key.Public().(ed25519.PublicKey)}, nil
}

func (l *testLog) bundle(t testing.TB, idx ...uint64) Bundle {
	size := uint64(len(l.leaves))
	b := Bundle{Type: BundleType, LogKey: l.vkey, Checkpoint: string(l.notes[len(l.notes)-1]),
		Members: []BundleMember{{ID: l.member, PublicKey: Bytes(l.key.Public().(ed25519.PublicKey))}}}
	for _, i := range idx {
		p, err := InclusionProof(context.Background(), i, size, l.tiles.reader(size))
		if err != nil {
			t.Fatal(err)
		}
		b.Items = append(b.Items, BundleItem{Object: l.objects[i], Entry: l.leaves[i], Salt: l.salts[i], LogIndex: i, InclusionProof: p})
	}
	return b
}

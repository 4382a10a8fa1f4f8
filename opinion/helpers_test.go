package opinion

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

const (
	reportID = "report--8e2e2d2b-17d4-4cbe-8b46-6a0b0d0d0a01"
	otherID  = "report--8e2e2d2b-17d4-4cbe-8b46-6a0b0d0d0a02"
)

// member is a test member with a deterministic key.
type member struct {
	id  string
	key ed25519.PrivateKey
}

func newMember(n int) member {
	seed := sha256.Sum256([]byte(fmt.Sprintf("opinion test member %d", n)))
	return member{
		id:  fmt.Sprintf("identity--00000000-0000-4000-8000-%012d", n),
		key: ed25519.NewKeyFromSeed(seed[:]),
	}
}

func (m member) pub() ed25519.PublicKey { return m.key.Public().(ed25519.PublicKey) }

var t0 = time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)

// spec describes one opinion version for a test.
type spec struct {
	id         int // opinion--...<id>
	minute     int // modified = t0 + minute
	value      Value
	refs       []string
	confidence int // 0 means none
	revoked    bool
}

func opinionID(n int) string { return fmt.Sprintf("opinion--00000000-0000-4000-9000-%012d", n) }

// rawOpinion returns the unsigned JSON of s by creator.
func rawOpinion(t testing.TB, creator string, s spec) []byte {
	t.Helper()
	refs := s.refs
	if refs == nil {
		refs = []string{reportID}
	}
	m := map[string]any{
		"type": "opinion", "spec_version": "2.1", "id": opinionID(s.id),
		"created": stix.FormatTimestamp(t0), "modified": stix.FormatTimestamp(t0.Add(time.Duration(s.minute) * time.Minute)),
		"created_by_ref": creator, "opinion": string(s.value), "object_refs": refs,
	}
	if s.confidence != 0 {
		m["confidence"] = s.confidence
	}
	if s.revoked {
		m["revoked"] = true
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signed returns s by m signed with m's key.
func (m member) signed(t testing.TB, s spec) []byte {
	t.Helper()
	b, err := stix.Sign(rawOpinion(t, m.id, s), m.key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keysOf(ms ...member) Keys {
	k := Keys{}
	for _, m := range ms {
		k[m.id] = m.pub()
	}
	return k
}

// verifyAll verifies each raw opinion, keeping the unverified ones too
// (Compute must ignore them).
func verifyAll(t testing.TB, keys Keys, raws ...[]byte) []Opinion {
	t.Helper()
	var out []Opinion
	for _, r := range raws {
		op, err := Verify(r, keys)
		if err != nil && op.ID == "" {
			t.Fatalf("opinion doesn't parse: %v", err)
		}
		out = append(out, op)
	}
	return out
}

// memTiles is a tile store in memory for building test evidence.
type memTiles map[tlog.Tile][]byte

func (m memTiles) ReadTile(_ context.Context, t tlog.Tile) ([]byte, error) {
	for k, v := range m {
		if k.Level == t.Level && k.N == t.N && k.Width >= t.Width && !k.Entries {
			return v[:t.Width*tlog.HashSize], nil
		}
	}
	return nil, fmt.Errorf("no tile %s", t.Path())
}

const testOrigin = "parley.test/opinion"

// evidence logs objects (each shared by its created_by_ref into collection
// "c1"), after `before` unrelated entries, and returns the proof bundle of
// them and the log's verifier key.
func evidence(t testing.TB, members []member, objects ...[]byte) (tlog.Bundle, string) {
	t.Helper()
	steps := make([]step, len(objects))
	for i, o := range objects {
		steps[i] = step{object: o}
	}
	return logEvidence(t, members, steps...)
}

// step is one entry a test log holds after the members' registrations: an
// object, or (when object is nil) the member key entry key.
type step struct {
	object []byte
	key    tlog.Entry
}

// logEvidence is [evidence] for a log of the given steps after the
// members' registrations: the bundle an honest node serves, with every key
// entry of the members and its signed key index.
func logEvidence(t testing.TB, members []member, steps ...step) (tlog.Bundle, string) {
	t.Helper()
	ctx := context.Background()
	skey, vkey, err := tlog.NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	tiles := memTiles{}
	tb, err := tlog.NewTileBuilder(ctx, 0, tiles)
	if err != nil {
		t.Fatal(err)
	}
	var items []tlog.BundleItem
	// Unrelated entries first, so that proofs are not trivial.
	for i := range 5 {
		tb.Append(tlog.LeafHash([]byte(fmt.Sprintf("other entry %d", i))))
	}
	// Then each member's registration, in clear, as a node logs it.
	var keys []tlog.BundleKey
	for i, m := range members {
		leaf, err := tlog.Entry{Kind: tlog.KindMemberKey, Member: m.id, Event: tlog.EventRegister, Key: m.pub(),
			Authority: tlog.AuthorityOperator, Received: t0.Add(time.Duration(i) * time.Second)}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tlog.BundleKey{Entry: leaf, LogIndex: tb.Size()})
		tb.Append(tlog.LeafHash(leaf))
	}
	for i, st := range steps {
		if st.object == nil {
			st.key.Kind, st.key.Received = tlog.KindMemberKey, t0.Add(time.Hour+time.Duration(i)*time.Second)
			leaf, err := st.key.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, tlog.BundleKey{Entry: leaf, LogIndex: tb.Size()})
			tb.Append(tlog.LeafHash(leaf))
			continue
		}
		canon, err := stix.Canonicalize(st.object)
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			ID, Modified string
			CreatedByRef string `json:"created_by_ref"`
		}
		json.Unmarshal(canon, &head)
		salt := bytes.Repeat([]byte{byte(i + 1)}, tlog.SaltSize)
		mod, _ := time.Parse(time.RFC3339Nano, head.Modified)
		op := tlog.Opening{Salt: salt, Collection: "c1", ObjectID: head.ID, Version: stix.FormatTimestamp(mod), Member: head.CreatedByRef}
		leaf, err := tlog.Entry{Kind: tlog.KindObject, Received: t0.Add(time.Hour + time.Duration(i)*time.Second),
			Commitment: tlog.ObjectCommitment(op, canon)}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, tlog.BundleItem{Object: canon, Entry: leaf, Opening: op, LogIndex: tb.Size()})
		tb.Append(tlog.LeafHash(leaf))
	}
	for k, v := range tb.Flush() {
		tiles[k] = v
	}
	size := tb.Size()
	for i := range items {
		p, err := tlog.InclusionProof(ctx, items[i].LogIndex, size, tlog.TileHashReader(size, tiles))
		if err != nil {
			t.Fatal(err)
		}
		items[i].InclusionProof = p
	}
	for i := range keys {
		p, err := tlog.InclusionProof(ctx, keys[i].LogIndex, size, tlog.TileHashReader(size, tiles))
		if err != nil {
			t.Fatal(err)
		}
		keys[i].InclusionProof = p
	}
	cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: testOrigin, Size: size, Hash: tb.Root()}, signer)
	if err != nil {
		t.Fatal(err)
	}
	b := tlog.Bundle{Type: tlog.BundleType, LogKey: vkey, Checkpoint: string(cp), Keys: keys, Items: items, Names: map[string]string{}}
	opened, err := tlog.OpenCheckpoint(cp, mustVerifier(t, vkey))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.id
	}
	ki, err := tlog.NewKeyIndex(opened, keys, ids)
	if err != nil {
		t.Fatal(err)
	}
	if b.KeyIndex, err = tlog.SignKeyIndex(ki, signer); err != nil {
		t.Fatal(err)
	}
	for i, m := range members {
		b.Names[m.id] = fmt.Sprintf("member-%d", i+1)
	}
	return b, vkey
}

func mustVerifier(t testing.TB, vkey string) note.Verifier {
	t.Helper()
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func TestKeyIndex(t *testing.T) {
	skey, vkey, err := NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{3}, 64)), "log.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	v, _ := NewVerifier(vkey)
	cp := Checkpoint{Origin: "log.example", Size: 10, Hash: Hash{1, 2, 3}}
	reg := func(member string, i uint64) BundleKey {
		leaf, err := Entry{Kind: KindMemberKey, Member: member, Event: EventRegister, Authority: AuthorityOperator, Received: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return BundleKey{Entry: leaf, LogIndex: i}
	}
	revoke := func(member string, i uint64) BundleKey {
		leaf, _ := Entry{Kind: KindMemberKey, Member: member, Event: EventRevokeMember, Authority: AuthorityOperator, Received: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)}.Marshal()
		return BundleKey{Entry: leaf, LogIndex: i}
	}
	keys := []BundleKey{reg("identity--a", 1), reg("peer:b", 2), revoke("identity--a", 7)}
	k, err := NewKeyIndex(cp, keys, []string{"identity--c"})
	if err != nil {
		t.Fatal(err)
	}
	text, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "parley-key-index-v1\nlog.example\n10\n" + cp.Hash.String() + "\nidentity--a 1 7\nidentity--c\npeer:b 2\n"
	if string(text) != want {
		t.Fatalf("key index text:\n%s\nwant:\n%s", text, want)
	}
	signed, err := SignKeyIndex(k, signer)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := OpenKeyIndex([]byte(signed), v); err != nil || len(back.Members) != 3 || back.Size != 10 {
		t.Fatalf("OpenKeyIndex = %+v, %v", back, err)
	}
	// A signature whose last base64 character has other unused low
	// bits (note.Open ignores them) is refused, as in a checkpoint: the
	// changed note would otherwise verify as the same signed index.
	sig := strings.TrimSuffix(signed, "\n")
	sp := strings.LastIndexByte(sig, ' ')
	b64 := sig[sp+1:]
	last := strings.TrimRight(b64, "=")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	c := strings.IndexByte(alphabet, last[len(last)-1])
	changed := sig[:sp+1] + last[:len(last)-1] + string(alphabet[c^1]) + b64[len(last):] + "\n"
	if _, err := OpenKeyIndex([]byte(changed), v); !errors.Is(err, ErrKeyIndex) || !strings.Contains(err.Error(), "strict base64") {
		t.Errorf("a key index whose signature's last base64 character was changed in its unused bits: OpenKeyIndex = %v, want ErrKeyIndex (not strict base64)", err)
	}
	// A key index is no checkpoint, and a checkpoint no key index.
	if _, err := OpenCheckpoint([]byte(signed), v); err == nil {
		t.Error("a key index opened as a checkpoint")
	}
	scp, _ := SignCheckpoint(cp, signer)
	if _, err := OpenKeyIndex(scp, v); !errors.Is(err, ErrKeyIndex) {
		t.Errorf("a checkpoint opened as a key index: %v", err)
	}
	// A member id that is empty or has white space has no line of its own.
	for _, id := range []string{"", "identity--a b", "identity--a\tb", "identity--a\nb"} {
		if _, err := (KeyIndex{Origin: "log.example", Size: 10, Members: map[string][]uint64{id: {1}}}).Marshal(); err == nil {
			t.Errorf("Marshal of member id %q: no error", id)
		}
	}
	// An index of another log, signed with this log's key, is refused.
	other := k
	other.Origin = "other.example"
	otherText, err := other.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	otherSigned, err := note.Sign(&note.Note{Text: string(otherText)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyIndex(otherSigned, v); !errors.Is(err, ErrKeyIndex) || !strings.Contains(err.Error(), `of log "other.example"`) {
		t.Errorf("OpenKeyIndex(another log's index) = %v, want ErrKeyIndex naming its log", err)
	}
	// Nor does the log key sign another log's index.
	if _, err := SignKeyIndex(other, signer); err == nil || !strings.Contains(err.Error(), `isn't the origin "other.example"`) {
		t.Errorf("SignKeyIndex(another log's index) = %v, want a refusal", err)
	}
	for _, bad := range []string{
		strings.Replace(want, "identity--a 1 7", "identity--a 7 1", 1),
		strings.Replace(want, "identity--a 1 7", "identity--a 1  7", 1),
		strings.Replace(want, "identity--a 1 7", "identity--a 1 1 7", 1),
		strings.Replace(want, "identity--a 1 7", "identity--a 1 10", 1),
		strings.Replace(want, "identity--a 1 7", "identity--a 01 7", 1),
		strings.Replace(want, "peer:b 2\n", "peer:b 2\nidentity--d\n", 1),
		strings.Replace(want, "identity--c\n", "identity--c\nidentity--c\n", 1),
		strings.TrimSuffix(want, "\n"),
	} {
		if _, err := ParseKeyIndex([]byte(bad)); !errors.Is(err, ErrKeyIndex) {
			t.Errorf("ParseKeyIndex(%q) = %v, want ErrKeyIndex", bad, err)
		}
	}

	b := Bundle{LogKey: vkey, Keys: keys, KeyIndex: signed}
	if err := b.CheckKeyIndex(cp, []string{"identity--a", "identity--c"}); err != nil {
		t.Fatalf("CheckKeyIndex(honest) = %v", err)
	}
	_, otherKey, _ := NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{4}, 64)), "log.example")
	for _, tc := range []struct {
		name    string
		b       Bundle
		cp      Checkpoint
		members []string
		want    string
	}{
		{"a revocation left out", Bundle{LogKey: vkey, Keys: keys[:2], KeyIndex: signed}, cp, nil, "leaves out member key entry 7 of identity--a"},
		{"every entry of a member the index lists left out", Bundle{LogKey: vkey, Keys: keys[1:2], KeyIndex: signed}, cp, nil, "leaves out member key entry 1 of identity--a"},
		{"an entry the index doesn't list", Bundle{LogKey: vkey, Keys: append(slices.Clone(keys), revoke("peer:b", 8)), KeyIndex: signed}, cp, nil, "entry 8 of peer:b, which the key index doesn't list"},
		{"a key entry that doesn't parse", Bundle{LogKey: vkey, Keys: append(slices.Clone(keys), BundleKey{Entry: []byte("not an entry"), LogIndex: 3}), KeyIndex: signed}, cp, nil, "member key entry 3:"},
		{"a member the index doesn't list", b, cp, []string{"identity--z"}, "doesn't list identity--z"},
		{"another tree", b, Checkpoint{Origin: "log.example", Size: 11, Hash: cp.Hash}, nil, "not the checkpoint's tree of size 11"},
		{"another tree of the same size", b, Checkpoint{Origin: "log.example", Size: cp.Size, Hash: Hash{9}}, nil, "not the checkpoint's tree of size 10"},
		{"no key index", Bundle{LogKey: vkey, Keys: keys}, cp, nil, "has no key index"},
		{"signed by another key", Bundle{LogKey: otherKey, Keys: keys, KeyIndex: signed}, cp, nil, "signature doesn't verify"},
	} {
		if err := tc.b.CheckKeyIndex(tc.cp, tc.members); !errors.Is(err, ErrKeyIndex) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CheckKeyIndex = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestKeyIndexComplete: an index of every member (Complete) has its own
// first line, parley-key-index-all-v1, under the signature, so an index
// of some members (parley-key-index-v1, as every index was before) is
// never read as one, and one changed from the other form no longer
// verifies. A complete index states that a member it doesn't list has no
// key entry: a bundle showing none of that member checks, one showing
// one fails.
func TestKeyIndexComplete(t *testing.T) {
	skey, vkey, err := NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{3}, 64)), "log.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	v, _ := NewVerifier(vkey)
	cp := Checkpoint{Origin: "log.example", Size: 10, Hash: Hash{1, 2, 3}}
	reg := func(member string, i uint64) BundleKey {
		leaf, err := Entry{Kind: KindMemberKey, Member: member, Event: EventRegister, Authority: AuthorityOperator, Received: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return BundleKey{Entry: leaf, LogIndex: i}
	}
	keys := []BundleKey{reg("identity--a", 1), reg("peer:b", 2)}
	k, err := NewKeyIndex(cp, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	k.Complete = true
	text, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "parley-key-index-all-v1\nlog.example\n10\n" + cp.Hash.String() + "\nidentity--a 1\npeer:b 2\n"
	if string(text) != want {
		t.Fatalf("key index text:\n%s\nwant:\n%s", text, want)
	}
	signed, err := SignKeyIndex(k, signer)
	if err != nil {
		t.Fatal(err)
	}
	back, err := OpenKeyIndex([]byte(signed), v)
	if err != nil || !back.Complete || len(back.Members) != 2 {
		t.Fatalf("OpenKeyIndex(complete) = %+v, %v", back, err)
	}
	if l, ok := back.Lists("identity--z"); !ok || len(l) != 0 {
		t.Errorf("a complete index's Lists(unlisted) = %v, %v; want none, stated", l, ok)
	}
	// The same body as an index of some members: not complete, and it
	// states nothing of a member it doesn't list.
	k.Complete = false
	some, err := SignKeyIndex(k, signer)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := OpenKeyIndex([]byte(some), v); err != nil || back.Complete {
		t.Fatalf("OpenKeyIndex(some members) = %+v, %v; want not complete", back, err)
	}
	if _, ok := back.Lists("identity--a"); !ok {
		t.Error("a complete index doesn't state a member it lists")
	}
	if _, ok := (KeyIndex{Members: map[string][]uint64{}}).Lists("identity--z"); ok {
		t.Error("an index of some members states a member it doesn't list")
	}
	// Either first line swapped for the other breaks the signature.
	for name, swapped := range map[string]string{
		"complete made partial": strings.Replace(signed, KeyIndexAllHeader+"\n", KeyIndexHeader+"\n", 1),
		"partial made complete": strings.Replace(some, KeyIndexHeader+"\n", KeyIndexAllHeader+"\n", 1),
	} {
		if _, err := OpenKeyIndex([]byte(swapped), v); !errors.Is(err, ErrKeyIndex) {
			t.Errorf("%s: OpenKeyIndex = %v, want ErrKeyIndex", name, err)
		}
	}
	if _, err := ParseKeyIndex([]byte(strings.Replace(want, KeyIndexAllHeader, "parley-key-index-all-v2", 1))); !errors.Is(err, ErrKeyIndex) {
		t.Errorf("ParseKeyIndex(unknown first line) = %v, want ErrKeyIndex", err)
	}

	// Asked about a member it doesn't list, a complete index says it has
	// no key entry; an index of some members says nothing.
	b := Bundle{LogKey: vkey, Keys: keys, KeyIndex: signed}
	if err := b.CheckKeyIndex(cp, []string{"identity--a", "identity--z"}); err != nil {
		t.Errorf("CheckKeyIndex(complete, a member with no entry) = %v", err)
	}
	b.KeyIndex = some
	if err := b.CheckKeyIndex(cp, []string{"identity--a", "identity--z"}); !errors.Is(err, ErrKeyIndex) || !strings.Contains(err.Error(), "doesn't list identity--z") {
		t.Errorf("CheckKeyIndex(some members, a member it doesn't list) = %v, want ErrKeyIndex", err)
	}
	b = Bundle{LogKey: vkey, Keys: append(slices.Clone(keys), reg("identity--z", 5)), KeyIndex: signed}
	if err := b.CheckKeyIndex(cp, nil); !errors.Is(err, ErrKeyIndex) || !strings.Contains(err.Error(), "entry 5 of identity--z, which the key index doesn't list") {
		t.Errorf("CheckKeyIndex(complete, an entry of a member it doesn't list) = %v, want ErrKeyIndex", err)
	}
}

// FuzzParseKeyIndex: any text is refused or parses into an index that
// re-encodes to it byte for byte, of the form its first line says (an
// index of some members is never read as one of every member).
func FuzzParseKeyIndex(f *testing.F) {
	h := Hash{1, 2, 3}.String()
	f.Add([]byte("parley-key-index-v1\nlog.example\n10\n" + h + "\nidentity--a 1 7\nidentity--c\npeer:b 2\n"))
	f.Add([]byte("parley-key-index-all-v1\nlog.example\n10\n" + h + "\nidentity--a 1\npeer:b 2\n"))
	f.Add([]byte("parley-key-index-all-v1\nlog.example\n0\n" + h + "\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		k, err := ParseKeyIndex(text)
		if err != nil {
			if !errors.Is(err, ErrKeyIndex) {
				t.Fatalf("error not wrapping ErrKeyIndex: %v", err)
			}
			return
		}
		again, err := k.Marshal()
		if err != nil || !bytes.Equal(again, text) {
			t.Fatalf("re-encoded %q (%v), parsed %q", again, err, text)
		}
		if k.Complete != bytes.HasPrefix(text, []byte(KeyIndexAllHeader+"\n")) {
			t.Fatalf("complete %v for %q", k.Complete, text)
		}
	})
}

// TestSeenKeyIndexAll: a seen file records the log's index of every
// member (one per log, that of the smallest tree: one proves that the log
// serves the form, and the latest, replacing the earlier, grew the file
// with every member registered since), not one of the
// older form nor one another key signed; saved and read again it is
// still a seen file, whose checkpoints the audit's readers find as
// before, and the index is found again.
func TestSeenKeyIndexAll(t *testing.T) {
	skey, vkey, err := NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{3}, 64)), "log.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	v, _ := NewVerifier(vkey)
	oskey, _, err := NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{4}, 64)), "log.example")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := note.NewSigner(oskey)
	sign := func(size uint64, complete bool, s note.Signer) []byte {
		// A member per entry: the index grows with the log's membership.
		members := map[string][]uint64{}
		for i := range size {
			members[fmt.Sprintf("identity--%d", i)] = []uint64{i}
		}
		k := KeyIndex{Origin: "log.example", Size: size, Hash: Hash{byte(size)}, Members: members, Complete: complete}
		n, err := SignKeyIndex(k, s)
		if err != nil {
			t.Fatal(err)
		}
		return []byte(n)
	}
	cp, err := SignCheckpoint(Checkpoint{Origin: "log.example", Size: 3, Hash: Hash{3}}, signer)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seen.json")
	s, err := LoadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Add(cp)
	if s.RecordKeyIndexAll(sign(3, false, signer), v) || s.RecordKeyIndexAll(sign(3, true, other), v) || s.KeyIndexAll(v) != nil {
		t.Fatalf("recorded an index of the older form, or another key's: %q", s.Notes)
	}
	if !s.RecordKeyIndexAll(sign(5, true, signer), v) || !s.RecordKeyIndexAll(sign(3, true, signer), v) {
		t.Fatal("didn't record the index of every member")
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	small := fi.Size()
	// The log's membership grows: later indexes, each larger, leave
	// the file as it was.
	for _, size := range []uint64{50, 200} {
		if !s.RecordKeyIndexAll(sign(size, true, signer), v) {
			t.Fatalf("the index of tree size %d not taken as the log's proof", size)
		}
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != small {
		t.Fatalf("the seen file grew from %d to %d bytes with the log's membership (%v)", small, fi.Size(), err)
	}
	back, err := LoadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Notes) != 2 || !bytes.Equal(back.KeyIndexAll(v), sign(3, true, signer)) {
		t.Fatalf("the seen file's notes: %q", back.Notes)
	}
	if err := back.CheckConsistent(context.Background(), cp, v, nil); err != nil {
		t.Fatalf("the checkpoint seen again: %v", err)
	}
}

// TestKeyIndexLaterForm: a key index signed by the log key in a form this
// version doesn't know (a newer parley's, as parley-key-index-all-v1 was to
// the versions before it, which refused it as "malformed key index: it
// doesn't start with parley-key-index-v1": a client or follower of a newer
// node read that as a node serving garbage) is still refused (ErrKeyIndex:
// nothing it states is checked), saying that it is a newer form and to
// upgrade; a first line that names no form is malformed as before.
func TestKeyIndexLaterForm(t *testing.T) {
	skey, vkey, err := NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{3}, 64)), "log.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	v, _ := NewVerifier(vkey)
	body := "log.example\n10\n" + (Hash{1, 2, 3}).String() + "\nidentity--a 1\n"
	for _, c := range []struct {
		first string
		later bool
	}{
		{"parley-key-index-all-v2", true},
		{"parley-key-index-v2", true},
		{"parley-key-index-signed-range-v1", true},
		{"parley-key-index-all-v", false},
		{"parley-key-index-allv1", false},
		{"parley-key-index-ALL-v2", false},
		{"parley-key-indexes-v1", false},
		{"parley-checkpoint-v1", false},
	} {
		t.Run(c.first, func(t *testing.T) {
			signed, err := note.Sign(&note.Note{Text: c.first + "\n" + body}, signer)
			if err != nil {
				t.Fatal(err)
			}
			_, err = OpenKeyIndex(signed, v)
			if !errors.Is(err, ErrKeyIndex) {
				t.Fatalf("err = %v, want ErrKeyIndex", err)
			}
			newer := strings.Contains(err.Error(), "which this version of parley doesn't know (a newer parley signed it)")
			if newer != c.later || strings.Contains(err.Error(), "malformed") == c.later {
				t.Fatalf("err = %v; a later form: %v", err, c.later)
			}
		})
	}
}

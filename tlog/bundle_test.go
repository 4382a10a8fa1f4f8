package tlog

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// reencode returns a deep copy of b, changed by mut, as JSON.
func reencode(t *testing.T, data []byte, mut func(*Bundle)) []byte {
	t.Helper()
	var c Bundle
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	mut(&c)
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyBundle(t *testing.T) {
	l := newTestLog(t, 40)
	b := l.bundle(t, 3, 40)
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	res, err := VerifyBundle(data, "")
	if err != nil || len(res.Items) != 2 || !res.Items[0].Signed || res.Checkpoint.Size != 41 {
		t.Fatalf("VerifyBundle = %+v, %v", res, err)
	}
	it := res.Items[1]
	if it.Opening.ObjectID != objectID(40) || it.Opening.Member != l.member || it.Opening.Collection != testCollection ||
		!it.Check.Signer.Key.Equal(pubOf(l.key)) || it.Check.Signer.Authority != AuthorityOperator || it.Check.Relayed() {
		t.Fatalf("item %+v", it)
	}
	if _, err := VerifyBundle(data, l.vkey); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBundle(data, "other+01234567+AaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaA"); err == nil {
		t.Fatal("bundle accepted against another pinned key")
	}
	other := pubOf(testKey(0xee))
	mutations := map[string]func(b *Bundle){
		"object byte": func(b *Bundle) {
			b.Items[0].Object = bytes.Replace(b.Items[0].Object, []byte("test 3"), []byte("test 4"), 1)
		},
		"signature": func(b *Bundle) {
			b.Items[1].Object = bytes.Replace(b.Items[1].Object, []byte(`"signature":"`), []byte(`"signature":"A`), 1)
		},
		"entry": func(b *Bundle) {
			b.Items[0].Entry = bytes.Replace(b.Items[0].Entry, []byte("20:00"), []byte("21:00"), 1)
		},
		"salt":               func(b *Bundle) { b.Items[0].Salt[0] ^= 1 },
		"opening collection": func(b *Bundle) { b.Items[0].Collection = "00000000-0000-4000-8000-000000000000" },
		"opening member":     func(b *Bundle) { b.Items[1].Member = "identity--00000000-0000-4000-8000-000000000001" },
		"opening object id":  func(b *Bundle) { b.Items[0].ObjectID = objectID(4) },
		"opening version":    func(b *Bundle) { b.Items[0].Version = "2026-01-02T00:00:00.000Z" },
		"proof":              func(b *Bundle) { b.Items[1].InclusionProof[0][5] ^= 1 },
		"index":              func(b *Bundle) { b.Items[0].LogIndex = 2 },
		"checkpoint":         func(b *Bundle) { b.Checkpoint = strings.Replace(b.Checkpoint, "\n41\n", "\n42\n", 1) },
		"key entry dropped":  func(b *Bundle) { b.Keys = nil },
		"key proof":          func(b *Bundle) { b.Keys[0].InclusionProof[0][3] ^= 1 },
		"key index":          func(b *Bundle) { b.Keys[0].LogIndex = 1 },
		"key entry swapped": func(b *Bundle) {
			e, _ := ParseEntry(b.Keys[0].Entry)
			e.Key = other
			b.Keys[0].Entry, _ = e.Marshal()
		},
		"key entry as item": func(b *Bundle) { b.Items[0].Entry, b.Items[0].LogIndex = b.Keys[0].Entry, 0 },
		"other entry":       func(b *Bundle) { b.Items[0].Entry = l.leaves[4] },
		"no items":          func(b *Bundle) { b.Items = nil },
		"type":              func(b *Bundle) { b.Type = "x" },
	}
	for name, mut := range mutations {
		if _, err := VerifyBundle(reencode(t, data, mut), ""); !errors.Is(err, ErrBundle) {
			t.Errorf("%s changed: VerifyBundle err = %v, want ErrBundle", name, err)
		}
	}
}

// TestVerifyBundleRotation: a bundle proves which key was in force at each
// item from the key entries it carries. The key entries in full verify an
// object signed after a member-signed rotation; dropping the rotation entry
// (a node hiding it) makes the bundle fail; an object signed with the
// rotated-out key after the rotation fails.
func TestVerifyBundleRotation(t *testing.T) {
	l := newTestLog(t, 2)
	b := testKey(0xbb)
	stmt := ed25519.Sign(l.key, RotationMessage(pubOf(l.key), pubOf(b)))
	l.addKeyEvent(t, Entry{Event: EventRotate, Key: pubOf(b), Authority: AuthorityMember, Statement: stmt})
	l.addObject(t, b)     // 4
	l.addObject(t, l.key) // 5: the rotated-out key
	l.checkpoint(t)

	data, _ := json.Marshal(l.bundle(t, 1, 4))
	res, err := VerifyBundle(data, l.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Items[0].Check.Signer; !a.Key.Equal(pubOf(l.key)) || a.Until != 3 {
		t.Fatalf("item 1 signer %+v", a)
	}
	if s := res.Items[1].Check.Signer; !s.Key.Equal(pubOf(b)) || s.Authority != AuthorityMember || s.OperatorAsserted() || s.From != 3 {
		t.Fatalf("item 4 signer %+v", s)
	}
	if !res.KeysComplete {
		t.Error("a bundle with its key index isn't reported with its key entries complete")
	}
	dropped := reencode(t, data, func(c *Bundle) {
		c.Keys = l.keyEvents(t, 3)
	})
	if _, err := VerifyBundle(dropped, l.vkey); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "leaves out member key entry 3") {
		t.Fatalf("rotation dropped: err = %v", err)
	}
	// Without a key index (a bundle of an older node), the object signed
	// with the new key fails with the rotation dropped.
	droppedOld := reencode(t, data, func(c *Bundle) {
		c.Keys, c.KeyIndex = l.keyEvents(t, 3), ""
	})
	if _, err := VerifyBundle(droppedOld, l.vkey); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "key in force") {
		t.Fatalf("rotation dropped from a bundle without a key index: err = %v", err)
	}
	stale, _ := json.Marshal(l.bundle(t, 5))
	if _, err := VerifyBundle(stale, l.vkey); err == nil || !strings.Contains(err.Error(), "key in force") {
		t.Fatalf("rotated-out key: err = %v", err)
	}
	// A node that planted the object signed with the rotated-out key and
	// left the rotation out of its bundle: the key index shows it left
	// out. (Without one, such a bundle verifies, KeysComplete false.)
	hidden := reencode(t, stale, func(c *Bundle) { c.Keys = l.keyEvents(t, 3) })
	if _, err := VerifyBundle(hidden, l.vkey); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "leaves out member key entry 3") {
		t.Fatalf("planted object, rotation left out: err = %v", err)
	}
	hiddenOld := reencode(t, hidden, func(c *Bundle) { c.KeyIndex = "" })
	if res, err := VerifyBundle(hiddenOld, l.vkey); err != nil || res.KeysComplete {
		t.Fatalf("planted object, rotation left out, no key index: %v, KeysComplete %v", err, res.KeysComplete)
	}
	// Key entries out of log order, or one given twice, are refused.
	reversed := reencode(t, data, func(c *Bundle) { c.Keys[0], c.Keys[1] = c.Keys[1], c.Keys[0] })
	if _, err := VerifyBundle(reversed, l.vkey); !errors.Is(err, ErrBundle) {
		t.Fatalf("reversed keys: err = %v", err)
	}
	twice := reencode(t, data, func(c *Bundle) { c.Keys = []BundleKey{c.Keys[0], c.Keys[0], c.Keys[1]} })
	if _, err := VerifyBundle(twice, l.vkey); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "log order") {
		t.Fatalf("key entry twice: err = %v", err)
	}
}

// TestVerifyBundleRefusesV1: a bundle of the old type, which carried keys
// the node asserted rather than logged ones, is refused by type.
func TestVerifyBundleRefusesV1(t *testing.T) {
	l := newTestLog(t, 3)
	data, _ := json.Marshal(l.bundle(t, 1))
	v1 := reencode(t, data, func(b *Bundle) { b.Type = "parley-proof-bundle-v1" })
	_, err := VerifyBundle(v1, "")
	if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), `"parley-proof-bundle-v1"`) || !strings.Contains(err.Error(), BundleType) {
		t.Fatalf("v1 bundle: err = %v", err)
	}
	old := []byte(`{"type":"parley-proof-bundle-v1","log_key":"` + l.vkey + `","checkpoint":` + string(mustJSON(t, string(l.notes[0]))) +
		`,"members":[{"id":"` + l.member + `","public_key":"` + base64.StdEncoding.EncodeToString(pubOf(l.key)) + `"}],"items":[]}`)
	if _, err := VerifyBundle(old, ""); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "type") {
		t.Fatalf("v1 bundle document: err = %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
		// A bundle whose key index no longer decodes reads as one of a
		// node older than the key index: it may verify, but not with its
		// key entries shown complete.
		if res, err := VerifyBundle(mod, ""); err == nil && res.KeysComplete {
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
	for _, name := range []string{"type", "log_key", "checkpoint", "keys", "items", "object", "entry", "salt",
		"collection", "object_id", "version", "member", "log_index", "inclusion_proof", "key_index"} {
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

// FuzzVerifyBundle: arbitrary bytes never panic the offline verifier, and
// anything it accepts proves something in a checkpoint signed by the key
// it names.
func FuzzVerifyBundle(f *testing.F) {
	l := newTestLog(f, 3)
	good, _ := json.Marshal(l.bundle(f, 1, 3))
	f.Add(good)
	f.Add([]byte(`{"type":"parley-proof-bundle-v2","items":[{}]}`))
	f.Add([]byte(`{"type":"parley-proof-bundle-v1","items":[{}]}`))
	// What two readers read differently, or what costs more to read than
	// its size (docs/log.md, "Bounds on offline documents").
	f.Add(append([]byte("\ufeff"), good...))
	f.Add(bytes.Replace(good, []byte(`{"type"`), []byte("{\"x\":\"\xff\",\"type\""), 1))
	f.Add(bytes.Replace(good, []byte(`{"type"`), []byte(`{"log_index":1`+strings.Repeat("0", 80)+`,"type"`), 1))
	f.Add(bytes.Replace(good, []byte(`"items":[`), []byte(`"items":[{},{},{},`), 1))
	w := newTestWitness(f, "witness.example/w1", 7)
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		f.Fatal(err)
	}
	wl := witnessedLog(f, w, func(i int) time.Duration { return time.Duration(i) * time.Minute }, 20*time.Minute, 26*time.Minute)
	f.Add(witnessedBundle(f, wl, 3, wl.cosigned[0]))
	for _, s := range hostileSeeds(good, "items") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var res BundleResult
		var err error
		allocBounded(t, len(data), func() { res, err = VerifyBundle(data, "") })
		if err != nil {
			return
		}
		if !utf8.Valid(data) {
			t.Fatal("verified a bundle of invalid UTF-8")
		}
		// Every witnessed checkpoint kept is the log's and no larger than
		// the bundle's; reading their times never fails loudly.
		v, err := NewVerifier(res.LogKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range res.Witnessed {
			if cp, err := OpenCheckpoint(n, v); err != nil || cp.Size > res.Checkpoint.Size {
				t.Fatalf("kept a witnessed checkpoint that doesn't open or is too large: %v", err)
			}
		}
		if times, _ := res.WitnessedTimes(pol, 0); len(times) != len(res.Items) {
			t.Fatalf("%d times for %d items", len(times), len(res.Items))
		}
		if len(res.Items) == 0 || res.LogKey == "" || res.Keys == nil {
			t.Fatalf("accepted an empty result: %+v", res)
		}
		for _, it := range res.Items {
			if it.Signed && len(it.Check.Signer.Key) != ed25519.PublicKeySize {
				t.Fatalf("signed item without the key in force: %+v", it)
			}
		}
	})
}

// TestKeysResponseVerify: the /log/keys answer verifies against the log
// key, and a changed event, a dropped proof or a tree size other than the
// checkpoint's fails with ErrProof.
func TestKeysResponseVerify(t *testing.T) {
	l, _ := swapLog(t)
	r := KeysResponse{TreeSize: uint64(len(l.leaves)), Checkpoint: string(l.notes[len(l.notes)-1]), Events: l.keyEvents(t)}
	h, cp, err := r.Verify(l.verifier)
	if err != nil || cp.Size != 6 || len(h.Keys(l.member)) != 2 {
		t.Fatalf("Verify = %v, %+v, %v", h, cp, err)
	}
	for name, mut := range map[string]func(*KeysResponse){
		"tree size": func(r *KeysResponse) { r.TreeSize = 5 },
		"proof":     func(r *KeysResponse) { r.Events[1].InclusionProof = r.Events[1].InclusionProof[1:] },
		"index":     func(r *KeysResponse) { r.Events[1].LogIndex = 3 },
		"entry": func(r *KeysResponse) {
			e, _ := ParseEntry(r.Events[1].Entry)
			e.Authority, e.Statement = AuthorityMember, make([]byte, 64)
			r.Events[1].Entry, _ = e.Marshal()
		},
	} {
		c := KeysResponse{TreeSize: r.TreeSize, Checkpoint: r.Checkpoint}
		for _, ev := range r.Events {
			c.Events = append(c.Events, BundleKey{Entry: bytes.Clone(ev.Entry), LogIndex: ev.LogIndex, InclusionProof: append([]Hash(nil), ev.InclusionProof...)})
		}
		mut(&c)
		if _, _, err := c.Verify(l.verifier); !errors.Is(err, ErrProof) {
			t.Errorf("%s changed: err = %v, want ErrProof", name, err)
		}
	}
	// With the node's key index: the rotation left out is refused;
	// without one (an older node), Verify takes the events as shown and
	// VerifyComplete refuses them.
	r.KeyIndex = l.keyIndex(t, r.Events)
	if _, _, err := r.VerifyComplete(l.verifier); err != nil {
		t.Fatalf("VerifyComplete = %v", err)
	}
	rotation := r.Events[len(r.Events)-1].LogIndex
	left := r
	left.Events = l.keyEvents(t, rotation)
	if _, _, err := left.Verify(l.verifier); !errors.Is(err, ErrKeyIndex) || !strings.Contains(err.Error(), fmt.Sprintf("leaves out member key entry %d", rotation)) {
		t.Errorf("rotation left out: Verify = %v, want ErrKeyIndex", err)
	}
	left.KeyIndex = ""
	if _, _, err := left.Verify(l.verifier); err != nil {
		t.Errorf("no key index: Verify = %v", err)
	}
	if _, _, err := left.VerifyComplete(l.verifier); !errors.Is(err, ErrKeyIndex) {
		t.Errorf("no key index: VerifyComplete = %v, want ErrKeyIndex", err)
	}
	if _, _, err := r.VerifyComplete(l.verifier, "identity--00000000-0000-4000-8000-000000000042"); !errors.Is(err, ErrKeyIndex) {
		t.Errorf("a member the index doesn't list: VerifyComplete = %v, want ErrKeyIndex", err)
	}
	_, vkey, _ := NewNodeKey(strings.NewReader(strings.Repeat("o", 64)), testOrigin)
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Verify(v); err == nil {
		t.Error("verified with another node key")
	}
}

// TestVerifyBundleItemMemberNotIndexed: a bundle whose key index doesn't
// list the member of one of its items, and shows none of its key
// entries, fails, even where the item needs no key (an unsigned object
// of a collection whose signatures are optional): nothing shows that the
// member's key entries are all there.
func TestVerifyBundleItemMemberNotIndexed(t *testing.T) {
	l := newTestLog(t, 0)
	l.addObject(t, nil)
	l.checkpoint(t)
	data, err := json.Marshal(l.bundle(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := VerifyBundle(data, l.vkey); err != nil || !res.KeysComplete {
		t.Fatalf("the honest bundle: %v, KeysComplete %v", err, res.KeysComplete)
	}
	unlisted := reencode(t, data, func(c *Bundle) { c.Keys, c.KeyIndex = nil, l.keyIndex(t, nil) })
	if _, err := VerifyBundle(unlisted, l.vkey); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "doesn't list "+testMember) {
		t.Fatalf("a bundle whose key index leaves out its item's member: err = %v", err)
	}
}

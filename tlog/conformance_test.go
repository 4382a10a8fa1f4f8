package tlog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Conformance vectors and rules from the C2SP specs (signed-note,
// tlog-cosignature, tlog-policy) that the other tests don't cover.

// sigLine returns the signature line s makes over text, which may be
// another text than the note's (then it is a bad signature by s's key).
func sigLine(t *testing.T, s note.Signer, text string) string {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[len(text)+1:])
}

// TestOpenNoteVerifiesEverySignatureOfAKnownKey: C2SP signed-note, "If the
// key name and ID match a known key, verifiers MUST verify the signature";
// note.Open verifies only the first line of each key, so a good signature
// followed by a bad one by the same key used to pass.
func TestOpenNoteVerifiesEverySignatureOfAKnownKey(t *testing.T) {
	logSigner, logKey := testLogKey(t, "example.com/log", 1)
	lv, err := NewVerifier(logKey)
	if err != nil {
		t.Fatal(err)
	}
	text := string(Checkpoint{Origin: "example.com/log", Size: 3, Hash: EmptyRoot()}.Marshal())
	other := string(Checkpoint{Origin: "example.com/log", Size: 4, Hash: EmptyRoot()}.Marshal())
	good, bad := sigLine(t, logSigner, text), sigLine(t, logSigner, other)
	stranger, _ := testLogKey(t, "example.com/log", 2) // same name, another key ID
	for _, tc := range []struct {
		name string
		sigs string
		ok   bool
	}{
		{"one good", good, true},
		{"good twice, identical", good + good, true},
		{"good then bad", good + bad, false},
		{"bad then good", bad + good, false},
		{"good and an unknown key's", good + sigLine(t, stranger, other), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed := []byte(text + "\n" + tc.sigs)
			_, err := OpenNote(signed, note.VerifierList(lv))
			var invalid *note.InvalidSignatureError
			if tc.ok != (err == nil) || (err != nil && !errors.As(err, &invalid)) {
				t.Fatalf("OpenNote: %v, want ok=%v (or an InvalidSignatureError)", err, tc.ok)
			}
			_, err = OpenCheckpoint(signed, lv)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrCheckpointSignature)) {
				t.Fatalf("OpenCheckpoint: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	// The same for a policy witness's cosignatures: a second, bad
	// cosignature by a witness rejects the note (C2SP signed-note SHOULD).
	f := newPolicyFixture(t, "A")
	p, err := ParsePolicy([]byte(f.expand("log $LOG\nwitness A $A\nquorum A\n")))
	if err != nil {
		t.Fatal(err)
	}
	cp := string(f.checkpoint(t, "A"))
	if _, err := CheckQuorum(p, []byte(cp)); err != nil {
		t.Fatal(err)
	}
	badCosig := sigLine(t, f.cosigners["A"], other)
	if _, err := CheckQuorum(p, []byte(cp+badCosig)); err == nil {
		t.Fatal("a note with a good and a bad cosignature by one witness met the quorum")
	}
}

// TestCosignatureSpecExample reads the cosignature of C2SP
// tlog-cosignature's example checkpoint: key ID, then the timestamp of the
// spec's example signed message (1679315147), then 64 signature bytes.
func TestCosignatureSpecExample(t *testing.T) {
	const line = "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
	ts, err := CosignatureTime(line)
	if err != nil {
		t.Fatal(err)
	}
	if !ts.Equal(time.Unix(1679315147, 0)) {
		t.Fatalf("timestamp %v (%d), want 1679315147", ts, ts.Unix())
	}
	// And our signed message has the spec's form.
	text := "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	want := "cosignature/v1\ntime 1679315147\n" + text
	if got := string(cosignedMessage(1679315147, []byte(text))); got != want {
		t.Fatalf("signed message %q, want %q", got, want)
	}
}

// TestPolicyConformance: C2SP tlog-policy rules on what a policy may
// contain, beyond TestParsePolicyRejects.
func TestPolicyConformance(t *testing.T) {
	f := newPolicyFixture(t, "A", "B", "C")
	_, sameKeyAsLog := testLogKey(t, "witness.example/L", 1) // the log's public key
	for _, tc := range []struct {
		name, policy string
		ok           bool
		want         string
	}{
		// "Each defined name can be listed as a group member at most
		// once": across the policy, not only within one group.
		{"member of two groups", "witness A $A\nwitness B $B\nwitness C $C\ngroup g any A B\ngroup h any A C\ngroup q all g h\nquorum q\n", false, "member"},
		{"group member of two groups", "witness A $A\nwitness B $B\ngroup g any A B\ngroup h any g\ngroup i any g\nquorum h\n", false, "member"},
		{"member once each", "witness A $A\nwitness B $B\nwitness C $C\ngroup g any A B\ngroup h all g C\nquorum h\n", true, ""},
		// Witness keys are cosignature keys (type 0x04), not plain
		// Ed25519 note keys (0x01).
		{"plain Ed25519 witness key", "witness A " + witnessTestKey(t, 9) + "\nquorum A\n", false, "0x01"},
		// Duplicates are among logs or among witnesses; a witness may
		// hold a log's public key (type 0x04 and 0x01 keys differ by ID).
		{"witness with a log's public key", "log $LOG\nwitness A " + cosignatureKeyOf(t, sameKeyAsLog) + "\nquorum A\n", true, ""},
		{"two logs, one key", "log $LOG\nlog " + renameKey(t, f.logKey, "other.example/log") + "\nquorum none\n", false, "already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(f.expand(tc.policy)))
			if tc.ok != (err == nil) {
				t.Fatalf("ParsePolicy: %v, want ok=%v", err, tc.ok)
			}
			if err != nil && (!errors.Is(err, ErrMalformedPolicy) || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want ErrMalformedPolicy with %q", err, tc.want)
			}
		})
	}
}

// cosignatureKeyOf returns the type 0x04 verifier key of a plain Ed25519
// verifier key's public key.
func cosignatureKeyOf(t *testing.T, vkey string) string {
	t.Helper()
	name, _, key, err := splitVerifierKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return CosignatureVerifierKey(name, key[1:])
}

// renameKey returns an Ed25519 verifier key of the same public key under
// another name.
func renameKey(t *testing.T, vkey, name string) string {
	t.Helper()
	_, _, key, err := splitVerifierKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	k, err := VerifierKey(name, key[1:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestMLDSACosignatureAgainstFormats: C2SP tlog-cosignature's ML-DSA-44
// type (0x06; "Witnesses SHOULD use ML-DSA-44 cosignatures"). Our verifier
// checks cosignatures made by transparency-dev/formats (filippo.io/mldsa,
// an implementation independent of the circl one we verify with): the
// key ID, the subtree/v1 message (cosigner name, timestamp, origin, 0,
// size, root), the timestamp, and that a changed checkpoint or a
// cosignature under another name fails. A policy and CheckQuorum take it.
func TestMLDSACosignatureAgainstFormats(t *testing.T) {
	skey, vkey, err := fnote.GenerateMLDSAKey("witness.example/pq")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatalf("ML-DSA-44 verifier key %.60q: %v", vkey, err)
	}
	if ours.KeyHash() != theirs.KeyHash() || ours.Name() != "witness.example/pq" {
		t.Fatalf("key %s %08x, formats says %08x", ours.Name(), ours.KeyHash(), theirs.KeyHash())
	}
	f := newPolicyFixture(t, "A")
	text := Checkpoint{Origin: "example.com/log", Size: 3, Hash: EmptyRoot(), Extensions: []string{"ext"}}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(text)}, f.logSigner, theirs, f.cosigners["A"])
	if err != nil {
		t.Fatal(err)
	}
	n, err := OpenNote(signed, note.VerifierList(ours))
	if err != nil {
		t.Fatalf("formats' ML-DSA-44 cosignature doesn't verify: %v\n%s", err, signed)
	}
	ts, err := CosignatureTime(n.Sigs[0].Base64)
	if err != nil || time.Since(ts) > time.Minute || time.Since(ts) < -time.Minute {
		t.Fatalf("timestamp %v (%v)", ts, err)
	}
	// The ML-DSA-44 message doesn't cover extension lines, but does the
	// size: a changed size fails.
	changed := strings.Replace(string(signed), "\n3\n", "\n4\n", 1)
	if _, err := OpenNote([]byte(changed), note.VerifierList(ours)); err == nil {
		t.Fatal("the cosignature verifies over another size")
	}
	// The message commits to the cosigner's name: the same key under
	// another name doesn't verify (its key ID differs too, so build it).
	renamed := *ours
	renamed.name = "witness.example/other"
	if renamed.Verify(text, mustSig(t, n.Sigs[0].Base64)) {
		t.Fatal("the cosignature verifies under another cosigner name")
	}
	p, err := ParsePolicy([]byte(f.expand("log $LOG\nwitness PQ " + vkey + "\nwitness A $A\ngroup g all PQ A\nquorum g\n")))
	if err != nil {
		t.Fatal(err)
	}
	cos, err := CheckQuorum(p, signed)
	if err != nil || len(cos) != 2 || cos[0].Witness != "PQ" {
		t.Fatalf("CheckQuorum: %+v %v", cos, err)
	}
	if _, err := NewWitnessPolicy([]string{vkey}, 1); err != nil {
		t.Fatalf("--witness with an ML-DSA-44 key: %v", err)
	}
}

// TestMLDSAZeroTimestamp: C2SP tlog-cosignature lets an ML-DSA-44
// cosigner leave the timestamp zero when it makes no statement that the
// tree is the largest it has seen. Such a line by a policy witness is a
// valid signature, not a bad one (which rejects the whole note), but it
// witnesses nothing: it counts toward no quorum and bounds no time.
func TestMLDSAZeroTimestamp(t *testing.T) {
	pk, sk, err := mldsa44.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name, pub := "witness.example/pq0", pk.Bytes()
	id := keyHash(name, MLDSACosignatureType, pub)
	vkey := fmt.Sprintf("%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{MLDSACosignatureType}, pub...)))
	f := newPolicyFixture(t, "A")
	signed := f.checkpoint(t, "A")
	cp := Checkpoint{Origin: "example.com/log", Size: 3, Hash: EmptyRoot()}
	sig := make([]byte, mldsa44.SignatureSize)
	if err := mldsa44.SignTo(sk, subtreeMessage(name, 0, cp.Origin, 0, cp.Size, cp.Hash), nil, false, sig); err != nil {
		t.Fatal(err)
	}
	raw := binary.BigEndian.AppendUint32(nil, id)
	raw = append(raw, make([]byte, 8)...) // timestamp 0
	raw = append(raw, sig...)
	withZero := append(bytes.Clone(signed), "— "+name+" "+base64.StdEncoding.EncodeToString(raw)+"\n"...)

	p, err := ParsePolicy([]byte(f.expand("log $LOG\nwitness A $A\nwitness PQ " + vkey + "\ngroup g any A PQ\nquorum g\n")))
	if err != nil {
		t.Fatal(err)
	}
	cos, err := CheckQuorum(p, withZero)
	if err != nil || len(cos) != 1 || cos[0].Witness != "A" {
		t.Fatalf("A's cosignature beside PQ's timestampless one: %+v %v", cos, err)
	}
	// Nor does it bound a time: CosignedTimes, which reads every line of
	// a policy witness, keeps A's as the earliest.
	lv, err := note.NewVerifier(f.logKey)
	if err != nil {
		t.Fatal(err)
	}
	if wa, err := CosignedTimes(withZero, lv, p); err != nil || !wa.Earliest.Time.Equal(cos[0].Time) || wa.Earliest.Witness != "A" {
		t.Fatalf("CosignedTimes with a timestampless cosignature: %+v %v; want A's time %v", wa, err, cos[0].Time)
	}
	alone, err := ParsePolicy([]byte("witness PQ " + vkey + "\nquorum PQ\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cos, err := CheckQuorum(alone, withZero); !errors.Is(err, ErrQuorum) || len(cos) != 0 || !strings.Contains(err.Error(), "0 policy witness") {
		t.Fatalf("a timestampless cosignature met the quorum: %+v %v", cos, err)
	}
}

func mustSig(t *testing.T, b64 string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) < 4 {
		t.Fatal(err)
	}
	return b[4:]
}

// TestCosignatureAgainstTorchwood: a second independent implementation of
// Ed25519 cosignature/v1 (filippo.io/torchwood, litewitness's): the same
// key gives the same verifier key, and each side verifies the other's
// cosignature of a checkpoint with extension lines.
func TestCosignatureAgainstTorchwood(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	detRand(11).Read(seed)
	priv := ed25519.NewKeyFromSeed(seed)
	ours, err := NewCosigner("witness.example/tw", priv, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := torchwood.NewCosignatureSigner("witness.example/tw", priv)
	if err != nil {
		t.Fatal(err)
	}
	if theirs.Verifier().String() != ours.VerifierKey() {
		t.Fatalf("verifier key %q, torchwood says %q", ours.VerifierKey(), theirs.Verifier().String())
	}
	ourV, err := NewCosignatureVerifier(ours.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	text := string(Checkpoint{Origin: "example.com/log", Size: 7, Hash: EmptyRoot(), Extensions: []string{"ext"}}.Marshal())
	for _, tc := range []struct {
		name   string
		signer note.Signer
		v      note.Verifier
	}{
		{"ours verified by torchwood", ours, theirs.Verifier()},
		{"torchwood's verified by ours", theirs, ourV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed, err := note.Sign(&note.Note{Text: text}, tc.signer)
			if err != nil {
				t.Fatal(err)
			}
			n, err := OpenNote(signed, note.VerifierList(tc.v))
			if err != nil {
				t.Fatalf("%v\n%s", err, signed)
			}
			ts, err := torchwood.CosignatureTimestamp(n.Sigs[0])
			if got, err2 := CosignatureTime(n.Sigs[0].Base64); err != nil || err2 != nil || got.Unix() != ts {
				t.Fatalf("timestamps %v (%v) and %d (%v)", got, err2, ts, err)
			}
		})
	}
}

package tlog

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
)

var update = flag.Bool("update", false, "rewrite the test vector values in docs/log.md")

const logDoc = "../docs/log.md"

// The inputs of the test vector published in docs/log.md. The member keys
// are RFC 8032 section 7.1's TEST 1 and TEST 2 keys.
const (
	vectorSalt       = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	vectorCollection = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	vectorObjectID   = "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade"
	vectorVersion    = "2026-11-03T09:15:00.000Z"
	vectorMember     = "identity--4f2c6d2e-5b8a-4c6e-9f1d-3a7b8c9d0e1f"
	vectorObject     = `{"created":"2026-11-03T09:15:00.000Z","created_by_ref":"identity--4f2c6d2e-5b8a-4c6e-9f1d-3a7b8c9d0e1f","id":"indicator--a932fcc6-e032-476c-826f-cb970a5a1ade","modified":"2026-11-03T09:15:00.000Z","pattern":"[domain-name:value = 'elections-results.example']","pattern_type":"stix","spec_version":"2.1","type":"indicator","valid_from":"2026-11-03T09:15:00Z"}`
	vectorReceived   = "2026-11-03T09:15:01.5Z"
	vectorSeed1      = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	vectorSeed2      = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
	vectorSetID      = "private-set--0d4d8e65-3f7c-4f5e-9a8b-1c2d3e4f5a6b"
	vectorSuite      = "ristretto255-SHA512"
	vectorOPRFKey    = "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76"
)

var logVectorBlock = regexp.MustCompile("(?s)<!-- vector:([a-z0-9-]+) -->\n```([a-z]*)\n(.*?)```")

// wrapHex breaks a long hex string into lines of 64 digits.
func wrapHex(s string) string {
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s)
	return b.String()
}

// TestLogDocVector recomputes the test vector published in docs/log.md
// from its inputs and checks every value block in the file, inputs
// included, so that the document can't drift from the code. With -update
// it rewrites the values.
func TestLogDocVector(t *testing.T) {
	doc, err := os.ReadFile(logDoc)
	if err != nil {
		t.Fatalf("docs/log.md must publish the log format test vector: %v", err)
	}
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	salt := mustHex(vectorSalt)
	if len(salt) != SaltSize {
		t.Fatal("the vector salt isn't SaltSize bytes")
	}
	if c, err := stix.Canonicalize([]byte(vectorObject)); err != nil || string(c) != vectorObject {
		t.Fatalf("the vector object isn't canonical: %s %v", c, err)
	}
	received, err := time.Parse(time.RFC3339Nano, vectorReceived)
	if err != nil {
		t.Fatal(err)
	}
	op := Opening{Salt: salt, Collection: vectorCollection, ObjectID: vectorObjectID, Version: vectorVersion, Member: vectorMember}
	input := objectCommitmentPrefix + string(salt) + lp(vectorCollection) + lp(vectorObjectID) + lp(vectorVersion) + lp(vectorMember) + vectorObject
	commitment := ObjectCommitment(op, []byte(vectorObject))
	if sha256Hex(input) != commitment {
		t.Fatal("the documented commitment input doesn't hash to ObjectCommitment")
	}
	objEntry, err := Entry{Kind: KindObject, Received: received, Commitment: commitment}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := CheckOpening([]byte(vectorObject), op, mustParse(t, objEntry)); err != nil {
		t.Fatalf("the vector object doesn't open its entry: %v", err)
	}

	key1 := ed25519.NewKeyFromSeed(mustHex(vectorSeed1))
	key2 := ed25519.NewKeyFromSeed(mustHex(vectorSeed2))
	// RFC 8032's published public keys for these seeds.
	if hex.EncodeToString(pubOf(key1)) != "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" ||
		hex.EncodeToString(pubOf(key2)) != "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c" {
		t.Fatal("the RFC 8032 keys don't derive as published")
	}
	register, err := Entry{Kind: KindMemberKey, Member: vectorMember, Event: EventRegister, Key: pubOf(key1),
		Authority: AuthorityOperator, Received: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	rotation := RotationMessage(pubOf(key1), pubOf(key2))
	statement := ed25519.Sign(key1, rotation)
	rotate, err := Entry{Kind: KindMemberKey, Member: vectorMember, Event: EventRotate, Key: pubOf(key2),
		Authority: AuthorityMember, Statement: statement, Received: time.Date(2026, 11, 3, 9, 30, 0, 250000000, time.UTC)}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The rotation replays: key 1 at entry 0, key 2 in force after entry 2.
	h := NewKeyHistory()
	if err := h.Apply(0, mustParse(t, register)); err != nil {
		t.Fatal(err)
	}
	if err := h.Apply(2, mustParse(t, rotate)); err != nil {
		t.Fatal(err)
	}
	if k, ok := h.KeyAt(vectorMember, 3); !ok || !k.Key.Equal(pubOf(key2)) || k.Authority != AuthorityMember {
		t.Fatalf("the vector rotation doesn't replay: %+v %v", k, ok)
	}

	setOp := Opening{Salt: salt, Collection: vectorCollection, ObjectID: vectorSetID, Member: vectorMember}
	oprf := OPRFKeyCommitment(setOp, vectorSuite, mustHex(vectorOPRFKey))

	want := map[string]string{
		"salt":             vectorSalt,
		"salt-base64":      base64.StdEncoding.EncodeToString(salt),
		"collection":       vectorCollection,
		"object-id":        vectorObjectID,
		"version":          vectorVersion,
		"member":           vectorMember,
		"object":           vectorObject,
		"commitment-input": wrapHex(hex.EncodeToString([]byte(input))),
		"commitment":       commitment,
		"received":         vectorReceived,
		"object-entry":     string(objEntry),
		"object-leaf-hash": LeafHash(objEntry).Hex(),
		"seed-1":           vectorSeed1,
		"public-key-1":     base64.StdEncoding.EncodeToString(pubOf(key1)),
		"register-entry":   string(register),
		"seed-2":           vectorSeed2,
		"public-key-2":     base64.StdEncoding.EncodeToString(pubOf(key2)),
		"rotation-message": strings.TrimSuffix(string(rotation), "\n"),
		"rotation-stmt":    base64.StdEncoding.EncodeToString(statement),
		"rotate-entry":     string(rotate),
		"set-id":           vectorSetID,
		"suite":            vectorSuite,
		"oprf-public-key":  vectorOPRFKey,
		"oprf-commitment":  oprf,
		"v1-entry":         `{"collection":"` + vectorCollection + `","commitment":"` + commitment + `","member":"` + vectorMember + `","object_id":"` + vectorObjectID + `","received":"` + vectorReceived + `","version":"` + vectorVersion + `"}`,
		"v1-error":         mustFail(t, `{"collection":"`+vectorCollection+`","commitment":"`+commitment+`","member":"`+vectorMember+`","object_id":"`+vectorObjectID+`","received":"`+vectorReceived+`","version":"`+vectorVersion+`"}`),
	}
	found := map[string]bool{}
	out := logVectorBlock.ReplaceAllStringFunc(string(doc), func(block string) string {
		m := logVectorBlock.FindStringSubmatch(block)
		name, lang, body := m[1], m[2], strings.TrimSuffix(m[3], "\n")
		w, ok := want[name]
		if !ok {
			t.Errorf("docs/log.md has an unknown vector block %q", name)
			return block
		}
		found[name] = true
		if *update {
			return fmt.Sprintf("<!-- vector:%s -->\n```%s\n%s\n```", name, lang, w)
		}
		if body != w {
			t.Errorf("docs/log.md vector %q is\n%s\nwant\n%s", name, body, w)
		}
		return block
	})
	for name := range want {
		if !found[name] {
			t.Errorf("docs/log.md lacks the vector block %q", name)
		}
	}
	if *update {
		if err := os.WriteFile(logDoc, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustParse(t *testing.T, leaf []byte) Entry {
	t.Helper()
	e, err := ParseEntry(leaf)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mustFail returns ParseEntry's error message for leaf, which must be
// ErrOldFormat.
func mustFail(t *testing.T, leaf string) string {
	t.Helper()
	_, err := ParseEntry([]byte(leaf))
	if !errors.Is(err, ErrOldFormat) {
		t.Fatalf("ParseEntry(%s) = %v, want ErrOldFormat", leaf, err)
	}
	return err.Error()
}

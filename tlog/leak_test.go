package tlog

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
)

// encodings returns the forms in which s could show in a leaf: clear,
// lower and upper hex, and standard and URL base64 at each of the three
// alignments s can have in a longer encoded string (only the characters
// that depend on s alone).
func encodings(s string) map[string]string {
	out := map[string]string{
		"clear":     s,
		"hex":       hex.EncodeToString([]byte(s)),
		"upper hex": strings.ToUpper(hex.EncodeToString([]byte(s))),
	}
	for k := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), s...))
		skip := 0
		if k > 0 {
			skip = 4 // the first quad mixes in the bytes before s
		}
		core := enc[skip : len(enc)-4] // the last may mix in what follows
		if len(core) < 4 {
			continue
		}
		out[fmt.Sprintf("base64+%d", k)] = core
		out[fmt.Sprintf("base64url+%d", k)] = strings.NewReplacer("+", "-", "/", "_").Replace(core)
	}
	return out
}

// secretObject is an object version and what its entry must not show.
type secretObject struct {
	object  []byte
	op      Opening
	secrets []string
}

func secretObjects(t *testing.T) []secretObject {
	key := testKey(0x51)
	var out []secretObject
	add := func(raw string, op Opening, values ...string) {
		obj, err := stix.Sign([]byte(raw), key)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Type, ID string }
		if err := json.Unmarshal(obj, &head); err != nil {
			t.Fatal(err)
		}
		uuid := strings.TrimPrefix(head.ID, head.Type+"--")
		out = append(out, secretObject{obj, op, append([]string{head.ID, head.Type + "--", uuid, op.Collection, op.Member,
			strings.TrimPrefix(op.Member, "identity--"), op.Version, base64.StdEncoding.EncodeToString(pubOf(key))}, values...)})
	}
	// A TLP:RED observable whose id is deterministic (UUIDv5 of the value):
	// the id, the type and the value must all stay hidden.
	domain, err := stix.DeterministicID("domain-name", map[string]any{"value": "ballot-results-portal.example"})
	if err != nil {
		t.Fatal(err)
	}
	add(`{"type":"domain-name","spec_version":"2.1","id":"`+domain+`","value":"ballot-results-portal.example"}`,
		Opening{Salt: testSalt(1), Collection: "5f6b1e0a-cc1c-4b3e-9d0e-2d5d9b5bb001", ObjectID: domain,
			Version: "2026-11-24T20:00:00.000Z", Member: "identity--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"},
		"ballot-results-portal.example")
	add(`{"type":"indicator","spec_version":"2.1","id":"indicator--e2e1a340-4f2e-4f4f-8f4b-6ad1c1b4e0d7","created":"2026-10-01T08:00:00.000Z","modified":"2026-10-02T09:30:00.000Z","name":"Spear-phishing sender of the voter-roll campaign","pattern":"[ipv4-addr:value = '203.0.113.77']","pattern_type":"stix","valid_from":"2026-10-01T08:00:00Z"}`,
		Opening{Salt: testSalt(2), Collection: "0e3d5c2b-1a09-4f87-a6b5-c4d3e2f1a0b9", ObjectID: "indicator--e2e1a340-4f2e-4f4f-8f4b-6ad1c1b4e0d7",
			Version: "2026-10-02T09:30:00.000Z", Member: "identity--f1e2d3c4-b5a6-4978-8a6b-5c4d3e2f1a0b"},
		"Spear-phishing sender", "203.0.113.77", "voter-roll campaign")
	return out
}

// TestEntriesRevealOnlyExistenceAndTime scans the leaf bytes of object and
// OPRF key entries for what a member who may not read the collection must
// not learn: ids, types, collections, members, versions, values, keys, in
// clear, hex or base64. The leaf has exactly kind, received and the
// commitment, and the commitment can't be recomputed without the salt.
func TestEntriesRevealOnlyExistenceAndTime(t *testing.T) {
	received := time.Date(2026, 11, 24, 21, 0, 0, 123456789, time.UTC)
	var leaves [][]byte
	var secrets []string
	for _, s := range secretObjects(t) {
		e := Entry{Kind: KindObject, Received: received, Commitment: ObjectCommitment(s.op, s.object)}
		leaf, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		checkMembers(t, leaf, map[string]string{"kind": KindObject, "received": "2026-11-24T21:00:00.123456789Z", "commitment": e.Commitment})
		leaves = append(leaves, leaf)
		secrets = append(secrets, s.secrets...)

		// Without the salt (or with another one), guessing every other
		// field right doesn't reproduce the commitment.
		for _, salt := range [][]byte{nil, make([]byte, SaltSize), testSalt(99)} {
			guess := s.op
			guess.Salt = salt
			if ObjectCommitment(guess, s.object) == e.Commitment {
				t.Errorf("commitment of %s recomputed with salt %x", s.op.ObjectID, salt)
			}
		}
	}
	// A private set's key entry hides the set, its collection, member,
	// suite and key.
	setOp := Opening{Salt: testSalt(3), Collection: "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d", ObjectID: "private-set--9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
		Member: "identity--aa11bb22-cc33-4d44-8e55-ff6677889900"}
	setKey := bytes.Repeat([]byte{0x42, 0x99}, 16)
	ke := Entry{Kind: KindOPRFKey, Received: received.Add(time.Second), Commitment: OPRFKeyCommitment(setOp, "ristretto255-SHA512", setKey)}
	kleaf, err := ke.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	checkMembers(t, kleaf, map[string]string{"kind": KindOPRFKey, "received": "2026-11-24T21:00:01.123456789Z", "commitment": ke.Commitment})
	leaves = append(leaves, kleaf)
	secrets = append(secrets, setOp.ObjectID, setOp.Collection, setOp.Member, "ristretto255", string(setKey))

	// And the fixture log, built as a node builds one.
	l := newTestLog(t, 20)
	for i := 1; i < len(l.leaves); i++ {
		leaves = append(leaves, l.leaves[i])
		secrets = append(secrets, l.openings[i].ObjectID, l.openings[i].Collection, l.openings[i].Member, fmt.Sprintf("198.51.100.%d'", i), "indicator")
	}

	for _, leaf := range leaves {
		for _, s := range secrets {
			if enc, ok := shows(leaf, s); ok {
				t.Errorf("leaf %s shows %q (%s)", leaf, s, enc)
			}
		}
	}

	// The scan itself finds what it looks for: a format v1 leaf, and
	// values hidden in hex or base64 at any alignment.
	v1 := `{"collection":"` + setOp.Collection + `","commitment":"` + ke.Commitment + `","member":"m","object_id":"o","received":"r","version":"v"}`
	value := "ballot-results-portal.example"
	for _, c := range []struct{ leaf, secret, enc string }{
		{v1, setOp.Collection, "clear"},
		{`{"x":"` + strings.ToUpper(hex.EncodeToString([]byte(value))) + `"}`, value, "upper hex"},
		{`{"x":"` + base64.StdEncoding.EncodeToString([]byte("ab"+value+"c")) + `"}`, value, "base64"},
		{`{"x":"` + base64.RawURLEncoding.EncodeToString([]byte("a"+value)) + `"}`, value, "base64"},
	} {
		if enc, ok := shows([]byte(c.leaf), c.secret); !ok || !strings.HasPrefix(enc, c.enc) {
			t.Errorf("scan of %s for %q: %q %v, want %s", c.leaf, c.secret, enc, ok, c.enc)
		}
	}
}

// shows reports whether leaf contains s in one of its encodings, and
// which (clear first).
func shows(leaf []byte, s string) (string, bool) {
	encs := encodings(s)
	names := make([]string, 0, len(encs))
	for n := range encs {
		names = append(names, n)
	}
	sort.Strings(names)
	if bytes.Contains(leaf, []byte(s)) {
		return "clear", true
	}
	for _, n := range names {
		if bytes.Contains(leaf, []byte(encs[n])) {
			return n, true
		}
	}
	return "", false
}

// checkMembers checks that leaf is a JSON object with exactly want.
func checkMembers(t *testing.T, leaf []byte, want map[string]string) {
	t.Helper()
	var got map[string]string
	if err := json.Unmarshal(leaf, &got); err != nil {
		t.Fatalf("%s: %v", leaf, err)
	}
	names := func(m map[string]string) string {
		var n []string
		for k := range m {
			n = append(n, k)
		}
		sort.Strings(n)
		return strings.Join(n, ",")
	}
	if names(got) != names(want) {
		t.Fatalf("leaf %s has members %s, want only %s", leaf, names(got), names(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("leaf %s: %s = %q, want %q", leaf, k, got[k], v)
		}
	}
}

// TestSameObjectEntriesUnlinkable: the same object version shared into two
// collections (or twice) gets two salts, so its entries share nothing but
// their kind: nobody can link them, or match one against a guess.
func TestSameObjectEntriesUnlinkable(t *testing.T) {
	s := secretObjects(t)[0]
	a, b := s.op, s.op
	b.Salt = testSalt(5)
	b.Collection = "00000000-0000-4000-8000-000000000002"
	ca, cb := ObjectCommitment(a, s.object), ObjectCommitment(b, s.object)
	b.Collection = a.Collection
	if cc := ObjectCommitment(b, s.object); ca == cb || ca == cc {
		t.Fatalf("commitments link: %s %s %s", ca, cb, cc)
	}
}

package tlog

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// stixObject returns an indicator with the given id, created/modified
// members (omitted when empty) and creator, signed with key (canonical and
// unsigned when key is nil).
func stixObject(t *testing.T, id, created, modified, creator string, key ed25519.PrivateKey) []byte {
	t.Helper()
	m := map[string]any{"type": "indicator", "spec_version": "2.1", "id": id, "created_by_ref": creator,
		"name": "x", "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}
	if created != "" {
		m["created"] = created
	}
	if modified != "" {
		m["modified"] = modified
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if key == nil {
		out, err := stix.Canonicalize(raw)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out, err := stix.Sign(raw, key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// objectEntry returns the opening of object for the member and the entry
// committing to it.
func objectEntry(object []byte, id, version, member string) (Opening, Entry) {
	op := Opening{Salt: testSalt(7), Collection: testCollection, ObjectID: id, Version: version, Member: member}
	return op, Entry{Kind: KindObject, Received: testT0, Commitment: ObjectCommitment(op, object)}
}

// TestCheckObject: an object checks against its entry only with the key in
// force for the opening's member at the entry's index.
func TestCheckObject(t *testing.T) {
	a, b := testKey(0xa), testKey(0xb)
	keys := NewKeyHistory()
	for i, e := range []Entry{
		{Kind: KindMemberKey, Member: testMember, Event: EventRegister, Key: pubOf(a), Authority: AuthorityOperator},
		{Kind: KindMemberKey, Member: testMember, Event: EventRotate, Key: pubOf(b), Authority: AuthorityOperator},
	} {
		if err := keys.Apply(uint64(i*5), e); err != nil { // at 0 and 5
			t.Fatal(err)
		}
	}
	id := "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	byA := stixObject(t, id, testVersion, testVersion, testMember, a)
	byB := stixObject(t, id, testVersion, testVersion, testMember, b)
	for _, c := range []struct {
		name   string
		object []byte
		index  uint64
		signer ed25519.PrivateKey // nil: the check fails with ErrKey
	}{
		{"A before the rotation", byA, 3, a},
		{"A at the rotation's index", byA, 5, a},
		{"A after the rotation", byA, 6, nil},
		{"B after the rotation", byB, 6, b},
		{"B before the rotation", byB, 3, nil},
	} {
		op, e := objectEntry(c.object, id, testVersion, testMember)
		check, err := CheckObject(c.object, op, e, c.index, keys)
		if c.signer == nil {
			if !errors.Is(err, ErrObjectMismatch) || !errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrKey) {
				t.Errorf("%s: err = %v, want ErrObjectMismatch, ErrBadSignature and ErrKey", c.name, err)
			}
			continue
		}
		if err != nil || !check.Signer.Key.Equal(pubOf(c.signer)) || check.Relayed() {
			t.Errorf("%s: %+v, %v", c.name, check, err)
		}
	}

	// The opening's member is whose key counts: the same object credited
	// to a member the key entries don't show, or logged before its
	// member's first key, fails.
	unknown := "identity--00000000-0000-4000-8000-000000000001"
	for _, c := range []struct {
		name, member string
		index        uint64
	}{
		{"unregistered member", unknown, 3},
		{"A before any key", testMember, 0},
	} {
		op, e := objectEntry(byA, id, testVersion, c.member)
		if _, err := CheckObject(byA, op, e, c.index, keys); !errors.Is(err, ErrKey) || errors.Is(err, ErrUnsignedObject) {
			t.Errorf("%s: %v, want ErrKey", c.name, err)
		}
	}

	// A member the log registered without a key (a node's peer:NAME,
	// storing what it replicates) can't have signed in this log: its
	// signed objects count as unsigned here, with the key they were
	// signed with, until a key is put in force for it.
	keyless := "identity--00000000-0000-4000-8000-000000000002"
	if err := keys.Apply(1, Entry{Kind: KindMemberKey, Member: keyless, Event: EventRegister, Authority: AuthorityOperator}); err != nil {
		t.Fatal(err)
	}
	if err := keys.Apply(7, Entry{Kind: KindMemberKey, Member: keyless, Event: EventRotate, Key: pubOf(testKey(0xc)), Authority: AuthorityOperator}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		object  []byte
		index   uint64
		foreign bool // else ErrKey
	}{
		{"signed in another log", byA, 3, true},
		{"at the keyless registration", byA, 1, false},
		{"at the key's entry", byA, 7, true},
		{"after a key was put in force", byA, 8, false},
	} {
		op, e := objectEntry(c.object, id, testVersion, keyless)
		check, err := CheckObject(c.object, op, e, c.index, keys)
		if !c.foreign {
			if !errors.Is(err, ErrKey) || errors.Is(err, ErrUnsignedObject) {
				t.Errorf("keyless member, %s: %v, want ErrKey", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrUnsignedObject) || !errors.Is(err, ErrForeignSignature) || errors.Is(err, ErrObjectMismatch) ||
			!check.Foreign() || !check.ForeignKey.Equal(pubOf(a)) || check.Signer.Key != nil || !check.Relayed() {
			t.Errorf("keyless member, %s: %+v, %v; want ErrForeignSignature with A's key, relayed", c.name, check, err)
		}
	}
	// A keyless member revoked (member remove) signs nothing more: after
	// the revocation its signed objects fail.
	ended := "identity--00000000-0000-4000-8000-000000000003"
	endedKeys := NewKeyHistory()
	for _, e := range []struct {
		i uint64
		e Entry
	}{
		{2, Entry{Kind: KindMemberKey, Member: ended, Event: EventRegister, Authority: AuthorityOperator}},
		{4, Entry{Kind: KindMemberKey, Member: ended, Event: EventRevokeMember, Authority: AuthorityOperator}},
	} {
		if err := endedKeys.Apply(e.i, e.e); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		index   uint64
		foreign bool
	}{{3, true}, {4, true}, {5, false}} {
		op, e := objectEntry(byA, id, testVersion, ended)
		_, err := CheckObject(byA, op, e, c.index, endedKeys)
		if c.foreign != errors.Is(err, ErrForeignSignature) || !c.foreign && !errors.Is(err, ErrKey) {
			t.Errorf("keyless member revoked at 4, object at %d: %v (want foreign: %v)", c.index, err, c.foreign)
		}
	}

	// A tampered signature is a mismatch whatever the keys.
	bad := bytes.Replace(byA, []byte(`"signature":"`), []byte(`"signature":"A`), 1)
	op, e := objectEntry(bad, id, testVersion, keyless)
	if _, err := CheckObject(bad, op, e, 3, keys); !errors.Is(err, ErrBadSignature) || errors.Is(err, ErrUnsignedObject) {
		t.Errorf("bad signature by a keyless member: %v, want ErrBadSignature", err)
	}
}

func TestCheckObjectMismatches(t *testing.T) {
	a := testKey(0xa)
	keys := NewKeyHistory()
	if err := keys.Apply(0, Entry{Kind: KindMemberKey, Member: testMember, Event: EventRegister, Key: pubOf(a), Authority: AuthorityOperator}); err != nil {
		t.Fatal(err)
	}
	id := "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	obj := stixObject(t, id, testVersion, testVersion, testMember, a)

	// Re-indented bytes of the same object still check (canonicalized).
	var pretty map[string]any
	if err := json.Unmarshal(obj, &pretty); err != nil {
		t.Fatal(err)
	}
	indented, _ := json.MarshalIndent(pretty, "", "  ")
	op, e := objectEntry(obj, id, testVersion, testMember)
	if _, err := CheckObject(indented, op, e, 1, keys); err != nil {
		t.Errorf("indented object: %v", err)
	}
	// The version compares as an instant: "…00Z" opens "…00.000Z".
	op2, e2 := objectEntry(obj, id, "2026-01-01T00:00:00Z", testMember)
	if _, err := CheckObject(obj, op2, e2, 1, keys); err != nil {
		t.Errorf("version spelled differently: %v", err)
	}

	// A signature that doesn't verify, committed to as such.
	forged := []byte(strings.Replace(string(obj), `"name":"x"`, `"name":"y"`, 1))
	op3, e3 := objectEntry(forged, id, testVersion, testMember)
	if _, err := CheckObject(forged, op3, e3, 1, keys); !errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrObjectMismatch) || errors.Is(err, ErrKey) {
		t.Errorf("bad signature: %v", err)
	}
	// An unsigned object is only ErrUnsignedObject.
	unsigned := stixObject(t, id, testVersion, testVersion, testMember, nil)
	op4, e4 := objectEntry(unsigned, id, testVersion, testMember)
	if _, err := CheckObject(unsigned, op4, e4, 1, keys); !errors.Is(err, ErrUnsignedObject) || errors.Is(err, ErrObjectMismatch) {
		t.Errorf("unsigned: %v", err)
	}
	// A relayed object: its creator is another member, the relay signed.
	relayed := stixObject(t, id, testVersion, testVersion, "identity--00000000-0000-4000-8000-00000000c0de", a)
	op5, e5 := objectEntry(relayed, id, testVersion, testMember)
	if c, err := CheckObject(relayed, op5, e5, 1, keys); err != nil || !c.Relayed() || c.ClaimedCreator != "identity--00000000-0000-4000-8000-00000000c0de" {
		t.Errorf("relayed: %+v %v", c, err)
	}
	// No modified: the version is the created time.
	created := stixObject(t, id, "2025-05-05T05:05:05.000Z", "", testMember, a)
	op6, e6 := objectEntry(created, id, "2025-05-05T05:05:05.000Z", testMember)
	if _, err := CheckObject(created, op6, e6, 1, keys); err != nil {
		t.Errorf("created only: %v", err)
	}

	for name, c := range map[string]struct {
		object []byte
		op     Opening
		e      Entry
		want   string
	}{
		// Openings that open the commitment but disagree with the object.
		"other id":        {obj, op7("indicator--00000000-0000-4000-8000-000000000000", testVersion), Entry{}, "id is"},
		"other version":   {obj, op7(id, "2026-02-01T00:00:00.000Z"), Entry{}, "version is"},
		"created version": {created, op7(id, "2026-01-01T00:00:00.000Z"), Entry{}, "version is"},
		// Openings or objects that don't open it.
		"changed object": {forged, op, e, "commitment"},
		"changed salt":   {obj, Opening{Salt: testSalt(8), Collection: op.Collection, ObjectID: op.ObjectID, Version: op.Version, Member: op.Member}, e, "commitment"},
		"not JSON":       {[]byte("{"), op, e, "valid JSON"},
		"key entry":      {obj, op, Entry{Kind: KindMemberKey, Member: testMember, Event: EventRegister, Authority: AuthorityOperator, Received: testT0}, "not an object entry"},
		"oprf-key entry": {obj, op, Entry{Kind: KindOPRFKey, Received: testT0, Commitment: e.Commitment}, "not an object entry"},
	} {
		if c.e.Kind == "" {
			c.e = Entry{Kind: KindObject, Received: testT0, Commitment: ObjectCommitment(c.op, c.object)}
		}
		if _, err := CheckObject(c.object, c.op, c.e, 1, keys); !errors.Is(err, ErrObjectMismatch) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrObjectMismatch saying %q", name, err, c.want)
		}
	}
}

// op7 is an opening of the fixture's collection and member with salt 7.
func op7(id, version string) Opening {
	return Opening{Salt: testSalt(7), Collection: testCollection, ObjectID: id, Version: version, Member: testMember}
}

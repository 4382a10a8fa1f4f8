package node

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// TestPredefinedTLPUnsigned: the predefined TLP marking definitions, which
// real bundles bring along (the OASIS documentation's marking example has
// TLP:AMBER; MISP and OpenCTI exports have TLP markings), are the
// specification's objects: a collection that requires signatures takes
// them unsigned, from every member, and a signed one is still refused
// (another object under a predefined id). Before, such a bundle always
// lost its TLP object: signed it was not the predefined object, unsigned
// it was not signed.
func TestPredefinedTLPUnsigned(t *testing.T) {
	tn := newTestNode(t)
	raw, err := os.ReadFile("../../testdata/corpus/cti-documentation-examples/using-marking-definitions.json")
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct{ Objects []json.RawMessage }
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatal(err)
	}
	var amber json.RawMessage
	for _, o := range bundle.Objects {
		if strings.Contains(string(o), stix.TLPAmberID) {
			amber = o
		}
	}
	if amber == nil {
		t.Fatal("the OASIS example has no TLP:AMBER marking definition")
	}
	objs := []json.RawMessage{amber}
	for _, l := range stix.TLPLevels {
		objs = append(objs, stix.TLPMarking(l.ID))
	}
	for i, m := range []testMember{tn.alice, tn.bob} {
		st := post(t, m.Client, tn.shared, objs...)
		if st.SuccessCount != len(objs) || st.FailureCount != 0 {
			t.Fatalf("%s posting the predefined TLP markings unsigned: %+v", m.ID, st)
		}
		// The first time, each is said to be stored as the predefined
		// object, not because the collection accepts unsigned objects.
		if i == 0 && st.Successes[0].Message != PredefinedTLPMessage {
			t.Errorf("TLP:AMBER stored with the message %q, want %q", st.Successes[0].Message, PredefinedTLPMessage)
		}
	}
	// Signed, it is not the predefined object any more.
	signed, err := stix.Sign(amber, tn.alice.Key)
	if err != nil {
		t.Fatal(err)
	}
	st := post(t, tn.alice.Client, tn.shared, signed)
	if st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "predefined TLP") {
		t.Errorf("a signed TLP:AMBER: %+v; want it refused as not the predefined object", st)
	}
	// Another unsigned marking definition still needs a signature.
	stmt := object(t, nil, map[string]any{
		"type": "marking-definition", "spec_version": "2.1", "id": stix.NewIdentifier("marking-definition"),
		"created": "2026-01-01T00:00:00.000Z", "definition_type": "statement",
		"definition": map[string]any{"statement": "Copyright (c) Stark Industries 2017."},
	})
	st = post(t, tn.alice.Client, tn.shared, stmt)
	if st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "not signed") {
		t.Errorf("an unsigned statement marking: %+v; want it refused as unsigned", st)
	}
	// A TLP id with other content is refused by validation, signed or not.
	other := object(t, nil, map[string]any{
		"type": "marking-definition", "spec_version": "2.1", "id": stix.TLPAmberID,
		"created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "name": "TLP:GREEN",
		"definition": map[string]any{"tlp": "amber"},
	})
	st = post(t, tn.alice.Client, tn.shared, other)
	if st.FailureCount != 1 {
		t.Errorf("a changed TLP:AMBER: %+v; want it refused", st)
	}
	// What readers get back is the predefined object, byte for byte in
	// its canonical form.
	env, err := tn.alice.Client.Objects(context.Background(), tn.shared, taxii.Query{})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, o := range env.Objects {
		p, err := stix.Parse(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := stix.LookupTLP(p.ID); !ok {
			continue
		}
		found++
		if c, _ := p.Canonical(); string(c) != string(stix.TLPMarking(p.ID)) {
			t.Errorf("%s came back as %s", p.ID, c)
		}
	}
	if found != len(stix.TLPLevels) {
		t.Errorf("%d predefined TLP markings came back, want %d", found, len(stix.TLPLevels))
	}
}

// TestTLPIdNotSquatted: a member can't take a predefined TLP id in a
// collection with a signed marking of its own under it (a statement with
// TLP 1.0's created date, or a later one): it was stored, and then another
// member's TLP:AMBER was refused as a different object of the same
// version, and readers resolving TLP:AMBER's id got the newest version,
// the member's statement.
func TestTLPIdNotSquatted(t *testing.T) {
	tn := newTestNode(t)
	for _, created := range []string{"2017-01-20T00:00:00.000Z", "2030-01-01T00:00:00.000Z"} {
		squat := object(t, tn.bob.Key, map[string]any{
			"type": "marking-definition", "spec_version": "2.1", "id": stix.TLPAmberID,
			"created_by_ref": tn.bob.ID, "created": created, "definition_type": "statement",
			"definition": map[string]any{"statement": "TLP:AMBER means whatever bob says"},
		})
		if st := post(t, tn.bob.Client, tn.shared, squat); st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "predefined TLP") {
			t.Errorf("bob's statement under TLP:AMBER's id, created %s: %+v; want it refused", created, st)
		}
	}
	if st := post(t, tn.alice.Client, tn.shared, stix.TLPMarking(stix.TLPAmberID)); st.SuccessCount != 1 {
		t.Errorf("alice's TLP:AMBER after bob's attempts: %+v", st)
	}
}

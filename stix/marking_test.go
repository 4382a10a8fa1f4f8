package stix

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

func TestTLPMarkings(t *testing.T) {
	var v Validator
	for _, l := range TLPLevels {
		raw := TLPMarking(l.ID)
		o, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", l.Name, err)
		}
		if err := v.Validate(o); err != nil {
			t.Errorf("TLP %d %s does not validate: %v", l.Version, l.Name, err)
		}
		got, ok := LookupTLP(l.ID)
		if !ok || got != l {
			t.Errorf("LookupTLP(%s) = %v, %v", l.ID, got, ok)
		}
	}
	if TLPMarking("marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f") != nil {
		t.Error("TLPMarking returned an object for a non-TLP id")
	}
	// STIX 2.1 section 7.2.1.4 prints TLP:WHITE as this object.
	want := `{"created":"2017-01-20T00:00:00.000Z","definition":{"tlp":"white"},"definition_type":"tlp","id":"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9","name":"TLP:WHITE","spec_version":"2.1","type":"marking-definition"}`
	if got := string(TLPMarking(TLPWhiteID)); got != want {
		t.Errorf("TLP:WHITE =\n%s\nwant\n%s", got, want)
	}
	// OASIS publishes TLP:CLEAR (TLP 2.0) as this object.
	want = `{"created":"2022-10-01T00:00:00.000Z","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"clear"}},"id":"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487","name":"TLP:CLEAR","spec_version":"2.1","type":"marking-definition"}`
	if got := string(TLPMarking(TLP2ClearID)); got != want {
		t.Errorf("TLP:CLEAR =\n%s\nwant\n%s", got, want)
	}
	// The TLP 2.0 marking ids are all distinct from TLP 1.0's.
	ids := map[string]bool{}
	for _, l := range TLPLevels {
		if ids[l.ID] || !strings.HasPrefix(l.ID, "marking-definition--") {
			t.Errorf("bad or duplicate id %s", l.ID)
		}
		ids[l.ID] = true
	}
}

func TestIsPredefinedTLP(t *testing.T) {
	for _, l := range TLPLevels {
		o, err := Parse(TLPMarking(l.ID))
		if err != nil {
			t.Fatal(err)
		}
		if !IsPredefinedTLP(o) {
			t.Errorf("%s %s: not predefined", l.Name, l.ID)
		}
	}
	// As the OASIS documentation's example writes TLP:AMBER (other key
	// order and spacing).
	amber := `{"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "name": "TLP:AMBER", "definition": {"tlp": "amber"}}`
	for _, tc := range []struct {
		name, json string
		want       bool
	}{
		{"oasis example", amber, true},
		{"another name", strings.Replace(amber, `"TLP:AMBER"`, `"TLP:GREEN"`, 1), false},
		{"an extra property", strings.Replace(amber, `"created":`, `"x_extra": 1, "created":`, 1), false},
		{"another id", strings.Replace(amber, "f88d31f6", "f88d31f7", 1), false},
		{"a statement", `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f","created":"2017-04-14T13:07:49.812Z","definition_type":"statement","definition":{"statement":"Copyright (c) Stark Industries 2017."}}`, false},
	} {
		o, err := Parse([]byte(tc.json))
		if err != nil {
			t.Fatal(err)
		}
		if got := IsPredefinedTLP(o); got != tc.want {
			t.Errorf("%s: IsPredefinedTLP = %v, want %v", tc.name, got, tc.want)
		}
	}
	signed, err := Sign([]byte(amber), ed25519.NewKeyFromSeed(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := Parse(signed); IsPredefinedTLP(o) {
		t.Error("a signed TLP:AMBER is still the predefined object")
	}
}

// TestTLPIdHoldsOnlyThePredefinedObject: a marking definition under a
// predefined TLP id is that object exactly, whatever its definition_type:
// a member's signed statement under TLP:AMBER's id (with TLP 1.0's created,
// or a later one) validated, took the id in a collection and refused
// every other member's TLP:AMBER as another object of the same version,
// or became the newest version of the id that marked objects point to.
func TestTLPIdHoldsOnlyThePredefinedObject(t *testing.T) {
	var v Validator
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	for _, l := range TLPLevels {
		for _, created := range []string{tlp1Created, tlp2Created, "2030-01-01T00:00:00.000Z"} {
			for name, props := range map[string]string{
				"statement":         `"definition_type":"statement","definition":{"statement":"mine now"}`,
				"custom type":       `"definition_type":"x-acme","definition":{"level":"amber"}`,
				"tlp type, no name": `"definition_type":"tlp","definition":{"tlp":"` + l.Level + `"}`,
			} {
				raw := `{"type":"marking-definition","spec_version":"2.1","id":"` + l.ID + `","created":"` + created + `","created_by_ref":"identity--b1a4c3b4-0000-4000-8000-000000000001",` + props + `}`
				for _, signed := range []bool{false, true} {
					b := []byte(raw)
					if signed {
						var err error
						if b, err = Sign(b, key); err != nil {
							t.Fatal(err)
						}
					}
					o, err := Parse(b)
					if err != nil {
						t.Fatal(err)
					}
					if err := v.Validate(o); err == nil || !strings.Contains(err.Error(), "predefined TLP") {
						t.Errorf("%s under %s's id, created %s, signed %v: %v; want it refused as not the predefined object", name, l.Name, created, signed, err)
					}
				}
			}
		}
	}
}

package stix

import (
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

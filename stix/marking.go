package stix

import (
	"bytes"
	"fmt"
)

// TLP 1.0 marking definitions, predefined by STIX 2.1 section 7.2.1.4.
// Their objects never change; [TLPMarking] returns them.
const (
	TLPWhiteID = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	TLPGreenID = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	TLPAmberID = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	TLPRedID   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
)

// tlp1Created is the created time of every TLP 1.0 marking definition.
const tlp1Created = "2017-01-20T00:00:00.000Z"

// TLP 2.0 as OASIS defines it (cti-stix-common-objects,
// extension-definition-specifications/tlp-2.0): a property extension on
// marking-definition objects whose "tlp_2_0" property holds the level,
// and five fixed marking-definition objects.
const (
	TLP2ExtensionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

	TLP2ClearID       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	TLP2GreenID       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	TLP2AmberID       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	TLP2AmberStrictID = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	TLP2RedID         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
)

// tlp2Created is the created time of every TLP 2.0 marking definition.
const tlp2Created = "2022-10-01T00:00:00.000Z"

// TLPLevel is one predefined TLP marking: its version (1 for TLP 1.0, 2
// for TLP 2.0), level ("white", "clear", "amber+strict", ...), display
// name ("TLP:AMBER+STRICT") and marking-definition id.
type TLPLevel struct {
	Version int
	Level   string
	Name    string
	ID      string
}

// TLPLevels lists the predefined TLP markings, TLP 1.0 first, each in
// order of increasing restriction.
var TLPLevels = []TLPLevel{
	{1, "white", "TLP:WHITE", TLPWhiteID},
	{1, "green", "TLP:GREEN", TLPGreenID},
	{1, "amber", "TLP:AMBER", TLPAmberID},
	{1, "red", "TLP:RED", TLPRedID},
	{2, "clear", "TLP:CLEAR", TLP2ClearID},
	{2, "green", "TLP:GREEN", TLP2GreenID},
	{2, "amber", "TLP:AMBER", TLP2AmberID},
	{2, "amber+strict", "TLP:AMBER+STRICT", TLP2AmberStrictID},
	{2, "red", "TLP:RED", TLP2RedID},
}

// LookupTLP returns the predefined TLP marking with the given
// marking-definition id.
func LookupTLP(id string) (TLPLevel, bool) {
	for _, l := range TLPLevels {
		if l.ID == id {
			return l, true
		}
	}
	return TLPLevel{}, false
}

// TLPMarking returns the canonical JSON of the predefined marking
// definition with the given id (TLP 1.0 as in STIX 2.1 section 7.2.1.4,
// TLP 2.0 as OASIS publishes it), or nil if id is not one of them.
func TLPMarking(id string) []byte {
	l, ok := LookupTLP(id)
	if !ok {
		return nil
	}
	b, err := appendCanonical(nil, tlpObject(l))
	if err != nil {
		panic("stix: a TLP marking does not serialize: " + err.Error())
	}
	return b
}

// IsPredefinedTLP reports whether o is exactly one of the predefined TLP
// marking definitions ([TLPLevels]): its id and every property as
// [TLPMarking] gives them. Their content is fixed by the specification
// (TLP 1.0) and by OASIS (TLP 2.0): no member authors one, and a
// signature extension would make it another object, which validation
// refuses under a predefined id.
func IsPredefinedTLP(o *Object) bool {
	want := TLPMarking(o.ID)
	if want == nil || o.Props == nil {
		return false
	}
	got, err := o.Canonical()
	return err == nil && bytes.Equal(got, want)
}

func tlpObject(l TLPLevel) map[string]any {
	if l.Version == 1 {
		return map[string]any{
			"type": "marking-definition", "spec_version": "2.1", "id": l.ID,
			"created": tlp1Created, "definition_type": "tlp", "name": l.Name,
			"definition": map[string]any{"tlp": l.Level},
		}
	}
	return map[string]any{
		"type": "marking-definition", "spec_version": "2.1", "id": l.ID,
		"created": tlp2Created, "name": l.Name,
		"extensions": map[string]any{
			TLP2ExtensionID: map[string]any{"extension_type": "property-extension", "tlp_2_0": l.Level},
		},
	}
}

// markingRule applies section 7.2.1: a marking definition has a
// definition_type and definition unless an extension defines it; the
// statement type holds a statement; a "tlp" definition must be one of
// the four predefined TLP 1.0 objects exactly, and a marking that
// carries the TLP 2.0 extension must be one of the five TLP 2.0 objects
// exactly (TLP levels cannot be redefined under other ids).
func markingRule(c *checker, path string, m map[string]any) error {
	_, hasType := m["definition_type"]
	_, hasDef := m["definition"]
	exts, _ := m["extensions"].(map[string]any)
	if len(exts) == 0 && (!hasType || !hasDef) {
		if !hasType {
			return c.fail("definition_type", "is required unless an extension defines the marking")
		}
		return c.fail("definition", "is required unless an extension defines the marking")
	}
	if hasType != hasDef {
		if !hasDef {
			return c.fail("definition", "is required with definition_type")
		}
		return c.fail("definition_type", "is required with definition")
	}
	if refs, ok := m["object_marking_refs"].([]any); ok {
		for i, r := range refs {
			if r == c.id {
				return c.fail(fmt.Sprintf("object_marking_refs[%d]", i), "must not refer to the marking definition itself")
			}
		}
	}
	def, _ := m["definition"].(map[string]any)
	switch m["definition_type"] {
	case "statement":
		if err := nonEmpty(c, "definition.statement", def["statement"]); err != nil {
			if _, ok := def["statement"]; !ok {
				return c.fail("definition.statement", "is required for a statement marking")
			}
			return err
		}
	case "tlp":
		l, ok := LookupTLP(c.id)
		if !ok || l.Version != 1 {
			return c.fail("id", "must be one of the four predefined TLP 1.0 marking-definition ids for a tlp definition")
		}
		if err := sameAs(c, m, tlpObject(l)); err != nil {
			return err
		}
	}
	if e, ok := exts[TLP2ExtensionID].(map[string]any); ok {
		l, ok := LookupTLP(c.id)
		if !ok || l.Version != 2 {
			return c.fail("extensions."+TLP2ExtensionID, "may be used only by the five predefined TLP 2.0 marking definitions")
		}
		if e["tlp_2_0"] != l.Level {
			return c.fail("extensions."+TLP2ExtensionID+".tlp_2_0", "must be %q for %s", l.Level, l.Name)
		}
		if err := sameAs(c, m, tlpObject(l)); err != nil {
			return err
		}
	}
	if l, ok := LookupTLP(c.id); ok {
		// A predefined id names the predefined object alone, whatever
		// the definition_type: a member's statement (or any other
		// marking) under it would take the TLP level's id in its
		// collection, refusing everyone's predefined object of the same
		// version as another object, or becoming the newest version
		// that objects marked with that TLP level point to.
		return sameAs(c, m, tlpObject(l))
	}
	return nil
}

// sameAs checks that m has exactly the properties of the predefined
// object want.
func sameAs(c *checker, m, want map[string]any) error {
	got, err1 := appendCanonical(nil, m)
	exp, err2 := appendCanonical(nil, want)
	if err1 != nil || err2 != nil || string(got) != string(exp) {
		for _, k := range sortedKeys(want) {
			a, _ := appendCanonical(nil, m[k])
			b, _ := appendCanonical(nil, want[k])
			if string(a) != string(b) {
				return c.fail(k, "must be %s in this predefined TLP marking definition", b)
			}
		}
		for _, k := range sortedKeys(m) {
			if _, ok := want[k]; !ok {
				return c.fail(k, "is not allowed in a predefined TLP marking definition")
			}
		}
	}
	return nil
}

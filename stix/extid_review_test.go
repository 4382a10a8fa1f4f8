package stix

import (
	"crypto/ed25519"
	"errors"
	"testing"
)

// TestExtensionIDNamesNothing: an "id" in a property extension (taken
// since OpenCTI's extension carries one) is not the object's id: the
// object keeps its own, an "id" naming another member's identity or
// object changes nothing the node or a client reads, and an "id" inside
// the Parley signature extension, outside the signed message, makes the
// signature refused.
func TestExtensionIDNamesNothing(t *testing.T) {
	const own = "indicator--11111111-1111-4111-8111-111111111111"
	const other = "identity--22222222-2222-4222-8222-222222222222"
	raw := `{"type":"indicator","spec_version":"2.1","id":"` + own + `","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"identity--33333333-3333-4333-8333-333333333333","pattern":"[domain-name:value = 'a.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","extensions":{"extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba":{"extension_type":"property-extension","id":"` + other + `"}}}`
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	signed, err := Sign([]byte(raw), key)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	var v Validator
	if err := v.Validate(o); err != nil {
		t.Fatalf("an extension's id: %v", err)
	}
	if o.ID != own || o.CreatedByRef != "identity--33333333-3333-4333-8333-333333333333" {
		t.Errorf("the object reads as %s by %s", o.ID, o.CreatedByRef)
	}
	if _, err := VerifyObject(o); err != nil {
		t.Fatalf("signed with an extension's id: %v", err)
	}
	// An id slipped into the signature extension is unauthenticated.
	ext := o.Props["extensions"].(map[string]any)[SignatureExtensionID].(map[string]any)
	ext["id"] = other
	if _, err := VerifyObject(o); !errors.Is(err, ErrBadSignature) {
		t.Errorf("an id in the signature extension: %v; want ErrBadSignature", err)
	}
}

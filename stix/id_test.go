package stix

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestCheckDeterministicID: an observable's content must match its id;
// the member's signature extension (added after the id was made) is not
// part of it, but any other extension is.
func TestCheckDeterministicID(t *testing.T) {
	props := map[string]any{"type": "network-traffic", "spec_version": "2.1", "src_port": json.Number("53"), "protocols": []any{"udp"}}
	id, err := DeterministicID("network-traffic", props)
	if err != nil {
		t.Fatal(err)
	}
	o := &Object{Type: "network-traffic", ID: id, Props: props}
	if err := CheckDeterministicID(o); err != nil {
		t.Fatalf("matching id: %v", err)
	}
	signed := map[string]any{}
	for k, v := range props {
		signed[k] = v
	}
	signed["extensions"] = map[string]any{SignatureExtensionID: map[string]any{"alg": "ed25519"}}
	if err := CheckDeterministicID(&Object{Type: "network-traffic", ID: id, Props: signed}); err != nil {
		t.Errorf("signed: %v", err)
	}
	signed["extensions"] = map[string]any{SignatureExtensionID: map[string]any{}, "http-request-ext": map[string]any{"request_method": "GET"}}
	if err := CheckDeterministicID(&Object{Type: "network-traffic", ID: id, Props: signed}); !errors.Is(err, ErrDeterministicID) {
		t.Errorf("another extension doesn't change the id: %v", err)
	}
	other := map[string]any{"type": "domain-name", "value": "a.example"}
	did, _ := DeterministicID("domain-name", other)
	if err := CheckDeterministicID(&Object{Type: "domain-name", ID: did, Props: map[string]any{"value": "b.example"}}); !errors.Is(err, ErrDeterministicID) {
		t.Errorf("another value under the id: %v", err)
	}
	if err := CheckDeterministicID(&Object{Type: "domain-name", ID: strings.ToUpper(did[:13]) + did[13:], Props: other}); !errors.Is(err, ErrDeterministicID) {
		t.Errorf("an upper-case id: %v", err)
	}
	if err := CheckDeterministicID(&Object{Type: "indicator", ID: "indicator--x", Props: other}); err != nil {
		t.Errorf("not an observable: %v", err)
	}
}

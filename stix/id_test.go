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

// TestIdentifierReasons: the reasons for refusing real producers' ids say
// what the specification asks. misp-stix's test indicators use
// indicator--22222222-2222-2222-2222-222222222222 (hex, hyphenated, but no
// RFC 4122 variant); MISP and OpenCTI give observables random (UUIDv4)
// ids, which STIX 2.1 section 2.9 only recommends against.
func TestIdentifierReasons(t *testing.T) {
	var v Validator
	o, err := Parse([]byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--22222222-2222-2222-2222-222222222222","created":"2020-10-25T16:22:00.000Z","modified":"2020-10-25T16:22:00.000Z","pattern":"[domain-name:value = 'circl.lu']","pattern_type":"stix","valid_from":"2020-10-25T16:22:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(o); err == nil || !strings.Contains(err.Error(), "RFC 4122") {
		t.Errorf("misp-stix's indicator--22222222-…: %v; want a reason naming RFC 4122", err)
	}
	d, err := Parse([]byte(`{"type":"domain-name","spec_version":"2.1","id":"domain-name--4bb235a7-7d25-4aef-802f-2c6b45c5eceb","value":"circl.lu"}`))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckDeterministicID(d)
	if !errors.Is(err, ErrDeterministicID) || !strings.Contains(err.Error(), "recommends") || !strings.Contains(err.Error(), "domain-name--4f2ea360-1460-5a03-afb8-4cbce15a9cf0") {
		t.Errorf("misp-stix's random domain-name id: %v; want the id it should be, and that the specification only recommends it", err)
	}
}

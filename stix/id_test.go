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
// RFC 4122 variant), which is refused. MISP and OpenCTI give observables
// random (UUIDv4) ids, which STIX 2.1 section 2.9 allows (it only
// recommends UUIDv5): such an id passes, and is not content-determined. A
// UUIDv5 id over another value is refused with the id it should be.
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
	if err := CheckDeterministicID(d); err != nil {
		t.Errorf("misp-stix's random domain-name id: %v; STIX 2.1 allows it", err)
	}
	if DeterminedObservable(d) || !HasIDContributing(d) {
		t.Errorf("misp-stix's random domain-name id: determined %v, contributing %v; want false, true", DeterminedObservable(d), HasIDContributing(d))
	}
	w, err := Parse([]byte(`{"type":"domain-name","spec_version":"2.1","id":"domain-name--4f2ea360-1460-5a03-afb8-4cbce15a9cf0","value":"circl.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := DeterministicID("domain-name", map[string]any{"value": "circl.example"})
	err = CheckDeterministicID(w)
	if !errors.Is(err, ErrDeterministicID) || !strings.Contains(err.Error(), "should be "+want) || !strings.Contains(err.Error(), "UUIDv4") {
		t.Errorf("circl.lu's UUIDv5 id over circl.example: %v; want the id it should be, and that a UUIDv4 id is accepted", err)
	}
	ok, _ := Parse([]byte(`{"type":"domain-name","spec_version":"2.1","id":"domain-name--4f2ea360-1460-5a03-afb8-4cbce15a9cf0","value":"circl.lu"}`))
	if err := CheckDeterministicID(ok); err != nil || !DeterminedObservable(ok) {
		t.Errorf("circl.lu under its UUIDv5 id: %v, determined %v", err, DeterminedObservable(ok))
	}
	if OwnedObservableID(ok) || !OwnedObservableID(d) {
		t.Errorf("owned: circl.lu under its UUIDv5 id %v, under a UUIDv4 one %v; want false, true", OwnedObservableID(ok), OwnedObservableID(d))
	}
	// A UUIDv4 id is owned even on a version without contributing
	// properties; a UUIDv5 id on one is refused (section 2.9 makes it a
	// UUIDv4), signature or not.
	bare, _ := Parse([]byte(`{"type":"user-account","spec_version":"2.1","id":"user-account--4f3b1c52-8d2e-4a6b-9c1d-2e5f7a8b9c0d","display_name":"Nobody"}`))
	if err := CheckDeterministicID(bare); err != nil || !OwnedObservableID(bare) {
		t.Errorf("a user account without contributing properties under a UUIDv4 id: %v, owned %v; want nil, true", err, OwnedObservableID(bare))
	}
	v5, _ := DeterministicID("user-account", map[string]any{"account_login": "backup"})
	bare5, _ := Parse([]byte(`{"type":"user-account","spec_version":"2.1","id":"` + v5 + `","display_name":"Nobody","extensions":{"` + SignatureExtensionID + `":{"extension_type":"property-extension"}}}`))
	if err := CheckDeterministicID(bare5); !errors.Is(err, ErrDeterministicID) || !strings.Contains(err.Error(), "none of its ID contributing properties") {
		t.Errorf("a user account without contributing properties under the UUIDv5 id of a login: %v", err)
	}
	p, _ := Parse([]byte(`{"type":"process","spec_version":"2.1","id":"process--f52a906a-0dfc-40bd-92b1-e7e7b4f6b8ac","pid":1221}`))
	if err := CheckDeterministicID(p); err != nil || DeterminedObservable(p) || HasIDContributing(p) {
		t.Errorf("a process (no contributing property): %v, determined %v, contributing %v", err, DeterminedObservable(p), HasIDContributing(p))
	}
	if OwnedObservableID(p) {
		t.Errorf("a process (no contributing property) is owned; want shared")
	}
}

package stix

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testIndicator = `{
  "type": "indicator",
  "spec_version": "2.1",
  "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
  "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
  "created": "2016-04-06T20:03:48.000Z",
  "modified": "2016-04-06T20:03:48.000Z",
  "indicator_types": ["malicious-activity"],
  "name": "Poison Ivy Malware",
  "pattern": "[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']",
  "pattern_type": "stix",
  "valid_from": "2016-01-01T00:00:00Z",
  "confidence": 85
}`

func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func TestSignVerify(t *testing.T) {
	key := testKey(1)
	signed, err := Sign([]byte(testIndicator), key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := Verify(signed)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !pub.Equal(key.Public()) {
		t.Error("Verify returned another key")
	}
	// The output is canonical.
	if c, _ := Canonicalize(signed); !bytes.Equal(c, signed) {
		t.Error("Sign's output is not canonical JSON")
	}
	// Re-encoding the signed object with other whitespace and member
	// order keeps the signature valid: only the canonical form is signed.
	reordered := strings.Replace(string(signed), `{"confidence":85,`, "{\n  \"confidence\" : 85 ,\n", 1)
	if reordered == string(signed) {
		t.Fatal("test setup: no replacement")
	}
	if _, err := Verify([]byte(reordered)); err != nil {
		t.Errorf("Verify(re-encoded): %v", err)
	}
	// StripSignature gives back the canonical unsigned object.
	stripped, err := StripSignature(signed)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Canonicalize([]byte(testIndicator))
	if !bytes.Equal(stripped, want) {
		t.Errorf("StripSignature:\n got %s\nwant %s", stripped, want)
	}
	// The signed object is still a valid STIX object.
	o, err := Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	var v Validator
	if err := v.Validate(o); err != nil {
		t.Errorf("Validate(signed): %v", err)
	}
}

func TestSignReplacesOldSignatureAndKeepsOtherExtensions(t *testing.T) {
	obj := strings.Replace(testIndicator, `"confidence": 85`, `"confidence": 85, "extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension", "rank": 5}}`, 1)
	first, err := Sign([]byte(obj), testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Sign(first, testKey(2))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := Verify(second)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(testKey(2).Public()) {
		t.Error("the second signature did not replace the first")
	}
	if strings.Count(string(second), `"signature"`) != 1 || !strings.Contains(string(second), `"rank":5`) {
		t.Errorf("unexpected signed object %s", second)
	}
	stripped, _ := StripSignature(second)
	if want, _ := Canonicalize([]byte(obj)); !bytes.Equal(stripped, want) {
		t.Errorf("StripSignature lost the other extension: %s", stripped)
	}
}

func TestVerifyRejects(t *testing.T) {
	signed, err := Sign([]byte(testIndicator), testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	s := string(signed)
	otherSig, _ := Sign([]byte(strings.Replace(testIndicator, "Poison Ivy", "Poison Oak", 1)), testKey(1))
	_, sigOther, _ := strings.Cut(string(otherSig), `"signature":"`)
	sigOther, _, _ = strings.Cut(sigOther, `"`)
	_, sigMine, _ := strings.Cut(s, `"signature":"`)
	sigMine, _, _ = strings.Cut(sigMine, `"`)
	pubOther := "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	_, pubMine, _ := strings.Cut(s, `"public_key":"`)
	pubMine, _, _ = strings.Cut(pubMine, `"`)

	tests := []struct {
		name string
		obj  string
		want error
	}{
		{"unsigned", testIndicator, ErrUnsigned},
		{"other extension only", strings.Replace(testIndicator, `"confidence": 85`, `"confidence": 85, "extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension"}}`, 1), ErrUnsigned},
		{"changed property", strings.Replace(s, "Poison Ivy", "Poison Oak", 1), ErrBadSignature},
		{"added property", strings.Replace(s, `{"confidence":85,`, `{"confidence":85,"x_note":"added",`, 1), ErrBadSignature},
		{"signature of another object", strings.Replace(s, sigMine, sigOther, 1), ErrBadSignature},
		{"another public key", strings.Replace(s, pubMine, pubOther, 1), ErrBadSignature},
		{"wrong alg", strings.Replace(s, `"alg":"ed25519"`, `"alg":"ed448"`, 1), ErrBadSignature},
		{"wrong extension_type", strings.Replace(s, `"extension_type":"property-extension","public_key"`, `"extension_type":"toplevel-property-extension","public_key"`, 1), ErrBadSignature},
		{"unsigned member in entry", strings.Replace(s, `"alg":"ed25519"`, `"alg":"ed25519","note":"x"`, 1), ErrBadSignature},
		{"url-safe base64", strings.Replace(s, pubMine, strings.NewReplacer("+", "-", "/", "_").Replace(pubMine), 1), nil},
		{"short signature", strings.Replace(s, sigMine, sigMine[:40], 1), ErrBadSignature},
		// base64.StdEncoding.Strict() skips line breaks: the same key and
		// signature would have many texts.
		{"line break in the key", strings.Replace(s, pubMine, pubMine[:20]+`\n`+pubMine[20:], 1), ErrBadSignature},
		{"carriage return in the signature", strings.Replace(s, sigMine, sigMine[:30]+`\r`+sigMine[30:], 1), ErrBadSignature},
		{"entry not an object", strings.Replace(testIndicator, `"confidence": 85`, `"confidence": 85, "extensions": {"`+SignatureExtensionID+`": "sig"}`, 1), ErrBadSignature},
	}
	for _, tt := range tests {
		_, err := Verify([]byte(tt.obj))
		want := tt.want
		if tt.name == "url-safe base64" {
			if !strings.ContainsAny(pubMine, "+/") {
				continue // this key's base64 has no character that differs
			}
			want = ErrBadSignature
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: Verify error = %v, want %v", tt.name, err, want)
		}
		o, perr := Parse([]byte(tt.obj))
		if perr != nil {
			t.Fatalf("%s: Parse: %v", tt.name, perr)
		}
		before, _ := o.Canonical()
		if _, err := VerifyObject(o); !errors.Is(err, want) {
			t.Errorf("%s: VerifyObject error = %v, want %v", tt.name, err, want)
		}
		if after, _ := o.Canonical(); !bytes.Equal(before, after) {
			t.Errorf("%s: VerifyObject changed the object: %s", tt.name, after)
		}
	}
	if _, err := Verify([]byte(`[1]`)); err == nil || errors.Is(err, ErrUnsigned) {
		t.Errorf("Verify(array) = %v, want a not-an-object error", err)
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	if _, err := Sign([]byte(`{"a":1,"a":2}`), testKey(1)); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("Sign(duplicate keys) = %v", err)
	}
	if _, err := Sign([]byte(testIndicator), ed25519.PrivateKey{1, 2, 3}); err == nil {
		t.Error("Sign accepted a short key")
	}
	if _, err := Sign([]byte(`"x"`), testKey(1)); !errors.Is(err, ErrNotObject) {
		t.Errorf("Sign(string) = %v", err)
	}
}

func TestSignatureExtensionDefinition(t *testing.T) {
	def := SignatureExtensionDefinition()
	o, err := Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	var v Validator
	if err := v.Validate(o); err != nil {
		t.Fatalf("the extension definition is not valid STIX: %v", err)
	}
	if o.ID != SignatureExtensionID || o.Type != "extension-definition" {
		t.Errorf("unexpected id/type %s %s", o.ID, o.Type)
	}
	if types, _ := o.Props["extension_types"].([]any); len(types) != 1 || types[0] != "property-extension" {
		t.Errorf("extension_types = %v", o.Props["extension_types"])
	}
	if !bytes.Equal(def, SignatureExtensionDefinition()) {
		t.Error("the definition is not stable")
	}
}

// TestSignEmptyExtensions: an empty "extensions" is dropped before
// signing, as the verifier drops it after removing the signature (a bug
// the fuzzer found: the seed is in testdata/fuzz/FuzzParse).
func TestSignEmptyExtensions(t *testing.T) {
	obj := strings.Replace(testIndicator, `"confidence": 85`, `"confidence": 85, "extensions": {}`, 1)
	signed, err := Sign([]byte(obj), testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(signed); err != nil {
		t.Errorf("Verify(Sign(object with empty extensions)) = %v", err)
	}
	bad := strings.Replace(testIndicator, `"confidence": 85`, `"confidence": 85, "extensions": "none"`, 1)
	if _, err := Sign([]byte(bad), testKey(3)); !errors.Is(err, ErrNotObject) {
		t.Errorf("Sign(extensions not an object) = %v, want ErrNotObject", err)
	}
}

// sameVerdict reports whether two signature checks agree: both succeeded,
// or both failed with the same kind of error.
func sameVerdict(a, b error) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	for _, kind := range []error{ErrUnsigned, ErrBadSignature} {
		if errors.Is(a, kind) != errors.Is(b, kind) {
			return false
		}
	}
	return true
}

func TestVerifyObjectAndCanonicalMatchRawForms(t *testing.T) {
	key := testKey(3)
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid objects under testdata/valid (%v)", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := ParseObjects(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range objs {
			want, err := Canonicalize(o.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := o.Canonical(); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: Canonical = %s (%v), want %s", f, got, err, want)
			}
			signed, err := Sign(o.Raw, key)
			if err != nil {
				t.Fatal(err)
			}
			so, err := Parse(signed)
			if err != nil {
				t.Fatal(err)
			}
			if pub, err := VerifyObject(so); err != nil || !pub.Equal(key.Public()) {
				t.Errorf("%s: VerifyObject(signed) = %v", f, err)
			}
			// The signature stays in the decoded object for storing.
			if got, _ := so.Canonical(); !bytes.Equal(got, signed) {
				t.Errorf("%s: VerifyObject removed the signature from the object", f)
			}
			if _, err := VerifyObject(o); !sameVerdict(err, func() error { _, e := Verify(o.Raw); return e }()) {
				t.Errorf("%s: VerifyObject and Verify disagree on the unsigned object: %v", f, err)
			}
		}
	}
	if _, err := VerifyObject(&Object{}); err == nil {
		t.Error("VerifyObject accepted an object with no decoded properties")
	}
}

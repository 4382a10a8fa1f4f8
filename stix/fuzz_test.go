package stix

import (
	"bytes"
	"encoding/json"
	"testing"
)

var fuzzKey = testKey(9)

// FuzzParse parses arbitrary input as STIX objects and validates them: it
// must never panic, and canonicalizing any object twice gives the same
// bytes (JCS is idempotent), and signing then verifying succeeds.
func FuzzParse(f *testing.F) {
	f.Add([]byte(testIndicator))
	f.Add([]byte(`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}]}`))
	f.Add([]byte(`[{"type":"x-acme","id":"x-acme--5d0092c5-5f74-4287-9642-33f4c354e56d","extensions":{"x-ext":{"a_hex":"0"}}}]`))
	var v Validator
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := ParseObjects(data)
		if err != nil {
			return
		}
		for _, o := range objs {
			_ = v.Validate(o)
			_ = o.Version()
			c1, err := Canonicalize(o.Raw)
			if err != nil {
				t.Fatalf("an object that parsed does not canonicalize: %v", err)
			}
			// The decoded object gives the same bytes without re-reading Raw,
			// and the same verdict on its signature.
			if c, err := o.Canonical(); err != nil || !bytes.Equal(c, c1) {
				t.Fatalf("Object.Canonical = %s (%v), Canonicalize = %s", c, err, c1)
			}
			_, ev := Verify(o.Raw)
			_, eo := VerifyObject(o)
			if !sameVerdict(ev, eo) {
				t.Fatalf("VerifyObject = %v, Verify = %v", eo, ev)
			}
			c2, err := Canonicalize(c1)
			if err != nil || !bytes.Equal(c1, c2) {
				t.Fatalf("canonicalization is not idempotent:\n%s\n%s (%v)", c1, c2, err)
			}
			// Validation must not depend on the encoding.
			o2, err := Parse(c1)
			if err != nil {
				t.Fatalf("the canonical form does not parse: %v", err)
			}
			e1, e2 := v.Validate(o), v.Validate(o2)
			if (e1 == nil) != (e2 == nil) {
				t.Fatalf("validation differs between encodings: %v / %v", e1, e2)
			}
			// Whatever parses can be signed, and the signature verifies.
			signed, err := Sign(o.Raw, fuzzKey)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if pub, err := Verify(signed); err != nil || !pub.Equal(fuzzKey.Public()) {
				t.Fatalf("Verify(Sign(x)) = %v", err)
			}
		}
	})
}

// FuzzCanonicalize checks Canonicalize against encoding/json: whatever it
// accepts is valid JSON that encoding/json reads to the same value, and
// its output is canonical (a fixed point).
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{
		`{"b":1,"a":[true,false,null],"c":{"é":"\u20ac"}}`, `1e30`, `-0`, `333333333.33333329`,
		`"\ud83d\ude00\u0000"`, `[0.1,1e-7,1E21,123456789012345678901234567890]`, `{"a":1,"a":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Canonicalize(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if again, err := Canonicalize(c); err != nil || !bytes.Equal(again, c) {
			t.Fatalf("output is not a fixed point: %s -> %s (%v)", c, again, err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("encoding/json rejects accepted input: %v", err)
		}
		want, err := appendCanonical(nil, v)
		if err != nil {
			t.Fatalf("encoding/json's value does not canonicalize: %v", err)
		}
		if !bytes.Equal(c, want) {
			t.Fatalf("differs from encoding/json's reading:\n got %s\nwant %s", c, want)
		}
	})
}

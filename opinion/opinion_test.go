package opinion

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
)

func TestParse(t *testing.T) {
	a := newMember(1)
	good := rawOpinion(t, a.id, spec{id: 1, value: Agree, confidence: 70})
	op, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	if op.ID != opinionID(1) || op.Member != a.id || op.Value != Agree || !op.About(reportID) || op.About(otherID) ||
		op.Confidence == nil || *op.Confidence != 70 || op.Revoked || !op.Version.Equal(t0) || op.Verified() {
		t.Errorf("Parse = %+v", op)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for name, raw := range map[string][]byte{
		"not JSON":          []byte(`{"type":`),
		"a report":          edit(func(m map[string]any) { m["type"] = "report"; m["id"] = reportID }),
		"unknown value":     edit(func(m map[string]any) { m["opinion"] = "mostly-agree" }),
		"no object_refs":    edit(func(m map[string]any) { delete(m, "object_refs") }),
		"confidence 101":    edit(func(m map[string]any) { m["confidence"] = 101 }),
		"confidence 0.5":    edit(func(m map[string]any) { m["confidence"] = 0.5 }),
		"modified < create": edit(func(m map[string]any) { m["modified"] = "2020-01-01T00:00:00.000Z" }),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(raw); !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	a, b := newMember(1), newMember(2)
	keys := keysOf(a, b)
	signed := a.signed(t, spec{id: 1, value: Agree})
	if op, err := Verify(signed, keys); err != nil || !op.Verified() {
		t.Fatalf("Verify = %+v, %v", op, err)
	}
	// A signature by b's key over an opinion naming a is forged.
	impersonated, err := stix.Sign(rawOpinion(t, a.id, spec{id: 2, value: Agree}), b.key)
	if err != nil {
		t.Fatal(err)
	}
	// Changing the signed object after signing breaks the signature.
	tampered := bytes.Replace(signed, []byte(`"agree"`), []byte(`"disagree"`), 1)
	for _, tc := range []struct {
		name string
		raw  []byte
		keys Keys
		want error
	}{
		{"unsigned", rawOpinion(t, a.id, spec{id: 1, value: Agree}), keys, ErrUnsigned},
		{"other member's key", impersonated, keys, ErrForged},
		{"tampered", tampered, keys, ErrForged},
		{"unknown member", signed, keysOf(b), ErrUnknownMember},
		{"invalid", []byte(`{}`), keys, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, err := Verify(tc.raw, tc.keys)
			if !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
			if op.Verified() {
				t.Error("a failed opinion is marked verified")
			}
		})
	}
}

func TestNewAndRevoke(t *testing.T) {
	a := newMember(1)
	keys := keysOf(a)
	conf := 80
	raw, err := New(Draft{Member: a.id, Object: reportID, Value: StronglyAgree, Explanation: "seen it too", Confidence: &conf}, a.key, t0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	op, err := Verify(raw, keys)
	if err != nil {
		t.Fatal(err)
	}
	if op.Value != StronglyAgree || op.Explanation != "seen it too" || *op.Confidence != 80 || !op.About(reportID) || !op.Version.Equal(t0) || !strings.HasPrefix(op.ID, "opinion--") {
		t.Errorf("New made %+v", op)
	}
	// Revoking at the same instant still makes a later version.
	rev, err := Revoke(raw, a.key, t0)
	if err != nil {
		t.Fatal(err)
	}
	rop, err := Verify(rev, keys)
	if err != nil {
		t.Fatal(err)
	}
	if !rop.Revoked || rop.ID != op.ID || !rop.Version.After(op.Version) || rop.Value != op.Value {
		t.Errorf("Revoke made %+v", rop)
	}
	if got := Compute(reportID, []Opinion{op, rop}); got.Voices() != 0 {
		t.Errorf("a revoked opinion counts: %+v", got)
	}
	if _, err := Revoke(rev, a.key, t0.Add(time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Errorf("revoking twice: %v", err)
	}
	for _, d := range []Draft{
		{Member: a.id, Object: reportID, Value: "maybe"},
		{Member: "alice", Object: reportID, Value: Agree},
		{Member: a.id, Object: "not-an-id", Value: Agree},
		{Member: a.id, Object: reportID, Value: Agree, Confidence: new(int(-1))},
	} {
		if _, err := New(d, a.key, t0, rand.Reader); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", d, err)
		}
	}
}

func TestParseValue(t *testing.T) {
	for _, v := range Values {
		if got, err := ParseValue(string(v)); err != nil || got != v {
			t.Errorf("ParseValue(%q) = %q, %v", v, got, err)
		}
	}
	for _, s := range []string{"", "Agree", "strongly agree", "yes"} {
		if _, err := ParseValue(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseValue(%q) = %v", s, err)
		}
	}
}

func TestVerifyShared(t *testing.T) {
	a, b := newMember(1), newMember(2)
	keys := keysOf(a, b)
	noCreator := func(signer member) []byte {
		var m map[string]any
		json.Unmarshal(rawOpinion(t, a.id, spec{id: 1, value: Agree}), &m)
		delete(m, "created_by_ref")
		raw, _ := json.Marshal(m)
		signed, err := stix.Sign(raw, signer.key)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	// Without created_by_ref the opinion belongs to the member who shared it.
	op, err := VerifyShared(noCreator(a), a.id, keys)
	if err != nil || !op.Verified() || op.Member != a.id {
		t.Fatalf("VerifyShared = %+v, %v", op, err)
	}
	if op, err := Parse(noCreator(a)); err != nil || op.Member != "" {
		t.Errorf("Parse = %+v, %v", op, err)
	}
	for _, tc := range []struct {
		name   string
		raw    []byte
		sharer string
		want   error
	}{
		{"no creator, no sharer", noCreator(a), "", ErrUnknownMember},
		{"no creator, signed by another than the sharer", noCreator(b), a.id, ErrForged},
		{"created_by_ref isn't the sharer", a.signed(t, spec{id: 2, value: Agree}), b.id, ErrForged},
		{"unknown sharer", noCreator(a), "identity--00000000-0000-4000-8000-000000000099", ErrUnknownMember},
	} {
		if op, err := VerifyShared(tc.raw, tc.sharer, keys); !errors.Is(err, tc.want) || op.Verified() {
			t.Errorf("%s: VerifyShared = %v, want %v", tc.name, err, tc.want)
		}
	}
	if op, err := VerifyShared(a.signed(t, spec{id: 3, value: Agree}), a.id, keys); err != nil || op.Member != a.id {
		t.Errorf("created_by_ref equal to the sharer: %v", err)
	}
}

package tlog

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// cosignLatest replaces l's latest checkpoint note with itself cosigned by
// the witnesses (extra signature lines, as a node serves it) and returns
// their verifier keys.
func cosignLatest(t *testing.T, l *testLog, names ...string) []string {
	t.Helper()
	n, err := note.Open(l.notes[len(l.notes)-1], note.VerifierList(l.verifier))
	if err != nil {
		t.Fatal(err)
	}
	var signers []note.Signer
	var vkeys []string
	for i, name := range names {
		skey, vkey, err := NewCosignerKey(detRand(byte(40+i)), name)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := ParseCosignerKey(skey, nil)
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, cs)
		vkeys = append(vkeys, vkey)
	}
	signed, err := note.Sign(n, signers...)
	if err != nil {
		t.Fatal(err)
	}
	l.notes[len(l.notes)-1] = signed
	return vkeys
}

func TestAuditAndVerifierPolicy(t *testing.T) {
	l := newTestLog(t, 3)
	keys := cosignLatest(t, l, "w1.example", "w2.example")
	_, other, err := NewCosignerKey(detRand(99), "w3.example")
	if err != nil {
		t.Fatal(err)
	}
	policy := func(keys []string, k int) *Policy {
		p, err := NewWitnessPolicy(keys, k)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	n := &fakeNode{l: l}
	c := serve(t, n)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		pol  *Policy
		ok   bool
	}{
		{"no policy", nil, true},
		{"both of both", policy(keys, 2), true},
		{"one of both", policy(keys, 1), true},
		{"both of one cosigner and a stranger", policy([]string{keys[0], other}, 2), false},
		{"the stranger alone", policy([]string{other}, 1), false},
	} {
		rep, err := Audit(ctx, l, AuditOptions{Verifier: l.verifier, Policy: tc.pol})
		if tc.ok && (err != nil || !rep.OK()) {
			t.Errorf("%s: audit: %v %+v", tc.name, err, rep)
		}
		if !tc.ok && (!errors.Is(err, ErrQuorum) || !strings.Contains(err.Error(), "quorum")) {
			t.Errorf("%s: audit: %v, want ErrQuorum", tc.name, err)
		}
		v := &ObjectVerifier{Log: c, Key: l.verifier, Policy: tc.pol}
		res, err := v.Verify(ctx, []VerifyItem{{Object: l.objects[1], LogIndex: 1, Opening: l.openings[1]}})
		if tc.ok && (err != nil || res[0].Err != nil) {
			t.Errorf("%s: verify: %v %+v", tc.name, err, res)
		}
		if !tc.ok && !errors.Is(err, ErrQuorum) {
			t.Errorf("%s: verify: %v, want ErrQuorum", tc.name, err)
		}
	}
}

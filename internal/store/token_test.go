package store

import (
	"crypto/sha256"
	"errors"
	"testing"
)

// TestTokenMatch: the member of the candidate whose hash is the presented
// one, wherever it is among candidates sharing the prefix; ErrNotFound for
// a hash that shares only the prefix.
func TestTokenMatch(t *testing.T) {
	want := sha256.Sum256([]byte("alice's token"))
	near := want
	near[31] ^= 1 // the same lookup prefix, another token
	other := sha256.Sum256([]byte("bob's token"))
	for _, tc := range []struct {
		name  string
		cands [][32]byte
		owner []string
		want  string
	}{
		{"first", [][32]byte{want, near, other}, []string{"alice", "mallory", "bob"}, "alice"},
		{"last", [][32]byte{near, other, want}, []string{"mallory", "bob", "alice"}, "alice"},
		{"only a near one", [][32]byte{near, other}, []string{"mallory", "bob"}, ""},
		{"none", nil, nil, ""},
	} {
		m := NewTokenMatch(want)
		for i, c := range tc.cands {
			m.Offer(c[:], tc.owner[i])
		}
		got, err := m.Member()
		switch {
		case tc.want == "" && !errors.Is(err, ErrNotFound):
			t.Errorf("%s: %q, %v; want ErrNotFound", tc.name, got, err)
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	// A short stored hash (a corrupt row) never matches.
	m := NewTokenMatch(want)
	m.Offer(want[:31], "truncated")
	if _, err := m.Member(); !errors.Is(err, ErrNotFound) {
		t.Errorf("a truncated stored hash matched: %v", err)
	}
}

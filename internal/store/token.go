package store

import (
	"crypto/subtle"
	"fmt"
)

// TokenMatch finds the member of a presented token among the stored
// tokens that share its lookup prefix (the first 8 bytes of the hash),
// as both stores' TokenMember do: every candidate is compared in full
// and in constant time, and the scan never stops early, so the time taken
// doesn't tell how much of a guessed token matched.
type TokenMatch struct {
	hash   [32]byte
	member string
	found  int
}

// NewTokenMatch starts a match for the token whose SHA-256 is hash.
func NewTokenMatch(hash [32]byte) *TokenMatch { return &TokenMatch{hash: hash} }

// Offer compares one stored token hash, held by member.
func (m *TokenMatch) Offer(storedHash []byte, member string) {
	eq := subtle.ConstantTimeCompare(storedHash, m.hash[:])
	// Both branches do the same work; only the member is kept.
	if eq == 1 {
		m.member = member
	}
	m.found |= eq
}

// Member returns the member of the token, or [ErrNotFound] when no
// candidate matched.
func (m *TokenMatch) Member() (string, error) {
	if m.found == 0 {
		return "", fmt.Errorf("couldn't find token: %w", ErrNotFound)
	}
	return m.member, nil
}

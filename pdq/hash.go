package pdq

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
)

// Hash is a 256-bit PDQ hash. Word 0 holds the most significant 64 bits of
// the hash as printed (the first 16 hex digits), so that bit k of the
// reference implementations' numbering (k = 16*row + column of the 16x16
// DCT output) is bit k%64 of word 3-k/64.
type Hash [4]uint64

// HexLen is the length of a hash in hexadecimal, as the reference tools
// print it.
const HexLen = 64

// ErrHashSyntax is returned (wrapped) by [ParseHash] for text that is not 64
// hexadecimal digits.
var ErrHashSyntax = errors.New("not a PDQ hash")

// ParseHash parses a hash from 64 hexadecimal digits. Upper- and lower-case
// digits are accepted; [Hash.String] always prints lower case.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != HexLen {
		return h, fmt.Errorf("%w: want %d hex digits, got %d characters", ErrHashSyntax, HexLen, len(s))
	}
	var b [32]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w: %v", ErrHashSyntax, err)
	}
	for w := range h {
		for i := range 8 {
			h[w] = h[w]<<8 | uint64(b[8*w+i])
		}
	}
	return h, nil
}

// String returns the hash as 64 lower-case hexadecimal digits.
func (h Hash) String() string {
	var b [32]byte
	for w := range h {
		for i := range 8 {
			b[8*w+i] = byte(h[w] >> (56 - 8*i))
		}
	}
	return hex.EncodeToString(b[:])
}

// MarshalText implements [encoding.TextMarshaler] (64 lower-case hex digits).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseHash].
func (h *Hash) UnmarshalText(text []byte) error {
	p, err := ParseHash(string(text))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// Bit reports whether bit k (0..255, reference numbering) is set.
func (h Hash) Bit(k int) bool { return h[3-k>>6]>>(k&63)&1 == 1 }

// setBit sets bit k (reference numbering).
func (h *Hash) setBit(k int) { h[3-k>>6] |= 1 << (k & 63) }

// Norm returns the number of set bits (the reference tools' "norm").
func (h Hash) Norm() int {
	return bits.OnesCount64(h[0]) + bits.OnesCount64(h[1]) + bits.OnesCount64(h[2]) + bits.OnesCount64(h[3])
}

// Distance returns the Hamming distance between a and b: the number of
// bits in which they differ, 0..256.
func Distance(a, b Hash) int {
	return bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1]) +
		bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
}

package private

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// TagSize is the length of a published tag: the first 8 bytes of the
// 64-byte RFC 9497 output. A value the provider does not hold collides
// with one of n tags with probability n/2^64 (OPRF outputs are
// pseudorandom), so a querier checking q values against a set of n expects
// q·n/2^64 false matches: with n = 10^7 indicators and q = 10^9 queries
// (far beyond any query budget) that is 5·10^-4 in total. That is
// negligible for evidence-grade answers, where a Bloom or xor filter at a
// few bits per value (a 0.1 %–1 % false-positive rate) would not be; and
// at 8 bytes per value a set of 1M values is 8 MB, a sorted array
// searched in O(log n) with no hashing.
const TagSize = 8

// Tag is one truncated OPRF output.
type Tag [TagSize]byte

// String returns the tag in lower-case hex.
func (t Tag) String() string { return hex.EncodeToString(t[:]) }

func tagOf(output []byte) Tag {
	var t Tag
	copy(t[:], output)
	return t
}

// ErrInvalidSet is returned for a malformed serialised set or tag list.
var ErrInvalidSet = errors.New("invalid private set encoding")

// Set is a provider's published set: its public key and the sorted,
// distinct tags of its values. A Set is immutable except through
// [Set.Add] and [Set.Remove], which are not safe for concurrent use with
// readers.
type Set struct {
	key  *PublicKey
	tags []uint64 // big-endian values of the tags, strictly ascending
}

// NewSet returns the set of tags under key; duplicates collapse.
func NewSet(key *PublicKey, tags []Tag) *Set {
	s := &Set{key: key, tags: make([]uint64, len(tags))}
	for i, t := range tags {
		s.tags[i] = binary.BigEndian.Uint64(t[:])
	}
	slices.Sort(s.tags)
	s.tags = slices.Compact(s.tags)
	return s
}

// PublicKey returns the key the tags were computed under.
func (s *Set) PublicKey() *PublicKey { return s.key }

// Len returns the number of distinct tags.
func (s *Set) Len() int { return len(s.tags) }

// Contains reports whether t is in the set.
func (s *Set) Contains(t Tag) bool {
	_, ok := slices.BinarySearch(s.tags, binary.BigEndian.Uint64(t[:]))
	return ok
}

// Add inserts t and reports whether it was new.
func (s *Set) Add(t Tag) bool {
	v := binary.BigEndian.Uint64(t[:])
	i, ok := slices.BinarySearch(s.tags, v)
	if ok {
		return false
	}
	s.tags = slices.Insert(s.tags, i, v)
	return true
}

// Remove deletes t and reports whether it was present.
func (s *Set) Remove(t Tag) bool {
	i, ok := slices.BinarySearch(s.tags, binary.BigEndian.Uint64(t[:]))
	if ok {
		s.tags = slices.Delete(s.tags, i, i+1)
	}
	return ok
}

// Tags returns the tags in ascending order.
func (s *Set) Tags() []Tag {
	out := make([]Tag, len(s.tags))
	for i, v := range s.tags {
		binary.BigEndian.PutUint64(out[i][:], v)
	}
	return out
}

// AppendTags appends the wire form of the tag list (GET
// /private/sets/{id}/tags): the tags in strictly ascending order,
// [TagSize] bytes each, nothing else.
func (s *Set) AppendTags(b []byte) []byte {
	for _, v := range s.tags {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

// ParseTags parses the tag list written by [Set.AppendTags] into a set
// under key. Tags out of order or repeated wrap [ErrInvalidSet]: the
// encoding of a set is unique.
func ParseTags(key *PublicKey, b []byte) (*Set, error) {
	if len(b)%TagSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte tags", ErrInvalidSet, len(b), TagSize)
	}
	s := &Set{key: key, tags: make([]uint64, len(b)/TagSize)}
	for i := range s.tags {
		s.tags[i] = binary.BigEndian.Uint64(b[i*TagSize:])
		if i > 0 && s.tags[i] <= s.tags[i-1] {
			return nil, fmt.Errorf("%w: tag %d is not above the one before", ErrInvalidSet, i)
		}
	}
	return s, nil
}

// setMagic starts a serialised set.
const setMagic = "parley-private-set-v1\n"

// MarshalBinary encodes the set as "parley-private-set-v1\n", the
// 32-byte public key, then the tag list of [Set.AppendTags].
func (s *Set) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, len(setMagic)+elementSize+len(s.tags)*TagSize)
	b = append(b, setMagic...)
	b = append(b, s.key.b...)
	return s.AppendTags(b), nil
}

// ParseSet decodes a set written by [Set.MarshalBinary].
func ParseSet(b []byte) (*Set, error) {
	rest, ok := bytes.CutPrefix(b, []byte(setMagic))
	if !ok || len(rest) < elementSize {
		return nil, fmt.Errorf("%w: missing header", ErrInvalidSet)
	}
	key, err := ParsePublicKey(rest[:elementSize])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSet, err)
	}
	return ParseTags(key, rest[elementSize:])
}

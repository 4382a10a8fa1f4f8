// Package cursor encodes a position in one collection's order of
// addition as an opaque string: the cursors of the TAXII server's next
// and of the UI's collection pages.
//
// A position is the date_added of a version of the collection, which
// grows strictly with the order of addition (store.Object), so it pages
// neither skipping nor repeating while others add; and it is the
// collection's own, which the member sees anyway (TAXII's
// X-TAXII-Date-Added-Last, the UI's "added" column). The store's
// sequence number is counted over every collection: the difference of
// two told how many versions others had added meanwhile to collections
// the member can't read, so no cursor carries it.
package cursor

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Len is the length of a cursor's bytes; its text is 22 characters of
// base64url.
const Len = 16

// Sentinel errors of [Parse].
var (
	// ErrInvalid: the text is not a cursor [Format] issues (among them
	// the store sequence numbers earlier versions of Parley issued).
	ErrInvalid = errors.New("not a cursor this server issued")
	// ErrOtherCollection: a cursor [Format] issued for another
	// collection.
	ErrOtherCollection = errors.New("a cursor of another collection")
)

// Format is the cursor of the position added in collection: the first 8
// bytes of the SHA-256 of the collection's id and added in microseconds
// since 1970 (8 bytes, big-endian), in base64url without padding.
func Format(collection string, added time.Time) string {
	var b [Len]byte
	h := sha256.Sum256([]byte(collection))
	copy(b[:8], h[:8])
	binary.BigEndian.PutUint64(b[8:], uint64(added.UnixMicro()))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Parse returns the position (UTC, in microseconds) of a cursor [Format]
// issued for collection: [ErrOtherCollection] for one it issued for
// another, [ErrInvalid] for anything else. Any member can make up a
// cursor; it selects no more than a date_added bound does.
func Parse(collection, s string) (time.Time, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != Len || base64.RawURLEncoding.EncodeToString(b) != s || int64(binary.BigEndian.Uint64(b[8:])) < 0 {
		return time.Time{}, ErrInvalid
	}
	t := time.UnixMicro(int64(binary.BigEndian.Uint64(b[8:]))).UTC()
	if Format(collection, t) != s {
		return time.Time{}, ErrOtherCollection
	}
	return t, nil
}

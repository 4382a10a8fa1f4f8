package web

import (
	"net/http"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
)

// The memory of the UI's pages. Every query of a page that reads objects
// is bounded ([store.Bound]) in rows and in bytes of raw JSON, so that
// what a page holds doesn't depend on what the store holds or on how
// large the objects are; and before it reads anything, a page reserves
// what it may hold from the node's response budget, in the member's name
// (Deps.Reserve), as the API's responses that carry objects do. A page
// over its bounds shows what fitted and says that more exists.
const (
	// ListBytes bounds the raw JSON of the objects one list reads: a
	// collection page, the recent activity, and a lookup's PDQ matches.
	ListBytes = 2 << 20
	// RelatedBytes bounds each of an object page's lists: the objects it
	// references, the relationships and sightings naming it, and the
	// objects at their other ends.
	RelatedBytes = 1 << 20
	// SearchBytes bounds the full-text candidates a lookup reads to check
	// them for the exact value.
	SearchBytes = 4 << 20
	// MaxVersions and VersionBytes bound the versions an object page
	// shows: the newest that fit.
	MaxVersions  = 100
	VersionBytes = 1 << 20
	// DefaultMaxObjectSize is Deps.MaxObjectSize when it is zero: the
	// node's default.
	DefaultMaxObjectSize = taxii.DefaultMaxObjectSize
)

// The factors of a page's reservation, measured
// (TestPageMemoryWithinReservation checks every page against them with
// objects of the largest size, made to cost the most):
//
//   - readFactor: bytes allocated per byte of raw JSON a query may return,
//     counting the driver's and the store's copies, the summary each list
//     row decodes, a lookup's case-folded copies, and the garbage;
//   - wholeFactor: bytes allocated per byte of an object the page
//     decodes and renders whole (the object page's object: its
//     properties decoded one by one and shown as text, cut at
//     MaxShownText, and its JSON, in base64, for the browser's check);
//   - pdqHashBytes: bytes allocated per PDQ hash a PDQ lookup reads and
//     indexes;
//   - pageSlack: the rest of a page (templates, headers, the session,
//     the member's collections).
const (
	readFactor   = 4
	wholeFactor  = 12
	pdqHashBytes = 512
	pageSlack    = 1 << 20
)

// pageMemory is what a page reserves: the raw JSON each of its queries
// may return (its bound, or one object where that is larger), the
// objects it decodes and renders whole, pdq PDQ hashes indexed, and
// extra.
type pageMemory struct {
	queries []int64
	whole   int
	pdq     int
	// extra is reserved as it is (the node's concurrence, on an object
	// page).
	extra int64
}

// bytes returns p's reservation for objects of at most m bytes.
func (p pageMemory) bytes(m int64) int64 {
	var n int64
	for _, b := range p.queries {
		n += max(b, m)
	}
	return readFactor*n + wholeFactor*int64(p.whole)*m + pdqHashBytes*int64(p.pdq) + p.extra + pageSlack
}

// reserve takes p's memory from the node's budget in the name of the
// page's member, before the page reads from the store; without Deps.Reserve
// it reserves nothing. When the budget stays spent it answers 503 with
// Retry-After and returns false; otherwise the caller gives the memory
// back with release once the page is written.
func (h *Handler) reserve(w http.ResponseWriter, r *http.Request, m store.Member, p pageMemory) (release func(), ok bool) {
	if h.d.Reserve == nil {
		return func() {}, true
	}
	release, err := h.d.Reserve(r.Context(), m, p.bytes(h.d.MaxObjectSize))
	if err != nil {
		w.Header().Set("Retry-After", "1")
		h.fail(w, r, http.StatusServiceUnavailable, "The node is busy sending other objects; try again in a moment.", nil)
		return nil, false
	}
	return release, true
}

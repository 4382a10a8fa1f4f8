package store

import (
	"context"
	"time"
)

// Browse selects the latest versions of the objects of one collection for
// the analysts' web UI, in Seq order (the order of the log), one page at a
// time. Paging is by keyset on Seq, so a page costs the same at any depth
// and in a collection of any size.
type Browse struct {
	Collection string
	// Types, Creators (member identity ids) and Markings (marking
	// definition ids in object_marking_refs), when not empty, keep only
	// objects matching one of the values.
	Types    []string
	Creators []string
	Markings []string
	// From and To, when not zero, keep objects added at or after From and
	// before To.
	From, To time.Time
	// Text, when not empty, is a full-text query over names,
	// descriptions, patterns and values: its words must all occur.
	Text string
	// After and Before are cursors (Seq values): a page with After > 0
	// holds the first Limit objects with Seq > After; one with Before > 0
	// the last Limit objects with Seq < Before (still returned in
	// ascending order). Both zero: the first page.
	After, Before int64
	// Limit is the largest number of objects returned (1 to 1000).
	Limit int
}

// BrowsePage is one page of a [Browse].
type BrowsePage struct {
	Objects []Object
	// HasNext and HasPrev say whether objects matching the same filters
	// exist after the last and before the first object of the page.
	HasNext, HasPrev bool
}

// CollectionStats summarises one collection for the UI's home page.
type CollectionStats struct {
	Collection string
	// Objects counts distinct object ids; Versions counts versions.
	Objects, Versions int64
	// LastAdded is when the newest version was added (zero if none).
	LastAdded time.Time
}

// MaxBrowseLimit is the largest page [UIQueries.BrowseObjects] returns.
const MaxBrowseLimit = 1000

// MaxPDQCandidates bounds what [UIQueries.PDQObjects] returns, so memory
// stays bounded whatever the store holds.
const MaxPDQCandidates = 200_000

// UIQueries are the queries of the analysts' web UI (internal/web). Each
// is one query whatever the page shows. All take the collections the
// caller may read and return nothing from any other; an unknown
// collection contributes nothing. The "latest version" of an object id in
// a collection is its version with the greatest [Object].Version (what
// TAXII's match[version]=last returns), whatever order the versions
// arrived in. Text matching is case-insensitive.
type UIQueries interface {
	// BrowseObjects returns one page of b: latest versions only, in Seq
	// order, keyset-paged (see [Browse]). An unknown collection is an
	// empty page; b.Limit outside 1..[MaxBrowseLimit], or both After and
	// Before set, is ErrInvalid.
	BrowseObjects(ctx context.Context, b Browse) (BrowsePage, error)
	// CollectionStats returns the counts and latest addition of each of
	// the given collections that holds objects (collections without
	// objects are left out).
	CollectionStats(ctx context.Context, collections []string) ([]CollectionStats, error)
	// RecentObjects returns the limit most recently added object versions
	// in the given collections, newest first.
	RecentObjects(ctx context.Context, collections []string, limit int) ([]Object, error)
	// ObjectVersions returns every stored version of the object id in the
	// given collections, oldest version first.
	ObjectVersions(ctx context.Context, collections []string, id string) ([]Object, error)
	// LatestObjects returns the latest version of each of ids found in the
	// given collections (one per collection holding it), in Seq order.
	LatestObjects(ctx context.Context, collections, ids []string) ([]Object, error)
	// Referencing returns the latest versions of the relationships and
	// sightings in the given collections that name id as source_ref,
	// target_ref or sighting_of_ref, at most limit, in Seq order.
	Referencing(ctx context.Context, collections []string, id string, limit int) ([]Object, error)
	// TextObjects returns the latest versions, in the given collections,
	// of the objects whose indexed text (names, descriptions, patterns,
	// values) contains every word of text, at most limit, in Seq order.
	// How text splits into words is the implementation's (it may match
	// more, never fewer, than whole words): callers that want an exact
	// value check the candidates themselves. Text with no letter or digit
	// matches nothing.
	TextObjects(ctx context.Context, collections []string, text string, limit int) ([]Object, error)
	// PDQObjects returns the latest versions, in the given collections,
	// of the objects that carry a PDQ hash, each with the hash's text (as
	// stored: callers parse it), at most [MaxPDQCandidates], in Seq order;
	// the two slices have the same length.
	PDQObjects(ctx context.Context, collections []string) ([]Object, []string, error)
	// LatestCheckpointTime returns the size of the newest signed
	// checkpoint and when it was stored; ErrNotFound before the first.
	LatestCheckpointTime(ctx context.Context) (int64, time.Time, error)
}

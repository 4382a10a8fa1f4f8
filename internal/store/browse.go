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
	// AddedAfter and AddedBefore are cursors by date_added, positions
	// of the collection's own (a version's DateAdded, which grows
	// strictly with Seq): a page with AddedAfter set holds the first
	// Limit objects added after it, as After does; one with
	// AddedBefore set the last Limit objects added before it, as
	// Before does. Unlike a Seq, they tell nothing of other
	// collections' additions, so they are what a member's cursors
	// carry (package cursor). At most one of After, Before, AddedAfter
	// and AddedBefore is set; a position past the collection's last
	// addition is an empty page (HasPrev set if the filters match
	// anything).
	AddedAfter, AddedBefore time.Time
	// Limit is the largest number of objects returned (1 to 1000).
	Limit int
	// MaxBytes, when > 0, also bounds the raw JSON of the page's objects,
	// as [Bound] does (a page holds at least one object): a page cut
	// short by it has HasNext set (HasPrev, paging back), so that a page's
	// memory is bounded whatever the objects' sizes.
	MaxBytes int64
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

// Bound limits what one UI query returns, so that a page's memory is
// bounded whatever the store holds: at most Rows objects, whose raw JSON
// adds up to at most Bytes, except that a query that finds objects
// returns at least one (so it holds at most max(Bytes, one object)). A
// zero field doesn't bound. Queries that take a Bound also say whether
// they stopped at it with objects left unreturned.
type Bound struct {
	Rows  int
	Bytes int64
}

// Takes reports whether a query within b that returns n objects of total
// bytes of raw JSON so far returns one more of size bytes.
func (b Bound) Takes(n int, total, size int64) bool {
	return (b.Rows <= 0 || n < b.Rows) && (n == 0 || b.Bytes <= 0 || total+size <= b.Bytes)
}

// PDQHash is the PDQ hash of one object version, as stored (callers
// parse it), with the version's Seq.
type PDQHash struct {
	Seq  int64
	Hash string
}

// UIQueries are the queries of the analysts' web UI (internal/web). Each
// costs the same whatever the page shows: one query, or one per
// collection it reads. All take the collections the caller may read and
// return nothing from any other, and read nothing of any other (see
// storetest.Unreadable: their time tells nothing of what other
// collections hold); an unknown collection contributes nothing. The "latest version" of an object id in
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
	// RecentObjects returns the most recently added object versions in
	// the given collections, newest first, within b (b.Rows must be set:
	// zero or less returns nothing).
	RecentObjects(ctx context.Context, collections []string, b Bound) ([]Object, error)
	// ObjectVersions returns the newest stored versions of the object id
	// in the given collections that fit b, oldest version first, and
	// whether older versions were left out.
	ObjectVersions(ctx context.Context, collections []string, id string, b Bound) ([]Object, bool, error)
	// LatestObjects returns the latest version of each of ids found in the
	// given collections (one per collection holding it), in Seq order,
	// within b, and whether some were left out.
	LatestObjects(ctx context.Context, collections, ids []string, b Bound) ([]Object, bool, error)
	// Referencing returns the latest versions of the relationships and
	// sightings in the given collections that name id as source_ref,
	// target_ref or sighting_of_ref, in Seq order, within b, and whether
	// some were left out.
	Referencing(ctx context.Context, collections []string, id string, b Bound) ([]Object, bool, error)
	// TextObjects returns the latest versions, in the given collections,
	// of the objects whose indexed text (names, descriptions, patterns,
	// values) contains every word of text, in Seq order, within b, and
	// whether some were left out. How text splits into words is the
	// implementation's (it may match more, never fewer, than whole
	// words): callers that want an exact value check the candidates
	// themselves. Text with no letter or digit matches nothing.
	TextObjects(ctx context.Context, collections []string, text string, b Bound) ([]Object, bool, error)
	// ValueObjects returns the latest versions, in the given
	// collections, of the objects that hold value (lower-case, one that
	// [IsExactValue] accepts) among their [ExactValues], in Seq order,
	// within b, and whether some were left out. However many objects
	// merely mention its words, they are not read: a look-up of an exact
	// value finds it wherever it is. It reads the index entries of the
	// given collections only. A value IsExactValue refuses matches
	// nothing.
	ValueObjects(ctx context.Context, collections []string, value string, b Bound) ([]Object, bool, error)
	// PDQHashes returns the PDQ hashes of the latest versions, in the
	// given collections, of the objects that carry one, at most limit
	// (which must be positive), newest first (Seq descending), and
	// whether some were left out: past the limit, the oldest are. The
	// objects themselves are read with ObjectsAt.
	PDQHashes(ctx context.Context, collections []string, limit int) ([]PDQHash, bool, error)
	// ObjectsAt returns the object versions whose Seq is one of seqs, in
	// the given collections only, in the order of seqs (each once),
	// within b taken in that order, and whether some were left out.
	ObjectsAt(ctx context.Context, collections []string, seqs []int64, b Bound) ([]Object, bool, error)
	// LatestCheckpointTime returns the size of the newest signed
	// checkpoint and when it was stored; ErrNotFound before the first.
	LatestCheckpointTime(ctx context.Context) (int64, time.Time, error)
}

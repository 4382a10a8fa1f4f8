package store

import "time"

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

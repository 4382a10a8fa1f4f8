package store

import "context"

// OpinionIndex finds STIX opinion objects by the objects they are about,
// for the node's concurrence tally, without reading every opinion.
type OpinionIndex interface {
	// OpinionVersions returns stored versions, in the given collections,
	// of the opinions (objects of type "opinion") some version of which,
	// in those collections, lists object in its object_refs; ordered by
	// Seq. Of each member's versions (the member who shared them) it
	// returns the newest (by Version, then Seq) within perMember, and
	// always the newest one (see [Bound]); a zero perMember returns them
	// all. So what one member shares can't make the tally of an object
	// cost more than perMember. Versions of such an opinion id that no
	// longer list object are included: they may withdraw it. Unknown
	// collections contribute nothing.
	OpinionVersions(ctx context.Context, collections []string, object string, perMember Bound) ([]Object, error)
	// OpinionSizes returns the Seqs of the versions that OpinionVersions
	// with the same arguments returns, in Seq order, and the sum of their
	// sizes in bytes of raw JSON, without reading the versions (nor
	// returning more than perMember.Rows Seqs of one member, when set). A
	// caller reserves memory by bytes, then reads exactly those versions
	// with [UIQueries.ObjectsAt]: a stored version never changes, so they
	// still weigh bytes then, and a version stored in between is not
	// among them.
	OpinionSizes(ctx context.Context, collections []string, object string, perMember Bound) (seqs []int64, bytes int64, err error)
	// LatestRevoked returns the latest version of object in the given
	// collections (of the latest version each of them holds, the newest
	// by Version; among equals a revoked one, then the greater Seq)
	// without its JSON (Raw and Salt are nil), and whether that version
	// is revoked (its "revoked" is JSON true). The store reads the flag
	// itself, so the caller reads nothing of the object's size: the
	// concurrence reserves memory for the opinions alone. ErrNotFound
	// when none of the collections holds object; unknown collections
	// hold nothing.
	LatestRevoked(ctx context.Context, collections []string, object string) (latest Object, revoked bool, err error)
}

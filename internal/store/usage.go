package store

import "context"

// Sizes tells how much members and objects weigh, in bytes of stored JSON
// ([Object].Raw): the quota of [Limits], and the memory a response must
// reserve before it builds (the node's GET /log/bundle).
type Sizes interface {
	// Usage returns the bytes of stored JSON of every object version
	// member submitted, in every collection (0 for a member that stored
	// nothing or does not exist). It is what [Limits].MemberQuota bounds.
	Usage(ctx context.Context, member string) (int64, error)
	// ObjectsSize returns the number of stored versions of the objects
	// ids in collection, and the sum of their sizes, without reading the
	// objects. Unknown ids and collections count nothing.
	ObjectsSize(ctx context.Context, collection string, ids []string) (versions int64, bytes int64, err error)
}

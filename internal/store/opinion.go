package store

import "context"

// OpinionIndex finds STIX opinion objects by the objects they are about,
// for the node's concurrence tally, without reading every opinion.
type OpinionIndex interface {
	// OpinionVersions returns every stored version, in the given
	// collections, of every opinion (an object of type "opinion") some
	// version of which, in those collections, lists object in its
	// object_refs; ordered by Seq. Versions of such an opinion id that no
	// longer list object are included: they may withdraw it. Unknown
	// collections contribute nothing.
	OpinionVersions(ctx context.Context, collections []string, object string) ([]Object, error)
}

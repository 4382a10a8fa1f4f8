package node

import (
	"context"
	"fmt"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/taxii"
)

// envelopeLevels is how many levels of nesting a TAXII envelope adds
// around each of its objects: the envelope, and its "objects" list.
const envelopeLevels = 2

// maxObjectDepth is the deepest nesting of arrays and objects (the object
// itself counting as one) that an object may have on this node: as deep
// as it may be in a member's envelope, which max_json_depth bounds with
// the envelope and its "objects" list counted. Objects relayed by a feed
// or replicated from a peer are held to it too: they come whole from
// the feed's or peer's server, whose parser allows stix.MaxDepth (128),
// and would otherwise be stored deeper than any member may send.
func (n *Node) maxObjectDepth() int {
	d := n.cfg.MaxJSONDepth
	if d <= 0 {
		d = taxii.DefaultMaxJSONDepth
	}
	return d - envelopeLevels
}

// tooDeep says why an object nested as deep as depth is refused, "" when
// it isn't.
func (n *Node) tooDeep(depth int) string {
	if limit := n.maxObjectDepth(); depth > limit {
		return fmt.Sprintf("the object is nested %d levels deep, more than this node accepts (%d: max_json_depth %d less the envelope's %d levels): not stored",
			depth, limit, limit+envelopeLevels, envelopeLevels)
	}
	return ""
}

// depthStore is the node's store as a peer's follower writes to it: the
// objects it replicates are held to [Node.maxObjectDepth] too. A
// submission holding a deeper object is refused whole, and the round
// fails saying so (as it does for an object whose signature doesn't
// verify): the follower replicates the peer's log in order, and goes no
// further than that entry until the node's max_json_depth allows it.
type depthStore struct {
	store.Store
	n *Node
}

func (s depthStore) Submit(ctx context.Context, sub store.Submission) (store.Status, error) {
	for _, it := range sub.Items {
		if why := s.n.tooDeep(taxii.JSONDepth(it.Object.Raw)); why != "" {
			return store.Status{}, fmt.Errorf("object %s: %s: %w", untrusted.Text(it.Object.ID, 200), why, store.ErrInvalid)
		}
	}
	return s.Store.Submit(ctx, sub)
}

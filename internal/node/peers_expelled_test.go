package node

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// TestPeerMemberRemovedStopsReplication: the operator cuts off a peer
// (its party left the unit, or was expelled) with parley member remove
// (or member revoke) of the peer's member peer:NAME. The node stops
// following it for good: nothing the peer logs later is stored or logged
// here under the removed member, and peer status says why; what was
// replicated before stays.
func TestPeerMemberRemovedStopsReplication(t *testing.T) {
	for _, how := range []string{"removed", "revoked"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			b := newOrigin(t, "a")
			a := newFedNode(t, 0)
			pa := a.follow(t, b, "a", "from-b")
			b.share(t, b.intel, 3)
			a.caughtUp(t, b, "a")
			entries, objs := objectEntries(t, a.Node), len(localObjects(t, a.Node, pa.Into))

			var err error
			if how == "removed" {
				_, err = a.RemoveMember(ctx, pa.Member)
			} else {
				err = a.RevokeMember(ctx, pa.Member)
			}
			if err != nil {
				t.Fatal(err)
			}
			b.share(t, b.intel, 3)
			p := a.waitPeer(t, "a", "stopped", func(p store.Peer) bool { return p.State.Stopped != "" })
			if !strings.Contains(p.State.Stopped, "revoked or removed") {
				t.Errorf("the stop's reason: %q", p.State.Stopped)
			}
			if got := objectEntries(t, a.Node); got != entries {
				t.Errorf("object entries: %d after the peer's member was %s, %d before", got, how, entries)
			}
			if got := len(localObjects(t, a.Node, pa.Into)); got != objs {
				t.Errorf("replicated objects: %d after the peer's member was %s, %d before", got, how, objs)
			}
		})
	}
}

// TestPeerMemberRemovedStopsQuietOrDownPeer: the peer's member removed
// stops the peer at the next round, before the peer is contacted, also
// when the peer has logged nothing since (quiet) or can't be reached
// (down). The stop used to come only from the store refusing an object:
// such a peer stayed "following" for good, its rounds asking it again
// and again with the token of a party that was cut off.
func TestPeerMemberRemovedStopsQuietOrDownPeer(t *testing.T) {
	for _, how := range []string{"quiet", "down"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			b := newOrigin(t, "a")
			a := newFedNode(t, 0)
			pa := a.follow(t, b, "a", "from-b")
			b.share(t, b.intel, 3)
			a.caughtUp(t, b, "a")
			if how == "down" {
				b.stop()
			}
			if _, err := a.RemoveMember(ctx, pa.Member); err != nil {
				t.Fatal(err)
			}
			p := a.waitPeer(t, "a", "stopped", func(p store.Peer) bool { return p.State.Stopped != "" })
			if !strings.Contains(p.State.Stopped, "revoked or removed") {
				t.Errorf("the stop's reason: %q", p.State.Stopped)
			}
		})
	}
}

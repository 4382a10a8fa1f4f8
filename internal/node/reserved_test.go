package node

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// TestReservedMemberNames: an operator could add an ordinary member named
// feed:NAME (or peer:NAME), with a token, before `feed add --name NAME`;
// the feed then took that member over, and whoever held the token wrote
// into the feed's relay collection as the feed. The names are refused by
// AddMember, a feed's or peer's member is given no token, and a member
// taken over (made so by an earlier version) loses every token it had.
func TestReservedMemberNames(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	defer n.Close()
	for _, name := range []string{"feed:x", "peer:y", "FEED:x", " Peer:z"} {
		if _, err := n.AddMember(ctx, name, nil); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AddMember(%q) = %v, want ErrInvalid", name, err)
		}
	}
	// A member feed:squat made as an earlier version's member add did,
	// its token given out.
	squat, err := n.addMember(ctx, "feed:squat", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Authenticate(ctx, squat.Token); err != nil {
		t.Fatalf("the squatter's token before the feed: %v", err)
	}
	f, err := n.AddFeed(ctx, FeedSpec{Name: "squat", URL: "https://feed.example/api/", Collection: "c", Into: "squat"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Member != squat.ID {
		t.Fatalf("the feed's member is %s, want the one taken over, %s", f.Member, squat.ID)
	}
	if m, err := n.Authenticate(ctx, squat.Token); err == nil {
		t.Fatalf("the squatter's token still authenticates as %s after feed add took the member over", m.Name)
	}
	// No token can be issued to a feed's member.
	if _, _, err := n.RotateToken(ctx, f.Member); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("RotateToken of the feed's member = %v, want ErrInvalid", err)
	}
	// A feed's member made now has no token to give out: rotating one in
	// is refused, and Authenticate of the empty token fails.
	g, err := n.AddFeed(ctx, FeedSpec{Name: "fresh", URL: "https://feed.example/api/", Collection: "d", Into: "fresh"})
	if err != nil {
		t.Fatal(err)
	}
	if k, err := n.RevokeTokens(ctx, g.Member); err != nil || k != 0 {
		t.Fatalf("a new feed's member had %d tokens (%v), want none", k, err)
	}
}

// TestPeerTakesOverMemberTokenless: peer add taking over a member
// peer:NAME made before it (with a token given out) revokes the token,
// as feed add does.
func TestPeerTakesOverMemberTokenless(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	squat, err := a.addMember(ctx, "peer:a", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	p := a.follow(t, b, "a", "from-b")
	if p.Member != squat.ID {
		t.Fatalf("the peer's member is %s, want the one taken over, %s", p.Member, squat.ID)
	}
	if m, err := a.Authenticate(ctx, squat.Token); err == nil {
		t.Fatalf("the squatter's token still authenticates as %s after peer add took the member over", m.Name)
	}
}

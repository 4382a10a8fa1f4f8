package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
)

// FeedSpec is what [Node.AddFeed] records.
type FeedSpec struct {
	// Name names the feed and its member ("feed:" + Name).
	Name string
	// URL, Collection, Auth, User, SecretFile and CAFile are those of
	// [feed.Feed].
	URL, Collection        string
	Auth, User, SecretFile string
	CAFile                 string
	// Into is the local collection's title or id. A missing one is created
	// as a relay collection accepting unsigned objects, written only by the
	// feed's member and read by Readers (member names or ids).
	Into    string
	Readers []string
	// Interval is the time between rounds (0: feed.DefaultInterval).
	Interval time.Duration
	// Reread is how often a round reads the whole remote collection (0:
	// feed.DefaultReread; negative: never); see store.Feed.
	Reread time.Duration
	// Overlap is how far before the high-water mark an incremental round
	// asks (0: feed.DefaultOverlap; negative: none); see store.Feed.
	Overlap time.Duration
}

// FeedRounds returns how this node's feed rounds hold their feeds: its
// owner id and config.json's round_lease_ttl (see feed.Rounds).
func (n *Node) FeedRounds() feed.Rounds {
	return feed.Rounds{Owner: n.roundOwner, Lease: time.Duration(n.cfg.RoundLeaseTTL)}
}

// FeedStore returns the store of feeds (the node's store).
func (n *Node) FeedStore() feed.Store { return n.store }

// AddFeed records a feed: its system member (without a key: its objects are
// stored unsigned and attributed to the feed), its local relay collection
// when missing, and the feed itself. The collection must not exist yet
// unless the feed's member already writes to it, since access lists are
// fixed at creation.
func (n *Node) AddFeed(ctx context.Context, spec FeedSpec) (feed.Feed, error) {
	st := n.FeedStore()
	if err := feed.CheckName(spec.Name); err != nil {
		return feed.Feed{}, err
	}
	f := feed.Feed{
		Name: spec.Name, URL: spec.URL, Collection: spec.Collection,
		Auth: spec.Auth, User: spec.User, SecretFile: spec.SecretFile, CAFile: spec.CAFile,
		Interval: spec.Interval, Reread: spec.Reread, Overlap: spec.Overlap, Created: n.now(),
	}
	if _, err := feed.Client(f); err != nil {
		return feed.Feed{}, fmt.Errorf("%w: %w", err, store.ErrInvalid)
	}
	fs, err := st.Feeds(ctx)
	if err != nil {
		return feed.Feed{}, err
	}
	for _, o := range fs {
		if o.Name == spec.Name {
			return feed.Feed{}, fmt.Errorf("couldn't add feed %q: the name is taken: %w", spec.Name, store.ErrConflict)
		}
	}
	ps, err := n.store.Peers(ctx)
	if err != nil {
		return feed.Feed{}, err
	}
	for _, p := range ps {
		if SameRemote(p.URL, p.Remote, spec.URL, spec.Collection) {
			return feed.Feed{}, fmt.Errorf("couldn't add feed %q: the peer %s already follows collection %s at %s; %s: %w", spec.Name, p.Name, spec.Collection, p.URL, bothRefused, store.ErrConflict)
		}
	}
	// Everything that can be refused is checked before anything is
	// written, so that bad input changes nothing; an I/O failure midway
	// leaves a member (and collection) that a second try reuses.
	member, err := n.store.MemberByName(ctx, feed.MemberName(spec.Name))
	switch {
	case errors.Is(err, store.ErrNotFound):
		member = store.Member{}
	case err != nil:
		return feed.Feed{}, err
	case member.PublicKey != nil:
		return feed.Feed{}, fmt.Errorf("couldn't add feed %q: the member %s has a key, so it is not a feed's member: %w", spec.Name, member.Name, store.ErrConflict)
	}
	c, err := n.findCollection(ctx, spec.Into)
	create := errors.Is(err, store.ErrNotFound)
	switch {
	case create:
		for _, r := range spec.Readers {
			m, err := n.ResolveMember(ctx, r)
			if err != nil {
				return feed.Feed{}, err
			}
			if err := n.refuseSystemMember(ctx, m, "read on the feed's collection"); err != nil {
				return feed.Feed{}, err
			}
		}
	case err != nil:
		return feed.Feed{}, err
	case member.ID == "" || !c.CanWrite(member.ID) || !c.Relay || c.Signatures != store.SignaturesOptional:
		return feed.Feed{}, fmt.Errorf("couldn't add feed %q: the collection %q exists and is not a relay collection of unsigned objects written by %s; give a new title to create one: %w", spec.Name, spec.Into, feed.MemberName(spec.Name), store.ErrConflict)
	}
	if member.ID == "" {
		nm, err := n.addSystemMember(ctx, feed.MemberName(spec.Name))
		if err != nil {
			return feed.Feed{}, err
		}
		member.ID = nm.ID
	} else if _, err := n.RevokeTokens(ctx, member.ID); err != nil {
		// The member is taken over (a failed try of this feed made it,
		// or an earlier version's member add did, before its name was
		// reserved): nobody but the node writes as it, so a token an
		// earlier version issued it, or that was given out with it,
		// stops working.
		return feed.Feed{}, fmt.Errorf("couldn't revoke the API tokens of %s, taken over as the feed's member: %w", feed.MemberName(spec.Name), err)
	}
	f.Member = member.ID
	f.Into = c.ID
	if create {
		id, err := n.CreateCollection(ctx, CollectionSpec{
			Title:       spec.Into,
			Description: fmt.Sprintf("Relayed from the TAXII collection %s at %s by the feed %s; the objects are unsigned and their created_by_ref is not verified.", spec.Collection, spec.URL, spec.Name),
			Readers:     spec.Readers, Writers: []string{member.ID},
			Signatures: store.SignaturesOptional, Relay: true, ownWriter: member.ID,
		})
		if err != nil {
			return feed.Feed{}, err
		}
		f.Into = id
	}
	if err := st.AddFeed(ctx, f); err != nil {
		return feed.Feed{}, err
	}
	return f, nil
}

// findCollection finds a collection by id or else by unique title.
func (n *Node) findCollection(ctx context.Context, ref string) (store.Collection, error) {
	if c, err := n.store.Collection(ctx, ref); err == nil || !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	cs, err := n.store.Collections(ctx)
	if err != nil {
		return store.Collection{}, err
	}
	var found []store.Collection
	for _, c := range cs {
		if c.Title == ref {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return store.Collection{}, fmt.Errorf("no collection %q: %w", ref, store.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return store.Collection{}, fmt.Errorf("%d collections are titled %q; give the id: %w", len(found), ref, store.ErrInvalid)
}

// FeedSink returns the sink feeds store their pages through: the node's
// submission pipeline, as the feed's member.
func (n *Node) FeedSink() feed.Sink { return feedSink{n} }

type feedSink struct{ n *Node }

func (s feedSink) Submit(ctx context.Context, member, collection string, objects []json.RawMessage) (store.Status, error) {
	c, err := s.n.store.Collection(ctx, collection)
	if err != nil {
		return store.Status{}, err
	}
	if !c.CanWrite(member) {
		return store.Status{}, fmt.Errorf("couldn't store the feed's objects: %s may not write to collection %s: %w", member, collection, store.ErrInvalid)
	}
	return s.n.submit(ctx, member, c, objects, true)
}

// Stopped implements [feed.Stopper]: see [Node.FeedStopped].
func (s feedSink) Stopped(ctx context.Context, f feed.Feed) (string, error) {
	return s.n.FeedStopped(ctx, f)
}

// FeedStopped returns why the node follows the feed f no more, "" when it
// does: its member (feed:NAME) was revoked or removed (parley member
// revoke, parley member remove, which revokes first), as the revocation
// logged among the member's key entries says. Nothing of such a member
// is stored any more, so its feed's server isn't contacted either.
func (n *Node) FeedStopped(ctx context.Context, f feed.Feed) (string, error) {
	revoked, err := store.MemberRevoked(ctx, n.store, f.Member)
	if err != nil || !revoked {
		return "", err
	}
	return fmt.Sprintf("stopped: the feed's member %s was revoked or removed; the feed is polled no more", feed.MemberName(f.Name)), nil
}

package node

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
)

// The operator's actions on a member's access (parley member token,
// parley member remove). Nothing in the node caches a token: every
// request looks its hash up in the store, so a token revoked here fails
// on the very next request to every front end of the store.

// freshToken returns a new random API token and its SHA-256, the only
// form the store keeps.
func (n *Node) freshToken() (string, [32]byte, error) {
	var b [32]byte
	if _, err := io.ReadFull(n.rand, b[:]); err != nil {
		return "", [32]byte{}, fmt.Errorf("couldn't make a token: %w", err)
	}
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return tok, sha256.Sum256([]byte(tok)), nil
}

// RotateToken issues a new API token for member and revokes every token
// it held before, in one store transaction; it returns the new token (to
// show once) and how many were revoked. It fails with store.ErrNotFound
// for an unknown member and store.ErrInvalid for a revoked or removed
// one, changing nothing.
//
// A feed's or a peer's member (a name [Node.AddMember] refuses) gets no
// token: store.ErrInvalid. The node writes as it; a token would let its
// holder write into the feed's or peer's collection as the feed or peer.
func (n *Node) RotateToken(ctx context.Context, member string) (string, int, error) {
	m, err := n.store.Member(ctx, member)
	if err != nil {
		return "", 0, err
	}
	if p := reservedPrefix(m.Name); p != "" {
		return "", 0, fmt.Errorf("couldn't issue a token to %s: it is the member of a feed or a peer (its name begins with %q), as which only the node writes: %w", m.Name, p, store.ErrInvalid)
	}
	tok, hash, err := n.freshToken()
	if err != nil {
		return "", 0, err
	}
	revoked, err := n.store.ReplaceTokens(ctx, store.Token{Hash: hash, Member: member, Created: n.now()})
	if err != nil {
		return "", 0, err
	}
	return tok, revoked, nil
}

// RevokeTokens revokes every API token of member at once and returns how
// many there were; the member keeps its keys and access, and
// [Node.RotateToken] gives it a new token.
func (n *Node) RevokeTokens(ctx context.Context, member string) (int, error) {
	return n.store.RevokeTokens(ctx, member)
}

// RemoveMember ends a member: unless its revocation is logged already,
// it logs one ([Node.RevokeMember]: no key of it is in force for later
// entries), then deletes its tokens and takes it off every collection's
// access lists ([store.Store].RemoveMember). Its identity, objects and
// log entries stay: the log is append-only, and what it shared before
// still verifies. It reports whether it logged the revocation now. A crash
// between the two steps leaves a revoked member (no token works) still
// on access lists; running it again finishes the removal.
func (n *Node) RemoveMember(ctx context.Context, member string) (bool, error) {
	if _, err := n.store.Member(ctx, member); err != nil {
		return false, err
	}
	revoked, err := store.MemberRevoked(ctx, n.store, member)
	if err != nil {
		return false, err
	}
	if !revoked {
		if err := n.RevokeMember(ctx, member); err != nil {
			return false, err
		}
	}
	// A member revoked by an older version (or a crash after the
	// revocation) may still have its peer or feed following: stop it too.
	if err := n.stopFollowersOf(ctx, member); err != nil {
		return !revoked, err
	}
	if err := n.store.RemoveMember(ctx, member); err != nil {
		return !revoked, err
	}
	return !revoked, nil
}

// stopFollowersOf stops, at once, the peers and feeds whose member is
// member, once it is revoked or removed: see stopPeersOf and stopFeedsOf.
func (n *Node) stopFollowersOf(ctx context.Context, member string) error {
	if err := n.stopPeersOf(ctx, member); err != nil {
		return err
	}
	return n.stopFeedsOf(ctx, member)
}

// stopFeedsOf records, at once, the stop of every feed whose member
// (feed:NAME) is member, once that member is revoked or removed
// ([Node.FeedStopped]'s reason as its last_error, [feed.RecordStop]), as
// stopPeersOf does for peers: the feed's runner would record it only at
// the feed's next round (which may be a backed-off one, hours later),
// and until then the feed's last_error was its last round's. A round
// running meanwhile (in parley serve) keeps the feed: it ends at its next
// heartbeat (feed.ErrStopped), and its runner records the stop then.
func (n *Node) stopFeedsOf(ctx context.Context, member string) error {
	fs, err := n.FeedStore().Feeds(ctx)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.Member != member {
			continue
		}
		reason, err := n.FeedStopped(ctx, f)
		if err != nil {
			return err
		}
		if reason == "" || f.LastError == reason {
			continue
		}
		err = feed.RecordStop(ctx, n.FeedStore(), f, n.now, reason, n.FeedRounds())
		if errors.Is(err, store.ErrFenced) {
			// A round of the feed took the lease meanwhile (this
			// process's runner, or another's): it ends at its next
			// heartbeat and records the stop itself (feed.RunRounds);
			// the revocation stands either way.
			continue
		}
		if err != nil {
			return fmt.Errorf("the member is revoked, but couldn't record the stop of its feed %s: %w", f.Name, err)
		}
	}
	return nil
}

// stopPeersOf stops, at once, every followed peer whose member (peer:NAME)
// is member, once that member is revoked or removed: the follower would
// stop it at its next round anyway (which may be a backed-off one, minutes
// later), and until then parley peer status showed it "following" with
// its old last_error. A round running meanwhile is refused by the store
// (the member is revoked) and ends.
func (n *Node) stopPeersOf(ctx context.Context, member string) error {
	ps, err := n.store.Peers(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Member != member || p.State.Stopped != "" {
			continue
		}
		if err := n.store.StopPeer(ctx, p.Name, peer.RevokedReason(p.Name), "", n.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("the member is revoked, but couldn't stop its peer %s: %w", p.Name, err)
		}
	}
	return nil
}

// RevokeAccess takes away a member's read and/or write on a collection
// (collection by id or title, member by name or identity id). It holds
// from the next request on every front end of the store: TAXII, /log,
// private sets, the web UI (a session opened before included) all read
// the access lists at each request, and a submission or private set in
// flight is checked again as it is logged. What the member read before
// is not taken back, and what it wrote stays in the log. It fails with
// store.ErrNotFound for an unknown collection or member, or a member not
// on the collection's lists, and store.ErrInvalid when neither read nor
// write is asked.
func (n *Node) RevokeAccess(ctx context.Context, collection, member string, read, write bool) (store.Collection, store.Member, error) {
	return n.changeAccess(ctx, collection, member, func(c, m string) error { return n.store.RevokeAccess(ctx, c, m, read, write) })
}

// GrantAccess gives a member read and/or write on a collection
// (collection by id or title, member by name or identity id), keeping
// what it has; as RevokeAccess, it holds from the member's next request
// on every front end of the store and logs nothing. It fails with
// store.ErrNotFound for an unknown collection or member, and
// store.ErrInvalid for a revoked or removed member or when neither read
// nor write is asked; each changes nothing. A peer's or a feed's member
// (peer:NAME, feed:NAME) is given nothing: [ErrSystemMember].
//
// Write on the read-only collection of a peer (parley peer add --into)
// fails with store.ErrConflict: the peer's copies are stored there
// without a claim on their ids (the peer's log, not this node's first
// writer, says whose an id is), so a member writing beside them would
// have its objects replaced or revoked by any later version the peer
// logs under the same id, and the peer's proofs would no longer cover
// the collection. Once the peer's replication is stopped for good (its
// member removed, or a fork), write may be granted.
func (n *Node) GrantAccess(ctx context.Context, collection, member string, read, write bool) (store.Collection, store.Member, error) {
	return n.changeAccess(ctx, collection, member, func(c, m string) error {
		mm, err := n.store.Member(ctx, m)
		if err != nil {
			return err
		}
		if err := n.refuseSystemMember(ctx, mm, "access to collection "+c); err != nil {
			return err
		}
		if write {
			ps, err := n.store.Peers(ctx)
			if err != nil {
				return err
			}
			for _, p := range ps {
				if p.Into == c && p.State.Stopped == "" {
					return fmt.Errorf("couldn't grant write on collection %s: it is the read-only copy of peer %s's collection, which only the peer's log writes (a member writing there could have its objects replaced or revoked by the peer's versions of the same ids); stop the peer's replication first (parley member remove %s): %w", c, p.Name, peer.MemberName(p.Name), store.ErrConflict)
				}
			}
		}
		return n.store.GrantAccess(ctx, c, m, read, write)
	})
}

// changeAccess finds the collection (by id or title) and the member (by
// name or identity id) and applies change to their ids.
func (n *Node) changeAccess(ctx context.Context, collection, member string, change func(collectionID, memberID string) error) (store.Collection, store.Member, error) {
	c, err := n.findCollection(ctx, collection)
	if err != nil {
		return c, store.Member{}, err
	}
	m, err := n.ResolveMember(ctx, member)
	if err != nil {
		return c, m, err
	}
	return c, m, change(c.ID, m.ID)
}

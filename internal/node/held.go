package node

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/parley-exchange/parley/internal/held"
	"github.com/parley-exchange/parley/internal/store"
)

// Requests held open. A request may wait, after it was authenticated and
// its access checked: for its share of the response budget (up to
// budgetWait), or for a checkpoint that covers its entries (a receipt, a
// proof bundle, a tally's evidence: up to ReceiptWait). The operator may
// revoke or remove its member, or take its read, meanwhile. So a held
// request checks again, every heldRecheck while it waits, that its token
// still authenticates its member and that the member may still read what
// the answer draws from: if not, it ends at once with the answer it would
// get if it asked now (401, or 404 like an object that doesn't exist).
// What it reads after the wait it reads under the access lists as they
// are then, never as they were when it began: no object stored, and no
// answer given, after a revocation reaches the member it concerns.

// heldRecheck is how often a held request checks again (a variable for
// tests, which check what is checked after the wait without it).
var heldRecheck = 100 * time.Millisecond

// reauthKey is the context key of the re-authentication that
// [Node.requireMember] leaves for the handlers.
type reauthKey struct{}

// withReauth returns ctx carrying reauth, which checks that the
// request's token still authenticates its member.
func withReauth(ctx context.Context, reauth func(context.Context) error) context.Context {
	return context.WithValue(ctx, reauthKey{}, reauth)
}

// reauthenticate checks, when ctx carries a request's re-authentication,
// that its token still authenticates its member: errUnauthorized (401) if
// not. A web UI session's request ([Node.AsSession]) is checked by the
// session's token the same way. Without either (a call from Go) it is
// nil.
func reauthenticate(ctx context.Context) error {
	if f, ok := ctx.Value(reauthKey{}).(func(context.Context) error); ok {
		return f(ctx)
	}
	if a, ok := ctx.Value(asMemberKey{}).(asMember); ok && a.hasToken {
		if _, err := a.member(ctx); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errUnauthorized
			}
			return err
		}
	}
	return nil
}

// tokenReauth is the re-authentication of a request of member by token.
func (n *Node) tokenReauth(token, member string) func(context.Context) error {
	return func(ctx context.Context) error {
		m, err := n.Authenticate(ctx, token)
		if errors.Is(err, store.ErrNotFound) || (err == nil && m.ID != member) {
			return errUnauthorized
		}
		return err
	}
}

// errAccessChanged: the member's read of what the answer draws from was
// taken while the request was held. It is answered as the member would
// be answered now: 404, as an object it may not read.
var errAccessChanged = fmt.Errorf("couldn't find the objects asked for: %w", store.ErrNotFound)

// mayStillRead checks that ctx's request is still its member's
// ([reauthenticate]) and that member m may still read each of
// collections, by one indexed lookup each: errAccessChanged if not.
func (n *Node) mayStillRead(ctx context.Context, m store.Member, collections []string) error {
	if err := reauthenticate(ctx); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, c := range collections {
		if seen[c] {
			continue
		}
		seen[c] = true
		rd, _, err := n.store.Access(ctx, c, m.ID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !rd) {
			return errAccessChanged
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// refused reports whether err is a check's refusal (401 or 404), not a
// failure to check.
func refused(err error) bool {
	return errors.Is(err, errUnauthorized) || errors.Is(err, errAccessChanged)
}

// heldNow counts the waits of watchHeld going on in this process (all
// nodes together): a request counted here has been checked and waits.
var heldNow atomic.Int64

// watchHeld runs wait with a context that ends, every heldRecheck, as
// soon as check refuses ([refused]); it then returns check's refusal,
// and otherwise what wait returns ([held.Watch]: a wait that succeeded
// stands, and its caller checks again before it answers). A check that fails to check (a store
// that doesn't answer for a moment) does not end the wait: the request is
// checked again before it answers.
func watchHeld(ctx context.Context, check func(context.Context) error, wait func(context.Context) error) error {
	heldNow.Add(1)
	defer heldNow.Add(-1)
	err, ended := held.Watch(ctx, heldRecheck, func(ctx context.Context) error {
		if err := check(ctx); refused(err) {
			return err
		}
		return nil
	}, wait)
	if ended && !refused(err) {
		// An outer watch refused: the web UI's of the request's
		// session, which ended (logged out, expired) while it waited.
		// The request is answered as one whose token no longer
		// authenticates, not as a failure.
		return errUnauthorized
	}
	return err
}

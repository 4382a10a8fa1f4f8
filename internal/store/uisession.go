package store

import (
	"context"
	"time"
)

// UISession is one session of the web UI, kept in the store so that every
// front end of a node on one database knows it.
//
// The store holds no credential a dump of it could replay: Key is the
// SHA-256 of the session's id (the cookie's value; the id itself is never
// stored), and Token is the SHA-256 of the API token the member logged in
// with, as the tokens table holds it (a hash authenticates nothing; the UI
// checks at every request that it still names Member, so that a session
// ends once its token is rotated or revoked or its member removed). CSRF
// is the session's CSRF token, which is worth nothing without the session
// cookie.
type UISession struct {
	Key    [32]byte
	Member string
	Token  [32]byte
	CSRF   string
	// Created is the login, LastSeen the session's last request and
	// Expires its end whatever its use (Created + the UI's SessionTTL).
	Created, LastSeen, Expires time.Time
	// Binding is the SHA-256 of the secret that the browser tab's origin
	// keeps in its localStorage, sent by the login page's script (see the
	// web package's sessions); zero for a session that was started
	// without one (logged in without JavaScript, or stored by a build
	// from before migration 731), which the UI holds to reading only.
	// Like Token, it is a hash and authenticates nothing by itself.
	Binding [32]byte
}

// MaxUISessionsPerMember bounds the sessions of one member: opening one
// more deletes the member's least recently seen. With the ended sessions
// deleted at every opening, the table holds at most this many per member.
const MaxUISessionsPerMember = 256

// UISessions are the web UI's sessions. Times are the caller's clock
// (the UI's), never the store's.
type UISessions interface {
	// OpenUISession stores s. In the same transaction it first deletes
	// every session that has ended at s.Created (its Expires not after
	// s.Created, or its LastSeen not after idleBefore), then, while
	// s.Member has [MaxUISessionsPerMember] or more sessions, the one
	// it saw least recently. ErrInvalid for an empty Member or CSRF or a
	// zero time; ErrConflict when s.Key is taken.
	OpenUISession(ctx context.Context, s UISession, idleBefore time.Time) error
	// TouchUISession returns the session with key if it is live at now
	// (Expires after now, LastSeen after idleBefore) and sets its
	// LastSeen to now unless [UISession.ReadOnlyAt] says it needn't (then
	// the session is returned as stored, and nothing is written). A session
	// that is not live is deleted; it, like a key that names none, is
	// ErrNotFound.
	TouchUISession(ctx context.Context, key [32]byte, now, idleBefore time.Time) (UISession, error)
	// UISession returns the session with key if it is live at now
	// (Expires after now, LastSeen after idleBefore), as stored, and
	// writes nothing: a request that has not yet shown it is the
	// session's (the web UI's binding) must not keep it alive, which
	// TouchUISession then does. A session that is not live, like a key
	// that names none, is ErrNotFound (and left for TouchUISession or the
	// next opening to delete).
	UISession(ctx context.Context, key [32]byte, now, idleBefore time.Time) (UISession, error)
	// CloseUISession deletes the session with key (a logout, or a
	// session whose token no longer authenticates). A key that names no
	// session is no error.
	CloseUISession(ctx context.Context, key [32]byte) error
}

// Valid reports whether s may be stored (see [UISessions.OpenUISession]).
func (s UISession) Valid() bool {
	return s.Member != "" && s.CSRF != "" && !s.Created.IsZero() && !s.LastSeen.IsZero() && !s.Expires.IsZero()
}

// UISessionTouchEvery is how stale a session's stored LastSeen may be
// before a request writes it again: at most this, and at most an eighth of
// the idle timeout. Every page and call of the UI touches its session, and
// a write on every one would queue the UI behind ingest on a store's one
// writer; the price is that a session used all along may end as idle up to
// that much early, which errs on the side of ending it.
const UISessionTouchEvery = time.Minute

// ReadOnlyAt reports whether a request at now may use s as read, writing
// nothing: s is live (Expires after now, LastSeen after idleBefore) and its
// LastSeen is recent (see [UISessionTouchEvery]; idleBefore is now less
// the idle timeout).
func (s UISession) ReadOnlyAt(now, idleBefore time.Time) bool {
	every := min(UISessionTouchEvery, now.Sub(idleBefore)/8)
	return s.Expires.After(now) && s.LastSeen.After(idleBefore) && now.Sub(s.LastSeen) < every
}

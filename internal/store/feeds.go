package store

import (
	"context"
	"time"
)

// Feed is one followed remote TAXII collection (package internal/feed)
// and its position.
type Feed struct {
	// Name is unique among feeds; the feed's member is "feed:" + Name.
	Name string `json:"name"`
	// URL is the remote server: a base URL (the discovery resource is at
	// URL/taxii2/ and the API root is the default /api/) or an API root's
	// URL (any URL whose path is not empty or "/").
	URL string `json:"url"`
	// Collection is the remote collection id.
	Collection string `json:"collection"`
	// Into is the local collection id; Member the feed's member id.
	Into   string `json:"into"`
	Member string `json:"member"`
	// Auth is "" (none), "bearer" or "basic" (the feed package's
	// AuthNone, AuthBearer, AuthBasic). The secret (the token, or the
	// JSON of parley member add --json; the password) is read from
	// SecretFile at each round (never stored in the node's database), so
	// rotating it means rewriting the file.
	Auth       string `json:"auth,omitempty"`
	User       string `json:"user,omitempty"`
	SecretFile string `json:"secret_file,omitempty"`
	// CAFile, when set, names a file of PEM CA certificates: the only
	// ones trusted for an https URL, instead of the system's roots (a
	// server with a private CA's certificate). Read at each round.
	CAFile string `json:"ca_file,omitempty"`
	// Interval is the time between rounds.
	Interval time.Duration `json:"-"`
	// Reread is how often a round reads the remote collection from its
	// beginning instead of after the high-water mark (0: the feed
	// package's default; negative: never).
	Reread time.Duration `json:"-"`
	// Overlap is how far before the high-water mark an incremental
	// round asks (added_after), so that an object a server adds after a
	// round with a date_added before that round's newest (several
	// writers, clock skew, back-dated objects) is still read (0: the
	// feed package's default; negative: none, only one unit of the
	// mark's precision).
	Overlap time.Duration `json:"-"`
	Created time.Time     `json:"created"`
	FeedPosition
}

// FeedPosition is where a feed stands and what it has done.
type FeedPosition struct {
	// AddedAfter is the added_after of the round in progress (or of the
	// next round when Next is empty); Next the server's cursor to go on
	// with, empty between rounds.
	AddedAfter time.Time `json:"added_after"`
	Next       string    `json:"next,omitempty"`
	// HighWater is the latest X-TAXII-Date-Added-Last seen; the next round
	// starts after it.
	HighWater time.Time `json:"high_water"`
	// FullRead is when the latest round that read the remote collection
	// from its beginning (no added_after) started.
	FullRead time.Time `json:"full_read"`
	// ReadTo is the newest date_added (X-TAXII-Date-Added-Last) that the
	// round in progress has read since it began; zero between rounds. A
	// full read's progress: when the server forgets the round's cursor
	// (it expired, the node was stopped for a while between pages), the
	// round goes on with added_after just before it, not after
	// HighWater, which a full read is far behind.
	ReadTo time.Time `json:"read_to"`
	// LastPoll is when the last page was fetched or failed; LastError the
	// last round's error, empty after a round that ended well.
	LastPoll  time.Time `json:"last_poll"`
	LastError string    `json:"last_error,omitempty"`
	// Added counts versions stored for the first time, Existing versions
	// served again (already stored), Failed versions the node refused
	// (the status's failures, such as a version conflict), Pages the pages
	// stored.
	Added    int64 `json:"added"`
	Existing int64 `json:"existing"`
	Failed   int64 `json:"failed"`
	Pages    int64 `json:"pages"`
	// LastFailure names the last object the node refused and why ("ID
	// VERSION: message"), such as a version conflict.
	LastFailure string `json:"last_failure,omitempty"`
	// Failures counts the rounds in a row that failed (ended with
	// LastError set) since the last page stored, which resets it to 0:
	// the node spaces out the rounds of a failing feed by it
	// (feed.Backoff), also after a restart, and `parley feed status`
	// shows it as failed_rounds. NotBefore is the time before which the
	// server asked not to be asked again (its Retry-After), zero for none.
	Failures  int64     `json:"failures,omitempty"`
	NotBefore time.Time `json:"not_before"`
	// RoundStarted is when the round in progress started (zero when none
	// runs), and RoundFrom the feed's Pages then, so that `parley feed
	// status`, in another process, tells a running round, and how many
	// pages it has stored, from an idle node. A node killed during a
	// round leaves them set until the round's lease (RoundExpires)
	// expires; then a node process counts that round as failed
	// (InterruptFeedRound, feed.Interrupted).
	RoundStarted time.Time `json:"round_started"`
	RoundFrom    int64     `json:"round_from,omitempty"`
	// RoundOwner names the process that runs the round in progress (its
	// RoundLease.Owner) and RoundExpires is when the round's lease
	// expires unless that process renews it (ClaimFeedRound,
	// RenewFeedRound); RoundActive is when the round last received bytes
	// from the feed's server and RoundBytes how many it has received so
	// far (zero and 0 before the first record). All four are written by
	// ClaimFeedRound and RenewFeedRound only, and cleared with the mark:
	// RecordPoll leaves them as stored while RoundStarted is set. A
	// RecordPoll whose RoundOwner is set is the write of that owner's
	// round: it applies only while the feed's round is that owner's.
	RoundOwner   string    `json:"round_owner,omitempty"`
	RoundExpires time.Time `json:"round_expires"`
	RoundActive  time.Time `json:"round_active"`
	RoundBytes   int64     `json:"round_bytes,omitempty"`
}

// Feeds keeps the feeds a node follows and their positions. The secret of
// a feed is never stored, only the name of the file that holds it.
type Feeds interface {
	// AddFeed stores a new feed, with its position. It fails, changing
	// nothing, with ErrInvalid when Name, URL, Collection, Into or Member
	// is empty, with ErrConflict when the name is taken, and with an
	// error when Into or Member names no existing collection or member.
	AddFeed(ctx context.Context, f Feed) error
	// Feeds returns every feed ordered by name, each with its latest
	// recorded position.
	Feeds(ctx context.Context) ([]Feed, error)
	// RecordPoll replaces the position of feed name; it is durable when
	// RecordPoll returns (a restarted node resumes from it). ErrNotFound
	// for an unknown feed. With p.RoundOwner set, it fails with
	// ErrFenced, changing nothing, unless the round marked is that
	// owner's (another process took the feed over after the owner's
	// lease expired). RoundOwner, RoundExpires, RoundActive and
	// RoundBytes are not written, only cleared with the mark when
	// p.RoundStarted is zero.
	RecordPoll(ctx context.Context, name string, p FeedPosition) error
	// ClaimFeedRound marks a round of feed name as started, held by
	// l.Owner until l.Expires (RoundStarted l.Started, RoundFrom the
	// feed's Pages, RoundOwner, RoundExpires; RoundActive and RoundBytes
	// cleared), when no round is marked or the round marked is
	// l.Owner's own (a round of the same process that never cleared its
	// mark). It reports false, changing nothing, when another owner's
	// round is marked, whether or not its lease has expired
	// (InterruptFeedRound ends an expired one first). ErrNotFound for
	// an unknown feed. A claim returns the feed's position as stored
	// with it (another process's round may have moved it since the
	// caller last read it).
	ClaimFeedRound(ctx context.Context, name string, l RoundLease) (FeedPosition, bool, error)
	// RenewFeedRound extends the lease of l.Owner's round that started
	// at l.Started to l.Expires and records its transfer: RoundActive
	// at (kept when zero) and RoundBytes bytes. It reports false,
	// changing nothing, when that round is not the one marked (it was
	// interrupted after its lease expired). ErrNotFound for an unknown
	// feed.
	RenewFeedRound(ctx context.Context, name string, l RoundLease, at time.Time, bytes int64) (bool, error)
	// InterruptFeedRound records the round of feed name that started at
	// started, whose lease expired at or before at (or that has no
	// lease: marked by an older version), as a failed round, in one
	// transaction: LastPoll at, LastError reason, one more Failure, and
	// the round's mark and lease cleared. The position stays. It
	// reports false, changing nothing, when no round or another round is
	// marked, or its lease is live at at. ErrNotFound for an unknown
	// feed.
	InterruptFeedRound(ctx context.Context, name string, started, at time.Time, reason string) (bool, error)
}

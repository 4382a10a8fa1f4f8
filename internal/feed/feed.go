// Package feed follows TAXII 2.1 collections of other servers (the MITRE
// ATT&CK TAXII server, a vendor, an OpenCTI feed, another Parley node) into
// local relay collections.
//
// A feed is polled incrementally: each round asks for objects added after
// the feed's high-water mark (the X-TAXII-Date-Added-Last of the last page
// seen) less its overlap ([DefaultOverlap]: a server's date_added needn't
// grow with what it adds, see [nextRoundAfter]) and follows the server's
// next cursors page by page. After each page
// is stored, the position (the round's added_after, the next cursor, the
// high-water mark) is saved, so a restarted node resumes where it stopped.
//
// # Never skipping, never duplicating
//
// The objects of a page and the position after it are written in two
// transactions (the node's submission pipeline, then [store.Feeds.RecordPoll]).
// A crash between them re-fetches that page after the restart, and the
// re-post is harmless: the store treats an identical object version as
// "already stored" (no second row, no second log entry), and the counts
// kept here count only versions stored for the first time. A server that
// omits X-TAXII-Date-Added-Last never moves the high-water mark: every
// round then re-reads the collection from the last mark, still without
// duplicates.
//
// # Cursors the server forgets
//
// A cursor the server no longer honours (it expired, or the node was
// stopped between two pages for longer than the server keeps it) is
// dropped and the round goes on by added_after from just before the newest
// date_added it has read (ReadTo, recorded with each page; TAXII 2.1
// serves objects by date_added ascending). A full read, far behind the
// high-water mark, thus goes on from where it got to, not from the mark
// (which would skip the rest of the collection until the next full read)
// nor from the beginning (which, with a large collection and short-lived
// cursors, might never end). A round goes on so once without having read
// further; after that only when it has: a server that forgets cursors
// before the round reads past a date_added ends the round with an error,
// and the next round (after the feed's interval) goes on from there. A
// round that began there without a cursor and gets no further either
// (a server that never honours cursors, and more objects at one
// date_added than its page) ends with an error too, and the next goes on
// after that date_added, as for a server without next: the rest of that
// batch can't be had from the server, and going on from before it again
// would hold the feed there for ever. A query by added_after after a
// forgotten cursor begins a new chain of cursors: a cursor string the
// server gave before it is no circle. Cursors that go round in a circle end the round with an error too, and
// the next round goes on from there the same way.
//
// # Attribution
//
// Objects are submitted as the feed's own system member ("feed:NAME"),
// which has no key: they are stored unsigned, attributed to the feed,
// in a relay collection whose policy accepts unsigned objects. Readers
// see "relayed by feed:NAME; claims to be from ..." and know that the
// node, not any member, vouches only that the feed served them.
//
// Objects served by another Parley node carry its members' signature
// extensions, which verify only against that node's log (the keys in
// force there); the feed removes them ([stix.StripSignature]) and changes
// nothing else, so the copy is an unsigned relay here. Check the original
// signatures against the source node (parley pull --url SOURCE).
package feed

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/parley-exchange/parley/internal/slowlink"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// Authentication kinds of a feed.
const (
	AuthNone   = ""
	AuthBearer = "bearer" // SecretFile holds a bearer token
	AuthBasic  = "basic"  // User, and SecretFile holds the password
)

// DefaultInterval is how long a feed waits between rounds by default.
const DefaultInterval = 5 * time.Minute

// DefaultReread is how often a feed reads its remote collection from the
// beginning by default (see [Poll]).
const DefaultReread = 24 * time.Hour

// PageSize is the limit asked of the remote server per page.
const PageSize = 500

// MaxPageObjects bounds the objects of one page (200 times PageSize, what
// is asked): a server may serve fewer than asked, but a page of more is
// refused whole, decoded no further and nothing of it stored, and the
// round ends with an error. The response's size alone
// ([taxii.DefaultMaxResponseBytes]) let a page of tiny objects hold tens
// of millions, each decoded, checked and answered for in memory.
const MaxPageObjects = 100_000

// MaxCursor bounds the length of a page's next cursor: a page with a
// longer one is refused whole, nothing of it stored, and the round ends
// with an error. A cursor is recorded with the feed's position (which
// feed status shows) and sent back in the next request's URL; real ones
// are tens or hundreds of bytes, and longer ones would fail at most
// servers' limits on a request line anyway.
const MaxCursor = 8 << 10

// MaxDateAddedAhead bounds how far ahead of the node's clock a page's
// X-TAXII-Date-Added-Last moves the feed's high-water mark (and a
// round's ReadTo). A date_added is the server's time of adding; one far
// ahead (a clock that jumped, objects imported with their source's
// dates, or a hostile server) would otherwise become the mark, and every
// later incremental round would ask for objects added after it and read
// nothing the server adds until the next full read (Reread), or never
// with Reread off. Objects dated past the bound are served again by each
// round, "already stored".
const MaxDateAddedAhead = time.Hour

// MaxPagesPerRound ends a round after this many pages (its position kept,
// so the next round goes on), so that one endless server cannot starve
// the node's other feeds. A next cursor the server gave before in the
// round (cursors going round in a circle) ends it at once, with an error.
const MaxPagesPerRound = 10000

// maxRoundTime ends a round after the page that passes it, its position
// kept, as [MaxPagesPerRound] does: a server that always has more pages
// with new cursors, each answered within requestTimeout, would otherwise
// hold a slot of [Run] for 10,000 pages (hours, or days). A round cut
// short is due again at once (see [Due]), after the other feeds that are
// due. It is also how long [RunRounds] waits for the rounds of one
// listing before it lists again, and how long a round holds one of its
// slots: a round still running then goes on by itself, and holds none
// of the other feeds. A variable for tests.
var maxRoundTime = time.Minute

// requestTimeout bounds the wait for the response of a request to a
// feed's server, and, past it, the response body must keep coming at
// minRate or faster: a server that never answers, or trickles its page
// on purpose, ends the round with an error rather than holding one of
// [Run]'s slots for ever; a page (up to
// [taxii.DefaultMaxResponseBytes]) that keeps coming over a slow link is
// not cut. A request that makes no progress for stallTimeout (no
// response header, no byte of its body) is abandoned too. Variables for
// tests.
var (
	requestTimeout = 2 * time.Minute
	stallTimeout   = slowlink.DefaultStallTimeout
	minRate        = int64(slowlink.DefaultMinRate)
)

// Feed is one followed remote collection and its position; the node's
// store keeps it ([store.Feeds]).
type Feed = store.Feed

// Position is where a feed stands and what it has done.
type Position = store.FeedPosition

// Store keeps feeds and their positions: the node's store.
type Store = store.Feeds

// Sink stores a page of objects: the node's submission pipeline, as member
// into collection.
type Sink interface {
	Submit(ctx context.Context, member, collection string, objects []json.RawMessage) (store.Status, error)
}

// MemberName returns the name of a feed's system member.
func MemberName(feed string) string { return "feed:" + feed }

// CheckName reports whether name can name a feed: 1 to 64 letters,
// digits, '-', '_' or '.'.
func CheckName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("a feed name has 1 to 64 characters: %w", store.ErrInvalid)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("feed name %q: use letters, digits, '-', '_' and '.': %w", name, store.ErrInvalid)
		}
	}
	return nil
}

// maxSecretFile bounds a feed's secret file: real ones are under a KiB.
const maxSecretFile = 64 << 10

// maxCAFile bounds a feed's CA file (as peer.MaxCAFile does a peer's).
const maxCAFile = 4 << 20

// Client returns the TAXII client of f, reading its secret file. Each of
// its requests is bounded in time (no progress for 30 seconds, no
// response within two minutes, or a body that comes slower than 4 KiB/s
// after them: see requestTimeout) and in size
// ([taxii.DefaultMaxResponseBytes]).
func Client(f Feed) (*taxii.Client, error) {
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Not quoted: a URL that doesn't parse may still hold a password.
		return nil, fmt.Errorf("feed %s: the url is not an http(s) URL with a host", f.Name)
	}
	if untrusted.URLHasSecret(u) {
		// A secret in the URL would be repeated wherever the URL is: the
		// description of the collection the feed creates (which its
		// readers see), errors, logs and the feed's status.
		return nil, fmt.Errorf("feed %s: the url %s has a user, password or query; give the server's secret in a file (a token file, or a user and a password file), never in the url", f.Name, untrusted.URLWithoutSecret(u))
	}
	hc := &http.Client{Timeout: requestTimeout, CheckRedirect: untrusted.SameOriginRedirects}
	if f.CAFile != "" {
		// Read again for every poll, as the secret is: a renewed CA
		// needs no restart.
		pem, err := untrusted.ReadFile(f.CAFile, maxCAFile)
		if err != nil {
			return nil, fmt.Errorf("feed %s: couldn't read the CA file: %w", f.Name, err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("feed %s: the CA file %s holds no PEM certificate", f.Name, f.CAFile)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		hc.Transport = t
	}
	c := &taxii.Client{BaseURL: strings.TrimSuffix(f.URL, "/"), HTTP: slowlink.Client(hc, stallTimeout, minRate, "the feed's server"), MaxObjects: MaxPageObjects}
	if u.Path != "" && u.Path != "/" {
		c.BaseURL = u.Scheme + "://" + u.Host
		c.Root = f.URL
		if !strings.HasSuffix(c.Root, "/") {
			c.Root += "/"
		}
	}
	if f.Auth != AuthNone {
		// Read again for every poll: bounded as peer.ReadToken is.
		b, err := untrusted.ReadFile(f.SecretFile, maxSecretFile)
		if err != nil {
			return nil, fmt.Errorf("feed %s: couldn't read the secret file: %w", f.Name, err)
		}
		secret := strings.TrimSpace(string(b))
		// An empty file (or a binary one given by mistake) would be
		// sent as the token or password at every poll, each refused
		// with 401 only once the feed runs.
		if secret == "" {
			return nil, fmt.Errorf("feed %s: the secret file %s is empty", f.Name, f.SecretFile)
		}
		if !untrusted.Printable(secret) {
			return nil, fmt.Errorf("feed %s: the secret file %s holds binary data, not a token or password", f.Name, f.SecretFile)
		}
		switch f.Auth {
		case AuthBearer:
			if strings.HasPrefix(secret, "{") {
				// The JSON that parley member add --json prints.
				var v struct {
					Token string `json:"token"`
				}
				if json.Unmarshal([]byte(secret), &v) != nil || v.Token == "" {
					return nil, fmt.Errorf("feed %s: the token file %s holds JSON without a \"token\"", f.Name, f.SecretFile)
				}
				secret = v.Token
			}
			c.Token = secret
		case AuthBasic:
			c.User, c.Password = f.User, secret
		default:
			return nil, fmt.Errorf("feed %s: unknown authentication %q", f.Name, f.Auth)
		}
	}
	return c, nil
}

// Progress is told about each page stored (for a terminal's progress line).
type Progress func(f Feed)

// Poll runs one round of f: it fetches pages from f's position until the
// server says no more follow, storing each page through sink and the new
// position through st after it. It returns the feed as last recorded. An
// error (the server's, the store's, ctx's) ends the round; what was
// recorded before stays, and the error is recorded as LastError when st
// can still be written.
func Poll(ctx context.Context, st Store, sink Sink, f Feed, now func() time.Time, progress Progress) (Feed, error) {
	return PollRound(ctx, st, sink, f, now, progress, Rounds{})
}

// DefaultRoundLease is how long a round's lease lasts unless the process
// running it renews it ([Rounds.Lease]): six heartbeats.
const DefaultRoundLease = 30 * time.Second

// DefaultHeartbeat is how often a round renews its lease and records the
// bytes it has received ([Rounds.Heartbeat]).
const DefaultHeartbeat = 5 * time.Second

// ActivityWindow is how long a running round may receive nothing from
// the feed's server before `parley feed status` calls it stalled
// ([StalledAt]): twice the time a request may make no progress before
// it is abandoned (which ends the round with an error), as for peers.
const ActivityWindow = 2 * slowlink.DefaultStallTimeout

// ErrBusy: another process (a front end sharing the store, or `parley
// feed poll` beside `parley serve`) runs a round of the feed, under a
// lease that hasn't expired; nothing was done or recorded.
var ErrBusy = errors.New("another process runs a round of the feed")

// ErrLeaseLost: the round's lease expired before it could be renewed
// (the process paused past it, or the store was unreachable that long),
// and another process counted the round as interrupted: the round
// stopped, and it wrote nothing after that.
var ErrLeaseLost = errors.New("the round's lease expired and another process took the feed over")

// ErrStopped is the cause of a round's context when the feed was stopped
// (its member revoked or removed) while the round ran: the round ends at
// its next heartbeat, however slowly its server sends, as a round the
// node's shutdown ends (no failure counted), and [RunRounds] records the
// stop.
var ErrStopped = errors.New("the feed was stopped during the round")

// Rounds says how the rounds of one process hold their feeds: of several
// processes on one store, one runs a feed's round at a time (it claims
// the feed, [store.Feeds.ClaimFeedRound]), and it renews the round's
// lease every Heartbeat while the round runs, recording with it the
// bytes received from the server; a round whose lease has expired (its
// process killed, crashed, or paused past it) is counted as interrupted
// by whichever process looks next ([Interrupted]).
type Rounds struct {
	// Owner names this process in the leases (unique per process);
	// empty means [store.ProcessRoundOwner].
	Owner string
	// Lease is how long a lease lasts unrenewed; 0 means
	// [DefaultRoundLease]. It must be longer than Heartbeat.
	Lease time.Duration
	// Heartbeat is how often a round renews its lease; 0 means
	// [DefaultHeartbeat], or a sixth of Lease when that is shorter.
	Heartbeat time.Duration
	// Concurrency is how many rounds of different feeds [RunRounds]
	// runs at once; 0 means [DefaultConcurrency].
	Concurrency int
}

// DefaultConcurrency is how many rounds [RunRounds] runs at once by
// default ([Rounds.Concurrency]): a server that trickles its pages holds
// one of them, not the node's other feeds; it takes this many such
// servers, all due at once, to hold them all.
const DefaultConcurrency = 4

func (r Rounds) withDefaults() Rounds {
	if r.Owner == "" {
		r.Owner = store.ProcessRoundOwner()
	}
	if r.Lease <= 0 {
		r.Lease = DefaultRoundLease
	}
	if r.Heartbeat <= 0 {
		r.Heartbeat = min(DefaultHeartbeat, r.Lease/6)
	}
	if r.Concurrency <= 0 {
		r.Concurrency = DefaultConcurrency
	}
	return r
}

// PollRound is [Poll], the round held under r's lease: it first claims
// the feed, and fails with [ErrBusy], changing nothing, when another
// process runs a round of it. The round then goes on from the feed's
// position as stored when it claimed it (f's own position may be stale:
// another process's round may have ended since f was read); f's
// configuration (URL, interval, reread, ...) is used as given. While it
// runs it renews its lease every r.Heartbeat with the bytes received so
// far; should a renewal find the round taken over ([ErrLeaseLost]), the
// round stops, and its writes are refused ([store.ErrFenced]).
func PollRound(ctx context.Context, st Store, sink Sink, f Feed, now func() time.Time, progress Progress, r Rounds) (out Feed, err error) {
	r = r.withDefaults()
	started := now().UTC()
	lease := store.RoundLease{Owner: r.Owner, Started: started, Expires: started.Add(r.Lease)}
	// The claim is not cut short by ctx: a claim that the store committed
	// as ctx ended would return an error with the mark made, and nothing
	// would clear it. Once made, the round ends at once with ctx done and
	// clears it.
	if err := ctx.Err(); err != nil {
		return f, err
	}
	cctx, cancelClaim := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	pos, ok, err := st.ClaimFeedRound(cctx, f.Name, lease)
	cancelClaim()
	if err != nil {
		return f, fmt.Errorf("couldn't record the start of a round of feed %s: %w", f.Name, err)
	}
	if !ok {
		owner := ""
		if fs, err := st.Feeds(ctx); err == nil {
			for _, o := range fs {
				if o.Name == f.Name {
					owner = o.RoundOwner
				}
			}
		}
		if owner != "" {
			return f, fmt.Errorf("feed %s: %w (%s)", f.Name, ErrBusy, owner)
		}
		return f, fmt.Errorf("feed %s: %w", f.Name, ErrBusy)
	}
	// The round is marked in the store while it runs (RoundStarted, and
	// RoundFrom the pages stored before it), for `parley feed status`
	// in another process; each page's position carries the mark, and
	// the round's end clears it (record, the last page, or endRound
	// when ctx ends it).
	f.FeedPosition = pos
	// The caller found the feed followed before the claim; its member
	// revoked since had the stop recorded under a claim of the node's
	// own ([RecordStop]), which ended before this one: asked again under
	// this claim, so that a stopped feed's server is asked nothing more.
	// The caller records the stop where it isn't yet (f.LastError).
	if reason := stopped(ctx, sink, f, func(string, ...any) {}); reason != "" {
		endRound(ctx, st, f.Name, lease)
		f.RoundStarted, f.RoundFrom, f.RoundOwner = time.Time{}, 0, ""
		f.RoundExpires, f.RoundActive, f.RoundBytes = time.Time{}, time.Time{}, 0
		return f, fmt.Errorf("feed %s: %w (before it asked its server): %s", f.Name, ErrStopped, reason)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	meter := &slowlink.Meter{Now: now}
	defer heartbeat(ctx, cancel, st, sink, f, lease, r, now, meter)()
	defer func() {
		// What the caller gets is a position, not a round's write;
		// the lease and transfer went with the mark.
		out.RoundOwner = ""
		if out.RoundStarted.IsZero() {
			out.RoundExpires, out.RoundActive, out.RoundBytes = time.Time{}, time.Time{}, 0
		}
		// (A renewal just after the round's last write cleared its
		// mark finds it gone too: no error of the round's.)
		if err != nil && context.Cause(ctx) == ErrLeaseLost {
			err = fmt.Errorf("round of feed %s: %w: %w", f.Name, ErrLeaseLost, err)
		}
		if ctx.Err() != nil {
			endRound(ctx, st, f.Name, lease)
		}
	}()
	client, err := Client(f)
	if err != nil {
		return f, record(ctx, st, &f, now, err)
	}
	client.HTTP = slowlink.Metered(client.HTTP, meter)
	// A round in progress (ReadTo set: cut short, killed, or ended by an
	// error) goes on first: starting the full read over whenever Reread
	// has passed would never finish one on a server slower than Reread.
	if f.Next == "" && f.ReadTo.IsZero() && fullReadDue(f, now()) {
		// Every Reread, a round asks for the whole collection, not only
		// what was added after the high-water mark: a server may give a
		// new version a date_added that isn't after the mark (MITRE's
		// ATT&CK Workbench gives every object its created time, which a
		// new version keeps), and added_after would then hide it for
		// ever. What is stored already comes back "already stored".
		f.AddedAfter, f.FullRead, f.ReadTo = time.Time{}, now().UTC(), time.Time{}
	}
	restarted := false // the round went on after a forgotten cursor
	// Where the round began, when it began without a cursor: a round
	// that began there and can't read past it either is stuck.
	began, beganBare := f.AddedAfter, f.Next == ""
	seen := taxii.Cursors{} // the round's next cursors
	start := time.Now()
	for pages := 1; ; pages++ {
		q := taxii.Query{AddedAfter: f.AddedAfter, Next: f.Next, Limit: PageSize}
		env, err := client.Objects(ctx, f.Collection, q)
		if err != nil && f.Next != "" && expiredCursor(err) {
			// The server forgot the cursor: go on from just before the
			// newest date_added the round has read (re-posting is
			// idempotent), never from before where the round's cursors
			// began. Once in a round even without having read further
			// (a server that restarted); after that only when the
			// round has read further since the last time, so that a
			// server that always forgets the cursor too soon can't
			// hold the round in a loop.
			from := goOnFrom(f)
			if !restarted || from.After(f.AddedAfter) {
				f.Next, f.AddedAfter, restarted = "", from, true
				// A new query, a new chain of cursors: a server
				// whose cursors count from their query's start
				// gives the same strings again, which is no circle.
				// Each chain begins only after progress, so the
				// round can't loop.
				seen = taxii.Cursors{}
				continue
			}
			if beganBare && from.Equal(began) && f.ReadTo.After(from) {
				// This round began here without a cursor (where the
				// round before ended, or at the high-water mark) and
				// got no further: the server never
				// serves the rest of the batch at ReadTo (more than
				// a page at one date_added) without a cursor it
				// honours. Going on from here again would hold the
				// feed there for ever, nothing added later ever
				// read; the next round goes on after the batch, as
				// for a server without next, and the error says
				// what was left.
				f.Next, f.AddedAfter = "", f.ReadTo
				return f, record(ctx, st, &f, now, fmt.Errorf("couldn't fetch from %s: %w (the server forgot the round's next cursor again before the round read past date_added %s, where it began; the objects at that date_added after the server's first page of them may not have been read: the next round goes on after it)",
					f.URL, err, taxii.FormatTimestamp(f.ReadTo)))
			}
			// Recorded so that the next round asks from there without
			// the dead cursor.
			f.Next, f.AddedAfter = "", from
			return f, record(ctx, st, &f, now, fmt.Errorf("couldn't fetch from %s: %w (the server forgot the round's next cursor again before the round read further; the next round goes on from %s)",
				f.URL, err, resumeFrom(from)))
		}
		if err != nil {
			return f, record(ctx, st, &f, now, fmt.Errorf("couldn't fetch from %s: %w", f.URL, err))
		}
		if len(env.Next) > MaxCursor {
			// Refused before anything of the page is stored: the
			// position can't move past it without its cursor.
			return f, record(ctx, st, &f, now, fmt.Errorf("couldn't fetch from %s: the server gave a next cursor of %d bytes (%s), more than %d: the page was not stored",
				f.URL, len(env.Next), untrusted.Text(env.Next, 40), MaxCursor))
		}
		if len(env.Objects) > 0 {
			status, err := sink.Submit(ctx, f.Member, f.Into, unsigned(env.Objects))
			if err != nil {
				return f, record(ctx, st, &f, now, fmt.Errorf("couldn't store a page: %w", err))
			}
			for _, s := range status.Successes {
				if s.Message == "already stored" {
					f.Existing++
				} else {
					f.Added++
				}
			}
			f.Failed += int64(len(status.Failures))
			if n := len(status.Failures); n > 0 {
				d := status.Failures[n-1]
				f.LastFailure = fmt.Sprintf("%s %s: %s", untrusted.Text(d.ID, 200), untrusted.Text(d.Version, 100), untrusted.Text(d.Message, 500))
			}
		}
		f.Pages++
		// Never past MaxDateAddedAhead of the node's clock: rounds ask
		// after the mark, and one date_added in the year 9999 would
		// hide everything the server adds after it.
		read := env.DateAdded.Last
		if limit := now().UTC().Add(MaxDateAddedAhead); read.After(limit) {
			read = limit
		}
		if read.After(f.HighWater) {
			f.HighWater = read
		}
		if read.After(f.ReadTo) {
			f.ReadTo = read
		}
		// A page stored: the server works, and the backoff of a failing
		// feed ends.
		f.LastPoll, f.LastError, f.Failures, f.NotBefore = now().UTC(), "", 0, time.Time{}
		// A page may be empty and still say more, with a next cursor (a
		// server that filters a page after reading it: objects this
		// client may not see, types it does not serve): go on. Without
		// a cursor, an empty page can't move the round on, and ends it.
		more := env.More && (len(env.Objects) > 0 || env.Next != "")
		circle := false
		if more && env.Next != "" {
			// The cursor the page was asked with, given back, is a
			// circle too, also when it came from an earlier round
			// (killed with a cursor recorded), which seen doesn't hold.
			circle = seen.Repeated(env.Next) || env.Next == f.Next
			more = !circle
		}
		newest := env.DateAdded.Last
		var ignored error // the server ignores added_after and can't be paged
		switch {
		case circle:
			// The round ends with an error (below); the next goes on
			// from the newest date_added this one has read, as after a
			// forgotten cursor: a full read from where it got to, not
			// from the high-water mark.
			f.Next, f.AddedAfter = "", goOnFrom(f)
		case more && env.Next != "" && env.Next != f.Next:
			f.Next = env.Next
		case more && env.Next == "" && ignoresAddedAfter(q, env):
			// A server that ignores added_after and pages without next
			// serves its first page again whatever is asked: what
			// follows it can't be read. Said, not passed over in
			// silence; the next round asks as after a full round.
			f.Next, f.AddedAfter, f.ReadTo = "", nextRoundAfter(f), time.Time{}
			ignored = fmt.Errorf("%s ignores added_after (asked for objects added after %s, it served a page whose first was added at %s) and gives no next cursor: the objects after that page can't be read from it",
				f.URL, taxii.FormatTimestamp(q.AddedAfter), taxii.FormatTimestamp(env.DateAdded.First))
			more = false
		case more && env.Next == "" && newest.After(f.AddedAfter.Add(time.Microsecond)):
			// A server that pages by added_after alone (more without
			// next): go on from just before the page's newest
			// date_added. added_after is exclusive, and the objects
			// the server holds at that date_added may not all be on
			// this page (a batch added at once, a server's clock in
			// seconds): asking after it would skip the rest of them
			// for ever. Those of this page are served again, "already
			// stored". The mark moves at least a microsecond a page.
			f.Next, f.AddedAfter = "", newest.Add(-time.Microsecond)
		case more && env.Next == "" && f.ReadTo.After(f.AddedAfter):
			// A whole page at one date_added (a batch larger than the
			// server's page, which it can't page through without
			// next): go on after it, the newest date_added the round
			// has read (not the high-water mark, which a full read is
			// far behind).
			f.Next, f.AddedAfter = "", f.ReadTo
		default:
			more = false
			f.Next, f.AddedAfter, f.ReadTo = "", nextRoundAfter(f), time.Time{}
		}
		last := !more || pages >= MaxPagesPerRound || time.Since(start) >= maxRoundTime
		if last && !circle && ignored == nil {
			f.RoundStarted, f.RoundFrom = time.Time{}, 0
		}
		if err := st.RecordPoll(ctx, f.Name, f.FeedPosition); err != nil {
			return f, fmt.Errorf("couldn't record the position of feed %s: %w", f.Name, err)
		}
		if progress != nil {
			progress(f)
		}
		if circle {
			// The page is stored and the round ends as if it were the
			// last; the error waits the feed's interval before the next.
			return f, record(ctx, st, &f, now, fmt.Errorf("%s gave a next cursor it gave before in this round: its cursors go round in a circle", f.URL))
		}
		if ignored != nil {
			return f, record(ctx, st, &f, now, ignored)
		}
		if last {
			return f, nil
		}
	}
}

// fullReadDue reports whether f's next round should read the remote
// collection from its beginning: its Reread (DefaultReread when zero;
// never when negative) has passed since the last round that did.
func fullReadDue(f Feed, now time.Time) bool {
	every := f.Reread
	if every == 0 {
		every = DefaultReread
	}
	return every > 0 && (f.FullRead.IsZero() || now.Sub(f.FullRead) >= every)
}

// resumeAfter is the added_after of the round after one whose newest
// date_added was hw: one unit of hw's precision before it. added_after is
// exclusive, and a server whose clock counts whole seconds (or
// milliseconds) gives the objects added later in hw's second the same
// date_added as hw: asking after hw itself would skip them for ever. The
// objects at hw come again, "already stored".
func resumeAfter(hw time.Time) time.Time {
	switch ns := hw.Nanosecond(); {
	case hw.IsZero():
		return hw
	case ns == 0:
		return hw.Add(-time.Second)
	case ns%int(time.Millisecond) == 0:
		return hw.Add(-time.Millisecond)
	case ns%int(time.Microsecond) == 0:
		return hw.Add(-time.Microsecond)
	}
	return hw.Add(-time.Nanosecond)
}

// DefaultOverlap is how far before the high-water mark an incremental
// round asks by default (see [nextRoundAfter] and store.Feed.Overlap).
const DefaultOverlap = 10 * time.Minute

// overlapOf is f's overlap: DefaultOverlap for 0, none for a negative
// one.
func overlapOf(f Feed) time.Duration {
	switch {
	case f.Overlap < 0:
		return 0
	case f.Overlap == 0:
		return DefaultOverlap
	}
	return f.Overlap
}

// nextRoundAfter is the added_after of the round after a complete one:
// [resumeAfter] the high-water mark, less f's overlap. TAXII 2.1 serves
// by date_added, but a server's date_added needn't grow with what it
// adds: several writers whose transactions commit out of order, clocks
// that disagree, objects inserted with the date_added of their source.
// An object added after a round with a date_added before that round's
// newest would be hidden from every later round that asks after the
// mark; asking from the overlap before it reads it, as long as it is
// no older than that. What comes again is "already stored" (the same
// id and version: no second row, no second log entry). Older ones wait
// for the next full read (Reread).
func nextRoundAfter(f Feed) time.Time {
	r := resumeAfter(f.HighWater)
	if r.IsZero() {
		return r
	}
	if o := r.Add(-overlapOf(f)); o.After(time.Time{}) {
		return o
	}
	return time.Time{}
}

// ignoresAddedAfter reports whether the page env, the answer to q, holds
// objects that the server says were added a second or more before q's
// added_after: a server that ignores added_after (or whose
// X-TAXII-Date-Added-First says what its filter didn't do). The second
// spares a server whose headers are less precise than its date_added
// (an object added at .7 after added_after .5, its header saying .0).
func ignoresAddedAfter(q taxii.Query, env *taxii.Envelope) bool {
	return !q.AddedAfter.IsZero() && q.Next == "" && !env.DateAdded.First.IsZero() && !env.DateAdded.First.Add(time.Second).After(q.AddedAfter)
}

// goOnFrom is the added_after from which f's round goes on without its
// next cursor: just before the newest date_added it has read, and never
// before the added_after its cursors began from.
func goOnFrom(f Feed) time.Time {
	if r := resumeAfter(f.ReadTo); r.After(f.AddedAfter) {
		return r
	}
	return f.AddedAfter
}

// resumeFrom describes the added_after a round goes on from, for an
// error.
func resumeFrom(t time.Time) string {
	if t.IsZero() {
		return "the beginning of the collection"
	}
	return "added_after " + taxii.FormatTimestamp(t)
}

// unsigned removes the Parley signature extension from the objects that
// carry one (see the package comment); others are left byte for byte, and
// an object that isn't valid JSON is left for the node to refuse.
func unsigned(objects []json.RawMessage) []json.RawMessage {
	for i, o := range objects {
		if !bytes.Contains(o, []byte(stix.SignatureExtensionID)) {
			continue
		}
		if s, err := stix.StripSignature(o); err == nil {
			objects[i] = s
		}
	}
	return objects
}

// expiredCursor reports whether err is a server's refusal of a next
// cursor (400 or 404 to a request that carried one).
func expiredCursor(err error) bool {
	return errors.Is(err, taxii.ErrBadRequest) || errors.Is(err, taxii.ErrNotFound)
}

// record saves err as f's LastError, the end of a failed round (best
// effort: the store may be what failed) and returns err. The round counts
// as failed (Failures, which [Backoff] spaces the next rounds by), and the
// server's Retry-After, if it gave one, is kept as NotBefore: both are in
// the store, so a restarted node keeps them. Much of an error's text is
// the feed's server's (its error messages, media type, redirects): the
// text recorded and returned is bounded to maxLastError bytes, on one
// line, without control characters, whatever error made it
// ([untrusted.Text]).
func record(ctx context.Context, st Store, f *Feed, now func() time.Time, err error) error {
	err = boundedError(err)
	f.LastPoll, f.LastError = now().UTC(), err.Error()
	f.Failures++
	f.NotBefore = time.Time{}
	if d := RetryAfter(err); d > 0 {
		f.NotBefore = f.LastPoll.Add(d)
	}
	f.RoundStarted, f.RoundFrom = time.Time{}, 0
	if rerr := st.RecordPoll(ctx, f.Name, f.FeedPosition); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// maxLastError bounds a feed's recorded LastError (see record).
const maxLastError = 4096

// boundedError returns err, or, when its text is longer than
// maxLastError or holds control characters, an error with the same chain
// whose text is bounded and has them replaced.
func boundedError(err error) error {
	msg := err.Error()
	if b := untrusted.Text(msg, maxLastError); b != msg {
		return &clippedError{err: err, msg: b}
	}
	return err
}

// clippedError is an error whose text was bounded; it unwraps to the
// original, so that errors.Is and errors.As (RetryAfter) still work.
type clippedError struct {
	err error
	msg string
}

func (e *clippedError) Error() string { return e.msg }
func (e *clippedError) Unwrap() error { return e.err }

// endRound clears the mark of the round l, which ctx ended (the node
// stopping), from the feed's recorded position, which stays as it is
// otherwise: the round was cut short, not failed, and the next goes on at
// once. Only while the round is l's (RecordPoll with its owner). Best
// effort: a round whose mark stays is counted as interrupted once its
// lease expires.
func endRound(ctx context.Context, st Store, name string, l store.RoundLease) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	fs, err := st.Feeds(cctx)
	if err != nil {
		return
	}
	for _, f := range fs {
		if f.Name == name && f.RoundStarted.Equal(l.Started) && f.RoundOwner == l.Owner {
			f.RoundStarted, f.RoundFrom = time.Time{}, 0
			st.RecordPoll(cctx, name, f.FeedPosition)
		}
	}
}

// heartbeat renews the lease l of the round of feed f every
// r.Heartbeat, with the bytes meter counts, until the function it returns
// is called. A renewal that finds the round taken over cancels the round
// with [ErrLeaseLost]; a failed one is retried at the next beat (the
// lease lasts several). A beat at which sink, a [Stopper], says f is
// stopped cancels the round with [ErrStopped].
func heartbeat(ctx context.Context, cancel context.CancelCauseFunc, st Store, sink Sink, f Feed, l store.RoundLease, r Rounds, now func() time.Time, meter *slowlink.Meter) (stop func()) {
	return store.KeepRound(ctx, l, r.Heartbeat, r.Lease, now,
		func(ctx context.Context, l store.RoundLease) (bool, error) {
			ok, err := st.RenewFeedRound(ctx, f.Name, l, meter.Last(), meter.Bytes())
			// A feed stopped during its round (its member removed)
			// ends the round at this beat, as a shutdown does (its
			// mark cleared, no failure); RunRounds then records the
			// stop.
			if ok && err == nil && stopped(ctx, sink, f, func(string, ...any) {}) != "" {
				cancel(ErrStopped)
			}
			return ok, err
		},
		func(error) {},
		func() { cancel(ErrLeaseLost) })
}

// InterruptedPrefix begins the LastError of a round during which the node
// stopped without ending it (killed, crashed, out of memory): see
// [Interrupted]. No other error of a round begins with it.
const InterruptedPrefix = "interrupted (node stopped during the round)"

// Interrupted records each round of a feed that is marked as running in
// st (RoundStarted), started before before, and whose lease has expired
// at now (RoundExpires: its process stopped renewing it, killed, crashed,
// out of memory or paused past it; a round marked by an older version,
// without a lease, has none to wait for) as a failed round, in one
// transaction ([store.Feeds.InterruptFeedRound]): its LastError begins
// with [InterruptedPrefix], LastPoll is now, Failures counts it, and the
// mark and lease are cleared; the next round is backed off by it
// ([NextRound], [Backoff]) as after any failed round, so that a feed
// whose data reliably kills the node is not retried at full rate with
// nothing said. A round whose lease is live (another front end on the
// same store runs it, renewing its lease every heartbeat) is left alone,
// however long it has run. The position (Next, AddedAfter, ReadTo,
// HighWater) stays as the last page recorded it: the next round goes on
// from there, and what the killed round stored after it comes again,
// "already stored". A round ended by the node's shutdown (its context
// cancelled: SIGINT or SIGTERM) clears its mark ([Poll]) and is not
// counted. It returns the names of the feeds so recorded.
func Interrupted(ctx context.Context, st Store, now func() time.Time, before time.Time) ([]string, error) {
	fs, err := st.Feeds(ctx)
	if err != nil {
		return nil, err
	}
	return interrupted(ctx, st, fs, now, before, "")
}

// interrupted is [Interrupted] of the feeds fs, as just listed, leaving
// the rounds of owner (the calling process's, "" for none) alone: none
// of them is a crash: [RunRounds] skips its own rounds that run, and a
// mark of its own that no round here runs is of a round whose end
// couldn't be recorded, which the caller ends.
func interrupted(ctx context.Context, st Store, fs []Feed, now func() time.Time, before time.Time, owner string) ([]string, error) {
	var out []string
	var errs []error
	for _, f := range fs {
		started := f.RoundStarted
		at := now().UTC()
		if started.IsZero() || !started.Before(before) || at.Before(f.RoundExpires) {
			continue
		}
		if owner != "" && f.RoundOwner == owner {
			continue
		}
		reason := fmt.Sprintf("%s: the round started at %s never ended: the node was killed, crashed or ran out of memory during it, after the round had stored %d pages; it counts as a failed round, and the next goes on from the position of the last page stored",
			InterruptedPrefix, started.UTC().Format(time.RFC3339), f.Pages-f.RoundFrom)
		if f.RoundOwner != "" {
			reason += fmt.Sprintf(" (its process, %s, last renewed its lease until %s", f.RoundOwner, f.RoundExpires.UTC().Format(time.RFC3339))
			if f.RoundBytes > 0 {
				reason += fmt.Sprintf("; %d bytes had come from the server, the last at %s", f.RoundBytes, f.RoundActive.UTC().Format(time.RFC3339))
			}
			reason += ")"
		}
		ok, err := st.InterruptFeedRound(ctx, f.Name, started, at, reason)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, f.Name)
		}
	}
	return out, errors.Join(errs...)
}

// StalledAt says why the running round of f is stalled at now, "" when no
// round runs or it is not: its lease expired (its process stopped
// renewing it: the next look counts it as interrupted), or nothing has
// come from the server, and no page was stored, for [ActivityWindow]
// (RoundActive, or RoundStarted before the first byte). A round whose
// bytes keep coming, however slowly, is not stalled, however long it
// runs.
func StalledAt(f Feed, now time.Time) string {
	if f.RoundStarted.IsZero() {
		return ""
	}
	if !f.RoundExpires.IsZero() && !now.Before(f.RoundExpires) {
		return fmt.Sprintf("the round's lease expired at %s: its process (%s) stopped renewing it (killed, crashed or paused); the next process to look counts the round as interrupted",
			f.RoundExpires.UTC().Format(time.RFC3339), f.RoundOwner)
	}
	last := f.RoundStarted
	if f.RoundActive.After(last) {
		last = f.RoundActive
	}
	if f.LastPoll.After(last) {
		last = f.LastPoll
	}
	if now.Sub(last) >= ActivityWindow {
		return fmt.Sprintf("nothing has come from the server since %s, and no page was stored", last.UTC().Format(time.RFC3339))
	}
	return ""
}

// Due reports whether f should be polled at now: [NextRound] has come.
func Due(f Feed, now time.Time) bool {
	return !now.Before(NextRound(f))
}

// NextRound is the earliest time [Run] starts the next round of f (at its
// first tick from then on): zero (at once) when f never was polled or its
// last round was cut short without an error (the node stopped mid-round,
// or the round reached its bound of pages or time: a next cursor or a
// round's progress, ReadTo, is recorded); else its last poll plus its
// interval, or, after failed rounds in a row (Failures), plus [Backoff],
// so that a server that is down is not hammered; and never before the
// time the server asked for with Retry-After (NotBefore). All of it is
// in the store: a restarted node keeps it.
func NextRound(f Feed) time.Time {
	var next time.Time
	switch {
	case f.LastPoll.IsZero():
	case (f.Next != "" || !f.ReadTo.IsZero()) && f.LastError == "":
	default:
		interval := intervalOf(f)
		next = f.LastPoll.Add(max(interval, Backoff(f.Failures, interval)))
	}
	if f.NotBefore.After(next) {
		next = f.NotBefore
	}
	return next
}

// MaxBackoff is the longest [Run] waits between two rounds of a feed whose
// rounds keep failing, unless the feed's interval is longer ([Backoff]).
const MaxBackoff = time.Hour

// Backoff is how long after a failed round [Run] waits before the next
// round of a feed whose last failures rounds failed in a row: the
// feed's interval, doubled for each failure after the first, up to
// MaxBackoff (or the interval when it is longer); no wait for none. A
// server down for a day is so asked once an hour, not every interval.
func Backoff(failures int64, interval time.Duration) time.Duration {
	if failures <= 0 {
		return 0
	}
	limit := max(MaxBackoff, interval)
	d := interval
	for i := int64(1); i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// intervalOf is f's interval, DefaultInterval for none.
func intervalOf(f Feed) time.Duration {
	if f.Interval <= 0 {
		return DefaultInterval
	}
	return f.Interval
}

// Stopper is a [Sink] that says when a feed is followed no more: the
// node's says so for a feed whose member ("feed:NAME") was revoked or
// removed (parley member revoke, parley member remove), whose objects it
// would refuse anyway.
type Stopper interface {
	// Stopped returns why f is followed no more, or "" when it is.
	Stopped(ctx context.Context, f Feed) (string, error)
}

// Run polls every feed of st when it is due (its Interval after its last
// poll) until ctx is done; feeds added while it runs are picked up within
// tick. Errors of one feed are recorded in its status and do not stop the
// others. A server that answered with Retry-After (a 429 or a 503, say)
// isn't asked again before that time, even when the feed's interval is
// shorter. A feed whose rounds keep failing is backed off ([Backoff]:
// its n-th failed round in a row is followed by a wait of its interval
// times 2^(n-1), at most MaxBackoff), and a page stored resets it. Both
// are kept in the store with the feed's position ([NextRound]), so a
// restarted node keeps them (and in memory too, should the store fail to
// record them). A feed that sink, a [Stopper], says is stopped is not
// polled: the server isn't contacted, and the reason is recorded once as
// the feed's LastError (and logged once: when LastError wasn't the reason
// already, so not again after a restart). It returns ctx's error.
func Run(ctx context.Context, st Store, sink Sink, now func() time.Time, tick time.Duration, logf func(msg string, args ...any)) error {
	return RunRounds(ctx, st, sink, now, tick, Rounds{}, logf)
}

// RunRounds is [Run], its rounds held under r's leases ([PollRound]).
// Rounds of different feeds run side by side, and never two of one feed;
// at most r.Concurrency rounds started within the last maxRoundTime (a
// minute) run at once. A round that runs longer (a server that trickles
// a large page, which is let finish, see requestTimeout) goes on but
// gives its slot back, and a listing waits for the rounds it started for
// at most maxRoundTime: however many servers drip (one round each at
// most), a due feed's round starts within two maxRoundTime and a tick of
// the listing that finds it due. At
// each tick, before any round starts, the rounds whose lease has expired
// (their process killed, crashed or paused past it) count as failed
// ([Interrupted]); a feed whose round another process runs (a front end
// sharing the store) is left to it.
func RunRounds(ctx context.Context, st Store, sink Sink, now func() time.Time, tick time.Duration, r Rounds, logf func(msg string, args ...any)) error {
	r = r.withDefaults()
	t := time.NewTicker(tick)
	defer t.Stop()
	// The next round of each feed as the last round here returned it (a
	// failed round whose end the store couldn't record is still backed
	// off), and the feeds whose rounds run here now.
	running := &runningRounds{rounds: map[string]bool{}, ended: map[string]bool{}, after: map[string]time.Time{}}
	slots := make(chan struct{}, r.Concurrency)
	var rounds sync.WaitGroup
	defer rounds.Wait() // the rounds end with ctx, and record their end
	for {
		running.listing()
		fs, err := st.Feeds(ctx)
		if err != nil && ctx.Err() == nil {
			logf("couldn't list feeds", "err", err)
		}
		// A mark of this process's own is of a round whose end the
		// store couldn't record (down then): none runs now. It is ended
		// (or, failing that, taken back by the feed's next round,
		// below), not counted as a crash once its lease expires.
		for _, f := range fs {
			if !f.RoundStarted.IsZero() && f.RoundOwner == r.Owner && !running.has(f.Name) {
				endRound(ctx, st, f.Name, store.RoundLease{Owner: r.Owner, Started: f.RoundStarted})
			}
		}
		// Rounds that never ended and whose lease expired count as
		// failed before any round starts (and the feed waits for its
		// backoff, from the next listing on).
		if names, err := interrupted(ctx, st, fs, now, now(), r.Owner); err != nil && ctx.Err() == nil {
			logf("couldn't record the feeds' interrupted rounds", "err", err)
		} else {
			for _, name := range names {
				logf("feed round interrupted: the process running the feed's last round stopped during it (its lease expired); it counts as a failed round", "feed", name)
			}
		}
		// The rounds started at this listing run side by side, at most
		// r.Concurrency at once; the next listing waits for them, but
		// for no round longer than maxRoundTime: a round still running
		// then (a server that trickles a large page, which is let
		// finish) goes on by itself, in its slot, and the next listings
		// skip its feed while it runs, so that it holds none of the
		// others.
		batch := make(chan struct{}, len(fs))
		started := 0
		wait := time.NewTimer(maxRoundTime)
		expired := false
	dispatch:
		for _, f := range fs {
			if ctx.Err() != nil {
				break
			}
			if running.has(f.Name) {
				continue // its round runs here, started at an earlier listing
			}
			if !f.RoundStarted.IsZero() && f.RoundOwner != r.Owner {
				continue // another process runs its round, or ran it until its lease expires
			}
			// A mark of this process's own is of a round that ended
			// here without its end recorded (the store was down then):
			// it is taken back by the next round rather than left to
			// expire and be counted as a crash.
			if !Due(f, now()) || running.notBefore(f.Name).After(now()) {
				continue
			}
			if reason := stopped(ctx, sink, f, logf); reason != "" {
				if f.LastError != reason {
					logf("feed stopped", "feed", f.Name, "reason", reason)
					if err := recordStop(ctx, st, &f, now, reason, r); ctx.Err() == nil && err != nil {
						logf("couldn't record the feed's stop", "feed", f.Name, "err", err)
					}
				}
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				break dispatch
			case <-wait.C:
				expired = true
				break dispatch // the slots are held by long rounds: the rest at the next listing
			}
			running.start(f.Name)
			started++
			rounds.Add(1)
			// A round gives its slot back once it has run for
			// maxRoundTime, though it goes on (a page that keeps coming
			// is let finish): rounds that dripping servers keep running
			// then hold no slot, and the feeds behind them get one.
			release := sync.OnceFunc(func() { <-slots })
			overtime := time.AfterFunc(maxRoundTime, release)
			go func(f Feed) {
				defer func() {
					overtime.Stop()
					running.end(f.Name)
					release()
					rounds.Done()
					batch <- struct{}{}
				}()
				polled, err := PollRound(ctx, st, sink, f, now, nil, r)
				if errors.Is(err, ErrBusy) {
					return // another process claimed it since the list
				}
				// A feed stopped during its round (its member removed,
				// whose stop couldn't be recorded then, as the round
				// held the feed) has it recorded now, not at its next
				// round, backed off after this one's failure.
				// (A round that found the stop recorded under its claim,
				// by the member's revocation, records nothing more.)
				if ctx.Err() == nil {
					if reason := stopped(ctx, sink, f, logf); reason != "" {
						if polled.LastError != reason {
							logf("feed stopped", "feed", f.Name, "reason", reason)
							if err := recordStop(ctx, st, &polled, now, reason, r); ctx.Err() == nil && err != nil {
								logf("couldn't record the feed's stop", "feed", f.Name, "err", err)
							}
						}
						return
					}
				}
				if err != nil && ctx.Err() == nil {
					logf("feed poll failed", "feed", f.Name, "err", err)
					// At least the interval, also when the store couldn't
					// record the failure.
					next := NextRound(polled)
					if least := now().Add(intervalOf(f)); next.Before(least) {
						next = least
					}
					running.setNotBefore(f.Name, next)
				}
			}(f)
		}
	collect:
		for ; started > 0 && !expired; started-- {
			select {
			case <-batch:
			case <-wait.C:
				break collect
			case <-ctx.Done():
				break collect
			}
		}
		wait.Stop()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// runningRounds is what [RunRounds] keeps of its rounds, which run side
// by side.
type runningRounds struct {
	mu     sync.Mutex
	rounds map[string]bool      // running now
	ended  map[string]bool      // ended since the listing began
	after  map[string]time.Time // not before, after a failed round
}

// has reports whether a round of name runs here, or ended since the
// listing began: the listing may show it running, or its position as
// it was before it, and the feed waits for the next listing.
func (r *runningRounds) has(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rounds[name] || r.ended[name]
}

// listing is called before the feeds are listed.
func (r *runningRounds) listing() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.ended)
}

func (r *runningRounds) start(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rounds[name] = true
	delete(r.after, name)
}

func (r *runningRounds) end(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.rounds, name)
	r.ended[name] = true
}

func (r *runningRounds) notBefore(name string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.after[name]
}

func (r *runningRounds) setNotBefore(name string, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.after[name] = t
}

// RecordStop saves why f is stopped (reason) as its LastError, at once,
// as [RunRounds] does at the feed's next round: see recordStop. The node
// calls it when the feed's member is revoked or removed. A feed whose
// round runs now (under another claim) is left to that round's runner,
// which records the stop when the round ends.
func RecordStop(ctx context.Context, st Store, f Feed, now func() time.Time, reason string, r Rounds) error {
	return recordStop(ctx, st, &f, now, reason, r.withDefaults())
}

// recordStop saves why f is stopped as its LastError. It is no failed
// round: Failures stays as it is. It is written under a claim of the
// feed's round, as a round's end, to the position as stored then: f is
// RunRounds's listing, which another front end's round may have moved on
// since (the listing is as old as the rounds of the feeds before it), and
// an unfenced write of it would put that position back and clear the
// mark of a round that runs. A feed whose round another process holds
// is left to it (nil).
func recordStop(ctx context.Context, st Store, f *Feed, now func() time.Time, reason string, r Rounds) error {
	at := now().UTC()
	pos, ok, err := st.ClaimFeedRound(ctx, f.Name, store.RoundLease{Owner: r.Owner, Started: at, Expires: at.Add(r.Lease)})
	if err != nil || !ok {
		return err
	}
	f.FeedPosition = pos
	f.LastPoll, f.LastError = at, reason
	f.RoundStarted, f.RoundFrom = time.Time{}, 0
	return st.RecordPoll(ctx, f.Name, f.FeedPosition)
}

// stopped returns why sink says f is followed no more ("" when it
// doesn't, or when it couldn't tell: the round then goes on, and the
// node's sink refuses the objects of a revoked member anyway).
func stopped(ctx context.Context, sink Sink, f Feed, logf func(msg string, args ...any)) string {
	s, ok := sink.(Stopper)
	if !ok {
		return ""
	}
	reason, err := s.Stopped(ctx, f)
	if err != nil {
		if ctx.Err() == nil {
			logf("couldn't tell whether the feed is stopped", "feed", f.Name, "err", err)
		}
		return ""
	}
	return reason
}

// RetryAfter is how long the TAXII server whose answer failed a poll with
// err asked to be left alone (its Retry-After, see
// [taxii.ResponseError]), or 0.
func RetryAfter(err error) time.Duration {
	var re *taxii.ResponseError
	if errors.As(err, &re) {
		return re.RetryAfter
	}
	return 0
}

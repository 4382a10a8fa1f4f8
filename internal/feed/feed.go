// Package feed follows TAXII 2.1 collections of other servers (the MITRE
// ATT&CK TAXII server, a vendor, an OpenCTI feed, another Parley node) into
// local relay collections.
//
// A feed is polled incrementally: each round asks for objects added after
// the feed's high-water mark (the X-TAXII-Date-Added-Last of the last page
// seen) and follows the server's next cursors page by page. After each page
// is stored, the position (the round's added_after, the next cursor, the
// high-water mark) is saved, so a restarted node resumes where it stopped.
//
// # Never skipping, never duplicating
//
// The objects of a page and the position after it are written in two
// transactions (the node's submission pipeline, then [Store.RecordPoll]).
// A crash between them re-fetches that page after the restart, and the
// re-post is harmless: the store treats an identical object version as
// "already stored" (no second row, no second log entry), and the counts
// kept here count only versions stored for the first time. A server that
// omits X-TAXII-Date-Added-Last never moves the high-water mark: every
// round then re-reads the collection from the last mark, still without
// duplicates. A cursor the server no longer honours (it expired) is
// dropped and the round restarts from the high-water mark.
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
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
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

// PageSize is the limit asked of the remote server per page.
const PageSize = 500

// MaxPagesPerRound ends a round after this many pages (its position kept,
// so the next round goes on), so that one endless server cannot starve
// the node's other feeds.
const MaxPagesPerRound = 10000

// Feed is one followed remote collection and its position.
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
	// Auth is AuthNone, AuthBearer or AuthBasic. The secret (the token,
	// or the JSON of parley member add --json; the password) is read from
	// SecretFile at each round (never stored in the node's database), so
	// rotating it means rewriting the file.
	Auth       string `json:"auth,omitempty"`
	User       string `json:"user,omitempty"`
	SecretFile string `json:"secret_file,omitempty"`
	// Interval is the time between rounds.
	Interval time.Duration `json:"-"`
	Created  time.Time     `json:"created"`
	Position
}

// Position is where a feed stands and what it has done.
type Position struct {
	// AddedAfter is the added_after of the round in progress (or of the
	// next round when Next is empty); Next the server's cursor to go on
	// with, empty between rounds.
	AddedAfter time.Time `json:"added_after"`
	Next       string    `json:"next,omitempty"`
	// HighWater is the latest X-TAXII-Date-Added-Last seen; the next round
	// starts after it.
	HighWater time.Time `json:"high_water"`
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
}

// Store keeps feeds and their positions; the node's SQLite store
// implements it.
type Store interface {
	// AddFeed stores a new feed (store.ErrConflict when the name is taken).
	AddFeed(ctx context.Context, f Feed) error
	// Feeds returns every feed ordered by name.
	Feeds(ctx context.Context) ([]Feed, error)
	// RecordPoll replaces the position of feed name (store.ErrNotFound).
	RecordPoll(ctx context.Context, name string, p Position) error
}

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

// Client returns the TAXII client of f, reading its secret file.
func (f Feed) Client() (*taxii.Client, error) {
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("feed %s: the url %q is not an http(s) URL", f.Name, f.URL)
	}
	c := &taxii.Client{BaseURL: strings.TrimSuffix(f.URL, "/")}
	if u.Path != "" && u.Path != "/" {
		c.BaseURL = u.Scheme + "://" + u.Host
		c.Root = f.URL
		if !strings.HasSuffix(c.Root, "/") {
			c.Root += "/"
		}
	}
	if f.Auth != AuthNone {
		b, err := os.ReadFile(f.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("feed %s: couldn't read the secret file: %w", f.Name, err)
		}
		secret := strings.TrimSpace(string(b))
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
	client, err := f.Client()
	if err != nil {
		return f, record(ctx, st, &f, now, err)
	}
	restarted := false
	for pages := 1; ; pages++ {
		q := taxii.Query{AddedAfter: f.AddedAfter, Next: f.Next, Limit: PageSize}
		env, err := client.Objects(ctx, f.Collection, q)
		if err != nil && f.Next != "" && !restarted && expiredCursor(err) {
			// The server forgot the cursor: start the round again from
			// the high-water mark (re-posting is idempotent).
			f.Next, f.AddedAfter, restarted = "", f.HighWater, true
			continue
		}
		if err != nil {
			return f, record(ctx, st, &f, now, fmt.Errorf("couldn't fetch from %s: %w", f.URL, err))
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
				f.LastFailure = fmt.Sprintf("%s %s: %s", d.ID, d.Version, d.Message)
			}
		}
		f.Pages++
		if last := env.DateAdded.Last; last.After(f.HighWater) {
			f.HighWater = last
		}
		f.LastPoll, f.LastError = now().UTC(), ""
		more := env.More && len(env.Objects) > 0
		switch {
		case more && env.Next != "" && env.Next != f.Next:
			f.Next = env.Next
		case more && env.Next == "" && f.HighWater.After(f.AddedAfter):
			// A server that pages by added_after alone (more without
			// next): go on after the newest object seen.
			f.Next, f.AddedAfter = "", f.HighWater
		default:
			more = false
			f.Next, f.AddedAfter = "", f.HighWater
		}
		if err := st.RecordPoll(ctx, f.Name, f.Position); err != nil {
			return f, fmt.Errorf("couldn't record the position of feed %s: %w", f.Name, err)
		}
		if progress != nil {
			progress(f)
		}
		if !more || pages >= MaxPagesPerRound {
			return f, nil
		}
	}
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

// record saves err as f's LastError (best effort: the store may be what
// failed) and returns err.
func record(ctx context.Context, st Store, f *Feed, now func() time.Time, err error) error {
	f.LastPoll, f.LastError = now().UTC(), err.Error()
	if rerr := st.RecordPoll(ctx, f.Name, f.Position); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// Due reports whether f should be polled at now: it never was, its
// interval has passed since its last poll, or a round was cut short
// without an error (the node stopped mid-round). A round that failed waits
// for the interval, so a server that is down is not hammered.
func Due(f Feed, now time.Time) bool {
	interval := f.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	switch {
	case f.LastPoll.IsZero(), now.Sub(f.LastPoll) >= interval:
		return true
	}
	return f.Next != "" && f.LastError == ""
}

// Run polls every feed of st when it is due (its Interval after its last
// poll) until ctx is done; feeds added while it runs are picked up within
// tick. Errors of one feed are recorded in its status and do not stop the
// others. It returns ctx's error.
func Run(ctx context.Context, st Store, sink Sink, now func() time.Time, tick time.Duration, logf func(msg string, args ...any)) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		fs, err := st.Feeds(ctx)
		if err != nil && ctx.Err() == nil {
			logf("couldn't list feeds", "err", err)
		}
		for _, f := range fs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !Due(f, now()) {
				continue
			}
			if _, err := Poll(ctx, st, sink, f, now, nil); err != nil && ctx.Err() == nil {
				logf("feed poll failed", "feed", f.Name, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

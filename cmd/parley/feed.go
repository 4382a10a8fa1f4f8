package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	register(command{
		name:  "feed",
		usage: "feed add --data DIR --url URL --collection REMOTE --into LOCAL [--token-file F | --user U --password-file F]   follow a TAXII 2.1 collection (also: feed status, feed poll)",
		help:  "The operator's node follows external TAXII 2.1 collections (ATT&CK, vendors, OpenCTI) into local relay collections; parley serve polls them.",
		subcommands: []subcommand{
			{name: "add", usage: "feed add --data DIR --url URL --collection REMOTE --into LOCAL [--token-file F | --user U --password-file F] [--name N] [--read M,...] [--every 5m] [--ca FILE]", help: "Records a feed; creates LOCAL (a relay collection accepting unsigned objects, written by the feed's own member feed:NAME) when missing."},
			{name: "status", usage: "feed status --data DIR", help: "Prints each feed's position, last poll, last error, counts, failed rounds in a row and the next round of a failing feed (failed_rounds, next_round), and the round in progress (round, round_started, round_from, round_owner, round_expires, round_bytes, round_active) and whether it is stalled as JSON."},
			{name: "poll", usage: "feed poll --data DIR [--name N]", help: "Polls now, once, with progress on a terminal, whatever the feeds' backoff. A stopped feed (its member revoked or removed) is skipped with a line saying why; exit status 1 when it is the feed --name names, 4 when a poll failed. Each round is recorded as parley serve's are (feed status: running, its lease and bytes; interrupted if this process is killed); a feed whose round another process (parley serve) runs now is not polled, and counts as failed here."},
		},
		run: runFeed,
	})
}

const feedUsage = "parley feed add|status|poll --data DIR ..."

func runFeed(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "add":
			return runFeedAdd(ctx, c, args[1:])
		case "status":
			return runFeedStatus(ctx, c, args[1:])
		case "poll":
			return runFeedPoll(ctx, c, args[1:])
		}
	}
	return usageErrorf(feedUsage, "feed needs a subcommand: add, status or poll")
}

func runFeedAdd(ctx context.Context, c *cli, args []string) error {
	const usage = "parley feed add --data DIR --url URL --collection REMOTE --into LOCAL [--token-file F | --user U --password-file F]"
	fs := c.newFlagSet("feed add")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	url := fs.String("url", "", "the TAXII server: its base `URL` (discovery at URL/taxii2/, API root /api/) or an API root's URL such as https://attack-taxii.mitre.org/api/v21/")
	remote := fs.String("collection", "", "the remote collection `ID`")
	into := fs.String("into", "", "the local collection's `TITLE` (or id); created as a relay collection of unsigned objects when missing")
	tokenFile := fs.String("token-file", "", "a `FILE` holding the bearer token for the server (read at each poll)")
	user := fs.String("user", "", "the `USER` for HTTP Basic authentication")
	passwordFile := fs.String("password-file", "", "a `FILE` holding the password for --user (read at each poll)")
	name := fs.String("name", "", "the feed's `NAME` (default: --into, each run of characters other than letters, digits, '-', '_' and '.' as one '-'); its member is feed:NAME")
	read := fs.String("read", "", "`MEMBERS` (names or identity ids, comma-separated) who may read a collection feed add creates")
	every := fs.Duration("every", feed.DefaultInterval, "the `INTERVAL` between polls")
	reread := fs.Duration("reread", feed.DefaultReread, "read the whole remote collection every `DURATION`, not only what the server added after the last poll (a server may give a new version the date_added of the first, as ATT&CK Workbench's does); 0: never")
	overlap := fs.Duration("overlap", feed.DefaultOverlap, "ask each round for what the server added from `DURATION` before the newest date_added read (a server's date_added may not grow with what it adds: several writers, clock skew, back-dated objects); what comes again is already stored; 0: none")
	// The node polls, not this command: its own --ca is recorded with the
	// feed (and read at each poll), not used for a client here.
	ca := fs.String("ca", "", "trust only the PEM CA certificates in `FILE` for an https:// --url, instead of the system's roots (a private CA); read at each poll")
	asJSON := fs.Bool("json", false, "print the feed as JSON")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *url == "" || *remote == "" || *into == "" || fs.NArg() > 0 {
		return usageErrorf(usage, "feed add needs --url, --collection and --into, and no arguments")
	}
	spec := node.FeedSpec{Name: *name, URL: *url, Collection: *remote, Into: *into, Readers: split(*read), Interval: *every, Reread: *reread}
	if *reread == 0 {
		spec.Reread = -1 // never; the store's 0 is the default
	}
	spec.Overlap = *overlap
	if *overlap == 0 {
		spec.Overlap = -1 // none; the store's 0 is the default
	}
	if spec.Name == "" {
		spec.Name = nameFromTitle(*into)
	}
	secretFlag := "--token-file"
	switch {
	case *tokenFile != "" && (*user != "" || *passwordFile != ""):
		return usageErrorf(usage, "give --token-file or --user with --password-file, not both")
	case *tokenFile != "":
		spec.Auth, spec.SecretFile = feed.AuthBearer, *tokenFile
	case *user != "" && *passwordFile != "":
		spec.Auth, spec.User, spec.SecretFile = feed.AuthBasic, *user, *passwordFile
		secretFlag = "--password-file"
	case *user != "" || *passwordFile != "":
		return usageErrorf(usage, "--user and --password-file go together")
	}
	if *every <= 0 {
		return usageErrorf(usage, "--every must be positive")
	}
	if *reread < 0 {
		return usageErrorf(usage, "--reread must be positive, or 0 for never")
	}
	if *overlap < 0 {
		return usageErrorf(usage, "--overlap must be positive, or 0 for none")
	}
	if spec.SecretFile != "" {
		// The node polls from its own working directory.
		abs, err := filepath.Abs(spec.SecretFile)
		if err != nil {
			return usageErrorf("", "couldn't resolve %s: %v", spec.SecretFile, err)
		}
		spec.SecretFile = abs
		warnReadable(c.stderr, spec.SecretFile, "the secret file")
		warnClearText(c.stderr, spec.URL, "the feed's token or password")
	}
	if *ca != "" {
		abs, err := filepath.Abs(*ca)
		if err != nil {
			return usageErrorf("", "couldn't resolve %s: %v", *ca, err)
		}
		if _, err := clientWithCA(abs); err != nil {
			return err
		}
		spec.CAFile = abs
	}
	if err := feed.CheckName(spec.Name); err != nil {
		return usageErrorf("give --name NAME", "%v", err)
	}
	// What the node reads at each poll is read once here, before anything
	// is recorded, so that a secret file that isn't there is named with
	// its flag (the node's own check adds only "invalid argument").
	// A URL that fails alone is left to the node's check, which names
	// it without blaming the secret file.
	if _, urlErr := feed.Client(feed.Feed{Name: spec.Name, URL: spec.URL}); spec.SecretFile != "" && urlErr == nil {
		if _, err := feed.Client(feed.Feed{Name: spec.Name, URL: spec.URL, Auth: spec.Auth, User: spec.User, SecretFile: spec.SecretFile}); err != nil {
			return usageErrorf("check "+secretFlag+": it names the file that holds the server's token or password, which the node reads again at each poll", "%v", err)
		}
	}
	n, err := openNode(ctx, *dir)
	if err != nil {
		return err
	}
	defer n.Close()
	f, err := n.AddFeed(ctx, spec)
	switch {
	case errors.Is(err, node.ErrSystemMember):
		return usageErrorf(systemMemberHint, "%v", err)
	case errors.Is(err, store.ErrNotFound):
		return usageErrorf("add the reader first with parley member add", "%v", err)
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrConflict):
		return usageErrorf("", "%v", err)
	case err != nil:
		return withExit(3, "", err)
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(f)
	}
	fmt.Fprintf(c.stdout, "feed %s: collection %s at %s into collection %s as member %s, every %s\n", f.Name, f.Collection, f.URL, f.Into, feed.MemberName(f.Name), *every)
	return nil
}

// openFeeds opens the node in dir and reads its feeds; the caller closes
// the node.
func openFeeds(ctx context.Context, dir string) (*node.Node, feed.Store, []feed.Feed, error) {
	n, err := openNode(ctx, dir)
	if err != nil {
		return nil, nil, nil, err
	}
	st := n.FeedStore()
	feeds, err := st.Feeds(ctx)
	if err != nil {
		n.Close()
		return nil, nil, nil, withExit(3, "", err)
	}
	return n, st, feeds, nil
}

func runFeedStatus(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("feed status")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("parley feed status --data DIR", "feed status takes no arguments")
	}
	n, _, feeds, err := openFeeds(ctx, *dir)
	if err != nil {
		return err
	}
	defer n.Close()
	out := []feedStatus{}
	for _, f := range feeds {
		s := statusAt(f, n.Now())
		if s.ConflictsWith, err = n.FeedConflict(ctx, f); err != nil {
			return withExit(3, "", err)
		}
		if s.Stopped, err = n.FeedStopped(ctx, f); err != nil {
			return withExit(3, "", err)
		}
		if s.Stopped != "" {
			s.NextRound = nil // polled no more
		}
		out = append(out, s)
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"feeds": out})
}

// feedStatus is one feed as feed status prints it: zero times are left
// out rather than printed as year 1.
type feedStatus struct {
	Name       string `json:"name"`
	URL        string `json:"url"`
	Collection string `json:"collection"`
	Into       string `json:"into"`
	Member     string `json:"member"`
	Auth       string `json:"auth,omitempty"`
	Interval   string `json:"interval"`
	// Reread is how often a round reads the whole remote collection
	// ("never" when it doesn't); FullRead when the last such round began.
	Reread   string  `json:"reread"`
	FullRead *string `json:"full_read,omitempty"`
	// Overlap is how far before the high-water mark a round that isn't
	// a full read asks ("none" when only one unit of the mark's
	// precision).
	Overlap string `json:"overlap"`
	// ReadTo is how far the round in progress has read (the newest
	// date_added), left out between rounds: during a full read, its
	// progress towards HighWater.
	ReadTo     *string `json:"read_to,omitempty"`
	AddedAfter *string `json:"added_after,omitempty"`
	Next       string  `json:"next,omitempty"`
	HighWater  *string `json:"high_water,omitempty"`
	LastPoll   *string `json:"last_poll,omitempty"`
	LastError  string  `json:"last_error,omitempty"`
	Added      int64   `json:"added"`
	Existing   int64   `json:"existing"`
	Failed     int64   `json:"failed"`
	Pages      int64   `json:"pages"`
	// LastFailure is the last object the node refused, and why.
	LastFailure string `json:"last_failure,omitempty"`
	// ConflictsWith says that a peer follows the same remote collection,
	// so that each object of the feed is refused as a version conflict
	// (node.FeedConflict).
	ConflictsWith string `json:"conflicts_with,omitempty"`
	// Stopped says why the node polls the feed no more: its member was
	// revoked or removed (node.FeedStopped).
	Stopped string `json:"stopped,omitempty"`
	// FailedRounds is the number of rounds in a row that failed; the
	// node backs off by it (feed.Backoff), also after a restart.
	// NextRound, for a feed that isn't stopped whose last round failed,
	// is the earliest time the node polls it again (feed.NextRound: the
	// backoff, or the server's Retry-After); left out when rounds come
	// every interval. As peer status's fields of the same names.
	FailedRounds int64   `json:"failed_rounds"`
	NextRound    *string `json:"next_round,omitempty"`
	// Round is "running" while a round of the feed runs (as the node
	// records it in the store), "idle" otherwise; RoundStarted is when
	// the running round started, and RoundFrom the pages stored before
	// it (pages - round_from pages were stored by it so far). A node
	// killed during a round leaves "running" until it starts again, and
	// then counts that round as failed (Interrupted, below).
	Round        string  `json:"round"`
	RoundStarted *string `json:"round_started,omitempty"`
	RoundFrom    *int64  `json:"round_from,omitempty"`
	// RoundOwner, for a running round, names the process that runs it
	// (host/pid/random: which front end, or a parley feed poll), and
	// RoundExpires is when its lease ends unless that process renews it,
	// which it does every few seconds while it runs (round_lease_ttl,
	// default 30 s): a round whose lease expired is counted as
	// interrupted by the next process to look. RoundBytes is what the
	// round has received from the server so far and RoundActive when
	// the last of it came, as the heartbeat records them; absent before
	// the first. As peer status's fields of the same names.
	RoundOwner   string  `json:"round_owner,omitempty"`
	RoundExpires *string `json:"round_expires,omitempty"`
	RoundBytes   *int64  `json:"round_bytes,omitempty"`
	RoundActive  *string `json:"round_active,omitempty"`
	// Stalled, for a running round, says why it doesn't progress: its
	// lease expired (its process was killed or paused), or nothing has
	// come from the server, and no page was stored, for a minute
	// (feed.StalledAt). Empty while bytes keep coming, however slowly.
	Stalled string `json:"stalled,omitempty"`
	// Interrupted is true when the last round failed because the node
	// stopped during it (killed, crashed, out of memory: last_error
	// begins with feed.InterruptedPrefix); the node counted it, when it
	// started again, as a failed round (feed.Interrupted).
	Interrupted bool `json:"interrupted,omitempty"`
}

func statusOf(f feed.Feed) feedStatus {
	ts := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := store.FormatTime(t)
		return &s
	}
	interval := f.Interval
	if interval <= 0 {
		interval = feed.DefaultInterval
	}
	reread := "never"
	switch {
	case f.Reread == 0:
		reread = feed.DefaultReread.String()
	case f.Reread > 0:
		reread = f.Reread.String()
	}
	overlap := "none"
	switch {
	case f.Overlap == 0:
		overlap = feed.DefaultOverlap.String()
	case f.Overlap > 0:
		overlap = f.Overlap.String()
	}
	s := feedStatus{
		Name: f.Name, URL: f.URL, Collection: f.Collection, Into: f.Into, Member: f.Member, Auth: f.Auth,
		Interval: interval.String(), Reread: reread, Overlap: overlap, FullRead: ts(f.FullRead), ReadTo: ts(f.ReadTo), AddedAfter: ts(f.AddedAfter), Next: f.Next, HighWater: ts(f.HighWater),
		LastPoll: ts(f.LastPoll), LastError: f.LastError,
		Added: f.Added, Existing: f.Existing, Failed: f.Failed, Pages: f.Pages, LastFailure: f.LastFailure,
		FailedRounds: f.Failures, Round: "idle",
		Interrupted: strings.HasPrefix(f.LastError, feed.InterruptedPrefix),
	}
	if f.Failures > 0 || !f.NotBefore.IsZero() {
		s.NextRound = ts(feed.NextRound(f))
	}
	if !f.RoundStarted.IsZero() {
		from := f.RoundFrom
		s.Round, s.RoundStarted, s.RoundFrom = "running", ts(f.RoundStarted), &from
		s.RoundOwner, s.RoundExpires = f.RoundOwner, ts(f.RoundExpires)
		if !f.RoundActive.IsZero() {
			n := f.RoundBytes
			s.RoundBytes, s.RoundActive = &n, ts(f.RoundActive)
		}
	}
	return s
}

// statusAt is statusOf with Stalled set at now.
func statusAt(f feed.Feed, now time.Time) feedStatus {
	s := statusOf(f)
	s.Stalled = feed.StalledAt(f, now)
	return s
}

func runFeedPoll(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("feed poll")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	name := fs.String("name", "", "poll only the feed `NAME`")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("parley feed poll --data DIR [--name N]", "feed poll takes no arguments")
	}
	n, st, feeds, err := openFeeds(ctx, *dir)
	if err != nil {
		return err
	}
	defer n.Close()
	var progress feed.Progress
	if logIsTerminal(c.stderr) {
		progress = func(f feed.Feed) {
			fmt.Fprintf(c.stderr, "\rfeed %s: %d pages, %d added, %d already stored, %d failed", f.Name, f.Pages, f.Added, f.Existing, f.Failed)
		}
	}
	polled, failed, stopped := 0, 0, ""
	for _, f := range feeds {
		if *name != "" && f.Name != *name {
			continue
		}
		polled++
		// A feed whose member was revoked or removed isn't contacted:
		// nothing it serves would be stored. It was stopped on purpose,
		// as parley serve skips it: no failure of this poll, unless it
		// is the feed --name asked for (below).
		reason, err := n.FeedStopped(ctx, f)
		if err != nil || reason != "" {
			fmt.Fprintf(c.stdout, "feed %s: not polled: %s\n", f.Name, cmp.Or(reason, fmt.Sprint(err)))
			if err != nil {
				failed++
			} else {
				stopped = reason
			}
			continue
		}
		before := f.FeedPosition
		f, err := feed.PollRound(ctx, st, n.FeedSink(), f, n.Now, progress, n.FeedRounds())
		if progress != nil {
			fmt.Fprintln(c.stderr)
		}
		if err != nil {
			failed++
			fmt.Fprintf(c.stdout, "feed %s: failed: %v\n", f.Name, err)
			continue
		}
		fmt.Fprintf(c.stdout, "feed %s: %d added, %d already stored, %d failed in %d pages\n", f.Name,
			f.Added-before.Added, f.Existing-before.Existing, f.Failed-before.Failed, f.Pages-before.Pages)
	}
	switch {
	case polled == 0 && *name != "":
		return usageErrorf("list them with parley feed status", "no feed named %q", *name)
	case *name != "" && stopped != "":
		// The one feed asked for can't be polled: a negative answer.
		return withExit(1, "a stopped feed is polled no more; parley feed status shows it as stopped", fmt.Errorf("feed %s is not polled: %s", *name, stopped))
	case failed > 0:
		return withExit(4, "see last_error in parley feed status", fmt.Errorf("%d of %d feeds failed", failed, polled))
	}
	return nil
}

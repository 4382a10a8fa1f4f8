package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parley-exchange/parley/internal/match"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/pdq"
	"github.com/parley-exchange/parley/taxii"
)

func init() {
	register(command{
		name:  "match",
		usage: "match (--url U --token-file F --collection C | --indicators FILE) [--format zeek|eve|ecs|stix] [--follow] [FILE... | --nats URL --stream S --consumer NAME]   match sensor logs (or images, --images) against indicators: a STIX sighting per indicator that fired",
		run:   runMatch,
	})
}

// pushPatience is how long a run over files keeps trying a push while the
// node is unavailable; a fleet member (--nats) and a follower (--follow)
// keep trying until they are stopped.
const pushPatience = time.Minute

// logRecheckTimeout bounds the check of the node's log that a fleet
// member (--nats) or a follower (--follow) makes before each push: one
// read of the latest checkpoint and, when the log grew, of a consistency
// proof.
const logRecheckTimeout = 30 * time.Second

// runMatch streams logs against indicators and prints sightings. With
// --nats it is one member of a matcher fleet sharing a durable JetStream
// consumer (see match.JetStreamSource): it runs until interrupted, and
// acknowledges each message only once the sightings counting it are
// printed (and pushed, with --push).
//
// Exit status: 0 when the input was read (whether or not anything
// matched), 2 for bad usage or unreadable indicators, 3 when reading the
// input failed, 4 when the node refused a poll or a push (or, over files,
// stayed unavailable for pushPatience).
func runMatch(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("match")
	indicators := fs.String("indicators", "", "STIX bundle `FILE` of indicators")
	url := fs.String("url", "", "node `URL` to poll indicators from over TAXII")
	token := fs.String("token", "", "API `TOKEN` for --url (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	collection := fs.String("collection", "", "TAXII collection `ID` of the indicators")
	format := fs.String("format", "auto", "input format: zeek, eve, ecs, stix or auto (per line)")
	follow := fs.Bool("follow", false, "keep reading FILE as it grows (survives rotation)")
	flush := fs.Duration("flush", time.Minute, "emit sightings every `DURATION` when following a file (--follow) or a stream (--nats, where the default is 1s)")
	pollEvery := fs.Duration("poll", time.Minute, "with --url, poll for indicator changes every `DURATION`")
	window := fs.Duration("window", 10*time.Minute, "how far back in event time patterns of several observations look (`DURATION`; WITHIN widens it)")
	as := fs.String("as", "", "STIX identity `ID` of the sighting member (where_sighted_refs; default: the id in --token-file, or with --push the member whose registered key is --key)")
	observed := fs.Bool("observed-data", false, "include observed-data for matching events")
	push := fs.Bool("push", false, "sign the sightings with --key and post them to --url's --collection, trying again while the node is unavailable (see the README)")
	keyFile := fs.String("key", "", "your private key `FILE`, for --push")
	images := fs.Bool("images", false, "the FILEs are images (or folders of them): match their PDQ hashes against the pdq indicators")
	radius := fs.Int("radius", 31, "with --images, the largest Hamming `DISTANCE` that matches")
	dihedral := fs.Bool("dihedral", false, "with --images, also match the 8 rotations and mirror images of each image (as parley hash --dihedral hashes them)")
	allowUnsigned := fs.Bool("allow-unsigned", false, "with --url, also match unsigned indicators (from collections that accept them)")
	trust := addTrustFlags(fs)
	lcFlags := addLogCheckFlags(fs)
	// --push checks the node's checkpoint against the same witness
	// policy as the indicators read from it.
	trust.policy = lcFlags.policy
	natsURL := fs.String("nats", "", "consume events from the NATS JetStream server at `URL` (with --stream and --consumer)")
	streamName := fs.String("stream", "", "with --nats, the JetStream `STREAM` of sensor events, one event a message, or several separated by newlines")
	subject := new(string)
	fs.Var(onceString{subject, "--subject takes one filter (wildcards such as sensor.> cover several subjects)"}, "subject", "with --nats, only the stream's messages on `SUBJECT` (one filter, such as sensor.zeek.>)")
	consumer := fs.String("consumer", "", "with --nats, the durable consumer `NAME` that the matchers of a fleet share")
	batch := fs.Int("batch", 500, "with --nats, how many messages to pull at a time (`N`)")
	maxPending := fs.Int("max-pending", 10000, "with --nats, emit and acknowledge at the latest once `N` messages are held, or N events (a batch counts its events)")
	ackWait := fs.Duration("ack-wait", 0, "with --nats, redeliver to the fleet a message not acknowledged within `DURATION` (default: 30s, and at least 3 times --flush)")
	deadLetter := fs.String("dead-letter", "", "with --nats and --push, also append the objects the node refuses for what they are (not stored, their messages acknowledged) to `FILE`, one JSON object a line, synced before the acknowledgement")
	// Flags may follow the files too (parley match --indicators x.json
	// conn.log --as ID), as users type them; after "--" all are files.
	files, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	flushSet := false
	fs.Visit(func(f *flag.Flag) { flushSet = flushSet || f.Name == "flush" })
	if err := readToken(c.stderr, token, *tokenFile); err != nil {
		return err
	}
	if *as == "" && *tokenFile != "" {
		// member add --json output names the member's identity too.
		*as = identityFromTokenFile(*tokenFile)
	}
	f, err := match.ParseFormat(*format)
	if err != nil {
		return usageErrorf("", "%v", err)
	}
	if *follow && len(files) != 1 {
		return usageErrorf("give the one log file to follow", "--follow needs exactly one FILE")
	}
	if *indicators == "" && *url == "" {
		return usageErrorf("give --indicators FILE, or --url, --token and --collection", "need one source of indicators")
	}
	if *natsURL != "" {
		switch {
		case *streamName == "" || *consumer == "":
			return usageErrorf("parley match --nats URL --stream S --consumer NAME (--indicators FILE | --url ...)", "--nats needs --stream and --consumer")
		case len(files) > 0 || *follow || *images:
			return usageErrorf("", "--nats reads its events from JetStream: no FILE, --follow or --images")
		case *batch <= 0 || *maxPending <= 0:
			return usageErrorf("", "--batch and --max-pending must be positive")
		}
		if !flushSet {
			*flush = time.Second
		}
		if *ackWait == 0 {
			*ackWait = max(30*time.Second, 3**flush)
		}
		if *ackWait < 2**flush {
			return usageErrorf("a message waits up to --flush for its acknowledgement", "--ack-wait must be at least twice --flush")
		}
	} else if *streamName != "" || *consumer != "" || *subject != "" {
		return usageErrorf("", "--stream, --subject and --consumer go with --nats")
	}
	if *deadLetter != "" && (*natsURL == "" || !*push) {
		return usageErrorf("", "--dead-letter goes with --nats and --push")
	}
	var pushObjects func([]map[string]any) error
	// pushed counts the objects the node took (--push), for the summary:
	// without it a run that pushed said no more than one that only
	// printed.
	var pushed atomic.Int64
	fleetRefused := &refusals{}
	if *deadLetter != "" {
		f, err := os.OpenFile(*deadLetter, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return withExit(2, "give a --dead-letter FILE you may write", fmt.Errorf("couldn't open --dead-letter: %w", err))
		}
		defer f.Close()
		fleetRefused.file = f
	}
	// probe, pushing as a fleet member: see match.Probe; probeKey names
	// it in the fleet's key-value bucket (see runFleetMember).
	var probe *match.Probe
	var probeKey string
	// stopFollow ends a --follow run whose check of the node's log
	// failed before a push: the follower would otherwise go on reading,
	// pushing nothing, until it is interrupted.
	followCtx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	if *push {
		if *url == "" || *collection == "" || *keyFile == "" {
			return usageErrorf("sightings are posted to --url's --collection, signed with --key", "--push needs --url, --collection and --key")
		}
		key, err := readPrivateKey(c.stderr, *keyFile)
		if err != nil {
			return err
		}
		// A node whose log isn't the pinned one (made again at the
		// same URL, or another server at that address), or whose
		// checkpoint lacks the witness policy's quorum, gets no
		// sighting.
		checkAgain, err := trust.sendTarget(ctx, c, *url, *token)
		if err != nil {
			return err
		}
		// A run that goes on (a fleet member, --follow) checks the
		// node's log again before each push (logRecheck): a node
		// replaced, forked or rolled back while it runs gets no more
		// sightings, and the run stops; a fleet member leaves the
		// messages of that flush unacknowledged, for JetStream to
		// deliver again (to a member that trusts its node).
		// Every run checks again before a try that follows a wait for
		// a node that was unavailable: it may have come back as
		// another node; a fleet member also within a try, once its
		// waits for a busy node (a Retry-After of up to 5 minutes)
		// add up to 30 s (match.PushRetryingSeparatingProbedChecked).
		recheck := func(ctx context.Context) error {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logRecheckTimeout)
			defer cancel()
			return checkAgain(rctx)
		}
		longRun := *natsURL != "" || *follow
		if *as == "" {
			// The sightings' creator must be the member whose key signs
			// them; the log shows which member holds this key.
			if *as, err = identityOfKey(ctx, c.httpClient(), c.stderr, *url, *token, key.Public().(ed25519.PublicKey)); err != nil {
				return err
			}
		}
		client := &taxii.Client{BaseURL: *url, Token: *token, HTTP: c.httpClient()}
		collID, err := resolveCollection(ctx, client, *collection)
		if err != nil {
			return err
		}
		probe = &match.Probe{}
		probeKey = match.ProbeKey(*url, collID, key.Public().(ed25519.PublicKey))
		pushObjects = func(objs []map[string]any) error {
			if longRun {
				if err := recheck(ctx); err != nil {
					stopFollow()
					return err
				}
			}
			// While the node is unavailable (restarting, overloaded, a
			// front end taking over), the push is tried again: a fleet
			// member or a follower, until it is stopped (a fleet member
			// holds its messages meanwhile); a run over files, for
			// pushPatience. A try still gets its time to deliver after an
			// interrupt cancelled ctx (the last flush runs then), but no
			// try follows it.
			stop, cancel := ctx, context.CancelFunc(func() {})
			if *natsURL == "" && !*follow {
				stop, cancel = context.WithTimeout(ctx, pushPatience)
			}
			defer cancel()
			waiting := func(err error, wait time.Duration) {
				fmt.Fprintf(c.stderr, "parley: warning: the node can't take the sightings now (%s); trying again in %v\n", oneLine(err.Error()), wait)
			}
			if *natsURL == "" {
				err := match.PushRetryingChecked(context.WithoutCancel(ctx), stop, 2*time.Minute, client, collID, key, objs, waiting, recheck)
				if err == nil {
					pushed.Add(int64(len(objs)))
				}
				var ee *exitError
				if errors.As(err, &ee) {
					// The node's log failed the check before a retry.
					stopFollow()
				}
				return err
			}
			// A fleet member: an object the node refuses for what it is
			// would be refused again at every redelivery, by every
			// member, and stop the fleet one member after another. It is
			// printed (stdout, before the push) and, with --dead-letter,
			// written to its file; the messages are then acknowledged.
			// Its try has fleetTryTimeout: every request of it is bounded
			// (a node that hangs on an object fails it, see
			// match.PushSeparating), and setting apart an object the
			// node hangs on takes rounds of such requests, which a
			// shorter try would cut, to start them again for ever.
			// probe keeps an object the node took from this member,
			// so that a flush of nothing but objects the node fails on
			// is judged too, not waited on as a node that is down.
			refused, err := match.PushRetryingSeparatingProbedChecked(context.WithoutCancel(ctx), stop, fleetTryTimeout, client, collID, key, objs, waiting, probe, recheck)
			if err == nil {
				pushed.Add(int64(len(objs) - len(refused)))
			}
			if err != nil || len(refused) == 0 {
				return err
			}
			return fleetRefused.report(c.stderr, refused, len(objs))
		}
	}
	lc, err := lcFlags.logCheck()
	if err != nil {
		return err
	}
	set, poller, err := indicatorSource(ctx, c, *indicators, *url, *token, *collection, trust, lc, *allowUnsigned)
	if err != nil {
		return err
	}
	origin := ""
	if *natsURL != "" {
		origin = *streamName
	}
	m := match.NewMatcher(nil, match.Config{Format: f, Identity: *as, ObservedData: *observed, Origin: origin})
	s := &match.Stream{
		Matcher:    m,
		Set:        set,
		Poller:     poller,
		PollEvery:  *pollEvery,
		FlushEvery: *flush,
		Options:    match.Options{Window: *window},
		Warn:       c.warnErr,
		Emit: func(objs []map[string]any) error {
			if err := match.WriteObjects(c.stdout, objs); err != nil {
				return err
			}
			if pushObjects != nil && len(objs) > 0 {
				return pushObjects(objs)
			}
			return nil
		},
	}
	if err := s.Init(ctx); err != nil {
		return withExit(4, "check --url, "+tokenFlag+" and --collection", err)
	}
	start := time.Now()
	loaded := func() string {
		n := fmt.Sprintf("%d indicators", s.Engine().Len())
		// Indicators of other pattern types (MISP and OpenCTI share
		// sigma, yara, snort, suricata rules as indicators) are counted,
		// not dropped without a word.
		if other := s.OtherPatternTypes(); len(other) > 0 {
			n += " " + otherPatternTypes(other)
		}
		return n
	}
	summary := func() {
		st := m.Stats()
		secs := time.Since(start).Seconds()
		rate := 0.0
		if secs > 0 {
			rate = float64(st.Events) / secs
		}
		errs := ""
		if st.Errors > 0 {
			errs = fmt.Sprintf(", %d evaluation errors (counted as no match)", st.Errors)
		}
		if st.Unshareable > 0 {
			errs += fmt.Sprintf(", %d observed-data left out (not STIX a node takes)", st.Unshareable)
		}
		if st.Incomplete > 0 {
			errs += fmt.Sprintf(", %d observables left out of observed-data (the log does not say what STIX requires)", st.Incomplete)
		}
		if *push {
			errs += fmt.Sprintf(", %d objects pushed to the collection", pushed.Load())
		}
		if n := fleetRefused.n.Load(); n > 0 {
			errs += fmt.Sprintf(", %d objects refused by the node (printed, not stored)", n)
		}
		fmt.Fprintf(c.stderr, "parley: match: %d events, %d matched, %d malformed, %d sightings, %s, %.0f events/s%s\n",
			st.Events, st.Matched, st.Malformed, st.Sightings, loaded(), rate, errs)
		for _, ind := range m.TooComplex() {
			fmt.Fprintf(c.stderr, "parley: match: %s: too complex to evaluate on these events (a pattern built to make the search explode?); it no longer matches\n", untrusted.Text(ind.ID, 120))
		}
	}
	finish := func(err error) error {
		if ferr := s.Finish(); err == nil {
			err = ferr
		}
		summary()
		var ee *exitError
		switch {
		case err == nil:
			return wrongFormat(f, m.Stats())
		case errors.As(err, &ee):
			// The node's log failed the check before a push
			// (logCheckError), which says how.
			return err
		case errors.Is(err, match.ErrPush):
			return withExit(4, "check --url, "+tokenFlag+", --collection and that --as is the key's member", err)
		}
		return withExit(3, "", err)
	}
	if *follow {
		return finish(s.Follow(followCtx, files[0], 0))
	}
	if *natsURL != "" {
		err := runFleetMember(ctx, c, s, fleetOptions{
			url: *natsURL, stream: *streamName, subject: *subject, consumer: *consumer,
			batch: *batch, maxPending: *maxPending, flush: *flush, ackWait: *ackWait,
			probe: probe, probeKey: probeKey,
		})
		if ferr := s.Finish(); err == nil {
			err = ferr
		}
		summary()
		var ee *exitError
		switch {
		case err == nil:
			// Events that another format's content shows were read as
			// --format and acknowledged; they were reported as they
			// came, and the status says so, as over files.
			return wrongFormat(f, m.Stats())
		case errors.As(err, &ee):
			return err
		case errors.Is(err, match.ErrPush):
			return withExit(4, "check --url, "+tokenFlag+", --collection and that --as is the key's member", err)
		}
		return withExit(3, "check --nats, --stream and --consumer", err)
	}
	if *dihedral && !*images {
		return usageErrorf("", "--dihedral needs --images")
	}
	if *images {
		if len(files) == 0 {
			return usageErrorf("", "--images needs at least one image FILE or folder")
		}
		paths, failed := c.collectImages(files)
		active, _ := set.Active(time.Now())
		hashes := 0
		loaded = func() string { return fmt.Sprintf("%d PDQ hashes", hashes) }
		r, err := matchImages(ctx, c, active, paths, *radius, *dihedral, m, &hashes)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "parley: match: %d images, %d matched, %d unreadable, %d below quality %d\n",
			len(paths)+failed, r.matched, failed+r.unhashable, r.lowQuality, pdq.MinQuality)
		failed += r.unhashable
		if failed > 0 {
			// The sightings of the images that could be read are still
			// emitted; the status says that some input was not.
			return finish(fmt.Errorf("%d of the images could not be read or hashed", failed))
		}
		return finish(nil)
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, name := range files {
		var r io.Reader = c.stdin
		if name != "-" {
			fh, err := os.Open(name)
			if err != nil {
				return withExit(3, "", fmt.Errorf("couldn't open input: %w", err))
			}
			defer fh.Close()
			r = fh
		}
		r, err := logInput(r)
		if err != nil {
			return withExit(3, "", fmt.Errorf("couldn't read input %s: %w", name, err))
		}
		if err := s.Read(ctx, r); err != nil {
			if errors.Is(err, context.Canceled) {
				break
			}
			return finish(err)
		}
	}
	return finish(nil)
}

// wrongFormat reports an explicit --format that the input does not fit:
// lines whose content shows another format were decoded as the given one,
// so their observables were missed. The sightings of the rest have been
// printed; the exit status says the input was not what --format said.
func wrongFormat(f match.Format, st match.Stats) error {
	n := st.MismatchedLines()
	if n == 0 {
		return nil
	}
	var parts []string
	best, bestN := match.FormatAuto, int64(0)
	for g, c := range st.Mismatched {
		if c > 0 {
			parts = append(parts, fmt.Sprintf("%d look like %v", c, match.Format(g)))
			if c > bestN {
				best, bestN = match.Format(g), c
			}
		}
	}
	return usageErrorf(fmt.Sprintf("leave out --format (the format of each line is then detected) or give --format %v", best),
		"--format %v does not fit the input: of its lines, %s (%d malformed); they were read as %v and their observables missed",
		f, strings.Join(parts, ", "), st.Malformed, f)
}

// imageCounts is what [matchImages] reports.
type imageCounts struct {
	matched    int // images within the radius of at least one indicator
	unhashable int // images that could not be decoded or hashed
	lowQuality int // images whose PDQ quality is below pdq.MinQuality
}

// matchImages hashes each image and counts a sighting for every pdq
// indicator within radius (with dihedral, of any of the image's eight
// rotations and mirror images: one sighting per indicator and image). As
// PDQ prescribes, a hash of quality below [pdq.MinQuality] (a nearly flat
// image) is not matched: its bits are mostly noise and would match
// unrelated pictures. The same holds for an indicator whose x_pdq_quality
// is below it, which is named on stderr and left out. Unreadable and
// low-quality images are each named on stderr as they are met.
func matchImages(ctx context.Context, c *cli, inds []*match.Indicator, paths []string, radius int, dihedral bool, m *match.Matcher, hashes *int) (imageCounts, error) {
	var r imageCounts
	if radius < 0 || radius > 256 {
		return r, usageErrorf("PDQ's usual threshold is 31", "--radius must be between 0 and 256")
	}
	x, errs := match.NewImageIndex(inds)
	*hashes = x.Len()
	for _, ce := range errs {
		c.warnErr(ce)
	}
	for _, ind := range x.LowQuality() {
		fmt.Fprintf(c.stderr, "parley: warning: %s: %s %d is below %d; not matched\n", untrusted.Text(ind.ID, 120), pdq.QualityProperty, ind.Quality, pdq.MinQuality)
	}
	show := c.progress(len(paths))
	for i, p := range paths {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		show(i)
		var hs [8]pdq.Hash
		var quality int
		var err error
		n := 1
		if dihedral {
			hs, quality, err = pdq.HashFileDihedral(p, pdq.Limits{})
			n = len(hs)
		} else {
			hs[0], quality, err = pdq.HashFile(p, pdq.Limits{})
		}
		if err != nil {
			show(-1) // the line replaces the counter, which the next image shows again
			c.printFileError(p, err)
			r.unhashable++
			continue
		}
		if quality < pdq.MinQuality {
			show(-1)
			fmt.Fprintf(c.stderr, "parley: warning: %s: PDQ quality %d is below %d; not matched\n", p, quality, pdq.MinQuality)
			r.lowQuality++
			continue
		}
		hits := x.MatchAny(hs[:n], radius)
		if len(hits) > 0 {
			r.matched++
			// Which of the member's images matched: the sightings
			// count images, they don't name them.
			show(-1)
			for _, ind := range hits {
				fmt.Fprintf(c.stderr, "parley: match: %s: %s\n", p, untrusted.Text(ind.ID, 120))
			}
		}
		m.Sighted(hits, time.Time{})
	}
	show(-1)
	return r, nil
}

// identityFromTokenFile returns the "id" of a member add --json file, or
// "" for a file holding the token alone.
func identityFromTokenFile(file string) string {
	b, err := untrusted.ReadFile(file, maxSecretFile)
	if err != nil {
		return ""
	}
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &v) != nil || !strings.HasPrefix(v.ID, "identity--") {
		return ""
	}
	return v.ID
}

// indicatorSource loads the indicators of `--indicators FILE` into a new
// set, or, for `--url`, returns an empty set with the poller that fills it
// from the collection (nil poller for a file), checking the node's log
// before anything is fetched and again at every poll ([trustFlags.checkRead]:
// the pinned key, lc's witness policy, consistency with the seen file,
// which is saved), and every indicator against it (with lc.proofs, its
// inclusion in the checkpoint too): one that fails is not loaded and is
// named on stderr, and unsigned ones are ignored unless allowUnsigned.
// The errors are the CLI's usage errors, shared by match and export.
func indicatorSource(ctx context.Context, c *cli, file, url, token, collection string, trust *trustFlags, lc logCheck, allowUnsigned bool) (*match.IndicatorSet, *match.Poller, error) {
	set := match.NewIndicatorSet()
	if file != "" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, nil, usageErrorf("", "couldn't open the indicators: %v", err)
		}
		inds, err := match.ReadIndicators(fh)
		fh.Close()
		if err != nil {
			return nil, nil, usageErrorf("the file must be a STIX bundle or JSON lines of STIX objects", "%v", err)
		}
		for _, ind := range inds {
			set.Put(ind)
		}
		return set, nil, nil
	}
	if collection == "" {
		return nil, nil, usageErrorf("", "--url needs --collection")
	}
	ov, check, err := trust.checkedVerifier(ctx, c, url, token, lc)
	if err != nil {
		return nil, nil, err
	}
	client := &taxii.Client{BaseURL: url, Token: token, HTTP: c.httpClient(), Verifier: ov}
	collID, err := resolveCollection(ctx, client, collection)
	if err != nil {
		return nil, nil, err
	}
	return set, &match.Poller{Client: client, Collection: collID, Set: set, AllowUnsigned: allowUnsigned, Warn: c.warnErr, Check: check}, nil
}

// warnErr prints a warning that may quote what another member wrote (an
// indicator's id or pattern, a node's answer) on one line, through
// [oneLine]: no terminal escapes, line breaks or bidi controls reach the
// terminal.
func (c *cli) warnErr(err error) {
	fmt.Fprintf(c.stderr, "parley: warning: %s\n", oneLine(err.Error()))
}

// onceString is a string flag that refuses a second value instead of
// silently keeping the last one.
type onceString struct {
	p    *string
	once string // the error when given twice
}

func (o onceString) String() string {
	if o.p == nil {
		return ""
	}
	return *o.p
}

func (o onceString) Set(v string) error {
	if *o.p != "" {
		return errors.New(o.once)
	}
	*o.p = v
	return nil
}

// logInput reads a log as its sensor or log rotation left it: a gzip
// file (Zeek's archived logs, logrotate's compress) is decompressed, all
// its members, and a UTF-8 byte order mark at the start is skipped. Other
// input is read as it is.
func logInput(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(2); len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	return br, nil
}

// maxOtherPatternTypes is how many pattern types other than STIX the
// summary names; pattern_type is any string a member writes, so a
// collection could hold thousands of them.
const maxOtherPatternTypes = 8

// otherPatternTypes describes the indicators of other pattern types, by
// type: every type, alphabetically, when there are at most
// [maxOtherPatternTypes]; else the most numerous of them and how many
// indicators of how many other types are left unnamed.
func otherPatternTypes(counts map[string]int) string {
	total := 0
	for _, c := range counts {
		total += c
	}
	types := slices.Sorted(maps.Keys(counts))
	rest := ""
	if len(types) > maxOtherPatternTypes {
		slices.SortStableFunc(types, func(a, b string) int { return counts[b] - counts[a] })
		left := 0
		for _, t := range types[maxOtherPatternTypes:] {
			left += counts[t]
		}
		rest = fmt.Sprintf(", and %d more types with %d indicators", len(types)-maxOtherPatternTypes, left)
		types = types[:maxOtherPatternTypes]
	}
	parts := make([]string, 0, len(types))
	for _, t := range types {
		parts = append(parts, fmt.Sprintf("%s %d", untrusted.Text(t, 40), counts[t]))
	}
	return fmt.Sprintf("(and %d of other pattern types, not matched: %s%s)", total, strings.Join(parts, ", "), rest)
}

// refusals reports and counts the objects a node refused for what they
// are while a fleet member pushed its sightings (see
// [match.PushSeparating]): they are not stored, and their messages are
// acknowledged, as a redelivery would be refused again.
type refusals struct {
	n    atomic.Int64
	file *os.File // --dead-letter, or nil
}

// report names the refused objects on stderr (their ids, the first few,
// and the node's reason), counts them and, with --dead-letter, appends
// them to its file and syncs it; it returns an error (and the messages
// stay unacknowledged) when the file can't be written. Every object of
// the flush, the refused ones included, is already on stdout.
func (r *refusals) report(stderr io.Writer, refused []match.Refused, of int) error {
	if r.file != nil {
		objs := make([]map[string]any, len(refused))
		for i, x := range refused {
			objs[i] = x.Object
		}
		if err := match.WriteObjects(r.file, objs); err != nil {
			return fmt.Errorf("couldn't write --dead-letter: %w", err)
		}
		if err := r.file.Sync(); err != nil {
			return fmt.Errorf("couldn't write --dead-letter: %w", err)
		}
	}
	r.n.Add(int64(len(refused)))
	var ids []string
	for i, x := range refused {
		if i == 5 {
			ids = append(ids, fmt.Sprintf("and %d more", len(refused)-5))
			break
		}
		id, _ := x.Object["id"].(string)
		ids = append(ids, untrusted.Text(id, 120))
	}
	where := "on stdout"
	if r.file != nil {
		where += " and in " + r.file.Name()
	}
	fmt.Fprintf(stderr, "parley: warning: the node refused %d of %d objects for what they are (%s): they are not stored and are printed %s, and their messages acknowledged (a redelivery would be refused again): %s\n",
		len(refused), of, untrusted.Text(refused[0].Reason, 300), where, strings.Join(ids, ", "))
	return nil
}

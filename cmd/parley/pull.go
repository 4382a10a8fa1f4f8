package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "pull",
		usage: "pull --url U --token-file F --collection C [--added-after TS] [--proofs]   print the collection as a STIX bundle, each object verified against the log",
		run:   runPull,
	})
}

func runPull(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("pull")
	url := fs.String("url", "", "the node's `URL`")
	token := fs.String("token", "", "your API `TOKEN` (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	coll := fs.String("collection", "", "the collection `ID` (or its title)")
	after := fs.String("added-after", "", "only objects added after `TS` (RFC 3339 UTC, such as 2026-01-02T15:04:05Z)")
	all := fs.Bool("all-versions", false, "every version of each object, not only the latest")
	proofs := fs.Bool("proofs", false, "also prove each object's log entry included in a signed checkpoint consistent with the seen file")
	trust := addTrustFlags(fs)
	polFlags := addPolicyFlags(fs)
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	pol, err := polFlags.policy()
	if err != nil {
		return err
	}
	if err := readToken(c.stderr, token, *tokenFile); err != nil {
		return err
	}
	if *url == "" || *token == "" || *coll == "" || fs.NArg() > 0 {
		return usageErrorf("parley pull --url U --token-file F --collection C (or PARLEY_URL, PARLEY_TOKEN_FILE)", "pull needs --url, --token and --collection, and no arguments%s",
			missing(required{"--url", *url != ""}, required{"--token-file (or --token)", *token != ""}, required{"--collection", *coll != ""}))
	}
	// Large pages: fewer round trips while the previous page is verified.
	q := taxii.Query{Limit: 1000}
	if *after != "" {
		t, err := stix.ParseTimestamp(*after)
		if err != nil {
			return usageErrorf("write it like 2026-01-02T15:04:05Z", "bad --added-after: %v", err)
		}
		q.AddedAfter = t
	}
	if *all {
		q.Versions.All = true
	}
	trust.readPolicy = pol
	ov, saveSeen, err := trust.objectVerifier(ctx, c, *url, *token, *proofs)
	if err != nil {
		return err
	}
	if pol != nil {
		ov.Policy = pol // else the one recorded for the seen file
	}
	client := &taxii.Client{BaseURL: *url, Token: *token, HTTP: c.httpClient(), Verifier: ov}
	collID, err := resolveCollection(ctx, client, *coll)
	if err != nil {
		return err
	}
	// The bundle is written to a temporary file as pages come, and copied
	// to stdout once the whole collection verified: a collection of any
	// size takes the memory of a page, and a pull that fails prints
	// nothing.
	spool, err := os.CreateTemp("", "parley-pull-*.json")
	if err != nil {
		return withExit(3, "", fmt.Errorf("couldn't create a temporary file: %w", err))
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	bw := newBundleWriter(spool)
	var last time.Time
	refused, notCovered := 0, 0
	notes := newNoteSummary(c.stderr, "parley: pull: ")
	// On a terminal, how many objects verified so far, after each page
	// (a large collection takes minutes); the line is cleared before
	// anything else is written.
	terminal := logIsTerminal(c.stderr)
	shown := false
	clearProgress := func() {
		if shown {
			fmt.Fprint(c.stderr, "\r\033[K")
			shown = false
		}
	}
	defer clearProgress()
	for env, err := range client.ObjectPages(ctx, collID, q) {
		clearProgress()
		if err != nil {
			return pullError(err, saveSeen)
		}
		for _, r := range env.Refused {
			fmt.Fprintf(c.stderr, "parley: pull: refused %s: %v\n", r.ID, r.Err)
		}
		refused += len(env.Refused)
		for _, r := range env.Refused {
			if errors.Is(r.Err, tlog.ErrNotCovered) {
				notCovered++
			}
		}
		for i, o := range env.Objects {
			if note := describeCheck(env.Checks[i], env.Openings[i].Member, o); note != "" {
				notes.add(env.Openings[i].ObjectID, note)
			}
			bw.add(o)
		}
		if !env.DateAdded.Last.IsZero() {
			last = env.DateAdded.Last
		}
		if terminal {
			fmt.Fprintf(c.stderr, "\r\033[Kparley: pull: %d objects verified", bw.n)
			shown = true
		}
	}
	clearProgress()
	notes.close()
	// An empty page, or none, checks nothing: the node's log is still
	// the pinned one, consistent with the seen file and the policy, or
	// the pull fails as it would at its first object.
	if err := ov.CheckLog(ctx); err != nil {
		return pullError(err, saveSeen)
	}
	if err := saveSeen(); err != nil {
		return withExit(3, "", err)
	}
	if err := bw.close(); err != nil {
		return withExit(3, "", fmt.Errorf("couldn't write the bundle: %w", err))
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return withExit(3, "", fmt.Errorf("couldn't read the bundle back: %w", err))
	}
	if _, err := io.Copy(c.stdout, spool); err != nil {
		return withExit(3, "", fmt.Errorf("couldn't write the bundle: %w", err))
	}
	if refused > 0 {
		return refusedError(refused, notCovered)
	}
	if !last.IsZero() {
		fmt.Fprintf(c.stderr, "parley: %d objects; next time use --added-after %s\n", bw.n, taxii.FormatTimestamp(last))
	}
	return nil
}

// refusedError is pull's error for refused objects, notCovered of them
// because the node hasn't signed a checkpoint covering them yet: those
// are acknowledged and may verify later (a node whose log integrator is
// behind, or failing, as on a full disk), which "they don't verify" would
// misstate.
func refusedError(refused, notCovered int) error {
	switch {
	case notCovered == refused:
		return withExit(1, "the node acknowledged them but hasn't signed a checkpoint that covers them (its log integrator is behind or failing: its operator sees why in its log); pull again later",
			fmt.Errorf("%d object(s) refused: not yet in a signed checkpoint", refused))
	case notCovered > 0:
		return withExit(1, "each refused object is named above; those not yet in a signed checkpoint may verify later",
			fmt.Errorf("%d object(s) refused: %d don't verify against the log, %d are not yet in a signed checkpoint", refused, refused-notCovered, notCovered))
	}
	return withExit(1, "each refused object is named above; it didn't match the node's log", fmt.Errorf("%d object(s) refused: they don't verify against the log", refused))
}

// noteSummary writes the notes on pulled objects (relayed, unsigned, a
// foreign key: [describeCheck]) as "ID: note" lines, but only the first
// notesShown objects with each note: a collection of thousands of relayed
// objects gave as many lines. close then counts the others, by note.
type noteSummary struct {
	w      io.Writer
	prefix string
	// counts holds how many objects had each note, in the order the
	// notes first came, at most notesKept notes; the others are counted
	// in other.
	counts map[string]int
	order  []string
	other  int
}

// notesShown is how many objects with the same note are named; notesKept
// is how many distinct notes are counted one by one.
const (
	notesShown = 5
	notesKept  = 100
)

func newNoteSummary(w io.Writer, prefix string) *noteSummary {
	return &noteSummary{w: w, prefix: prefix, counts: map[string]int{}}
}

// add notes object id's note, writing it if fewer than notesShown
// objects had it before.
func (s *noteSummary) add(id, note string) {
	n, ok := s.counts[note]
	if !ok && len(s.order) == notesKept {
		s.other++
		return
	}
	if !ok {
		s.order = append(s.order, note)
	}
	s.counts[note] = n + 1
	if n < notesShown {
		fmt.Fprintf(s.w, "%s%s: %s\n", s.prefix, id, note)
	}
}

// close writes how many more objects had each note than were named.
func (s *noteSummary) close() {
	for _, note := range s.order {
		if more := s.counts[note] - notesShown; more > 0 {
			fmt.Fprintf(s.w, "%sand %d more objects (%d in all): %s\n", s.prefix, more, s.counts[note], note)
		}
	}
	if s.other > 0 {
		fmt.Fprintf(s.w, "%sand %d more objects with other notes (relayed, unsigned or signed with a key this log doesn't hold)\n", s.prefix, s.other)
	}
}

// pullError is pull's error for err, which failed reading or trusting the
// node's log (saveSeen keeps the evidence of a fork).
func pullError(err error, saveSeen func() error) error {
	if qerr := quorumExit(err); qerr != nil {
		return qerr
	}
	if errors.Is(err, tlog.ErrProof) {
		saveSeen()
		return withExit(1, "the conflicting checkpoints are kept as evidence in the seen file", fmt.Errorf("couldn't pull: %w", err))
	}
	if errors.Is(err, tlog.ErrKeyIndex) {
		// Not a wrong flag: the node's member key entries aren't
		// shown complete, so no object of it is taken unchecked. A
		// node older than the key index sends none, one of a newer
		// form than this version knows isn't checked.
		return withExit(4, "the node's answer to GET /log/keys doesn't show its member key entries complete (the error says why): a node of a version before the key index (5 December 2026) sends none, and pull takes no object it can't check against the member's whole key history; ask its operator to upgrade it, or check its log with parley audit", fmt.Errorf("couldn't pull: %w", err))
	}
	if errors.Is(err, tlog.ErrCheckpointSignature) {
		// Not a wrong flag: the node signs with another key than the
		// one pinned (a node made again at the same URL, or another
		// log shown to this client).
		return withExit(4, "the node's checkpoint isn't signed by the log key pull checks with (--log-key, or the one pinned in the seen file a warning above names): if the node was really made again, remove that file or give its new key with --log-key; if not, it is showing you another log", fmt.Errorf("couldn't pull: %w", err))
	}
	return withExit(4, "check --url, "+tokenFlag+" and --collection", fmt.Errorf("couldn't pull: %w", err))
}

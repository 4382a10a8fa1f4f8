package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
)

func init() {
	register(command{
		name:  "push",
		usage: "push --url U --token-file F --key K --collection C [--on-conflict skip|fail] FILE...   sign and share STIX objects over TAXII",
		run:   runPush,
	})
}

// pushChecked, when set (by a test), is called between push's check of
// every file and its sending them.
var pushChecked func()

// Envelopes are cut at pushBatch objects or pushBytes bytes, below the
// node's default limits (10,000 objects, 10 MiB).
const (
	pushBatch = 1000
	pushBytes = 8 << 20
)

func runPush(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("push")
	url := fs.String("url", "", "the node's `URL`, such as http://127.0.0.1:8080")
	token := fs.String("token", "", "your API `TOKEN` (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	keyFile := fs.String("key", "", "your private key `FILE`")
	coll := fs.String("collection", "", "the collection `ID` (or its title)")
	onConflict := fs.String("on-conflict", "fail", "what an object whose id and version the node already holds with other content does: fail (exit 4 after the envelope that met it, pushing no more) or skip (report it and go on; exit 0 when conflicts are the only failures)")
	trust := addSendTrustFlags(fs)
	// Flags may also follow the arguments (parley verify proof.json --log-key K).
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if err := readToken(c.stderr, token, *tokenFile); err != nil {
		return err
	}
	if *url == "" || *token == "" || *keyFile == "" || *coll == "" || len(pos) == 0 {
		return usageErrorf("parley push --url U --token-file F --key K --collection C FILE...", "push needs --url, --token-file (or --token), --key, --collection and at least one FILE%s",
			missing(required{"--url", *url != ""}, required{"--token-file (or --token)", *token != ""}, required{"--key", *keyFile != ""}, required{"--collection", *coll != ""}, required{"a FILE", len(pos) > 0}))
	}
	if *onConflict != "fail" && *onConflict != "skip" {
		return usageErrorf("", "unknown --on-conflict %q: it must be skip or fail", *onConflict)
	}
	key, err := readPrivateKey(c.stderr, *keyFile)
	if err != nil {
		return err
	}
	// Every file is read and checked before anything is signed or sent,
	// as when push held them all; then each is signed and sent a batch at
	// a time, so that push holds one file and one batch of signed objects,
	// whatever the files' sizes. A single file (the usual case) and
	// standard input are kept from the check, not read again; with
	// several, each other file is read again and must hash as it did when
	// it was checked, so that push never sends what it did not check: a
	// file changed in between stops push before anything of it is sent.
	total := 0
	sums := make([][sha256.Size]byte, len(pos))
	var stdin, only *objectsDoc
	for i, name := range pos {
		doc, err := readObjects(c, name)
		if err != nil {
			return err
		}
		if err := validateSpans(doc.spans, name, "push sends nothing"); err != nil {
			return err
		}
		total += len(doc.spans)
		sums[i] = sha256.Sum256(doc.data)
		if name == "-" {
			stdin = doc
		}
		if len(pos) == 1 {
			only = doc
		}
	}
	if pushChecked != nil {
		pushChecked()
	}
	// A node whose log isn't the pinned one (made again at the same URL,
	// or another server at that address) gets nothing.
	if err := trust.checkSendTarget(ctx, c, *url, *token); err != nil {
		return err
	}
	client := &taxii.Client{BaseURL: *url, Token: *token, HTTP: c.httpClient()}
	collID, err := resolveCollection(ctx, client, *coll)
	if err != nil {
		return err
	}
	var ok, failed, conflicts int
	stopped := false
	show := c.progressOf("signed", total)
	defer show(-1)
	es := &envelopeSender{client: client, collID: collID, onStatus: func(st *taxii.Status) bool {
		show(-1) // clear the progress line before printing
		ok += st.SuccessCount
		batchConflicts := 0
		for _, f := range st.Failures {
			// One line per object: a conflict never replaces the stored
			// version, and never hides the other objects' outcome.
			if f.Message == store.VersionConflictMessage {
				batchConflicts++
				fmt.Fprintf(c.stdout, "conflict  %s version %s: %s\n", f.ID, f.Version, f.Message)
				continue
			}
			fmt.Fprintf(c.stdout, "failed  %s: %s\n", f.ID, f.Message)
		}
		conflicts += batchConflicts
		failed += st.FailureCount - batchConflicts
		fmt.Fprintf(c.stdout, "status  %s: %d succeeded, %d failed\n", st.ID, st.SuccessCount, st.FailureCount)
		stopped = batchConflicts > 0 && *onConflict == "fail"
		return !stopped
	}}
	signed := 0
	err = func() error {
		for i, name := range pos {
			doc := stdin
			switch {
			case only != nil:
				doc = only
			case name != "-":
				var err error
				if doc, err = readObjects(c, name); err != nil {
					return err
				}
				if sha256.Sum256(doc.data) != sums[i] {
					return usageErrorf("keep the files as they are until push is done", "%s changed since push checked it: nothing of it was sent", name)
				}
			}
			for start := 0; start < len(doc.spans) && !es.stopped; start += signBatch {
				end := min(start+signBatch, len(doc.spans))
				batch, err := signSpans(doc.spans[start:end], key, name)
				if err != nil {
					return err
				}
				signed += len(batch)
				show(signed)
				for _, o := range batch {
					if err := es.add(ctx, o); err != nil {
						return err
					}
				}
			}
		}
		return es.flush(ctx)
	}()
	show(-1)
	if err != nil {
		if ok > 0 {
			fmt.Fprintf(c.stderr, "parley: push: the node stored %d of the %d objects before the error; they stay, and pushing the same files again stores only the rest (the others are \"already stored\")\n", ok, total)
		}
		return err
	}
	fmt.Fprintf(c.stdout, "pushed %d objects: %d succeeded, %d failed, %d conflicts\n", total, ok, failed, conflicts)
	if n := total - ok - failed - conflicts; stopped && n > 0 {
		fmt.Fprintf(c.stdout, "stopped at the first conflict: %d objects not sent\n", n)
	}
	switch {
	case failed > 0:
		return withExit(4, "", fmt.Errorf("the node refused %d of %d objects", failed+conflicts, total))
	case conflicts > 0 && *onConflict == "fail":
		return withExit(4, "use --on-conflict skip to report conflicts and go on", fmt.Errorf("%d objects conflict with stored versions (same id and version, other content); nothing was replaced", conflicts))
	case conflicts > 0:
		fmt.Fprintf(c.stderr, "parley: push: skipped %d conflicting objects (same id and version as stored ones, other content); nothing was replaced\n", conflicts)
	}
	return nil
}

// sendEnvelopes posts objects to a collection in envelopes of at most
// pushBatch objects and pushBytes bytes, in order, and calls onStatus with
// each envelope's status; it stops when onStatus returns false, or (exit 4)
// when a request fails.
func sendEnvelopes(ctx context.Context, client *taxii.Client, collID string, objects []json.RawMessage, onStatus func(*taxii.Status) bool) error {
	es := &envelopeSender{client: client, collID: collID, onStatus: onStatus}
	for _, o := range objects {
		if err := es.add(ctx, o); err != nil {
			return err
		}
	}
	return es.flush(ctx)
}

// envelopeSender posts the objects given to add to a collection, in
// order, in envelopes of at most pushBatch objects and pushBytes bytes
// (the envelopes sendEnvelopes cuts), holding one envelope; after each it
// calls onStatus with the envelope's status, and once that returns false
// it sends no more (stopped).
type envelopeSender struct {
	client   *taxii.Client
	collID   string
	onStatus func(*taxii.Status) bool
	pending  []json.RawMessage
	size     int
	stopped  bool
}

// add queues o, first sending the envelope it would not fit in; the error
// (exit 4) is a failed request's.
func (es *envelopeSender) add(ctx context.Context, o json.RawMessage) error {
	if es.stopped {
		return nil
	}
	if len(es.pending) > 0 && (len(es.pending) == pushBatch || es.size+len(o) >= pushBytes) {
		if err := es.flush(ctx); err != nil || es.stopped {
			return err
		}
	}
	es.pending = append(es.pending, o)
	es.size += len(o) + 1
	return nil
}

// flush sends what is queued.
func (es *envelopeSender) flush(ctx context.Context) error {
	if es.stopped || len(es.pending) == 0 {
		return nil
	}
	st, err := es.client.AddObjects(ctx, es.collID, es.pending)
	if err != nil {
		return withExit(4, pushHint(err), fmt.Errorf("couldn't push: %w", err))
	}
	es.pending, es.size = es.pending[:0], 0
	es.stopped = !es.onStatus(st)
	return nil
}

// readToken fills *token from file when file is given: the file holds the
// token on its first line, or the JSON printed by member add --json. A
// file every user may read is warned about on warn ([warnReadable]).
func readToken(warn io.Writer, token *string, file string) error {
	if file == "" {
		return nil
	}
	warnReadable(warn, file, "the token file")
	// The same reading as a peer's token file: an empty file was reported
	// as a missing --token, and a binary one (a key given by mistake) as
	// the node's refusing the request.
	s, err := peer.ReadToken(file)
	if err != nil {
		// The hint names where the file's name came from: a
		// PARLEY_TOKEN_FILE left from another node is not on the line.
		return usageErrorf("check "+tokenFlag+": it names the file that parley member add --token-out (or member token) wrote", "%v", err)
	}
	*token = s
	return nil
}

// resolveCollection accepts a collection id or, when no visible collection
// has that id, a unique title.
func resolveCollection(ctx context.Context, client *taxii.Client, ref string) (string, error) {
	cs, err := client.Collections(ctx)
	if err != nil {
		return "", withExit(4, "check --url and "+tokenFlag, fmt.Errorf("couldn't list collections: %w", err))
	}
	var byTitle []string
	for _, c := range cs {
		if c.ID == ref {
			return ref, nil
		}
		if c.Title == ref {
			byTitle = append(byTitle, c.ID)
		}
	}
	switch len(byTitle) {
	case 1:
		return byTitle[0], nil
	case 0:
		return "", withExit(4, visibleCollections(cs), fmt.Errorf("no collection %q is visible to you", ref))
	}
	return "", usageErrorf("give the collection id", "%d collections are titled %q", len(byTitle), ref)
}

// visibleCollections is the hint for a collection that isn't found: the
// ones the token may see, by title and id (at most ten).
func visibleCollections(cs []taxii.Collection) string {
	if len(cs) == 0 {
		return "your token sees no collection: ask the node's operator to give your member read or write access"
	}
	var names []string
	for i, c := range cs {
		if i == 10 {
			names = append(names, fmt.Sprintf("and %d more", len(cs)-10))
			break
		}
		names = append(names, fmt.Sprintf("%q (%s)", c.Title, c.ID))
	}
	return "the collections you may see: " + strings.Join(names, ", ")
}

// pushHint is the hint for a failed POST of an envelope: what to do about
// the node's answer (a limit, the quota, a busy node) where its status
// says, else to check the flags.
func pushHint(err error) string {
	var re *taxii.ResponseError
	if !errors.As(err, &re) {
		return "check --url, " + tokenFlag + " and --collection"
	}
	switch re.StatusCode {
	case http.StatusRequestEntityTooLarge:
		return "an object or envelope is over the node's limits (max_object_size, max_content_length in its config.json): shrink or split it, or ask the node's operator"
	case http.StatusInsufficientStorage:
		return "the node is out of storage for your objects (member_quota_bytes in its config.json, or its disk): ask the node's operator"
	case http.StatusTooManyRequests:
		// 502, 503 and 504 have unavailableHint, which printError gives
		// before any command's.
		return "the node is busy or its database is unavailable: retry later (what it stored stays)"
	case http.StatusUnauthorized:
		return "check " + tokenFlag
	case http.StatusForbidden:
		return "you may not write this collection: check --collection, or ask the node's operator"
	}
	return "check --url, " + tokenFlag + " and --collection"
}

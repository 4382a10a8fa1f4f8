package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parley-exchange/parley/internal/store"

	"github.com/google/uuid"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/ioc"
	"github.com/parley-exchange/parley/misp"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

func init() {
	register(command{
		name:  "import",
		usage: "import misp|iocs|csv [--out FILE | --url U --token-file F --key K --collection C] SOURCE   turn MISP events and feeds, IOC lists or CSV into STIX",
		help:  "Onboarding: turns MISP events and feeds, plain IOC lists and CSV files into STIX, written as a bundle (--out) or signed and pushed to a collection.",
		subcommands: []subcommand{
			{name: "misp", usage: "import misp [--out FILE | --url U --token-file F --key K --collection C] [--state FILE] [--poll DURATION] [--source-ca FILE] [--source-key-file FILE] FILE|DIR|URL", help: "Reads MISP core-format events, REST search results and feeds (manifest.json and <uuid>.json), mapped as MISP's own misp-stix does."},
			{name: "iocs", usage: "import iocs [--out FILE | --url U --token-file F --key K --collection C] FILE", help: "One value a line: addresses, CIDRs, domains, URLs, hashes, e-mail addresses; defanged forms (hxxp, [.]) understood; # comments."},
			{name: "csv", usage: "import csv --columns value,type,... [--out FILE | --url U --token-file F --key K --collection C] FILE", help: "CSV with named columns: value (required), type (a MISP attribute type; empty: recognised from the value), comment, tags (';'-separated), category, to_ids (ignored), - (ignored)."},
		},
		run: runImport,
	})
}

const importUsage = `usage:
  parley import misp [output flags] [--state FILE] [--full] [--poll DURATION]
                     [--source-ca FILE] [--source-key-file FILE] FILE|DIR|URL
      MISP events ({"Event": ...}), REST search results ({"response": [...]}),
      or a MISP feed (a folder or URL with manifest.json and <uuid>.json);
      a feed is imported incrementally: only events whose manifest
      timestamp changed since the last run (remembered in --state).
      For an https:// source behind a private CA give --source-ca; for a
      MISP instance's REST API give its automation key in --source-key-file
      (sent as the Authorization header, only to that host).
  parley import iocs [output flags] [--tags T,...] [--created TS] FILE
      one value a line: IPv4/IPv6 addresses and CIDRs, domains, URLs,
      MD5/SHA-1/SHA-256/SHA-512 hashes, e-mail addresses, also defanged
      (hxxp://, [.], (.), [:], [@], [at]); '#' starts a comment.
  parley import csv --columns value,type,... [output flags] [--tags T,...] [--created TS] FILE
      columns: value (required), type (a MISP attribute type; empty:
      recognised from the value), comment, tags (';'-separated), category,
      to_ids (ignored), - (ignored).

output flags (one of):
  --out FILE            write a STIX bundle (- for standard output)
  --url U --token T (or --token-file F) --key K --collection C [--on-conflict skip|fail]
                        sign every object as your member identity and push it

Unsupported attribute types and unrecognised lines are listed on stderr;
a list or CSV none of whose lines can be imported is an error (exit 2).

With --url, objects are pushed in envelopes as they are converted. A
local SOURCE (a file, folder, feed or standard input) is read whole
first: a malformed line, row or event refuses it and nothing is stored.
A MISP document fetched over http(s):// is read once, so one that turns
out malformed part-way, or a node that fails, stops the import after
what the node took: stderr says how many objects it stored, and the same
command run again (for iocs and csv with the --created it names) stores
only what is missing.`

func runImport(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf("parley import misp|iocs|csv ... (parley import --help)", "import needs a kind: misp, iocs or csv")
	}
	switch args[0] {
	case "misp":
		return importMISP(ctx, c, args[1:])
	case "iocs":
		return importLines(ctx, c, "iocs", args[1:])
	case "csv":
		return importLines(ctx, c, "csv", args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(c.stdout, importUsage)
		return nil
	}
	return usageErrorf("parley import misp|iocs|csv ...", "unknown import kind %q", args[0])
}

// importOut holds the output flags every import takes.
type importOut struct {
	out, url, token, tokenFile, key, coll, onConflict string
	// trust, with --url: the node's log must be the pinned one before
	// anything is pushed ([trustFlags.checkSendTarget]).
	trust *trustFlags
}

func (o *importOut) register(fs *flag.FlagSet) {
	fs.StringVar(&o.out, "out", "", "write a STIX bundle to `FILE` (- for standard output)")
	fs.StringVar(&o.url, "url", "", "push to the node at `URL` instead")
	fs.StringVar(&o.token, "token", "", "your API `TOKEN` (better: PARLEY_TOKEN or --token-file)")
	fs.StringVar(&o.tokenFile, "token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	fs.StringVar(&o.key, "key", "", "your private key `FILE`: every object is signed as your member identity")
	fs.StringVar(&o.coll, "collection", "", "the collection `ID` (or title) to push to")
	fs.StringVar(&o.onConflict, "on-conflict", "fail", "when the node has an object's id and version with other content: skip (report it, go on) or fail (exit 4)")
	o.trust = addSendTrustFlags(fs)
}

// check validates the output flags; args are the command line, to tell
// a --url given there from one PARLEY_URL supplied (which --out
// overrides, as a shell with PARLEY_URL set should still write files).
func (o *importOut) check(c *cli, args []string) error {
	if o.out != "" && !slices.ContainsFunc(args, func(a string) bool {
		return a == "--url" || a == "-url" || strings.HasPrefix(a, "--url=") || strings.HasPrefix(a, "-url=")
	}) {
		o.url = ""
	}
	if err := readToken(c.stderr, &o.token, o.tokenFile); err != nil {
		return err
	}
	if (o.out == "") == (o.url == "") {
		return usageErrorf("give --out FILE, or --url, --token-file, --key and --collection", "need one output: --out or --url")
	}
	if o.url != "" && (o.token == "" || o.key == "" || o.coll == "") {
		return usageErrorf("parley import ... --url U --token-file T --key K --collection C SOURCE", "--url needs --token, --key and --collection")
	}
	if o.onConflict != "skip" && o.onConflict != "fail" {
		return usageErrorf("", "--on-conflict must be skip or fail")
	}
	return nil
}

// notInput refuses an --out that names the input, which creating the
// output would empty before it is read.
func (o *importOut) notInput(src string) error {
	if o.out == "" || o.out == "-" {
		return nil
	}
	a, err1 := filepath.Abs(o.out)
	b, err2 := filepath.Abs(src)
	if err1 == nil && err2 == nil && a == b {
		return usageErrorf("write the bundle to another file", "--out %s is the input", o.out)
	}
	return nil
}

// target names the output, for the state file's key.
func (o *importOut) target() string {
	if o.out != "" {
		abs, err := filepath.Abs(o.out)
		if err != nil {
			abs = o.out
		}
		return "file " + abs
	}
	return "node " + o.url + " " + o.coll
}

// importSink receives the objects of an import: it writes them into a
// bundle as they come, or signs them and pushes them in envelopes.
type importSink struct {
	c *cli
	// bundle output, put in place of the file when complete
	w       *bufio.Writer
	f       *pendingFile
	written int
	// push output
	client     *taxii.Client
	collID     string
	key        ed25519.PrivateKey
	me         string
	onConflict string
	batch      []json.RawMessage
	batchBytes int
	// A batch is signed while the one before is pushed and the next one
	// converted: signing is closed when the latest batch is signed, sent
	// when it is pushed (nil when none is in flight); failed holds the
	// first error of a batch.
	signing, sent chan struct{}
	mu            sync.Mutex
	failed        error
	// seen keeps the keys of objects already sent in this run (objects
	// shared by events, lines repeated), as SHA-256 hashes: a key may be
	// a whole object, and a list of millions of lines would otherwise be
	// held whole.
	seen                                map[[sha256.Size]byte]struct{}
	stored, already, conflicts, refused int
	// sharedVersion is the version of the objects that MISP events share
	// (galaxy clusters, organisations: misp.SharedVersion), set for MISP
	// imports; shared holds the ids sent at that version. Each event
	// carries its own copy of them (misp-galaxy updates descriptions and
	// synonyms, organisations are renamed), so the node may hold another
	// event's copy under the id and version: that is not a conflict of
	// this import, the node's copy stays and is counted in kept.
	sharedVersion string
	shared        map[string]struct{}
	kept          int
	// sameMISP, set for MISP imports, checks an object the node refuses
	// as a conflict or as another member's against the node's copy of
	// that version: when both say the same in MISP's terms
	// (misp.SameInMISP), as when Parley's own feed export is imported
	// back, it is already there (counted in already and inOtherForm).
	sameMISP    bool
	inOtherForm int
	// rerun says, after a failure, how a second run stores only what the
	// first one did not.
	rerun string
}

func (o *importOut) open(ctx context.Context, c *cli) (*importSink, error) {
	s := &importSink{c: c, seen: map[[sha256.Size]byte]struct{}{}, onConflict: o.onConflict}
	if o.out != "" {
		w := c.stdout
		if o.out != "-" {
			f, err := createPending(o.out)
			if err != nil {
				return nil, withExit(3, "", fmt.Errorf("couldn't create %s: %w", o.out, err))
			}
			s.f, w = f, f
		}
		s.w = bufio.NewWriterSize(w, 1<<16)
		fmt.Fprintf(s.w, "{\"type\": \"bundle\", \"id\": \"bundle--%s\", \"objects\": [", uuid.NewString())
		return s, nil
	}
	key, err := readPrivateKey(c.stderr, o.key)
	if err != nil {
		return nil, err
	}
	s.key = key
	if o.trust != nil {
		if err := o.trust.checkSendTarget(ctx, c, o.url, o.token); err != nil {
			return nil, err
		}
	}
	s.client = &taxii.Client{BaseURL: o.url, Token: o.token, HTTP: c.httpClient()}
	if s.me = identityFromTokenFile(o.tokenFile); s.me == "" {
		if s.me, err = identityOfKey(ctx, c.httpClient(), c.stderr, o.url, o.token, key.Public().(ed25519.PublicKey)); err != nil {
			return nil, err
		}
	}
	if s.collID, err = resolveCollection(ctx, s.client, o.coll); err != nil {
		return nil, err
	}
	return s, nil
}

// push reports whether objects are signed and pushed.
func (s *importSink) push() bool { return s.client != nil }

// add writes or queues one object whose id and version are key; objects
// already sent in this run are skipped.
func (s *importSink) add(ctx context.Context, key string, obj json.RawMessage) error {
	h := sha256.Sum256([]byte(key))
	if _, ok := s.seen[h]; ok {
		return nil
	}
	s.seen[h] = struct{}{}
	if s.sharedVersion != "" && strings.HasSuffix(key, " "+s.sharedVersion) {
		if s.shared == nil {
			s.shared = map[string]struct{}{}
		}
		s.shared[strings.TrimSuffix(key, " "+s.sharedVersion)] = struct{}{}
	}
	if !s.push() {
		if s.written > 0 {
			s.w.WriteString(",")
		}
		s.w.WriteString("\n  ")
		s.w.Write(obj)
		s.written++
		return nil
	}
	s.batch = append(s.batch, obj)
	s.batchBytes += len(obj) + 200 // the signature to come
	if len(s.batch) >= pushBatch || s.batchBytes >= pushBytes/2 {
		return s.flush(ctx)
	}
	return nil
}

// isConflict reports whether a failure is the node refusing another
// object under an id and version it already has.
func isConflict(msg string) bool {
	return msg == store.VersionConflictMessage
}

// isOwned reports whether a failure is the node refusing a version of an
// id that another member created.
func isOwned(msg string) bool {
	return strings.HasPrefix(msg, "this id belongs to the member who created its first version")
}

// idsOf indexes a batch of objects by id.
func idsOf(batch []json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(batch))
	for _, raw := range batch {
		var v struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &v) == nil {
			out[v.ID] = raw
		}
	}
	return out
}

// sameOnNode reports whether the node's copy of id at version (which the
// member reads in the collection) says in MISP's terms what raw says.
// batch holds the objects sent with raw, by id: an observed-data's
// observables among them are compared with it.
func (s *importSink) sameOnNode(ctx context.Context, id, version string, batch map[string]json.RawMessage) bool {
	raw := batch[id]
	if raw == nil {
		return false
	}
	at, err := stix.ParseTimestamp(version)
	if err != nil {
		return false
	}
	mine, err := stix.Parse(raw)
	if err != nil {
		return false
	}
	env, err := s.client.Object(ctx, s.collID, id, taxii.Query{Versions: taxii.VersionMatch{At: []time.Time{at}}})
	if err != nil || env == nil || len(env.Objects) != 1 {
		return false
	}
	var scos []*stix.Object
	if mine.Type == "observed-data" {
		refs, _ := mine.Props["object_refs"].([]any)
		for _, r := range refs {
			ref, _ := r.(string)
			if raw := batch[ref]; raw != nil {
				if o, err := stix.Parse(raw); err == nil {
					scos = append(scos, o)
				}
			}
		}
	}
	held, err := stix.Parse(env.Objects[0])
	return err == nil && misp.SameInMISP(held, mine, scos...)
}

// flush starts signing and pushing the queued objects. It waits only
// for the batch before to be signed: at most one batch is signed while
// one is pushed, and conversion goes on meanwhile.
func (s *importSink) flush(ctx context.Context) error {
	if err := s.err(); err != nil {
		return err
	}
	if !s.push() || len(s.batch) == 0 {
		return nil
	}
	if s.signing != nil {
		<-s.signing
	}
	batch := s.batch
	s.batch, s.batchBytes = nil, 0
	prev, signing, sent := s.sent, make(chan struct{}), make(chan struct{})
	s.signing, s.sent = signing, sent
	go func() {
		defer close(sent)
		err := s.sign(batch)
		close(signing)
		if prev != nil {
			<-prev // envelopes go in order
		}
		if err == nil && s.err() == nil {
			err = s.send(ctx, batch)
		}
		if err != nil {
			s.mu.Lock()
			if s.failed == nil {
				s.failed = err
			}
			s.mu.Unlock()
		}
	}()
	return nil
}

func (s *importSink) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// wait waits for the batches in flight.
func (s *importSink) wait() error {
	if s.sent != nil {
		<-s.sent
		s.sent, s.signing = nil, nil
	}
	return s.err()
}

// sync pushes everything queued and waits for the node's answers.
func (s *importSink) sync(ctx context.Context) error {
	if err := s.flush(ctx); err != nil {
		s.wait()
		return err
	}
	return s.wait()
}

// sign signs a batch in place on all CPUs.
func (s *importSink) sign(batch []json.RawMessage) error {
	workers := min(runtime.GOMAXPROCS(0), len(batch))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(batch); i += workers {
				signed, err := stix.Sign(batch[i], s.key)
				if err != nil {
					errs[w] = withExit(3, "", fmt.Errorf("couldn't sign an object: %w", err))
					return
				}
				batch[i] = signed
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// send pushes one batch and reports each object the node did not take.
func (s *importSink) send(ctx context.Context, batch []json.RawMessage) error {
	var conflicted []string
	var byID map[string]json.RawMessage
	err := sendEnvelopes(ctx, s.client, s.collID, batch, func(st *taxii.Status) bool {
		for _, d := range st.Successes {
			if d.Message == "already stored" {
				s.already++
			}
		}
		s.stored += st.SuccessCount
		for _, f := range st.Failures {
			if _, ok := s.shared[f.ID]; ok && isConflict(f.Message) && f.Version == s.sharedVersion {
				s.kept++
				fmt.Fprintf(s.c.stdout, "kept     %s %s: the node holds another MISP event's copy of this galaxy cluster or organisation; it stays\n", f.ID, f.Version)
				continue
			}
			if s.sameMISP && (isConflict(f.Message) || isOwned(f.Message)) {
				if byID == nil {
					byID = idsOf(batch)
				}
				if s.sameOnNode(ctx, f.ID, f.Version, byID) {
					s.stored++
					s.already++
					s.inOtherForm++
					continue
				}
			}
			// In a MISP import, an id another member owns is one that
			// member took first from the same MISP uuid: the same event
			// from another feed or source (mirrors republish events under
			// their uuids). The node keeps theirs; like a conflict, it is
			// reported and --on-conflict decides whether the import goes on.
			owned := s.sameMISP && isOwned(f.Message)
			if isConflict(f.Message) || owned {
				s.conflicts++
				verb := "skipped"
				if s.onConflict == "fail" {
					verb = "conflict"
					conflicted = append(conflicted, f.ID)
				}
				why := f.Message
				switch {
				case owned:
					why += " (another member imported this MISP uuid first, from another feed or source; the node keeps theirs)"
				case s.sameMISP:
					why += " (the node holds another copy of this MISP object at this MISP timestamp, from another feed or source or an earlier Parley's conversion; it stays)"
				}
				fmt.Fprintf(s.c.stdout, "%-8s %s %s: %s\n", verb, f.ID, f.Version, why)
				continue
			}
			s.refused++
			fmt.Fprintf(s.c.stdout, "failed   %s: %s\n", f.ID, f.Message)
		}
		return true
	})
	if err != nil {
		return err
	}
	if len(conflicted) > 0 {
		return withExit(4, "--on-conflict skip reports such objects and goes on", &conflictsError{n: len(conflicted), first: conflicted[0]})
	}
	return nil
}

// conflictsError is an import stopped by --on-conflict fail. Unlike a node
// or feed that is away, it is no reason to try the round again: the node
// never replaces a version, so every later round would meet the same
// conflict and import nothing after it.
type conflictsError struct {
	n     int
	first string
}

func (e *conflictsError) Error() string {
	return fmt.Sprintf("the node has %d of these ids and versions with other content (first %s); versions are never replaced", e.n, e.first)
}

// close finishes the output and says what happened.
func (s *importSink) close(ctx context.Context) error {
	if !s.push() {
		s.w.WriteString("\n]}\n")
		err := s.w.Flush()
		if s.f != nil {
			if err == nil {
				err = s.f.Commit()
			} else {
				s.f.Abort()
			}
		}
		if err != nil {
			return withExit(3, "", fmt.Errorf("couldn't write the bundle: %w", err))
		}
		return nil
	}
	if err := s.sync(ctx); err != nil {
		s.stopped()
		return err
	}
	kept := ""
	if s.kept > 0 {
		kept = fmt.Sprintf(", %d shared objects kept as the node holds them", s.kept)
	}
	other := ""
	if s.inOtherForm > 0 {
		other = fmt.Sprintf(", %d of them as the node's own STIX of the same MISP data", s.inOtherForm)
	}
	fmt.Fprintf(s.c.stdout, "pushed %d objects: %d stored (%d already there%s), %d conflicts, %d refused%s\n",
		s.stored+s.conflicts+s.refused+s.kept, s.stored, s.already, other, s.conflicts, s.refused, kept)
	if s.refused > 0 {
		return withExit(4, "", fmt.Errorf("the node refused %d objects", s.refused))
	}
	return nil
}

// abort drops a bundle being written; pushed objects stay pushed, and
// how many is said.
func (s *importSink) abort() {
	s.wait()
	if s.f != nil {
		s.f.Abort()
	}
	s.stopped()
}

// stopped says, when an import that pushed stops on an error, what the
// node stored before.
func (s *importSink) stopped() {
	if taken := s.stored + s.conflicts + s.refused + s.kept; s.push() && taken > 0 {
		next := s.rerun
		if s.conflicts > 0 && s.onConflict == "fail" {
			next = "and --on-conflict skip goes past the conflicts"
		}
		fmt.Fprintf(s.c.stderr, "parley: import: stopped after the node answered for %d objects: %d stored (%d already there), %d conflicts, %d refused; what it stored stays, %s\n",
			taken, s.stored, s.already, s.conflicts, s.refused, next)
	}
}

// --- misp ---

// mispImport is one `parley import misp` run.
type mispImport struct {
	c      *cli
	sink   *importSink
	conv   *misp.Converter
	http   *http.Client
	key    string // MISP automation key for the source's host, or ""
	tty    bool
	unsupp map[string]int // "kind name" -> count
	// pushed holds, per event uuid, the keys ("id version") of the
	// revocable objects this feed's state says the feed itself wrote for
	// the event in an earlier run: only they may be revoked, and only
	// while that version is the node's latest (see revokeGone). Nil
	// outside a feed.
	pushed map[string][]string
	// feedEvent is the uuid the feed's manifest gives the event file
	// being read, which the event in it must have; "" outside a feed.
	feedEvent string
	// gone counts the revoked versions revokeGone pushed: objects a
	// feed's event no longer makes (not in the converter's Stats).
	gone int
}

func importMISP(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("import misp")
	var out importOut
	out.register(fs)
	stateFile := fs.String("state", "", "remember imported feed events in `FILE` (default: in your cache directory, per feed and output)")
	full := fs.Bool("full", false, "import every event of a feed, not only those changed since the last run")
	poll := fs.Duration("poll", 0, "for a feed, check it again every `DURATION` (such as 10m) until interrupted; needs --url")
	sourceCA := fs.String("source-ca", "", "trust only the PEM CA certificates in `FILE` for an https:// SOURCE (--ca is for the node)")
	includeRestricted := fs.Bool("include-restricted", false, "also import what MISP's distribution keeps in your organisation (0) or a sharing group (4), galaxy clusters included; without it they are left out and counted (a feed's events are published: always imported; local tags never are)")
	sourceKeyFile := fs.String("source-key-file", "", "read the MISP automation key for an http(s):// SOURCE from `FILE` (sent as the Authorization header)")
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("parley import misp [flags] FILE|DIR|URL", "import misp needs one FILE, DIR or URL")
	}
	if err := out.check(c, args); err != nil {
		return err
	}
	src := pos[0]
	if err := out.notInput(src); err != nil {
		return err
	}
	isURL := strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
	feed, base := feedBase(src, isURL)
	if *poll > 0 && (!feed || out.url == "") {
		return usageErrorf("--poll follows a feed (a folder or URL with manifest.json) into a node (--url)", "--poll needs a feed and --url")
	}
	source, sourceKey, err := mispSourceClient(c.stderr, *sourceCA, *sourceKeyFile, isURL)
	if err != nil {
		return err
	}
	sink, err := out.open(ctx, c)
	if err != nil {
		return err
	}
	sink.sharedVersion = misp.SharedVersion
	sink.sameMISP = sink.push()
	// MISP's distribution: what an organisation keeps to itself or a
	// sharing group stays out of the exchange unless asked for; a feed is
	// published (MISP itself ignores the levels in a feed's files).
	convOpts := misp.Options{CreatedBy: sink.me, NoMarkingObjects: sink.push(), KeepRestricted: feed || *includeRestricted}
	sink.rerun = "and the same import run again stores only what is missing (the rest is \"already there\")"
	imp := &mispImport{c: c, sink: sink, http: source, key: sourceKey, tty: logIsTerminal(c.stderr), unsupp: map[string]int{},
		conv: misp.NewConverter(convOpts)}
	if !feed {
		if err := imp.document(ctx, src, isURL); err != nil {
			sink.abort()
			return err
		}
		err := sink.close(ctx)
		imp.summary()
		return err
	}
	state := *stateFile
	if state == "" {
		if state, err = defaultStatePath(base, out.target()); err != nil {
			return err
		}
	}
	for round := 0; ; round++ {
		// Every round checks the node's log again before it sends
		// anything (the first did when the sink opened): a node made
		// again, another server at the address or a fork stops the
		// follower, as it would a new run.
		if round > 0 && sink.push() && out.trust != nil {
			if err := out.trust.checkSendTarget(ctx, c, out.url, out.token); err != nil {
				return err
			}
		}
		err := imp.feed(ctx, base, isURL, state, *full)
		switch {
		case err != nil:
			sink.abort()
		case *poll == 0:
			err = sink.close(ctx)
		}
		imp.summary()
		if err != nil && *poll > 0 && ctx.Err() != nil {
			fmt.Fprintln(c.stderr, "parley: import: stopped; the next run resumes from the state file")
			return nil
		}
		var conflicts *conflictsError
		if err != nil && *poll > 0 && errors.As(err, &conflicts) {
			// Trying again would stall the follower on the same conflict:
			// it stops, and says how to go past it.
			fmt.Fprintln(c.stderr, "parley: import: stopped following the feed: with --on-conflict fail a conflict ends the follow (exit 4); --on-conflict skip reports conflicts and goes on")
			return err
		}
		if err != nil && *poll > 0 {
			// A follower outlives a node or feed that is briefly away: the
			// round is retried whole, as the state file says nothing of it.
			c.printError(err)
			fmt.Fprintf(c.stderr, "parley: import: this round failed; trying again in %s\n", *poll)
			stats := imp.conv.Stats
			imp.conv = misp.NewConverter(convOpts)
			imp.conv.Stats = stats
			sink.seen, sink.batch, sink.batchBytes, sink.failed = map[[sha256.Size]byte]struct{}{}, nil, 0, nil
			err = nil
		}
		if err != nil || *poll == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			// Stopped between rounds (or right after one that finished).
			fmt.Fprintln(c.stderr, "parley: import: stopped; the next run resumes from the state file")
			return nil
		case <-time.After(*poll):
		}
		*full = false
	}
}

// feedBase says whether src is a feed and returns its base (a folder, or
// a URL ending in '/').
func feedBase(src string, isURL bool) (bool, string) {
	if isURL {
		if strings.HasSuffix(src, "/manifest.json") {
			return true, strings.TrimSuffix(src, "manifest.json")
		}
		if strings.HasSuffix(src, ".json") {
			return false, ""
		}
		return true, strings.TrimSuffix(src, "/") + "/"
	}
	if filepath.Base(src) == "manifest.json" {
		return true, filepath.Dir(src)
	}
	if _, err := os.Stat(filepath.Join(src, "manifest.json")); err == nil {
		return true, src
	}
	return false, ""
}

// defaultStatePath is the state file of one feed imported into one
// output, under the user's cache directory.
func defaultStatePath(base, target string) (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", usageErrorf("give --state FILE", "couldn't find a cache directory for the import state: %v", err)
	}
	if !strings.Contains(base, "://") {
		if abs, err := filepath.Abs(base); err == nil {
			base = abs
		}
	}
	h := sha256.Sum256([]byte(base + "\n" + target))
	return filepath.Join(d, "parley", "misp-feeds", hex.EncodeToString(h[:8])+".json"), nil
}

// mispSourceClient returns the client that fetches an http(s):// source
// (trusting the CA in caFile if given, else the system's roots) and the
// MISP automation key read from keyFile (or ""). Both flags are refused
// for a local source, where they could only be a mistake.
func mispSourceClient(warn io.Writer, caFile, keyFile string, isURL bool) (*http.Client, string, error) {
	if !isURL && (caFile != "" || keyFile != "") {
		return nil, "", usageErrorf("--source-ca and --source-key-file are for an http(s):// SOURCE", "the source is a local file or folder")
	}
	client := newHTTPClient(nil)
	if caFile != "" {
		var err error
		if client, err = clientWithCAFlag("--source-ca", caFile); err != nil {
			return nil, "", err
		}
	}
	client.Timeout = 2 * time.Minute
	key := ""
	if keyFile != "" {
		warnReadable(warn, keyFile, "the MISP automation key file")
		b, err := untrusted.ReadFile(keyFile, maxSecretFile)
		if err != nil {
			return nil, "", usageErrorf("", "couldn't read --source-key-file: %v", err)
		}
		key = strings.TrimSpace(string(b))
		if key == "" || strings.ContainsAny(key, "\r\n") {
			return nil, "", usageErrorf("the file holds the MISP automation key alone, on one line", "--source-key-file %s holds no key", keyFile)
		}
	}
	// Redirects stay on the source's origin, with a key or without
	// (newHTTPClient): a feed's server, or whoever answers for it on
	// plain http, can't send the import to another host (the loopback
	// interface, the cloud's metadata address, a private network).
	return client, key, nil
}

// open reads a local file or GETs a URL (its body bounded by the readers).
func (imp *mispImport) open(ctx context.Context, name string, isURL bool) (io.ReadCloser, error) {
	if !isURL {
		f, err := os.Open(name)
		if err != nil {
			return nil, usageErrorf("", "couldn't read %s: %w", name, err)
		}
		return f, nil
	}
	// The URL is shown without its user information and query
	// ([shownURL]): a feed behind HTTP Basic authentication has its
	// password there.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, name, nil)
	if err != nil {
		return nil, usageErrorf("", "bad URL %s", shownURL(name))
	}
	req.Header.Set("Accept", "application/json")
	if imp.key != "" {
		// MISP's automation key goes in the Authorization header as is.
		// net/http drops it when a redirect leaves the host.
		req.Header.Set("Authorization", imp.key)
	}
	resp, err := imp.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// For a refused redirect, the URL is the server's Location
			// header: bounded.
			ue.URL = untrusted.Text(shownURL(ue.URL), 512)
		}
		return nil, withExit(4, "", fmt.Errorf("couldn't fetch %s: %w", shownURL(name), err))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		err := fmt.Errorf("couldn't fetch %s: %s", shownURL(name), statusText(resp.StatusCode))
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			err = fmt.Errorf("%w (%w)", err, os.ErrNotExist)
		}
		return nil, withExit(4, "", err)
	}
	return resp.Body, nil
}

// missingEvent reports whether err says that a feed's event file isn't
// there (no file, or 404 or 410 from its server): the manifest lists an
// event the feed doesn't serve. MISP skips such an event when it fetches
// a feed; so does the import, which warns and leaves the event out of the
// state, so that the next run tries it again.
func missingEvent(err error) bool {
	return errors.Is(err, os.ErrNotExist)
}

// document imports MISP events from a file, a folder of .json files or
// a URL.
func (imp *mispImport) document(ctx context.Context, src string, isURL bool) error {
	names := []string{src}
	if !isURL {
		if fi, err := os.Stat(src); err == nil && fi.IsDir() {
			names, _ = untrusted.FilesIn(src, "*.json")
			sort.Strings(names)
			if len(names) == 0 {
				return usageErrorf("give a MISP event file, a feed folder (with manifest.json) or a folder of event .json files", "%s holds no .json files", src)
			}
		}
	}
	if err := imp.check(ctx, names, isURL); err != nil {
		return err
	}
	for _, name := range names {
		if err := imp.events(ctx, name, isURL, nil); err != nil {
			return err
		}
	}
	return nil
}

// check reads local documents whole before anything is pushed, so that
// a malformed event in any of them refuses the import and stores
// nothing. A document fetched over HTTP isn't read twice: its events are
// pushed as they come, and a malformed one stops the import after those
// before it (the error and the sink's abort say so).
func (imp *mispImport) check(ctx context.Context, names []string, isURL bool) error {
	if !imp.sink.push() || isURL {
		return nil
	}
	for _, name := range names {
		r, err := imp.open(ctx, name, false)
		if missingEvent(err) {
			continue // warned about when it is read
		}
		if err != nil {
			return err
		}
		err = misp.ReadEvents(r, func(*misp.Event) error { return nil })
		r.Close()
		if err != nil {
			return mispFormatError(name, err)
		}
	}
	return nil
}

// mispFormatError is the error for a document that is not MISP JSON.
func mispFormatError(name string, err error) error {
	return usageErrorf("give MISP JSON: {\"Event\": ...}, {\"response\": [...]} or a feed", "%s: %v", name, err)
}

// revokeGone, for an event of a feed pushed to a node, pushes a revoked
// version of each indicator, observed-data, note, vulnerability or
// campaign that this feed wrote for ev in an earlier run (imp.pushed)
// and ev no longer makes: an attribute MISP removed from the event (MISP's
// feeds leave deleted attributes out) or
// whose to_ids changed (indicator--U became observed-data--U). Without
// it the node would keep serving the old indicator to every reader and
// matcher. Only objects made from this event (x_misp_event_uuid) are
// revoked, never galaxy clusters; the revoked version is the node's own
// with "revoked": true, dated by the event's timestamp (or 1 ms after
// the version it revokes), signed by the member.
func (imp *mispImport) revokeGone(ctx context.Context, ev *misp.Event, res *misp.Result) error {
	s := imp.sink
	// Only what this feed itself wrote for the event in an earlier run
	// (its state file lists the ids): another feed, even one imported by
	// the same member, that lists a trusted event's uuid with nothing in
	// it (or once with one attribute of its own, then with nothing) must
	// not revoke the objects the trusted feed made of that event. And not
	// far in the future: a revoked version dated there would stay the
	// latest for good.
	prev := imp.pushed[ev.UUID]
	if len(prev) == 0 {
		return nil
	}
	if time.Unix(int64(ev.Timestamp), 0).After(time.Now().Add(24 * time.Hour)) {
		imp.clearProgress()
		fmt.Fprintf(imp.c.stderr, "parley: import: warning: event %s is dated more than a day ahead; nothing of it is revoked\n", ev.UUID)
		return nil
	}
	now := map[string]bool{}
	for _, k := range revocableKeys(res) {
		id, _, _ := strings.Cut(k, " ")
		now[id] = true
	}
	// The version this feed wrote of each object it no longer makes: the
	// node's latest version must be that one (another import, such as a
	// hostile feed reusing the trusted feed's attribute uuids, may have
	// written the same id).
	wrote := map[string]time.Time{}
	var gone []string
	for _, k := range prev {
		id, version, _ := strings.Cut(k, " ")
		v, err := stix.ParseTimestamp(version)
		if err != nil || now[id] {
			continue
		}
		if _, dup := wrote[id]; !dup {
			gone = append(gone, id)
		}
		wrote[id] = v
	}
	sort.Strings(gone)
	revoked := 0
	for len(gone) > 0 {
		chunk := gone[:min(len(gone), 100)]
		gone = gone[len(chunk):]
		env, err := s.client.Objects(ctx, s.collID, taxii.Query{IDs: chunk, Limit: len(chunk)})
		if errors.Is(err, taxii.ErrNotFound) {
			continue
		}
		if err != nil {
			return withExit(3, "", fmt.Errorf("couldn't read the node's copy of event %s: %w", ev.UUID, err))
		}
		for _, raw := range env.Objects {
			key, obj, ok := revokedCopy(raw, ev, s.me, wrote)
			if !ok {
				continue
			}
			if err := s.add(ctx, key, obj); err != nil {
				return err
			}
			revoked++
		}
	}
	imp.gone += revoked
	if revoked > 0 {
		imp.clearProgress()
		fmt.Fprintf(imp.c.stderr, "parley: import: event %s: %d attributes or objects the node holds are gone from the event or changed kind: revoked\n", ev.UUID, revoked)
	}
	return nil
}

// revocableKeys returns the keys ("id version") of the objects of res
// that revokeGone may revoke once the event no longer makes them: what is
// made of one attribute or MISP object (never shared objects such as
// galaxy clusters, identities or markings).
func revocableKeys(res *misp.Result) []string {
	var keys []string
	for _, k := range res.Keys {
		id, _, _ := strings.Cut(k, " ")
		typ, _, _ := strings.Cut(id, "--")
		switch typ {
		case "indicator", "observed-data", "note", "vulnerability", "campaign":
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// revokedCopy returns the revoked version of raw, an object the node
// holds that ev no longer makes (see revokeGone), or false when raw is
// revoked already, was not made from ev, was not created by me (the
// importing member: another member's import of the same event is theirs
// to revoke, and the node would refuse it), or is not the version of it
// that wrote names (the version this feed wrote).
func revokedCopy(raw json.RawMessage, ev *misp.Event, me string, wrote map[string]time.Time) (string, json.RawMessage, bool) {
	plain, err := stix.StripSignature(raw)
	if err != nil {
		return "", nil, false
	}
	dec := json.NewDecoder(strings.NewReader(string(plain)))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return "", nil, false
	}
	if r, _ := m["revoked"].(bool); r || m["x_misp_event_uuid"] != ev.UUID || m["created_by_ref"] != me {
		return "", nil, false
	}
	prev, err := stix.ParseTimestamp(fmt.Sprint(m["modified"]))
	if w, ok := wrote[fmt.Sprint(m["id"])]; err != nil || !ok || !w.Equal(prev) {
		return "", nil, false
	}
	t := time.Unix(int64(ev.Timestamp), 0).UTC()
	if !t.After(prev) {
		t = prev.Add(time.Millisecond)
	}
	m["revoked"], m["modified"] = true, stix.FormatTimestamp(t)
	b, err := json.Marshal(m)
	if err != nil {
		return "", nil, false
	}
	return fmt.Sprint(m["id"]) + " " + stix.FormatTimestamp(t), b, true
}

// errWrongFeedEvent is returned by events for a feed's event file that
// holds another event than the manifest names it for.
var errWrongFeedEvent = errors.New("the event file holds another event than its name in the manifest")

// events reads the events of one document into the sink; each event and
// what it was converted to go to done when given, which only a feed gives
// (its event files are whole events: see revokeGone).
func (imp *mispImport) events(ctx context.Context, name string, isURL bool, done func(*misp.Event, *misp.Result)) error {
	r, err := imp.open(ctx, name, isURL)
	if err != nil {
		return err
	}
	defer r.Close()
	err = misp.ReadEvents(r, func(ev *misp.Event) error {
		if imp.feedEvent != "" && !strings.EqualFold(ev.UUID, imp.feedEvent) {
			return fmt.Errorf("%w: %s holds event %s", errWrongFeedEvent, imp.feedEvent+".json", untrusted.Text(ev.UUID, 64))
		}
		res := imp.conv.Convert(ev)
		if imp.sink.push() && done != nil {
			// Only a feed's event files are whole events: a REST search
			// with attribute filters (type, tags, to_ids) gives events
			// with only the matching attributes.
			if err := imp.revokeGone(ctx, ev, res); err != nil {
				return err
			}
		}
		for _, u := range res.Unsupported {
			// The event's own text (a type, a value) goes to the
			// terminal: its control characters are replaced.
			imp.unsupp[untrusted.Text(u.Kind+" "+u.Name, 200)]++
			imp.clearProgress()
			fmt.Fprintf(imp.c.stderr, "parley: import: unsupported: %s\n", untrusted.Text(u.String(), 4096))
		}
		for i, o := range res.Objects {
			if err := imp.sink.add(ctx, res.Keys[i], o); err != nil {
				return err
			}
		}
		if done != nil {
			done(ev, res)
		}
		imp.progress()
		return nil
	})
	var ee *exitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, errWrongFeedEvent) {
		return mispFormatError(name, err)
	}
	return err
}

func (imp *mispImport) progress() {
	if imp.tty {
		st := imp.conv.Stats
		fmt.Fprintf(imp.c.stderr, "\r\033[Kparley: import: %d events, %d attributes, %d objects -> %d STIX objects", st.Events, st.Attributes, st.Objects, st.STIX)
	}
}

func (imp *mispImport) clearProgress() {
	if imp.tty {
		fmt.Fprint(imp.c.stderr, "\r\033[K")
	}
}

// leftOutNote says which objects a push leaves out that --out writes (the
// same input counts more objects with --out), "" when none.
func leftOutNote(st misp.Stats) string {
	var parts []string
	if n := st.CreatorsLeftOut; n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s of the MISP organisation%s that created the events (the objects name your member identity as their creator)", n, plural(n, "identity", "identities"), plural(n, "", "s")))
	}
	if n := st.MarkingsLeftOut; n > 0 {
		parts = append(parts, fmt.Sprintf("%d TLP marking %s (the node has them)", n, plural(n, "definition", "definitions")))
	}
	if len(parts) == 0 {
		return ""
	}
	return ", not counting what a push leaves out and --out writes: " + strings.Join(parts, " and ")
}

// plural returns one for n == 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// summary prints the counts and the unsupported kinds.
func (imp *mispImport) summary() {
	imp.clearProgress()
	st := imp.conv.Stats
	gone := ""
	if imp.gone > 0 {
		gone = fmt.Sprintf("; %d gone from their events: revoked", imp.gone)
	}
	fmt.Fprintf(imp.c.stderr, "parley: import: %d events, %d attributes, %d MISP objects, %d galaxy clusters, %d sightings (%d deleted: %d revoked%s) -> %d STIX objects%s\n",
		st.Events, st.Attributes, st.Objects, st.Clusters, st.Sightings, st.Deleted, st.Revoked, gone, st.STIX+imp.gone, leftOutNote(st))
	if st.Restricted > 0 {
		fmt.Fprintf(imp.c.stderr, "parley: import: %d events, attributes, objects or galaxy clusters left out: MISP's distribution keeps them in your organisation or a sharing group (--include-restricted imports them)\n", st.Restricted)
	}
	if st.Local > 0 {
		fmt.Fprintf(imp.c.stderr, "parley: import: %d local tags left out (with the galaxy clusters they attach): MISP never shares them with other instances\n", st.Local)
	}
	if len(imp.unsupp) > 0 {
		var parts []string
		total := 0
		for _, k := range sortedKeysInt(imp.unsupp) {
			parts = append(parts, fmt.Sprintf("%s (%d)", k, imp.unsupp[k]))
			total += imp.unsupp[k]
		}
		fmt.Fprintf(imp.c.stderr, "parley: import: %d unsupported, not imported: %s\n", total, strings.Join(parts, ", "))
	}
}

func sortedKeysInt(m map[string]int) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// feedState is what a state file remembers: per event uuid, the manifest
// timestamp last imported, and the keys ("id version") of the revocable
// objects this feed wrote for the event then (see revokeGone). A state file written before
// Objects was kept has none: the objects of its events are revoked once
// their event has been imported again.
type feedState struct {
	Feed    string                    `json:"feed"`
	Events  map[string]misp.Timestamp `json:"events"`
	Objects map[string][]string       `json:"objects,omitempty"`
}

func readFeedState(name, feed string) (*feedState, error) {
	st := &feedState{Feed: feed, Events: map[string]misp.Timestamp{}, Objects: map[string][]string{}}
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, usageErrorf("", "couldn't read the state file: %v", err)
	}
	if err := json.Unmarshal(b, st); err != nil || st.Events == nil {
		return nil, usageErrorf("delete it to import the whole feed again, or use --full", "%s is not an import state file", name)
	}
	if st.Objects == nil {
		st.Objects = map[string][]string{}
	}
	return st, nil
}

func (st *feedState) write(name string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return withExit(3, "", fmt.Errorf("couldn't save the import state: %w", err))
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := replaceFile(name, b); err != nil {
		return withExit(3, "", fmt.Errorf("couldn't save the import state: %w", err))
	}
	return nil
}

// feed imports the events of a feed that changed since the state.
func (imp *mispImport) feed(ctx context.Context, base string, isURL bool, stateFile string, full bool) error {
	join := func(name string) string {
		if isURL {
			return base + name
		}
		return filepath.Join(base, name)
	}
	r, err := imp.open(ctx, join("manifest.json"), isURL)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(r, misp.MaxDocument+1))
	r.Close()
	if err != nil {
		return withExit(4, "", fmt.Errorf("couldn't read the manifest: %w", err))
	}
	manifest, err := misp.ParseManifest(data)
	if err != nil {
		return usageErrorf("a MISP feed's manifest.json maps event uuids to their info and timestamp", "%v", err)
	}
	shown := base
	if isURL {
		shown = shownURL(base)
	}
	st, err := readFeedState(stateFile, shown)
	if err != nil {
		return err
	}
	seen := st.Events
	imp.pushed = st.Objects
	if full {
		seen = nil
	}
	changed := misp.Changed(manifest, seen)
	fmt.Fprintf(imp.c.stderr, "parley: import: feed %s: %d events, %d new or changed (state in %s)\n", shown, len(manifest), len(changed), stateFile)
	files := make([]string, len(changed))
	for i, id := range changed {
		files[i] = join(id + ".json")
	}
	if err := imp.check(ctx, files, isURL); err != nil {
		return err
	}
	pending := map[string]misp.Timestamp{}
	pendingObjects := map[string][]string{}
	missing := 0
	for _, id := range changed {
		imp.feedEvent = id
		err := imp.events(ctx, join(id+".json"), isURL, func(ev *misp.Event, res *misp.Result) {
			pending[id] = manifest[id].Timestamp
			pendingObjects[id] = revocableKeys(res)
		})
		imp.feedEvent = ""
		if errors.Is(err, errWrongFeedEvent) {
			imp.clearProgress()
			fmt.Fprintf(imp.c.stderr, "parley: import: warning: %v: skipped\n", err)
			continue
		}
		if missingEvent(err) {
			missing++
			imp.clearProgress()
			fmt.Fprintf(imp.c.stderr, "parley: import: warning: event %s is in the manifest but the feed has no file for it: skipped, tried again next run (%v)\n", id, err)
			continue
		}
		if err != nil {
			return err
		}
	}
	if missing > 0 {
		fmt.Fprintf(imp.c.stderr, "parley: import: feed %s: %d events of the manifest had no file\n", shown, missing)
	}
	// Only what reached the output counts as imported.
	if err := imp.sink.sync(ctx); err != nil {
		return err
	}
	for id, t := range pending {
		st.Events[id] = t
		st.Objects[id] = pendingObjects[id]
	}
	return st.write(stateFile)
}

// --- iocs and csv ---

func importLines(ctx context.Context, c *cli, kind string, args []string) error {
	fs := c.newFlagSet("import " + kind)
	var out importOut
	out.register(fs)
	tags := fs.String("tags", "", "comma-separated `TAGS` for every indicator (tlp:green and the like become TLP 2.0 markings)")
	createdFlag := fs.String("created", "", "the indicators' created and valid_from `TS` (default now; the same TS makes a re-import add nothing)")
	var columns *string
	if kind == "csv" {
		columns = fs.String("columns", "", "the CSV's columns in order, such as value,type,comment (see parley import --help)")
	}
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("parley import "+kind+" [flags] FILE", "import %s needs one FILE (- for standard input)", kind)
	}
	var cols []string
	if kind == "csv" {
		if *columns == "" {
			return usageErrorf("such as --columns value,type,comment", "import csv needs --columns")
		}
		if cols, err = ioc.ParseColumns(*columns); err != nil {
			return usageErrorf("", "bad --columns: %v", err)
		}
	}
	if err := out.check(c, args); err != nil {
		return err
	}
	if err := out.notInput(pos[0]); err != nil {
		return err
	}
	created := time.Now().UTC()
	if *createdFlag != "" {
		if created, err = stix.ParseTimestamp(*createdFlag); err != nil {
			return usageErrorf("write it like 2026-01-02T15:04:05Z", "bad --created: %v", err)
		}
	}
	var common []string
	for _, t := range strings.Split(*tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			common = append(common, t)
		}
	}
	var r io.Reader = c.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return usageErrorf("", "couldn't read %s: %v", pos[0], err)
		}
		defer f.Close()
		r = f
	}
	if out.url != "" {
		// Envelopes go to the node as the input is read: the whole input
		// is read once before, so that a malformed record anywhere
		// refuses it before anything is stored.
		f, cleanup, err := checkedInput(kind, pos[0], r, cols)
		if err != nil {
			return err
		}
		defer cleanup()
		r = f
	}
	sink, err := out.open(ctx, c)
	if err != nil {
		return err
	}
	sink.rerun = fmt.Sprintf("and the same import run again with --created %s stores only what is missing (without it, every indicator gets a new version)", stix.FormatTimestamp(created.Truncate(time.Millisecond)))
	if !sink.push() {
		for _, m := range misp.Markings(common) {
			sink.add(ctx, string(m), m)
		}
	}
	var made, bad int
	one := func(line int, typ, value, comment, category string, rowTags []string) error {
		pat := ""
		if typ == "" {
			v, ok := ioc.Recognize(ioc.Refang(value))
			if !ok {
				bad++
				fmt.Fprintf(c.stderr, "parley: import: line %d: not recognised: %q\n", line, value)
				return nil
			}
			typ, value, pat = v.MISPType(), v.Value, v.Pattern()
		}
		allTags := append(append([]string{}, common...), rowTags...)
		if !sink.push() {
			for _, m := range misp.Markings(rowTags) {
				sink.add(ctx, string(m), m)
			}
		}
		obj, err := misp.Indicator(misp.Single{Type: typ, Value: value, Pattern: pat, Comment: comment, Category: category, Tags: allTags, Created: created, CreatedBy: sink.me})
		if err != nil {
			bad++
			fmt.Fprintf(c.stderr, "parley: import: line %d: %s %q: %v\n", line, typ, value, err)
			return nil
		}
		made++
		return sink.add(ctx, string(obj), obj)
	}
	if err := readRecords(kind, pos[0], r, cols, one); err != nil {
		sink.abort()
		return err
	}
	if made == 0 && bad > 0 {
		// Nothing was queued, so nothing was pushed.
		sink.abort()
		hint := "one value a line: addresses, CIDRs, domains, URLs, hashes, e-mail addresses"
		if kind == "csv" {
			hint = "check --columns against the file"
		}
		return usageErrorf(hint, "none of the %d lines of %s could be imported", bad, pos[0])
	}
	err = sink.close(ctx)
	fmt.Fprintf(c.stderr, "parley: import: %d indicators, %d lines not imported\n", made, bad)
	return err
}

// readRecords calls fn for each value of an iocs input (one a line,
// cleaned; empty lines and comments skipped) or each row of a CSV input.
// A malformed input fails with exit status 2 and the line; an error from
// fn is returned as it is.
func readRecords(kind, name string, r io.Reader, cols []string, fn func(line int, typ, value, comment, category string, tags []string) error) error {
	if kind == "iocs" {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), maxIOCLine)
		n := 0
		for sc.Scan() {
			n++
			v := ioc.Clean(sc.Text())
			if v == "" {
				continue
			}
			if err := fn(n, "", v, "", "", nil); err != nil {
				return err
			}
		}
		if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
			return usageErrorf("one value a line", "%s: line %d is longer than %d MiB", name, n+1, maxIOCLine>>20)
		} else if err != nil {
			return usageErrorf("one value a line", "couldn't read %s after line %d: %v", name, n, err)
		}
		return nil
	}
	err := ioc.ReadCSV(r, cols, func(row ioc.Row) error {
		return fn(row.Line, row.Type, row.Value, row.Comment, row.Category, row.Tags)
	})
	var ee *exitError
	if err != nil && !errors.As(err, &ee) {
		return usageErrorf("check --columns against the file", "%s: %v", name, err)
	}
	return err
}

// maxIOCLine is the longest line of an iocs input.
const maxIOCLine = 1 << 20

// checkedInput reads the input r (named name) whole with readRecords and
// returns it again from its start, for a second reading: the file itself,
// or for standard input a temporary copy, which cleanup removes. A
// malformed input fails as readRecords does.
func checkedInput(kind, name string, r io.Reader, cols []string) (io.Reader, func(), error) {
	cleanup := func() {}
	f, ok := r.(*os.File)
	if ok {
		// Standard input, or a pipe named on the command line, can't
		// be read again.
		_, err := f.Seek(0, io.SeekCurrent)
		ok = err == nil
	}
	if !ok {
		tmp, err := os.CreateTemp("", "parley-import-*")
		if err != nil {
			return nil, nil, withExit(3, "", fmt.Errorf("couldn't keep a copy of the input: %w", err))
		}
		cleanup = func() { tmp.Close(); os.Remove(tmp.Name()) }
		if _, err := io.Copy(tmp, r); err != nil {
			cleanup()
			return nil, nil, withExit(3, "", fmt.Errorf("couldn't keep a copy of the input: %w", err))
		}
		f = tmp
	}
	rewind := func() error {
		_, err := f.Seek(0, io.SeekStart)
		return err
	}
	if err := rewind(); err != nil {
		cleanup()
		return nil, nil, withExit(3, "", fmt.Errorf("couldn't read %s again: %w", name, err))
	}
	err := readRecords(kind, name, f, cols, func(int, string, string, string, string, []string) error { return nil })
	if err == nil {
		err = rewind()
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return f, cleanup, nil
}

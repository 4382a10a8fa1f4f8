package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
	gnote "golang.org/x/mod/sumdb/note"
)

// The witnessing worker gets the log's checkpoints cosigned: it runs
// beside the integrator, never inside it, so that a witness that is slow or
// down delays only the cosignatures, never integration or receipts. Its
// row is in the worker table ([Node.workers], routes.go).

// checkWitnesses checks the witnesses of config.json: each has a URL and
// a valid cosignature verifier key, and no key is listed twice.
func checkWitnesses(ws []WitnessConfig) error {
	seen := map[string]bool{}
	for i, w := range ws {
		if w.URL == "" {
			return fmt.Errorf("witness %d has no url", i+1)
		}
		// The URL is not quoted: it may hold a password.
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("witness %d: its url isn't http(s) with a host", i+1)
		}
		if u.RawQuery != "" || u.ForceQuery {
			return fmt.Errorf("witness %d: its url has a query; give the witness's prefix (https://witness.example/w1)", i+1)
		}
		if w.Key == "" {
			return fmt.Errorf("witness %d has no key (its cosignature verifier key, as parley witness init printed it)", i+1)
		}
		// The rules of a policy's witness key (type 0x04 only).
		if _, err := tlog.NewWitnessPolicy([]string{w.Key}, 1); err != nil {
			return fmt.Errorf("witness %d: %w", i+1, err)
		}
		if w.Mode != "" && w.Mode != "push" && w.Mode != "pull" {
			return fmt.Errorf("witness %d: mode %.20q isn't \"push\" (the node submits its checkpoints) or \"pull\" (the witness pulls the log)", i+1, w.Mode)
		}
		if seen[w.Key] {
			return fmt.Errorf("witness %d: key listed twice", i+1)
		}
		seen[w.Key] = true
	}
	return nil
}

// withCosignatures returns the cosigned note of the checkpoint of that
// size when the store has one, and note (the plain one) otherwise.
func withCosignatures(ctx context.Context, ls store.Store, size int64, note []byte) []byte {
	if note == nil {
		return note
	}
	if c, err := ls.CosignedCheckpoint(ctx, size); err == nil {
		return c
	}
	return note
}

// LogWitnessingOptions tune a [LogWitnessing]; the zero value is the
// production setting.
type LogWitnessingOptions struct {
	// Interval is how often it looks for a new checkpoint. Default 100 ms
	// (the integrator's).
	Interval time.Duration
	// Retry is how long a witness that failed waits before it is tried
	// again with the same checkpoint; a newer checkpoint is submitted to it
	// at once. Default 10 s.
	Retry time.Duration
	// Timeout bounds one submission to one witness. Default 10 s.
	Timeout time.Duration
	// Recosign is how long after a witness last cosigned the latest
	// checkpoint it is submitted again, unchanged, while the log is quiet
	// (C2SP tlog-witness: the same checkpoint, old size = its size, no
	// proof), so that the latest cosignature of a tree without an entry
	// appended later is never older than this: an entry back-dated into a
	// quiet period is then flagged (docs/witness.md, "Quiet periods").
	// Default [DefaultRecosign].
	Recosign time.Duration
	// PullInterval is how often the latest cosigned checkpoint of each
	// pulling witness ("mode": "pull") is fetched. Default 10 s.
	PullInterval time.Duration
	// Logger receives the failures (each witness's distinct failure once
	// until it succeeds again); nil means slog.Default().
	Logger *slog.Logger
}

// LogWitnessing submits each new checkpoint of a node's log to the
// witnesses of its configuration (C2SP tlog-witness add-checkpoint) and
// stores the checkpoint with every cosignature collected appended, which
// GET /log/checkpoint, bundles and receipts then serve.
type LogWitnessing struct {
	n    *Node
	ls   store.Store
	cs   store.CosignedCheckpoints
	opts LogWitnessingOptions
	ws   []*nodeWitness
	// stored is the size of the checkpoint last stored (or found stored)
	// with the cosignatures this process has of it, at storedAt; see
	// Step.
	stored   int64
	storedAt time.Time
	// waiting is whether the last Step held the checkpoint back from the
	// witnesses because it lacks an entry received too long ago (logged
	// once per wait).
	waiting bool
	// addMu serializes addStored's read-modify-write of a stored cosigned
	// checkpoint between the pulling witnesses fetched in one step.
	addMu sync.Mutex
}

// maxUncoveredAge is how long ago the first entry missing from the latest
// checkpoint may have been received for the checkpoint still to be
// submitted to the witnesses. A cosignature tells clients that the log had
// that size when the witness signed it, so an entry received earlier than
// the cosignature's time minus the clients' clock skew, yet missing from
// it, is flagged as back-dated (docs/witness.md, "Time"). Entries wait that
// long only when the node stopped with entries not yet integrated, or its
// integration lags or fails: the witnessing then waits for a checkpoint
// that includes them, rather than let the witnesses vouch for a tree
// without them.
const maxUncoveredAge = 30 * time.Second

// DefaultRecosign is how often the node has an unchanged checkpoint
// cosigned again while its log is quiet ([LogWitnessingOptions.Recosign]).
const DefaultRecosign = time.Minute

// idleRecheck is how often an idle witnessing (see Step) reads the stored
// cosigned checkpoint again.
const idleRecheck = 5 * time.Second

type nodeWitness struct {
	cfg        WitnessConfig
	name       string // cfg.URL without a password, for the log
	client     *witness.Client
	policy     *tlog.Policy // this witness alone, to check its cosignatures
	size       int64        // the size of the checkpoint of first and latest
	first      []byte       // its first cosignature line(s) of that checkpoint
	latest     []byte       // its latest re-cosignature line(s) of it, nil if none
	at         time.Time    // when (node's clock) it last cosigned that checkpoint
	pull       bool         // it pulls the log: fetched, never submitted to
	fetched    time.Time    // when (node's clock) a pulling one was last fetched
	failed     time.Time    // when it last failed with checkpoint size failedSize
	failedSize int64
	// forkSize is the size of the latest checkpoint the witness refused
	// because it holds another checkpoint of that size (witness.ErrFork:
	// the same request would get the same answer); it isn't submitted
	// to the witness again. 0 if none.
	forkSize int64
	lastErr  string
}

// keyName is the name of the witness's key (its verifier key up to the
// first '+'), which names it in the metrics.
func (w *nodeWitness) keyName() string {
	name, _, _ := strings.Cut(w.cfg.Key, "+")
	return name
}

// NewLogWitnessing returns the witnessing of n's log by the witnesses of
// its configuration.
func NewLogWitnessing(n *Node, opts LogWitnessingOptions) (*LogWitnessing, error) {
	ls, cs := n.store, n.store
	if err := checkWitnesses(n.cfg.Witnesses); err != nil {
		return nil, err
	}
	if opts.Interval <= 0 {
		opts.Interval = 100 * time.Millisecond
	}
	if opts.Retry <= 0 {
		opts.Retry = 10 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Recosign <= 0 {
		opts.Recosign = DefaultRecosign
	}
	if opts.PullInterval <= 0 {
		opts.PullInterval = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	lw := &LogWitnessing{n: n, ls: ls, cs: cs, opts: opts}
	for i, w := range n.cfg.Witnesses {
		pol, err := tlog.NewWitnessPolicy([]string{w.Key}, 1)
		if err != nil {
			return nil, err
		}
		hc, err := witnessClient(n.dir, i, w)
		if err != nil {
			return nil, err
		}
		lw.ws = append(lw.ws, &nodeWitness{cfg: w, name: redactedURL(w.URL), client: &witness.Client{URL: w.URL, HTTP: hc}, policy: pol, pull: w.Mode == "pull"})
	}
	return lw, nil
}

// witnessHTTP is the client of the node's witnesses: redirects stay on a
// witness's origin, whose URL may carry a user and password.
var witnessHTTP = &http.Client{CheckRedirect: untrusted.SameOriginRedirects}

// witnessClient returns the HTTP client for the i-th witness w of the
// node in dir: witnessHTTP (the system's roots), or, when w names a CA
// file, a client that trusts only the CA certificates in it (redirects
// still kept on the witness's origin).
func witnessClient(dir string, i int, w WitnessConfig) (*http.Client, error) {
	if w.CA == "" {
		return witnessHTTP, nil
	}
	ca := w.CA
	if !filepath.IsAbs(ca) {
		ca = filepath.Join(dir, ca)
	}
	hc, err := peer.HTTPClient(ca)
	if err != nil {
		return nil, fmt.Errorf("witness %d: %w", i+1, err)
	}
	return hc, nil
}

// checkWitnessCAs reads the CA file of each witness that names one, so
// that a missing or bad file stops the node from opening rather than its
// witnessing.
func checkWitnessCAs(dir string, ws []WitnessConfig) error {
	for i, w := range ws {
		if _, err := witnessClient(dir, i, w); err != nil {
			return fmt.Errorf("couldn't use %s: %w", filepath.Join(dir, ConfigFile), err)
		}
	}
	return nil
}

// Run submits new checkpoints until ctx is done, then returns ctx's
// error. A failed step is retried at the next tick; a failure that lasts
// is logged when it begins, when its text changes, every [failureRelog]
// and once when it ends.
func (lw *LogWitnessing) Run(ctx context.Context) error {
	t := time.NewTicker(lw.opts.Interval)
	defer t.Stop()
	// A failure that repeats at every tick (the store down for minutes:
	// ten a second) is logged when it begins, when its text changes and
	// every failureRelog while it lasts, and its end once. (The
	// integrator logs a failure when its text changes, without the
	// relog; the peers' failureLog tells failures apart by kind, not
	// text.)
	var last string
	var lastAt time.Time
	for {
		_, err := lw.Step(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			if now := time.Now(); err.Error() != last || now.Sub(lastAt) >= failureRelog {
				lw.opts.Logger.Error("couldn't get the checkpoint cosigned", "err", err)
				last, lastAt = err.Error(), now
			}
		case err == nil && last != "":
			lw.opts.Logger.Info("getting the checkpoint cosigned works again")
			last = ""
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Step submits the latest checkpoint to each witness that hasn't cosigned
// it (and isn't waiting to retry it), or cosigned it Recosign ago or more
// (a quiet log), fetches each pulling witness's latest cosigned
// checkpoint every PullInterval, stores the checkpoint with the
// cosignatures collected for it (each witness's first and latest), and
// returns how many witnesses have cosigned it. A witness's failure is logged, not returned: it is tried
// again after Retry or with the next checkpoint.
func (lw *LogWitnessing) Step(ctx context.Context) (int, error) {
	size, note, err := lw.ls.LatestCheckpoint(ctx)
	if errors.Is(err, store.ErrNotFound) || (err == nil && size == 0) {
		return 0, nil // nothing a witness can cosign (C2SP: size > 0)
	}
	if err != nil {
		return 0, err
	}
	// Every witness cosigned this checkpoint and the store held it with
	// their cosignatures when last looked at: nothing to do, and nothing
	// more to read (a step runs every Interval, on every front end). It
	// is looked at again every idleRecheck, since another front end
	// that collected fewer cosignatures may have stored its note over
	// this one's.
	if size == lw.stored && lw.allCosigned(size) && lw.n.now().Sub(lw.storedAt) < idleRecheck && !lw.recosignDue() {
		count := 0
		for _, w := range lw.ws {
			if w.size == size {
				count++
			}
		}
		return count, nil
	}
	// Every step until then: another front end on the same store may
	// have collected cosignatures of this checkpoint since (it has no
	// lease for this).
	lw.loadCosigned(ctx, size, note)
	held, err := lw.holdBack(ctx, size)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	var wg sync.WaitGroup
	for _, w := range lw.ws {
		if w.pull {
			if lw.n.now().Sub(w.fetched) >= lw.opts.PullInterval || lw.n.now().Before(w.fetched) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					lw.fetch(ctx, w, size, note)
				}()
			}
			continue
		}
		// A witness that cosigned this checkpoint gets it again only
		// after Recosign (the log is quiet): a later cosignature of a
		// tree without the entries appended next bounds their received
		// times from below (docs/witness.md, "Quiet periods").
		if held || (w.size == size && lw.n.now().Sub(w.at) < lw.opts.Recosign) || (w.failedSize == size && now.Sub(w.failed) < lw.opts.Retry) || w.forkSize == size {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lw.submit(ctx, w, size, note)
		}()
	}
	wg.Wait()
	cosigned := bytes.Clone(note)
	count := 0
	for _, w := range lw.ws {
		if w.size == size {
			cosigned = append(append(cosigned, w.first...), w.latest...)
			count++
		}
	}
	if count == 0 {
		return 0, nil
	}
	have, err := lw.cs.CosignedCheckpoint(ctx, size)
	if err == nil && bytes.HasPrefix(have, note) {
		// Cosignatures by witnesses this front end doesn't know stay:
		// another front end's config.json lists more witnesses (a
		// witness added, the front ends restarted one by one), and
		// one with the older list would otherwise store the note
		// again without them, for every checkpoint until it restarts.
		cosigned = append(cosigned, lw.othersLines(have[len(note):], size)...)
	}
	if err == nil && bytes.Equal(have, cosigned) {
		lw.stored, lw.storedAt = size, lw.n.now()
		return count, nil
	}
	if err := lw.cs.PutCosignedCheckpoint(ctx, size, cosigned); err != nil {
		return count, err
	}
	lw.stored, lw.storedAt = size, lw.n.now()
	return count, nil
}

// allCosigned reports whether every witness the node submits to has
// cosigned the checkpoint of that size (a pulling one cosigns when it
// polls: it is fetched on its own schedule, see recosignDue).
func (lw *LogWitnessing) allCosigned(size int64) bool {
	for _, w := range lw.ws {
		if !w.pull && w.size != size {
			return false
		}
	}
	return true
}

// recosignDue reports whether a witness that cosigned the latest
// checkpoint is due to cosign it again (Recosign since it last did), or
// a pulling witness is due to be fetched.
func (lw *LogWitnessing) recosignDue() bool {
	now := lw.n.now()
	for _, w := range lw.ws {
		if w.pull && (now.Sub(w.fetched) >= lw.opts.PullInterval || now.Before(w.fetched)) {
			return true
		}
		if !w.pull && now.Sub(w.at) >= lw.opts.Recosign {
			return true
		}
	}
	return false
}

// loadCosigned takes, for each witness, its valid cosignature of the
// checkpoint of that size from the store's cosigned checkpoint, as if this
// process had collected it. A node that restarts, or another front end on the same store, so doesn't ask its
// witnesses to cosign again a checkpoint they cosigned: the new
// cosignature, later, would replace the earliest witnessed time of the
// entries it covers (the bound on their received times), and says nothing
// new.
func (lw *LogWitnessing) loadCosigned(ctx context.Context, size int64, note []byte) {
	have, err := lw.cs.CosignedCheckpoint(ctx, size)
	if err != nil || !bytes.HasPrefix(have, note) {
		return // none stored, unreadable, or of another note: ask the witnesses
	}
	i := bytes.LastIndex(have, []byte("\n\n"))
	if i < 0 {
		return
	}
	sigs := have[i+2:]
	for _, w := range lw.ws {
		line := keyLines(sigs, w.policy.Witnesses[0].Key)
		if len(line) == 0 {
			continue
		}
		if _, err := tlog.CheckQuorum(w.policy, have); err != nil {
			continue
		}
		if w.size != size {
			// New to this process (a restart, another front end's):
			// due again Recosign from now.
			w.size, w.first, w.latest, w.at = size, nil, nil, lw.n.now()
		}
		w.merge(line)
	}
}

// merge adds cosignature lines of w's key of the checkpoint of w.size to
// what w has of it, keeping the earliest as first (the bound of the
// entries the checkpoint includes: never replaced by a later one) and the
// latest as latest (the bound of the entries appended after it).
func (w *nodeWitness) merge(lines []byte) {
	all := keyLines(append(append(bytes.Clone(w.first), w.latest...), lines...), w.policy.Witnesses[0].Key)
	var first, latest string
	var firstAt, latestAt uint64
	for _, l := range strings.SplitAfter(string(all), "\n") {
		t, ok := lineTime(l)
		if !ok {
			continue
		}
		if first == "" || t < firstAt {
			first, firstAt = l, t
		}
		if latest == "" || t > latestAt {
			latest, latestAt = l, t
		}
	}
	w.first, w.latest = []byte(first), nil
	if latest != first {
		w.latest = []byte(latest)
	}
}

// lineTime returns the timestamp of a cosignature line (cosignature/v1 or
// a timestamped ML-DSA-44 one: key ID, then a big-endian uint64).
func lineTime(line string) (uint64, bool) {
	_, _, sig, ok := tlog.SignatureLine(strings.TrimSuffix(line, "\n"))
	if !ok || len(sig) < 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(sig), true
}

// holdBack reports whether the checkpoint of that size must not be
// submitted yet: the log has an entry it doesn't include that was received
// more than maxUncoveredAge ago (by the node's clock, which stamped it).
func (lw *LogWitnessing) holdBack(ctx context.Context, size int64) (bool, error) {
	seq, err := lw.ls.LogSize(ctx)
	if err != nil {
		return false, err
	}
	if seq <= size {
		lw.waiting = false
		return false, nil
	}
	es, err := lw.ls.Entries(ctx, size, size+1)
	if err != nil {
		return false, err
	}
	if len(es) == 0 {
		lw.waiting = false
		return false, nil
	}
	age := lw.n.now().Sub(es[0].Received)
	if age <= maxUncoveredAge {
		lw.waiting = false
		return false, nil
	}
	if !lw.waiting {
		lw.opts.Logger.Info("waiting for a checkpoint that includes the log's older entries before asking witnesses to cosign: a cosignature of this one would show them back-dated", "size", size, "entry", size, "received", es[0].Received.UTC().Format(time.RFC3339), "age", age.Round(time.Second).String())
		lw.waiting = true
	}
	return true, nil
}

func (lw *LogWitnessing) submit(ctx context.Context, w *nodeWitness, size int64, note []byte) {
	ctx, cancel := context.WithTimeout(ctx, lw.opts.Timeout)
	defer cancel()
	prove := func(ctx context.Context, from, to uint64) ([]tlog.Hash, error) {
		return tlog.ConsistencyProof(ctx, from, to, hashReader(int64(to), lw.ls, lw.n.tiles))
	}
	line, err := w.client.Submit(ctx, note, prove)
	if err == nil {
		// Keep only the configured key's cosignature, and only if it
		// verifies (C2SP tlog-witness: the client ignores cosignatures
		// from unknown keys and keeps the valid ones): a witness that
		// answers garbage, or lines the node can't check, must not make
		// the served note unverifiable for a client that knows more keys.
		line = keyLines(line, w.policy.Witnesses[0].Key)
		if len(line) == 0 {
			err = errors.New("its answer has no cosignature by its configured key")
		} else if _, qerr := tlog.CheckQuorum(w.policy, append(bytes.Clone(note), line...)); qerr != nil {
			err = fmt.Errorf("its cosignature doesn't verify: %w", qerr)
		}
	}
	if err != nil {
		w.failed, w.failedSize = time.Now(), size
		// The witness holds a larger checkpoint than this one, and the
		// store holds one at least as large: another front end on the same
		// store got a checkpoint integrated and cosigned after this
		// step read the latest (several front ends submit, none holds
		// a lease for it). Not a failure: the next step submits the
		// newer checkpoint. Logged, it was a WARN "the log went back to
		// a smaller tree" several times a minute on every front end of
		// a busy node. A rollback the store doesn't explain (restored
		// from an older backup) is still logged below.
		origin, _, _ := bytes.Cut(note, []byte("\n"))
		if errors.Is(err, witness.ErrRollback) && lw.storedAtLeast(ctx, int64(w.client.Size(string(origin)))) {
			return
		}
		// C2SP tlog-witness's 422 for equal sizes with different roots
		// (409 before C2SP/C2SP#280; witness.Client reads both):
		// the witness holds a checkpoint of this size with another root
		// signed by the node's key. Asked again, it answers the same:
		// this checkpoint isn't submitted to it again (the next one is,
		// and refused as inconsistent while the witness's view stays).
		fork := errors.Is(err, witness.ErrFork)
		if fork {
			w.forkSize = size
		}
		// C2SP tlog-witness's 422: the consistency proof from the
		// checkpoint the witness holds to this one doesn't verify, so
		// the node's tree doesn't extend it. (A 409 naming a larger size
		// than this checkpoint's, witness.ErrRollback, isn't taken for
		// one: another front end on the same store may have submitted
		// a newer checkpoint first.)
		inconsistent := errors.Is(err, witness.ErrInconsistent)
		if inconsistent {
			lw.n.metrics.witnessRefused(w.keyName(), size, lw.n.now())
		}
		// Distinct failures once each; a rollback (the node restored from
		// an older backup) once, not at each new checkpoint; an
		// inconsistency once until the witness cosigns again.
		if witness.FailureKey(err) != w.lastErr {
			switch {
			case fork:
				lw.opts.Logger.Error("a witness holds another checkpoint of this size signed by the node's key: the node's log forked (its key signed another tree) or the witness is wrong; integration goes on, and this checkpoint isn't submitted to it again", "witness", w.name, "size", size, "err", err)
			case inconsistent:
				lw.opts.Logger.Error(fmt.Sprintf("witness %s refuses checkpoint size %d as inconsistent with the checkpoint it holds: this log may have forked, e.g. restored from an older backup and fed new entries; members' audits will flag a split view. Integration goes on; the witness cosigns none of this log's checkpoints until its view is settled (docs/witness.md, \"A witness refuses the node's checkpoints\")", w.name, size), "witness", w.name, "size", size, "err", err)
			default:
				lw.opts.Logger.Warn("a witness didn't cosign the checkpoint; integration goes on, retrying later", "witness", w.name, "size", size, "err", err)
			}
			w.lastErr = witness.FailureKey(err)
		}
		return
	}
	lw.cosigns(w, size)
	if w.size != size {
		w.size, w.first, w.latest = size, nil, nil
	}
	w.merge(line)
	w.at = lw.n.now()
}

// othersLines returns the signature lines among lines (a stored note's,
// of the tree of that size) that this front end doesn't put in itself:
// those of witnesses it doesn't know, and of witnesses it knows that
// haven't cosigned that size for it (its submission failed, while
// another front end's got through and stored the cosignature).
func (lw *LogWitnessing) othersLines(lines []byte, size int64) []byte {
	var out []byte
	for _, l := range strings.SplitAfter(string(lines), "\n") {
		if !strings.HasSuffix(l, "\n") {
			continue
		}
		mine := false
		for _, w := range lw.ws {
			if w.size == size && len(keyLines([]byte(l), w.policy.Witnesses[0].Key)) > 0 {
				mine = true
				break
			}
		}
		if !mine {
			out = append(out, l...)
		}
	}
	return out
}

// storedAtLeast reports whether the store's latest checkpoint is at
// least size (false when it can't be read: the rollback is then logged).
func (lw *LogWitnessing) storedAtLeast(ctx context.Context, size int64) bool {
	latest, _, err := lw.ls.LatestCheckpoint(ctx)
	return err == nil && latest >= size
}

// cosigns logs, once, that a witness that failed cosigns again; a
// refusal as inconsistent it made is over.
func (lw *LogWitnessing) cosigns(w *nodeWitness, size int64) {
	if w.lastErr != "" {
		lw.n.metrics.witnessRefused(w.keyName(), 0, time.Time{})
		lw.opts.Logger.Info("a witness cosigns again", "witness", w.name, "size", size)
		w.lastErr = ""
	}
}

// fetch reads a pulling witness's latest cosigned checkpoint of the log
// (monitor retrieval) and, when it is one of the node's own checkpoints
// (signed by the node's key, of a size the log has had, with the node's
// root at that size) with a valid cosignature by the witness's configured
// key, keeps that cosignature: in w when it is of the latest checkpoint
// (size, note), which Step then stores, else added to the stored
// cosigned checkpoint of its size. Its first and latest cosignature of a
// checkpoint are kept, as a pushed witness's are.
func (lw *LogWitnessing) fetch(ctx context.Context, w *nodeWitness, size int64, note []byte) {
	w.fetched = lw.n.now()
	ctx, cancel := context.WithTimeout(ctx, lw.opts.Timeout)
	defer cancel()
	cpSize, lines, plain, err := lw.fetchCosigned(ctx, w, size, note)
	if err == nil && cpSize < size {
		err = lw.addStored(ctx, w, cpSize, plain, lines)
	}
	if err != nil {
		if witness.FailureKey(err) != w.lastErr {
			lw.opts.Logger.Warn("couldn't take a pulling witness's cosignature; retrying later", "witness", w.name, "size", size, "err", err)
			w.lastErr = witness.FailureKey(err)
		}
		return
	}
	lw.cosigns(w, cpSize)
	if cpSize == size {
		if w.size != size {
			w.size, w.first, w.latest = size, nil, nil
		}
		w.merge(lines)
		w.at = lw.n.now()
	}
}

// fetchCosigned fetches and checks a pulling witness's latest cosigned
// checkpoint of the log, whose latest checkpoint is note (of size size):
// it returns its size, the witness's cosignature line(s) and the
// checkpoint with the log's signature(s) only.
func (lw *LogWitnessing) fetchCosigned(ctx context.Context, w *nodeWitness, size int64, note []byte) (int64, []byte, []byte, error) {
	b, err := w.client.Checkpoint(ctx, lw.n.verifier.Name())
	if err != nil {
		return 0, nil, nil, err
	}
	cp, err := tlog.OpenCheckpoint(b, lw.n.verifier)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("its checkpoint isn't one the node's key signed: %w", err)
	}
	if cp.Size == 0 || cp.Size > uint64(size) {
		// Larger: another front end's newer checkpoint, taken at a later
		// fetch; or not this log's at all.
		return 0, nil, nil, fmt.Errorf("its checkpoint has size %d, not one of the node's sizes 1 to %d", cp.Size, size)
	}
	n, err := tlog.OpenNote(b, gnote.VerifierList(lw.n.verifier))
	if err != nil {
		return 0, nil, nil, err
	}
	if cp.Size == uint64(size) {
		if !bytes.HasPrefix(note, []byte(n.Text+"\n")) {
			return 0, nil, nil, fmt.Errorf("its checkpoint of size %d isn't the node's", cp.Size)
		}
	} else {
		root, err := tlog.TreeRoot(ctx, cp.Size, hashReader(size, lw.ls, lw.n.tiles))
		if err != nil {
			return 0, nil, nil, fmt.Errorf("couldn't compute the node's root at size %d: %w", cp.Size, err)
		}
		if root != cp.Hash {
			return 0, nil, nil, fmt.Errorf("its checkpoint of size %d has another root than the node's tree: the log's key signed a tree the node doesn't have", cp.Size)
		}
	}
	plain, err := gnote.Sign(&gnote.Note{Text: n.Text, Sigs: n.Sigs})
	if err != nil {
		return 0, nil, nil, err
	}
	i := bytes.LastIndex(b, []byte("\n\n"))
	lines := keyLines(b[i+2:], w.policy.Witnesses[0].Key)
	if len(lines) == 0 {
		return 0, nil, nil, errors.New("its checkpoint has no cosignature by its configured key")
	}
	if _, err := tlog.CheckQuorum(w.policy, append(bytes.Clone(plain), lines...)); err != nil {
		return 0, nil, nil, fmt.Errorf("its cosignature doesn't verify: %w", err)
	}
	if cp.Size == uint64(size) {
		plain = note
	}
	return int64(cp.Size), lines, plain, nil
}

// addStored adds w's cosignature lines of the checkpoint of that size
// (plain: with the log's signatures only) to the stored cosigned
// checkpoint of that size (or plain, when none is stored), keeping w's
// first and latest, and stores it if that changed it.
func (lw *LogWitnessing) addStored(ctx context.Context, w *nodeWitness, size int64, plain, lines []byte) error {
	lw.addMu.Lock()
	defer lw.addMu.Unlock()
	base := plain
	have, err := lw.cs.CosignedCheckpoint(ctx, size)
	switch {
	case err == nil:
		text, terr := tlog.SplitNote(plain)
		if terr != nil || !bytes.HasPrefix(have, append(text, '\n')) {
			return fmt.Errorf("the stored cosigned checkpoint of size %d isn't the one the witness cosigned", size)
		}
		base = have
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	i := bytes.LastIndex(base, []byte("\n\n"))
	if i < 0 {
		return fmt.Errorf("the cosigned checkpoint of size %d has no signatures", size)
	}
	sigs := base[i+2:]
	mine := keyLines(sigs, w.policy.Witnesses[0].Key)
	tmp := &nodeWitness{policy: w.policy}
	tmp.merge(append(bytes.Clone(mine), lines...))
	out := bytes.Clone(base[:i+2])
	for _, l := range strings.SplitAfter(string(sigs), "\n") {
		if l != "" && !bytes.Contains(mine, []byte(l)) {
			out = append(out, l...)
		}
	}
	out = append(append(out, tmp.first...), tmp.latest...)
	if bytes.Equal(out, have) {
		return nil
	}
	return lw.cs.PutCosignedCheckpoint(ctx, size, out)
}

// keyLines returns the note signature lines among lines ("— name base64\n"
// each) by the key of vkey (its name and key ID), each distinct line once.
func keyLines(lines []byte, vkey string) []byte {
	v, err := tlog.NewCosignatureVerifier(vkey)
	if err != nil {
		return nil
	}
	var out []byte
	seen := map[string]bool{}
	for _, l := range strings.SplitAfter(string(lines), "\n") {
		if !strings.HasSuffix(l, "\n") || seen[l] {
			continue
		}
		name, id, _, ok := tlog.SignatureLine(strings.TrimSuffix(l, "\n"))
		if !ok || name != v.Name() || id != v.KeyHash() {
			continue
		}
		seen[l] = true
		out = append(out, l...)
	}
	return out
}

// Package peer is federation between Parley nodes (docs/federation.md):
// a node follows another node's verifiable log (docs/log.md, C2SP
// tlog-checkpoint and tlog-tiles) as one of that node's members, verifies
// everything it reads against the peer's pinned log key, and stores the
// objects of one of the peer's collections in a local read-only
// collection, with their provenance in the peer's log.
//
// For each round the [Follower] checks the peer's signed checkpoint (its
// signature, the witness policy, and its consistency with the last
// checkpoint accepted, keeping split-view evidence in the tlog format when
// it isn't), then reads the entries after its stored position in steps:
// every entry is hashed into the peer's tree kept here, which must reach
// the signed root (or be proved a prefix of it by a consistency proof), so
// every entry is proved included; the member key entries are replayed into
// a [tlog.KeyHistory]; and each object of the followed collection is
// checked against its entry (commitment, opening) and its member signature
// against the key that history shows in force. A step's objects are then
// stored (an identical version is stored once, so a step redone after a
// crash duplicates nothing) and the step is recorded in one transaction.
package peer

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/slowlink"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

// MemberPrefix begins the name of the local member a peer's objects are
// stored under: "peer:" + the peer's name.
const MemberPrefix = "peer:"

// MemberName returns the local member name of the peer named name.
func MemberName(name string) string { return MemberPrefix + name }

// DefaultStep is the most entries of the peer's log one step reads (the
// span of one GET /log/objects).
const DefaultStep = 4096

// DefaultStepBytes is the most bytes of objects one step holds by
// default, and one object more: see [Config.StepBytes].
const DefaultStepBytes = 64 << 20

// ErrFork is returned (wrapped) by [Follower.Round] when the peer signed a
// checkpoint inconsistent with one accepted before: replication of that
// peer stops for good, with the evidence kept.
var ErrFork = errors.New("the peer signed inconsistent checkpoints")

// ErrStopped is returned by [Follower.Round] for a peer whose replication
// was stopped (after a fork).
var ErrStopped = errors.New("replication of this peer is stopped")

// Config is what a [Follower] is built with.
type Config struct {
	// Store is the node's store.
	Store store.Store
	// Dir is the node's data directory; evidence goes under Dir/evidence.
	Dir string
	// HTTP is the client for the peer (nil: one trusting the system's
	// roots, or the peer's CAFile when it has one).
	HTTP *http.Client
	// Now and Rand are injected; nil means time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
	// Step is the most entries one step reads; 0 means [DefaultStep].
	Step int
	// StepBytes bounds the objects one step holds: a step ends after the
	// object that takes its objects' JSON to StepBytes bytes or more, so
	// that the peer's objects, whatever their size, take at most
	// StepBytes and one object more (one GET /log/objects response at
	// most, which tlog.Client bounds) per step; with the step prepared
	// ahead, twice that. 0 means [DefaultStepBytes].
	StepBytes int64
	// StepEntryBytes bounds the entries one step holds likewise: a step
	// ends after the entry that takes its entries to StepEntryBytes
	// bytes or more (an entry may be 64 KiB, tlog.MaxEntrySize; Parley
	// writes a few hundred bytes). 0 means [DefaultStepBytes].
	StepEntryBytes int64
	// Logger logs rounds; nil discards.
	Logger *slog.Logger
	// StallTimeout is how long a request to the peer may make no
	// progress (no response header, then no byte of its body) before it
	// is abandoned and the round ends with a [*StallError]; 0 means
	// [DefaultStallTimeout].
	StallTimeout time.Duration
	// MinRate is the slowest, in bytes a second, that a response body
	// may come once its request has run for longer than the HTTP
	// client's Timeout (RequestTimeout for the client of [HTTPClient]):
	// that Timeout doesn't cut a response that keeps coming at least
	// this fast (a large catch-up over a slow link), only one slower
	// (see [DefaultMinRate]); 0 means DefaultMinRate.
	MinRate int64
	// Heartbeat is how often a round records in the store the bytes it
	// has received from the peer and when the last came
	// ([store.PeerStore.BeatPeerRound]), when more came since the last
	// record, for `parley peer status` ([StatusAt]); 0 means
	// [DefaultHeartbeat]. Each beat also renews the round's lease.
	Heartbeat time.Duration
	// Owner names this process in the leases of its rounds
	// ([store.PeerStore.ClaimPeerRound]): unique per process; empty
	// means [store.ProcessRoundOwner].
	Owner string
	// Lease is how long a round's lease lasts unrenewed; 0 means
	// [DefaultRoundLease]. It must be several Heartbeats.
	Lease time.Duration
	// MaxVersionAhead is how far ahead of Now the version of a
	// replicated object (its opening's version: its modified, its
	// created, or for an object with neither the peer's date_added) may
	// be: a later one is refused as the node's own ingest refuses it
	// (node.MaxVersionAhead, which the node passes), and fails the step
	// ([ErrVersionAhead]). 0 means [DefaultMaxVersionAhead].
	MaxVersionAhead time.Duration
	// MaxKeyEntries bounds the member key entries of the peer's log
	// that the follower replicates: its key history, which it holds in
	// memory and replays at each round that starts anew, and the key
	// entries it reads back to check a key index, grow with each. A peer
	// that logs more (a hostile one rotating keys without end) fails the
	// step that holds the first entry past the bound ([ErrTooManyKeys]),
	// and replication waits at that entry, retried each round. 0 means
	// [DefaultMaxKeyEntries].
	MaxKeyEntries int
	// MaxKeyBytes bounds the bytes of those key entries likewise (an
	// entry may be up to 64 KiB, its member id as long); 0 means
	// [DefaultMaxKeyBytes].
	MaxKeyBytes int64
}

// DefaultMaxKeyBytes is [Config.MaxKeyBytes] by default: 256 MiB, about
// a million key entries of the size Parley writes.
const DefaultMaxKeyBytes = 256 << 20

// DefaultMaxKeyEntries is [Config.MaxKeyEntries] by default: a million
// registrations, rotations and revocations, hundreds of times what a
// node of thousands of members, each rotating its key now and then,
// logs.
const DefaultMaxKeyEntries = 1 << 20

// ErrTooManyKeys is wrapped by the error of a step holding a member key
// entry past [Config.MaxKeyEntries] or [Config.MaxKeyBytes].
var ErrTooManyKeys = errors.New("the peer's log holds more member key entries than this node replicates")

// DefaultMaxVersionAhead is [Config.MaxVersionAhead] by default: 100
// years, node.MaxVersionAhead.
const DefaultMaxVersionAhead = 100 * 365 * 24 * time.Hour

// ErrMarking is wrapped by the error of a step holding a marking
// definition that A's own ingest refuses (stix.Validator): one under the
// id of a predefined TLP marking with other content (TLP:RED's id saying
// TLP:CLEAR), or a TLP level redefined under another id. A's readers, and
// their tools, take a TLP marking by its id. It is skipped and recorded
// as refused ([Skipped]).
var ErrMarking = errors.New("the marking definition is invalid")

// ErrIDForm is wrapped by the error of an object whose id isn't of the
// form type--UUID of its own type, as A's own ingest requires: the
// peer's text would become an id of A's collection, in its URLs and
// answers. It is skipped and recorded as refused ([Skipped]).
var ErrIDForm = errors.New("the object's id isn't of the form this node accepts")

// idFormError is an [ErrIDForm] that reads as "the object's id: ERR".
type idFormError struct{ err error }

func (e idFormError) Error() string        { return "the object's id: " + e.err.Error() }
func (e idFormError) Unwrap() error        { return e.err }
func (e idFormError) Is(target error) bool { return target == ErrIDForm }

// markingValidator checks replicated marking definitions.
var markingValidator = &stix.Validator{}

// ErrVersionAhead is wrapped by the error of a step holding an object
// whose version is dated more than [Config.MaxVersionAhead] ahead of the
// follower's clock: the version that stands is the one with the greatest
// modified, and one dated 9999-12-31 could never be replaced or revoked
// by a later version the peer logs. The node's own ingest refuses such a
// version from its members (node.MaxVersionAhead), and so does a peer
// running a Parley that checks it: only a peer that doesn't (an older
// Parley, or a hostile or compromised one) logs it. Unlike an object the
// peer's log doesn't prove, it doesn't fail the step: it is skipped, and
// recorded as refused ([Skipped]); before, replication of the peer
// waited at that entry for good, each round refused the same way.
var ErrVersionAhead = errors.New("the object's version is dated too far ahead of this node's clock")

// DefaultRoundLease is how long a round's lease lasts unless its process
// renews it ([Config.Lease]): six heartbeats. Of several processes on one
// store (front ends of one node), one runs a peer's round at a time, and
// another counts it as interrupted only once its lease has expired.
const DefaultRoundLease = 30 * time.Second

// ErrBusy: another process (a front end sharing the store) runs a round
// of the peer under a lease that hasn't expired; the round did nothing
// and isn't counted.
var ErrBusy = errors.New("another process runs a round of the peer")

// ErrLeaseLost: the round's lease expired before it could be renewed
// (the process paused past it, or the store was unreachable that long),
// and another process counted the round as interrupted: the round
// stopped (a step it had prepared is refused by the store under the
// round's lease, [store.ErrFenced]), and recorded nothing of its own.
var ErrLeaseLost = errors.New("the round's lease expired and another process took the peer over")

// DefaultHeartbeat is how often a round records its transfer by default
// ([Config.Heartbeat]).
const DefaultHeartbeat = 5 * time.Second

// Follower replicates one peer. It is not safe for concurrent use; run one
// per peer per node (the store's position check refuses a second one's
// steps).
type Follower struct {
	cfg    Config
	name   string
	key    note.Verifier
	policy *tlog.Policy

	// The replicated state, rebuilt from the store when nil; keyCount
	// and keyBytes are the number of key entries in keys and their bytes.
	keys     *tlog.KeyHistory
	builder  *tlog.TileBuilder
	keyCount int
	keyBytes int64

	// lease is the lease of the round running (Round), which fences its
	// steps ([store.PeerStep].Round).
	lease store.RoundLease

	// held is the evidence of a fork that couldn't be written (a full
	// disk), written at each later round until a write succeeds.
	heldMu sync.Mutex
	held   *heldFork
}

// heldFork is evidence of a fork kept in memory after its write failed.
type heldFork struct {
	ev    []byte
	cause string
}

// HoldsEvidence reports whether the follower holds evidence of a fork
// that it couldn't write yet: its peer is stopped, and [Follower.Round]
// must still be called (each round tries the write again) until it
// doesn't.
func (f *Follower) HoldsEvidence() bool {
	f.heldMu.Lock()
	defer f.heldMu.Unlock()
	return f.held != nil
}

func (f *Follower) heldEvidence() *heldFork {
	f.heldMu.Lock()
	defer f.heldMu.Unlock()
	return f.held
}

func (f *Follower) setHeld(h *heldFork) {
	f.heldMu.Lock()
	defer f.heldMu.Unlock()
	f.held = h
}

// New returns a follower of the peer named name, as recorded in the store.
func New(cfg Config, p store.Peer) (*Follower, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Step <= 0 {
		cfg.Step = DefaultStep
	}
	if cfg.StepBytes <= 0 {
		cfg.StepBytes = DefaultStepBytes
	}
	if cfg.StepEntryBytes <= 0 {
		cfg.StepEntryBytes = DefaultStepBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.MinRate <= 0 {
		cfg.MinRate = DefaultMinRate
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultRoundLease
	}
	if cfg.MaxVersionAhead <= 0 {
		cfg.MaxVersionAhead = DefaultMaxVersionAhead
	}
	if cfg.MaxKeyEntries <= 0 {
		cfg.MaxKeyEntries = DefaultMaxKeyEntries
	}
	if cfg.MaxKeyBytes <= 0 {
		cfg.MaxKeyBytes = DefaultMaxKeyBytes
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = min(DefaultHeartbeat, cfg.Lease/6)
	}
	if cfg.Owner == "" {
		cfg.Owner = store.ProcessRoundOwner()
	}
	v, err := tlog.NewVerifier(p.LogKey)
	if err != nil {
		return nil, fmt.Errorf("couldn't follow peer %s: its log key: %w", p.Name, err)
	}
	f := &Follower{cfg: cfg, name: p.Name, key: v}
	if p.Policy != "" {
		if f.policy, err = tlog.ParsePolicy([]byte(p.Policy)); err != nil {
			return nil, fmt.Errorf("couldn't follow peer %s: its witness policy: %w", p.Name, err)
		}
	}
	return f, nil
}

// MaxErrorText bounds the text of an error of [Follower.Round], which the
// node logs and records in the peer's state.
const MaxErrorText = 1000

// clippedError is an error whose text is cut to MaxErrorText bytes, its
// control and bidi characters replaced.
type clippedError struct{ err error }

func (e clippedError) Error() string { return untrusted.Text(e.err.Error(), MaxErrorText) }
func (e clippedError) Unwrap() error { return e.err }

// StalledPrefix begins the error of a round abandoned because a request
// to the peer made no progress ([ErrStalled]), as recorded in the peer's
// LastError: no other error of a round begins with it (each begins with
// the follower's own words), so that [StatusAt] tells a stall from the
// peer's own text.
const StalledPrefix = "stalled: "

// stalledRound is the error of a round abandoned on a [*StallError].
type stalledRound struct{ err error }

func (e stalledRound) Error() string { return StalledPrefix + e.err.Error() }
func (e stalledRound) Unwrap() error { return e.err }

// peer reads the peer's record afresh.
func (f *Follower) peer(ctx context.Context) (store.Peer, error) {
	ps, err := f.cfg.Store.Peers(ctx)
	if err != nil {
		return store.Peer{}, err
	}
	for _, p := range ps {
		if p.Name == f.name {
			return p, nil
		}
	}
	return store.Peer{}, fmt.Errorf("couldn't find peer %s: %w", f.name, store.ErrNotFound)
}

// client returns a log client for the peer, reading its token file now.
// A URL that [CheckURL] refuses (a peer recorded by an older version with
// credentials in its URL) is refused here too, before it is used or
// written into fork evidence.
func (f *Follower) client(p store.Peer) (*tlog.Client, error) {
	if err := CheckURL(p.URL); err != nil {
		return nil, fmt.Errorf("peer %s: %w", p.Name, err)
	}
	tok, err := ReadToken(p.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", p.Name, err)
	}
	hc := f.cfg.HTTP
	if hc == nil {
		if hc, err = HTTPClient(p.CAFile); err != nil {
			return nil, err
		}
	}
	return &tlog.Client{URL: p.URL, Token: tok, HTTP: withProgressDeadline(hc, f.cfg.StallTimeout, f.cfg.MinRate)}, nil
}

// Source returns a client of the peer's log (its checkpoint and tiles,
// read with the peer's token), for a witness that pulls it.
func (f *Follower) Source(p store.Peer) (*tlog.Client, error) { return f.client(p) }

// Result is what one [Follower.Round] did.
type Result struct {
	// Entries, Objects and Keys count what this round replicated.
	Entries, Objects, Keys int64
	// Next is the position after the round; RemoteSize the peer's size.
	Next, RemoteSize int64
	// Evidence is the evidence file written when the round found a fork.
	Evidence string
}

// Round replicates the peer up to its latest checkpoint. Each step it
// completes is durable; on an error the position stays after the last
// completed step and the error is recorded in the peer's state (a fork
// stops the peer for good: [ErrFork]). It may be called again after any
// error, or after a crash at any point, and then continues exactly where
// the stored position is.
//
// The error's text is at most [MaxErrorText] bytes (it is logged each
// round and recorded, and parts of it are the peer's: object ids, its
// messages), cut short with "…" when longer; errors.Is and errors.As still
// see what it wraps.
func (f *Follower) Round(ctx context.Context) (Result, error) {
	res, err := f.round(ctx)
	err = roundError(err)
	if err != nil {
		// Anything half-applied in memory (a step that failed, or the
		// next step prepared while it was stored) is rebuilt from the
		// store, which holds only the steps recorded.
		f.keys, f.builder = nil, nil
	}
	return res, err
}

// roundError is err as [Follower.Round] returns and records it: a stall
// begins with [StalledPrefix], and the text is cut to [MaxErrorText], with
// control characters (terminal escapes) and bidi controls replaced
// ([untrusted.Text]) however short it is: the peer's text (an object's
// id, quoted by a check deep down) may be in it, and the node logs it and
// records it for `parley peer status`. It leaves an error it made as it
// is.
func roundError(err error) error {
	if se := (*StallError)(nil); errors.As(err, &se) && !errors.As(err, new(stalledRound)) {
		err = stalledRound{err}
	}
	if err != nil && untrusted.Text(err.Error(), MaxErrorText) != err.Error() {
		err = clippedError{err}
	}
	return err
}

// recorded reports whether err, the error of a round that held its
// peer, is recorded as the round's failure: not a stop (the stop is what
// the status says), nor a round taken over (the process that took it
// over counted it), nor the node stopping (ctx done: a round cut short).
func recorded(ctx context.Context, err error) bool {
	return !errors.Is(err, ErrStopped) && !errors.Is(err, ErrFork) && !errors.Is(err, ErrFalseKeyIndex) && !errors.Is(err, ErrLeaseLost) && ctx.Err() == nil
}

func (f *Follower) round(ctx context.Context) (res Result, err error) {
	p, err := f.peer(ctx)
	if err != nil {
		return res, err
	}
	// Evidence of a fork whose write failed is written before anything
	// else, the peer being stopped or not: it was stopped when the write
	// failed, and nothing would ever write it after.
	if h := f.heldEvidence(); h != nil {
		return res, f.writeHeld(ctx, p, h, &res)
	}
	if p.State.Stopped != "" {
		return res, fmt.Errorf("%w: %s", ErrStopped, p.State.Stopped)
	}
	// The round claims the peer, under a lease, and is marked in the
	// store while it runs, for `parley peer status` in another process;
	// another process's round (a front end sharing the store) is left to
	// it. Nothing is recorded of a round that didn't claim the peer.
	started := f.cfg.Now()
	lease := store.RoundLease{Owner: f.cfg.Owner, Started: started, Expires: started.Add(f.cfg.Lease)}
	// The claim is not cut short by ctx: a claim that the store committed
	// as ctx ended (PostgreSQL answering after the cancellation) would
	// return an error with the mark made, and no end would ever clear it.
	// Once made, the round ends at once with ctx done, and end clears it.
	if err := ctx.Err(); err != nil {
		return res, err
	}
	cctx, cancelClaim := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	ok, err := f.cfg.Store.ClaimPeerRound(cctx, p.Name, lease)
	cancelClaim()
	if err != nil {
		return res, fmt.Errorf("couldn't record the start of a round of peer %s: %w", p.Name, err)
	}
	if !ok {
		return res, fmt.Errorf("peer %s: %w", p.Name, ErrBusy)
	}
	// A panic in claimed leaves the round marked (the process is about to
	// die): once its lease expires the round counts as interrupted, and
	// the peer is backed off, as a feed's is, rather than retried at full
	// rate by a node that its data keeps killing.
	f.lease = lease
	err = roundError(f.claimed(ctx, lease, &res))
	f.lease = store.RoundLease{}
	return res, f.end(ctx, p.Name, lease, res, err)
}

// end ends the round l of peer name, which returned res and err: its
// outcome (the error, or none for a round that stored no step, whose
// steps record their own) and the end of its mark in one transaction
// under its lease ([store.PeerStore.FinishPeerRound]), so that a round
// taken over (its lease expired and another process counted it, and may
// run the peer's round now) records nothing of its own, and no other
// process's round starts between the round's end and its record. It is
// recorded even when ctx is done (the node stopping), or the mark would
// outlive the round; a mark whose end couldn't be recorded (the store
// down) is taken back by this process's next round. It returns the
// round's error, wrapping [ErrLeaseLost] when the round was taken over.
func (f *Follower) end(ctx context.Context, name string, l store.RoundLease, res Result, err error) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if (err != nil && !recorded(ctx, err)) || (err == nil && res.Entries > 0) {
		if _, eerr := f.cfg.Store.EndPeerRound(cctx, name, l); eerr != nil {
			f.cfg.Logger.Warn("couldn't record the end of the round", "peer", name, "err", eerr)
		}
		return err
	}
	size, text := res.RemoteSize, ""
	if err != nil {
		text = err.Error()
		if size == 0 {
			size = -1 // the peer wasn't read: keep the size seen last
		}
	}
	ok, ferr := f.cfg.Store.FinishPeerRound(cctx, name, l, f.cfg.Now(), size, text)
	switch {
	case ferr != nil && err != nil:
		f.cfg.Logger.Warn("couldn't record the round's error", "peer", name, "err", ferr)
		return err
	case ferr != nil:
		return fmt.Errorf("couldn't record the round of peer %s: %w", name, ferr)
	case !ok:
		f.cfg.Logger.Warn("peer round taken over: its lease expired before its end was recorded; its outcome is not recorded", "peer", name)
		if err != nil {
			return fmt.Errorf("round of peer %s: %w: %w", name, ErrLeaseLost, err)
		}
		return fmt.Errorf("round of peer %s: %w", name, ErrLeaseLost)
	}
	return err
}

// claimed is the round of the peer that holds lease l, from its reading of
// the peer's record on; its caller records its end ([Follower.end]).
func (f *Follower) claimed(ctx context.Context, lease store.RoundLease, res *Result) (err error) {
	// Read again now that it holds the peer: another process's round may
	// have moved it on since.
	p, err := f.peer(ctx)
	if err != nil {
		return err
	}
	if p.State.Stopped != "" {
		return fmt.Errorf("%w: %s", ErrStopped, p.State.Stopped)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer func() {
		if err != nil && context.Cause(ctx) == ErrLeaseLost {
			err = fmt.Errorf("round of peer %s: %w: %w", p.Name, ErrLeaseLost, err)
		}
	}()
	// The bytes the round receives from the peer are counted, and
	// recorded with the round's mark every Heartbeat, which renews its
	// lease too: a step over a slow link records its position only when
	// it ends, and peer status tells from them a step still coming from
	// one that hangs. Stopped before the mark is cleared.
	meter := &slowlink.Meter{Now: f.cfg.Now}
	defer f.heartbeat(ctx, cancel, p.Name, lease, meter)()
	// Evidence of a fork kept by a round killed before it recorded the
	// stop (fork writes the evidence, then stops the peer) stops the peer
	// now: the peer may since show the history accepted here again, and
	// would be followed as if it had never forked.
	// So does evidence of a false key index (refuseKeyIndex writes it,
	// then stops the peer).
	if path, kind := f.keptEvidence(p); path != "" {
		reason := fmt.Sprintf("the peer signed inconsistent checkpoints (evidence kept in %s before the node stopped); replication stopped", path)
		msg := "split view: evidence of a fork was kept; replication stopped"
		if kind == ErrFalseKeyIndex {
			reason = fmt.Sprintf("the peer signed a false key index (evidence kept in %s before the node stopped); replication stopped", path)
			msg = "false key index: its evidence was kept; replication stopped"
		}
		f.cfg.Logger.Error(msg, "peer", p.Name, "evidence", path)
		if err := f.cfg.Store.StopPeer(ctx, p.Name, reason, path, f.cfg.Now()); err != nil {
			return fmt.Errorf("%w: %s, and couldn't record the stop: %v", kind, reason, err)
		}
		res.Evidence = path
		return fmt.Errorf("%w: %s", kind, reason)
	}
	// The peer's member revoked or removed stops the peer before the
	// peer is contacted: a peer that is down, or has logged nothing new,
	// would otherwise never reach the store that refuses its objects
	// (below, store), and be asked again and again with the token of a
	// party that was cut off, shown as followed.
	if revoked, err := f.memberRevoked(ctx, p); err != nil {
		return err
	} else if revoked {
		return f.stopRevoked(ctx, p)
	}
	res.Next = p.State.Next
	c, err := f.client(p)
	if err != nil {
		return err
	}
	c.HTTP = slowlink.Metered(c.HTTP, meter)
	signed, err := c.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("couldn't read the checkpoint of peer %s: %w", p.Name, err)
	}
	cp, err := f.accept(ctx, p, c, p.State.Checkpoint, signed, res)
	if err != nil {
		return err
	}
	// The peer's key index of the tree the round ends at, unless one is
	// stored for it already (keyindex.go).
	var index []byte
	// downgraded is the refusal of a peer that served the index of every
	// member and now serves none: the entries are replicated, and then
	// the round fails with it, as with an index of the older form.
	var downgraded error
	if f.wantKeyIndex(p, cp) {
		var missing string
		signed, cp, index, missing, err = f.fetchKeyIndex(ctx, p, c, signed, cp, res)
		if errors.Is(err, tlog.ErrKeyIndex) {
			downgraded, missing, err = err, untrusted.Text(err.Error(), 300), nil
		}
		if err != nil {
			return err
		}
		// Recorded (and logged) when it changes, not at every round.
		if missing != "" && missing != p.State.KeyIndexMissing {
			f.cfg.Logger.Warn("no key index of the peer", "peer", p.Name, "why", missing)
			if err := f.cfg.Store.RecordPeerKeyIndex(ctx, p.Name, 0, nil, nil, missing); err != nil {
				return err
			}
		}
	}
	if err := f.steps(ctx, p, c, signed, cp, index, res); err != nil {
		return err
	}
	if downgraded != nil {
		return downgraded
	}
	if res.Entries == 0 && index != nil && res.Next == int64(cp.Size) {
		// Caught up already: the index is recorded at the position.
		keys, err := f.cfg.Store.PeerKeys(ctx, p.Name, int64(cp.Size))
		if err != nil {
			return err
		}
		if err := f.checkKeyIndex(ctx, p, c, signed, cp, index, keys); err != nil {
			return err
		}
		if err := f.cfg.Store.RecordPeerKeyIndex(ctx, p.Name, int64(cp.Size), signed, index, ""); err != nil {
			return err
		}
	}
	return nil
}

// accept opens the peer's signed checkpoint and checks it against last,
// the last one accepted (nil: none), keeping evidence and stopping the
// peer on a fork ([ErrFork]), and against the witness policy. It sets
// res.RemoteSize to its size.
func (f *Follower) accept(ctx context.Context, p store.Peer, c *tlog.Client, last, signed []byte, res *Result) (tlog.Checkpoint, error) {
	cp, err := tlog.OpenCheckpoint(signed, f.key)
	if err != nil {
		return cp, fmt.Errorf("the checkpoint of peer %s doesn't verify with its pinned key: %w", p.Name, err)
	}
	res.RemoteSize = int64(cp.Size)
	// The checkpoint is compared with the last one accepted before the
	// witness policy is checked: a checkpoint signed by the peer's key
	// that contradicts it proves a fork with that key alone, and a peer
	// that forked is exactly what honest witnesses refuse to cosign.
	if last != nil {
		lastSigned := last
		last, err := tlog.OpenCheckpoint(lastSigned, f.key)
		if err != nil {
			return cp, fmt.Errorf("couldn't read the last checkpoint of peer %s: %w", p.Name, err)
		}
		// The larger tree's hashes: the peer's tiles, checked by
		// CompareCheckpoints against its signed root; or, when the peer
		// now shows a smaller tree, the tree replicated here (complete up
		// to the last checkpoint only once caught up).
		var larger tlog.HashReader = tlog.TileHashReader(cp.Size, c)
		if cp.Size < last.Size {
			if p.State.Next < int64(last.Size) {
				return cp, fmt.Errorf("peer %s shows a checkpoint of size %d, older than size %d it signed before; waiting for it to catch up", p.Name, cp.Size, last.Size)
			}
			larger = tlog.TileHashReader(last.Size, f.tiles())
		}
		ev, err := tlog.CompareCheckpoints(ctx, p.LogKey, lastSigned, signed, larger)
		switch {
		case errors.Is(err, tlog.ErrSplitView):
			// peer status shows the size of the checkpoint that forked,
			// not that of the last round before it, and the fork as the
			// round's error: if the evidence can't be kept, the peer
			// isn't stopped, and an empty error read as a good round.
			forkText := untrusted.Text(fmt.Sprintf("%v: %v", ErrFork, err), MaxErrorText)
			if rerr := f.cfg.Store.RecordPeerRound(ctx, p.Name, f.cfg.Now(), res.RemoteSize, forkText); rerr != nil {
				f.cfg.Logger.Warn("couldn't record the round's size", "peer", p.Name, "err", rerr)
			}
			path, werr := f.fork(ctx, p, ev, err)
			res.Evidence = path
			if werr != nil {
				return cp, fmt.Errorf("%w: %v, and couldn't keep the evidence: %v", ErrFork, err, werr)
			}
			return cp, fmt.Errorf("%w: %v; evidence in %s", ErrFork, err, path)
		case err != nil:
			return cp, fmt.Errorf("couldn't check the checkpoint of peer %s against the last one: %w", p.Name, err)
		case cp.Size < last.Size:
			return cp, fmt.Errorf("peer %s shows a checkpoint of size %d, older than size %d it signed before; waiting for it to catch up", p.Name, cp.Size, last.Size)
		}
	}
	if f.policy != nil {
		if _, err := tlog.CheckQuorum(f.policy, signed); err != nil {
			return cp, fmt.Errorf("couldn't accept the checkpoint of peer %s: %w", p.Name, err)
		}
	}
	return cp, nil
}

// heartbeat renews the lease l of the round of peer name every
// cfg.Heartbeat, with the transfer meter counts, until the function it
// returns is called. A renewal that finds the round taken over (its
// lease expired, and another process counted it as interrupted) cancels
// the round with [ErrLeaseLost]. A failed renewal is logged once and
// tried again at the next beat (the lease lasts several): the round goes
// on.
func (f *Follower) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, name string, l store.RoundLease, meter *slowlink.Meter) (stop func()) {
	warned := false
	return store.KeepRound(ctx, l, f.cfg.Heartbeat, f.cfg.Lease, f.cfg.Now,
		func(ctx context.Context, l store.RoundLease) (bool, error) {
			return f.cfg.Store.RenewPeerRound(ctx, name, l, meter.Last(), meter.Bytes())
		},
		func(err error) {
			if !warned && ctx.Err() == nil {
				f.cfg.Logger.Warn("couldn't renew the round's lease", "peer", name, "err", err)
				warned = true
			}
		},
		func() {
			f.cfg.Logger.Warn("peer round taken over: its lease expired before it was renewed; the round stops", "peer", name)
			cancel(ErrLeaseLost)
		})
}

// InterruptedPrefix begins the error recorded for a round during which
// the node stopped without ending it (killed, crashed, out of memory):
// see [Interrupted]. No other error of a round begins with it.
const InterruptedPrefix = "interrupted (node stopped during the round)"

// Interrupted records each round of a followed peer that is marked as
// running in st, started before before, and whose lease has expired at
// now (its process stopped renewing it: killed, crashed, out of memory,
// or paused past it; a round marked without a lease has none to wait
// for; a round whose lease another front end renews is left alone) as a
// failed round
// ([store.PeerStore.InterruptPeerRound]): its error begins with
// [InterruptedPrefix], it counts in the peer's failed rounds, and the
// next round is backed off by them ([NextRound]), so that a peer whose
// data reliably kills the node is not retried at full rate with nothing
// said. The position stays where the last step recorded it: the next
// round goes on from there. A round ended by the node's shutdown
// (its context cancelled, SIGINT or SIGTERM) clears its mark and is not
// counted. A round of owner, the calling process, is never counted: it
// runs there (its lease expired only because the store couldn't be
// reached to renew it; nobody took it over), or it ended there without
// its end recorded, and the caller ends it. It returns the names of the
// peers so recorded.
func Interrupted(ctx context.Context, st store.PeerStore, now, before time.Time, owner string) ([]string, error) {
	ps, err := st.Peers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	var errs []error
	for _, p := range ps {
		started := p.State.RoundStarted
		if started.IsZero() || !started.Before(before) || now.Before(p.State.RoundExpires) {
			continue // none, or its process renews its lease
		}
		if owner != "" && p.State.RoundOwner == owner {
			continue // this process's own
		}
		if p.State.Stopped != "" {
			// Its stop, not the round, is what its status says.
			if err := st.MarkPeerRound(ctx, p.Name, time.Time{}); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		reason := fmt.Sprintf("%s: the round started at %s, at position %d, and never ended (the node was killed, crashed or ran out of memory during it); it counts as a failed round, and the next goes on from position %d",
			InterruptedPrefix, started.UTC().Format(time.RFC3339), p.State.RoundFrom, p.State.Next)
		if p.State.RoundBytes > 0 {
			reason += fmt.Sprintf(" (%d bytes had come from the peer, the last at %s)", p.State.RoundBytes, p.State.RoundActive.UTC().Format(time.RFC3339))
		}
		if p.State.RoundOwner != "" {
			reason += fmt.Sprintf(" (its process, %s, last renewed its lease until %s)", p.State.RoundOwner, p.State.RoundExpires.UTC().Format(time.RFC3339))
		}
		ok, err := st.InterruptPeerRound(ctx, p.Name, started, now, reason)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, p.Name)
		}
	}
	return out, errors.Join(errs...)
}

// tiles reads the peer's tree as replicated here.
func (f *Follower) tiles() tlog.TileReader { return peerTiles{f.cfg.Store, f.name} }

type peerTiles struct {
	st   store.PeerStore
	name string
}

func (t peerTiles) ReadTile(ctx context.Context, tile tlog.Tile) ([]byte, error) {
	return t.st.PeerTile(ctx, t.name, tile)
}

// PeerTiles returns a [tlog.TileReader] of the hash tiles of the peer's
// tree as replicated (for proofs of replicated entries).
func PeerTiles(st store.PeerStore, name string) tlog.TileReader { return peerTiles{st, name} }

// fork keeps the evidence of a split view and stops the peer.
func (f *Follower) fork(ctx context.Context, p store.Peer, ev []byte, cause error) (string, error) {
	// Say who found it and when (informational, not verified).
	if e, err := tlog.ParseEvidence(ev); err == nil {
		e.FoundBy, e.FoundAt = "parley peer "+p.Name+" following "+p.URL, f.cfg.Now().UTC().Format(time.RFC3339)
		if b, err := json.MarshalIndent(e, "", "  "); err == nil {
			if _, err := tlog.VerifyEvidence(p.LogKey, b); err == nil {
				ev = append(b, '\n')
			}
		}
	}
	path, err := writeEvidence(f.cfg.Dir, p.Name, ev)
	if err != nil {
		// The fork is proved whether the file is written or not: the
		// peer is stopped now (a peer that showed the fork once, and then
		// the history accepted here again, would otherwise be followed as
		// if it had never forked, the evidence lost), and the evidence is
		// held and written at the next rounds. It is also logged whole:
		// the only copy should the node stop before a write succeeds.
		f.setHeld(&heldFork{ev: ev, cause: cause.Error()})
		reason := fmt.Sprintf("the peer signed inconsistent checkpoints (%v); replication stopped; the evidence couldn't be written (%v): it is held in memory and written at the next rounds, and logged", cause, err)
		f.cfg.Logger.Error("split view: peer forked; replication stopped; the evidence couldn't be written: it is held in memory and written at the next rounds", "peer", p.Name, "err", err, "evidence_json", string(ev))
		if serr := f.cfg.Store.StopPeer(ctx, p.Name, reason, "", f.cfg.Now()); serr != nil {
			return "", fmt.Errorf("%v (the evidence is held in memory), and couldn't record the stop: %v", err, serr)
		}
		return "", fmt.Errorf("%v (the evidence is held in memory and written at the next rounds)", err)
	}
	reason := fmt.Sprintf("the peer signed inconsistent checkpoints (%v); replication stopped", cause)
	f.cfg.Logger.Error("split view: peer forked; replication stopped", "peer", p.Name, "evidence", path)
	return path, f.cfg.Store.StopPeer(ctx, p.Name, reason, path, f.cfg.Now())
}

// writeHeld writes the evidence held since its write failed and records
// it as the stopped peer's evidence; the evidence stays held until both
// are done.
func (f *Follower) writeHeld(ctx context.Context, p store.Peer, h *heldFork, res *Result) error {
	path, err := writeEvidence(f.cfg.Dir, p.Name, h.ev)
	if err != nil {
		return fmt.Errorf("%w: %s; replication stopped, and the evidence, held in memory, still couldn't be written: %v", ErrFork, h.cause, err)
	}
	res.Evidence = path
	reason := fmt.Sprintf("the peer signed inconsistent checkpoints (%s); replication stopped", h.cause)
	if err := f.cfg.Store.StopPeer(ctx, p.Name, reason, path, f.cfg.Now()); err != nil {
		return fmt.Errorf("%w: %s; the evidence held in memory is written to %s, and couldn't be recorded: %v", ErrFork, h.cause, path, err)
	}
	f.setHeld(nil)
	f.cfg.Logger.Error("split view: the evidence held since a write failed is written", "peer", p.Name, "evidence", path)
	return fmt.Errorf("%w: %s; evidence in %s", ErrFork, h.cause, path)
}

// MaxEvidenceFile bounds an evidence file that [Follower.Round] reads
// back (two checkpoints and a consistency proof: a few KiB).
const MaxEvidenceFile = 1 << 20

// keptEvidence returns the path of an evidence file of the peer under
// Dir/evidence (as writeEvidence names it) that fork or refuseKeyIndex
// wrote for this peer (its found_by names it) and that verifies with the
// peer's log key, and what it proves ([ErrFork] or [ErrFalseKeyIndex]),
// or "".
func (f *Follower) keptEvidence(p store.Peer) (string, error) {
	d, err := filepath.Abs(filepath.Join(f.cfg.Dir, "evidence"))
	if err != nil {
		return "", nil
	}
	paths, _ := untrusted.FilesIn(d, "peer-"+safeName(p.Name)+"-*.json")
	for _, path := range paths {
		b, err := untrusted.ReadFile(path, MaxEvidenceFile)
		if err != nil {
			f.cfg.Logger.Warn("couldn't read an evidence file", "peer", p.Name, "evidence", path, "err", err)
			continue
		}
		// Peers whose names differ only in what safeName replaces
		// share file names: found_by names the peer.
		if tlog.IsKeyIndexEvidence(b) {
			var e tlog.KeyIndexEvidence
			if json.Unmarshal(b, &e) != nil || (e.FoundBy != "" && !strings.HasPrefix(e.FoundBy, "parley peer "+p.Name+" following ")) {
				continue
			}
			if _, err := tlog.VerifyKeyIndexEvidence(p.LogKey, b); err == nil {
				return path, ErrFalseKeyIndex
			}
			continue
		}
		e, err := tlog.ParseEvidence(b)
		if err != nil || (e.FoundBy != "" && !strings.HasPrefix(e.FoundBy, "parley peer "+p.Name+" following ")) {
			continue
		}
		if _, err := tlog.VerifyEvidence(p.LogKey, b); err == nil {
			return path, ErrFork
		}
	}
	return "", nil
}

// writeEvidence saves evidence under dir/evidence, named after its
// content so that the same fork seen again makes no new file. The path
// it returns is absolute: it is recorded and printed by parley peer
// status, which may run in another directory than parley serve --data
// with a relative DIR.
func writeEvidence(dir, name string, ev []byte) (string, error) {
	d, err := filepath.Abs(filepath.Join(dir, "evidence"))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", err
	}
	sum := sha256.Sum256(ev)
	path := filepath.Join(d, "peer-"+safeName(name)+"-"+hex.EncodeToString(sum[:8])+".json")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp := path + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	// A write that fails (a full disk) leaves no partial file taking the
	// room the next try needs.
	fail := func(err error) (string, error) {
		fh.Close()
		os.Remove(tmp)
		return "", err
	}
	if _, err := fh.Write(ev); err != nil {
		return fail(err)
	}
	if err := fh.Sync(); err != nil {
		return fail(err)
	}
	if err := fh.Close(); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, nil
}

// safeName keeps letters, digits, '-' and '_' of a peer name for a file
// name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// load rebuilds the key history and the tree builder from the store.
func (f *Follower) load(ctx context.Context, next int64) error {
	if f.keys != nil && f.builder != nil && f.builder.Size() == uint64(next) {
		return nil
	}
	ks, err := f.cfg.Store.PeerKeys(ctx, f.name, next)
	if err != nil {
		return err
	}
	h := tlog.NewKeyHistory()
	for _, k := range ks {
		e, err := tlog.ParseEntry(k.Leaf)
		if err == nil {
			err = h.Apply(uint64(k.Index), e)
		}
		if err != nil {
			return fmt.Errorf("couldn't replay the stored key entry %d of peer %s: %w", k.Index, f.name, err)
		}
	}
	b, err := tlog.NewTileBuilder(ctx, uint64(next), f.tiles())
	if err != nil {
		return fmt.Errorf("couldn't resume the tree of peer %s: %w", f.name, err)
	}
	f.keys, f.builder, f.keyCount, f.keyBytes = h, b, len(ks), 0
	for _, k := range ks {
		f.keyBytes += int64(len(k.Leaf))
	}
	return nil
}

// object is one object of a step.
type object struct {
	index  uint64
	op     tlog.Opening
	raw    []byte
	canon  []byte
	parsed *stix.Object
	signed bool
	err    error
}

// prepared is a step read and checked, not yet stored: entries [from, to)
// of the peer's log, proved included in the signed checkpoint, with their
// key entries already applied to the follower's key history and their
// objects verified.
type prepared struct {
	from, to int64
	leaves   [][]byte
	keys     []store.PeerKey
	objs     []*object
	tiles    map[tlog.Tile][]byte
	// refused are the objects of the step refused and skipped
	// ([Skipped]): not stored, recorded with the step.
	refused []store.PeerRefusal
}

// steps replicates the entries from res.Next up to the checkpoint cp
// (signed), in steps of at most cfg.Step entries, advancing res as each
// step is recorded.
//
// While one step is stored (its objects, then the record of the step,
// each a transaction on the store's single writer), the next one is
// prepared — read, proved included, its key entries replayed and its
// objects verified on every core — so that the verification and the
// peer's serving overlap the single-threaded storing. The order of what
// is stored does not change: a step is stored only after the one before
// it was recorded, and only steps stored and recorded count. A step
// prepared ahead has changed the tree builder and the key history in
// memory only; when anything fails, [Follower.Round] drops both, and the
// next round rebuilds them from the store, at the position recorded.
//
// index, when not nil, is the peer's key index of cp's tree, recorded
// with the step that reaches it once checked (commit).
func (f *Follower) steps(ctx context.Context, p store.Peer, c *tlog.Client, signed []byte, cp tlog.Checkpoint, index []byte, res *Result) error {
	size := int64(cp.Size)
	if res.Next >= size {
		return nil
	}
	if err := f.load(ctx, res.Next); err != nil {
		return err
	}
	cur, err := f.prepare(ctx, p, c, cp, res.Next, min(res.Next+int64(f.cfg.Step), size))
	if err != nil {
		return err
	}
	for cur != nil {
		var next *prepared
		var nerr error
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		if cur.to < size {
			go func() {
				defer close(done)
				next, nerr = f.prepare(pctx, p, c, cp, cur.to, min(cur.to+int64(f.cfg.Step), size))
			}()
		} else {
			close(done)
		}
		err := f.commit(ctx, p, c, signed, cp, cur, index)
		if err != nil {
			cancel()
		}
		<-done // the step prepared ahead touches f.keys and f.builder until then
		cancel()
		if err != nil {
			return err
		}
		res.Entries += cur.to - cur.from
		res.Objects += int64(len(cur.objs))
		res.Keys += int64(len(cur.keys))
		res.Next = cur.to
		if nerr != nil {
			return nerr
		}
		cur = next
	}
	return nil
}

// errStepFull ends the reading of a step's objects at cfg.StepBytes.
var errStepFull = errors.New("the step's objects reached the step's bytes")

// prepare reads entries [from, to) proved by the checkpoint cp, or fewer
// when their objects reach cfg.StepBytes (the step then ends after the
// object that reached it), checks their inclusion, replays their key
// entries into f.keys and verifies their objects. The tree builder must
// be at from.
func (f *Follower) prepare(ctx context.Context, p store.Peer, c *tlog.Client, cp tlog.Checkpoint, from, to int64) (*prepared, error) {
	if f.builder.Size() != uint64(from) {
		return nil, fmt.Errorf("peer %s: the tree replicated here has %d entries, not %d", p.Name, f.builder.Size(), from)
	}
	leaves := make([][]byte, 0, to-from)
	var leafBytes int64
	err := c.Leaves(ctx, uint64(from), uint64(to), func(i uint64, leaf []byte) error {
		if i != uint64(from)+uint64(len(leaves)) {
			return fmt.Errorf("entry %d came out of order", i)
		}
		leaves = append(leaves, leaf)
		// An entry may be 64 KiB (tlog.MaxEntrySize): 4096 of them, a
		// step's, would be 256 MiB held, twice.
		if leafBytes += int64(len(leaf)); leafBytes >= f.cfg.StepEntryBytes && int64(i)+1 < to {
			return errStepFull
		}
		return nil
	})
	if errors.Is(err, errStepFull) {
		err, to = nil, from+int64(len(leaves))
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read entries %d–%d of peer %s: %w", from, to, p.Name, err)
	}
	if int64(len(leaves)) != to-from {
		return nil, fmt.Errorf("couldn't read entries %d–%d of peer %s: got %d", from, to, p.Name, len(leaves))
	}
	var objs []*object
	seen := map[uint64]bool{}
	var size int64
	cut := to
	// The client refuses an answer listing more objects than the entries
	// asked for (tlog.ErrObjectsBound: an item of an entry outside them,
	// or not after the item before it), at its first such item: the step
	// then fails, nothing of it stored. The items of the collections
	// skipped here were handed on, however many, before it did.
	err = c.Objects(ctx, uint64(from), uint64(to), func(i uint64, op tlog.Opening, raw []byte) error {
		if op.Collection != p.Remote {
			return nil
		}
		if i < uint64(from) || i >= uint64(to) || seen[i] {
			return fmt.Errorf("the peer sent object entry %d outside %d–%d or twice", i, from, to)
		}
		seen[i] = true
		objs = append(objs, &object{index: i, op: op, raw: raw})
		if size += int64(len(raw)); size >= f.cfg.StepBytes && int64(i)+1 < to {
			cut = int64(i) + 1
			return errStepFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStepFull) {
		return nil, fmt.Errorf("couldn't read the objects of entries %d–%d of peer %s: %w", from, to, p.Name, err)
	}
	if cut < to {
		// The client refuses objects out of log order, so none lies
		// past the cut; should one, it is read again with the next step.
		objs = slices.DeleteFunc(objs, func(o *object) bool { return int64(o.index) >= cut })
		to, leaves = cut, leaves[:cut-from]
	}
	// Inclusion of every entry: the tree of [0, to) built here is the
	// signed tree, or a prefix of it.
	for _, l := range leaves {
		f.builder.Append(tlog.LeafHash(l))
	}
	root := f.builder.Root()
	if uint64(to) == cp.Size {
		if root != cp.Hash {
			return nil, fmt.Errorf("%w: entries 0–%d of peer %s don't hash to its signed root", tlog.ErrProof, to, p.Name)
		}
	} else {
		proof, err := c.ConsistencyProof(ctx, uint64(to), cp.Size)
		if err != nil {
			return nil, fmt.Errorf("couldn't read a consistency proof of peer %s: %w", p.Name, err)
		}
		if err := tlog.VerifyConsistency(uint64(to), cp.Size, proof, root, cp.Hash); err != nil {
			return nil, fmt.Errorf("%w: entries 0–%d of peer %s aren't a prefix of its signed tree of size %d: %v", tlog.ErrProof, to, p.Name, cp.Size, err)
		}
	}
	entries := make([]tlog.Entry, len(leaves))
	var keys []store.PeerKey
	for j, l := range leaves {
		i := uint64(from) + uint64(j)
		e, err := tlog.ParseEntry(l)
		if errors.Is(err, tlog.ErrUnknownKind) {
			// Not the peer's fault: it runs a newer Parley. Said so, each
			// round, rather than as a malformed log.
			return nil, fmt.Errorf("entry %d of peer %s: %w: this node replicates nothing from entry %d on until it runs a Parley that reads it", i, p.Name, err, from)
		}
		if err != nil {
			return nil, fmt.Errorf("entry %d of peer %s: %w", i, p.Name, err)
		}
		entries[j] = e
		if e.Kind == tlog.KindMemberKey {
			if f.keyCount >= f.cfg.MaxKeyEntries || f.keyBytes+int64(len(l)) > f.cfg.MaxKeyBytes {
				return nil, fmt.Errorf("member key entry %d of peer %s: %w: it logged %d (%d bytes) before it, and this node replicates at most %d (%d bytes); it replicates nothing from entry %d on", i, p.Name, ErrTooManyKeys, f.keyCount, f.keyBytes, f.cfg.MaxKeyEntries, f.cfg.MaxKeyBytes, i)
			}
			if err := f.keys.Apply(i, e); err != nil {
				return nil, fmt.Errorf("member key entry %d of peer %s: %w", i, p.Name, err)
			}
			f.keyCount++
			f.keyBytes += int64(len(l))
			keys = append(keys, store.PeerKey{Index: int64(i), Leaf: l})
		}
	}
	f.verify(objs, entries, uint64(from))
	var refused []store.PeerRefusal
	for _, o := range objs {
		if o.err == nil {
			continue
		}
		err := fmt.Errorf("refused object %s at entry %d of peer %s: %w", untrusted.Text(o.op.ObjectID, 200), o.index, p.Name, o.err)
		if !Skipped(o.err) {
			return nil, err
		}
		refused = append(refused, store.PeerRefusal{Index: int64(o.index), Reason: untrusted.Text(err.Error(), MaxErrorText)})
	}
	if len(refused) > 0 {
		objs = slices.DeleteFunc(objs, func(o *object) bool { return o.err != nil })
		// One line a step, however many: a hostile peer may log
		// millions of them.
		f.cfg.Logger.Warn("peer objects refused and skipped", "peer", p.Name, "count", len(refused), "last", refused[len(refused)-1].Reason)
	}
	// The tiles as of to, before the next step is appended.
	return &prepared{from: from, to: to, leaves: leaves, keys: keys, objs: objs, tiles: f.builder.Flush(), refused: refused}, nil
}

// Skipped reports whether an object refused for err is skipped rather
// than failing its step: an object the peer's log proves (its entry
// commits to it, and its signature is its sharer's key in force, or it
// is unsigned) but that this node's rules refuse, which no later round
// would take either: a version dated too far ahead ([ErrVersionAhead]),
// a marking definition A's validation refuses ([ErrMarking]), an id not
// of the form type--UUID of its type ([ErrIDForm]). B's current ingest
// refuses each of them, so only an older (or hostile) B logs one, and
// any member of such a B may. Waiting at it would stop the
// replication of everything the peer logs after it, for good, by one
// object of one of the peer's members. It is recorded instead
// ([store.PeerStep].Refused: `refused` and `last_refused` in `parley
// peer status`) and logged. An object the peer's log doesn't prove (a
// forged signature, bytes that aren't the entry's) still fails its
// step: that is the peer's node lying, not one member's object.
func Skipped(err error) bool {
	if errors.Is(err, tlog.ErrObjectMismatch) {
		return false
	}
	return errors.Is(err, ErrVersionAhead) || errors.Is(err, ErrMarking) || errors.Is(err, ErrIDForm)
}

// commit stores a prepared step's objects and records the step (the
// position, the checkpoint, the peer's tiles, key entries and the
// objects' provenance) in one transaction. The step that reaches cp's
// size records index, the peer's key index of cp's tree, with it, once
// checked against the peer's key entries replicated (checkKeyIndex): a
// false one is recorded nowhere, and stops the peer once the step is
// recorded.
func (f *Follower) commit(ctx context.Context, p store.Peer, c *tlog.Client, signed []byte, cp tlog.Checkpoint, s *prepared, index []byte) error {
	if err := f.store(ctx, p, s.objs); err != nil {
		return err
	}
	prov := make([]store.PeerObject, len(s.objs))
	for j, o := range s.objs {
		v, _ := stix.ParseTimestamp(o.op.Version)
		prov[j] = store.PeerObject{Index: int64(o.index), Leaf: s.leaves[o.index-uint64(s.from)], Opening: o.op, Version: v}
	}
	step := store.PeerStep{
		Peer: p.Name, From: s.from, To: s.to, Checkpoint: signed,
		Tiles: s.tiles, Keys: s.keys, Objects: prov,
		RemoteSize: int64(cp.Size), At: f.cfg.Now(), Round: f.lease, Refused: s.refused,
	}
	var indexErr error
	if index != nil && s.to == int64(cp.Size) {
		keys, err := f.cfg.Store.PeerKeys(ctx, p.Name, s.from)
		if err != nil {
			return err
		}
		if indexErr = f.indexMatches(p, cp, index, append(keys, s.keys...)); indexErr == nil {
			step.KeyIndex = index
		}
	}
	if err := f.cfg.Store.AdvancePeer(ctx, step); err != nil {
		return err
	}
	if indexErr != nil {
		// The step is the peer's log as it is, and recorded; its key
		// index isn't.
		return f.refuseKeyIndex(ctx, p, c, signed, cp, index, indexErr)
	}
	f.cfg.Logger.Debug("replicated", "peer", p.Name, "from", s.from, "to", s.to, "objects", len(s.objs), "keys", len(s.keys))
	return nil
}

// verify checks each object against its entry and the key history, on
// every core (the signatures dominate).
func (f *Follower) verify(objs []*object, entries []tlog.Entry, from uint64) {
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(objs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				j := next
				next++
				mu.Unlock()
				if j >= len(objs) {
					return
				}
				o := objs[j]
				o.err = f.check(o, entries[o.index-from])
			}
		}()
	}
	wg.Wait()
}

// check verifies one object: its entry commits to it with its opening, its
// version is a STIX timestamp, and its signature verifies with the key in
// force for the opening's member (unsigned objects, which the peer's
// collection allowed, are kept as unsigned, and so are signed ones the
// peer logged under a member it registered without a key: what it
// replicated from another node, tlog.ErrForeignSignature).
func (f *Follower) check(o *object, e tlog.Entry) error {
	// tlog.CheckObject's steps, with the canonical object kept for storing.
	canon, _, err := tlog.CheckOpening(o.raw, o.op, e)
	if err != nil {
		return err
	}
	// The object is decoded once, for its signature and for storing
	// (stix.VerifyObject checks what stix.Verify does, with the same
	// errors). Should it not parse, stix.Verify reports what it did
	// before the parse error is returned.
	parsed, perr := stix.Parse(canon)
	var pub ed25519.PublicKey
	if perr == nil {
		pub, err = stix.VerifyObject(parsed)
	} else {
		pub, err = stix.Verify(canon)
	}
	switch {
	case errors.Is(err, stix.ErrUnsigned):
	case err != nil:
		return fmt.Errorf("%w: %w: %v", tlog.ErrObjectMismatch, tlog.ErrBadSignature, err)
	default:
		_, err := f.keys.CheckSignature(o.op.Member, o.index, pub)
		switch {
		case err != nil && f.keys.KeylessAt(o.op.Member, o.index):
			// Logged by the peer under a member it registered without a
			// key (tlog.ErrForeignSignature): what the peer replicated
			// from another node. The peer's log doesn't say who signed
			// it, so it is kept as unsigned, as clients of the peer's log
			// count it.
		case err != nil:
			return fmt.Errorf("%w: %w: %w", tlog.ErrObjectMismatch, tlog.ErrBadSignature, err)
		default:
			o.signed = true
		}
	}
	o.canon = canon
	if perr != nil {
		return perr
	}
	o.parsed = parsed
	// The id's form, as A's own ingest checks it (stix.Validator): B's
	// text becomes an id of A's collection, in its URLs and answers.
	if typ, err := stix.SplitIdentifier(parsed.ID); err != nil {
		return idFormError{err}
	} else if typ != parsed.Type {
		return idFormError{fmt.Errorf("%w: %q isn't of the object's type %q", stix.ErrIdentifier, parsed.ID, parsed.Type)}
	}
	if parsed.Type == "marking-definition" {
		// The sharing restrictions of A's readers: a predefined TLP id
		// names the specification's object and nothing else, and TLP
		// levels aren't redefined under other ids, as A's own ingest
		// checks (stix.Validator's marking rule); B's other objects are
		// kept as B's log proves them (docs/federation.md).
		if err := markingValidator.Validate(parsed); err != nil {
			return fmt.Errorf("%w: %w", ErrMarking, err)
		}
	}
	v, err := stix.ParseTimestamp(o.op.Version)
	if err != nil {
		return fmt.Errorf("the opening's version: %w", err)
	}
	if now := f.cfg.Now(); v.After(now.Add(f.cfg.MaxVersionAhead)) {
		return fmt.Errorf("%w: the %s is dated %s, more than %d years ahead of this node's clock (%s): no later version of it could ever replace or revoke it (this node's own members' are refused too)",
			ErrVersionAhead, untrusted.Text(parsed.Type, 100), stix.FormatTimestamp(v), f.cfg.MaxVersionAhead/(365*24*time.Hour), stix.FormatTimestamp(now.UTC()))
	}
	return nil
}

// store submits the objects to the local collection as the peer's member,
// each with an object entry of this node's log. An identical version
// stored by an earlier try of the step is not stored again.
func (f *Follower) store(ctx context.Context, p store.Peer, objs []*object) error {
	if len(objs) == 0 {
		return nil
	}
	r := f.cfg.Rand
	sid, err := uuid.NewRandomFromReader(randReader(r))
	if err != nil {
		return fmt.Errorf("couldn't make a status id: %w", err)
	}
	// The peer's member revoked or removed (parley member remove
	// peer:NAME) ends the replication: nothing more of the peer is
	// logged under it.
	sub := store.Submission{StatusID: sid.String(), Collection: p.Into, Member: p.Member, Received: f.cfg.Now(), CheckRevoked: true}
	for _, o := range objs {
		salt, err := tlog.NewSalt(randReader(r))
		if err != nil {
			return err
		}
		v, _ := stix.ParseTimestamp(o.op.Version)
		sub.Items = append(sub.Items, store.Item{
			// Ownership of ids is the peer's rule, which its signatures
			// already vouch for; here the copy claims no id.
			Owned: false,
			Object: store.Object{
				ID: o.parsed.ID, Type: o.parsed.Type, SpecVersion: o.parsed.SpecVersion,
				Version: v, Signed: o.signed, Raw: o.canon,
			},
			Salt: salt,
			Entry: func(so store.Object) ([]byte, error) {
				op := tlog.Opening{Salt: salt, Collection: so.Collection, ObjectID: so.ID, Version: store.FormatTime(so.Version), Member: so.Member}
				return tlog.Entry{Kind: tlog.KindObject, Received: so.DateAdded, Commitment: tlog.ObjectCommitment(op, so.Raw)}.Marshal()
			},
		})
	}
	st, err := f.cfg.Store.Submit(ctx, sub)
	if errors.Is(err, store.ErrSubmitterChanged) {
		return f.stopRevoked(ctx, p)
	}
	if err != nil {
		return fmt.Errorf("couldn't store the objects of peer %s: %w", p.Name, err)
	}
	if len(st.Failures) > 0 {
		d := st.Failures[0]
		return fmt.Errorf("couldn't store %d objects of peer %s: %s %s: %s", len(st.Failures), p.Name, untrusted.Text(d.ID, 200), untrusted.Text(d.Version, 100), untrusted.Text(d.Message, 200))
	}
	return nil
}

// memberRevoked reports whether the peer's member (peer:NAME) was revoked
// or removed (parley member revoke, parley member remove, which revokes
// first), as the revocation logged among its key entries says.
func (f *Follower) memberRevoked(ctx context.Context, p store.Peer) (bool, error) {
	revoked, err := store.MemberRevoked(ctx, f.cfg.Store, p.Member)
	if err != nil {
		return false, fmt.Errorf("couldn't read the key entries of the peer's member %s: %w", MemberName(p.Name), err)
	}
	return revoked, nil
}

// RevokedReason is the reason a peer named name is stopped for when its
// member was revoked or removed: by [Follower] at its next round, or at
// once by the node that revokes or removes the member.
func RevokedReason(name string) string {
	return fmt.Sprintf("the peer's member %s was revoked or removed; replication stopped", MemberName(name))
}

// stopRevoked stops the peer for good because its member was revoked or
// removed, and returns the [ErrStopped] that says so.
func (f *Follower) stopRevoked(ctx context.Context, p store.Peer) error {
	reason := RevokedReason(p.Name)
	f.cfg.Logger.Warn("the peer's member was revoked or removed; replication stopped", "peer", p.Name)
	if err := f.cfg.Store.StopPeer(ctx, p.Name, reason, "", f.cfg.Now()); err != nil {
		return fmt.Errorf("%s, and couldn't record the stop: %v", reason, err)
	}
	return fmt.Errorf("%w: %s", ErrStopped, reason)
}

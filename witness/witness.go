// Package witness is a C2SP tlog-witness: a server that cosigns a log's
// checkpoints (C2SP tlog-cosignature, Ed25519 cosignature/v1 with a
// timestamp) only if each is consistent with the last one it cosigned, so
// that a log can't show different histories to different clients without
// being caught. It also serves each log's latest cosigned checkpoint to
// monitors, can pull a log's checkpoint and C2SP tlog-tiles itself, and
// keeps split-view evidence ([tlog.VerifyEvidence]) when a log's key signs
// two checkpoints that can't both be true.
//
// docs/witness.md describes the protocol, the data directory and the
// evidence format.
package witness

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// Errors of [Witness.AddCheckpoint], each mapped to the HTTP status C2SP
// tlog-witness gives it.
var (
	// ErrUnknownLog: the checkpoint's origin isn't a log this witness
	// witnesses (404).
	ErrUnknownLog = errors.New("unknown log")
	// ErrSignature: no valid signature by the log's key, or a bad one
	// (403).
	ErrSignature = errors.New("checkpoint isn't signed by the log's key")
	// ErrMalformed: the request isn't well-formed (400).
	ErrMalformed = errors.New("malformed request")
	// ErrInconsistent: the consistency proof doesn't verify (422).
	ErrInconsistent = errors.New("checkpoint isn't consistent with the witness's view")
)

// ConflictError is the request's old size not being the size of the
// witness's latest cosigned checkpoint (C2SP tlog-witness "409
// Conflict"), or it being that size, and so the checkpoint's, but with
// another root (Fork: a 422 over HTTP, as C2SP tlog-witness says since
// C2SP/C2SP#280; a 409 before). Size is the size of the witness's latest
// cosigned checkpoint (0 if none): the body of the 409.
type ConflictError struct {
	Size uint64
	// Fork: the checkpoint has the size of the witness's latest one, and
	// the old size is that size, but its root is another: the log's key
	// signed two trees of one size. Retrying with the witness's size
	// can't help. A witness sets it when it refuses such a checkpoint
	// (and keeps the split-view evidence; its handler answers 422); a
	// [Client] when the witness answers 422 to a request without a proof
	// whose old size is the checkpoint's, or, as witnesses of the older
	// spec text do, 409 naming that size. It unwraps to [ErrFork].
	Fork bool
}

func (e *ConflictError) Error() string {
	if e.Fork {
		return fmt.Sprintf("%v: the witness's latest checkpoint has size %d too, with another root", ErrFork, e.Size)
	}
	return fmt.Sprintf("the witness's latest checkpoint has size %d", e.Size)
}

// Unwrap returns [ErrFork] for a fork, else nil.
func (e *ConflictError) Unwrap() error {
	if e.Fork {
		return ErrFork
	}
	return nil
}

// Config configures a witness.
type Config struct {
	// Dir is the data directory: state/ holds the latest cosigned
	// checkpoint of each log, evidence/ the split-view evidence.
	Dir string
	// Cosigner signs; its name is the witness's name. Its clock is the
	// time each cosignature carries, except that a log's cosignature
	// times never go back: when the clock is behind the latest
	// cosignature the witness made of a log in this run, or the time
	// reservation saved in its state (see [TimeReservation]), the log's
	// next cosignatures carry that time until the clock catches up (see
	// [Witness.AddCheckpoint]).
	Cosigner *tlog.Cosigner
	// Logs are the note verifier keys of the logs to witness; a log's
	// origin is its key's name.
	Logs []string
	// Logger receives evidence and pull reports (nil: discarded).
	Logger *slog.Logger
	// Now is the clock for evidence timestamps (nil: time.Now).
	Now func() time.Time
	// NoSync acknowledges a cosignature once the new state is written to
	// the operating system (the page cache) rather than flushed to disk
	// (fdatasync). The state still survives the witness process being killed
	// (kill -9: the kernel keeps what was written), so it never cosigns
	// two inconsistent checkpoints across such a crash; it doesn't survive
	// a power loss or an OS crash, after which the witness may have
	// forgotten checkpoints it cosigned. Off by default; for witnesses of
	// many busy logs on slow disks (docs/benchmarks.md).
	NoSync bool
}

// Witness cosigns checkpoints. It is safe for concurrent use. Requests for
// one log are checked and signed one at a time against the log's latest
// accepted checkpoint, which may not be on disk yet: a request for
// checkpoint N+1 can be accepted while N's write is still in flight, and
// joins the same group commit (or the next one). No cosignature is
// returned before the write that holds its checkpoint, and every write
// before it, has succeeded; if a write fails, it and every request
// accepted after it fail. Requests for different logs run in parallel and
// share disk flushes.
type Witness struct {
	cfg    Config
	logs   map[string]*logState
	byHash map[string]string // OriginHash → origin
	j      *journal

	// evMu serializes evidence writes (the bound on a log's files is
	// counted, then written). pending is evidence that couldn't be
	// written (a full disk), held to be written after a later write
	// succeeds; npending is its length, read without evMu.
	evMu     sync.Mutex
	pending  []heldEvidence
	npending atomic.Int32

	// latestTime is the latest time any cosignature of this witness
	// carried (POSIX seconds); clockBehind is set once the clock was seen
	// behind a log's latest cosignature and said so, and cleared once the
	// clock is back at latestTime: one report per step back.
	latestTime  atomic.Int64
	clockBehind atomic.Bool

	// reserved is the time reservation on disk (POSIX seconds): no
	// cosignature carries a later time until a later reservation is on
	// disk (see reserve). resMu serializes the writes of reservations.
	// floor is the reservation read at Open: every cosignature of this
	// run carries at least that time, so none is earlier than one the
	// witness made before it (re-cosignatures of an unchanged checkpoint
	// included, which aren't written).
	resMu    sync.Mutex
	reserved atomic.Int64
	floor    int64
}

// maxCosignedNote bounds a note the witness cosigned: the journal keeps
// it as one record (maxRecord), and every reader takes no longer note
// (tlog.MaxCheckpointNote).
const maxCosignedNote = min(maxRecord, tlog.MaxCheckpointNote)

// MaxNote is the longest checkpoint note [Witness.AddCheckpoint] (and so
// [Witness.PullOnce]) takes: a note of at most this many bytes, with the
// witness's cosignature line added (the log's unverified lines dropped),
// fits one journal record and the 1 MiB every reader of a checkpoint
// takes ([tlog.MaxCheckpointNote]); a longer one is refused
// ([ErrMalformed]) before anything is checked, cosigned or written. It is
// 1 MiB less the length of the witness's line, which depends on its name.
func (w *Witness) MaxNote() int {
	return maxCosignedNote - cosignatureLineLen(w.cfg.Cosigner.Name())
}

// cosignatureLineLen is the length of a signature line of a cosignature/v1
// key named name: "— NAME BASE64\n", the signature being its 4-byte key
// hash, 8-byte time and 64-byte Ed25519 signature.
func cosignatureLineLen(name string) int {
	return len("— ") + len(name) + 1 + base64.StdEncoding.EncodedLen(4+8+ed25519.SignatureSize) + 1
}

// TimeReservation is how far ahead of a cosignature's time the witness
// reserves times on disk. Before it hands out a cosignature whose time is
// after its reservation, it writes (and flushes, as it does a checkpoint)
// a new reservation, that time plus TimeReservation; after a restart every
// cosignature carries at least the reservation it read. So a witness
// writes at most one reservation per TimeReservation however many
// checkpoints it cosigns (cosigning an unchanged checkpoint again writes
// nothing else), and a clock set back across a restart never makes a log's
// cosignature earlier than one the witness made before. The price: after a
// restart, cosignatures may carry a time up to TimeReservation ahead of
// the clock until it catches up (docs/witness.md, "The clock"), well
// within the clients' clock skew (tlog.DefaultClockSkew).
const TimeReservation = time.Minute

// reservationOrigin is the first line of a time reservation record in the
// journal, where every other record is a checkpoint note whose first line
// is its log's origin, a note key name: never one with spaces, so never
// this one. A reservation record is this line, the reservation in POSIX
// seconds (decimal) and a newline.
const reservationOrigin = "parley witness time reservation"

// reservationRecord is the journal record of a reservation of t.
func reservationRecord(t int64) []byte {
	return fmt.Appendf(nil, "%s\n%d\n", reservationOrigin, t)
}

// parseReservation reads a reservation record.
func parseReservation(rec []byte) (int64, error) {
	s, ok := strings.CutPrefix(string(rec), reservationOrigin+"\n")
	if ok {
		s, ok = strings.CutSuffix(s, "\n")
	}
	t, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || t < 0 || strconv.FormatInt(t, 10) != s {
		return 0, fmt.Errorf("couldn't read the time reservation: %q isn't %q, a number of seconds and a newline", rec, reservationOrigin+"\n")
	}
	return t, nil
}

// heldEvidence is split-view evidence built but not yet written.
type heldEvidence struct {
	log  string // the log's origin
	name string // the log's evidence file name prefix
	path string
	ev   []byte
}

// maxHeldEvidence bounds the evidence a witness holds in memory when it
// can't write it (a few KiB each); more is logged and lost.
const maxHeldEvidence = 8

// errEvidenceHeld wraps the error of an evidence write that failed with
// the evidence held for a later write.
var errEvidenceHeld = errors.New("it is held in memory and written after a later write succeeds")

// maxWaiters bounds the requests of one log that wait for an earlier
// checkpoint to be accepted (see [Witness.AddCheckpoint]); more get a 409
// at once.
const maxWaiters = 64

// waitForOlder is how long a request whose old size is ahead of the
// witness's waits for the checkpoints before it (a log with several
// requests in flight) before it gets a 409.
var waitForOlder = time.Second

type logState struct {
	vkey string
	v    note.Verifier
	vs   note.Verifiers // just v, built once

	mu sync.Mutex
	// The latest cosigned checkpoint that is on disk: what monitors get.
	note []byte          // log signature(s) + ours; nil if none
	cp   tlog.Checkpoint // its body
	seq  uint64          // its place among accepted checkpoints
	// The latest accepted checkpoint: on disk or in a write in flight.
	// Requests are checked against it. Equal to the above when no write
	// is in flight.
	pnote []byte
	pcp   tlog.Checkpoint
	pseq  uint64
	// pbatch is the journal batch that holds the accepted checkpoint
	// while its write may be in flight (pseq > seq), nil otherwise.
	pbatch *batch
	// waiting are the requests whose old size is ahead of the accepted
	// checkpoint: each one's channel is closed once a checkpoint of at
	// least its old size is accepted (and it is removed), so that an
	// acceptance wakes the request that follows it, not every one
	// waiting.
	waiting []orderWaiter
	// evidenceFull is set once the log's evidence files reach
	// MaxEvidencePerLog (see keepEvidence).
	evidenceFull bool
	// lastTime is the time (POSIX seconds) of the latest cosignature of
	// the log the witness made, or read from its state: no later
	// cosignature of the log carries an earlier time.
	lastTime int64
	// reported holds the evidence files of the log said to be found in
	// this run: a forked node retries its checkpoint (a Parley node every
	// 10 s, a hostile one at any rate), and each retry finds the same
	// fork. At most the log's evidence files (MaxEvidencePerLog).
	reported map[string]bool
}

// orderWaiter is a request waiting for the checkpoint of its old size.
type orderWaiter struct {
	old uint64
	ch  chan struct{}
}

// Open opens (or creates) the witness state in cfg.Dir. A log's state
// left from an earlier run is kept even if cfg.Logs no longer names it.
func Open(cfg Config) (*Witness, error) {
	if cfg.Cosigner == nil {
		return nil, errors.New("couldn't open the witness: no key")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := &Witness{cfg: cfg, logs: map[string]*logState{}, byHash: map[string]string{}}
	for _, k := range cfg.Logs {
		v, err := tlog.NewVerifier(k)
		if err != nil {
			return nil, err
		}
		if _, dup := w.logs[v.Name()]; dup {
			return nil, fmt.Errorf("couldn't open the witness: two keys for log %s", v.Name())
		}
		w.logs[v.Name()] = &logState{vkey: k, v: v, vs: note.VerifierList(v)}
		w.byHash[OriginHash(v.Name())] = v.Name()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("couldn't open the witness: %w", err)
	}
	j, states, torn, err := openJournal(filepath.Join(cfg.Dir, "state"))
	if err != nil {
		return nil, err
	}
	if torn != "" {
		cfg.Logger.Warn("witness state: "+torn, "journal", filepath.Join(cfg.Dir, "state", journalFile))
	}
	j.noSync = cfg.NoSync
	w.j = j
	removeTemps(filepath.Join(cfg.Dir, "evidence"))
	if rec, ok := states[reservationOrigin]; ok {
		t, err := parseReservation(rec)
		if err != nil {
			j.close()
			return nil, fmt.Errorf("%w: %w", ErrStateDamaged, err)
		}
		w.floor = t
		w.reserved.Store(t)
		// Some cosignature carried at least t − TimeReservation.
		storeMax(&w.latestTime, t-int64(TimeReservation/time.Second))
	}
	for origin, rec := range states {
		ls, ok := w.logs[origin]
		if !ok {
			continue
		}
		text, err := tlog.SplitNote(rec)
		if err != nil {
			j.close() // the state directory's lock too: a later Open may try again
			return nil, fmt.Errorf("couldn't read the state of log %s: %w", origin, err)
		}
		cp, err := tlog.ParseCheckpoint(text)
		if err != nil {
			j.close()
			return nil, fmt.Errorf("couldn't read the state of log %s: %w", origin, err)
		}
		ls.note, ls.cp = rec, cp
		ls.pnote, ls.pcp = rec, cp
		ls.lastTime = w.cosignedTime(rec)
		storeMax(&w.latestTime, ls.lastTime)
	}
	return w, nil
}

// cosignedTime is the time of the latest of the witness's own
// cosignatures on a saved checkpoint note (0 if none verifies).
func (w *Witness) cosignedTime(rec []byte) int64 {
	v, err := tlog.NewCosignatureVerifier(w.VerifierKey())
	if err != nil {
		return 0
	}
	n, err := note.Open(rec, note.VerifierList(v))
	if err != nil {
		return 0
	}
	var latest int64
	for _, sig := range n.Sigs {
		if t, err := tlog.CosignatureTime(sig.Base64); err == nil && t.Unix() > latest {
			latest = t.Unix()
		}
	}
	return latest
}

// cosign signs n (a checkpoint of the log ls, whose lock the caller holds)
// with the clock's time, or, if the clock is behind it, the log's latest
// cosignature's time or the reservation read at Open, whichever is later:
// a log's cosignature times never go back, so an auditor never sees a
// larger tree of a log cosigned before a smaller one (docs/witness.md,
// "Time"), not even across a restart with the clock set back. The first
// time the clock is seen behind a time the witness certainly handed out
// is logged, and again only after it caught up. The time is reserved on
// disk before the note is signed (see reserve).
func (w *Witness) cosign(ls *logState, n *note.Note) ([]byte, error) {
	now := w.cfg.Cosigner.Now()
	t := now
	// A reservation r was written for a cosignature time of at least
	// r − TimeReservation: a clock behind that is behind a time handed
	// out; one between it and r may not be (a quick restart).
	handedOut := max(ls.lastTime, w.floor-int64(TimeReservation/time.Second))
	switch {
	case now.Unix() < handedOut:
		if w.clockBehind.CompareAndSwap(false, true) {
			w.cfg.Logger.Warn("the clock is behind the latest cosignature of a log; its cosignatures carry that cosignature's time until the clock catches up",
				"log", ls.v.Name(), "clock", now.UTC().Format(time.RFC3339), "latest", time.Unix(handedOut, 0).UTC().Format(time.RFC3339))
		}
	case now.Unix() >= w.latestTime.Load():
		w.clockBehind.Store(false)
	}
	if floor := max(ls.lastTime, w.floor); now.Unix() < floor {
		t = time.Unix(floor, 0)
	}
	if err := w.reserve(t.Unix()); err != nil {
		return nil, err
	}
	full, err := note.Sign(n, w.cfg.Cosigner.At(t))
	if err != nil {
		return nil, err
	}
	ls.lastTime = max(ls.lastTime, t.Unix())
	storeMax(&w.latestTime, t.Unix())
	return full, nil
}

// reserve returns once a time reservation of at least t is on disk:
// then, if t is later than the reservation on disk, it writes (and
// flushes, unless NoSync) t + TimeReservation first, in the next group
// commit. So every time a cosignature carries is at most the reservation
// on disk when it is handed out, or seen by monitors, and at most the
// floor of the next run: cosignature times never go back across a
// restart, though cosigning an unchanged checkpoint again writes nothing.
// One write per TimeReservation at most; none while the clock is behind.
func (w *Witness) reserve(t int64) error {
	if t <= w.reserved.Load() {
		return nil
	}
	w.resMu.Lock()
	defer w.resMu.Unlock()
	if t <= w.reserved.Load() {
		return nil
	}
	r := t + int64(TimeReservation/time.Second)
	if err := w.j.append(reservationOrigin, reservationRecord(r)); err != nil {
		return err
	}
	w.reserved.Store(r)
	return nil
}

// storeMax sets a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		l := a.Load()
		if v <= l || a.CompareAndSwap(l, v) {
			return
		}
	}
}

// Close releases the state file. Call it after the last request.
func (w *Witness) Close() error { return w.j.close() }

// Name is the witness's key name.
func (w *Witness) Name() string { return w.cfg.Cosigner.Name() }

// VerifierKey is the witness's cosignature/v1 verifier key.
func (w *Witness) VerifierKey() string { return w.cfg.Cosigner.VerifierKey() }

// Checkpoint returns the latest checkpoint of the log with that origin that
// the witness cosigned (with the log's signature and the witness's
// cosignature), or nil if none.
func (w *Witness) Checkpoint(origin string) []byte {
	ls, ok := w.logs[origin]
	if !ok {
		return nil
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return bytes.Clone(ls.note)
}

// AddCheckpoint implements C2SP tlog-witness add-checkpoint: it cosigns
// signed (a checkpoint note) if it is signed by its log's key and proof is
// a consistency proof to it from the witness's latest accepted checkpoint
// of that log, whose size must be oldSize. It returns the cosignature
// line(s) ("— <name> <base64>\n"). The new checkpoint, and every one
// accepted before it, is on disk before it returns, so the witness never
// cosigns two inconsistent checkpoints of a log, even across a crash.
//
// The latest accepted checkpoint is the last one that passed these checks,
// possibly still being written: a log may send checkpoint N+1 (old size N)
// before N's cosignature came back, and both are written by the same or
// consecutive flushes. A request whose old size is ahead of the accepted
// checkpoint waits a moment (up to a second) for the requests before it,
// which may arrive later; then it gets a 409 as usual.
//
// It fails with [ErrMalformed], [ErrUnknownLog], [ErrSignature],
// *[ConflictError] (Fork set for a checkpoint of the witness's size with
// another root: split-view evidence is written, and [Witness.Handler]
// answers 422 for it, not 409) or [ErrInconsistent] (and
// then writes split-view evidence when the proof proves a fork); any other
// error is internal:
// after a failed write it fails every request with that error, including
// those accepted while the write was in flight. A checkpoint equal to the
// latest is cosigned again (with a new time).
//
// A cosignature carries the time of the Cosigner's clock, or, if that is
// earlier, the time of the latest cosignature of the same log that the
// witness made in this run or holds in its state, or the time reservation
// read at Open ([TimeReservation]), whichever is latest: a log's
// cosignature times never go back, even across a restart, so a witness
// whose clock steps back doesn't cosign a larger tree at a time before
// its cosignature of a smaller one. A time past the reservation on disk
// is reserved first (one more write, at most once per TimeReservation).
func (w *Witness) AddCheckpoint(ctx context.Context, oldSize uint64, proof []tlog.Hash, signed []byte) ([]byte, error) {
	if max := w.MaxNote(); len(signed) > max {
		return nil, fmt.Errorf("%w: a checkpoint note of %d bytes, over the %d this witness takes (with its cosignature it must fit the %d of a journal record and of a note every reader takes)", ErrMalformed, len(signed), max, maxCosignedNote)
	}
	text, err := tlog.SplitNote(signed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	cp, err := tlog.ParseCheckpoint(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ls, ok := w.logs[cp.Origin]
	if !ok {
		// Anyone's text, up to the 256 KiB of a request: clipped.
		return nil, fmt.Errorf("%w: %q", ErrUnknownLog, untrusted.Text(cp.Origin, 200))
	}
	n, err := tlog.OpenNote(signed, ls.vs)
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return nil, fmt.Errorf("%w: %v", ErrSignature, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if oldSize > cp.Size {
		return nil, fmt.Errorf("%w: old size %d is larger than the checkpoint's %d", ErrMalformed, oldSize, cp.Size)
	}
	// Keep only the log's verified signatures, re-encoded canonically, so
	// what the witness stores and serves is exactly what it checked.
	for i := range n.Sigs {
		b, _ := base64.StdEncoding.DecodeString(n.Sigs[i].Base64)
		n.Sigs[i].Base64 = base64.StdEncoding.EncodeToString(b)
	}
	n.UnverifiedSigs = nil

	full, b, seq, fresh, err := w.accept(ctx, ls, oldSize, proof, n, cp)
	if err != nil {
		return nil, err
	}
	// b is nil for the checkpoint on disk cosigned again: nothing written
	// (see accept).
	if b != nil {
		if err := w.j.wait(b); err != nil {
			// This write failed, and so does every later one: the
			// witness stops cosigning (see journal.enqueue).
			return nil, err
		}
	}
	ls.mu.Lock()
	if seq > ls.seq {
		ls.note, ls.cp, ls.seq = full, cp, seq
		if seq == ls.pseq {
			ls.pbatch = nil // written: nothing to keep alive
		}
	}
	ls.mu.Unlock()
	w.flushEvidence()
	if f, _ := ctx.Value(newCheckpointKey{}).(func()); f != nil && fresh {
		f()
	}
	// Our cosignature is the last line of the note.
	s := strings.TrimSuffix(string(full), "\n")
	return []byte(s[strings.LastIndexByte(s, '\n')+1:] + "\n"), nil
}

// accept checks a verified checkpoint (n, its body cp) of ls against the
// log's latest accepted checkpoint, cosigns it, queues it for the journal
// and makes it the latest accepted one, under ls.mu. A request whose old
// size is ahead of the accepted checkpoint first waits (up to
// waitForOlder, while fewer than maxWaiters do) for the checkpoints before
// it, so that a log may send several requests at once without ordering
// them itself. It returns the cosigned note, its journal batch, its
// sequence number, and whether this call queued the record (the
// checkpoint was new to the witness).
func (w *Witness) accept(ctx context.Context, ls *logState, oldSize uint64, proof []tlog.Hash, n *note.Note, cp tlog.Checkpoint) (full []byte, b *batch, seq uint64, fresh bool, err error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ahead := func() bool { return oldSize > 0 && (ls.pnote == nil || ls.pcp.Size < oldSize) }
	if ahead() && len(ls.waiting) < maxWaiters {
		// Accepted sizes only grow, so once ch is closed this request
		// is no longer ahead.
		ch := make(chan struct{})
		ls.waiting = append(ls.waiting, orderWaiter{old: oldSize, ch: ch})
		timer := time.NewTimer(waitForOlder)
		ls.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
		case <-ctx.Done():
		}
		ls.mu.Lock()
		timer.Stop()
		// Gone already if it was woken.
		ls.waiting = slices.DeleteFunc(ls.waiting, func(o orderWaiter) bool { return o.ch == ch })
	}
	if err := w.j.err(); err != nil {
		return nil, nil, 0, false, err
	}
	if ls.pnote == nil && oldSize != 0 || ls.pnote != nil && oldSize != ls.pcp.Size {
		return nil, nil, 0, false, &ConflictError{Size: ls.pcp.Size}
	}
	switch {
	case oldSize == cp.Size:
		// C2SP tlog-witness: equal sizes, other roots (and a checkpoint
		// of size 0 whose root isn't the empty tree's) is a 422 (the
		// handler's answer to a Fork conflict). At size 0 the
		// witness's root is the empty tree's, whether it holds a
		// checkpoint of size 0 or none.
		have := tlog.EmptyRoot()
		if ls.pnote != nil {
			have = ls.pcp.Hash
		}
		if cp.Hash != have {
			if cp.Size > 0 {
				w.keepEvidence(ls, n, tlog.Hash{}, nil)
			}
			return nil, nil, 0, false, fmt.Errorf("%w (the witness's root %s, the checkpoint's %s)", &ConflictError{Size: cp.Size, Fork: true}, have, cp.Hash)
		}
		if len(proof) != 0 {
			return nil, nil, 0, false, fmt.Errorf("%w: a proof between equal sizes", ErrInconsistent)
		}
	case oldSize == 0:
		if len(proof) != 0 {
			return nil, nil, 0, false, fmt.Errorf("%w: a proof from size 0", ErrInconsistent)
		}
	default:
		if err := tlog.VerifyConsistency(oldSize, cp.Size, proof, ls.pcp.Hash, cp.Hash); err != nil {
			// A proof that leads to the new root from another old root
			// proves a fork; one that leads nowhere proves nothing.
			if r1, r2, ok := tlog.ConsistencyRoots(oldSize, cp.Size, proof); ok && r2 == cp.Hash && r1 != ls.pcp.Hash {
				w.keepEvidence(ls, n, r1, proof)
			}
			return nil, nil, 0, false, fmt.Errorf("%w: %v", ErrInconsistent, err)
		}
	}
	full, err = w.cosign(ls, n)
	if err != nil {
		return nil, nil, 0, false, fmt.Errorf("couldn't cosign: %w", err)
	}
	if oldSize == cp.Size && ls.note != nil && ls.seq == ls.pseq {
		// The checkpoint on disk, cosigned again (a quiet log re-submits
		// its checkpoint, or a pull finds it unchanged): nothing new to
		// keep, so no journal record, which would otherwise grow by one
		// per re-submission of every quiet log (cosign wrote a time
		// reservation first if the time was past the one on disk, at
		// most once per TimeReservation for all logs). Monitors get the new
		// cosignature; after a restart they get the one on disk, also
		// true.
		ls.note, ls.pnote = full, full
		return full, nil, ls.seq, false, nil
	}
	if oldSize == cp.Size && ls.pbatch != nil {
		// The accepted checkpoint cosigned again while its write may
		// still be in flight (a log that re-submits before the first
		// answer came back): nothing new to keep either. It waits for
		// that write, and fails with it, as its first submission does:
		// no cosignature before the checkpoint is on disk.
		return full, ls.pbatch, ls.pseq, false, nil
	}
	// Queued under ls.mu, so this log's records reach the journal in the
	// order they were accepted.
	b, err = w.j.enqueue(cp.Origin, full)
	if err != nil {
		return nil, nil, 0, false, err
	}
	ls.pseq++
	ls.pnote, ls.pcp, ls.pbatch = full, cp, b
	// Wake the requests no longer ahead (usually the one whose old
	// size is cp's), and keep the others waiting.
	keep := ls.waiting[:0]
	for _, o := range ls.waiting {
		if o.old <= cp.Size {
			close(o.ch)
		} else {
			keep = append(keep, o)
		}
	}
	clear(ls.waiting[len(keep):])
	ls.waiting = keep
	return full, b, ls.pseq, true, nil
}

// keepEvidence writes split-view evidence of the log's latest checkpoint
// accepted by the witness against n (the caller holds ls.mu). For different
// sizes, prefix and proof are from n's tree. Failures are logged: the
// request fails anyway. Evidence that couldn't be written (a full disk) is
// held and written after a later write succeeds (see flushEvidence).
func (w *Witness) keepEvidence(ls *logState, n *note.Note, prefix tlog.Hash, proof []tlog.Hash) {
	other, err := note.Sign(n)
	if err != nil {
		w.cfg.Logger.Error("couldn't encode a conflicting checkpoint", "err", err)
		return
	}
	path, err := w.writeEvidence(ls, ls.pnote, other, prefix, proof)
	if errors.Is(err, ErrEvidenceFull) {
		// Said once per log and run: the log may send forks at any rate.
		if !ls.evidenceFull {
			ls.evidenceFull = true
			w.cfg.Logger.Warn("split view again; no more evidence of this log is kept", "log", ls.v.Name(), "err", err)
		}
		return
	}
	if err != nil {
		w.cfg.Logger.Error("split view: the log signed two inconsistent checkpoints, and couldn't write the evidence", "log", ls.v.Name(), "err", err)
		return
	}
	// Once per file and run: the same fork again is in the same file.
	if ls.reported[path] {
		return
	}
	if ls.reported == nil {
		ls.reported = map[string]bool{}
	}
	ls.reported[path] = true
	w.cfg.Logger.Warn("split view: the log signed two inconsistent checkpoints", "log", ls.v.Name(), "evidence", path)
}

// writeEvidence builds, verifies and saves evidence, named after the two
// checkpoints so that the same fork seen again makes no new file. If the
// write fails (not for [ErrEvidenceFull]) the evidence is held, up to
// maxHeldEvidence, and the error wraps errEvidenceHeld; a write that
// succeeds writes the evidence held before it.
func (w *Witness) writeEvidence(ls *logState, a, b []byte, prefix tlog.Hash, proof []tlog.Hash) (string, error) {
	ev, err := tlog.NewEvidence(ls.vkey, a, b, prefix, proof, "witness "+w.Name(), w.cfg.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return "", err
	}
	ta, _ := tlog.SplitNote(a)
	tb, _ := tlog.SplitNote(b)
	if string(ta) > string(tb) {
		ta, tb = tb, ta
	}
	id := sha256.Sum256(append(append([]byte{}, ta...), tb...))
	name := OriginHash(ls.v.Name())[:16] + "-"
	h := heldEvidence{log: ls.v.Name(), name: name, ev: ev,
		path: filepath.Join(w.cfg.Dir, "evidence", name+hex.EncodeToString(id[:8])+".json")}
	w.evMu.Lock()
	defer w.evMu.Unlock()
	path, err := w.saveEvidence(h)
	switch {
	case err == nil:
		w.flushEvidenceLocked()
		return path, nil
	case errors.Is(err, ErrEvidenceFull):
		return "", err
	}
	for _, p := range w.pending {
		if p.path == h.path {
			return "", fmt.Errorf("%w; %w (already)", err, errEvidenceHeld)
		}
	}
	if len(w.pending) >= maxHeldEvidence {
		return "", fmt.Errorf("%w; %d other evidence files are held in memory already, so this one is lost", err, len(w.pending))
	}
	w.pending = append(w.pending, h)
	w.npending.Store(int32(len(w.pending)))
	return "", fmt.Errorf("%w; %w", err, errEvidenceHeld)
}

// saveEvidence writes h unless its file exists already or its log has
// MaxEvidencePerLog files ([ErrEvidenceFull]). The caller holds w.evMu.
func (w *Witness) saveEvidence(h heldEvidence) (string, error) {
	dir := filepath.Dir(h.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if _, err := os.Stat(h.path); err == nil {
		return h.path, nil
	}
	// Only the log's key signs the checkpoints of a fork, but a log that
	// forked once can sign as many as it likes: without a bound each one
	// would be a file, until the witness's disk is full. One proves the
	// fork; a few show it went on. The files are counted by name, not
	// with filepath.Glob, whose pattern would be the data directory's
	// path too: one with '[' in it matched nothing (no bound) or was a
	// bad pattern (no evidence kept at all).
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	kept := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), h.name) && strings.HasSuffix(e.Name(), ".json") {
			kept++
		}
	}
	if kept >= MaxEvidencePerLog {
		return "", fmt.Errorf("%w: %d evidence files of this log are kept already (%s*.json); this one is not", ErrEvidenceFull, kept, filepath.Join(dir, h.name))
	}
	return h.path, writeFileSync(h.path, h.ev, 0o600)
}

// flushEvidence writes the evidence held since a write failed, oldest
// first, after a write succeeded; it stops at the first that still
// fails (the disk is still full), to try again after the next.
func (w *Witness) flushEvidence() {
	if w.npending.Load() == 0 {
		return
	}
	w.evMu.Lock()
	defer w.evMu.Unlock()
	w.flushEvidenceLocked()
}

func (w *Witness) flushEvidenceLocked() {
	for len(w.pending) > 0 {
		h := w.pending[0]
		path, err := w.saveEvidence(h)
		if err != nil && !errors.Is(err, ErrEvidenceFull) {
			return
		}
		w.pending = slices.Delete(w.pending, 0, 1)
		w.npending.Store(int32(len(w.pending)))
		if err != nil {
			w.cfg.Logger.Warn("split-view evidence held since a write failed is not kept", "log", h.log, "err", err)
			continue
		}
		w.cfg.Logger.Warn("split view: evidence held since a write failed is written", "log", h.log, "evidence", path)
	}
}

// MaxEvidencePerLog bounds the split-view evidence files a witness keeps
// of one log.
const MaxEvidencePerLog = 32

// ErrEvidenceFull is the error of evidence not kept because
// [MaxEvidencePerLog] files of its log are.
var ErrEvidenceFull = errors.New("enough evidence of this log's forks is kept")

// OriginHash is the lowercase hex SHA-256 of a log's origin: the path
// element of C2SP tlog-witness monitor retrieval.
func OriginHash(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return hex.EncodeToString(h[:])
}

// Evidence lists the evidence files the witness kept, oldest name first.
// (Not filepath.Glob: the data directory's path may hold '[' or '*'.)
func (w *Witness) Evidence() ([]string, error) {
	dir := filepath.Join(w.cfg.Dir, "evidence")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") {
			m = append(m, filepath.Join(dir, e.Name()))
		}
	}
	return m, nil
}

type newCheckpointKey struct{}

// WithNewCheckpoint returns a copy of ctx under which
// [Witness.AddCheckpoint] calls f, before it returns the cosignature,
// when the checkpoint it cosigned was new to the witness: written to its
// journal, as a log's first checkpoint or one that grew its tree is. A
// checkpoint it had already accepted, submitted again (a quiet log's
// re-submission, or anyone's replay of the checkpoint it serves), doesn't
// call f. [Witness.Handler] passes its request's context, so a server can
// tell which connections brought a log's new checkpoints: only the log's
// key signs those.
func WithNewCheckpoint(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, newCheckpointKey{}, f)
}

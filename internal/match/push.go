package match

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	neturl "net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// ErrPush is wrapped by [Push]'s errors: the node could not be reached,
// or refused some of the objects.
var ErrPush = errors.New("couldn't push the sightings")

// pushBatch keeps envelopes well below the node's default limits.
const pushBatch = 1000

// pushBytes bounds an envelope's objects, in bytes of their JSON: well
// below a node's default max_content_length (10 MiB), room left for the
// envelope around them.
const pushBytes = 8 << 20

// Push signs every object with the Parley signature extension
// (stix.Sign) and posts them to the collection. The sightings and
// observed-data name their creator (created_by_ref, the member whose key
// this is); the observables that observed-data refers to carry no creator,
// and the node accepts such an object only when it is signed by the
// member who sends it, so they are signed too: a node never stores
// observed-data whose observables it refused. The key never appears in
// errors. An envelope the node refuses as too large (413) goes again in
// halves (see postWhole).
func Push(ctx context.Context, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any) error {
	refused, err := push(ctx, client, collectionID, key, objs, false, nil, nil, nil)
	if err == nil && len(refused) > 0 {
		err = fmt.Errorf("%w: the node refused %d of %d objects (%s)", ErrPush, len(refused), len(objs), refused[0].Reason)
	}
	return err
}

// Refused is an object that the node refused for what it is (see
// [PushSeparating]): it would refuse it again at every try.
type Refused struct {
	Object map[string]any
	// Reason is the node's answer.
	Reason string
}

// PushSeparating is [Push] that tells the objects the node refuses for
// what they are from the rest, which it stores, and returns them, with
// no error. An object is refused for what it is when:
//
//   - it can't be signed (a number out of a double's range, say): no
//     node would take it unsigned, and no retry signs it;
//   - the node names it as failed in its status, or it is the one object
//     of an envelope whose status counts a failure without naming it;
//   - it is the one object of an envelope the node refuses whole as a
//     bad or too large request (400, 409, 413, 422), or with a 507 whose
//     details say it needs more than the member's whole storage quota
//     (see outOfQuota);
//   - it is the one object of an envelope the node fails on (a 5xx,
//     but not 507: a full quota or disk is no object's fault; a
//     connection cut; no answer within [pushRequestTimeout], a node
//     that hangs on it; a proxy's refusal, see foreignRefusal), the
//     node stored other objects of the push, and then, posted alone
//     again, each time right before or right after a probe (an object
//     it stored earlier in the push, posted again; which goes first is
//     drawn at random), the node fails on it and takes the probe in
//     convictRounds rounds and never takes it: the node works, and
//     fails on that object alone, as it would at every try, with a
//     certainty that a node failing at random does not give (see
//     settle).
//
// An envelope of several objects refused or failed on is split in halves
// until the objects at fault are alone. A node that fails on everything
// (500 for every envelope: down, its store broken) sets nothing apart:
// it stores none of the push, or fails on the probe; and after maxBlind
// failed requests in a row with nothing stored the push gives up with
// the node's error. A connection cut or refused, 502 or 504 count as a
// 500 does: a node may go down on one object (a panic, a crash behind a
// proxy), and the rounds tell that from a node that is down. A node that
// is busy (429, 503: see [busy]) ends the push with its answer after one
// request, the envelope not split; [PushRetryingSeparating] waits it out
// instead (see separator.send). An envelope refused otherwise (401, 403
// or 404: the member may not write the collection; 507, the member's
// quota or the node's storage full) is an error, as with Push: that is
// not one object's refusal.
func PushSeparating(ctx context.Context, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any) ([]Refused, error) {
	return push(ctx, client, collectionID, key, objs, true, nil, nil, nil)
}

// Probe keeps, between the separating pushes of one member to one
// collection, an object the node took (stored, or answered that it held),
// signed as it was sent: a later push that the node stores nothing of
// posts it again as its probe (see [PushRetryingSeparatingProbed]). The
// node answers it "already stored" and stores nothing new. It is safe for
// concurrent use; the zero value holds none, in memory only (see
// [Probe.Keep]).
type Probe struct {
	mu  sync.Mutex
	raw json.RawMessage
	// fresh is when the node last stored a new object of the member's
	// pushes (not one it held); apart, when a push the node stored
	// nothing new of last had objects set apart by the rounds (on raw,
	// or on an object of the push the node answered it held).
	fresh, apart time.Time
	// silentAt is when the node last answered the probe, an object it
	// holds, with a success that does not say "already stored" (a TAXII
	// server other than Parley, a front end replaying answers); heldAt,
	// when it last said "already stored" for it. While silentAt is the
	// later, no success tells a new object from one the node held, and
	// none counts as fresh (see [PushRetryingSeparatingProbed]).
	silentAt, heldAt time.Time
	// keeper, when set, keeps the state beyond this process (see Keep);
	// kept is what it held when last read or written, warned whether its
	// last failure was reported.
	keeper ProbeKeeper
	warn   func(error)
	kept   probeState
	warned bool
	// restUntil: after a failure of the keeper, it is left alone until
	// then (probeKeeperRest), so that a keeper that does not answer
	// (a request the NATS user may not publish is never answered) does
	// not cost every push its timeouts.
	restUntil time.Time
	// droppedRaw is the last probe the node refused: not kept again.
	droppedRaw json.RawMessage
}

// ProbeKeeper keeps a [Probe]'s state where a member that starts again
// finds it, and the other members of its fleet (pushing with the same key
// to the same collection of the same node) share it: [JetStreamProbeKeeper].
// LoadProbe returns what SaveProbe last saved, or nil and no error when
// nothing was.
type ProbeKeeper interface {
	LoadProbe(ctx context.Context) ([]byte, error)
	SaveProbe(ctx context.Context, state []byte) error
}

// Keep has p read its state from k at the start of every push, and
// write it there when a push changed it; warn, if not nil, is told when
// k can't be read or written (p then goes on with what it holds in
// memory). Without a keeper, a member that starts again has no probe
// until the node takes an object of one of its pushes: a first push of
// objects the node fails on only is taken for a node that is down, and
// waited on for ever; and the guard of [PushRetryingSeparatingProbed]
// starts again with each process, for each member of a fleet. Call it
// before the first push.
func (p *Probe) Keep(k ProbeKeeper, warn func(error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keeper, p.warn = k, warn
}

// probeState is a [Probe]'s state as its [ProbeKeeper] keeps it (JSON).
type probeState struct {
	Raw      json.RawMessage `json:"probe,omitempty"`
	Fresh    time.Time       `json:"fresh"`
	Apart    time.Time       `json:"apart"`
	SilentAt time.Time       `json:"silent_at"`
	HeldAt   time.Time       `json:"held_at"`
}

// probeKeptMax bounds the probe a [ProbeKeeper] keeps, and what is read
// back from it: a larger object (a sighting that names many stream
// sequences) stays in memory only; a smaller one the node takes later is
// kept instead.
const probeKeptMax = 64 << 10

// probeValueMax bounds the JSON of a kept state read back (and the
// values of a [ProbeBucket] a member creates): its probe and four times.
const probeValueMax = 2 * probeKeptMax

// probeKeptAhead is how far ahead of a member's clock a time kept by
// another member may be (the skew of the fleet's clocks): one later
// than that is not taken (see Probe.load). It lengthens the guard of
// [PushRetryingSeparatingProbed] by that much at most.
const probeKeptAhead = time.Minute

// probeKeeperTimeout bounds each read and write of a [ProbeKeeper];
// after a failure, it is left alone for probeKeeperRest.
const (
	probeKeeperTimeout = 5 * time.Second
	probeKeeperRest    = time.Minute
)

// load reads the keeper's state into p (held), merging it with p's own:
// the later of each time, p's probe unless it has none. Called with p.mu
// held.
func (p *Probe) load(ctx context.Context) {
	if p.keeper == nil || time.Now().Before(p.restUntil) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeKeeperTimeout)
	defer cancel()
	b, err := p.keeper.LoadProbe(ctx)
	var st probeState
	if err == nil && b != nil {
		if len(b) > probeValueMax {
			err = fmt.Errorf("%d bytes, more than %d", len(b), probeValueMax)
		} else if err = json.Unmarshal(b, &st); err == nil && st.Raw != nil && (len(st.Raw) > probeKeptMax || !bytes.HasPrefix(bytes.TrimSpace(st.Raw), []byte("{"))) {
			err = errors.New("its probe is not a JSON object of at most 64 KiB")
		}
		if err != nil {
			err = fmt.Errorf("couldn't read the kept probe: %w", err)
		}
	}
	if p.failed(err) {
		return
	}
	// Any writer of the bucket (a NATS user of the fleet) or a member
	// whose clock runs ahead could set a time far in the future, and
	// the later of each time is kept: an apart in the year 9999 would
	// hold the guard for ever (no push the node stores nothing new of
	// judged again, its messages never acknowledged), a fresh there
	// would lift it for ever. A time more than probeKeptAhead ahead of
	// this member's clock is not taken; the next save writes p's own.
	now := pushNow()
	for _, t := range []*time.Time{&st.Fresh, &st.Apart, &st.SilentAt, &st.HeldAt} {
		if t.Sub(now) > probeKeptAhead {
			*t = time.Time{}
		}
	}
	p.kept = st
	if p.raw == nil && !bytes.Equal(st.Raw, p.droppedRaw) {
		p.raw = st.Raw
	}
	p.fresh = later(p.fresh, st.Fresh)
	p.apart = later(p.apart, st.Apart)
	p.silentAt = later(p.silentAt, st.SilentAt)
	p.heldAt = later(p.heldAt, st.HeldAt)
}

// failed reports whether err is not nil, telling p.warn of the first of
// a run of failures. Called with p.mu held.
func (p *Probe) failed(err error) bool {
	if err == nil {
		p.warned = false
		return false
	}
	p.restUntil = time.Now().Add(probeKeeperRest)
	if !p.warned && p.warn != nil {
		p.warn(fmt.Errorf("%w; going on with the probe held in memory", err))
	}
	p.warned = true
	return true
}

// save writes p's state to the keeper when it differs from what the
// keeper held in a way that matters: another probe to keep (p's, once the
// kept one is gone or too large), objects set apart, the node found to
// answer "already stored" or not, a new object stored while the kept
// state has the guard hold, or a minute after the kept fresh. It reads
// the keeper first, so that what another member wrote meanwhile is
// merged, not overwritten. Called with p.mu held.
func (p *Probe) save(ctx context.Context) {
	if p.keeper == nil || time.Now().Before(p.restUntil) {
		return
	}
	raw := p.keptRaw()
	k := p.kept
	if bytes.Equal(raw, k.Raw) && p.apart.Equal(k.Apart) && p.silent() == k.SilentAt.After(k.HeldAt) &&
		!(p.fresh.After(k.Fresh) && (!k.Fresh.After(k.Apart) || p.fresh.Sub(k.Fresh) >= time.Minute)) {
		return
	}
	// Another member may write between this read and the write: the
	// keeper then refuses the write (errProbeChanged), and it is read,
	// merged and written again.
	for try := 1; ; try++ {
		if p.load(ctx); time.Now().Before(p.restUntil) {
			return
		}
		raw = p.keptRaw()
		st := probeState{Raw: raw, Fresh: p.fresh, Apart: p.apart, SilentAt: p.silentAt, HeldAt: p.heldAt}
		b, err := json.Marshal(st)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeKeeperTimeout)
			err = p.keeper.SaveProbe(ctx, b)
			cancel()
		}
		if errors.Is(err, errProbeChanged) && try < probeSaveTries {
			continue
		}
		if err != nil {
			err = fmt.Errorf("couldn't keep the probe: %w", err)
		}
		if !p.failed(err) {
			p.kept = st
		}
		return
	}
}

// probeSaveTries bounds the writes of one save that another member's
// write, between the read and the write, refuses.
const probeSaveTries = 4

// keptRaw returns the probe to keep: the one kept, unless there is none
// or the node refused it; then p's own, unless it is too large. Called
// with p.mu held.
func (p *Probe) keptRaw() json.RawMessage {
	if raw := p.kept.Raw; raw != nil && !bytes.Equal(raw, p.droppedRaw) {
		return raw
	}
	if len(p.raw) <= probeKeptMax {
		return p.raw
	}
	return nil
}

// silent reports whether the node last answered the probe with a success
// that does not say "already stored". Called with p.mu held.
func (p *Probe) silent() bool { return p.silentAt.After(p.heldAt) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// take returns the probe for a push starting at now, or nil, whether the
// push is guarded: the node stored nothing new since a push it stored
// nothing new of had objects set apart, less than earlierProbeEvery ago
// (see [PushRetryingSeparatingProbed]), and whether the node is silent:
// it answered the probe last with a success that does not say "already
// stored" (see Probe.silentAt). A guarded push gets no probe, and has
// nothing set apart by the rounds unless the node stores a new object of
// it (one that a silent node's answer can't tell).
//
// A probe not signed with pub (the member's key) is dropped, not posted:
// what the keeper holds may have been written by any writer of the
// bucket, and the member would post it to the node as its own.
func (p *Probe) take(ctx context.Context, now time.Time, pub ed25519.PublicKey) (raw json.RawMessage, guarded, silent bool) {
	if p == nil {
		return nil, false, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.load(ctx)
	if p.raw != nil {
		if signer, err := stix.Verify(p.raw); err != nil || !signer.Equal(pub) {
			p.raw, p.droppedRaw = nil, p.raw
		}
	}
	if !p.apart.IsZero() && p.fresh.Before(p.apart) && now.Sub(p.apart) < earlierProbeEvery {
		return nil, true, p.silent()
	}
	return p.raw, false, p.silent()
}

// update keeps what the push s learnt, as it ends at now: the last object
// the node took, whether it stored a new one, whether the earlier probe
// set objects apart or was refused (then it is dropped), how the node
// answered the probe; and saves it to the keeper.
func (p *Probe) update(ctx context.Context, s *separator, now time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.dropEarlier && bytes.Equal(p.raw, s.earlier) {
		p.raw, p.droppedRaw = nil, s.earlier
	}
	if s.stored != nil {
		p.raw = s.stored
	}
	switch {
	case s.saidHeld:
		p.heldAt = now
	case s.saidSilent:
		p.silentAt = now
	}
	if s.fresh && !s.silent {
		p.fresh = now
	}
	if s.apartBlind {
		p.apart = now
	}
	p.save(ctx)
}

// earlierProbeEvery is how often a member's pushes that the node stores
// nothing new of may have objects set apart on an earlier push's probe
// (see [PushRetryingSeparatingProbed]). A variable for the tests.
var earlierProbeEvery = 10 * time.Minute

// pushNow is the clock of [Probe]. A variable for the tests.
var pushNow = time.Now

// alreadyStored is the message of a Parley node's status for an object it
// held already: nothing new stored.
const alreadyStored = "already stored"

// maxBlind bounds the envelopes a push sends, in a row, that the node
// fails on (a 5xx) without storing anything: a node that is down costs a
// try that many requests at most, and aliveTries more (see alive); a node
// that still stores objects then goes on splitting, however many poison
// objects lie side by side.
const maxBlind = 64

// push is Push, or PushSeparating when separate is set. probe, when not
// nil, gives the probe before the node takes an object of this push, and
// keeps the last object it took (see [Probe]). convicted, when
// not nil, holds the objects (by their signed bytes) that the rounds of
// an earlier try of the same push set apart: they are set apart again
// without a request, and this try's convictions are added to it. busy,
// when not nil, waits out a node that is busy (see separator.send);
// without it, a busy node ends the push with its answer.
func push(ctx context.Context, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, separate bool, probe *Probe, convicted map[string]string, busy *busyWait) ([]Refused, error) {
	raw := make([]json.RawMessage, 0, len(objs))
	var refused []Refused
	signed := objs
	if separate {
		signed = make([]map[string]any, 0, len(objs))
	}
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err == nil {
			b, err = stix.Sign(b, key)
		}
		if err != nil {
			if !separate {
				return nil, fmt.Errorf("%w: %v", ErrPush, err)
			}
			// The same object fails at every try, by every member:
			// refused for what it is (see PushSeparating).
			refused = append(refused, Refused{Object: o, Reason: fmt.Sprintf("couldn't sign it: %v", err)})
			continue
		}
		if reason, ok := convicted[string(b)]; ok {
			refused = append(refused, Refused{Object: o, Reason: reason})
			continue
		}
		raw = append(raw, b)
		if separate {
			signed = append(signed, o)
		}
	}
	s := &separator{ctx: ctx, client: client, coll: collectionID, refused: refused, all: raw, convicted: convicted, busy: busy}
	if separate {
		// An object the node took in an earlier push of the member is
		// the probe until it takes one of this push: a push of nothing
		// but objects the node fails on is then judged by the rounds,
		// not taken for a node that is down (see settle).
		s.earlier, s.guarded, s.silent = probe.take(ctx, pushNow(), key.Public().(ed25519.PublicKey))
		s.stored = s.earlier
		defer func() { probe.update(ctx, s, pushNow()) }()
	}
	for start := 0; start < len(raw); {
		// An envelope holds pushBatch objects, or fewer that make
		// pushBytes: a fleet member's sightings name the stream
		// sequences they count, so they can be large, and an envelope
		// over the node's max_content_length is refused (413) every time
		// it is sent again, by any member the messages go to.
		end, size := start+1, len(raw[start])
		for end < len(raw) && end-start < pushBatch && size+len(raw[end]) <= pushBytes {
			size += len(raw[end])
			end++
		}
		if !separate {
			if err := postWhole(ctx, client, collectionID, raw[start:end]); err != nil {
				return nil, err
			}
		} else if err := s.post(raw[start:end], signed[start:end]); err != nil {
			return nil, err
		}
		start = end
	}
	if err := s.settle(); err != nil {
		return nil, err
	}
	return s.refused, nil
}

// postWhole posts raw in one envelope for [Push]: any object refused
// fails the push. An envelope of several objects that the node refuses
// as too large (413: an operator may lower max_content_length below the
// pushBytes an envelope holds) goes again in halves, as often as it
// takes: only one object alone over the limit fails the push. A half the
// node stored before another failed is answered "already stored" at the
// next try.
func postWhole(ctx context.Context, client *taxii.Client, collectionID string, raw []json.RawMessage) error {
	st, err := client.AddObjects(ctx, collectionID, raw)
	if err == nil {
		err = unsettled(st, len(raw))
	}
	if tooLarge(err) && len(raw) > 1 {
		h := len(raw) / 2
		if err := postWhole(ctx, client, collectionID, raw[:h]); err != nil {
			return err
		}
		return postWhole(ctx, client, collectionID, raw[h:])
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPush, err)
	}
	if st.FailureCount > 0 {
		msg := ""
		if len(st.Failures) > 0 {
			msg = " (" + st.Failures[0].Message + ")"
		}
		return fmt.Errorf("%w: the node refused %d of %d objects%s", ErrPush, st.FailureCount, len(raw), msg)
	}
	return nil
}

// tooLarge reports whether an envelope was refused with 413 Content Too
// Large, by the node or a proxy before it: its size, not (unless it
// holds one object) its objects.
func tooLarge(err error) bool {
	var re *taxii.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusRequestEntityTooLarge
}

// separator is a push of [PushSeparating] under way.
type separator struct {
	ctx     context.Context
	client  *taxii.Client
	coll    string
	refused []Refused
	// suspects are objects the node failed on alone (a 5xx), not yet
	// known to be at fault: the node may be failing on everything.
	suspects   []Refused
	suspectRaw []json.RawMessage
	// stored is an object of the push the node stored, posted again as
	// the probe; nil while none is known.
	stored json.RawMessage
	// earlier is the probe an earlier push left (see [Probe]), nil for
	// none; dropEarlier is set once the node refused it. fresh is set
	// once the node stores a new object of the push; apartBlind once the
	// rounds set an object apart before it did (on the earlier probe, or
	// on an object of the push the node answered it held: a node that
	// stores nothing new answers both). guarded: the [Probe] allows no
	// such verdict now.
	earlier     json.RawMessage
	dropEarlier bool
	fresh       bool
	apartBlind  bool
	guarded     bool
	// silent: the node answered the probe, an object it holds, with a
	// success that does not say "already stored" (in this push,
	// saidSilent, or last in an earlier one: see Probe.silentAt); no
	// success then tells that it stored a new object (fresh is not
	// trusted). saidHeld: it said "already stored" for it in this push.
	silent, saidSilent, saidHeld bool
	// all is the whole push, signed (see alive).
	all []json.RawMessage
	// convicted, when not nil, gets the reason of each object the
	// rounds set apart, by its signed bytes (see push).
	convicted map[string]string
	// blind counts the envelopes failed on since the node last stored
	// one; failed is the last such failure.
	blind  int
	failed error
	// busy, when not nil, waits out a busy node (see send).
	busy *busyWait
}

// post posts raw (the signed objs) in one envelope and sets apart the
// objects at fault (see [PushSeparating]).
func (s *separator) post(raw []json.RawMessage, objs []map[string]any) error {
	if len(raw) == 0 {
		return nil
	}
	st, err := s.send(raw)
	if err != nil {
		var cf *checkFailedError
		switch {
		case errors.As(err, &cf):
			// The caller's check of the node failed after a wait:
			// nothing more is sent, nothing set apart.
			return err
		case objectRefusal(err), outOfQuota(err):
			// An object alone that the node refuses for what it is, or
			// that is larger than the member's whole storage quota: it
			// would be refused at every try (see outOfQuota).
			if len(raw) == 1 {
				s.refused = append(s.refused, Refused{Object: objs[0], Reason: err.Error()})
				return nil
			}
		case outOfStorage(err):
			// The member's quota or the node's storage, not the
			// objects: no half is set apart (see outOfStorage).
			return fmt.Errorf("%w: %w", ErrPush, err)
		case requestTimeout(err):
			// The link, not the objects: smaller envelopes, none set
			// apart (see requestTimeout).
			if len(raw) == 1 {
				return fmt.Errorf("%w: %w", ErrPush, err)
			}
		case failedOn(err) && s.ctx.Err() == nil:
			// A 5xx, no answer, a proxy's refusal, the node
			// unavailable (a connection cut, 502, 504), or busy on
			// this envelope alone (see send): a node
			// that goes down on an object (a handler's panic cuts the
			// connection; a proxy answers 502 for a node that
			// crashed) fails every envelope holding it and is
			// reached again for the next one. Halves, as for a 500:
			// the rounds of settle tell that from a node that is down.
			s.failed = err
			if s.blind++; s.blind >= maxBlind {
				if !s.alive() {
					return fmt.Errorf("%w: the node failed on %d envelopes in a row and stored none: %w", ErrPush, s.blind, err)
				}
				// The node works: these are objects it fails on, side
				// by side (see alive).
				s.blind = 0
			}
			if len(raw) == 1 {
				s.suspects = append(s.suspects, Refused{Object: objs[0], Reason: err.Error()})
				s.suspectRaw = append(s.suspectRaw, raw[0])
				return nil
			}
		default:
			return fmt.Errorf("%w: %w", ErrPush, err)
		}
		// One object (or a few) refuses the whole envelope: the node
		// stores none of it. Halves until the refused ones are alone.
		return s.halves(raw, objs)
	}
	s.took(st, raw, objs)
	if st.FailureCount == 0 {
		return nil
	}
	// The status names each failed object by its id.
	byID := make(map[string]int, len(objs))
	for i, o := range objs {
		if id, ok := o["id"].(string); ok {
			byID[id] = i
		}
	}
	named := map[int]bool{}
	for _, f := range st.Failures {
		if i, ok := byID[f.ID]; ok {
			s.refused = append(s.refused, Refused{Object: objs[i], Reason: f.Message})
			delete(byID, f.ID)
			named[i] = true
		}
	}
	if len(named) >= st.FailureCount {
		return nil
	}
	msg := fmt.Sprintf("the node refused %d of %d objects without naming each", st.FailureCount, len(raw))
	if len(st.Failures) > 0 {
		msg += " (" + st.Failures[0].Message + ")"
	}
	if len(raw) == 1 {
		if len(named) == 0 {
			s.refused = append(s.refused, Refused{Object: objs[0], Reason: msg})
		}
		return nil
	}
	// Some failures are not named: the objects not named as failed go
	// again, in halves, until each unnamed failure is alone. Those the
	// node stored are answered as held already.
	var rest []int
	for i := range objs {
		if !named[i] {
			rest = append(rest, i)
		}
	}
	rraw, robjs := make([]json.RawMessage, len(rest)), make([]map[string]any, len(rest))
	for k, i := range rest {
		rraw[k], robjs[k] = raw[i], objs[i]
	}
	if len(rest) == 1 {
		s.refused = append(s.refused, Refused{Object: robjs[0], Reason: msg})
		return nil
	}
	return s.halves(rraw, robjs)
}

// add posts raw in one envelope, waiting for the node's answer for
// pushRequestTimeout and a second for every 256 KiB of it at most: a node
// that hangs on an envelope (takes the connection, never answers) fails
// it with a [noAnswer] error, as a node that fails on it (a 5xx) does.
func (s *separator) add(raw []json.RawMessage) (*taxii.Status, error) {
	size := 0
	for _, r := range raw {
		size += len(r)
	}
	wait := pushRequestTimeout + time.Duration(size/(256<<10))*time.Second
	ctx, cancel := context.WithTimeout(s.ctx, wait)
	defer cancel()
	// Whether the whole request went out: a wait that runs out before
	// it did is the link's (too slow for the body), not a node that
	// hangs on the objects, which it never had all of.
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	st, err := s.client.AddObjects(ctx, s.coll, raw)
	if err != nil && s.ctx.Err() == nil && ctx.Err() != nil {
		return nil, &noAnswerError{wait: wait, sent: wrote.Load(), err: err}
	}
	if err == nil {
		if err = unsettled(st, len(raw)); err != nil {
			return nil, err
		}
		// A success that does not say the node held the object is a
		// new one stored: the node's writes work. Not the probe posted
		// again, which the node holds: a success for it says nothing of
		// the node's writes (a front end that replays the answer to the
		// probe's first post, when it was new, would otherwise have the
		// guard of PushRetryingSeparatingProbed never hold).
		n := 0
		for _, d := range st.Successes {
			if d.Message == alreadyStored {
				n++
			}
		}
		probe := len(raw) == 1 && s.stored != nil && bytes.Equal(raw[0], s.stored)
		if st.SuccessCount > n && !probe {
			s.fresh = true
		}
		// The node holds the probe (it took it before): a success for it
		// that does not say so is a node that never does (a TAXII
		// server other than Parley, a front end replaying answers).
		switch {
		case probe && n > 0:
			s.saidHeld, s.saidSilent, s.silent = true, false, false
		case probe && st.SuccessCount > 0:
			s.saidHeld, s.saidSilent, s.silent = false, true, true
		}
	}
	return st, err
}

// unsettledError is a node's answer to an envelope that does not say of
// each object that it was stored or refused: a status with objects
// pending (TAXII's asynchronous processing: they may yet fail), or one
// that counts none of them (a broken front end's 200 {}). Nothing of the
// envelope is known stored, so no message it counts may be acknowledged;
// it is [Unavailable]: the push is tried again, and the node answers
// "already stored" for what it stored meanwhile.
type unsettledError struct{ n, success, failure, pending int }

func (e *unsettledError) Error() string {
	return fmt.Sprintf("the node answered an envelope of %d objects without saying each was stored or refused (%d stored, %d refused, %d pending)", e.n, e.success, e.failure, e.pending)
}

// unsettled returns an [unsettledError] when st, the node's answer to an
// envelope of n objects, has objects pending, or counts none of them.
func unsettled(st *taxii.Status, n int) error {
	if n > 0 && (st.PendingCount > 0 || st.SuccessCount+st.FailureCount == 0) {
		return &unsettledError{n: n, success: st.SuccessCount, failure: st.FailureCount, pending: st.PendingCount}
	}
	return nil
}

// pushRequestTimeout is how long a separating push waits for the node's
// answer to an envelope, and a second more for every 256 KiB of it (see
// separator.add). A variable for the tests.
var pushRequestTimeout = 10 * time.Second

// failedOn reports whether err is a failure that a round of settle counts
// (see separator.judge): a server error ([serverFailure]), no answer in
// time ([noAnswer]), a proxy's refusal ([foreignRefusal]), a node busy on
// one envelope alone ([busyOnError]), or the node [Unavailable] otherwise
// (no connection, a connection cut, 502, 504), but not a node that is
// busy (429 Too Many Requests, 503 Service Unavailable: see [busy]), nor
// an answer with objects pending (see unsettledError: the node's way of
// working, not the objects'), nor a certificate that doesn't verify.
func failedOn(err error) bool {
	var bo *busyOnError
	if errors.As(err, &bo) {
		return true
	}
	var ue *unsettledError
	if busy(err) || errors.As(err, &ue) {
		return false
	}
	return serverFailure(err) || noAnswer(err) || foreignRefusal(err) || Unavailable(err)
}

// busy reports whether the node answered 429 Too Many Requests or 503
// Service Unavailable: it can't take requests now, whatever they hold (a
// Parley node answers 503 while it is busy receiving other envelopes, or
// its store can't be reached; a front end, while the node restarts). That
// is the node's state, not the objects': a separating push does not split
// the envelope, nor count it against the objects; it waits (see
// separator.send), or ends with the answer.
func busy(err error) bool {
	var bo *busyOnError
	if errors.As(err, &bo) {
		return false
	}
	var re *taxii.ResponseError
	return errors.As(err, &re) && (re.StatusCode == http.StatusTooManyRequests || re.StatusCode == http.StatusServiceUnavailable)
}

// busyOnError is a busy answer (see [busy]) to an envelope that the node
// gave right after it took another request (the probe: see
// separator.send), and again when the envelope went first after the
// next, longer wait (a rate limiter passes it then): the node works, and is busy on this envelope alone,
// as one that goes down on an object behind a front end that answers 503
// for it, or that times its handling out with a 503, is. It counts as a
// failure on the envelope ([failedOn]): halves, and the rounds of settle.
type busyOnError struct{ err error }

func (e *busyOnError) Error() string {
	return fmt.Sprintf("the node answered this envelope busy right after it took another request, and again when it went first after a longer wait: %v", e.err)
}

func (e *busyOnError) Unwrap() error { return e.err }

// send posts raw as add does, unless the caller's check of the node
// failed (then it returns that failure, a [checkFailedError], sending
// nothing). A busy node (see [busy]) is waited out when
// s.busy is set: the push waits (the back-off of [PushRetrying], or
// longer when the node's Retry-After asks for it: see busyWait), then
// posts one object the node took already (the probe; before it took any,
// one of aliveTries objects spread over the push), again after each wait
// while the node is still busy; once the node takes it, raw goes again.
// A busy node thus gets one request per wait, and the envelope stays
// whole: splitting it would cost a request per object for nothing (a
// busy node got 72 envelopes a try before). An envelope the node answers
// busy again right after it took the probe goes again first after the
// next wait, before any probe (a rate limiter passes one request a
// wait: the probe took it); answered busy then too, it fails with a
// [busyOnError]. Once the waits add up to pushRecheckAfter, the caller's
// check runs before anything more is sent ([busyWait.recheck]). A wait
// cut short (the try's time ran out, the member was asked to stop)
// ends the push with the node's answer; so does a busy answer without
// s.busy.
func (s *separator) send(raw []json.RawMessage) (*taxii.Status, error) {
	if s.busy != nil && s.busy.failed != nil {
		// The node failed the caller's check: it gets nothing more.
		return nil, s.busy.failed
	}
	st, err := s.add(raw)
	if !busy(err) || s.busy == nil || s.ctx.Err() != nil {
		return st, err
	}
	// afterProbe: the node answered raw busy right after it took the
	// probe. A rate limiter does that to every envelope (the probe took
	// its one request of the wait), so raw then goes again first after
	// the next wait, which is longer (the back-off goes on doubling: the
	// probe taken is no reason to shorten it), before any probe.
	afterProbe := false
	for k := 0; ; k++ {
		if s.busy.wait(s.ctx, err) != nil {
			return nil, err
		}
		// A long wait (a node's Retry-After, or many short ones): the
		// node may have been replaced meanwhile, and is checked again
		// before it gets anything more.
		if cerr := s.busy.recheck(s.ctx); cerr != nil {
			return nil, cerr
		}
		probe := s.stored
		if probe == nil {
			i := (2*(k%aliveTries) + 1) * len(s.all) / (2 * aliveTries)
			probe = s.all[i]
		}
		took := false
		if !afterProbe && (len(raw) != 1 || !bytes.Equal(raw[0], probe)) {
			pst, perr := s.add([]json.RawMessage{probe})
			if busy(perr) {
				err = perr
				continue
			}
			if took = perr == nil && pst.SuccessCount > 0; took {
				s.stored, s.blind = probe, 0
			}
		}
		st, err = s.add(raw)
		switch {
		case !busy(err):
			s.busy.reset()
			return st, err
		case afterProbe:
			return nil, &busyOnError{err: err}
		case took:
			afterProbe = true
		case s.ctx.Err() != nil:
			return nil, err
		}
	}
}

// noAnswerError is a request the node did not answer in time; sent
// tells whether the whole request had gone out (else the link could not
// carry it in time: see [requestTimeout]).
type noAnswerError struct {
	wait time.Duration
	sent bool
	err  error
}

func (e *noAnswerError) Error() string {
	if !e.sent {
		return fmt.Sprintf("the link did not carry the envelope to the node within %v (a slow link)", e.wait)
	}
	return fmt.Sprintf("the node did not answer within %v", e.wait)
}

func (e *noAnswerError) Unwrap() error { return e.err }

// noAnswer reports whether the node did not answer a separating push's
// envelope in time (see separator.add): it hangs on it, or on
// everything. Like a 5xx (see [PushSeparating]), that is laid on one
// object only when it is alone, and the node keeps hanging on it while it
// answers the probe; a node that hangs on everything is waited for.
func noAnswer(err error) bool {
	var ne *noAnswerError
	return errors.As(err, &ne) && ne.sent
}

// aliveTries bounds the objects alive posts, spread over the push, to
// find one the node stores.
const aliveTries = 8

// alive reports whether the node, after maxBlind envelopes in a row that
// it failed on, still stores objects: it takes the probe again, or, when
// it stored nothing of the push yet, one of aliveTries objects spread
// over the push (which becomes the probe). Objects the node fails on that
// lie side by side (an attacker's event repeated, each sighting one the
// node fails on) need about two failed envelopes each to be split apart,
// and some dozens of them made the push give up, as for a node that is
// down, at every try: the fleet waited on them for ever. A node that is
// down fails these too, and the push gives up with its error.
func (s *separator) alive() bool {
	if s.stored != nil {
		st, err := s.send([]json.RawMessage{s.stored})
		if err == nil && st.SuccessCount > 0 {
			return true
		}
		if !s.refusedEarlier(st, err) {
			return false
		}
	}
	for k := range aliveTries {
		if s.ctx.Err() != nil {
			return false
		}
		i := (2*k + 1) * len(s.all) / (2 * aliveTries)
		st, err := s.send(s.all[i : i+1])
		if err == nil && st.SuccessCount > 0 {
			s.stored = s.all[i]
			return true
		}
	}
	return false
}

// refusedEarlier reports whether st and err, the node's answer to the
// probe, refuse it (a status that counts it failed, or a refusal of
// [objectRefusal] or [outOfQuota]) while the probe is the one an earlier
// push left: the node holds it no more, or its rules changed. It is then
// dropped, from this push and from its [Probe], and the push goes on as
// one that has none: a probe refused would otherwise end every try, and
// the member wait for ever.
func (s *separator) refusedEarlier(st *taxii.Status, err error) bool {
	if s.earlier == nil || !bytes.Equal(s.stored, s.earlier) {
		return false
	}
	if err == nil && st.SuccessCount > 0 || err != nil && !objectRefusal(err) && !outOfQuota(err) {
		return false
	}
	s.stored, s.dropEarlier = nil, true
	return true
}

func (s *separator) halves(raw []json.RawMessage, objs []map[string]any) error {
	h := len(raw) / 2
	if err := s.post(raw[:h], objs[:h]); err != nil {
		return err
	}
	return s.post(raw[h:], objs[h:])
}

// took notes an envelope the node answered with a status: it stored (or
// holds) the status's successes, so it is not failing on everything; one
// of them is kept for the probe.
func (s *separator) took(st *taxii.Status, raw []json.RawMessage, objs []map[string]any) {
	if st.SuccessCount == 0 {
		return
	}
	s.blind = 0
	if st.FailureCount == 0 {
		s.stored = raw[0]
		return
	}
	for _, d := range st.Successes {
		for i, o := range objs {
			if id, _ := o["id"].(string); id == d.ID {
				s.stored = raw[i]
				return
			}
		}
	}
}

// convictRounds is how many rounds of evidence set a suspect apart (see
// settle): in each, the node failed on it alone (a 5xx, or no answer
// within [pushRequestTimeout]) and took the probe, posted right before or
// right after it (at random: a node whose failures follow the order of
// requests, such as a load balancer that alternates between a working
// backend and a broken one, gives no round more often than a node failing
// at random, which each round's order defeats). A node that fails
// at random, on any object, gives a good object such a round only by luck,
// and takes it as often: at half its answers failing, a round is evidence
// a quarter of the time and stores the object half of it, so a good object
// is set apart with a chance of (1/3)^16, about 2 in 100 million. A node
// that fails on the object every time, and works, sets it apart in 16
// rounds (32 requests).
const convictRounds = 16

// settleRounds bounds the rounds of one suspect: a node that fails on the
// probe too often gives no evidence either way, and the push fails with
// its error (waited on by [PushRetryingSeparating]).
const settleRounds = 4 * convictRounds

// settle decides on the suspects, the objects the node failed on alone.
// None is set apart unless the node stored something of the push, or
// there is a probe an earlier push of the member left (see [Probe]); then
// each is judged in rounds: posted alone again, and, right before or
// right after it (drawn at random each round), the probe, an object the
// node stored, posted again. A suspect the node takes in any round is stored, not set apart;
// one it refuses for what it is (a 4xx of [objectRefusal], a status that
// counts it failed) is set apart at once; one it fails on in
// convictRounds rounds whose probe it took is set apart. A failure on the
// probe is no evidence either way. After maxBlind failures in a row
// (suspects and probes), or settleRounds rounds of one suspect without a
// verdict, the node fails on everything now: the push fails with its
// error, and nothing is set apart.
func (s *separator) settle() error {
	if len(s.suspects) == 0 {
		return nil
	}
	if s.stored == nil {
		return fmt.Errorf("%w: the node failed on every envelope and stored none: %w", ErrPush, s.failed)
	}
	if s.guarded && (!s.fresh || s.silent) {
		// The probe is an object the node held already: a node that
		// fails on every new object takes it, and fails on everything
		// else (see PushRetryingSeparatingProbed).
		return fmt.Errorf("%w: the node failed on every object of the push it did not hold, and stored nothing new since objects were set apart less than %v ago: %w", ErrPush, earlierProbeEvery, s.failed)
	}
	s.blind = 0
	var convicted []Refused
	for i, x := range s.suspects {
		r, err := s.judge(x, s.suspectRaw[i])
		if err != nil {
			return err
		}
		if r != nil {
			if !s.fresh || s.silent {
				s.apartBlind = true
			}
			convicted = append(convicted, *r)
			if s.convicted != nil {
				s.convicted[string(s.suspectRaw[i])] = r.Reason
			}
		}
	}
	s.refused = append(s.refused, convicted...)
	s.suspects = nil
	return nil
}

// judge runs the rounds of one suspect (see settle): it returns the
// suspect set apart, or nil when the node took it.
//
// Any failure but a refusal counts in a round (see failedOn): a node that
// cuts connections or answers 5xx at random does so to the suspect and
// the probe alike, and the rounds' evidence holds against it as it does
// against random 500s; ending the try on each cut would instead have a
// flapping node never let a try judge a poison object, and the fleet wait
// on it for ever.
func (s *separator) judge(x Refused, raw json.RawMessage) (*Refused, error) {
	evidence := 0
	last := s.failed
	probe := []json.RawMessage{s.stored}
	for range settleRounds {
		// The probe goes right before or right after the suspect, at
		// random: a node whose failures follow the order of requests
		// (a load balancer that sends them in turn to a working backend
		// and a broken one) would otherwise fail the suspect and take
		// the probe in every round, and have a good object set apart.
		probeFirst := rand.IntN(2) == 0
		probed, took := false, false
		if probeFirst {
			var err error
			if took, err = s.probe(probe, last); err != nil {
				return nil, err
			}
			probed = true
		}
		st, err := s.send([]json.RawMessage{raw})
		switch {
		case err == nil && st.FailureCount == 0:
			s.blind = 0
			return nil, nil
		case err == nil:
			msg := "the node refused it"
			if len(st.Failures) > 0 {
				msg = st.Failures[0].Message
			}
			return &Refused{Object: x.Object, Reason: msg}, nil
		case objectRefusal(err), outOfQuota(err):
			return &Refused{Object: x.Object, Reason: err.Error()}, nil
		case outOfStorage(err), requestTimeout(err):
			return nil, fmt.Errorf("%w: %w", ErrPush, err)
		case failedOn(err) && s.ctx.Err() == nil:
			last = err
			if s.blind++; s.blind >= maxBlind {
				return nil, fmt.Errorf("%w: the node failed on %d requests in a row, objects it had stored among them: %w", ErrPush, s.blind, err)
			}
		default:
			return nil, fmt.Errorf("%w: %w", ErrPush, err)
		}
		if !probed {
			if took, err = s.probe(probe, last); err != nil {
				return nil, err
			}
		}
		if took {
			if evidence++; evidence >= convictRounds {
				if s.earlier != nil && bytes.Equal(probe[0], s.earlier) {
					return &Refused{Object: x.Object, Reason: fmt.Sprintf(
						"the node failed on it alone %d times, and took an object it had stored in an earlier push right before or after each (it stored nothing of this push): %v", evidence, last)}, nil
				}
				if !s.fresh {
					return &Refused{Object: x.Object, Reason: fmt.Sprintf(
						"the node failed on it alone %d times, and took an object of the push it held already right before or after each (it stored nothing new of this push): %v", evidence, last)}, nil
				}
				return &Refused{Object: x.Object, Reason: fmt.Sprintf(
					"the node failed on it alone %d times, and took an object of the push it had stored right before or after each, as it stored the others: %v", evidence, last)}, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: the node failed on an object alone, and on an object it had stored too often to tell the object from the node: %w", ErrPush, last)
}

// probe posts the probe of a round of judge: it reports whether the node
// took it; a failure of [failedOn] is no evidence either way, and any
// other answer ends the push (last is the suspect's latest failure).
func (s *separator) probe(probe []json.RawMessage, last error) (bool, error) {
	st, err := s.send(probe)
	switch {
	case err == nil && st.SuccessCount > 0:
		s.blind = 0
		return true, nil
	case s.refusedEarlier(st, err):
		return false, fmt.Errorf("%w: the node failed on an object and then refused the one it had taken in an earlier push: %w", ErrPush, last)
	case err == nil:
		return false, fmt.Errorf("%w: the node failed on an object and then refused one it had stored: %w", ErrPush, last)
	case failedOn(err) && s.ctx.Err() == nil:
		// No evidence either way: the node fails on this too.
		if s.blind++; s.blind >= maxBlind {
			return false, fmt.Errorf("%w: the node failed on %d requests in a row, objects it had stored among them: %w", ErrPush, s.blind, err)
		}
		return false, nil
	default:
		return false, fmt.Errorf("%w: %w", ErrPush, err)
	}
}

// objectRefusal reports whether the node refused an envelope for what its
// objects are: 400 Bad Request, 409 Conflict, 413 Content Too Large or
// 422 Unprocessable Content. Not a refusal of the member (401, 403), of
// the collection (404) or for the node's state (429, 5xx, 507).
//
// Only the node's own answer says so: one with a TAXII error object, as a
// Parley node's every refusal has. The same status without one (an HTML
// page) is a proxy's before the node, and may say nothing of the objects:
// nginx answers 400 to every request whose client certificate expired;
// see [foreignRefusal].
func objectRefusal(err error) bool {
	var re *taxii.ResponseError
	return errors.As(err, &re) && re.Err != nil && refusalStatus(re.StatusCode)
}

// foreignRefusal reports whether an envelope was refused with a status
// of [objectRefusal] but no TAXII error object: not the node's answer,
// and perhaps not about the objects. A separating push treats it as a
// server failure: an object alone refused so is set apart only by the
// rounds of settle (the proxy refuses it, and passes the probe), and a
// proxy that refuses everything is waited for, nothing set apart.
func foreignRefusal(err error) bool {
	var re *taxii.ResponseError
	return errors.As(err, &re) && re.Err == nil && refusalStatus(re.StatusCode)
}

func refusalStatus(code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// outOfStorage reports whether the node refused an envelope with 507
// Insufficient Storage: the member's storage quota or the node's disk is
// full. That is the member's or the node's state, not the objects': an
// object that fails alone with it, twice, while the node takes the probe
// (an object it holds already, which needs no more bytes), is no poison,
// and it is stored once the quota is raised or room is made. The push
// fails with the node's answer (a server failure, which
// [PushRetryingSeparating] waits on), and nothing is set apart.
func outOfStorage(err error) bool {
	var re *taxii.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusInsufficientStorage
}

// outOfQuota reports whether the node refused an envelope with 507
// Insufficient Storage because its objects need more bytes than the
// member's whole storage quota (its error's details: needed_bytes over
// quota_bytes), used or not: an envelope that can never be stored under
// that quota. Separating, it goes again in halves, and an object that is
// alone larger than the quota is refused for what it is, set apart with
// the node's answer: it would be refused at every try until the operator
// raises the quota. (A quota that is merely full is [outOfStorage], waited
// for.)
func outOfQuota(err error) bool {
	var re *taxii.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusInsufficientStorage || re.Err == nil {
		return false
	}
	need, ok1 := re.Err.Details["needed_bytes"].(float64)
	quota, ok2 := re.Err.Details["quota_bytes"].(float64)
	return ok1 && ok2 && quota > 0 && need > quota
}

// requestTimeout reports whether the node answered 408 Request Timeout:
// it didn't receive the envelope's body within its body_read_timeout (a
// slow link, large sightings); or the member's wait for the answer (see
// separator.add) ran out before the whole envelope had gone out, which
// on a link slower than about 256 KiB/s comes before the node's 408. That is the link's state, not the
// objects': separating, the envelope goes again in halves (smaller
// bodies), none set apart, and an object that still times out alone
// fails the push, which [PushRetryingSeparating] waits on.
func requestTimeout(err error) bool {
	var ne *noAnswerError
	if errors.As(err, &ne) {
		return !ne.sent
	}
	var re *taxii.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusRequestTimeout
}

// serverFailure reports whether the node answered with a server error
// that [Unavailable] does not cover: 500 Internal Server Error, 501, 505,
// 507 Insufficient Storage and the like. It fails on everything (down,
// its store full or broken), or on one object (see [PushSeparating]).
func serverFailure(err error) bool {
	var re *taxii.ResponseError
	return errors.As(err, &re) && re.StatusCode >= 500 && !Unavailable(err)
}

// Unavailable reports whether a push failed because the node could not
// take it now and may later: it could not be reached (no connection, a
// connection cut, a timeout), or it answered 429 Too Many Requests, 502,
// 503 or 504, or it answered an envelope with objects pending or none
// counted (see unsettledError). A refusal (4xx, a failed object, 507 Insufficient Storage)
// and a certificate that doesn't verify are not: trying again gives the
// same answer until someone changes something.
func Unavailable(err error) bool {
	var ue0 *unsettledError
	if errors.As(err, &ue0) {
		return true
	}
	var re *taxii.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
		record           tls.RecordHeaderError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &record) {
		return false
	}
	var ue *neturl.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Waits between a push's tries while the node is unavailable: the first
// wait, and the longest (each wait doubles the one before). Variables for
// the tests.
var (
	pushRetryFirst = time.Second
	pushRetryMax   = 30 * time.Second
	// pushTimer starts a wait of a push's back-off (see busyWait).
	pushTimer = func(d time.Duration) (<-chan time.Time, func() bool) {
		t := time.NewTimer(d)
		return t.C, t.Stop
	}
	// stoppingGrace bounds what is left of a try once its caller is
	// asked to stop (see [PushRetrying]).
	stoppingGrace = 2 * time.Minute
)

// PushRetrying is [Push], tried again while the node is unavailable
// ([Unavailable]) until it succeeds, fails otherwise, or stop is done
// (then it returns the last error). The waits start at a second and
// double up to 30 seconds; a 429 or 503 whose Retry-After asks for a
// longer wait gets it, up to pushRetryAfterMax (5 minutes); waiting, if
// not nil, is told of each one.
// Each try runs with ctx, bounded by tryTimeout when it is positive, so
// that a try already under way when stop is done can still deliver; once
// stop is done, the try has at most stoppingGrace more (a long tryTimeout
// is for a member at work, not one asked to stop).
// Trying again is safe: the node answers an object it already holds with
// the same content "already stored", and signing is deterministic, so a
// batch that was taken before the connection broke is not stored twice.
func PushRetrying(ctx, stop context.Context, tryTimeout time.Duration, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, waiting func(err error, wait time.Duration)) error {
	_, err := pushRetrying(ctx, stop, tryTimeout, client, collectionID, key, objs, waiting, false, nil, nil)
	return err
}

// PushRetryingChecked is [PushRetrying] that calls check before each try
// after a wait: a node that was unavailable may come back as another
// node (replaced, or restored from an old backup), and a caller that
// checks the node's log before it sends (parley match --push) checks it
// again then. An error of check ends the push with that error, the
// objects not sent again.
func PushRetryingChecked(ctx, stop context.Context, tryTimeout time.Duration, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, waiting func(err error, wait time.Duration), check func(context.Context) error) error {
	_, err := pushRetrying(ctx, stop, tryTimeout, client, collectionID, key, objs, waiting, false, nil, check)
	return err
}

// PushRetryingSeparating is [PushRetrying] with [PushSeparating]: it
// returns the objects the node refused for what they are (of the try
// that succeeded), which no retry would store. It also waits while the
// node fails on everything it is sent (500 and other 5xx answers that
// [PushSeparating] does not lay on one object): a node that is down
// must not have the objects set apart. An object that a try's rounds set
// apart is set apart by the tries after it without a request: the
// rounds' evidence was taken while the node worked. A busy node (429,
// 503) is waited out within the try, by the same waits, which then goes
// on where it was (see separator.send): a node that goes down on a
// poison object and comes back slowly, a front end answering 503
// meanwhile, still has the poison set apart.
func PushRetryingSeparating(ctx, stop context.Context, tryTimeout time.Duration, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, waiting func(err error, wait time.Duration)) ([]Refused, error) {
	return pushRetrying(ctx, stop, tryTimeout, client, collectionID, key, objs, waiting, true, nil, nil)
}

// PushRetryingSeparatingProbed is [PushRetryingSeparating] with probe,
// which a member keeps from one push to the next (to the same collection,
// with the same key): it starts with the object the node last took in an
// earlier push, and ends with the last one the node took. A push the node
// stores nothing of, every object of it one the node fails on (an
// attacker's event that makes every sighting of a flush such an object),
// has them judged by the rounds of [PushSeparating] with that object as
// the probe, and set apart, instead of being taken for a node that is
// down and waited on for ever. A node that is down fails on the probe
// too, and is waited for, nothing set apart; a probe the node refuses
// is dropped. With a probe that holds none yet (a member that has not
// had an object taken since it started), it is PushRetryingSeparating.
//
// The probe, an object the node holds, goes through its submission but
// writes no object (a store that takes no writes at all fails on it too:
// Parley's stores keep a status for every envelope): a node that fails on
// every new object while it still answers what it holds (a store that
// fails on the objects' writes only, a front end answering for it) takes
// the probe, as with a push of poison objects only; it takes as well an object of the push it holds already (a try
// after one cut short once the node had stored part of the push, a
// message delivered again), which becomes the probe. So once a push that
// the node stored nothing new of had objects set apart (on the earlier
// probe or on such an object), the next pushes the node stores nothing
// new of wait (as for a node that is down) until the node stores a new
// object of the member's (a success its status does not call "already
// stored") or earlierProbeEvery (10 minutes) has passed: such a node has
// one push of the member's set apart every 10 minutes, not all of them,
// and a flood of pushes of poison objects only is set apart at that pace.
func PushRetryingSeparatingProbed(ctx, stop context.Context, tryTimeout time.Duration, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, waiting func(err error, wait time.Duration), probe *Probe) ([]Refused, error) {
	return pushRetrying(ctx, stop, tryTimeout, client, collectionID, key, objs, waiting, true, probe, nil)
}

// PushRetryingSeparatingProbedChecked is [PushRetryingSeparatingProbed]
// that calls check before each try after a wait, as
// [PushRetryingChecked] does, and within a try too, once its waits for
// a busy node add up to pushRecheckAfter (30 s; a node's Retry-After can
// make one wait 5 minutes): an error of check ends the push with that
// error, nothing set apart or sent again.
func PushRetryingSeparatingProbedChecked(ctx, stop context.Context, tryTimeout time.Duration, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, waiting func(err error, wait time.Duration), probe *Probe, check func(context.Context) error) ([]Refused, error) {
	return pushRetrying(ctx, stop, tryTimeout, client, collectionID, key, objs, waiting, true, probe, check)
}

// pushRetryAfterMax bounds the wait that a node's Retry-After (on a 429
// or a 503) makes a push take: a node that asks for more is tried again
// after five minutes all the same, so that a hostile or misconfigured
// node can't park a fleet for a day ([taxii.MaxRetryAfter]) with one
// answer. A Retry-After never shortens the back-off's own wait.
const pushRetryAfterMax = 5 * time.Minute

// busyWait is the back-off of a push: the waits between its tries, and,
// separating, while the node is busy within a try (see separator.send).
type busyWait struct {
	stop    context.Context
	next    time.Duration
	waiting func(err error, wait time.Duration)
	// check, when not nil, is the caller's check of the node (parley
	// match --push: its log), which a try calls before it sends again
	// once its waits since the last check add up to pushRecheckAfter
	// (see recheck); waited is that sum.
	check  func(context.Context) error
	waited time.Duration
	// failed is the check's failure: once set, the try sends nothing
	// more (see separator.send) and the push ends with it.
	failed *checkFailedError
}

// pushRecheckAfter is how long a try waits out a busy node, in all, before
// it checks the node again ([busyWait.recheck]): a node's Retry-After
// makes a wait last up to [pushRetryAfterMax], and a fleet member's try
// up to 15 minutes, time enough for the node to be replaced or rolled
// back. A variable for the tests.
var pushRecheckAfter = 30 * time.Second

// checkFailedError is the error of a caller's check ([busyWait.check])
// that failed within a try: it ends the push as it is, nothing set apart
// and nothing tried again.
type checkFailedError struct{ err error }

func (e *checkFailedError) Error() string { return e.err.Error() }
func (e *checkFailedError) Unwrap() error { return e.err }

// recheck calls b.check when the waits since the last check add up to
// pushRecheckAfter or more; its error is a [checkFailedError].
func (b *busyWait) recheck(ctx context.Context) error {
	if b.check == nil || b.waited < pushRecheckAfter {
		return nil
	}
	b.waited = 0
	if err := b.check(ctx); err != nil {
		b.failed = &checkFailedError{err: err}
		return b.failed
	}
	return nil
}

// delay returns the wait after err: the back-off's next wait, or the
// node's Retry-After when err is a 429 or a 503 that asks for longer, up
// to pushRetryAfterMax (RFC 9110 section 10.2.3: seconds or an HTTP date,
// read by the taxii client).
func (b *busyWait) delay(err error) time.Duration {
	d := b.next
	var re *taxii.ResponseError
	if busy(err) && errors.As(err, &re) && re.RetryAfter > d {
		d = max(d, min(re.RetryAfter, pushRetryAfterMax))
	}
	return d
}

// wait tells b.waiting of the wait after err and waits it; it returns
// ctx's or stop's error when either is done first. The next wait is
// twice as long, up to pushRetryMax.
func (b *busyWait) wait(ctx context.Context, err error) error {
	d := b.delay(err)
	if b.waiting != nil {
		b.waiting(err, d)
	}
	c, cancel := pushTimer(d)
	defer cancel()
	select {
	case <-b.stop.Done():
		return b.stop.Err()
	case <-ctx.Done():
		return ctx.Err()
	case <-c:
	}
	b.waited += d
	b.next = min(2*b.next, pushRetryMax)
	return nil
}

// reset starts the back-off again from pushRetryFirst: the node answered.
func (b *busyWait) reset() { b.next = pushRetryFirst }

func pushRetrying(ctx, stop context.Context, tryTimeout time.Duration, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, waiting func(err error, wait time.Duration), separate bool, probe *Probe, check func(context.Context) error) ([]Refused, error) {
	b := &busyWait{stop: stop, next: pushRetryFirst, waiting: waiting, check: check}
	// The objects that a try's rounds set apart are not judged again by
	// the tries after it: a push with many of them (each costs 32
	// requests) that a try can't finish within tryTimeout, or that the
	// node's going down cut short, would otherwise start again from
	// nothing at every try, and never end.
	var convicted map[string]string
	if separate {
		convicted = map[string]string{}
	}
	for {
		var tctx context.Context
		var cancel context.CancelFunc
		if tryTimeout > 0 {
			tctx, cancel = context.WithTimeout(ctx, tryTimeout)
		} else {
			tctx, cancel = context.WithCancel(ctx)
		}
		// Once stop is done, the try has stoppingGrace more; the
		// goroutine ends with the try (cancel, below).
		go func() {
			select {
			case <-stop.Done():
			case <-tctx.Done():
				return
			}
			grace := time.NewTimer(stoppingGrace)
			defer grace.Stop()
			select {
			case <-grace.C:
				cancel()
			case <-tctx.Done():
			}
		}()
		var refused []Refused
		var err error
		if separate {
			refused, err = push(tctx, client, collectionID, key, objs, true, probe, convicted, b)
		} else {
			err = Push(tctx, client, collectionID, key, objs)
		}
		cancel()
		// Separating, a node that fails on everything (a 5xx; one object
		// it fails on alone is set apart), or a link that can't bring it
		// one object within its body_read_timeout (408), or a proxy
		// before it that refuses everything (see foreignRefusal), is
		// waited for too: a fleet member holds its messages meanwhile,
		// none set apart.
		if b.failed != nil {
			// The check failed within the try, after a long wait.
			return nil, b.failed.err
		}
		retry := Unavailable(err) || separate && (serverFailure(err) || requestTimeout(err) || foreignRefusal(err))
		if err == nil || !retry || stop.Err() != nil || ctx.Err() != nil {
			return refused, err
		}
		if b.wait(ctx, err) != nil {
			return nil, err
		}
		if check != nil {
			b.waited = 0
			if err := check(ctx); err != nil {
				return nil, err
			}
		}
	}
}

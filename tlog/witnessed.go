package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Witnessed time (docs/witness.md, "Time"). A witness's cosignature/v1
// carries the time at which it cosigned the checkpoint, so it bounds the
// "received" time of the log's entries from both sides:
//
//   - an entry with index i < size was in the log when the witness
//     cosigned the checkpoint of that size, so it was received no later
//     than the cosignature's time;
//   - an entry with index i ≥ size was not yet in it, so it was received
//     no earlier than the cosignature's time, less the time a node may hold
//     a received entry before a checkpoint includes it.
//
// Both are checked with an allowed clock skew (ClockSkew options,
// [DefaultClockSkew]), which must cover the difference between the node's
// and the witness's clocks plus the delay between sequencing an entry and
// a witness cosigning a checkpoint that doesn't include it yet (the
// integration interval plus the node's submission timeout, seconds).
// Cosignature times are whole seconds, so one second more is allowed
// after a cosignature.

// DefaultClockSkew is the clock skew allowed between a witness's
// cosignature time and an entry's received time when none is configured.
const DefaultClockSkew = 5 * time.Minute

// CosignedHistory is an optional ability of an [AuditSource]: every
// checkpoint the log has had cosigned, with the witness cosignature lines
// the node collected (GET /log/checkpoints), in increasing size order.
// With a witness policy, [Audit] uses their times to bound every entry's
// received time.
type CosignedHistory interface {
	CosignedCheckpoints(ctx context.Context, fn func(note []byte) error) error
}

// WitnessedAt is what one cosigned checkpoint says about time: the tree of
// Size entries existed when each of its witnesses cosigned it.
type WitnessedAt struct {
	Size uint64
	// Earliest and Latest are the earliest and latest valid cosignatures
	// of witnesses the policy names (the same one when one witness
	// cosigned once), counting every cosignature line of each witness: a
	// node that had an unchanged checkpoint cosigned again serves it with
	// the witness's first and latest cosignatures.
	Earliest, Latest Cosignature
	// byWitness holds each policy witness's first and latest cosignature
	// of this checkpoint, and policy the policy that names them: a bound
	// on an entry's time is what a quorum of them states ([TimeBounds]).
	// A WitnessedAt made without [CosignedTimes] has neither; its Earliest
	// and Latest then count as their witnesses' statements.
	byWitness []witnessTimes
	policy    *Policy
}

// witnessTimes is one witness's first and latest cosignature of one
// checkpoint.
type witnessTimes struct{ first, last Cosignature }

// CosignedTimes checks a cosigned checkpoint note with the log verifier v
// and the witness policy p and returns what it says about time. Every
// cosignature of a witness the policy names that verifies counts, whether
// or not the quorum is met: each is that witness's own statement, and
// [TimeBounds] asks a quorum of such statements for each bound. It
// fails if the log signature doesn't verify, if a policy witness's
// signature line doesn't verify, and (wrapping [ErrQuorum]) if no policy
// witness cosigned it.
func CosignedTimes(n []byte, v note.Verifier, p *Policy) (WitnessedAt, error) {
	cp, err := OpenCheckpoint(n, v)
	if err != nil {
		return WitnessedAt{}, err
	}
	// Every line counts, not only each witness's first: a checkpoint
	// cosigned again while the log was quiet carries the first
	// cosignature (Earliest, the bound of the entries it includes) and the
	// latest (Latest, the bound of those appended after it).
	_, cos, err := checkQuorum(p, n)
	if err != nil && !errors.Is(err, ErrQuorum) {
		return WitnessedAt{}, err
	}
	if len(cos) == 0 {
		return WitnessedAt{}, fmt.Errorf("%w: no witness of the policy cosigned the checkpoint of size %d", ErrQuorum, cp.Size)
	}
	w := WitnessedAt{Size: cp.Size, Earliest: cos[0], Latest: cos[0], policy: p}
	at := map[string]int{}
	for _, c := range cos {
		if c.Time.Before(w.Earliest.Time) {
			w.Earliest = c
		}
		if c.Time.After(w.Latest.Time) {
			w.Latest = c
		}
		i, ok := at[c.Witness]
		if !ok {
			at[c.Witness] = len(w.byWitness)
			w.byWitness = append(w.byWitness, witnessTimes{c, c})
			continue
		}
		if c.Time.Before(w.byWitness[i].first.Time) {
			w.byWitness[i].first = c
		}
		if c.Time.After(w.byWitness[i].last.Time) {
			w.byWitness[i].last = c
		}
	}
	return w, nil
}

// witnesses returns each witness's first and latest cosignature of the
// checkpoint.
func (w WitnessedAt) witnesses() []witnessTimes {
	if w.byWitness != nil {
		return w.byWitness
	}
	if w.Earliest.Witness == w.Latest.Witness {
		return []witnessTimes{{w.Earliest, w.Latest}}
	}
	// Made by hand: the earliest is its witness's first and last
	// statement, and so is the latest.
	return []witnessTimes{{w.Earliest, w.Earliest}, {w.Latest, w.Latest}}
}

// TimeBounds answers, for any entry index, which witnessed times bound its
// received time. Build it with [NewTimeBounds].
//
// A bound is what a quorum of the policy's witnesses states, not what any
// one of them does: one witness whose clock is wrong (or a rival's
// witness stating a false time on purpose) would otherwise make an
// honest log's entries look back-dated, or falsely received. The lower
// bound of an entry is the latest time t at which witnesses meeting the
// quorum had each cosigned, at t or later, a tree without it; the upper
// bound the earliest t by which witnesses meeting the quorum had each
// cosigned a tree with it. Each witness's statements over all the
// checkpoints count (its latest cosignature of any tree without the entry,
// its first of any tree with it), so the witnesses of a quorum needn't
// have cosigned the same checkpoint. With the quorum "none", or without a
// policy, every witness's statement counts alone.
type TimeBounds struct {
	sizes []uint64 // the witnessed checkpoints' sizes, increasing
	// lo[k] and hi[k] are the bounds of the entries that the checkpoint
	// of sizes[k] is the first to include (k = len(sizes): none does):
	// lo from the checkpoints before it, hi from it and those after.
	lo, hi []timeBound
}

// timeBound is one bound: the cosignature that sets it and the size of
// the checkpoint it cosigned.
type timeBound struct {
	ok   bool
	size uint64
	cos  Cosignature
}

// NewTimeBounds indexes witnessed checkpoints (in any order).
func NewTimeBounds(cps []WitnessedAt) *TimeBounds {
	cps = append([]WitnessedAt(nil), cps...)
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].Size < cps[j].Size })
	var p *Policy
	for _, c := range cps {
		if c.policy != nil {
			p = c.policy
			break
		}
	}
	tb := &TimeBounds{sizes: make([]uint64, len(cps)), lo: make([]timeBound, len(cps)+1), hi: make([]timeBound, len(cps)+1)}
	// Each witness's latest statement of a tree without the entry, walking
	// up; its first of a tree with it, walking down.
	latest := map[string]timeBound{}
	for k, c := range cps {
		tb.sizes[k] = c.Size
		tb.lo[k] = quorumBound(p, latest, true)
		for _, w := range c.witnesses() {
			if b, ok := latest[w.last.Witness]; !ok || w.last.Time.After(b.cos.Time) {
				latest[w.last.Witness] = timeBound{true, c.Size, w.last}
			}
		}
	}
	tb.lo[len(cps)] = quorumBound(p, latest, true)
	first := map[string]timeBound{}
	for k := len(cps) - 1; k >= 0; k-- {
		for _, w := range cps[k].witnesses() {
			if b, ok := first[w.first.Witness]; !ok || !w.first.Time.After(b.cos.Time) {
				first[w.first.Witness] = timeBound{true, cps[k].Size, w.first}
			}
		}
		tb.hi[k] = quorumBound(p, first, false)
	}
	return tb
}

// quorumBound returns the tightest time that witnesses meeting the
// policy's quorum all state, of their statements by witness: with lower,
// the latest t such that the witnesses stating t or later meet it; else
// the earliest t such that those stating t or earlier do. It returns the
// statement that sets the bound (ok false when no t does).
func quorumBound(p *Policy, by map[string]timeBound, lower bool) timeBound {
	if len(by) == 0 {
		return timeBound{}
	}
	bs := make([]timeBound, 0, len(by))
	for _, b := range by {
		bs = append(bs, b)
	}
	// Tightest first: latest first for a lower bound, earliest first for
	// an upper one; ties by witness name, so that the bound is one value.
	sort.Slice(bs, func(i, j int) bool {
		if !bs[i].cos.Time.Equal(bs[j].cos.Time) {
			return bs[i].cos.Time.After(bs[j].cos.Time) == lower
		}
		return bs[i].cos.Witness < bs[j].cos.Witness
	})
	if p == nil || p.Quorum == "none" {
		return bs[0]
	}
	have := map[string]bool{}
	for _, b := range bs {
		have[b.cos.Witness] = true
		if p.witnessed(p.Quorum, have) {
			return b
		}
	}
	return timeBound{}
}

// Len is the number of witnessed checkpoints.
func (tb *TimeBounds) Len() int { return len(tb.sizes) }

// Bounds returns, for the entry at index, the lower bound of its received
// time (lo: Size is the checkpoint without the entry whose cosignature,
// lo.Latest, sets it; ok false when none) and the upper bound (hi: Size is
// the checkpoint with the entry whose cosignature, hi.Earliest, sets it:
// the earliest witnessed time covering the entry; ok false when none yet).
// Each is what a quorum of the policy's witnesses states ([TimeBounds]);
// the returned WitnessedAt carries that one cosignature as both its
// Earliest and Latest.
func (tb *TimeBounds) Bounds(index uint64) (lo WitnessedAt, loOK bool, hi WitnessedAt, hiOK bool) {
	// k is the first checkpoint that includes the entry (size > index).
	k := sort.Search(len(tb.sizes), func(k int) bool { return tb.sizes[k] > index })
	if b := tb.lo[k]; b.ok {
		lo, loOK = WitnessedAt{Size: b.size, Earliest: b.cos, Latest: b.cos}, true
	}
	if b := tb.hi[k]; b.ok {
		hi, hiOK = WitnessedAt{Size: b.size, Earliest: b.cos, Latest: b.cos}, true
	}
	return lo, loOK, hi, hiOK
}

// CheckReceived checks an entry's received time against the witnessed
// bounds with the allowed clock skew (≤ 0: [DefaultClockSkew]) and
// returns "" if it is within them, or one sentence saying which witness's
// time it contradicts.
func (tb *TimeBounds) CheckReceived(index uint64, received time.Time, skew time.Duration) string {
	if skew <= 0 {
		skew = DefaultClockSkew
	}
	lo, loOK, hi, hiOK := tb.Bounds(index)
	const stamp = time.RFC3339Nano
	if hiOK && received.After(hi.Earliest.Time.Add(time.Second+skew)) {
		return fmt.Sprintf("received %s, later than witness %s cosigned (at %s) the checkpoint of size %d that already includes it (clock skew allowed %s): the received time is false",
			received.Format(stamp), hi.Earliest.Witness, hi.Earliest.Time.Format(time.RFC3339), hi.Size, skew)
	}
	if loOK && received.Before(lo.Latest.Time.Add(-skew)) {
		return fmt.Sprintf("received %s, earlier than witness %s cosigned (at %s) the checkpoint of size %d that doesn't include it yet (clock skew allowed %s): back-dated",
			received.Format(stamp), lo.Latest.Witness, lo.Latest.Time.Format(time.RFC3339), lo.Size, skew)
	}
	return ""
}

// seenCosignedTimes is [CosignedTimes] of a checkpoint note kept in a seen
// file, whose signature lines anyone on the way could have added to: a
// line under a policy witness's name and key ID that doesn't verify (a
// forged one, merged into the note with the witness's honest ones) makes
// CosignedTimes refuse the whole note, and the honest cosignatures beside
// it would no longer bound received times (refused as a bad signature,
// or as short of the quorum). So a refused note is read again with only
// the lines that verify on their own, when that drops any.
func seenCosignedTimes(n []byte, v note.Verifier, p *Policy) (WitnessedAt, error) {
	w, err := CosignedTimes(n, v, p)
	if err == nil {
		return w, nil
	}
	if clean := VerifiedLines(n, v, p); clean != nil && !bytes.Equal(clean, n) {
		return CosignedTimes(clean, v, p)
	}
	return w, err
}

// VerifiedLines returns the signed note n with only the signature lines
// that verify on their own with the log's key v or the key of a witness
// of p (nil: none), in their order; lines of unknown keys are dropped too
// (they bound nothing), and so are lines under a known name and key ID
// whose signature doesn't verify. It returns nil when n isn't a signed
// note or no line verifies with v: a checkpoint the log didn't sign
// bounds nothing.
//
// It is how a note anyone on the way could have added lines to is kept:
// [note.Open] refuses a whole note for one known line that doesn't
// verify, so a forged line merged in beside a witness's honest ones would
// otherwise hide them (seen files, witness checkpoints an audit reads).
//
// Its work is bounded, whatever n holds: a note that every reader
// refuses (over [MaxCheckpointNote], or over 100 signature lines) is
// refused here too (nil), before any signature is checked; lines of
// unknown keys and byte-identical repeats are passed over unverified; and
// of each known key (name and key ID) only the first [maxKeyLines]
// distinct lines are verified, later ones dropped unverified (and no
// more lines once [maxVerifiedBytes] were checked). No honest
// note has more than two lines of a key (the log signs once; a node, and
// a seen file, keep a witness's first and latest cosignature), so a
// forged line or two merged in before them leaves them kept.
func VerifiedLines(n []byte, v note.Verifier, p *Policy) []byte {
	if checkNoteBounds(n) != nil {
		return nil
	}
	i := bytes.LastIndex(n, []byte("\n\n"))
	if i < 0 {
		return nil
	}
	text := n[:i+2]
	vs := []note.Verifier{v}
	if p != nil {
		for _, w := range p.Witnesses {
			if cv, err := NewCosignatureVerifier(w.Key); err == nil {
				vs = append(vs, cv)
			}
		}
	}
	c := newLineChecker(text, note.VerifierList(vs...))
	logKey := noteKeyID{v.Name(), v.KeyHash()}
	seen := map[string]bool{}
	out := slices.Clone(text)
	signed := false
	for _, l := range bytes.SplitAfter(n[i+2:], []byte("\n")) {
		if len(l) == 0 || seen[string(l)] {
			continue
		}
		seen[string(l)] = true
		if k, _, ok := c.check(l); ok {
			out = append(out, l...)
			signed = signed || k == logKey
		}
	}
	if !signed {
		return nil
	}
	return out
}

// noteKeyID names a signer of a note: its key's name and key ID.
type noteKeyID struct {
	name string
	id   uint32
}

// lineChecker checks signature lines of one note, each on its own with
// the note's text, within the bounds every reader of a note that others
// could have added lines to keeps ([VerifiedLines], a seen file's
// merge): at most [maxKeyLines] lines of one key checked, and at most
// [maxVerifiedBytes] of text and lines checked in all.
type lineChecker struct {
	known note.Verifiers
	text  []byte
	one   []byte // text and the line being checked
	tried map[noteKeyID]int
	spent int // bytes signatures were checked over
}

func newLineChecker(text []byte, known note.Verifiers) *lineChecker {
	return &lineChecker{known: known, text: text, one: slices.Clone(text), tried: map[noteKeyID]int{}}
}

// check reports the signer of line l (with its newline), whether l is a
// signature line of one of the known keys, and whether it verifies; a
// known key's line past the bounds is not checked and counts as not
// verifying.
func (c *lineChecker) check(l []byte) (k noteKeyID, known, verified bool) {
	name, id, _, ok := SignatureLine(string(bytes.TrimSuffix(l, []byte("\n"))))
	if !ok {
		return noteKeyID{}, false, false
	}
	k = noteKeyID{name, id}
	if _, err := c.known.Verifier(name, id); err != nil {
		return k, false, false
	}
	if c.tried[k] >= maxKeyLines || c.spent+len(c.text)+len(l) > maxVerifiedBytes {
		return k, true, false
	}
	c.tried[k]++
	c.spent += len(c.text) + len(l)
	c.one = append(c.one[:len(c.text)], l...)
	_, err := OpenNote(c.one, c.known)
	return k, true, err == nil
}

// maxVerifiedBytes bounds the bytes that [VerifiedLines] (and a seen
// file recording a note under a witness policy) has signatures checked
// over in one note, each line's over the whole text: a note's text may
// be nearly [MaxCheckpointNote] long, and a forged line of each of 99
// policy witnesses then cost about 100 MiB of hashing (a third of a
// second) for each such note at every audit. Later lines are dropped
// unchecked. An honest checkpoint's text is under a kilobyte: the log's
// line and 40 witnesses' first and latest cosignatures take under
// 100 KiB.
const maxVerifiedBytes = 8 << 20

// maxKeyLines is the most distinct signature lines of one key (name and
// key ID) that [VerifiedLines] verifies in a note: twice the two an
// honest note has at most.
const maxKeyLines = 4

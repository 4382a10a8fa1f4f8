package tlog

import (
	"context"
	"errors"
	"fmt"
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
}

// CosignedTimes checks a cosigned checkpoint note with the log verifier v
// and the witness policy p and returns what it says about time. Every
// cosignature of a witness the policy names that verifies counts, whether
// or not the quorum is met: each is that witness's own statement. It
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
	w := WitnessedAt{Size: cp.Size, Earliest: cos[0], Latest: cos[0]}
	for _, c := range cos[1:] {
		if c.Time.Before(w.Earliest.Time) {
			w.Earliest = c
		}
		if c.Time.After(w.Latest.Time) {
			w.Latest = c
		}
	}
	return w, nil
}

// TimeBounds answers, for any entry index, which witnessed checkpoints
// bound its received time. Build it with [NewTimeBounds].
type TimeBounds struct {
	cps []WitnessedAt // by size
	// before[k] is the index in cps of the latest Latest among cps[:k+1];
	// after[k] the index of the earliest Earliest among cps[k:].
	before, after []int
}

// NewTimeBounds indexes witnessed checkpoints (in any order).
func NewTimeBounds(cps []WitnessedAt) *TimeBounds {
	cps = append([]WitnessedAt(nil), cps...)
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].Size < cps[j].Size })
	tb := &TimeBounds{cps: cps, before: make([]int, len(cps)), after: make([]int, len(cps))}
	for k := range cps {
		tb.before[k] = k
		if k > 0 && !cps[k].Latest.Time.After(cps[tb.before[k-1]].Latest.Time) {
			tb.before[k] = tb.before[k-1]
		}
	}
	for k := len(cps) - 1; k >= 0; k-- {
		tb.after[k] = k
		if k < len(cps)-1 && !cps[k].Earliest.Time.Before(cps[tb.after[k+1]].Earliest.Time) {
			tb.after[k] = tb.after[k+1]
		}
	}
	return tb
}

// Len is the number of witnessed checkpoints.
func (tb *TimeBounds) Len() int { return len(tb.cps) }

// Bounds returns, for the entry at index, the witnessed checkpoint not
// including it whose cosignature is latest (lo; ok false when none) and the
// one including it whose cosignature is earliest (hi: the earliest
// witnessed time covering the entry; ok false when none yet).
func (tb *TimeBounds) Bounds(index uint64) (lo WitnessedAt, loOK bool, hi WitnessedAt, hiOK bool) {
	// k is the first checkpoint that includes the entry (size > index).
	k := sort.Search(len(tb.cps), func(k int) bool { return tb.cps[k].Size > index })
	if k > 0 {
		lo, loOK = tb.cps[tb.before[k-1]], true
	}
	if k < len(tb.cps) {
		hi, hiOK = tb.cps[tb.after[k]], true
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

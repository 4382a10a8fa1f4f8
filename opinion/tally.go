package opinion

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/parley-exchange/parley/stix"
)

// Tally is the concurrence on one object: the counts per opinion value and
// the opinions counted, one per member. Its JSON form is the "counts" and
// "opinions" of GET /concurrence.
type Tally struct {
	// Object is the id of the object the opinions are about.
	Object string `json:"object"`
	// Counts holds every value of [Values], zero included.
	Counts map[Value]int `json:"counts"`
	// Votes are the counted opinions, one per member, ordered by member.
	Votes []Vote `json:"opinions"`
}

// Vote is one member's counted opinion.
type Vote struct {
	// Member is the member's identity id (the opinion's created_by_ref).
	Member string `json:"member"`
	// Value is the opinion.
	Value Value `json:"opinion"`
	// OpinionID and Version name the counted opinion version.
	OpinionID string `json:"opinion_id"`
	Version   string `json:"version"`
	// Confidence is the member's confidence (0 to 100), when given.
	Confidence *int `json:"confidence,omitempty"`
}

// Voices returns the number of members whose opinion counts.
func (t Tally) Voices() int { return len(t.Votes) }

type opinionKey struct{ member, id string }

// Compute tallies the opinions on object according to the rule in the
// package documentation. Opinions that are not [Opinion.Verified] are
// ignored; the order of opinions doesn't matter.
func Compute(object string, opinions []Opinion) Tally {
	// Steps 1–3: the standing version of each (member, id).
	standing := map[opinionKey]Opinion{}
	for _, o := range opinions {
		if !o.verified {
			continue
		}
		k := opinionKey{o.Member, o.ID}
		if cur, ok := standing[k]; !ok || later(o, cur) {
			standing[k] = o
		}
	}
	// Steps 4–6: per member, the latest remaining opinion on object.
	best := map[string]Opinion{}
	for _, o := range standing {
		if o.Revoked || !o.About(object) {
			continue
		}
		if cur, ok := best[o.Member]; !ok || o.Version.After(cur.Version) || (o.Version.Equal(cur.Version) && o.ID > cur.ID) {
			best[o.Member] = o
		}
	}
	t := Tally{Object: object, Counts: map[Value]int{}, Votes: []Vote{}}
	for _, v := range Values {
		t.Counts[v] = 0
	}
	for _, o := range best {
		t.Counts[o.Value]++
		var conf *int
		if o.Confidence != nil {
			c := *o.Confidence
			conf = &c
		}
		t.Votes = append(t.Votes, Vote{
			Member: o.Member, Value: o.Value, OpinionID: o.ID,
			Version: stix.FormatTimestamp(o.Version), Confidence: conf,
		})
	}
	sort.Slice(t.Votes, func(i, j int) bool { return t.Votes[i].Member < t.Votes[j].Member })
	return t
}

// later reports whether version a of an opinion stands over version b:
// a greater modified, or the same modified and greater canonical bytes.
func later(a, b Opinion) bool {
	if !a.Version.Equal(b.Version) {
		return a.Version.After(b.Version)
	}
	return bytes.Compare(a.Raw, b.Raw) > 0
}

// ErrMismatch is returned (wrapped) by [Check] when a claimed tally does
// not follow from the opinions.
var ErrMismatch = errors.New("the tally does not follow from the verified opinions")

// maxExtraNamed is how many of a claimed tally's names that are no
// opinion value [Check] names in its error.
const maxExtraNamed = 8

// Check recomputes the tally of claimed.Object from opinions (only
// verified ones count, see [Compute]) and returns nil when claimed
// matches it exactly: the same count for every value (a value missing
// from claimed.Counts reads as 0; a name that is no value, with any
// count, zero included, is a difference) and the same vote for every
// member (opinion id, version, value and confidence). Otherwise the error wraps
// [ErrMismatch] and lists the differences. It also returns the tally it
// computed.
func Check(claimed Tally, opinions []Opinion) (Tally, error) {
	want := Compute(claimed.Object, opinions)
	var diffs []string
	for _, v := range Values {
		if got := claimed.Counts[v]; got != want.Counts[v] {
			diffs = append(diffs, fmt.Sprintf("%s is claimed %d, the opinions give %d", v, got, want.Counts[v]))
		}
	}
	var extra []string
	for v, n := range claimed.Counts {
		// A name that is no opinion value is refused even with a zero
		// count: the format's counts are the values of [Values], and a
		// reader that shows the names it is given would show one the
		// tally never had.
		if !v.Valid() {
			name := string(v)
			if len(name) > 64 {
				name = name[:64] + "…"
			}
			extra = append(extra, fmt.Sprintf("%q is claimed %d but is no opinion value", name, n))
		}
	}
	sort.Strings(extra)
	if len(extra) > maxExtraNamed {
		// A file may hold thousands: name a few.
		extra = append(extra[:maxExtraNamed], fmt.Sprintf("%d more names that are no opinion value", len(extra)-maxExtraNamed))
	}
	diffs = append(diffs, extra...)
	wantBy := map[string]Vote{}
	for _, v := range want.Votes {
		wantBy[v.Member] = v
	}
	seen := map[string]bool{}
	for _, v := range claimed.Votes {
		if seen[v.Member] {
			diffs = append(diffs, fmt.Sprintf("%s is claimed to have more than one counted opinion", v.Member))
			continue
		}
		seen[v.Member] = true
		w, ok := wantBy[v.Member]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s's %s (%s) is claimed to count, but no verified opinion of that member on the object stands", v.Member, v.OpinionID, v.Value))
		case !sameVote(v, w):
			diffs = append(diffs, fmt.Sprintf("%s's counted opinion is claimed to be %s, the opinions give %s", v.Member, describe(v), describe(w)))
		}
	}
	for _, w := range want.Votes {
		if !seen[w.Member] {
			diffs = append(diffs, fmt.Sprintf("%s's %s is missing from the claimed opinions", w.Member, describe(w)))
		}
	}
	if len(diffs) > 0 {
		return want, fmt.Errorf("%w: %s", ErrMismatch, strings.Join(diffs, "; "))
	}
	return want, nil
}

func sameVote(a, b Vote) bool {
	if a.OpinionID != b.OpinionID || a.Value != b.Value || !sameTime(a.Version, b.Version) {
		return false
	}
	if (a.Confidence == nil) != (b.Confidence == nil) {
		return false
	}
	return a.Confidence == nil || *a.Confidence == *b.Confidence
}

func describe(v Vote) string {
	s := fmt.Sprintf("%s %s version %s", v.Value, v.OpinionID, v.Version)
	if v.Confidence != nil {
		s += fmt.Sprintf(" confidence %d", *v.Confidence)
	}
	return s
}

// sameTime compares STIX timestamps as instants ("…Z" and "….000Z" are
// one version); text that doesn't parse compares as text.
func sameTime(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return ta.Equal(tb)
}

package opinion

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
)

// vote is the expected counted opinion of a member: its opinion number
// and value.
type vote struct {
	member int
	id     int
	value  Value
}

func TestCompute(t *testing.T) {
	a, b, c := newMember(1), newMember(2), newMember(3)
	ms := []member{a, b, c}
	keys := keysOf(a, b, c)
	type version struct {
		by int // index into ms
		spec
		unsigned bool
		signer   int // sign with ms[signer-1] instead (forgery) when > 0
	}
	for _, tc := range []struct {
		name     string
		versions []version
		want     []vote
	}{
		{
			name: "one member, ten opinions, one voice: the latest",
			versions: func() []version {
				var vs []version
				values := []Value{Agree, Disagree, Neutral, StronglyAgree, StronglyDisagree}
				for i := range 10 {
					vs = append(vs, version{by: 0, spec: spec{id: i + 1, minute: i, value: values[i%5]}})
				}
				return vs
			}(),
			want: []vote{{0, 10, StronglyDisagree}},
		},
		{
			name: "the latest version of an opinion stands",
			versions: []version{
				{by: 0, spec: spec{id: 1, minute: 0, value: Agree}},
				{by: 0, spec: spec{id: 1, minute: 5, value: Disagree}},
				{by: 0, spec: spec{id: 1, minute: 2, value: StronglyAgree}},
			},
			want: []vote{{0, 1, Disagree}},
		},
		{
			name: "several members",
			versions: []version{
				{by: 0, spec: spec{id: 1, value: Agree}},
				{by: 1, spec: spec{id: 2, value: Agree}},
				{by: 2, spec: spec{id: 3, value: StronglyDisagree}},
			},
			want: []vote{{0, 1, Agree}, {1, 2, Agree}, {2, 3, StronglyDisagree}},
		},
		{
			name: "revocation withdraws the opinion; its earlier versions don't come back",
			versions: []version{
				{by: 0, spec: spec{id: 1, minute: 0, value: Agree}},
				{by: 0, spec: spec{id: 1, minute: 3, value: Agree, revoked: true}},
				{by: 1, spec: spec{id: 2, value: Disagree}},
			},
			want: []vote{{1, 2, Disagree}},
		},
		{
			name: "after revoking its latest opinion, the member's latest remaining one counts",
			versions: []version{
				{by: 0, spec: spec{id: 1, minute: 0, value: Neutral}},
				{by: 0, spec: spec{id: 2, minute: 5, value: Agree}},
				{by: 0, spec: spec{id: 2, minute: 6, value: Agree, revoked: true}},
			},
			want: []vote{{0, 1, Neutral}},
		},
		{
			name: "unsigned and forged opinions never count",
			versions: []version{
				{by: 0, spec: spec{id: 1, value: StronglyAgree}, unsigned: true},
				{by: 1, spec: spec{id: 2, value: StronglyAgree}, signer: 3},
				{by: 2, spec: spec{id: 3, value: Disagree}},
			},
			want: []vote{{2, 3, Disagree}},
		},
		{
			name: "a forged later version neither changes nor revokes an opinion",
			versions: []version{
				{by: 0, spec: spec{id: 1, minute: 0, value: Agree}},
				{by: 0, spec: spec{id: 1, minute: 9, value: Agree, revoked: true}, signer: 2},
				{by: 0, spec: spec{id: 1, minute: 8, value: StronglyDisagree}, unsigned: true},
			},
			want: []vote{{0, 1, Agree}},
		},
		{
			name: "another member can't revoke an opinion by reusing its id",
			versions: []version{
				{by: 0, spec: spec{id: 1, minute: 0, value: Agree}},
				{by: 1, spec: spec{id: 1, minute: 9, value: Disagree, revoked: true}},
			},
			want: []vote{{0, 1, Agree}},
		},
		{
			name: "another member reusing an id has its own voice",
			versions: []version{
				{by: 0, spec: spec{id: 1, minute: 0, value: Agree}},
				{by: 1, spec: spec{id: 1, minute: 9, value: Disagree}},
			},
			want: []vote{{0, 1, Agree}, {1, 1, Disagree}},
		},
		{
			name: "a new version without the object in object_refs withdraws it",
			versions: []version{
				{by: 0, spec: spec{id: 1, minute: 0, value: Agree}},
				{by: 0, spec: spec{id: 1, minute: 1, value: Agree, refs: []string{otherID}}},
			},
			want: nil,
		},
		{
			name: "opinions on other objects don't count; one on several does",
			versions: []version{
				{by: 0, spec: spec{id: 1, value: Agree, refs: []string{otherID}}},
				{by: 1, spec: spec{id: 2, value: Neutral, refs: []string{otherID, reportID}}},
			},
			want: []vote{{1, 2, Neutral}},
		},
		{
			name: "between two opinions at the same instant, the greater id counts",
			versions: []version{
				{by: 0, spec: spec{id: 2, minute: 4, value: Agree}},
				{by: 0, spec: spec{id: 7, minute: 4, value: Disagree}},
			},
			want: []vote{{0, 7, Disagree}},
		},
		{
			name:     "nothing",
			versions: nil,
			want:     nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raws [][]byte
			for _, v := range tc.versions {
				m := ms[v.by]
				switch {
				case v.unsigned:
					raws = append(raws, rawOpinion(t, m.id, v.spec))
				case v.signer > 0:
					forged, err := stix.Sign(rawOpinion(t, m.id, v.spec), ms[v.signer-1].key)
					if err != nil {
						t.Fatal(err)
					}
					raws = append(raws, forged)
				default:
					raws = append(raws, m.signed(t, v.spec))
				}
			}
			ops := verifyAll(t, keys, raws...)
			want := map[string]vote{}
			counts := map[Value]int{}
			for _, w := range tc.want {
				want[ms[w.member].id] = w
				counts[w.value]++
			}
			// The order of the versions must not matter.
			for round := range 5 {
				r := rand.New(rand.NewPCG(uint64(round), 1))
				r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
				got := Compute(reportID, ops)
				if got.Object != reportID || got.Voices() != len(tc.want) {
					t.Fatalf("Compute = %+v, want %d voices", got, len(tc.want))
				}
				for _, v := range Values {
					if got.Counts[v] != counts[v] {
						t.Errorf("count of %s = %d, want %d", v, got.Counts[v], counts[v])
					}
				}
				for i, gv := range got.Votes {
					w, ok := want[gv.Member]
					if !ok || gv.OpinionID != opinionID(w.id) || gv.Value != w.value {
						t.Errorf("vote %+v, want %+v", gv, w)
					}
					if i > 0 && got.Votes[i-1].Member >= gv.Member {
						t.Errorf("votes are not ordered by member")
					}
				}
			}
		})
	}
}

func TestComputeSameVersionDifferentContent(t *testing.T) {
	// Two verified versions of one opinion with the same modified: every
	// party must pick the same one, whatever the order.
	a := newMember(1)
	x := a.signed(t, spec{id: 1, minute: 1, value: Agree})
	y := a.signed(t, spec{id: 1, minute: 1, value: Disagree})
	ops := verifyAll(t, keysOf(a), x, y)
	first := Compute(reportID, ops)
	ops[0], ops[1] = ops[1], ops[0]
	second := Compute(reportID, ops)
	if first.Votes[0].Value != second.Votes[0].Value {
		t.Errorf("the choice depends on the order: %s then %s", first.Votes[0].Value, second.Votes[0].Value)
	}
}

func TestComputeConfidence(t *testing.T) {
	a, b := newMember(1), newMember(2)
	ops := verifyAll(t, keysOf(a, b),
		a.signed(t, spec{id: 1, value: Agree, confidence: 85}),
		b.signed(t, spec{id: 2, value: Agree}))
	got := Compute(reportID, ops)
	for _, v := range got.Votes {
		switch v.Member {
		case a.id:
			if v.Confidence == nil || *v.Confidence != 85 {
				t.Errorf("a's confidence = %v", v.Confidence)
			}
		case b.id:
			if v.Confidence != nil {
				t.Errorf("b gave no confidence but the vote has %d", *v.Confidence)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	a, b, c := newMember(1), newMember(2), newMember(3)
	keys := keysOf(a, b, c)
	ops := verifyAll(t, keys,
		a.signed(t, spec{id: 1, value: Agree, confidence: 60}),
		a.signed(t, spec{id: 2, minute: 1, value: StronglyAgree}),
		b.signed(t, spec{id: 3, value: Disagree}),
		rawOpinion(t, c.id, spec{id: 4, value: Agree}), // unsigned
	)
	honest := Compute(reportID, ops)
	if _, err := Check(honest, ops); err != nil {
		t.Fatalf("Check(honest) = %v", err)
	}
	clone := func() Tally {
		t2 := Tally{Object: honest.Object, Counts: map[Value]int{}, Votes: append([]Vote(nil), honest.Votes...)}
		for k, v := range honest.Counts {
			t2.Counts[k] = v
		}
		return t2
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *Tally)
		want   string
	}{
		{"inflated count", func(t *Tally) { t.Counts[Agree]++ }, "agree is claimed 1, the opinions give 0"},
		{"deflated count", func(t *Tally) { t.Counts[Disagree] = 0 }, "disagree is claimed 0"},
		{"unsigned opinion counted", func(t *Tally) {
			t.Counts[Agree]++
			t.Votes = append(t.Votes, Vote{Member: c.id, Value: Agree, OpinionID: opinionID(4), Version: "2026-09-15T12:00:00.000Z"})
		}, "no verified opinion of that member"},
		{"an old opinion counted", func(t *Tally) {
			t.Counts[StronglyAgree]--
			t.Counts[Agree]++
			for i := range t.Votes {
				if t.Votes[i].Member == a.id {
					t.Votes[i] = Vote{Member: a.id, Value: Agree, OpinionID: opinionID(1), Version: "2026-09-15T12:00:00Z", Confidence: new(60)}
				}
			}
		}, "the opinions give strongly-agree"},
		{"a vote left out", func(t *Tally) { t.Votes = t.Votes[1:] }, "missing from the claimed opinions"},
		{"a member twice", func(t *Tally) { t.Votes = append(t.Votes, t.Votes[0]) }, "more than one counted opinion"},
		{"confidence changed", func(t *Tally) { t.Votes[0].Confidence = new(99) }, "counted opinion is claimed to be"},
		{"unknown value", func(t *Tally) { t.Counts["certain"] = 3 }, `"certain" is claimed 3`},
		// Unknown names with a zero count: before, accepted silently.
		{"unknown value at zero", func(t *Tally) { t.Counts["certain"] = 0 }, `"certain" is claimed 0 but is no opinion value`},
		{"a value in another case at zero", func(t *Tally) { t.Counts["Agree"] = 0 }, `"Agree" is claimed 0`},
		{"a value with a right-to-left override", func(t *Tally) { t.Counts["agree\u202e"] = 0 }, `"agree\u202e" is claimed 0`},
		{"another object", func(t *Tally) { t.Object = otherID }, "claimed 1, the opinions give 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claimed := clone()
			tc.tamper(&claimed)
			_, err := Check(claimed, ops)
			if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want ErrMismatch with %q", err, tc.want)
			}
		})
	}
	// A version written with more digits is the same instant.
	same := clone()
	for i := range same.Votes {
		same.Votes[i].Version = strings.Replace(same.Votes[i].Version, ".000Z", ".000000Z", 1)
	}
	if _, err := Check(same, ops); err != nil {
		t.Errorf("Check with the same instants spelled differently = %v", err)
	}
	// Thousands of unknown names: a few are named.
	many := clone()
	for i := range 5000 {
		many.Counts[Value(fmt.Sprintf("v%04d", i))] = 0
	}
	if _, err := Check(many, ops); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "4992 more names") || len(err.Error()) > 1000 {
		t.Errorf("Check with 5,000 unknown names = %.300v (%d bytes), want ErrMismatch naming 8 of them", err, len(err.Error()))
	}
	// Missing zero counts read as zero.
	sparse := clone()
	for k, v := range sparse.Counts {
		if v == 0 {
			delete(sparse.Counts, k)
		}
	}
	if _, err := Check(sparse, ops); err != nil {
		t.Errorf("Check without zero counts = %v", err)
	}
}

// TestWithdraw checks that the versions Withdraw writes leave no opinion
// of the member counted on the object, that none of the member's older
// opinions comes back (revoking only the counted one would let rule 6
// count the next latest), that an opinion also about another object keeps
// its stance there, and that other members are untouched.
func TestWithdraw(t *testing.T) {
	alice, bob := newMember(1), newMember(2)
	keys := keysOf(alice, bob)
	now := t0.Add(time.Hour)
	tests := []struct {
		name        string
		alice       []spec
		wantRevoked []int // opinion ids revoked
		wantDropped []int // opinion ids that keep other objects
		wantOther   map[Value]int
	}{
		{name: "none"},
		{name: "one", alice: []spec{{id: 1, minute: 1, value: Agree}}, wantRevoked: []int{1}},
		{
			name:        "two opinions: the older one must not come back",
			alice:       []spec{{id: 1, minute: 1, value: Agree}, {id: 2, minute: 2, value: Disagree}},
			wantRevoked: []int{1, 2},
		},
		{
			name:        "a revoked and a superseded version are left alone",
			alice:       []spec{{id: 1, minute: 1, value: Agree}, {id: 1, minute: 3, value: Agree, revoked: true}, {id: 2, minute: 1, value: Neutral}, {id: 2, minute: 2, value: Disagree}},
			wantRevoked: []int{2},
		},
		{
			name:        "an opinion on two objects keeps the other",
			alice:       []spec{{id: 1, minute: 1, value: Agree, refs: []string{reportID, otherID}}, {id: 2, minute: 2, value: Disagree}},
			wantRevoked: []int{2}, wantDropped: []int{1},
			wantOther: map[Value]int{Agree: 1},
		},
		{
			name:      "an opinion about another object only is left alone",
			alice:     []spec{{id: 1, minute: 1, value: Agree, refs: []string{otherID}}},
			wantOther: map[Value]int{Agree: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var raws [][]byte
			for _, s := range tc.alice {
				raws = append(raws, alice.signed(t, s))
			}
			raws = append(raws, bob.signed(t, spec{id: 9, minute: 5, value: StronglyAgree}))
			ops := verifyAll(t, keys, raws...)
			ws, err := Withdraw(reportID, alice.id, ops, alice.key, now)
			if err != nil {
				t.Fatal(err)
			}
			var revoked, dropped []int
			for _, w := range ws {
				op, err := Verify(w.Raw, keys)
				if err != nil {
					t.Fatalf("withdrawal of %s doesn't verify: %v", w.Standing.ID, err)
				}
				if op.ID != w.Standing.ID || !op.Version.After(w.Standing.Version) || op.Revoked != w.Revoked {
					t.Errorf("withdrawal %s version %s revoked %v is not a later version of %s %s", op.ID, op.Version, op.Revoked, w.Standing.ID, w.Standing.Version)
				}
				var n int
				fmt.Sscanf(op.ID[len(op.ID)-12:], "%d", &n)
				if w.Revoked {
					revoked = append(revoked, n)
				} else {
					if op.About(reportID) || len(op.ObjectRefs) == 0 {
						t.Errorf("%s still refers to the object: %v", op.ID, op.ObjectRefs)
					}
					dropped = append(dropped, n)
				}
				ops = append(ops, op)
			}
			if fmt.Sprint(revoked) != fmt.Sprint(tc.wantRevoked) || fmt.Sprint(dropped) != fmt.Sprint(tc.wantDropped) {
				t.Errorf("revoked %v and dropped the object from %v; want %v and %v", revoked, dropped, tc.wantRevoked, tc.wantDropped)
			}
			after := Compute(reportID, ops)
			if len(after.Votes) != 1 || after.Votes[0].Member != bob.id || after.Counts[StronglyAgree] != 1 {
				t.Errorf("after withdrawing, the tally is %+v; want only bob's opinion", after)
			}
			other := Compute(otherID, ops)
			for _, v := range Values {
				if other.Counts[v] != tc.wantOther[v] {
					t.Errorf("on the other object %s counts %d; want %d", v, other.Counts[v], tc.wantOther[v])
				}
			}
		})
	}
}

package opinion

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzParse checks that Parse never panics and that what it accepts
// parses again from its canonical form to the same opinion.
func FuzzParse(f *testing.F) {
	a := newMember(1)
	f.Add(rawOpinion(f, a.id, spec{id: 1, value: Agree, confidence: 40}))
	f.Add(a.signed(f, spec{id: 2, value: Disagree, revoked: true, refs: []string{reportID, otherID}}))
	f.Add([]byte(`{"type":"opinion"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		op, err := Parse(raw)
		if err != nil {
			return
		}
		again, err := Parse(op.Raw)
		if err != nil {
			t.Fatalf("the canonical form of an accepted opinion doesn't parse: %v", err)
		}
		if again.ID != op.ID || again.Member != op.Member || again.Value != op.Value || !again.Version.Equal(op.Version) ||
			again.Revoked != op.Revoked || !slices.Equal(again.ObjectRefs, op.ObjectRefs) || string(again.Raw) != string(op.Raw) {
			t.Fatalf("round trip changed the opinion: %+v then %+v", op, again)
		}
		if !op.Value.Valid() {
			t.Fatalf("accepted value %q", op.Value)
		}
	})
}

// FuzzVerifyConcurrence feeds arbitrary node answers to the client-side
// check: it must never panic, and whatever it accepts must have claimed
// exactly the tally it recomputed.
func FuzzVerifyConcurrence(f *testing.F) {
	a, b := newMember(1), newMember(2)
	c, _ := honestConcurrence(f, []member{a, b},
		a.signed(f, spec{id: 1, value: Agree}), b.signed(f, spec{id: 2, value: Disagree, confidence: 10}))
	j, _ := json.Marshal(c)
	f.Add(j)
	f.Add([]byte(`{"object":"report--8e2e2d2b-17d4-4cbe-8b46-6a0b0d0d0a01","counts":{},"opinions":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Concurrence
		if json.Unmarshal(data, &c) != nil {
			return
		}
		res, err := VerifyConcurrence(c, "")
		if err != nil {
			return
		}
		for _, v := range Values {
			if c.Counts[v] != res.Tally.Counts[v] {
				t.Fatalf("accepted a claimed %s count of %d, recomputed %d", v, c.Counts[v], res.Tally.Counts[v])
			}
		}
		if len(c.Votes) != len(res.Tally.Votes) {
			t.Fatalf("accepted %d claimed votes, recomputed %d", len(c.Votes), len(res.Tally.Votes))
		}
	})
}

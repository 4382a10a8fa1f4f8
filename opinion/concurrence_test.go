package opinion

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

// honestConcurrence builds what an honest node answers for reportID over
// the given objects.
func honestConcurrence(t testing.TB, members []member, objects ...[]byte) (Concurrence, string) {
	t.Helper()
	b, vkey := evidence(t, members, objects...)
	var ops []Opinion
	keys := keysOf(members...)
	for _, o := range objects {
		op, _ := Verify(o, keys)
		ops = append(ops, op)
	}
	tally := Compute(reportID, ops)
	return Concurrence{Tally: tally, Voices: tally.Voices(), MembersWithAccess: 3, Evidence: b}, vkey
}

func TestVerifyConcurrence(t *testing.T) {
	a, b, c := newMember(1), newMember(2), newMember(3)
	members := []member{a, b, c}
	objects := [][]byte{
		a.signed(t, spec{id: 1, minute: 0, value: Agree}),
		a.signed(t, spec{id: 1, minute: 1, value: StronglyAgree, confidence: 90}),
		b.signed(t, spec{id: 2, value: Disagree}),
		b.signed(t, spec{id: 3, minute: -5, value: Agree}),
		c.signed(t, spec{id: 4, value: Neutral}),
		c.signed(t, spec{id: 4, minute: 2, value: Neutral, revoked: true}),
		rawOpinion(t, c.id, spec{id: 5, minute: 3, value: StronglyAgree}), // unsigned, stored under an optional policy
	}
	honest, vkey := honestConcurrence(t, members, objects...)
	if honest.Counts[StronglyAgree] != 1 || honest.Counts[Disagree] != 1 || honest.Voices != 2 {
		t.Fatalf("unexpected honest tally %+v", honest.Tally)
	}
	res, err := VerifyConcurrence(honest, vkey)
	if err != nil {
		t.Fatalf("VerifyConcurrence(honest) = %v", err)
	}
	if len(res.Items) != len(objects) || res.Checkpoint.Size != uint64(5+len(members)+len(objects)) || res.Names[a.id] != "member-1" {
		t.Errorf("verification = %+v", res)
	}
	if !errors.Is(res.Items[6].Err, ErrUnsigned) || res.Items[0].Err != nil || res.Items[0].Collection != "c1" {
		t.Errorf("items = %+v", res.Items)
	}
	// The JSON form round-trips.
	j, err := json.Marshal(honest)
	if err != nil {
		t.Fatal(err)
	}
	var back Concurrence
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyConcurrence(back, vkey); err != nil {
		t.Errorf("after a JSON round trip: %v", err)
	}
	var shape map[string]any
	json.Unmarshal(j, &shape)
	for _, k := range []string{"object", "counts", "opinions", "voices", "members_with_access", "evidence"} {
		if _, ok := shape[k]; !ok {
			t.Errorf("the JSON has no %q: %s", k, j)
		}
	}

	copyOf := func() Concurrence {
		var c Concurrence
		if err := json.Unmarshal(j, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		tamper func(c *Concurrence)
		want   error
	}{
		{"inflated count", func(c *Concurrence) { c.Counts[Agree] = 5 }, ErrMismatch},
		{"unsigned opinion counted", func(c *Concurrence) {
			c.Counts[StronglyAgree]++
			c.Votes = append(c.Votes, Vote{Member: members[2].id, Value: StronglyAgree, OpinionID: opinionID(5), Version: "2026-09-15T12:03:00Z"})
			c.Voices++
		}, ErrMismatch},
		{"revocation hidden by dropping it from the evidence only", func(c *Concurrence) {
			c.Evidence.Items = append(c.Evidence.Items[:5], c.Evidence.Items[6:]...)
		}, ErrMismatch},
		{"voices inflated", func(c *Concurrence) { c.Voices = 3 }, ErrMismatch},
		{"more voices than members with access", func(c *Concurrence) { c.MembersWithAccess = 1 }, ErrMismatch},
		{"an opinion's text changed", func(c *Concurrence) {
			c.Evidence.Items[2].Object = bytes.Replace(c.Evidence.Items[2].Object, []byte(`"disagree"`), []byte(`"agree"`), 1)
		}, ErrEvidence},
		{"a forged opinion slipped in with a fabricated entry", func(c *Concurrence) {
			forged, _ := stix.Sign(rawOpinion(t, members[2].id, spec{id: 9, value: Agree}), members[0].key)
			it := c.Evidence.Items[0]
			it.Object = forged
			c.Evidence.Items = append(c.Evidence.Items, it)
		}, ErrEvidence},
		{"inclusion proof broken", func(c *Concurrence) { c.Evidence.Items[1].InclusionProof[0][0] ^= 1 }, ErrEvidence},
		{"log index moved", func(c *Concurrence) { c.Evidence.Items[1].LogIndex++ }, ErrEvidence},
		{"checkpoint signature broken", func(c *Concurrence) {
			c.Evidence.Checkpoint = c.Evidence.Checkpoint[:len(c.Evidence.Checkpoint)-10] + "AAAAAAAAA\n"
		}, ErrEvidence},
		{"a member's key entry replaced", func(c *Concurrence) {
			// The node swaps in another key for member 0: the entry no
			// longer matches the log's tree.
			e, _ := tlog.ParseEntry(c.Evidence.Keys[0].Entry)
			e.Key = newMember(9).pub()
			c.Evidence.Keys[0].Entry, _ = e.Marshal()
		}, ErrEvidence},
		{"a member's key entry left out", func(c *Concurrence) { c.Evidence.Keys = c.Evidence.Keys[1:] }, ErrEvidence},
		{"key index dropped", func(c *Concurrence) { c.Evidence.KeyIndex = "" }, ErrEvidence},
		{"key entries out of order", func(c *Concurrence) {
			c.Evidence.Keys[0], c.Evidence.Keys[1] = c.Evidence.Keys[1], c.Evidence.Keys[0]
		}, ErrEvidence},
		{"opening's member changed", func(c *Concurrence) { c.Evidence.Items[0].Member = members[1].id }, ErrEvidence},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := copyOf()
			tc.tamper(&cc)
			if _, err := VerifyConcurrence(cc, vkey); !errors.Is(err, tc.want) {
				t.Errorf("VerifyConcurrence = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := VerifyConcurrence(copyOf(), "other.example+12345678+AQ"); !errors.Is(err, ErrEvidence) {
		t.Errorf("with another pinned key: %v", err)
	}
}

func TestVerifyConcurrenceNoOpinions(t *testing.T) {
	empty := Concurrence{Tally: Compute(reportID, nil)}
	if _, err := VerifyConcurrence(empty, ""); err != nil {
		t.Errorf("no opinions: %v", err)
	}
	empty.Counts[Agree] = 1
	if _, err := VerifyConcurrence(empty, ""); !errors.Is(err, ErrMismatch) {
		t.Errorf("a count with no opinions: %v", err)
	}
}

// TestVerifyConcurrenceKeyEntryLeftOut: a lying node logs an opinion
// signed with a member's key after the log ended that key (a rotation,
// member-signed or operator-asserted, a key revocation, the member's
// revocation), claims it counts, and serves evidence that leaves the
// ending entry out, so that the old key looks in force at the opinion's
// position. The key index shows the entry left out and the client refuses
// the evidence; the honest evidence verifies, without that opinion.
func TestVerifyConcurrenceKeyEntryLeftOut(t *testing.T) {
	a, b, a2 := newMember(1), newMember(2), newMember(9)
	for _, tc := range []struct {
		name string
		end  tlog.Entry
	}{
		{"member-signed rotation", tlog.Entry{Member: a.id, Event: tlog.EventRotate, Key: a2.pub(), Authority: tlog.AuthorityMember,
			Statement: ed25519.Sign(a.key, tlog.RotationMessage(a.pub(), a2.pub()))}},
		{"operator rotation", tlog.Entry{Member: a.id, Event: tlog.EventRotate, Key: a2.pub(), Authority: tlog.AuthorityOperator}},
		{"key revocation", tlog.Entry{Member: a.id, Event: tlog.EventRevokeKey, Key: a.pub(), Authority: tlog.AuthorityOperator}},
		{"member revocation", tlog.Entry{Member: a.id, Event: tlog.EventRevokeMember, Authority: tlog.AuthorityOperator}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stale := a.signed(t, spec{id: 1, value: StronglyAgree})
			other := b.signed(t, spec{id: 2, value: Disagree})
			ev, vkey := logEvidence(t, []member{a, b}, step{key: tc.end}, step{object: stale}, step{object: other})
			// What the node claims: a's opinion counts (with the key
			// the forged evidence shows in force).
			var claimed []Opinion
			for _, o := range [][]byte{stale, other} {
				op, _ := Verify(o, keysOf(a, b))
				claimed = append(claimed, op)
			}
			lie := Compute(reportID, claimed)
			forged := Concurrence{Tally: lie, Voices: lie.Voices(), MembersWithAccess: 2, Evidence: ev}
			forged.Evidence.Keys = slices.DeleteFunc(slices.Clone(ev.Keys), func(k tlog.BundleKey) bool { return k.LogIndex == ev.Keys[len(ev.Keys)-1].LogIndex })
			_, err := VerifyConcurrence(forged, vkey)
			if !errors.Is(err, ErrEvidence) || !strings.Contains(err.Error(), "leaves out member key entry") {
				t.Errorf("VerifyConcurrence(evidence without the %s) = %v, want the entry left out refused", tc.name, err)
			}

			// The honest answer: the same log, every key entry shown; the
			// opinion signed with the ended key doesn't count.
			honestTally := Compute(reportID, []Opinion{claimed[1]})
			honest := Concurrence{Tally: honestTally, Voices: honestTally.Voices(), MembersWithAccess: 2, Evidence: ev}
			res, err := VerifyConcurrence(honest, vkey)
			if err != nil {
				t.Fatalf("VerifyConcurrence(honest) = %v", err)
			}
			if res.Items[0].Err == nil || res.Items[1].Err != nil || res.Tally.Voices() != 1 {
				t.Errorf("honest verification: items %+v, %d voices; want only the second opinion counted", res.Items, res.Tally.Voices())
			}
			// The lie with the honest evidence fails too: the tally
			// doesn't follow.
			forged.Evidence = ev
			if _, err := VerifyConcurrence(forged, vkey); !errors.Is(err, ErrMismatch) {
				t.Errorf("the claimed tally with the honest evidence: %v, want ErrMismatch", err)
			}
		})
	}
}

// TestVerifyConcurrenceSharerNotIndexed: evidence whose key index doesn't
// list a member who shared one of its items (here one the log never
// registered, so that its key entries can't be shown) is refused, not
// verified with that member's opinion simply not counting: nothing shows
// that the member has no key entry the evidence leaves out.
func TestVerifyConcurrenceSharerNotIndexed(t *testing.T) {
	a, b := newMember(1), newMember(2)
	mine := a.signed(t, spec{id: 1, value: Agree})
	theirs := b.signed(t, spec{id: 2, value: Disagree})
	ev, vkey := logEvidence(t, []member{a}, step{object: mine}, step{object: theirs})
	op, err := Verify(mine, keysOf(a))
	if err != nil {
		t.Fatal(err)
	}
	tally := Compute(reportID, []Opinion{op})
	c := Concurrence{Tally: tally, Voices: tally.Voices(), MembersWithAccess: 2, Evidence: ev}
	if _, err := VerifyConcurrence(c, vkey); !errors.Is(err, ErrEvidence) || !strings.Contains(err.Error(), "doesn't list "+b.id) {
		t.Errorf("VerifyConcurrence(evidence whose key index leaves out a sharer) = %v, want ErrEvidence naming %s", err, b.id)
	}
}

// TestVerifyConcurrenceUnknownCountNames: an answer whose counts hold a
// name that is no opinion value, at zero, is refused offline as it is
// read from JSON (parley verify, parley concurrence): before, it
// verified, and the name was shown beside the tally.
func TestVerifyConcurrenceUnknownCountNames(t *testing.T) {
	a := newMember(1)
	honest, vkey := honestConcurrence(t, []member{a}, a.signed(t, spec{id: 1, value: Agree}))
	j, err := json.Marshal(honest)
	if err != nil {
		t.Fatal(err)
	}
	read := func(doc []byte) error {
		t.Helper()
		c, _, err := ParseConcurrence(doc)
		if err != nil {
			t.Fatalf("ParseConcurrence: %v", err)
		}
		_, err = VerifyConcurrence(c, vkey)
		return err
	}
	if err := read(j); err != nil {
		t.Fatalf("the honest answer: %v", err)
	}
	for _, name := range []string{"certain", "AGREE", "agree ", ""} {
		doc := bytes.Replace(j, []byte(`"counts":{`), []byte(`"counts":{`+strconv.Quote(name)+`:0,`), 1)
		if bytes.Equal(doc, j) {
			t.Fatal("no counts in the answer")
		}
		if err := read(doc); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "no opinion value") {
			t.Errorf("counts holding %q: 0: VerifyConcurrence = %v, want ErrMismatch", name, err)
		}
	}
}

package opinion

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// vectorFile is testdata/vectors.json: tally vectors for other
// implementations of the rule. Keys are derived from fixed seeds and
// Ed25519 signatures are deterministic, so the file is reproducible.
type vectorFile struct {
	Description string         `json:"description"`
	Members     []vectorMember `json:"members"`
	Cases       []vectorCase   `json:"cases"`
}

type vectorMember struct {
	ID        string `json:"id"`
	PublicKey []byte `json:"public_key"`
}

type vectorCase struct {
	Name     string            `json:"name"`
	Object   string            `json:"object"`
	Opinions []json.RawMessage `json:"opinions"`
	Tally    Tally             `json:"tally"`
}

func buildVectors(t *testing.T) vectorFile {
	ms := []member{newMember(1), newMember(2), newMember(3)}
	f := vectorFile{Description: "Parley concurrence tally vectors: verify each opinion against the members' keys " +
		"(Parley object signature, docs/signatures.md), then apply the tally rule of the opinion package " +
		"documentation; the tally must equal \"tally\" (counts of every value, and one vote per member ordered by member id)."}
	for _, m := range ms {
		f.Members = append(f.Members, vectorMember{ID: m.id, PublicKey: m.pub()})
	}
	forge := func(creator member, signer member, s spec) []byte {
		b, err := stix.Sign(rawOpinion(t, creator.id, s), signer.key)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := ms[0], ms[1], ms[2]
	cases := []struct {
		name string
		raws [][]byte
	}{
		{"one member, several opinions: one voice, the latest", [][]byte{
			a.signed(t, spec{id: 1, minute: 0, value: Agree}),
			a.signed(t, spec{id: 2, minute: 1, value: Disagree}),
			a.signed(t, spec{id: 3, minute: 2, value: StronglyDisagree}),
			b.signed(t, spec{id: 4, minute: 0, value: Agree, confidence: 80}),
		}},
		{"the latest version of an opinion stands", [][]byte{
			a.signed(t, spec{id: 1, minute: 0, value: Agree}),
			a.signed(t, spec{id: 1, minute: 5, value: Neutral}),
		}},
		{"a revoked opinion counts for nothing; the member's latest remaining one counts", [][]byte{
			a.signed(t, spec{id: 1, minute: 0, value: Disagree}),
			a.signed(t, spec{id: 2, minute: 1, value: Agree}),
			a.signed(t, spec{id: 2, minute: 2, value: Agree, revoked: true}),
			b.signed(t, spec{id: 3, minute: 0, value: Agree}),
			b.signed(t, spec{id: 3, minute: 1, value: Agree, revoked: true}),
		}},
		{"unsigned and forged opinions never count, nor withdraw anything", [][]byte{
			rawOpinion(t, a.id, spec{id: 1, value: StronglyAgree}),
			forge(b, c, spec{id: 2, value: StronglyAgree}),
			c.signed(t, spec{id: 3, minute: 0, value: Disagree}),
			forge(c, a, spec{id: 3, minute: 9, value: Disagree, revoked: true}),
		}},
		{"another member's version of an opinion id is its own opinion", [][]byte{
			a.signed(t, spec{id: 1, minute: 0, value: Agree}),
			b.signed(t, spec{id: 1, minute: 3, value: Disagree, revoked: true}),
			c.signed(t, spec{id: 1, minute: 4, value: Neutral}),
		}},
		{"a version without the object in object_refs withdraws the opinion", [][]byte{
			a.signed(t, spec{id: 1, minute: 0, value: Agree}),
			a.signed(t, spec{id: 1, minute: 1, value: Agree, refs: []string{otherID}}),
			b.signed(t, spec{id: 2, minute: 0, value: Agree, refs: []string{otherID, reportID}}),
		}},
		{"two opinions of a member at the same instant: the greater id counts", [][]byte{
			a.signed(t, spec{id: 7, minute: 4, value: Disagree}),
			a.signed(t, spec{id: 2, minute: 4, value: Agree}),
		}},
	}
	keys := keysOf(ms...)
	for _, tc := range cases {
		vc := vectorCase{Name: tc.name, Object: reportID}
		var ops []Opinion
		for _, r := range tc.raws {
			canon, err := stix.Canonicalize(r)
			if err != nil {
				t.Fatal(err)
			}
			vc.Opinions = append(vc.Opinions, canon)
			op, _ := Verify(r, keys)
			ops = append(ops, op)
		}
		vc.Tally = Compute(reportID, ops)
		f.Cases = append(f.Cases, vc)
	}
	return f
}

// TestVectors checks the tally of every case of testdata/vectors.json and
// that the file is what this version of the rule produces (-update
// rewrites it).
func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	want, err := json.MarshalIndent(buildVectors(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./opinion -run TestVectors -update", path)
	}
	var f vectorFile
	if err := json.Unmarshal(got, &f); err != nil {
		t.Fatal(err)
	}
	keys := Keys{}
	for _, m := range f.Members {
		keys[m.ID] = ed25519.PublicKey(m.PublicKey)
	}
	for _, c := range f.Cases {
		var ops []Opinion
		for _, r := range c.Opinions {
			op, _ := Verify(r, keys)
			ops = append(ops, op)
		}
		if _, err := Check(c.Tally, ops); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

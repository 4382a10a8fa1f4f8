package tlog

import (
	"bytes"
	"strings"
	"testing"
)

// TestWitnessPolicyShorthandNames: the shorthand policy names its
// witnesses by their keys' names, so that messages say which witness, and
// falls back to w1, w2, ... when two keys share a name or a name is taken.
func TestWitnessPolicyShorthandNames(t *testing.T) {
	key := func(name string, seed byte) string {
		_, v, err := NewCosignerKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)), name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name   string
		keys   []string
		k      int
		want   []string
		quorum string
	}{
		{"distinct", []string{key("a.example/w", 1), key("b.example/w", 2)}, 1, []string{"a.example/w", "b.example/w"}, "1-of-2"},
		{"shared name", []string{key("w.example", 1), key("w.example", 2)}, 2, []string{"w1", "w2"}, "2-of-2"},
		{"named as the group", []string{key("1-of-1", 1)}, 1, []string{"w1"}, "1-of-1"},
		{"named none", []string{key("none", 1)}, 1, []string{"w1"}, "1-of-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewWitnessPolicy(tc.keys, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range p.Witnesses {
				got = append(got, w.Name)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") || p.Quorum != tc.quorum {
				t.Fatalf("witnesses %v, quorum %q; want %v, %q\n%s", got, p.Quorum, tc.want, tc.quorum, p)
			}
		})
	}
}

// TestPolicyNeeds: a witness is needed when the quorum can't be met by
// all the other witnesses together.
func TestPolicyNeeds(t *testing.T) {
	key := func(name string, seed byte) string {
		_, v, err := NewCosignerKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)), name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ws := "witness a " + key("a", 1) + "\nwitness b " + key("b", 2) + "\nwitness c " + key("c", 3) + "\n"
	for _, tc := range []struct {
		rest string
		want map[string]bool
	}{
		{"quorum none\n", map[string]bool{"a": false, "b": false, "c": false}},
		{"quorum a\n", map[string]bool{"a": true, "b": false, "c": false}},
		{"group g 2 a b c\nquorum g\n", map[string]bool{"a": false, "b": false, "c": false}},
		{"group g all a b c\nquorum g\n", map[string]bool{"a": true, "b": true, "c": true}},
		{"group g any b c\ngroup h all a g\nquorum h\n", map[string]bool{"a": true, "b": false, "c": false}},
	} {
		p, err := ParsePolicy([]byte(ws + tc.rest))
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range tc.want {
			if got := p.Needs(name); got != want {
				t.Errorf("%q: Needs(%s) = %v, want %v", tc.rest, name, got, want)
			}
		}
	}
}

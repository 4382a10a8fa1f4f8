package pattern

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpusPatternsParse: every STIX pattern of the real producers'
// indicators in the test data (the OASIS STIX 2.1 examples and
// documentation, MISP's misp-stix converter output with its parenthesised
// groups, object paths through _ref and list indexes, and quoted
// extension names) is valid by the patterning grammar, so the node takes
// it and the matcher compiles it. Indicators of other pattern types
// (sigma, yara, snort, suricata, ...) are counted and not parsed.
func TestCorpusPatternsParse(t *testing.T) {
	patterns := map[string]string{} // pattern -> file
	others := 0
	for _, dir := range []string{"stix21-examples", "corpus"} {
		err := filepath.WalkDir(filepath.Join("..", "testdata", dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var bundle struct{ Objects []map[string]any }
			if json.Unmarshal(data, &bundle) != nil {
				return nil // a single object, not a bundle: no indicator here
			}
			for _, o := range bundle.Objects {
				if o["type"] != "indicator" {
					continue
				}
				p, _ := o["pattern"].(string)
				if pt, _ := o["pattern_type"].(string); pt != "stix" {
					others++
					continue
				}
				patterns[p] = path
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for p, file := range patterns {
		if err := Validate(p); err != nil {
			t.Errorf("%s: %q: %v", file, p, err)
		}
	}
	if len(patterns) < 170 {
		t.Errorf("only %d distinct STIX patterns in the corpus; misp-stix's alone has 167", len(patterns))
	}
	t.Logf("%d distinct STIX patterns valid; %d indicators of other pattern types", len(patterns), others)
}

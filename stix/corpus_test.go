package stix

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedTestdata is the repository's test data (testdata/README.md names
// its sources and licences).
const sharedTestdata = "../testdata"

// knownInvalid lists corpus files that are invalid STIX 2.1 on purpose,
// with the reason the test expects.
var knownInvalid = map[string]string{
	// A STIX 2.0 bundle (its notes say so): the object has no spec_version.
	"corpus/python-stix2-filesystem-store/malware/malware--b42378e0-f147-496f-992a-26a49705395b/20170531213215263882.json": `property "spec_version" is required`,
}

// knownInvalidObjects lists objects of corpus files that are invalid
// STIX 2.1 on purpose, by file and id, with the reason the test expects.
var knownInvalidObjects = map[string]string{
	// misp-stix's tests use ids whose UUID has no RFC 4122 variant.
	"corpus/misp-stix/indicators-stix21.json#indicator--22222222-2222-2222-2222-222222222222": "RFC 4122",
	"corpus/misp-stix/indicators-stix21.json#indicator--88888888-8888-8888-8888-888888888888": "RFC 4122",
}

// TestCorpusValidates parses and validates every object of the test data's
// STIX 2.1 examples and corpus (ATT&CK, the OASIS documentation examples,
// python-stix2's store), and checks that each object survives
// canonicalization.
func TestCorpusValidates(t *testing.T) {
	var files []string
	for _, dir := range []string{"stix21-examples", "corpus"} {
		root := filepath.Join(sharedTestdata, dir)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var v Validator
	total := 0
	for _, path := range files {
		rel, _ := filepath.Rel(sharedTestdata, path)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := ParseObjects(data)
		if err != nil {
			t.Errorf("%s: ParseObjects: %v", rel, err)
			continue
		}
		for _, o := range objs {
			total++
			err := v.Validate(o)
			want, ok := knownInvalid[rel]
			if !ok {
				want, ok = knownInvalidObjects[rel+"#"+o.ID]
			}
			if ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: Validate = %v, want an error containing %q", rel, err, want)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", rel, err)
			}
			if _, err := Canonicalize(o.Raw); err != nil {
				t.Errorf("%s: %s: Canonicalize: %v", rel, o.ID, err)
			}
		}
	}
	if total < 5000 {
		t.Errorf("validated only %d objects; the corpus has more than 5000", total)
	}
	t.Logf("validated %d objects in %d files", total, len(files))
}

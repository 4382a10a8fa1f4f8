package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// docTestName matches a test, fuzz target or benchmark that a text names.
var docTestName = regexp.MustCompile(`\b(?:Test|Fuzz|Benchmark)[A-Z][A-Za-z0-9_]*`)

// testFunc matches the declaration of one in a _test.go file.
var testFunc = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*)\(`)

// docFilePath matches a path of the repository that a text names: a file
// under a top-level directory of the module, with an extension
// (internal/node/routes.go, opinion/testdata/vectors.json).
var docFilePath = regexp.MustCompile(`(?:^|[\s\x60(\[,;"'])((?:cmd|internal|stix|pattern|tlog|taxii|private|pdq|opinion|witness|misp|ioc|docs|contrib|testdata)/[A-Za-z0-9_./-]*\.(?:go|json|txt|md|js|html|css|sql|sh))\b`)

// TestDocsReferencesExist checks that what README.md and docs/*.md cite
// as evidence is there: every test, fuzz target or benchmark they name
// (`TestFrontEndsKill9`) is declared in some _test.go file of the
// module, and every file path they name (internal/node/storeopen.go)
// exists, so that a renamed test or a moved file doesn't leave a claim
// that points at nothing.
func TestDocsReferencesExist(t *testing.T) {
	root := filepath.Join("..", "..")
	declared := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllStringSubmatch(string(b), -1) {
			declared[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(declared) < 100 {
		t.Fatalf("found only %d tests in the module", len(declared))
	}

	paths, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	paths = append(paths, filepath.Join(root, "README.md"))
	sort.Strings(paths)
	tests, files := 0, 0
	for _, p := range paths {
		name := filepath.Base(p)
		if name != "README.md" {
			name = "docs/" + name
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range docTestName.FindAllString(line, -1) {
				tests++
				if !declared[m] {
					t.Errorf("%s:%d: %s is declared in no _test.go file", name, i+1, m)
				}
			}
			for _, m := range docFilePath.FindAllStringSubmatch(line, -1) {
				files++
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil {
					t.Errorf("%s:%d: %s: %v", name, i+1, m[1], err)
				}
			}
		}
	}
	if tests < 100 || files < 20 {
		t.Errorf("checked only %d test names and %d file paths in the docs; the patterns no longer find them", tests, files)
	}
}

package storetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
)

// docMigration matches a schema migration that a text names by number:
// "migration 702", "migrations 820 and 821", "migrations 701, 702",
// "migrations 700–709" (a range: its first), and the word before it
// ("SQLite migration 318", "PostgreSQL migration 314").
var docMigration = regexp.MustCompile(`(?:(\w+) )?[Mm]igrations? (\d+(?:(?:, | and | or )\d+)*)`)

// DocMigrationsExist checks that every schema migration that README.md
// and docs/*.md (under root, the repository) name by number is one of
// versions, the migrations of the store called name, or a retired one,
// unless the text names it as the other store's only ("PostgreSQL
// migration 314" for the SQLite store). benchmarks.md is left out: a
// dated record, it names the schema of its day.
func DocMigrationsExist(t *testing.T, root, name, other string, versions []int) {
	t.Helper()
	known := map[int64]bool{}
	for _, v := range versions {
		known[int64(v)] = true
	}
	for v := range store.RetiredMigrations {
		known[v] = true
	}
	paths, err := untrusted.FilesIn(filepath.Join(root, "docs"), "*.md")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	checked := 0
	for _, p := range append(paths, filepath.Join(root, "README.md")) {
		if filepath.Base(p) == "benchmarks.md" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range docMigration.FindAllStringSubmatch(line, -1) {
				if strings.EqualFold(m[1], other) {
					continue
				}
				for _, n := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
					v, _ := strconv.ParseInt(n, 10, 64)
					checked++
					if !known[v] {
						t.Errorf("%s:%d: migration %d is no migration of the %s store", filepath.Base(p), i+1, v, name)
					}
				}
			}
		}
	}
	if checked < 15 {
		t.Errorf("checked only %d migrations named in the docs; the pattern no longer finds them", checked)
	}
}

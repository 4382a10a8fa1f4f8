package postgres

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// docMigration matches a schema migration that a text names by number:
// "migration 702", "migrations 820 and 821", "migrations 701, 702",
// "migrations 700–709" (a range: its first), and the word before it
// ("SQLite migration 318", "PostgreSQL migration 314").
var docMigration = regexp.MustCompile(`(?:(\w+) )?[Mm]igrations? (\d+(?:(?:, | and | or )\d+)*)`)

// TestDocsMigrationsExist checks that every schema migration that
// README.md and docs/*.md name by number is one of this store's (or a
// retired one), unless the text names it as SQLite's only.
func TestDocsMigrationsExist(t *testing.T) {
	known := map[int64]bool{}
	for _, m := range migrations {
		known[int64(m.Version)] = true
	}
	for v := range store.RetiredMigrations {
		known[v] = true
	}
	paths, err := filepath.Glob(filepath.Join("..", "..", "..", "docs", "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	checked := 0
	for _, p := range append(paths, filepath.Join("..", "..", "..", "README.md")) {
		if filepath.Base(p) == "benchmarks.md" {
			continue // a dated record: it names the schema of its day
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range docMigration.FindAllStringSubmatch(line, -1) {
				if strings.EqualFold(m[1], "SQLite") {
					continue
				}
				for _, n := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
					v, _ := strconv.ParseInt(n, 10, 64)
					checked++
					if !known[v] {
						t.Errorf("%s:%d: migration %d is no migration of the PostgreSQL store", filepath.Base(p), i+1, v)
					}
				}
			}
		}
	}
	if checked < 15 {
		t.Errorf("checked only %d migrations named in the docs; the pattern no longer finds them", checked)
	}
}

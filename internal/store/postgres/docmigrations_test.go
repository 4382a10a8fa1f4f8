package postgres

import (
	"path/filepath"
	"testing"

	"github.com/parley-exchange/parley/internal/store/storetest"
)

// TestDocsMigrationsExist checks that every schema migration that
// README.md and docs/*.md name by number is one of this store's (or a
// retired one), unless the text names it as SQLite's only.
func TestDocsMigrationsExist(t *testing.T) {
	var versions []int
	for _, m := range migrations {
		versions = append(versions, m.Version)
	}
	storetest.DocMigrationsExist(t, filepath.Join("..", "..", ".."), "PostgreSQL", "SQLite", versions)
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// TestNewerSchemaRefused: a store that a newer version migrated is refused
// by an older one, naming the unknown migration and changing nothing (the
// migrations it lacks are not applied); a retired migration (411) is not
// newer. Before, an older binary opened such a store and answered every
// push with 500 ("no such table: ui_text").
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		setup   string // run on a store at this version's schema
		refused string // "" when Open must succeed
	}{
		{"newer migration", `INSERT INTO schema_migrations VALUES (9001, 'a newer feature', '2027-01-01T00:00:00Z')`, `9001 "a newer feature"`},
		{"newer migration, an older one missing",
			`DROP TABLE leases; DELETE FROM schema_migrations WHERE version = 720;
			 INSERT INTO schema_migrations VALUES (9001, 'a newer feature', '2027-01-01T00:00:00Z')`, `9001 "a newer feature"`},
		{"retired 411", `INSERT INTO schema_migrations VALUES (411, 'private sets in member usage', '2026-12-03T18:00:00Z')`, ""},
		{"none", ``, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "parley.db")
			s, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			w, _ := s.DB()
			if tc.setup != "" {
				if _, err := w.Exec(tc.setup); err != nil {
					t.Fatal(err)
				}
			}
			var before int
			w.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&before)
			s.Close()
			s, err = Open(ctx, path, Options{})
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("Open accepted a store with a migration it doesn't know")
			}
			if !errors.Is(err, store.ErrNewerSchema) || !strings.Contains(err.Error(), tc.refused) {
				t.Fatalf("Open: %v; want ErrNewerSchema naming %s", err, tc.refused)
			}
			// Nothing applied: read the file without the store.
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			w = db
			var after int
			w.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&after)
			if after != before {
				t.Errorf("schema_migrations has %d rows after the refusal, %d before", after, before)
			}
		})
	}
}

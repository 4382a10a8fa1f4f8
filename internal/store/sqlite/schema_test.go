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

// TestOldLogFormatRefusedAsItIs: a store of the versions before log format
// v2 (migrations below 400) holding log entries is refused with
// ErrOldLogFormat before any migration is applied: the version that made
// it can still open it. Before, every later migration was applied and the
// node refused it only then.
func TestOldLogFormatRefusedAsItIs(t *testing.T) {
	// An entry of format v1: no "kind", the collection and id in clear.
	const v1Leaf = `{"collection":"c","commitment":"abab","member":"identity--1","object_id":"indicator--1","received":"2026-01-01T00:00:00Z","version":"2026-01-01T00:00:00.000Z"}`
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	saved := migrations
	var old []migration
	for _, m := range migrations {
		if m.Version < 400 {
			old = append(old, m)
		}
	}
	migrations = old
	s, err := Open(ctx, path, Options{})
	migrations = saved
	if err != nil {
		t.Fatal(err)
	}
	w, _ := s.DB()
	if _, err := w.Exec(`INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received) VALUES (0, ?, x'', 'c', 'indicator--1', 'v', 'identity--1', '2026-01-01T00:00:00.000000000Z')`, []byte(v1Leaf)); err != nil {
		t.Fatal(err)
	}
	var before int
	w.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&before)
	s.Close()

	if s, err := Open(ctx, path, Options{}); !errors.Is(err, store.ErrOldLogFormat) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open of a store of log format v1: %v, want ErrOldLogFormat", err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var after int
	db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&after)
	if after != before {
		t.Errorf("schema_migrations has %d rows after the refusal, %d before", after, before)
	}

	// Without log entries it is an empty node of that time: migrated.
	if _, err := db.Exec(`DELETE FROM log_entries`); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open of an empty store of that time: %v", err)
	}
	s.Close()
}

// TestSchemaUpgradeReported: Open reports the migrations it applied to a
// store that an older version had migrated (here, one that lacks 720), so
// the node logs the upgrade; the next Open, and the Open that creates a
// store, report none.
func TestSchemaUpgradeReported(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if u := s.SchemaUpgrade(); len(u) != 0 {
		t.Errorf("a store Open created reports an upgrade: %v", u)
	}
	w, _ := s.DB()
	if _, err := w.Exec(`DROP TABLE leases; DELETE FROM schema_migrations WHERE version = 720`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for run, want := range [][]store.AppliedMigration{{{Version: 720, Name: "leases"}}, nil} {
		s, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := s.SchemaUpgrade()
		s.Close()
		if len(got) != len(want) || (len(want) == 1 && got[0].Version != want[0].Version) {
			t.Fatalf("open %d: SchemaUpgrade() = %v, want %v", run+1, got, want)
		}
	}
}

package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, opener(""))
}

// useLogObjectsBatches sets the bounds of a LogObjects batch that opts
// asks for until t ends.
func useLogObjectsBatches(t *testing.T, opts storetest.Options) {
	b, r := logObjectsBatch, logObjectsBatchRows
	if opts.LogObjectsBatch != 0 {
		logObjectsBatch = opts.LogObjectsBatch
	}
	if opts.LogObjectsBatchRows != 0 {
		logObjectsBatchRows = opts.LogObjectsBatchRows
	}
	t.Cleanup(func() { logObjectsBatch, logObjectsBatchRows = b, r })
}

// opener opens stores of the driver (the default one when empty) in
// files of their own, and a closed one's file again for opts.Reopen.
func opener(driver string) storetest.Opener {
	return storetest.OpenerAt(func(t *testing.T) string { return filepath.Join(t.TempDir(), "parley.db") },
		func(t *testing.T, path string, opts storetest.Options) store.Store {
			s, err := Open(context.Background(), path, Options{Driver: driver, Now: opts.Now, Limits: opts.Limits})
			if err != nil {
				t.Fatal(err)
			}
			useLogObjectsBatches(t, opts)
			return s
		})
}

// TestReopen checks that what a Store acknowledged is there after the
// database is closed and opened again, and that migrations are not
// re-applied.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := store.Member{ID: "identity--a", Name: "alice", Identity: []byte("{}")}
	if err := s.AddMember(ctx, m); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Member(ctx, "identity--a"); err != nil {
		t.Fatal(err)
	}
	w, _ := s.DB()
	var n int
	if err := w.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
		t.Fatalf("schema_migrations has %d rows (%v), want %d", n, err, len(migrations))
	}
	var mode string
	if err := w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
	var sync int
	if err := w.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d, want 2 (FULL)", sync)
	}
}

func TestDuplicateMigrationVersion(t *testing.T) {
	saved := migrations
	defer func() { migrations = saved }()
	registerMigrations(migration{1, "dup", "SELECT 1"})
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), Options{}); err == nil {
		t.Fatal("Open accepted two migrations with the same version")
	}
}

func TestUnknownDriver(t *testing.T) {
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), Options{Driver: "nope"}); err == nil {
		t.Fatal("Open accepted an unknown driver")
	}
}

// TestConformanceAllDrivers runs the suite on every benchmarked driver
// other than the default (the cgo one when built with cgo), so that the
// driver comparison compares stores that behave the same.
func TestConformanceAllDrivers(t *testing.T) {
	for _, d := range benchDrivers[1:] {
		t.Run(d, func(t *testing.T) {
			open := opener(d)
			storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
				s := open(t, opts).(*Store)
				// The cgo driver may be built without FTS5 (see
				// needsModule): such a store has no full-text search,
				// which the contract requires, so the text tests don't
				// apply to it.
				if (strings.HasSuffix(t.Name(), "/UIText") || strings.HasSuffix(t.Name(), "/UIBrowseText") || strings.HasSuffix(t.Name(), "/UITextBounds") || strings.HasSuffix(t.Name(), "/UITextOrder") || strings.HasSuffix(t.Name(), "/UIByCollection")) && !s.hasModule(context.Background(), "fts5") {
					s.Close()
					t.Skipf("driver %s lacks FTS5", d)
				}
				return s
			})
		})
	}
}

// TestVersionFlagsMigration opens a database made before migration 2 and
// checks that the backfill marks first and last versions as Submit would.
func TestVersionFlagsMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	saved := migrations
	migrations = []migration{saved[0]}
	s, err := Open(ctx, path, Options{})
	migrations = saved
	if err != nil {
		t.Fatal(err)
	}
	m := store.Member{ID: "identity--a", Name: "alice", Identity: []byte("{}")}
	c := store.Collection{ID: "c", Title: "c", Readers: []string{m.ID}, Writers: []string{m.ID}}
	// The member as a store of that age held it (AddMember now logs a
	// key entry, whose column came later).
	if _, err := s.w.Exec(`INSERT INTO members(id, name, public_key, identity, created) VALUES (?, ?, NULL, '{}', ?)`, m.ID, m.Name, fmtTime(time.Now())); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO collections(id, title, description, signatures, created) VALUES (?, ?, '', '', ?)`, c.ID, c.Title, fmtTime(time.Now())); err != nil {
		t.Fatal(err)
	}
	for i, v := range []string{"2026-01-02", "2026-01-01", "2026-01-03"} {
		for _, id := range []string{"x--1", "x--2"} {
			if id == "x--2" && i > 0 {
				continue
			}
			_, err := s.w.Exec(`INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received) VALUES ((SELECT coalesce(max(idx)+1, 0) FROM log_entries), 'l', 's', 'c', ?, ?, ?, ?)`,
				id, v+"T00:00:00.000000000Z", m.ID, fmtTime(time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.w.Exec(`INSERT INTO objects(collection, object_id, type, spec_version, version, date_added, member, signed, raw, log_index) VALUES ('c', ?, 'x', '2.1', ?, ?, ?, 1, '{}', (SELECT max(idx) FROM log_entries))`,
				id, v+"T00:00:00.000000000Z", fmtTime(time.Now().Add(time.Duration(i)*time.Second)), m.ID)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.r.Query(`SELECT object_id, substr(version, 1, 10), is_first, is_last FROM objects ORDER BY object_id, version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, v string
		var first, last int
		if err := rows.Scan(&id, &v, &first, &last); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s@%s:%d%d", id, v, first, last))
	}
	want := "[x--1@2026-01-01:10 x--1@2026-01-02:00 x--1@2026-01-03:01 x--2@2026-01-02:11]"
	if fmt.Sprint(got) != want {
		t.Errorf("flags after migration = %v, want %s", got, want)
	}
}

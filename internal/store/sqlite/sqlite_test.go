package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
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
			storetest.Run(t, func(t *testing.T) store.Store {
				s, err := Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"), Options{Driver: d})
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

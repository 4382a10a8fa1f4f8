package sqlite

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// filesOf returns each file in dir with its mode and the SHA-256 of its
// bytes.
func filesOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range es {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = fmt.Sprintf("%o %x", fi.Mode().Perm(), sha256.Sum256(b))
	}
	return m
}

// sameFiles fails t unless before and after hold the same files, bytes
// and modes.
func sameFiles(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for name, b := range before {
		if a, ok := after[name]; !ok {
			t.Errorf("%s: %s is gone", what, name)
		} else if a != b {
			t.Errorf("%s: %s changed: mode and hash %s, were %s", what, name, a, b)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s: %s was created", what, name)
		}
	}
}

// copyFiles copies the database at path and its -wal and -shm (those
// that exist) into dir, with mode 0640, and returns the copy's path.
func copyFiles(t *testing.T, path, dir string) string {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(path)+suffix)
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, filepath.Base(path))
}

// TestOpenReadOnlyChangesNothing: a store opened ReadOnly (parley audit
// --data) and read leaves every byte of its files, -wal and -shm
// included, and their modes as they were, and creates no file: one a node
// closed (no -wal, no -shm), and one a node was killed with (a WAL that
// holds the last commits and its index), whose last commits it reads.
// SQLite's read-only mode alone created an empty -wal and a -shm for the
// first, and rewrote the second's -shm.
func TestOpenReadOnlyChangesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, store.Member{ID: "identity--a", Name: "alice", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	killed := copyFiles(t, path, t.TempDir())
	if _, err := os.Stat(killed + "-wal"); err != nil {
		t.Fatalf("the open store has no WAL to copy: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	closed := copyFiles(t, path, t.TempDir())
	for _, c := range []struct{ name, path string }{{"closed", closed}, {"killed", killed}} {
		t.Run(c.name, func(t *testing.T) {
			before := filesOf(t, filepath.Dir(c.path))
			ro, err := Open(ctx, c.path, Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			ms, err := ro.Members(ctx)
			if err != nil || len(ms) != 1 || ms[0].Name != "alice" {
				t.Errorf("members read = %v, %v; want alice", ms, err)
			}
			if err := ro.AddMember(ctx, store.Member{ID: "identity--b", Name: "bob", Identity: []byte("{}")}); err == nil {
				t.Error("a store opened ReadOnly took a write")
			}
			if err := ro.Close(); err != nil {
				t.Fatal(err)
			}
			sameFiles(t, "after a read-only open", before, filesOf(t, filepath.Dir(c.path)))
		})
	}
}

// TestOpenReadOnlyOlderSchema: a store that lacks a migration this
// version applies (here 4, as in a store of an older version) is refused
// ReadOnly with ErrSchemaTooOld, naming the migration, and left as it was;
// one without Parley's schema too.
func TestOpenReadOnlyOlderSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := s.DB()
	if _, err := w.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = 4`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := filesOf(t, filepath.Dir(path))
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err == nil {
		ro.Close()
		t.Fatal("a store lacking migration 4 opened ReadOnly")
	}
	if !errors.Is(err, ErrSchemaTooOld) || !strings.Contains(err.Error(), `4 "objects by collection and date added"`) {
		t.Errorf("err = %v; want ErrSchemaTooOld naming migration 4", err)
	}
	sameFiles(t, "after a refused read-only open", before, filesOf(t, filepath.Dir(path)))

	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if ro, err := Open(ctx, empty, Options{ReadOnly: true}); !errors.Is(err, ErrSchemaTooOld) {
		if err == nil {
			ro.Close()
		}
		t.Errorf("an empty file opened ReadOnly: %v; want ErrSchemaTooOld", err)
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "none.db"), Options{ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing store opened ReadOnly: %v; want ErrNotExist", err)
	}
}

// TestOpenReadOnlyBesideOpenStore: a store opened ReadOnly in the process
// that serves it (a node and its audit in one test) reads its last
// commit, and the serving store goes on writing after it closed: the
// WAL index this process has open is not probed with InUse, whose close
// would drop the process's locks on it.
func TestOpenReadOnlyBesideOpenStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !openedHere(path+"-shm") || openedHere(filepath.Join(t.TempDir())) {
		t.Fatal("openedHere doesn't tell the serving store's -shm from a file nobody holds")
	}
	for i, name := range []string{"alice", "bob"} {
		if err := s.AddMember(ctx, store.Member{ID: "identity--" + name, Name: name, Identity: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		ro, err := Open(ctx, path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		ms, err := ro.Members(ctx)
		if err != nil || len(ms) != i+1 {
			t.Errorf("read-only beside the serving store: %d members, %v; want %d", len(ms), err, i+1)
		}
		if err := ro.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

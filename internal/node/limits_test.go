package node

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileModes checks that the data directory is 0700 and every file in
// it 0600: after Init into a directory that existed with 0755, after
// submissions and a checkpoint (SQLite's -wal and -shm files exist then),
// and after Open finds files loosened by hand.
func TestFileModes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if _, err := Init(ctx, dir, Config{}, nil); err != nil {
		t.Fatal(err)
	}
	checkModes := func(when string, wantFiles ...string) {
		t.Helper()
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s: %s has mode %o, want 700", when, dir, got)
		}
		seen := map[string]bool{}
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path == dir {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			seen[d.Name()] = true
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: %s has mode %o, want %o", when, path, got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range wantFiles {
			if !seen[f] {
				t.Errorf("%s: no %s in the data directory (the walk checked nothing for it)", when, f)
			}
		}
	}
	checkModes("after init", ConfigFile, KeyFile, PubKeyFile, StoreFile)

	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, key, coll := addAliceShared(t, n)
	c, err := n.store.Collection(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := n.Submit(ctx, m.ID, c, []json.RawMessage{indicator(t, m.ID, key, t0.Add(time.Duration(i)*time.Second))}); err != nil {
			t.Fatal(err)
		}
	}
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The node is open: its -wal and -shm files exist now.
	checkModes("after submissions and a checkpoint", StoreFile, StoreFile+"-wal", StoreFile+"-shm")
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	// Loosened by hand (or made by an older version): Open tightens.
	for _, f := range []string{dir, filepath.Join(dir, StoreFile)} {
		if err := os.Chmod(f, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	fi, _ := os.Stat(filepath.Join(dir, StoreFile))
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("reopened: %s has mode %o, want 600", StoreFile, got)
	}
	fi, _ = os.Stat(dir)
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("reopened: the data directory has mode %o, want 700", got)
	}
}

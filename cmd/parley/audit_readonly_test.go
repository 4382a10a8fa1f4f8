package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dirFiles returns each file in dir with its mode and the SHA-256 of its
// bytes.
func dirFiles(t *testing.T, dir string) map[string]string {
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

// TestAuditOldStoreChangesNothing: parley audit --data of the data
// directory of an older version (internal/node/testdata/node-20261202,
// whose store lacks migrations this version applies) says that the
// store's schema is too old to read without changing it, exits 4 (the
// node couldn't be read), and leaves every file of the directory as it
// was: bytes, modes, and no -wal or -shm beside the store. It used to
// apply the migrations, as serving the store does.
func TestAuditOldStoreChangesNothing(t *testing.T) {
	src := filepath.Join("..", "..", "internal", "node", "testdata", "node-20261202")
	dir := filepath.Join(t.TempDir(), "node")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "node.key", "node.pub"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gz, err := os.ReadFile(filepath.Join(src, "parley.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	var db bytes.Buffer
	if _, err := db.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "parley.db")
	if err := os.WriteFile(store, db.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(store, 0o640); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)
	seen := filepath.Join(t.TempDir(), "seen.json")
	code, stdout, stderr := runCLI(t, "audit", "--data", dir, "--seen", seen)
	if code != 4 {
		t.Errorf("audit --data of an older version's store: exit %d, want 4\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, want := range []string{"older than this version of parley reads", "nothing was changed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr doesn't say %q:\n%s", want, stderr)
		}
	}
	after := dirFiles(t, dir)
	for name, b := range before {
		if a := after[name]; a != b {
			t.Errorf("the audit changed %s: mode and hash %q, were %q", name, a, b)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("the audit created %s", name)
		}
	}
}

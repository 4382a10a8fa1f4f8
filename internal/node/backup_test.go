package node

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// backupNode makes a node with two members and a signed checkpoint
// covering their key entries, backs it up and returns the node's
// directory and the archive's path.
func backupNode(t testing.TB) (string, string) {
	t.Helper()
	ctx := context.Background()
	work := t.TempDir()
	dir := filepath.Join(work, "node")
	if _, err := Init(ctx, dir, Config{}, nil); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		if _, err := n.AddMember(ctx, name, nil); err != nil {
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
	li.release(ctx) // as a stopped node's integrator does
	n.Close()
	out := filepath.Join(work, "node.backup")
	man, err := Backup(ctx, dir, out, BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if man.LogSize != 2 || man.Checkpoint == "" || len(man.Files) != 4 {
		t.Fatalf("manifest = %+v", man)
	}
	return dir, out
}

// readArchive returns the files of a backup archive by name, manifest
// included.
func readArchive(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
}

// writeTestArchive writes files as a backup archive, the manifest first
// and the rest in the given order.
func writeTestArchive(t *testing.T, path string, files map[string][]byte, order []string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range append([]string{BackupManifestFile}, order...) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(tw.Close(), zw.Close()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rehash updates the manifest's SHA-256 of name to its new content.
func rehash(t *testing.T, files map[string][]byte, name string) {
	t.Helper()
	var man BackupManifest
	if err := json.Unmarshal(files[BackupManifestFile], &man); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(files[name])
	man.Files[name] = hex.EncodeToString(sum[:])
	b, err := json.Marshal(man)
	if err != nil {
		t.Fatal(err)
	}
	files[BackupManifestFile] = b
}

// editStore runs SQL on a copy of the archive's store and returns it.
func editStore(t *testing.T, db []byte, q string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "edit.db")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(q); err != nil {
		t.Fatal(err)
	}
	d.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRestoreRefuses: every damaged, mismatched or tampered backup is
// refused with ErrRestoreRefused naming the problem, and nothing is left
// in the target directory.
func TestRestoreRefuses(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	dir, out := backupNode(t)
	order := []string{StoreFile, PubKeyFile, ConfigFile, KeyFile}
	otherKey, otherPub, err := tlog.NewNodeKey(strings.NewReader(strings.Repeat("x", 64)), "other.example/log")
	if err != nil {
		t.Fatal(err)
	}
	_ = otherKey
	for _, tc := range []struct {
		name   string
		change func(files map[string][]byte) []string
		want   string
	}{
		{"byte flipped in the store", func(f map[string][]byte) []string {
			f[StoreFile][len(f[StoreFile])/2] ^= 1
			return order
		}, "doesn't match the manifest's SHA-256"},
		{"file missing", func(f map[string][]byte) []string {
			return []string{StoreFile, PubKeyFile, ConfigFile}
		}, "node.key doesn't match the manifest"},
		{"unexpected name", func(f map[string][]byte) []string {
			f["../escape"] = []byte("x")
			return append(order, "../escape")
		}, `unexpected file "../escape"`},
		{"another log's verifier key", func(f map[string][]byte) []string {
			f[PubKeyFile] = []byte(otherPub + "\n")
			rehash(t, f, PubKeyFile)
			return order
		}, "don't belong together"},
		{"an entry rewritten", func(f map[string][]byte) []string {
			f[StoreFile] = editStore(t, f[StoreFile], `UPDATE log_entries SET leaf = leaf || x'00' WHERE idx = 0`)
			rehash(t, f, StoreFile)
			return order
		}, "the restored log doesn't verify"},
		{"a key entry hidden from the member key look-up", func(f map[string][]byte) []string {
			// The leaves verify; the node would serve key indexes
			// without it.
			f[StoreFile] = editStore(t, f[StoreFile], `UPDATE log_entries SET kind = 'object' WHERE idx = (SELECT min(idx) FROM log_entries WHERE kind = 'member-key')`)
			rehash(t, f, StoreFile)
			return order
		}, "member key look-up"},
		{"a store that isn't a database", func(f map[string][]byte) []string {
			f[StoreFile] = make([]byte, 4096)
			rehash(t, f, StoreFile)
			return order
		}, "doesn't open as a node's store"},
		{"checkpoints dropped", func(f map[string][]byte) []string {
			f[StoreFile] = editStore(t, f[StoreFile], `DELETE FROM log_checkpoints`)
			rehash(t, f, StoreFile)
			return order
		}, "couldn't audit the restored log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := readArchive(t, out)
			bad := filepath.Join(t.TempDir(), "bad.backup")
			writeTestArchive(t, bad, files, tc.change(files))
			target := filepath.Join(t.TempDir(), "restored")
			_, err := Restore(ctx, bad, target, RestoreOptions{})
			if !errors.Is(err, ErrRestoreRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore = %v, want ErrRestoreRefused with %q", err, tc.want)
			}
			if ents, _ := os.ReadDir(target); len(ents) != 0 {
				t.Errorf("a refused restore left %d files", len(ents))
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(target), "escape")); err == nil {
				t.Error("a file escaped the staging directory")
			}
			// An empty directory that existed keeps its mode: a
			// refused restore had left it 0700.
			existing := filepath.Join(t.TempDir(), "existing")
			if err := os.Mkdir(existing, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(existing, 0o755); err != nil {
				t.Fatal(err)
			}
			if _, err := Restore(ctx, bad, existing, RestoreOptions{}); !errors.Is(err, ErrRestoreRefused) {
				t.Fatalf("Restore into an empty directory = %v, want ErrRestoreRefused", err)
			}
			if fi, err := os.Stat(existing); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("a refused restore left the directory's mode %v (%v), want 0755", fi.Mode().Perm(), err)
			}
		})
	}

	// A node that seems to run (its store's -wal file exists) is not
	// replaced, even with Force.
	if err := os.WriteFile(filepath.Join(dir, StoreFile+"-wal"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, out, dir, RestoreOptions{Force: true}); err == nil || !strings.Contains(err.Error(), "-wal exists") {
		t.Errorf("Restore over a running node = %v", err)
	}
	os.Remove(filepath.Join(dir, StoreFile+"-wal"))
	// Without the wal, Force replaces the stopped node's files.
	if _, err := Restore(ctx, out, dir, RestoreOptions{Force: true}); err != nil {
		t.Errorf("Restore --force over a stopped node: %v", err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("the restored node doesn't open: %v", err)
	}
	n.Close()
}

// TestBackupRefuses: a node on another store, or without its store file,
// is not backed up, and no file is written.
func TestBackupRefuses(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	work := t.TempDir()
	dir := filepath.Join(work, "node")
	if _, err := Init(ctx, dir, Config{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, StoreFile)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "out.backup")
	if _, err := Backup(ctx, dir, out, BackupOptions{}); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("Backup without a store = %v, want ErrNotInitialized", err)
	}
	if _, err := os.Stat(filepath.Join(dir, StoreFile)); err == nil {
		t.Error("Backup created an empty store")
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "postgres://parley@db.example/parley"
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Backup(ctx, dir, out, BackupOptions{}); !errors.Is(err, ErrBackupNotSQLite) {
		t.Errorf("Backup of a PostgreSQL node = %v, want ErrBackupNotSQLite", err)
	}
	if ents, _ := os.ReadDir(work); len(ents) != 1 {
		t.Errorf("a refused backup left files: %v", ents)
	}
}

// FuzzUnpackBackup: whatever the archive holds, unpacking it writes only
// the known file names inside the staging directory, and succeeds only
// when every file matches the manifest.
func FuzzUnpackBackup(f *testing.F) {
	_, out := backupNode(f)
	if b, err := os.ReadFile(out); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		work := t.TempDir()
		from := filepath.Join(work, "in.backup")
		if err := os.WriteFile(from, data, 0o600); err != nil {
			t.Fatal(err)
		}
		stage := filepath.Join(work, "stage")
		if err := os.Mkdir(stage, 0o700); err != nil {
			t.Fatal(err)
		}
		man, err := unpackBackup(from, stage)
		ents, _ := os.ReadDir(work)
		if len(ents) != 2 {
			t.Fatalf("unpacking wrote beside the staging directory: %v", ents)
		}
		staged, _ := os.ReadDir(stage)
		for _, e := range staged {
			if !slices.Contains(backupFiles, e.Name()) {
				t.Fatalf("unpacking wrote %q", e.Name())
			}
		}
		if err == nil && (man.Format != BackupFormat || len(staged) != len(man.Files)) {
			t.Fatalf("accepted %+v with %d files staged", man, len(staged))
		}
	})
}

// TestBackupRestoreEndsUISessions: a backup holds no web UI session, and a
// restore ends any an older backup holds, so that a session logged out
// after the backup (or of a token revoked since) can't come back.
func TestBackupRestoreEndsUISessions(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	dir := filepath.Join(work, "node")
	if _, err := Init(ctx, dir, Config{}, nil); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddMember(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	us := store.UISession{Key: sha256.Sum256([]byte("cookie")), Member: "alice", CSRF: "csrf", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	if err := n.Store().OpenUISession(ctx, us, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	n.Close()
	sessions := func(db []byte) int {
		t.Helper()
		path := filepath.Join(t.TempDir(), "count.db")
		if err := os.WriteFile(path, db, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		var c int
		if err := d.QueryRow(`SELECT count(*) FROM ui_sessions`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if live, err := os.ReadFile(filepath.Join(dir, StoreFile)); err != nil || sessions(live) != 1 {
		t.Fatalf("the node's store: %v, want its one session", err)
	}
	out := filepath.Join(work, "node.backup")
	if _, err := Backup(ctx, dir, out, BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	files := readArchive(t, out)
	if c := sessions(files[StoreFile]); c != 0 {
		t.Fatalf("the backup holds %d UI sessions", c)
	}
	// Nor their bytes: a deleted row stays in its page's free space
	// unless it is overwritten.
	if bytes.Contains(files[StoreFile], us.Key[:]) {
		t.Fatalf("the backup's store still holds the bytes of the session's key")
	}
	// A backup with a session in it (as older versions made them).
	files[StoreFile] = editStore(t, files[StoreFile], fmt.Sprintf(
		`INSERT INTO ui_sessions(key, member, token, csrf, created, last_seen, expires) VALUES (x'%x', 'alice', x'%x', 'csrf', %d, %d, %d)`,
		us.Key, us.Token, now.UnixNano(), now.UnixNano(), now.Add(time.Hour).UnixNano()))
	rehash(t, files, StoreFile)
	old := filepath.Join(work, "old.backup")
	writeTestArchive(t, old, files, []string{StoreFile, PubKeyFile, ConfigFile, KeyFile})
	if c := sessions(files[StoreFile]); c != 1 {
		t.Fatalf("the edited backup holds %d UI sessions, want 1", c)
	}
	restored := filepath.Join(work, "restored")
	if _, err := Restore(ctx, old, restored, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, restored, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Store().TouchUISession(ctx, us.Key, now, now.Add(-time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the restored node has the backup's session: %+v, %v", got, err)
	}
}

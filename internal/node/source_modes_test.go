package node

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
)

// sourceNode makes a stopped SQLite node with a member, its store files
// set to mode 0640 (a group that takes backups may read them), and
// returns its directory and those files.
func sourceNode(t *testing.T) (string, []string) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := Init(ctx, dir, Config{}, nil); err != nil { // SQLite, whatever PARLEY_TEST_NODE_STORE says
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddMember(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, suffix := range []string{"", "-wal", "-shm"} {
		p := filepath.Join(dir, StoreFile+suffix)
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Chmod(p, 0o640); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	return dir, files
}

// checkModes fails t for each of files whose mode isn't 0640 any more.
func checkModes(t *testing.T, what string, files []string) {
	t.Helper()
	for _, p := range files {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) && filepath.Base(p) != StoreFile {
			continue // SQLite removes -wal and -shm on a clean close
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o640 {
			t.Errorf("after %s the source's %s has mode %o, want 0640 as it was", what, filepath.Base(p), got)
		}
	}
}

// TestBackupLeavesSourceModes: parley backup reads the node's store to
// copy it; it leaves the source files' modes as the operator set them
// and writes only the backup with mode 0600 (it holds the node key).
func TestBackupLeavesSourceModes(t *testing.T) {
	ctx := context.Background()
	dir, files := sourceNode(t)
	out := filepath.Join(t.TempDir(), "node.backup")
	if _, err := Backup(ctx, dir, out, BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	checkModes(t, "backup", files)
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != secretMode {
		t.Errorf("the backup has mode %o, want %o", got, secretMode)
	}
}

// TestMigrateLeavesSourceModes: parley migrate leaves parley.db in DIR as
// the way back, with the modes the operator set; config.json, which it
// rewrites, is mode 0600.
func TestMigrateLeavesSourceModes(t *testing.T) {
	ctx := context.Background()
	dir, files := sourceNode(t)
	url := pgtest.SchemaURL(t)
	if _, err := Migrate(ctx, dir, url, MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	checkModes(t, "migrate", files)
	fi, err := os.Stat(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != secretMode {
		t.Errorf("config.json has mode %o after migrate, want %o", got, secretMode)
	}
}

package node

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
)

// editConfig sets the fields of the archive's config.json and rehashes
// it; a nil value removes the field.
func editConfig(t *testing.T, files map[string][]byte, set map[string]any) {
	t.Helper()
	var cfg map[string]any
	if err := json.Unmarshal(files[ConfigFile], &cfg); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	files[ConfigFile] = b
	rehash(t, files, ConfigFile)
}

// TestRestoreRefusesBackupNamingPostgres: a backup holds a SQLite store
// (parley backup makes no other); a crafted one whose config.json names
// a PostgreSQL store is refused before anything connects to that
// database (an attacker's server, whose log the audit would read instead
// of the backup's), without repeating its URL, and nothing is written.
func TestRestoreRefusesBackupNamingPostgres(t *testing.T) {
	ctx := context.Background()
	_, out := backupNode(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var dialed atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dialed.Add(1)
			c.Close()
		}
	}()
	files := readArchive(t, out)
	editConfig(t, files, map[string]any{"store": "postgres://evil:secret@" + ln.Addr().String() + "/parley?sslmode=disable"})
	crafted := filepath.Join(t.TempDir(), "crafted.backup")
	writeTestArchive(t, crafted, files, backupFiles)
	dir := filepath.Join(t.TempDir(), "restored")
	_, err = Restore(ctx, crafted, dir, RestoreOptions{})
	if !errors.Is(err, ErrRestoreRefused) || !strings.Contains(err.Error(), "other than the embedded one") || strings.Contains(err.Error(), "secret") {
		t.Errorf("Restore of a backup naming a PostgreSQL store = %v, want refused, without the URL", err)
	}
	if n := dialed.Load(); n != 0 {
		t.Errorf("restore connected %d times to the database the backup's config.json names", n)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused restore left %s (%v)", dir, err)
	}
}

// TestRestoreReportsConfigChanges: restore --force reports every setting
// of the backup's config.json that differs from the replaced node's
// (the backup's text as it is, for the caller to show through
// internal/untrusted), before the files are moved, and none when the
// configs agree.
func TestRestoreReportsConfigChanges(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	dir, out := backupNode(t)
	files := readArchive(t, out)
	editConfig(t, files, map[string]any{
		"listen":     "0.0.0.0:80",
		"public_url": "http://evil.example/",
		"title":      "Evil\x1b[2J",
	})
	crafted := filepath.Join(t.TempDir(), "crafted.backup")
	writeTestArchive(t, crafted, files, backupFiles)

	var seen []ConfigChange
	var movedBefore bool
	rep, err := Restore(ctx, crafted, dir, RestoreOptions{Force: true, ConfigChanges: func(cs []ConfigChange) {
		seen = cs
		cfg, err := LoadConfig(dir)
		movedBefore = err != nil || cfg.Listen == "0.0.0.0:80"
	}})
	if err != nil {
		t.Fatal(err)
	}
	if movedBefore {
		t.Error("the changes were shown after the backup's config.json replaced the node's")
	}
	got := map[string]ConfigChange{}
	for _, c := range rep.ConfigChanges {
		got[c.Field] = c
	}
	if len(got) != 3 || got["listen"].Restored != `"0.0.0.0:80"` || got["public_url"].Restored != `"http://evil.example/"` || got["title"].Current != "" || got["title"].Restored != `"Evil\u001b[2J"` {
		t.Errorf("config changes = %+v", rep.ConfigChanges)
	}
	if len(seen) != len(rep.ConfigChanges) {
		t.Errorf("ConfigChanges was called with %+v, the report has %+v", seen, rep.ConfigChanges)
	}
	// The same backup again: nothing differs.
	rep, err = Restore(ctx, crafted, dir, RestoreOptions{Force: true})
	if err != nil || len(rep.ConfigChanges) != 0 {
		t.Errorf("Restore over a node of the same config = %v, changes %+v", err, rep.ConfigChanges)
	}
}

// TestRestoreRollbackChecksConfiguredStore: restore --force checks the
// backup against the newest checkpoint of the replaced node's store as
// its config.json names it. It read DIR/parley.db whatever the config
// said: over a node migrated to PostgreSQL (whose parley.db is the
// migration's old copy), a backup older than the log in PostgreSQL was
// restored without a word, rolling the log back.
func TestRestoreRollbackChecksConfiguredStore(t *testing.T) {
	url := pgtest.SchemaURL(t)
	ctx := context.Background()
	dir, out := backupNode(t)
	if _, err := Migrate(ctx, dir, url, MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddMember(ctx, "carol", nil); err != nil {
		t.Fatal(err)
	}
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	li.release(ctx)
	n.Close()
	_, err = Restore(ctx, out, dir, RestoreOptions{Force: true})
	if !errors.Is(err, ErrRestoreRefused) || !strings.Contains(err.Error(), "roll the log back") || !strings.Contains(err.Error(), "size 3") {
		t.Fatalf("Restore of an older backup over the node on PostgreSQL = %v, want a refused rollback", err)
	}
	if cfg, err := LoadConfig(dir); err != nil || cfg.Store != url {
		t.Errorf("a refused restore changed config.json: %q, %v", cfg.Store, err)
	}
}

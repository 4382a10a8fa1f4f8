package node

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
)

// sqliteNodeWithLog makes a SQLite node in a new directory whose log holds
// one member key entry and, with checkpoint, a signed checkpoint of it.
func sqliteNodeWithLog(t *testing.T, checkpoint bool) string {
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
	if checkpoint {
		_, stop := serveNode(t, n)
		waitCheckpoint(t, n)
		stop()
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOpenRefusesEmptyPostgresBesideSQLiteLog: config.json edited to name
// an empty PostgreSQL database (instead of running parley migrate) while
// parley.db holds the log: the node started the log again from size 0
// under the same key and signed it, a fork of what members saw. It is
// refused, naming migrate, and nothing is signed into the database.
func TestOpenRefusesEmptyPostgresBesideSQLiteLog(t *testing.T) {
	url := pgtest.SchemaURL(t)
	ctx := context.Background()
	dir := sqliteNodeWithLog(t, true)
	if err := setConfigStore(dir, url); err != nil {
		t.Fatal(err)
	}
	// The check reads parley.db and changes nothing there: not its
	// schema (Open would migrate one an older Parley wrote), not its
	// mode (Open tightens it to 0600).
	db := filepath.Join(dir, StoreFile)
	if err := os.Chmod(db, 0o640); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dir, Options{})
	if !errors.Is(err, ErrWrongStore) || !strings.Contains(err.Error(), "parley migrate") {
		t.Fatalf("Open on an empty PostgreSQL beside a SQLite log = %v, want ErrWrongStore naming migrate", err)
	}
	if after, err := os.ReadFile(db); err != nil || !bytes.Equal(before, after) {
		t.Errorf("the refused Open changed %s (%v)", db, err)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("the refused Open changed the mode of %s: %v %v", db, fi.Mode(), err)
	}
	// A node made by init and pointed at PostgreSQL before anything was
	// logged opens: nothing is lost.
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := Init(ctx, fresh, Config{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := setConfigStore(fresh, pgtest.SchemaURL(t)); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, fresh, Options{})
	if err != nil {
		t.Fatalf("Open of a fresh node on PostgreSQL: %v", err)
	}
	n.Close()
	// After parley migrate the node opens on PostgreSQL.
	if err := setConfigStore(dir, "sqlite"); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, dir, url, MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	n, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("Open after migrate: %v", err)
	}
	n.Close()
}

// TestOpenRefusesAnotherNodesStore: a store whose checkpoints are signed
// by another node's key (config.json naming another node's database, or
// another node's parley.db copied in) is refused: the node would go on
// signing that log under its own key and origin.
func TestOpenRefusesAnotherNodesStore(t *testing.T) {
	ctx := context.Background()
	a := sqliteNodeWithLog(t, true)
	b := sqliteNodeWithLog(t, false)
	db, err := os.ReadFile(filepath.Join(a, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, StoreFile), db, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(b, StoreFile+"-wal"))
	os.Remove(filepath.Join(b, StoreFile+"-shm"))
	if _, err := Open(ctx, b, Options{}); !errors.Is(err, ErrWrongStore) {
		t.Fatalf("Open of another node's store = %v, want ErrWrongStore", err)
	}
	n, err := Open(ctx, a, Options{})
	if err != nil {
		t.Fatalf("Open of the node's own store: %v", err)
	}
	n.Close()
}

// TestMigrateRefusesV1Log: a log in entry format v1, which this version
// refuses to serve, is refused by migrate before it copies anything or
// rewrites config.json (it copied it, named PostgreSQL in config.json,
// and the node then refused to start).
func TestMigrateRefusesV1Log(t *testing.T) {
	url := pgtest.SchemaURL(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := Init(ctx, dir, Config{}, nil); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	v1 := `{"collection":"91a7b528-80eb-42ed-a74d-c6fbd5a26116","commitment":"` + strings.Repeat("ab", 32) +
		`","member":"identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5","object_id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","received":"2026-01-01T00:00:00Z","version":"2026-01-01T00:00:00.000Z"}`
	if _, err := db.Exec(`INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received) VALUES (0, ?, x'', '91a7b528-80eb-42ed-a74d-c6fbd5a26116', 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', '2026-01-01T00:00:00.000000000Z', 'identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5', '2026-01-01T00:00:00.000000000Z')`, v1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	_, err = Migrate(ctx, dir, url, MigrateOptions{})
	if !errors.Is(err, ErrMigrate) || !errors.Is(err, ErrOldLogFormat) {
		t.Fatalf("migrate of a v1 log = %v, want ErrMigrate and ErrOldLogFormat", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, ConfigFile)); string(after) != string(before) {
		t.Fatal("config.json changed")
	}
	// Nothing was copied: the target still takes a migration.
	fresh := sqliteNodeWithLog(t, false)
	if _, err := Migrate(ctx, fresh, url, MigrateOptions{}); err != nil {
		t.Fatalf("migrate into the untouched target: %v", err)
	}
}

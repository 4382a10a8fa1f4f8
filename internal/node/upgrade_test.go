package node

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenLogsSchemaUpgrade: the first start after an upgrade logs each
// schema migration it applied (here 720, taken out of a store as a
// version before it left it), and the next start logs none.
func TestOpenLogsSchemaUpgrade(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := Init(ctx, dir, Config{}, nil); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TABLE leases; DELETE FROM schema_migrations WHERE version = 720`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for run, want := range []bool{true, false} {
		var buf bytes.Buffer
		n, err := Open(ctx, dir, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		if err != nil {
			t.Fatal(err)
		}
		n.Close()
		got := strings.Contains(buf.String(), `msg="store upgraded: applied schema migration" version=720 name=leases`)
		if got != want || (!want && strings.Contains(buf.String(), "schema migration")) {
			t.Fatalf("start %d logged %q; want the migration: %v", run+1, buf.String(), want)
		}
	}
}

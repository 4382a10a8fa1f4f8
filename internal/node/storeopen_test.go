package node

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

// TestConfigStore opens a node whose config.json names each kind of
// store: sqlite (named or by default) opens, a PostgreSQL URL of a server
// that isn't there fails, anything else is refused by LoadConfig; no error
// repeats the value, which may hold a password.
func TestConfigStore(t *testing.T) {
	const secret = "s3cret-pw"
	for _, tc := range []struct {
		name    string
		store   string
		fails   bool // Open fails
		refused bool // LoadConfig refuses it
	}{
		{name: "default", store: ""},
		{name: "sqlite", store: "sqlite"},
		{name: "postgres", store: "postgres://parley:" + secret + "@127.0.0.1:1/parley?sslmode=disable&connect_timeout=2", fails: true},
		{name: "postgresql", store: "postgresql://parley:" + secret + "@127.0.0.1:1/parley?connect_timeout=2", fails: true},
		{name: "mysql", store: "mysql://parley:" + secret + "@db.example/parley", refused: true},
		{name: "case", store: "SQLite", refused: true},
		{name: "path", store: "/var/lib/parley/" + secret + ".db", refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			if _, err := Init(ctx, dir, Config{}, nil); err != nil {
				t.Fatal(err)
			}
			cfgPath := filepath.Join(dir, ConfigFile)
			b, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			m["store"] = tc.store
			b, _ = json.Marshal(m)
			if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, lerr := LoadConfig(dir)
			if tc.refused != (lerr != nil) {
				t.Fatalf("LoadConfig: %v, want refused %v", lerr, tc.refused)
			}
			n, err := Open(ctx, dir, Options{})
			if err == nil {
				defer n.Close()
			}
			switch {
			case tc.refused && err == nil:
				t.Fatal("Open accepted it")
			case !tc.refused && tc.fails != (err != nil):
				t.Fatalf("Open: %v, want failure %v", err, tc.fails)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the store's URL: %v", err)
			}
			if err == nil {
				if _, err := n.Store().LogSize(ctx); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestInitPostgresUnreachable: Init of a node on a store that can't be
// opened fails and leaves no node behind.
func TestInitPostgresUnreachable(t *testing.T) {
	dir := t.TempDir()
	_, err := Init(context.Background(), dir, Config{Store: "postgres://postgres@127.0.0.1:1/test?connect_timeout=2"}, nil)
	if err == nil {
		t.Fatal("Init succeeded on a server that isn't there")
	}
	if _, err := LoadConfig(dir); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("after a failed Init: %v", err)
	}
}

// TestNodeOnPostgres runs a node whose config.json names a PostgreSQL
// database: objects pushed are stored, logged and proven, and the node
// opened again (another process, as far as the database knows) finds them.
// The whole node suite runs on PostgreSQL too with
// PARLEY_TEST_NODE_STORE=postgres (.ci/run does).
func TestNodeOnPostgres(t *testing.T) {
	t.Setenv("PARLEY_TEST_NODE_STORE", "postgres")
	tn := newTestNode(t)
	ctx := context.Background()
	if !strings.HasPrefix(tn.Config().Store, "postgres://") {
		t.Fatalf("the node's store is %q", tn.Config().Store)
	}
	obj := indicator(t, tn.alice.ID, tn.alice.Key, t0)
	post(t, tn.alice.Client, tn.shared, obj)
	alice := &tlog.Client{URL: tn.URL, Token: tn.alice.Token}
	rc, err := alice.Receipt(ctx, idOf(t, obj), stix.FormatTimestamp(t0))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rc.Verify(tn.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	size, err := tn.Store().LogSize(ctx)
	if err != nil || size == 0 {
		t.Fatalf("log size %d, %v", size, err)
	}
}

package node

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigStore opens a node whose config.json names each kind of
// store: sqlite (named or by default) opens, a PostgreSQL URL fails with
// ErrStoreNotBuiltIn in this build, anything else is refused by
// LoadConfig; no error repeats the value, which may hold a password.
func TestConfigStore(t *testing.T) {
	const secret = "s3cret-pw"
	for _, tc := range []struct {
		name    string
		store   string
		wantErr error // nil: opens
		refused bool  // LoadConfig refuses it
	}{
		{name: "default", store: ""},
		{name: "sqlite", store: "sqlite"},
		{name: "postgres", store: "postgres://parley:" + secret + "@db.example:5432/parley?sslmode=verify-full", wantErr: ErrStoreNotBuiltIn},
		{name: "postgresql", store: "postgresql://parley:" + secret + "@db.example/parley", wantErr: ErrStoreNotBuiltIn},
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
			case !tc.refused && !errors.Is(err, tc.wantErr) && (tc.wantErr != nil || err != nil):
				t.Fatalf("Open: %v, want %v", err, tc.wantErr)
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

// TestInitPostgresNotBuiltIn: Init of a node on a store this build can't
// open fails and leaves no node behind.
func TestInitPostgresNotBuiltIn(t *testing.T) {
	dir := t.TempDir()
	_, err := Init(context.Background(), dir, Config{Store: "postgres://postgres@127.0.0.1/test"}, nil)
	if !errors.Is(err, ErrStoreNotBuiltIn) {
		t.Fatalf("Init: %v", err)
	}
	if _, err := LoadConfig(dir); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("after a failed Init: %v", err)
	}
}

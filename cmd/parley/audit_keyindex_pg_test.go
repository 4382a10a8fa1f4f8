package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
	"github.com/parley-exchange/parley/tlog"
)

// TestAuditKeyIndexPostgres: parley audit --data of a node whose store is
// PostgreSQL (read-only) checks a saved bundle's key index against its
// replay as it does for SQLite: the true one passes, one that leaves out
// a member's registration fails with evidence that verify accepts.
func TestAuditKeyIndexPostgres(t *testing.T) {
	pgURL := postgresSchema(t, "the key index audit of a PostgreSQL store")
	work := t.TempDir()
	data := filepath.Join(work, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "keygen", "--out", filepath.Join(work, "alice.key")); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	code, out, stderr := runCLI(t, "member", "add", "--data", data, "--name", "alice", "--pubkey", filepath.Join(work, "alice.key.pub"), "--json")
	if code != 0 {
		t.Fatalf("member add: %s", stderr)
	}
	var alice struct{ ID, Token string }
	if err := json.Unmarshal([]byte(out), &alice); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "migrate", "--data", data, "--to", pgURL); code != 0 {
		t.Fatalf("migrate: %s", stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urlFile := filepath.Join(work, "url")
	var serveErr syncBuffer
	done := make(chan int, 1)
	go func() {
		c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &serveErr, getenv: func(string) string { return "" }}
		done <- c.main(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--url-file", urlFile})
	}()
	vkey := nodeLogKey(t, data)
	v, _ := tlog.NewVerifier(vkey)
	var keys tlog.KeysResponse
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if u, err := os.ReadFile(urlFile); err == nil && len(u) > 0 {
			cl := &tlog.Client{URL: strings.TrimSpace(string(u)), Token: alice.Token}
			if r, err := cl.Keys(ctx); err == nil && r.KeyIndex != "" {
				if k, err := tlog.OpenKeyIndex([]byte(r.KeyIndex), v); err == nil && len(k.Members[alice.ID]) > 0 {
					keys = r
					break
				}
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, serveErr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no key index listing alice a minute after serve started: %s", serveErr.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit %d: %s", code, serveErr.String())
	}
	k, _ := tlog.OpenKeyIndex([]byte(keys.KeyIndex), v)
	reg := k.Members[alice.ID][0]
	k.Members[alice.ID] = []uint64{}
	forged, err := tlog.SignKeyIndex(k, nodeSigner(t, data))
	if err != nil {
		t.Fatal(err)
	}
	saved := func(name, idx string) string {
		b, _ := json.Marshal(tlog.Bundle{Type: tlog.BundleType, LogKey: vkey, Checkpoint: keys.Checkpoint, Keys: keys.Events, KeyIndex: idx, Items: []tlog.BundleItem{}})
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := pgtest.Content(t, pgURL)
	if code, out, stderr := runCLI(t, "audit", "--data", data, "--log-key", vkey, "--seen", filepath.Join(work, "seen-true"), "--bundle", saved("true.json", keys.KeyIndex)); code != 0 || !strings.Contains(out, "1 key index(es) checked") {
		t.Fatalf("audit of the true index: exit %d:\n%s%s", code, out, stderr)
	}
	code, _, stderr = runCLI(t, "audit", "--data", data, "--log-key", vkey, "--seen", filepath.Join(work, "seen-false"), "--bundle", saved("false.json", forged))
	m := evidencePath.FindStringSubmatch(stderr)
	if code != 1 || m == nil {
		t.Fatalf("audit of the false index: exit %d, want 1 with evidence:\n%s", code, stderr)
	}
	if code, out, stderr := runCLI(t, "verify", "--log-key", vkey, m[1]); code != 0 || !strings.Contains(out, "a register entry of member "+alice.ID) || !strings.Contains(out, fmt.Sprintf("leaves out entry %d,", reg)) {
		t.Errorf("verify of the evidence: exit %d:\n%s%s", code, out, stderr)
	}
	if after := pgtest.Content(t, pgURL); after != before {
		t.Errorf("the audits changed the store")
	}

	// The look-up GET /log/keys finds key entries with, damaged: alice's
	// registration filed under no member. The node would serve an index
	// without it; the audit of the store names it.
	conn, err := pgx.Connect(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE log_entries SET member = 'identity--nobody' WHERE idx = $1`, int64(reg)); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, "audit", "--data", data, "--log-key", vkey, "--seen", filepath.Join(work, "seen-lookup"))
	if want := fmt.Sprintf("the log's member key look-up (member %s, as GET /log/keys finds them) disagrees with the entries: it leaves out entry %d", alice.ID, reg); code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("audit of a store whose key look-up is damaged: exit %d, want 1 with %q:\n%s%s", code, want, out, stderr)
	}
}

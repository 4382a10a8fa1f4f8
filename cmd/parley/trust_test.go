package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/demo"
	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/stix"
)

// TestClientsCheckTheLog: the operator edits objects in the store, swaps a
// member's registered key and signs objects in the member's name with it;
// every client refuses what doesn't verify against the log, names it, and
// an operator-asserted rotation is shown as such and caught by the
// member's own audit.
func TestClientsCheckTheLog(t *testing.T) {
	base, st, dir := demoNode(t)
	aur := st.Members[0]
	shared := st.Collections.Shared
	pull := func() (int, string, string) {
		return runCLI(t, "pull", "--url", base, "--token", aur.Token, "--collection", shared)
	}
	if code, _, stderr := pull(); code != 0 {
		t.Fatalf("pull of the honest node: exit %d: %s", code, stderr)
	}
	// The node runs beside these edits and writes too (its integrator,
	// witnessing): wait for its locks rather than fail with SQLITE_BUSY.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, node.StoreFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}

	// 1. An indicator edited in the store.
	var id string
	if err := db.QueryRow(`SELECT object_id FROM objects WHERE type = 'indicator' AND collection = ? ORDER BY seq LIMIT 1`, shared).Scan(&id); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE objects SET raw = replace(raw, '"name":"', '"name":"edited ') WHERE object_id = ?`, id)
	code, out, stderr := pull()
	if code != 1 || !strings.Contains(stderr, "refused "+id) || strings.Contains(out, `"id": "`+id+`"`) {
		t.Errorf("pull of an edited indicator: exit %d, stderr %q; it must exit 1, name it and not print it", code, stderr)
	}
	ind := filepath.Join(t.TempDir(), "empty.log")
	os.WriteFile(ind, nil, 0o644)
	code, _, stderr = runCLI(t, "match", "--url", base, "--token", aur.Token, "--collection", shared, "--format", "zeek", ind)
	if !strings.Contains(stderr, "not loading "+id) {
		t.Errorf("match --url with an edited indicator: exit %d, stderr %q; it must not load it", code, stderr)
	}
	exec(`UPDATE objects SET raw = replace(raw, '"name":"edited ', '"name":"') WHERE object_id = ?`, id)

	// 2. An opinion edited in the store: concurrence and opinion refuse
	// the node's evidence.
	exec(`UPDATE objects SET raw = replace(raw, '"opinion":"', '"opinion":"x') WHERE type = 'opinion'`)
	if code, _, stderr := runCLI(t, "concurrence", "--url", base, "--token", aur.Token, demo.Report); code != 1 || !strings.Contains(stderr, "evidence") {
		t.Errorf("concurrence over an edited opinion: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "opinion", "--url", base, "--token", aur.Token, "--key", aur.KeyFile, demo.Report, "agree"); code != 1 || !strings.Contains(stderr, "evidence") {
		t.Errorf("opinion over an edited opinion: exit %d: %s", code, stderr)
	}
	exec(`UPDATE objects SET raw = replace(raw, '"opinion":"x', '"opinion":"') WHERE type = 'opinion'`)

	// 3. The operator swaps Aurelia's key in the store and posts a signed
	// object in her name: the node takes it, clients don't.
	opPub, opKey, _ := ed25519.GenerateKey(rand.Reader)
	exec(`UPDATE members SET public_key = ? WHERE id = ?`, []byte(opPub), aur.ID)
	forged := forgedIndicator(t, aur.ID, opKey, "indicator--0f0f0f0f-0000-4000-8000-00000000f00d")
	if code, out, stderr := runCLIWithStdin(t, forged, "push", "--url", base, "--token", aur.Token, "--key", writeKey(t, opKey), "--collection", shared, "-"); code != 0 {
		t.Fatalf("the node refused the operator's forgery after a swap in the store: %s %s", out, stderr)
	}
	code, out, stderr = pull()
	if code != 1 || !strings.Contains(stderr, "refused indicator--0f0f0f0f-0000-4000-8000-00000000f00d") || !strings.Contains(stderr, "key in force") {
		t.Errorf("pull after a key swapped in the store: exit %d, stderr %q", code, stderr)
	}

	// 4. The operator logs the rotation on its own word: signatures then
	// verify, but clients say the key is operator-asserted, and
	// Aurelia's audit with her own key names it.
	opPubFile := filepath.Join(t.TempDir(), "op.pub")
	os.WriteFile(opPubFile, []byte(base64.StdEncoding.EncodeToString(opPub)+"\n"), 0o644)
	exec(`UPDATE members SET public_key = (SELECT public_key FROM members WHERE id = ?) WHERE id = ?`, aur.ID, aur.ID)
	if code, out, stderr := runCLI(t, "member", "key", "rotate", "--data", dir, "--member", "cert-aurelia", "--pubkey", opPubFile); code != 0 || !strings.Contains(out, "operator") {
		t.Fatalf("member key rotate: exit %d: %s %s", code, out, stderr)
	}
	forged2 := forgedIndicator(t, aur.ID, opKey, "indicator--0f0f0f0f-0000-4000-8000-00000000beef")
	if code, out, stderr := runCLIWithStdin(t, forged2, "push", "--url", base, "--token", aur.Token, "--key", writeKey(t, opKey), "--collection", shared, "-"); code != 0 {
		t.Fatalf("push after the rotation: %s %s", out, stderr)
	}
	code, _, stderr = pull()
	if !regexp.MustCompile(`indicator--0f0f0f0f-0000-4000-8000-00000000beef: signed with a key the operator rotated in`).MatchString(stderr) {
		t.Errorf("pull doesn't flag the operator-asserted key: exit %d: %s", code, stderr)
	}
	aurPub := aur.KeyFile + ".pub"
	code, _, stderr = runCLI(t, "audit", "--url", base, "--token", aur.Token, "--me", aurPub)
	if code != 1 || !strings.Contains(stderr, base64.StdEncoding.EncodeToString(opPub)) || !strings.Contains(stderr, "operator-asserted") {
		t.Errorf("aurelia's audit --me: exit %d: %s", code, stderr)
	}
	// Borovia, whose key nobody touched, finds no key of hers she doesn't
	// hold (her audit still fails on the object forged before the
	// rotation).
	bor := st.Members[1]
	if _, _, stderr := runCLI(t, "audit", "--url", base, "--token", bor.Token, "--me", bor.KeyFile+".pub"); strings.Contains(stderr, "which you don't hold") {
		t.Errorf("borovia's audit --me names a key: %s", stderr)
	}
}

func forgedIndicator(t *testing.T, creator string, key ed25519.PrivateKey, id string) []byte {
	t.Helper()
	b, _ := json.Marshal(map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": id, "created": "2026-05-01T00:00:00.000Z", "modified": "2026-05-01T00:00:00.000Z",
		"created_by_ref": creator, "name": "planted by the operator", "pattern": "[domain-name:value = 'innocent.example']",
		"pattern_type": "stix", "valid_from": "2026-05-01T00:00:00Z",
	})
	signed, err := stix.Sign(b, key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func writeKey(t *testing.T, key ed25519.PrivateKey) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "k.key")
	if err := writeKeyPair(p, key.Public().(ed25519.PublicKey), key); err != nil {
		t.Fatal(err)
	}
	return p
}

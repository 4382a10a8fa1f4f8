package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
)

// TestPrivateReceiptOperatorAssertedSigner: the operator rotates the
// provider's key to one of its own without the provider's statement
// (operator-asserted), and withdraws the provider's set signed with it,
// on a node that requires signed withdrawals. parley private receipt
// said "withdrawn by the provider"; it now names the key as one the
// operator rotated in alone, which the operator could have signed with.
func TestPrivateReceiptOperatorAssertedSigner(t *testing.T) {
	dir, st := demoData(t)
	if err := editConfig(dir, func(cfg map[string]any) {
		cfg["private"] = map[string]any{"require_signed_withdrawals": true}
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nodeURL := serveOpened(t, ctx, cancel, n)
	a, b := st.Members[0], st.Members[1]
	values := filepath.Join(t.TempDir(), "values.txt")
	if err := os.WriteFile(values, []byte("domain-name:ballot-phish.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "private", "publish", "--url", nodeURL, "--token", a.Token, "--collection", st.Collections.Shared, "--values", values)
	if code != 0 {
		t.Fatalf("publish: exit %d: %s", code, stderr)
	}
	set := strings.TrimSpace(stdout)
	opKey := filepath.Join(t.TempDir(), "operator.key")
	if code, _, stderr := runCLI(t, "keygen", "--out", opKey); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	pub, err := readPublicKey(opKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.RotateKey(ctx, a.ID, pub, nil); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "private", "withdraw", "--url", nodeURL, "--token", a.Token, "--set", set, "--key", opKey, "--seen", filepath.Join(t.TempDir(), "seen.json")); code != 0 {
		t.Fatalf("the operator's withdrawal: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runCLI(t, "private", "receipt", "--url", nodeURL, "--token", b.Token, "--set", set, "--seen", filepath.Join(t.TempDir(), "seen.json"), "--receipts", t.TempDir())
	if code != 0 {
		t.Fatalf("receipt: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "withdrawn by\tthe provider (") || !strings.Contains(stdout, "operator-asserted") {
		t.Errorf("a withdrawal signed by a key the operator rotated in alone:\n%s\nwant it named operator-asserted, not the provider's", stdout)
	}
}

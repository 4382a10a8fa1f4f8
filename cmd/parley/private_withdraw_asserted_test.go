package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrivateReceiptOperatorAssertedSigner: the operator rotates the
// provider's key to one of its own without the provider's statement
// (operator-asserted), and withdraws the provider's set signed with it,
// on a node that requires signed withdrawals. parley private receipt
// said "withdrawn by the provider"; it now names the key as one the
// operator rotated in alone, which the operator could have signed with.
func TestPrivateReceiptOperatorAssertedSigner(t *testing.T) {
	n, nodeURL, st, set := signedWithdrawalsNode(t)
	ctx := context.Background()
	a, b := st.Members[0], st.Members[1]
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
	code, stdout, stderr := runCLI(t, "private", "receipt", "--url", nodeURL, "--token", b.Token, "--set", set, "--seen", filepath.Join(t.TempDir(), "seen.json"), "--receipts", t.TempDir())
	if code != 0 {
		t.Fatalf("receipt: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "withdrawn by\tthe provider (") || !strings.Contains(stdout, "operator-asserted") {
		t.Errorf("a withdrawal signed by a key the operator rotated in alone:\n%s\nwant it named operator-asserted, not the provider's", stdout)
	}
}

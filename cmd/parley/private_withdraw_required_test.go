package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
)

// TestPrivateWithdrawRequiredSigned: on a node whose config.json has
// "private": {"require_signed_withdrawals": true}, parley private
// withdraw without --key is refused (exit 4, the node's word on how to
// sign it) and the set stays; with --key it is withdrawn, signed.
func TestPrivateWithdrawRequiredSigned(t *testing.T) {
	_, nodeURL, st, set := signedWithdrawalsNode(t)
	a := st.Members[0]
	if code, _, stderr := runCLI(t, "private", "withdraw", "--url", nodeURL, "--token", a.Token, "--set", set); code != 4 || !strings.Contains(stderr, "require_signed_withdrawals") {
		t.Errorf("an unsigned withdrawal: exit %d: %s; want 4 saying the node requires signed withdrawals", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, "private", "sets", "--url", nodeURL, "--token", a.Token); code != 0 || !strings.Contains(stdout, set) {
		t.Fatalf("after the refused withdrawal, sets: exit %d: %q %s; want the set still listed", code, stdout, stderr)
	}
	code, _, stderr := runCLI(t, "private", "withdraw", "--url", nodeURL, "--token", a.Token, "--set", set, "--key", a.KeyFile, "--seen", filepath.Join(t.TempDir(), "seen.json"))
	if code != 0 || !strings.Contains(stderr, "the node logged your signed withdrawal") {
		t.Errorf("a signed withdrawal: exit %d: %s", code, stderr)
	}
}

// signedWithdrawalsNode serves the demo's data on a node whose
// config.json requires signed withdrawals ("private":
// {"require_signed_withdrawals": true}), with a private set published by
// the demo's first member in the shared collection: the node (for what
// only its operator can do), its URL, the demo's state and the set's id.
func signedWithdrawalsNode(t *testing.T) (*node.Node, string, demoState, string) {
	t.Helper()
	dir, st := demoData(t)
	if err := editConfig(dir, func(cfg map[string]any) {
		cfg["private"] = map[string]any{"require_signed_withdrawals": true}
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	nodeURL := serveOpened(t, ctx, cancel, n)
	return n, nodeURL, st, publishPrivateSet(t, nodeURL, st.Members[0].Token, st.Collections.Shared, "domain-name:ballot-phish.example\n")
}

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
)

// TestAuditPrintsOriginInert: a node's operator names the log (its
// origin, the log key's name, in every checkpoint); a name with a
// right-to-left override or a C1 control verifies like any other, and
// audit's lines (the key pinned, "verified") must not let it reorder or
// drive the auditor's terminal.
func TestAuditPrintsOriginInert(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "node")
	const origin = "parley.example/\u202edeifirev-ton\u009b2J"
	if _, err := node.Init(ctx, dir, node.Config{Origin: origin}, nil); err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := n.AddMember(ctx, "m", pub); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { n.Serve(sctx, ln, nil); close(done) }()
	err = n.WaitIntegrated(ctx)
	cancel()
	<-done
	n.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "audit", "--data", dir, "--seen", filepath.Join(t.TempDir(), "seen.json"))
	if code != 0 {
		t.Fatalf("audit: exit %d: %s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "verified") || strings.ContainsAny(stdout+stderr, "\u202e\u009b") {
		t.Errorf("audit printed the origin raw:\n%q\n%q", stdout, stderr)
	}
	// A backup names the log too (and restore, a backup's: anyone's).
	code, stdout, stderr = runCLI(t, "backup", "--data", dir, "--out", filepath.Join(t.TempDir(), "b.tar.gz"))
	if code != 0 {
		t.Fatalf("backup: exit %d: %s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "backed up") || strings.ContainsAny(stdout+stderr, "\u202e\u009b") {
		t.Errorf("backup printed the origin raw:\n%q\n%q", stdout, stderr)
	}
}

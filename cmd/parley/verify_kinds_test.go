package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyRefusesFileOfTwoKinds: a file that reads as a concurrence
// answer and as a kept private set receipt (both sets of top-level
// names) is refused, naming both: it was verified as a concurrence
// answer, the receipt's fields passed over as unknown, so that parley
// verify said "verified" of a file its reader took for a receipt.
func TestVerifyRefusesFileOfTwoKinds(t *testing.T) {
	dir := t.TempDir()
	concurrence := `"object":"report--8e2e2d2b-17d4-4cbe-8b46-6a0b0d0d0a01","counts":{},"opinions":[],"voices":0,"members_with_access":0,"object_revoked":false,"writable_collections":[],"evidence":{"type":"parley-proof-bundle-v2","items":[]}`
	one := filepath.Join(dir, "concurrence.json")
	if err := os.WriteFile(one, []byte(`{`+concurrence+`}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "verify", one); code != 0 {
		t.Fatalf("the concurrence answer alone: exit %d, %s", code, stderr)
	}
	both := filepath.Join(dir, "both.json")
	if err := os.WriteFile(both, []byte(`{`+concurrence+`,"set":"private-set--1","receipt":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "verify", both)
	if code != 1 || !strings.Contains(stderr, "reads as a concurrence answer and as a kept private set receipt") || strings.Contains(stdout, "verified") {
		t.Errorf("a file of a concurrence answer and a receipt's names: exit %d, stdout %q, stderr %q; want exit 1 naming both", code, stdout, stderr)
	}
}

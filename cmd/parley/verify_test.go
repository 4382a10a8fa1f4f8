package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyUnknownType: a document whose type this version doesn't know
// (evidence of a later format, here the split-view vector with its type
// changed to v2) is refused (exit 1) with one line naming its type and
// the ones verify reads; it was read as a proof bundle, and the error
// said the bundle was changed. A document of a proof bundle type, the
// refused v1 among them, is still read as a bundle.
func TestVerifyUnknownType(t *testing.T) {
	vector, err := os.ReadFile(filepath.Join("..", "..", "tlog", "testdata", "evidence", "same-size-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		from, to, want string
		code           int
	}{
		{"", "", "evidence verified", 0},
		{"parley-split-view-evidence-v1", "parley-split-view-evidence-v2", `the file is of type "parley-split-view-evidence-v2", which this parley doesn't know: it verifies parley-proof-bundle-v2, parley-split-view-evidence-v1 and parley-false-key-index-evidence-v1`, 1},
		{"parley-split-view-evidence-v1", `parley-\u202eevil\u001b[2J`, `the file is of type "parley-?evil?[2J", which this parley doesn't know`, 1},
		{"parley-split-view-evidence-v1", "parley-proof-bundle-v1", `proof bundle doesn't verify: type is "parley-proof-bundle-v1"`, 1},
	} {
		doc := bytes.Replace(vector, []byte(c.from), []byte(c.to), 1)
		p := filepath.Join(dir, "doc.json")
		if err := os.WriteFile(p, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCLI(t, "verify", p)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("verify of type %q: exit %d, want %d and %q:\n%s%s", c.to, code, c.code, c.want, out, errOut)
		}
		if c.code != 0 && strings.Count(strings.TrimSpace(strings.ReplaceAll(errOut, "parley: hint:", "")), "\n") > 1 {
			t.Errorf("verify of type %q: want one error line and a hint:\n%s", c.to, errOut)
		}
	}
}

// TestVerifyOlderVersionBundle: a proof bundle that the version of 2
// December 2026 issued (internal/node/testdata/node-20261202, before the
// key index) still verifies against its log key, with the warning that
// it has no key index, and --require-key-index refuses it.
func TestVerifyOlderVersionBundle(t *testing.T) {
	src := filepath.Join("..", "..", "internal", "node", "testdata", "node-20261202")
	key, proof := nodeLogKey(t, src), filepath.Join(src, "proof.json")
	code, out, errOut := runCLI(t, "verify", "--log-key", key, proof)
	if code != 0 || !strings.Contains(out, "bundle verified: 1 object version(s) in log parley.vm/246ebade at tree size 28") || !strings.Contains(errOut, "the bundle has no key index") {
		t.Errorf("verify of the 2 December bundle: exit %d, want 0 and the warning:\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "verify", "--log-key", key, "--require-key-index", proof); code != 1 || !strings.Contains(errOut, "no key index") {
		t.Errorf("verify --require-key-index of the 2 December bundle: exit %d, want 1:\n%s", code, errOut)
	}
}

// TestVerifyDirectory: a directory given as the file is bad usage (exit
// 2) naming the read error; it read as an empty file, and verify said
// the bundle was changed (untrusted.ReadFile dropped the read error).
func TestVerifyDirectory(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "verify", dir)
	if code != 2 || !strings.Contains(errOut, "couldn't read the bundle") || strings.Contains(errOut, "doesn't verify") {
		t.Errorf("verify of a directory: exit %d, want 2 and its read error:\n%s%s", code, out, errOut)
	}
}

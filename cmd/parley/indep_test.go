package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIndependentVerifier runs the verifier written from the docs alone
// (contrib/indep-verify, Python's standard library) against the docs'
// vectors and against a demo node, black-box: its log, objects, keys,
// receipts and TAXII API. A change to a format or an endpoint that the
// docs don't follow fails here.
func TestIndependentVerifier(t *testing.T) {
	if testing.Short() {
		t.Skip("the independent verifier is not short")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("\n\n*** SKIPPING THE INDEPENDENT VERIFIER: no python3 on this machine ***\n")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "contrib", "indep-verify"))
	if err != nil {
		t.Fatal(err)
	}
	url, st, data := demoNode(t)
	vkey := nodeLogKey(t, data)
	token := st.Members[0].Token
	// A proof bundle of the node's, with its key index, and the same
	// bundle with a key entry left out, which must fail.
	code, bundle, stderr := runCLI(t, "proof", "--url", url, "--token", token, "report--7a1e0c52-4b3d-4e0f-9a21-00000000000a")
	if code != 0 {
		t.Fatalf("proof: exit %d: %s", code, stderr)
	}
	bundleFile := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(bundleFile, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal([]byte(bundle), &b); err != nil {
		t.Fatal(err)
	}
	keys := b["keys"].([]any)
	b["keys"] = keys[:len(keys)-1]
	leftOut, _ := json.Marshal(b)
	leftOutFile := filepath.Join(t.TempDir(), "left-out.json")
	if err := os.WriteFile(leftOutFile, leftOut, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	out, err := exec.CommandContext(ctx, py, filepath.Join(dir, "offline.py"), "bundle", leftOutFile, vkey).CombinedOutput()
	cancel()
	if err == nil || !strings.Contains(string(out), "left out") {
		t.Errorf("offline.py on a bundle with a key entry left out: %v, want it refused:\n%s", err, out)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 3*time.Minute)
	out, err = exec.CommandContext(ctx, py, filepath.Join(dir, "offline.py"), "bundle", bundleFile, vkey).CombinedOutput()
	cancel()
	if err != nil || !strings.Contains(string(out), "bundle verified") {
		t.Errorf("offline.py on the node's bundle: %v:\n%s", err, out)
	}
	for _, args := range [][]string{
		{"vectors.py"},
		{"live.py", url, token, vkey},
		{"taxii.py", url, token, vkey},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, py, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: %v\n%s", args[0], err, out)
			continue
		}
		text := "\n" + string(out)
		if n := strings.Count(text, "\nok "); n == 0 || strings.Contains(text, "\nFAIL ") {
			t.Errorf("%s: %d checks passed, or one failed:\n%s", args[0], n, out)
		}
	}
}

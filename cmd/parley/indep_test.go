package main

import (
	"context"
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
	pub, err := os.ReadFile(filepath.Join(data, "node.pub"))
	if err != nil {
		t.Fatal(err)
	}
	vkey := strings.TrimSpace(string(pub))
	token := st.Members[0].Token
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

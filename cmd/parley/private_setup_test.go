package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// publishPrivateSet sets up a private set for the private* tests: it
// writes values (lines "type:value\n") to a file of its own and runs
// parley private publish with them against the node at nodeURL, as the
// member whose token is token, into collection. It fails the test unless
// publish exits 0, and returns the new set's id.
func publishPrivateSet(t *testing.T, nodeURL, token, collection, values string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "values.txt")
	if err := os.WriteFile(file, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "private", "publish", "--url", nodeURL, "--token", token, "--collection", collection, "--values", file)
	if code != 0 {
		t.Fatalf("publish: exit %d: %s", code, stderr)
	}
	return strings.TrimSpace(stdout)
}

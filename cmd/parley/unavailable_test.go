package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnavailableHint: a node that answers 503 (its store down or busy)
// gets a hint that says so, from every kind of client (TAXII, the log),
// instead of the command's "check --url and --token", whose flags are right.
func TestUnavailableHint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"title":"the store is unavailable; try again later"}`))
	}))
	defer srv.Close()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("parley_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"pull", "--url", srv.URL, "--token-file", token, "--collection", "intel"},
		{"audit", "--url", srv.URL, "--token-file", token, "--log-key", "example.com/log+01234567+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="},
	} {
		code, _, stderr := runCLI(t, args...)
		if code == 0 || !strings.Contains(stderr, "parley: hint: the node is up but can't serve now") || strings.Contains(stderr, "check --url") {
			t.Errorf("parley %s: exit %d\n%s", args[0], code, stderr)
		}
	}
}

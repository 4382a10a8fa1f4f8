package main

import (
	"errors"
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

// TestPullRefusedSays: pull's summary of refused objects tells those that
// are only not yet in a signed checkpoint (acknowledged; a node whose
// integrator is behind, or failing on a full disk) from those that don't
// verify, which it used to say of all of them.
func TestPullRefusedSays(t *testing.T) {
	for _, tc := range []struct {
		refused, notCovered int
		want, not           string
	}{
		{3, 3, "3 object(s) refused: not yet in a signed checkpoint", "don't verify"},
		{3, 1, "3 object(s) refused: 2 don't verify against the log, 1 are not yet in a signed checkpoint", ""},
		{2, 0, "2 object(s) refused: they don't verify against the log", "checkpoint"},
	} {
		err := refusedError(tc.refused, tc.notCovered)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), tc.want) || tc.not != "" && strings.Contains(err.Error(), tc.not) {
			t.Errorf("refusedError(%d, %d) = %v", tc.refused, tc.notCovered, err)
		}
	}
}

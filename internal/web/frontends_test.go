package web_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
)

// TestUISessionsNeedAffinity shows the limitation that README ("The web
// UI") and docs/scaling.md ("Several front ends") document: web UI
// sessions live in the memory of the front end that opened them, so
// behind a load balancer the UI needs cookie-based affinity. Two front
// ends of one node on one PostgreSQL database (as `parley serve` runs
// them, from copies of one data directory), one browser (one cookie jar,
// one origin: the jar sends each front end the same cookie, as it would
// through a load balancer):
//   - a session opened on A works on A, and on B it is no session: a page
//     sends the browser to the login form ("&ended=1"), /ui/api/ is 401;
//   - logging in on B replaces the browser's cookie, and A then no longer
//     knows the browser either: without affinity an analyst ping-pongs
//     between logins;
//   - the API token works on both (only the UI keeps state per process).
//
// When UI sessions move into the store, this test must change with the
// documentation.
func TestUISessionsNeedAffinity(t *testing.T) {
	ctx := context.Background()
	url := pgtest.SchemaURL(t)
	dirA := t.TempDir()
	if _, err := node.Init(ctx, dirA, node.Config{Store: url}, nil); err != nil {
		t.Fatal(err)
	}
	dirB := t.TempDir()
	for _, name := range []string{"node.key", "node.pub", "config.json"} {
		b, err := os.ReadFile(filepath.Join(dirA, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirB, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	nA, err := node.Open(ctx, dirA, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureOn(t, nA)
	nB, err := node.Open(ctx, dirB, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := serveNode(t, nA), serveNode(t, nB)

	// The same client on both: cookies are per host, not per port.
	ca := newClient(t, a)
	cb := &client{ca.Client, b}
	ca.login(t, f.aurelia.Token)
	resp, _ := ca.get(t, "/ui/")
	mustStatus(t, resp, http.StatusOK, "A, after logging in on A")

	resp, _ = cb.get(t, "/ui/")
	mustStatus(t, resp, http.StatusSeeOther, "B, with A's session cookie")
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/ui/login?") || !strings.Contains(loc, "ended=1") {
		t.Fatalf("B sends A's session to %q, want the login form saying the session ended", loc)
	}
	resp, _ = cb.get(t, "/ui/api/log/checkpoint")
	mustStatus(t, resp, http.StatusUnauthorized, "B's /ui/api/ with A's session cookie")
	resp, _ = ca.get(t, "/ui/")
	mustStatus(t, resp, http.StatusOK, "A again (the session is A's, untouched by B)")

	// Logging in on B replaces the browser's one session cookie: now A
	// doesn't know the browser.
	cb.login(t, f.aurelia.Token)
	resp, _ = cb.get(t, "/ui/")
	mustStatus(t, resp, http.StatusOK, "B, after logging in on B")
	resp, _ = ca.get(t, "/ui/")
	mustStatus(t, resp, http.StatusSeeOther, "A, after logging in on B")

	// The API itself is stateless: the token works on either front end.
	for _, base := range []string{a, b} {
		req, _ := http.NewRequest(http.MethodGet, base+"/log/checkpoint", nil)
		req.Header.Set("Authorization", "Bearer "+f.aurelia.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			t.Fatalf("%s/log/checkpoint with the token: %s", base, resp.Status)
		}
	}
}

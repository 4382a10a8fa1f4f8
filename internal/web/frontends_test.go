package web_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
)

// twoFrontEnds opens two front ends of one node on one PostgreSQL
// database (as `parley serve` runs them, from copies of one data
// directory), serves both, and returns the fixture (made on A) and both
// nodes and base URLs.
func twoFrontEnds(t *testing.T) (f *fixture, nA, nB *node.Node, a, b string) {
	t.Helper()
	ctx := context.Background()
	url := pgtest.SchemaURL(t)
	dirA := t.TempDir()
	if _, err := node.Init(ctx, dirA, node.Config{Store: url}, nil); err != nil {
		t.Fatal(err)
	}
	dirB := t.TempDir()
	for _, name := range []string{"node.key", "node.pub", "config.json"} {
		raw, err := os.ReadFile(filepath.Join(dirA, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirB, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	nA, err := node.Open(ctx, dirA, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f = newFixtureOn(t, nA)
	nB, err = node.Open(ctx, dirB, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return f, nA, nB, serveNode(t, nA), serveNode(t, nB)
}

// TestUISessionsAcrossFrontEnds: UI sessions live in the store, so that
// behind a load balancer without affinity a browser (one cookie jar, one
// origin: each front end gets the same cookie) stays logged in whichever
// front end answers: a session opened on A works on B, pages and
// /ui/api/ alike; a logout on B ends it on A too; a token rotated on one
// front end ends the sessions of the old token on both at their next
// request; and a member removed on B has its session on A end.
func TestUISessionsAcrossFrontEnds(t *testing.T) {
	ctx := context.Background()
	f, nA, nB, a, b := twoFrontEnds(t)
	ca := newClient(t, a)
	cb := &client{ca.Client, b} // the same jar: cookies are per host
	page := func(c *client, path string, want int, what string) {
		t.Helper()
		resp, _ := c.get(t, path)
		mustStatus(t, resp, want, what)
	}
	loggedOut := func(c *client, what string) {
		t.Helper()
		resp, _ := c.get(t, "/ui/")
		mustStatus(t, resp, http.StatusSeeOther, what)
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/ui/login?") {
			t.Fatalf("%s: sent to %q, want the login form", what, loc)
		}
	}

	csrf := ca.login(t, f.aurelia.Token)
	page(ca, "/ui/", http.StatusOK, "A, after logging in on A")
	page(cb, "/ui/", http.StatusOK, "B, with A's session")
	page(cb, "/ui/collections/"+f.shared, http.StatusOK, "a collection on B")
	page(cb, "/ui/collections/"+f.private, http.StatusNotFound, "Borovia's collection on B, as Aurelia")
	page(cb, "/ui/api/log/keys?member="+f.aurelia.ID, http.StatusOK, "/ui/api/ on B")
	if _, body := cb.get(t, "/ui/"); !strings.Contains(body, csrf) {
		t.Fatal("B's page doesn't carry the session's CSRF token")
	}

	// A logout on B ends the session everywhere: the old cookie,
	// replayed (a stolen copy, or a browser that kept it), is no session
	// on either front end.
	cookie := sessionCookieOf(t, ca, a)
	if cookie == "" {
		t.Fatal("no session cookie after login")
	}
	resp, err := cb.PostForm(b+"/ui/logout", map[string][]string{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mustStatus(t, resp, http.StatusSeeOther, "logout on B")
	loggedOut(ca, "A, after logging out on B")
	for _, base := range []string{a, b} {
		req, _ := http.NewRequest(http.MethodGet, base+"/ui/", nil)
		req.AddCookie(&http.Cookie{Name: "parley_session", Value: cookie})
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the logged-out session's cookie on %s: %d, want 303 to the login form", base, resp.StatusCode)
		}
	}
	ca.login(t, f.aurelia.Token)
	if sessionCookieOf(t, ca, a) == cookie {
		t.Fatal("a new login got the old session id")
	}
	page(ca, "/ui/", http.StatusOK, "A, logged in again")
	page(cb, "/ui/", http.StatusOK, "B, logged in again on A")

	// A token rotated on A ends the session on B at its next request,
	// and a login with the new token works on both.
	tok, _, err := nA.RotateToken(ctx, f.aurelia.ID)
	if err != nil {
		t.Fatal(err)
	}
	loggedOut(cb, "B, after the token was rotated on A")
	loggedOut(ca, "A, after the token was rotated on A")
	cb.login(t, tok)
	page(ca, "/ui/", http.StatusOK, "A, after logging in on B with the new token")

	// The member removed on B: its session ends on A.
	if _, err := nB.RemoveMember(ctx, f.aurelia.ID); err != nil {
		t.Fatal(err)
	}
	loggedOut(ca, "A, after the member was removed on B")
}

// sessionCookieOf returns the session cookie the client's jar holds for
// base ("" when none).
func sessionCookieOf(t *testing.T, c *client, base string) string {
	t.Helper()
	for _, ck := range c.Jar.Cookies(mustURL(t, base+"/ui/")) {
		if ck.Name == "parley_session" {
			return ck.Value
		}
	}
	return ""
}

// TestUIMemberContextCannotBeForged: the UI calls the node's handlers as
// the session's member by a value in the request's context, with a
// placeholder bearer "token". Nothing a client sends can stand for it:
// the placeholder, from the network, is an unknown token on every route
// of the node that takes a token (401); a browser's own Authorization
// header on /ui/api/ is dropped (the call is the session's member's:
// Aurelia, logged in, posting with Borovia's token to Borovia's
// collection gets what Aurelia gets, 404); without a session /ui/api/ is
// 401 whatever token comes with it; and the context of another node is
// not honoured.
func TestUIMemberContextCannotBeForged(t *testing.T) {
	f, nA, nB, a, _ := twoFrontEnds(t)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, url, auth, body string, cookies ...*http.Cookie) int {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		if body != "" {
			req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bundle := `{"type":"bundle","id":"bundle--6b5e1c39-0a4e-4f0f-8d55-3c1c5f6f2b11","objects":[]}`
	for _, auth := range []string{"Bearer parley-ui-session", "Token parley-ui-session", "Basic " + basic("x", "parley-ui-session")} {
		for _, path := range []string{"/log/keys?member=" + f.aurelia.ID, "/log/checkpoint", "/log/receipt", "/concurrence", "/peers/bundle", "/private/sets", "/taxii2/", "/api/collections/"} {
			if got := do(http.MethodGet, a+path, auth, ""); got != http.StatusUnauthorized {
				t.Errorf("GET %s with %q: %d, want 401", path, auth, got)
			}
		}
		if got := do(http.MethodPost, a+"/api/collections/"+f.shared+"/objects/", auth, bundle); got != http.StatusUnauthorized {
			t.Errorf("POST objects with %q: %d, want 401", auth, got)
		}
		// No session: the UI's API is 401, whatever the token.
		for _, tok := range []string{auth, "Bearer " + f.aurelia.Token} {
			if got := do(http.MethodGet, a+"/ui/api/log/checkpoint", tok, ""); got != http.StatusUnauthorized {
				t.Errorf("GET /ui/api/ without a session, with %q: %d, want 401", tok, got)
			}
		}
	}

	// Aurelia's session, Borovia's token: the call is Aurelia's.
	c := newClient(t, a)
	csrf := c.login(t, f.aurelia.Token)
	ck := &http.Cookie{Name: "parley_session", Value: sessionCookieOf(t, c, a)}
	req, _ := http.NewRequest(http.MethodPost, a+"/ui/api/collections/"+f.private+"/objects/", strings.NewReader(bundle))
	req.Header.Set("Authorization", "Bearer "+f.borova.Token)
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("X-Parley-Binding", testBinding)
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
	req.AddCookie(ck)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("Aurelia's session posting to Borovia's collection with Borovia's token: %d, want 404 (Aurelia's view)", resp.StatusCode)
	}
	// And to the shared collection, the session works through /ui/api/.
	req, _ = http.NewRequest(http.MethodPost, a+"/ui/api/collections/"+f.shared+"/objects/", strings.NewReader(bundle))
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("X-Parley-Binding", testBinding)
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
	req.AddCookie(ck)
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound || resp.StatusCode >= 500 {
		t.Fatalf("Aurelia's session posting to the shared collection: %d", resp.StatusCode)
	}

	// Another node's context is not honoured.
	ctx := context.Background()
	if _, err := nB.Authenticate(nA.AsMember(ctx, store.Member{ID: f.aurelia.ID}), "parley-ui-session"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("B honoured A's member context: %v", err)
	}
	if m, err := nA.Authenticate(nA.AsMember(ctx, store.Member{ID: f.aurelia.ID}), ""); err != nil || m.ID != f.aurelia.ID {
		t.Fatalf("A's own member context: %+v, %v", m, err)
	}
	if _, err := nA.Authenticate(ctx, "parley-ui-session"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the placeholder without the context: %v", err)
	}
}

func mustURL(t *testing.T, s string) *neturl.URL {
	t.Helper()
	u, err := neturl.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

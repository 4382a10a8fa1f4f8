package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/web"
	"github.com/parley-exchange/parley/opinion"
)

// csrfProbe is how TestEveryPostTakesCSRF posts to one route: setup
// opens the sessions it needs and returns the right CSRF token and one
// of another session; send posts with tok ("" for none); state reads
// what the post would change; passed says a post got past the CSRF check.
type csrfProbe struct {
	setup  func(t *testing.T) (right, other string)
	send   func(t *testing.T, tok string) *http.Response
	state  func(t *testing.T) string
	passed func(resp *http.Response) bool
}

// TestEveryPostTakesCSRF enumerates the web UI's routes from its own
// registration ([web.Handler.Patterns]) and posts to each one that is
// not a GET (the node mounts them all at its one "/ui/" row): without a
// CSRF token and with another session's it is refused and changes
// nothing; with its own it gets past the check. A new route that takes
// anything but GET fails here until it has a probe.
func TestEveryPostTakesCSRF(t *testing.T) {
	f := newFixture(t)
	h, err := web.New(web.Deps{Store: f.n.Store(), Authenticate: f.n.Authenticate,
		Concurrence: func(ctx context.Context, m store.Member, object string) (int64, func(context.Context) (opinion.Concurrence, error), error) {
			return f.n.PrepareConcurrence(ctx, m, object, 5*time.Second)
		}, API: f.n.Handler(nil), AsMember: f.n.AsMember})
	if err != nil {
		t.Fatal(err)
	}
	post := func(t *testing.T, c *client, path, ctype, body, tok string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, f.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		if tok != "" && !strings.HasPrefix(ctype, "application/x-www-form-urlencoded") {
			req.Header.Set("X-CSRF-Token", tok)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	form := func(v url.Values, tok string) string {
		if tok != "" {
			v.Set("csrf", tok)
		}
		return v.Encode()
	}
	const formType = "application/x-www-form-urlencoded"
	// memberRoute probes a route behind a member's session: the other
	// token is of a second session of the same member.
	memberRoute := func(path, ctype string, body func(tok string) string, state func(t *testing.T, c *client) string, passed func(*http.Response) bool) csrfProbe {
		var c *client
		return csrfProbe{
			setup: func(t *testing.T) (string, string) {
				c = newClient(t, f.URL)
				right := c.login(t, f.aurelia.Token)
				return right, newClient(t, f.URL).login(t, f.aurelia.Token)
			},
			send:   func(t *testing.T, tok string) *http.Response { return post(t, c, path, ctype, body(tok), tok) },
			state:  func(t *testing.T) string { return state(t, c) },
			passed: passed,
		}
	}
	alive := func(t *testing.T, c *client) string {
		resp, _ := c.get(t, "/ui/members")
		return resp.Status
	}
	objects := func(t *testing.T, c *client) string {
		resp, body := c.get(t, "/ui/api/collections/"+f.shared+"/objects/")
		return resp.Status + alive(t, c) + body
	}
	var login *client
	probes := map[string]csrfProbe{
		"POST /ui/login": {
			// The login form's token is the login cookie's (a double
			// submit); the other is that of another browser's form.
			setup: func(t *testing.T) (string, string) {
				login = newClient(t, f.URL)
				_, body := login.get(t, "/ui/login")
				_, other := newClient(t, f.URL).get(t, "/ui/login")
				return csrfRE.FindStringSubmatch(body)[1], csrfRE.FindStringSubmatch(other)[1]
			},
			send: func(t *testing.T, tok string) *http.Response {
				return post(t, login, "/ui/login", formType, form(url.Values{"token": {f.aurelia.Token}, "binding": {testBindingHash()}}, tok), tok)
			},
			state:  func(t *testing.T) string { return sessionCookieOf(t, login, f.URL) },
			passed: func(resp *http.Response) bool { return resp.StatusCode == http.StatusSeeOther },
		},
		"POST /ui/logout": memberRoute("/ui/logout", formType, func(tok string) string { return form(url.Values{}, tok) }, alive,
			func(resp *http.Response) bool { return resp.StatusCode == http.StatusSeeOther }),
		// Without JavaScript an opinion can't be signed: the route
		// answers 422 once past the check, and changes nothing.
		"POST /ui/objects/{id}/opinion": memberRoute("/ui/objects/"+f.report+"/opinion", formType,
			func(tok string) string { return form(url.Values{"opinion": {"agree"}}, tok) }, objects,
			func(resp *http.Response) bool { return resp.StatusCode == http.StatusUnprocessableEntity }),
		// Past the check the post reaches the node's pipeline, which
		// judges the envelope itself (202 and a failed status).
		"POST /ui/api/collections/{id}/objects/": memberRoute("/ui/api/collections/"+f.shared+"/objects/", "application/taxii+json;version=2.1",
			func(string) string { return `{"objects":[{"type":"indicator"}]}` }, objects,
			func(resp *http.Response) bool { return resp.StatusCode == http.StatusAccepted }),
	}
	// "/ui/" takes every method: the not-found page, which changes
	// nothing and is probed below.
	catchAll := map[string]bool{"/ui/": true}

	patterns := h.Patterns()
	sort.Strings(patterns)
	probed := 0
	for _, p := range patterns {
		method, _, ok := strings.Cut(p, " ")
		if !ok {
			if !catchAll[p] {
				t.Errorf("route %q takes every method: probe it here, or register it with its method", p)
			}
			continue
		}
		if method == http.MethodGet || method == http.MethodHead {
			continue
		}
		pr, ok := probes[p]
		if !ok {
			t.Errorf("route %q is not a GET and has no CSRF probe here: add one", p)
			continue
		}
		probed++
		t.Run(p, func(t *testing.T) {
			right, other := pr.setup(t)
			if right == "" || other == "" || right == other {
				t.Fatalf("tokens %q and %q", right, other)
			}
			before := pr.state(t)
			for _, c := range []struct{ what, tok string }{{"without a CSRF token", ""}, {"with another session's CSRF token", other}} {
				resp := pr.send(t, c.tok)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: %s, want 403", c.what, resp.Status)
				}
				if got := pr.state(t); got != before {
					t.Errorf("%s changed %q to %q", c.what, before, got)
				}
			}
			if resp := pr.send(t, right); !pr.passed(resp) {
				t.Errorf("with its own CSRF token: %s", resp.Status)
			}
		})
	}
	if probed == 0 || probed != len(probes) {
		t.Fatalf("%d routes probed of %d probes (patterns %q)", probed, len(probes), patterns)
	}
	// The catch-all, a member's page like every other, answers any
	// other method as not found once past the CSRF check, and as any
	// post without the session's CSRF token before it (403).
	c := newClient(t, f.URL)
	csrf := c.login(t, f.aurelia.Token)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for tok, want := range map[string]int{"x": http.StatusForbidden, csrf: http.StatusNotFound} {
			req, _ := http.NewRequest(m, f.URL+"/ui/no-such-page", nil)
			req.Header.Set("X-CSRF-Token", tok)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mustStatus(t, resp, want, m+" /ui/no-such-page")
		}
	}
}

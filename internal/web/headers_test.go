package web_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/web"
	"github.com/parley-exchange/parley/opinion"
)

// TestEveryRouteRefusesFraming enumerates the web UI's routes from its
// own registration ([web.Handler.Patterns]) and asks each, through the
// node, without a session and with one: every answer (a page, a
// redirect, an error, an asset, a forwarded /ui/api/ call) forbids other
// sites to frame it (CSP frame-ancestors 'none' and X-Frame-Options DENY:
// clickjacking), to embed or read it (Cross-Origin-Resource-Policy), or
// to keep a handle on its window (Cross-Origin-Opener-Policy), and says
// nosniff. A new route is asked here as soon as it is registered.
func TestEveryRouteRefusesFraming(t *testing.T) {
	f := newFixture(t)
	h, err := web.New(web.Deps{Store: f.n.Store(), Authenticate: f.n.Authenticate,
		Concurrence: func(ctx context.Context, m store.Member, object string) (int64, func(context.Context) (opinion.Concurrence, error), error) {
			return f.n.PrepareConcurrence(ctx, m, object, 5*time.Second)
		}, API: f.n.Handler(nil), AsMember: f.n.AsMember})
	if err != nil {
		t.Fatal(err)
	}
	fill := strings.NewReplacer("{$}", "", "{id}", url.PathEscape(f.report), "{name}", "x.js")
	anon := newClient(t, f.URL)
	in := newClient(t, f.URL)
	csrf := in.login(t, f.aurelia.Token)
	asked := 0
	for _, pat := range h.Patterns() {
		method, path, ok := strings.Cut(pat, " ")
		if !ok {
			method, path = http.MethodGet, pat
		}
		path = fill.Replace(path)
		switch {
		case path == "/ui/":
			path = "/ui/no-such-page"
		case strings.HasSuffix(path, "/ui/api/"):
			path += "log/keys"
		}
		for _, c := range []*client{anon, in} {
			if path == "/ui/logout" && c == in {
				continue // asked last, so that the session lives for the rest
			}
			resp := send(t, c, method, path, csrf)
			checkHeaders(t, method+" "+path, resp)
			asked++
		}
	}
	checkHeaders(t, "POST /ui/logout", send(t, in, http.MethodPost, "/ui/logout", csrf))
	if asked < 2*len(h.Patterns())-1 {
		t.Fatalf("asked %d routes of %d", asked, len(h.Patterns()))
	}
}

func send(t *testing.T, c *client, method, path, csrf string) *http.Response {
	t.Helper()
	var body string
	if method != http.MethodGet {
		body = url.Values{"csrf": {csrf}, "token": {"x"}}.Encode()
	}
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func checkHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	hd := resp.Header
	if csp := hd.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("%s (%d): CSP %q does not forbid framing", what, resp.StatusCode, csp)
	}
	for k, want := range map[string]string{
		"X-Frame-Options":              "DENY",
		"X-Content-Type-Options":       "nosniff",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Cross-Origin-Opener-Policy":   "same-origin",
	} {
		if got := hd.Get(k); got != want {
			t.Errorf("%s (%d): %s is %q, want %q", what, resp.StatusCode, k, got, want)
		}
	}
}

// TestLoginFixesNoSession: a session id is never taken from the browser.
// A browser that holds a session cookie when it logs in (one a page on
// another port planted: the attacker's own live session, or a value of
// its choosing) gets a new random id at login; the planted one is not
// turned into the analyst's session: the attacker's stays the
// attacker's, and the chosen value names no session.
func TestLoginFixesNoSession(t *testing.T) {
	f := newFixture(t)
	attacker := newClient(t, f.URL)
	attacker.login(t, f.borova.Token)
	planted := map[string]string{"the attacker's live session": sessionCookieOf(t, attacker, f.URL), "a chosen value": strings.Repeat("A", 43)}
	for name, id := range planted {
		t.Run(name, func(t *testing.T) {
			victim := newClient(t, f.URL)
			victim.Jar.SetCookies(mustURL(t, f.URL+"/ui/"), []*http.Cookie{{Name: "parley_session", Value: id, Path: "/ui/"}})
			victim.login(t, f.aurelia.Token)
			if got := sessionCookieOf(t, victim, f.URL); got == id || got == "" {
				t.Fatalf("after login the session cookie is %q, the planted one was %q", got, id)
			}
			if _, home := victim.get(t, "/ui/"); !strings.Contains(home, "aurelia") {
				t.Errorf("the victim's new session isn't its member's:\n%s", home)
			}
			// The planted id is what it was: the attacker's session
			// still the attacker's, the chosen value none.
			now := time.Now()
			us, err := f.n.Store().UISession(context.Background(), sha256.Sum256([]byte(id)), now, now.Add(-time.Hour))
			switch {
			case name == "a chosen value" && !errors.Is(err, store.ErrNotFound):
				t.Errorf("the chosen id names a session after the victim's login: %+v, %v", us, err)
			case name != "a chosen value" && (err != nil || us.Member != f.borova.ID):
				t.Errorf("the attacker's session after the victim's login: member %s, %v; want the attacker's", us.Member, err)
			}
		})
	}
}

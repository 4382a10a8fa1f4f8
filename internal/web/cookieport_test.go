package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/web"
	"github.com/parley-exchange/parley/opinion"
)

// TestSessionCookieSentToAnotherPort: cookies are not kept apart by port
// in either direction. A page on another port of the node's host doesn't
// only set the session cookie (which the binding answers): the analyst's
// browser sends it parley_session with any request to that port under
// /ui/ (a link, an image). With it, the server behind that port read,
// without the tab's secret, every page the analyst's member may read
// (collections its own member may not read included): only look-ups and
// posts needed the binding. Now every GET of a session proves the binding
// (the secret in X-Parley-Binding, or the view proof of its URL), and a
// page request without it gets the proving page, which holds nothing of
// the member's.
//
// The test asks every route of the UI (from [web.Handler.Patterns], and
// every node path that GET /ui/api/ forwards to, from
// [web.Handler.APIGets]: a new route can't be forgotten) with the stolen
// cookie alone, for cert-borovia's private collection and object, and
// finds nothing of the member's in any answer: not the collection, the
// object, the member's name or id, nor the session's CSRF token. Each
// answer is what an anonymous request gets, or the proving page, or a
// refusal.
func TestSessionCookieSentToAnotherPort(t *testing.T) {
	f := newFixture(t)
	victim := newClient(t, f.URL)
	csrf := victim.login(t, f.borova.Token)
	var stolen string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("parley_session"); err == nil {
			stolen = c.Value
		}
	}))
	t.Cleanup(other.Close)
	// The analyst's browser fetches something of the other port's.
	resp, err := victim.Get(other.URL + "/ui/pixel.png")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if stolen == "" {
		t.Fatal("the cookie jar kept the cookie to the node's port: this test's premise (RFC 6265 cookies ignore the port) no longer holds")
	}

	// What is cert-borovia's and no one else's; each is on a page the
	// analyst reads (checked below), so that the scan can't pass for
	// looking for the wrong thing.
	secrets := []string{f.secretID, "Borovia internal", "Borovia secret source", "198.51.100.77", f.borova.Name, f.borova.ID, csrf}
	own := map[string]string{
		"/ui/collections/" + f.private: f.secretID,
		"/ui/objects/" + f.secretID:    "Borovia secret source",
		"/ui/":                         csrf,
		"/ui/members":                  f.borova.ID,
	}
	for p, want := range own {
		resp, body := victim.get(t, p) // with the tab's secret, as its scripts send it
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, f.borova.Name) {
			t.Fatalf("the analyst's own %s: %s, without %q or the member's name", p, resp.Status, want)
		}
	}

	// Every route of the UI, with the ids of cert-borovia's private
	// collection and object.
	h, err := web.New(web.Deps{Store: f.n.Store(), Authenticate: f.n.Authenticate,
		Concurrence: func(ctx context.Context, m store.Member, object string) (int64, func(context.Context) (opinion.Concurrence, error), error) {
			return f.n.PrepareConcurrence(ctx, m, object, 5*time.Second)
		}, API: f.n.Handler(nil), AsMember: f.n.AsMember})
	if err != nil {
		t.Fatal(err)
	}
	query := "?object=" + url.QueryEscape(f.secretID) + "&collection=" + url.QueryEscape(f.private) + "&member=" + url.QueryEscape(f.borova.ID)
	type request struct{ method, path string }
	var reqs []request
	for _, p := range h.Patterns() {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = http.MethodGet, p+"no-such-page"
		}
		id := f.secretID
		if strings.Contains(path, "/collections/") {
			id = f.private
		}
		path = strings.NewReplacer("{id}", url.PathEscape(id), "{name}", "style.css", "{$}", "").Replace(path)
		if path == "/ui/api/" {
			for _, a := range h.APIGets() {
				reqs = append(reqs, request{method, "/ui/api" + a + query})
			}
			continue
		}
		reqs = append(reqs, request{method, path})
		if method == http.MethodGet && path != "/ui/binding" {
			// With a query too: a look-up, a collection's filter.
			reqs = append(reqs, request{method, path + "?q=198.51.100.77"})
		}
	}
	if len(reqs) < len(h.Patterns())+len(h.APIGets()) {
		t.Fatalf("only %d requests for %d routes", len(reqs), len(h.Patterns()))
	}
	do := func(rq request, cookie string) (int, string) {
		t.Helper()
		body := io.Reader(nil)
		if rq.method == http.MethodPost {
			body = strings.NewReader(`{"objects":[]}`)
		}
		req, err := http.NewRequest(rq.method, f.URL+rq.path, body)
		if err != nil {
			t.Fatal(err)
		}
		if rq.method == http.MethodPost {
			req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "parley_session", Value: cookie})
		}
		// The other port's server, with the cookie and nothing else:
		// no redirect followed.
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	proving := 0
	for _, rq := range reqs {
		status, body := do(rq, stolen)
		for _, s := range secrets {
			// What the request itself named (the proving page's
			// target) is no news to whoever sent it.
			if strings.Contains(body, s) && !strings.Contains(rq.path, url.QueryEscape(s)) && !strings.Contains(rq.path, url.PathEscape(s)) {
				t.Errorf("%s %s with the stolen cookie: %d, and the answer holds %q", rq.method, rq.path, status, s)
			}
		}
		anonStatus, _ := do(rq, "")
		switch {
		case status == anonStatus && (status >= 300 || strings.HasPrefix(rq.path, "/ui/assets/") || strings.HasPrefix(rq.path, "/ui/login")):
			// What anyone gets.
		case status == http.StatusOK && proveRE.MatchString(body) && rq.method == http.MethodGet:
			proving++
		case status == http.StatusForbidden || status == http.StatusUnauthorized:
			// Refused: no binding, or no CSRF token.
		default:
			t.Errorf("%s %s with the stolen cookie: %d (anonymous: %d):\n%s", rq.method, rq.path, status, anonStatus, body)
		}
	}
	if proving == 0 {
		t.Error("no request got the proving page")
	}
	// Logging out ends a session only with its CSRF token, which the
	// cookie's holder never sees: with the cookie and whatever the proving
	// page holds (each of its attributes as the token), and claiming to
	// come from the node's own page (Sec-Fetch-Site, which only a browser
	// sets honestly), a logout ends nothing; the answer at most drops the
	// cookie from the sender's own jar.
	_, page := do(request{http.MethodGet, "/ui/"}, stolen)
	tokens := []string{""}
	for _, m := range regexp.MustCompile(`data-[a-z]+="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		tokens = append(tokens, m[1])
	}
	if len(tokens) < 3 {
		t.Fatalf("the proving page has no data attributes to try:\n%s", page)
	}
	for _, tok := range tokens {
		for _, site := range []string{"", "same-origin", "same-site"} {
			req, _ := http.NewRequest(http.MethodPost, f.URL+"/ui/logout", strings.NewReader(url.Values{"csrf": {tok}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if site != "" {
				req.Header.Set("Sec-Fetch-Site", site)
			}
			req.AddCookie(&http.Cookie{Name: "parley_session", Value: stolen})
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp, _ := victim.get(t, "/ui/"); resp.StatusCode != http.StatusOK {
				t.Fatalf("a logout with the stolen cookie, token %q and Sec-Fetch-Site %q ended the analyst's session", tok, site)
			}
		}
	}
	// The session lives on (nothing the other port sent ended it), and
	// the analyst still reads their own pages.
	if resp, body := victim.get(t, "/ui/collections/"+f.private); resp.StatusCode != http.StatusOK || !strings.Contains(body, f.secretID) {
		t.Errorf("the analyst's own collection after the scan: %s", resp.Status)
	}
}

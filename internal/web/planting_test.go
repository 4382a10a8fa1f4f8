package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/parley-exchange/parley/internal/store"
)

// lookupLog records the bodies of the UI's look-up pages as the node
// served them: what was looked up, in whose session.
type lookupLog struct {
	mu     sync.Mutex
	bodies []string
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (t *teeWriter) Write(b []byte) (int, error) { t.buf.Write(b); return t.ResponseWriter.Write(b) }

func (l *lookupLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ui/search" {
			next.ServeHTTP(w, r)
			return
		}
		tw := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(tw, r)
		l.mu.Lock()
		l.bodies = append(l.bodies, tw.buf.String())
		l.mu.Unlock()
	})
}

// served reports whether a look-up page the node served looked q up
// in the session of member name.
func (l *lookupLog) served(q, name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bodies {
		if strings.Contains(b, "Looked up <code>"+q+"</code>") && strings.Contains(b, `<span class="who">`+name+`</span>`) {
			return true
		}
	}
	return false
}

// plantingServer is a page on another port of 127.0.0.1 (another origin,
// the same host for cookies) that sets the session cookie sid at /ui/,
// where the node sets its own.
func plantingServer(t *testing.T, sid string) string {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><script>document.cookie = "parley_session=%s; path=/ui/";</script><p id=done>set</p>`, sid)
	}))
	t.Cleanup(other.Close)
	return other.URL
}

const notStartedHere = "not started in this browser tab's origin"

// TestBrowserSessionPlantedFromAnotherPort: cookies are not kept apart by
// port, so a page on another port of the node's host set the session
// cookie to cert-borovia's own session (logged in from its own client)
// while cert-aurelia's analyst was logged out, and the analyst went on in
// it: a look-up was made, and a post would have been, as cert-borovia.
// The session is bound to the secret that the login page's script keeps
// in this origin's localStorage, which that page can neither read nor
// set: the analyst's pages are replaced by a notice, the look-up is not
// made, and the post is refused.
func TestBrowserSessionPlantedFromAnotherPort(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	var lookups lookupLog
	var pages whoLog
	f.pages = func(h http.Handler) http.Handler { return lookups.wrap(pages.wrap(h)) }
	base := uiServer(t, f, newV2Log(t, f.n))
	// cert-borovia logs in from its own client, with a binding of its own.
	attacker := newClient(t, base)
	attackerCSRF := attacker.login(t, f.borova.Token)
	u, _ := url.Parse(base + "/ui/")
	sid := ""
	for _, c := range attacker.Jar.Cookies(u) {
		if c.Name == "parley_session" {
			sid = c.Value
		}
	}
	if sid == "" {
		t.Fatal("cert-borovia's login set no session cookie")
	}
	ctx, cancel := browser(t, 1280)
	defer cancel()
	// The analyst has used the UI in this browser, and logged out.
	logIn(t, ctx, base, f.aurelia.Token)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS(`#token`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(plantingServer(t, sid)), chromedp.WaitVisible(chromedp.CSS("#done"))); err != nil {
		t.Fatal(err)
	}
	text := func() string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	plant := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(plantingServer(t, sid)), chromedp.WaitVisible(chromedp.CSS("#done"))); err != nil {
			t.Fatal(err)
		}
	}
	// dropped waits for the login page that session.js sends the
	// analyst to once it has dropped a session that is not this tab's.
	dropped := poll(`location.pathname === "/ui/login" && location.search.includes("foreign=1") && document.body.innerText.includes("` + notStartedHere + `") && document.getElementById("token") !== null`)
	// Any page: the planted session is dropped from the browser, and the
	// analyst is sent to the login page, which says why.
	for _, path := range []string{"/ui/", "/ui/objects/" + f.indicator} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+path), dropped); err != nil {
			t.Fatalf("%s in the planted session: %v\n%s", path, err, text())
		}
		// The cookie is gone: the next page asks to log in, saying
		// nothing of a session.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/members"), poll(`location.pathname === "/ui/login" && !location.search.includes("foreign") && !location.search.includes("ended")`)); err != nil {
			t.Fatalf("after the planted session was dropped: %v\n%s", err, text())
		}
		plant()
	}
	// The planting page links the analyst to a page of its session that it
	// proved itself: the page is never served (the navigation came from
	// another port), the analyst is sent to the login page.
	proved := attacker.proved(t, "/ui/objects/"+f.indicator)
	pages.reset() // cert-borovia's own pages so far were its own client's
	if err := chromedp.Do(ctx, chromedp.Navigate(plantingLink(t, sid, base+proved)), chromedp.WaitVisible(chromedp.CSS("#go")),
		chromedp.Click(chromedp.CSS("#go")), dropped); err != nil {
		t.Fatalf("a link to a page the planting member proved: %v\n%s", err, text())
	}
	if pages.servedAs("cert-borovia") {
		t.Fatal("a page of cert-borovia's session was served to the analyst's browser")
	}
	// A look-up, typed as a URL or sent from the search form, is not made.
	const q = "aurelia-elections-portal.example"
	plant()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/search?q="+q), dropped); err != nil {
		t.Fatalf("look-up in the planted session: %v\n%s", err, text())
	}
	if lookups.served(q, "cert-borovia") {
		t.Fatal("the analyst's look-up was made in cert-borovia's session")
	}
	// A post, as sign.js sends it (with the session's CSRF token, which
	// the pages of the planted session never show but its member knows,
	// and this origin's secret), is refused, and nothing is stored.
	plant()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/login"), chromedp.WaitVisible(chromedp.CSS("#token"))); err != nil {
		t.Fatal(err)
	}
	post := fmt.Sprintf(`(async () => {
		const csrf = %q;
		const r = await fetch("/ui/api/collections/%s/objects/", {method: "POST", credentials: "same-origin",
			headers: {"Content-Type": "application/taxii+json;version=2.1", Accept: "application/taxii+json;version=2.1",
				"X-CSRF-Token": csrf, "X-Parley-Binding": localStorage.getItem("parley.binding") || ""},
			body: JSON.stringify({objects: [{type: "note", spec_version: "2.1", id: "note--6f4c3b0e-8e2a-4f55-9a64-0d6c3c1e2a11",
				created: "2026-01-01T00:00:00Z", modified: "2026-01-01T00:00:00Z", content: "aurelia's finding", object_refs: ["%s"]}]})});
		return r.status + " " + await r.text();
	})()`, attackerCSRF, f.shared, f.indicator)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](post, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "403 ") || !strings.Contains(got, notStartedHere) {
		t.Errorf("a post in the planted session: %s", got)
	}
	if vs, _, err := f.n.Store().ObjectVersions(context.Background(), []string{f.shared}, "note--6f4c3b0e-8e2a-4f55-9a64-0d6c3c1e2a11", store.Bound{Rows: 1}); err != nil || len(vs) != 0 {
		t.Errorf("the analyst's post was stored in cert-borovia's session: %v (%v)", vs, err)
	}
	// Logging in with the planted cookie still in the browser: the login
	// opens a session of its own, under a new id, and the planted cookie
	// does not survive it; the analyst is themself, and the planting
	// member's session is not the analyst's.
	logIn(t, ctx, base, f.aurelia.Token)
	if who, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".who") || {}).textContent || ""`)); strings.TrimSpace(who) != "cert-aurelia" {
		t.Errorf("after logging in again: %q", who)
	}
	got2, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/ui/objects/x"}})
	if err != nil {
		t.Fatal(err)
	}
	jar := got2.Cookies
	n := 0
	for _, c := range jar {
		if c.Name == "parley_session" {
			n++
			if c.Value == sid {
				t.Error("the planted session's cookie survived the analyst's login")
			}
		}
	}
	if n != 1 {
		t.Errorf("%d session cookies after the login, want 1", n)
	}
	if resp, body := attacker.get(t, "/ui/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `<span class="who">cert-borovia</span>`) {
		t.Errorf("cert-borovia's own session after the analyst's login: %s", resp.Status)
	}
}

// plantingLink is plantingServer's page with a link to href.
func plantingLink(t *testing.T, sid, href string) string {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><script>document.cookie = "parley_session=%s; path=/ui/";</script><p><a id=go href="%s">the report</a></p>`, sid, html.EscapeString(href))
	}))
	t.Cleanup(other.Close)
	return other.URL
}

// whoLog records the member name of each page the node served.
type whoLog struct {
	mu   sync.Mutex
	whos []string
}

func (l *whoLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(tw, r)
		if m := whoRE.FindStringSubmatch(tw.buf.String()); m != nil {
			l.mu.Lock()
			l.whos = append(l.whos, m[1])
			l.mu.Unlock()
		}
	})
}

var whoRE = regexp.MustCompile(`<span class="who">([^<]*)</span>`)

func (l *whoLog) reset() {
	l.mu.Lock()
	l.whos = nil
	l.mu.Unlock()
}

// servedAs reports whether a page was served in a session of member name.
func (l *whoLog) servedAs(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.whos, name)
}

// TestBrowserBoundSessionFlow: a session logged in through the login page
// works as before: pages, a look-up from the search form (its proof added
// by the page's script), and logout; a look-up link without a proof is
// made once the page's script has added it.
func TestBrowserBoundSessionFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	var lookups lookupLog
	f.pages = lookups.wrap
	base := uiServer(t, f, newV2Log(t, f.n))
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	const q = "aurelia-elections-portal.example"
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#top-q`), q),
		chromedp.Submit(chromedp.CSS(`#top-q`)),
		poll(`document.body.innerText.includes("Looked up")`),
	); err != nil {
		t.Fatal(err)
	}
	if !lookups.served(q, "cert-aurelia") {
		t.Error("the look-up from the search form was not made")
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/search?q=203.0.113.45"), poll(`document.body.innerText.includes("Looked up")`)); err != nil {
		t.Fatalf("a look-up link: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/objects/"+f.indicator), chromedp.WaitVisible(chromedp.CSS(`.who`))); err != nil {
		t.Fatal(err)
	}
	if s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`)); strings.Contains(s, notStartedHere) {
		t.Fatalf("a bound session was told it is not:\n%s", s)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS(`#token`))); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserUnboundSessionEnded: a session without a binding, as a build
// from before the binding stored it (or a login without JavaScript), may
// not look up or post; with JavaScript on, the page's script drops it
// from the browser and sends the analyst to the login page.
func TestBrowserUnboundSessionEnded(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	var lookups lookupLog
	f.pages = lookups.wrap
	base := uiServer(t, f, newV2Log(t, f.n))
	var id [32]byte
	rand.Read(id[:])
	sid := fmt.Sprintf("%x", id)
	now := time.Now()
	if err := f.n.Store().OpenUISession(context.Background(), store.UISession{Key: sha256.Sum256([]byte(sid)), Member: f.aurelia.ID,
		Token: sha256.Sum256([]byte(f.aurelia.Token)), CSRF: "old-csrf", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := browser(t, 1280)
	defer cancel()
	// The browser holds its cookie (set here from another port, as it
	// was set by the node before the upgrade: the same cookie).
	if err := chromedp.Do(ctx, chromedp.Navigate(plantingServer(t, sid)), chromedp.WaitVisible(chromedp.CSS("#done"))); err != nil {
		t.Fatal(err)
	}
	const q = "aurelia-elections-portal.example"
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/search?q="+q), poll(`document.body.innerText.includes("`+notStartedHere+`")`)); err != nil {
		t.Fatal(err)
	}
	if lookups.served(q, "cert-aurelia") {
		t.Error("an unbound session's look-up was made")
	}
	// The page's script dropped the session from the browser and sent the
	// analyst to the login page (the poll above): the next page asks to
	// log in.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/members"), poll(`location.pathname === "/ui/login" && !location.search.includes("foreign") && document.getElementById("token") !== null`)); err != nil {
		t.Fatal(err)
	}
}

// TestUnboundSessionReadsNothing: a login without the page's script (no
// binding field) opens no session, and says why; a binding field that is
// not a SHA-256 is refused and opens nothing. A session without a binding
// (one from before the upgrade) reads nothing: every page gets the proving
// page (whose script then shows the notice), /ui/api/ and the binding
// check 403, and a post through /ui/api/ with its CSRF token 403.
func TestUnboundSessionReadsNothing(t *testing.T) {
	f := newFixture(t)
	login := func(c *client, binding string) (*http.Response, string) {
		t.Helper()
		_, body := c.get(t, "/ui/login")
		m := csrfRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no csrf field in the login page")
		}
		v := url.Values{"csrf": {m[1]}, "token": {f.aurelia.Token}}
		if binding != "" {
			v.Set("binding", binding)
		}
		resp, err := c.PostForm(c.base+"/ui/login", v)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		return resp, b.String()
	}
	sessionCookie := func(resp *http.Response) bool {
		for _, c := range resp.Cookies() {
			if c.Name == "parley_session" && c.MaxAge >= 0 {
				return true
			}
		}
		return false
	}
	for _, bad := range []string{"not base64!", "c2hvcnQ", strings.Repeat("A", 43), ""} {
		c := newClient(t, f.URL)
		resp, body := login(c, bad)
		if resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) {
			t.Errorf("login with binding %q: %s", bad, resp.Status)
		}
		if bad == "" && !strings.Contains(body, "Logging in needs JavaScript") {
			t.Errorf("a login without a binding isn't told why:\n%s", body)
		}
	}
	// A session without a binding, in the store as one from before the
	// upgrade.
	var id [32]byte
	rand.Read(id[:])
	sid := fmt.Sprintf("%x", id)
	now := time.Now()
	if err := f.n.Store().OpenUISession(context.Background(), store.UISession{Key: sha256.Sum256([]byte(sid)), Member: f.aurelia.ID,
		Token: sha256.Sum256([]byte(f.aurelia.Token)), CSRF: "old-csrf", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, f.URL)
	u, _ := url.Parse(f.URL + "/ui/")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "parley_session", Value: sid, Path: "/ui/"}})
	for _, p := range []string{"/ui/", "/ui/search?q=aurelia-elections-portal.example", "/ui/objects/" + f.indicator} {
		resp, body := c.get(t, p) // with the test's secret in the header: no secret proves an unbound session
		mustStatus(t, resp, 200, p)
		if !proveRE.MatchString(body) || strings.Contains(body, "cert-aurelia") || strings.Contains(body, "old-csrf") || strings.Contains(body, "Looked up") {
			t.Errorf("%s in an unbound session:\n%s", p, body)
		}
	}
	resp, body := c.get(t, "/ui/api/log/checkpoint")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, notStartedHere) {
		t.Errorf("/ui/api/ in an unbound session: %s %s", resp.Status, body)
	}
	resp, _ = c.get(t, "/ui/binding")
	mustStatus(t, resp, http.StatusForbidden, "the binding check of an unbound session")
	req, err := http.NewRequest(http.MethodPost, f.URL+"/ui/api/collections/"+f.shared+"/objects/", strings.NewReader(`{"objects":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-CSRF-Token", "old-csrf")
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	var posted bytes.Buffer
	posted.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(posted.String(), notStartedHere) {
		t.Errorf("POST /ui/api/ in an unbound session: %s %s", resp.Status, posted.String())
	}
}

package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSessionCookieTossed: a page on another port of the node's
// host can't post a login form any more (TestBrowserLoginFromAnotherOrigin),
// but it can set a cookie for the node's host: its member's session id
// (logged in from anywhere) at a path under /ui/ longer than the node's
// cookie, which the browser sends first. The analyst, logged in as
// cert-aurelia, went on in cert-borovia's session on those pages. A
// request with two session cookies now gets no session.
func TestBrowserSessionCookieTossed(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	base := uiServer(t, f, newV2Log(t, f.n))
	// cert-borovia logs in from its own client: a session id it knows.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Get(base + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF token in the login page:\n%s", b)
	}
	resp, err = hc.PostForm(base+"/ui/login", url.Values{"csrf": {string(m[1])}, "token": {f.borova.Token}, "next": {"/ui/"}, "binding": {testBindingHash()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(base + "/ui/")
	sid := ""
	for _, c := range jar.Cookies(u) {
		if c.Name == "parley_session" {
			sid = c.Value
		}
	}
	if sid == "" {
		t.Fatal("cert-borovia's login set no session cookie")
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><script>document.cookie = "parley_session=%s; path=/ui/search";</script><p id=done>set</p>`, sid)
	}))
	defer other.Close()
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	if err := chromedp.Do(ctx, chromedp.Navigate(other.URL), chromedp.WaitVisible(chromedp.CSS("#done")),
		chromedp.Navigate(base+"/ui/search?q=x"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	who, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".who") || {}).textContent || ""`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(who) == "cert-borovia" {
		t.Fatal("after another origin tossed a session cookie, the analyst's look-up page is in cert-borovia's session")
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "more than one Parley session cookie") {
		t.Errorf("the refusal doesn't say why:\n%s", text)
	}
	// Pages the tossed cookie doesn't reach are still cert-aurelia's.
	// By the proving page, which goes on to the page.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/"), poll(`document.querySelector(".who") !== null || document.querySelector("#token") !== null`)); err != nil {
		t.Fatal(err)
	}
	if who, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".who") || {}).textContent || ""`)); strings.TrimSpace(who) != "cert-aurelia" {
		t.Errorf("the home page is %q's", who)
	}
}

// TestBrowserLoginCookieTossed: a page on another port of the node's host
// sets a login cookie of its own at /ui/login, a longer path than the
// node's, so the browser sends it first with the node's own login form:
// the form's token was compared with that cookie alone, and the analyst
// could not log in at all while it lasted.
func TestBrowserLoginCookieTossed(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	base := uiServer(t, f, newV2Log(t, f.n))
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><script>document.cookie = "parley_login=tossed; path=/ui/login";</script><p id=done>set</p>`)
	}))
	defer other.Close()
	ctx, cancel := browser(t, 1280)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(other.URL), chromedp.WaitVisible(chromedp.CSS("#done"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), f.aurelia.Token),
		chromedp.Submit(chromedp.CSS(`#token`)),
		poll(`!!document.querySelector(".who") || document.body.innerText.includes("expired")`),
	); err != nil {
		t.Fatal(err)
	}
	who, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".who") || {}).textContent || document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(who) != "cert-aurelia" {
		t.Errorf("logging in through the node's own form with a tossed login cookie: %q", who)
	}
}

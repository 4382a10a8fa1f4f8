package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserLoginFromAnotherOrigin: a page on another port of the
// node's host (same site, so the SameSite cookies go with its requests,
// and cookies are not kept apart by port) sets the login form's cookie to
// a value it knows and posts its member's token with it. The analyst's
// browser, logged in as cert-aurelia, must not end up in cert-borovia's
// session.
func TestBrowserLoginFromAnotherOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	base := uiServer(t, f, newV2Log(t, f.n))
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><script>document.cookie = "parley_login=tossed; path=/ui/";</script>
<form id=f method=post action="%s/ui/login"><input name=csrf value=tossed><input name=token value="%s"><input name=next value="/ui/"></form>
<script>document.getElementById("f").submit()</script>`, base, f.borova.Token)
	}))
	defer other.Close()
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	if err := chromedp.Do(ctx, chromedp.Navigate(other.URL), poll(`location.href.startsWith("`+base+`")`), chromedp.WaitReady(chromedp.CSS("body")),
		// By the proving page, which goes on to the page.
		chromedp.Navigate(base+"/ui/"), poll(`document.querySelector(".who") !== null || document.querySelector("#token") !== null`)); err != nil {
		t.Fatal(err)
	}
	who, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".who") || {}).textContent || ""`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(who) != "cert-aurelia" {
		t.Errorf("after another origin's login form the analyst is logged in as %q", who)
	}
	// The node's own login form still works, from this browser too.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS(`#token`))); err != nil {
		t.Fatal(err)
	}
	logIn(t, ctx, base, f.borova.Token)
}

// TestLoginSecFetchSite: the login form's double-submit token is refused
// when the browser says the post came from another origin (a page on
// another port of the host can set the login cookie), and taken from the
// node's own page, or from a client that sends no Sec-Fetch-Site (older
// browsers, scripts). The browser test above needs Chromium; this is the
// same rule without it.
func TestLoginSecFetchSite(t *testing.T) {
	f := newFixture(t)
	base := serveNode(t, f.n)
	for _, c := range []struct {
		site string
		want int
	}{
		{"", http.StatusSeeOther},
		{"same-origin", http.StatusSeeOther},
		{"same-site", http.StatusForbidden},
		{"cross-site", http.StatusForbidden},
		{"none", http.StatusForbidden},
	} {
		cl := newClient(t, base)
		_, body := cl.get(t, "/ui/login")
		m := csrfRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no csrf field in the login page")
		}
		req, err := http.NewRequest("POST", base+"/ui/login", strings.NewReader(url.Values{"csrf": {m[1]}, "token": {f.aurelia.Token}, "binding": {testBindingHash()}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.site != "" {
			req.Header.Set("Sec-Fetch-Site", c.site)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("a login posted with Sec-Fetch-Site %q: %s, want %d", c.site, resp.Status, c.want)
		}
		// The refusal says why: the form came from another site, not
		// that a CSRF token is missing (it was there, and matched).
		if c.want == http.StatusForbidden && (!strings.Contains(string(b), "posted from another site") || strings.Contains(string(b), "missing CSRF token")) {
			t.Errorf("a login posted with Sec-Fetch-Site %q is refused saying:\n%s", c.site, b)
		}
	}
}

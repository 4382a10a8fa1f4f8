package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
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
		chromedp.Navigate(base+"/ui/"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
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

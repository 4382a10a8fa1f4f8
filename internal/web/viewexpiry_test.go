package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserViewProofsExpire: a URL with its view proof (copied into a
// chat, a proxy's log, a shared machine's history) read its page, for
// whoever also held the session cookie, for as long as the session
// lasted. A proof now holds for its window of the node's clock and the
// next (5 to 10 minutes); then the URL goes by the proving page, which
// the cookie alone gets no further than. In the tab that holds the
// secret, back, forward, reload and a link of a page loaded long ago go
// on working: the proving page proves the URL again.
func TestBrowserViewProofsExpire(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	clock := newTestClock()
	f.now = clock.now
	var served servedLog
	f.pages = served.wrap
	base := uiServer(t, f, newV2Log(t, f.n))
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	eval := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return s
	}
	do := func(what string, steps ...step) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\nat %s:\n%s", what, err, eval(`location.href`), eval(`document.body.innerText`))
		}
	}
	linksProved := poll(`document.documentElement.dataset.viewLinks === "proved"`)
	collectionPage := `location.pathname === "/ui/collections/` + f.shared + `" && document.querySelector("table.list") !== null && !document.getElementById("view-pending")`
	objectPage := `location.pathname === "/ui/objects/` + f.indicator + `" && document.querySelector("[data-verification]") !== null && !document.getElementById("view-pending")`
	do("the home page's links", linksProved)
	do("a collection's link", chromedp.Click(chromedp.CSS(`a[href^="/ui/collections/`+f.shared+`"]`)), poll(collectionPage), linksProved)
	collectionURL := eval(`location.href`)
	do("an object's link", chromedp.Click(chromedp.CSS(`a[href^="/ui/objects/`+f.indicator+`"]`)), poll(objectPage), linksProved)
	objectURL := eval(`location.href`)
	// The browser's cookie, as a server on another port is sent it.
	cookie := browserSessionCookie(t, ctx, base+"/ui/")
	// With the cookie alone, a URL with its proof: the page while the
	// proof is fresh (what remains of this risk: at most 10 minutes),
	// the proving page after.
	stolenGet := func(rawURL string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
		req.AddCookie(&http.Cookie{Name: "parley_session", Value: cookie})
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if body := stolenGet(objectURL); !strings.Contains(body, `<span class="who">cert-aurelia</span>`) {
		t.Fatalf("a fresh proof with the cookie: not the page (this test's premise):\n%s", body)
	}
	clock.add(11 * time.Minute)
	if body := stolenGet(objectURL); strings.Contains(body, "cert-aurelia") || !proveRE.MatchString(body) {
		t.Errorf("a proof 11 minutes old, with the cookie: not the proving page:\n%s", body)
	}

	// In the tab: back, forward, reload, each by the proving page, which
	// proves the URL again (a fresh proof in the history's place).
	n := served.len()
	do("back after the proofs expired", chromedp.NavigateBack(), poll(collectionPage+` && location.href !== `+jsString(collectionURL)))
	do("forward after the proofs expired", chromedp.NavigateForward(), poll(objectPage+` && location.href !== `+jsString(objectURL)))
	if p := served.provingSince(n); len(p) != 2 {
		t.Errorf("back and forward with stale proofs went by the proving page %d times, want 2: %v", len(p), p)
	}
	fresh := eval(`location.href`)
	if body := stolenGet(fresh); !strings.Contains(body, "cert-aurelia") {
		t.Errorf("the proof the proving page made again is not taken")
	}
	clock.add(11 * time.Minute)
	do("reload after the proof expired", chromedp.Reload(), poll(objectPage+` && location.href !== `+jsString(fresh)))
	// A link of a page loaded before its proofs expired.
	do("links", linksProved)
	clock.add(11 * time.Minute)
	do("a link proved 11 minutes ago", chromedp.Click(chromedp.CSS(`nav a[href^="/ui/members"]`)),
		poll(`location.pathname === "/ui/members" && location.search.includes("view=") && document.querySelector(".who") !== null && !document.getElementById("view-pending")`))
}

// browserSessionCookie is the value of the browser's parley_session
// cookie for rawURL.
func browserSessionCookie(t *testing.T, ctx context.Context, rawURL string) string {
	t.Helper()
	got, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{rawURL}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got.Cookies {
		if c.Name == "parley_session" {
			return c.Value
		}
	}
	t.Fatal("the browser holds no session cookie")
	return ""
}

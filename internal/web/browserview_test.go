package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// servedLog records each UI page the node served: its URL and whether it
// was the proving page (a request without its view proof).
type servedLog struct {
	mu    sync.Mutex
	pages []servedPage
}

type servedPage struct {
	uri     string
	proving bool
}

func (l *servedLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(tw, r)
		if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/ui/assets/") {
			l.mu.Lock()
			l.pages = append(l.pages, servedPage{r.URL.RequestURI(), strings.Contains(tw.buf.String(), `id="view-pending"`)})
			l.mu.Unlock()
		}
	})
}

// provingSince reports the URIs served as the proving page from the
// n-th page on.
func (l *servedLog) provingSince(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, p := range l.pages[n:] {
		if p.proving {
			out = append(out, p.uri)
		}
	}
	return out
}

func (l *servedLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pages)
}

// TestBrowserViewProofs: with every page of a session needing the
// binding's proof (a stolen session cookie alone reads nothing, see
// TestSessionCookieSentToAnotherPort), a person in a real browser still
// sees every page: following links (which the page's script gives their
// proofs, so that they go straight to their page), submitting the search
// and filter forms, going back and forward, reloading, opening a link in
// a new tab, pasting or bookmarking a URL without a proof (the proving
// page goes on to it, and leaves no entry in the history), and
// downloading a proof bundle, whose link carries its proof.
func TestBrowserViewProofs(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
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
	// The pages' links to the node carry their proofs; the rest don't.
	do("the home page's links", linksProved)
	if bad := eval(`Array.from(document.querySelectorAll("a[href]")).map(a => a.getAttribute("href"))
		.filter(h => h.startsWith("/ui/") && !h.startsWith("/ui/login") && !h.includes("view=")).join(" ")`); bad != "" {
		t.Errorf("links of the home page without their proof: %s", bad)
	}
	if bad := eval(`Array.from(document.querySelectorAll("a[href]")).map(a => a.getAttribute("href"))
		.filter(h => !h.startsWith("/ui/") && h.includes("view=")).join(" ")`); bad != "" {
		t.Errorf("links off the node's pages with a proof: %s", bad)
	}

	// Links: home, a collection, an object, each straight to its page.
	n := served.len()
	do("a collection's link", chromedp.Click(chromedp.CSS(`a[href^="/ui/collections/`+f.shared+`"]`)),
		poll(`location.pathname === "/ui/collections/`+f.shared+`" && document.querySelector("table.list") !== null`), linksProved)
	do("an object's link", chromedp.Click(chromedp.CSS(`a[href^="/ui/objects/`+f.indicator+`"]`)),
		waitAttr(`[data-verification]`, "data-verification", "verified", "failed", "logged"), linksProved)
	if p := served.provingSince(n); len(p) > 0 {
		t.Errorf("proved links went by the proving page: %v", p)
	}
	objectURL := eval(`location.href`)

	// The search form (a GET form, no proof): by the proving page, to
	// the look-up, which the history holds in the proving page's place.
	const q = "aurelia-elections-portal.example"
	histBefore := eval(`String(history.length)`)
	do("the search form", chromedp.SendKeys(chromedp.CSS(`#top-q`), q), chromedp.Submit(chromedp.CSS(`#top-q`)),
		poll(`document.body.innerText.includes("Looked up") && document.body.innerText.includes("Look-alike portal")`))
	if got := eval(`String(history.length)`); got != fmt.Sprint(atoi(t, histBefore)+1) {
		t.Errorf("the look-up added %s entries to the history (from %s), not one: the proving page stayed in it", got, histBefore)
	}
	lookupURL := eval(`location.href`)
	if !strings.Contains(lookupURL, "view=") {
		t.Errorf("the look-up's URL carries no proof: %s", lookupURL)
	}
	// Back to the object, forward to the look-up, reload.
	do("back", chromedp.NavigateBack(), poll(`location.href === `+jsString(objectURL)+` && document.querySelector("[data-verification]") !== null`))
	do("forward", chromedp.NavigateForward(), poll(`location.href === `+jsString(lookupURL)+` && document.body.innerText.includes("Looked up")`))
	n = served.len()
	do("reload", chromedp.Reload(), poll(`document.body.innerText.includes("Looked up") && document.body.innerText.includes("Look-alike portal")`))
	if p := served.provingSince(n); len(p) > 0 {
		t.Errorf("a reload went by the proving page: %v", p)
	}

	// A collection's filter form.
	eval(`window.__old = true; location.assign("/ui/collections/` + f.shared + `"), "went"`)
	do("a collection", poll(`!window.__old && document.querySelector("form.filters") !== null`))
	do("the filter form", chromedp.SendKeys(chromedp.CSS(`form.filters input[name="q"]`), "203.0.113.45"), chromedp.Submit(chromedp.CSS(`form.filters input[name="q"]`)),
		poll(`location.search.includes("view=") && document.querySelector('a[href^="/ui/objects/`+f.indicator+`"]') !== null`))

	// A pasted URL (or a bookmark, or one from an ended session's proof):
	// the page, by the proving page.
	for _, u := range []string{"/ui/objects/" + f.indicator, "/ui/objects/" + f.indicator + "?view=" + strings.Repeat("A", 43), "/ui/members#main"} {
		// As typed in the address bar: chromedp.Navigate would wait for
		// the load of the proving page, which goes on before it loads.
		eval(`window.__old = true; location.assign(` + jsString(base+u) + `), "went"`)
		do("a pasted "+u, poll(`!window.__old && location.search.includes("view=") && !document.getElementById("view-pending") && document.querySelector(".who") !== null`))
		if strings.HasSuffix(u, "#main") && eval(`location.hash`) != "#main" {
			t.Errorf("the proving page lost the URL's fragment: %s", eval(`location.href`))
		}
	}

	// Opening a link in a new tab: a proved link, and a URL without a
	// proof that the page opens.
	do("an object page", chromedp.Navigate(objectURL), waitAttr(`[data-verification]`, "data-verification", "verified", "failed", "logged"), linksProved)
	newTab := func(what string, open func()) {
		t.Helper()
		ch := chromedp.WaitNewTarget(ctx, func(i *target.Info) bool { return i.Type == "page" })
		open()
		var id target.ID
		select {
		case id = <-ch:
		case <-ctx.Done():
			t.Fatalf("%s: no new tab", what)
		}
		tctx, tcancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
		defer tcancel()
		if err := chromedp.Do(tctx, poll(`location.search.includes("view=") && document.querySelector(".who") !== null && !document.getElementById("view-pending")`)); err != nil {
			s, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Errorf("%s in a new tab: %v\n%s", what, err, s)
		}
	}
	// What "Open link in new tab" does: a new tab of the same browser,
	// navigated to the link's URL (headless Chromium has no menu to click).
	href := eval(`document.querySelector('a[href^="/ui/objects/` + f.hostileID + `"]').getAttribute("href")`)
	if !strings.Contains(href, "view=") {
		t.Errorf("the reference's link carries no proof: %s", href)
	}
	n = served.len()
	{
		tctx, tcancel := chromedp.NewContext(ctx)
		if err := chromedp.Do(tctx, chromedp.Navigate(base+href), poll(`document.querySelector(".who") !== null && !document.getElementById("view-pending")`)); err != nil {
			t.Errorf("a link opened in a new tab: %v", err)
		}
		tcancel()
	}
	if p := served.provingSince(n); len(p) > 0 {
		t.Errorf("a proved link opened in a new tab went by the proving page: %v", p)
	}
	newTab("a URL without a proof", func() {
		eval(`window.open("/ui/objects/` + f.report + `", "_blank"), "opened"`)
	})

	// The proof bundle's download link carries its proof: fetched as a
	// download is (the cookie, no header), it is the bundle; without the
	// proof it is refused.
	got := eval(`(async () => {
		const a = document.querySelector('a[download="parley-bundle.json"]');
		const href = a.getAttribute("href");
		const r = await fetch(href, { credentials: "same-origin" });
		const body = await r.text();
		const bare = await fetch(href.replace(/[?&]view=[^&]*/, ""), { credentials: "same-origin" });
		let objects = "not JSON";
		try { objects = JSON.stringify(Object.keys(JSON.parse(body)).length > 0); } catch (e) {}
		return r.status + " " + objects + " " + bare.status + " " + href.includes("view=");
	})()`)
	if got != "200 true 403 true" {
		t.Errorf("the proof bundle's download: %s (want 200 true 403 true: the proved link's JSON, the bare link refused)", got)
	}
}

func atoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

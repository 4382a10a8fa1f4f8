package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAttribution: the object page's header says who shared the
// object ("by cert-borovia"), which the node renders. The browser's check
// names the member that the log entry's commitment binds, and an object
// page that names another member than the log does (an operator who
// edited its records to credit a rival's object to a trusted member, or
// one that renders the page so) fails: "verified" never stands beside
// a sharer the log doesn't name. Where the log and the page agree, the
// check names the member by its name too, not by its id alone.
func TestBrowserAttribution(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	const sighting = "sighting--77777777-7777-4777-8777-777777777777" // borova's, signed
	var lie atomic.Bool
	f.pages = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !lie.Load() || !strings.HasPrefix(r.URL.Path, "/ui/objects/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := bytes.ReplaceAll(rec.Body.Bytes(), []byte(`data-member="`+f.borova.ID+`"`), []byte(`data-member="`+f.aurelia.ID+`"`))
			body = bytes.ReplaceAll(body, []byte("by <strong>cert-borovia</strong>"), []byte("by <strong>cert-aurelia</strong>"))
			body = bytes.ReplaceAll(body, []byte(`data-member-name="cert-borovia"`), []byte(`data-member-name="cert-aurelia"`))
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}
	base := uiServer(t, f, newV2Log(t, f.n))
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)

	st, text := checkObjectPage(t, ctx, base, sighting, "attribution-honest")
	for _, p := range layoutProblems(ctx, t) {
		t.Errorf("the honest page: %s", p)
	}
	if st != "verified" || !strings.Contains(text, "signed by "+f.borova.ID+" (cert-borovia, as your node names it)") {
		t.Fatalf("honest page: %s: %q; want verified, naming the log's member %s and, beside it, its name cert-borovia", st, text, f.borova.ID)
	}
	lie.Store(true)
	st, text = checkObjectPage(t, ctx, base, sighting, "attribution-lie")
	for _, p := range layoutProblems(ctx, t) {
		t.Errorf("the page that credits another member: %s", p)
	}
	if st != "failed" || !strings.Contains(text, f.borova.ID) || !strings.Contains(text, "this page says member cert-aurelia ("+f.aurelia.ID+")") {
		t.Fatalf("a page that credits %s with %s's object: %s: %q; want failed, naming both, the page's by the name it shows", f.aurelia.ID, f.borova.ID, st, text)
	}
}

// TestBrowserMalformedAnswers: a node whose log answers are of the wrong
// shape (a receipt without its fields, null) fails the object page's
// check in words, not with the script engine's own ("Cannot read
// properties of undefined").
func TestBrowserMalformedAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	var answer atomic.Value // the receipt's body, as the node answers it
	answer.Store("")
	wrap := func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if b := answer.Load().(string); b != "" && r.URL.Path == "/log/receipt" {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, b)
				return
			}
			api.ServeHTTP(w, r)
		})
	}
	base := uiServerWrapped(t, f, newV2Log(t, f.n), wrap)
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	if st, text := checkObjectPage(t, ctx, base, f.indicator, ""); st != "verified" {
		t.Fatalf("honest: %s: %q", st, text)
	}
	for i, b := range []string{`{}`, `null`, `{"checkpoint":7,"entry":[]}`, `not json`} {
		answer.Store(b)
		st, text := checkObjectPage(t, ctx, base, f.indicator, fmt.Sprintf("malformed-%d", i))
		// A receipt is read by its field names (ParleyLog.readReceipt),
		// which says what is wrong with it; otherwise the script
		// engine's error is said in words.
		if st != "failed" || !strings.Contains(text, "not what a Parley log serves") && !strings.Contains(text, "couldn't read the object's log receipt: ") {
			t.Errorf("receipt %s: %s: %q; want failed, in words", b, st, text)
		}
	}
}

// TestBrowserFooterClaims: the footer, on every page, claimed that "this
// page checks the proofs in your browser" and that "every object is
// signed by its member": on a look-up, a collection or the home page
// nothing is checked in the browser, and unsigned objects are listed.
// It now says what is the node's word and what is checked where.
func TestBrowserFooterClaims(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	base := uiServer(t, f, newV2Log(t, f.n))
	ctx, cancel := browser(t, 390)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	for _, path := range []string{"/ui/", "/ui/collections/" + f.shared, "/ui/search?q=203.0.113.45", "/ui/members", "/ui/objects/" + f.indicator} {
		// The page itself, not the proving page (which has no CSRF token).
		if err := chromedp.Do(ctx, chromedp.Navigate(base+path), poll(`!!document.querySelector('meta[name="csrf-token"]') && !!document.querySelector("footer")`)); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		footer, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("footer").textContent`))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if strings.Contains(footer, "this page checks") || strings.Contains(footer, "every object is signed") ||
			!strings.Contains(footer, "as your node gives them") {
			t.Errorf("%s: the footer says %q", path, footer)
		}
	}
}

// TestBrowserCheckProgress: while the object page's check waits for the
// node (an answer that doesn't come, a 503), its status says what it
// waits for and why, and the state stays "running", never "verified";
// once the node answers, the check goes on and ends.
func TestBrowserCheckProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	var mode atomic.Value // "", "hang" or "503", for GET /log/receipt
	mode.Store("")
	var mu sync.Mutex
	release := make(chan struct{})
	wrap := func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/log/receipt" {
				switch mode.Load().(string) {
				case "hang":
					mu.Lock()
					ch := release
					mu.Unlock()
					select {
					case <-ch:
					case <-r.Context().Done():
						return
					}
				case "503":
					w.Header().Set("Retry-After", "1")
					http.Error(w, "busy", http.StatusServiceUnavailable)
					return
				}
			}
			api.ServeHTTP(w, r)
		})
	}
	base := uiServerWrapped(t, f, newV2Log(t, f.n), wrap)
	ctx, cancel := browser(t, 390)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	for _, c := range []struct{ mode, says string }{
		{"hang", "waiting for the object's log receipt (no answer from the node for "},
		{"503", "waiting for the object's log receipt (the node answered 503"},
	} {
		mode.Store(c.mode)
		says, _ := json.Marshal(c.says)
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/objects/"+f.indicator),
			poll(`(() => { const e = document.querySelector("[data-verification]"); return !!e && e.getAttribute("data-verification") === "running" && e.querySelector(".status").textContent.includes(`+string(says)+`); })()`),
			shot(t, "progress-"+c.mode)); err != nil {
			t.Fatalf("%s: %v", c.mode, err)
		}
		for _, p := range layoutProblems(ctx, t) {
			t.Errorf("waiting (%s) at 390 px: %s", c.mode, p)
		}
		mode.Store("")
		mu.Lock()
		close(release)
		release = make(chan struct{})
		mu.Unlock()
		if err := chromedp.Do(ctx, waitAttr(`[data-verification]`, "data-verification", "verified", "failed", "logged")); err != nil {
			t.Fatal(err)
		}
		st, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-verification]`), "data-verification"))
		if err != nil || st.Value != "verified" {
			t.Fatalf("%s, then answered: %v %v", c.mode, st, err)
		}
	}
}

// TestBrowserCheckUnanswered: a node that never answers one of the
// check's requests (its headers never come, or its body stops halfway)
// left the page "running", counting seconds for ever. Each answer now
// has a deadline (Deps.CheckTimeout, here 2 s): past it the request is
// aborted and the check ends "unanswered", saying what didn't answer and
// that nothing was verified, with a button that checks again, which,
// the node answering again, verifies.
func TestBrowserCheckUnanswered(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	f.checkTimeout = 2 * time.Second
	var mode atomic.Value // "", "headers" (GET /log/receipt) or "body" (GET /log/keys)
	mode.Store("")
	wrap := func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch m := mode.Load().(string); {
			case m == "headers" && r.URL.Path == "/log/receipt":
				<-r.Context().Done() // never answers
				return
			case m == "body" && r.URL.Path == "/log/keys":
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				w.Write([]byte(`{"checkpoint":`))
				w.(http.Flusher).Flush()
				<-r.Context().Done() // the rest never comes
				return
			}
			api.ServeHTTP(w, r)
		})
	}
	base := uiServerWrapped(t, f, newV2Log(t, f.n), wrap)
	ctx, cancel := browser(t, 390) // a phone: the narrowest the status and its button get
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	for _, c := range []struct{ mode, what string }{
		{"headers", "the object's log receipt"},
		{"body", "the member's key history"},
	} {
		mode.Store(c.mode)
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/objects/"+f.indicator),
			waitAttr(`[data-verification]`, "data-verification", "unanswered", "verified", "failed", "logged"),
			shot(t, "unanswered-"+c.mode)); err != nil {
			t.Fatalf("%s: %v", c.mode, err)
		}
		text, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`[data-verification] .status`)))
		if err != nil {
			t.Fatal(err)
		}
		st, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-verification]`), "data-verification"))
		if err != nil || st.Value != "unanswered" {
			t.Fatalf("%s: the check ended %v (%v): %s", c.mode, st, err, text)
		}
		for _, want := range []string{"Not verified", "no answer came from the node for " + c.what + " within 2 s", "the object was not verified", "Check again"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the status %q doesn't say %q", c.mode, text, want)
			}
		}
		// The button starts a line of its own, where the status's text
		// starts, in the page's own type (not the alert's bold).
		where, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const st = document.querySelector("[data-verification] .status"), b = st.querySelector(".check-again");
			const r = b.getBoundingClientRect(), left = st.getBoundingClientRect().left + parseFloat(getComputedStyle(st).paddingLeft);
			const rg = document.createRange(); rg.selectNodeContents(st.firstChild);
			const lines = [...rg.getClientRects()];
			const problems = [];
			if (Math.abs(r.left - left) > 1) problems.push("starts at " + Math.round(r.left) + " px, the status's text at " + Math.round(left));
			if (r.top < lines[lines.length - 1].bottom - 1) problems.push("shares a line with the status's text");
			if (getComputedStyle(b).fontWeight !== getComputedStyle(document.body).fontWeight) problems.push("is in weight " + getComputedStyle(b).fontWeight);
			return problems.join("; ");
		})()`))
		if err != nil || where != "" {
			t.Errorf("%s: the Check again button %s (%v)", c.mode, where, err)
		}
		for _, p := range layoutProblems(ctx, t) {
			t.Errorf("%s, unanswered: %s", c.mode, p)
		}
		mode.Store("")
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-verification] .check-again`)),
			waitAttr(`[data-verification]`, "data-verification", "verified", "failed", "logged")); err != nil {
			t.Fatalf("%s, checked again: %v", c.mode, err)
		}
		st, err = chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-verification]`), "data-verification"))
		if err != nil || st.Value != "verified" {
			t.Fatalf("%s, checked again with the node answering: %v %v", c.mode, st, err)
		}
	}
}

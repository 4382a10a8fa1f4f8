package web_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/internal/web"
	"github.com/parley-exchange/parley/opinion"
)

// chromium finds the system browser; the browser tests skip, loudly,
// only when there is none.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("\n\n*** SKIPPING THE BROWSER TESTS: no chromium on this machine (apt-get install -y chromium; .ci/run installs it) ***\n")
	return ""
}

// uiServer serves the UI like the node does, except that its scripts
// reach the v2 log of the test (see [v2Log]) instead of the node's v1
// log endpoints.
//
// When the node itself serves log format v2 (GET /log/keys answers), the
// UI reaches the node's own log instead, and l is not used: the same
// tests then check the browser against the real node.
func uiServer(t *testing.T, f *fixture, l *v2Log) string {
	t.Helper()
	return uiServerWrapped(t, f, l, nil)
}

// uiServerWrapped is uiServer with the node's endpoints (the v2 log or
// the node's own) seen through wrap, when it is not nil: a test can
// change what the browser gets.
func uiServerWrapped(t *testing.T, f *fixture, l *v2Log, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var api http.Handler = l
	if nodeSpeaksV2(t, f) {
		api = f.n.Handler(nil)
	}
	if wrap != nil {
		api = wrap(api)
	}
	var st store.Store = f.n.Store()
	if f.store != nil {
		st = f.store(st)
	}
	h, err := web.New(web.Deps{
		Store:        st,
		Authenticate: f.n.Authenticate,
		Concurrence: func(ctx context.Context, m store.Member, object string) (int64, func(context.Context) (opinion.Concurrence, error), error) {
			n, tally, err := f.n.PrepareConcurrence(ctx, m, object, 5*time.Second)
			if err != nil || f.concurrence == nil {
				return n, tally, err
			}
			return n, func(ctx context.Context) (opinion.Concurrence, error) {
				c, err := tally(ctx)
				if err == nil {
					c = f.concurrence(c)
				}
				return c, err
			}, nil
		},
		API:          api,
		AsMember:     f.n.AsMember,
		Now:          f.now,
		CheckTimeout: f.checkTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	var pages http.Handler = h
	if f.pages != nil {
		pages = f.pages(h)
	}
	mux.Handle("/ui/", pages)
	mux.Handle("/", api)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// nodeSpeaksV2 reports whether the fixture's node serves GET /log/keys
// (log format v2).
func nodeSpeaksV2(t *testing.T, f *fixture) bool {
	req, _ := http.NewRequest("GET", "/log/keys?member="+f.aurelia.ID, nil)
	req.Header.Set("Authorization", "Bearer "+f.aurelia.Token)
	rec := httptest.NewRecorder()
	f.n.Handler(nil).ServeHTTP(rec, req)
	if rec.Code == http.StatusOK {
		t.Log("the node serves log format v2: the browser checks the node's own log")
		return true
	}
	return false
}

func browser(t *testing.T, width int) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(width, 900),
		chromedp.Flag("no-first-run", true),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	return ctx, func() { cancelT(); cancelC(); cancelA() }
}

type step = chromedp.Action[chromedp.Void]

// waitAttr waits until the element sel has attribute attr in want.
func waitAttr(sel, attr string, want ...string) step {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			r, err := chromedp.AttributeValue(chromedp.CSS(sel), attr)(ctx, tg)
			if err != nil {
				return err
			}
			for _, w := range want {
				if r.Value == w {
					return nil
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s[%s] stayed %q, want %v: %w", sel, attr, r.Value, want, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// poll waits until the JavaScript expression is true, across page
// loads (an evaluation that fails while the page navigates is retried).
func poll(expr string) step {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, tg)
			if err == nil && ok {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s stayed false (%v)", expr, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

func writeKey(t *testing.T, m member) string {
	der, err := x509.MarshalPKCS8PrivateKey(m.Key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), m.Name+".key")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// shot saves a full-page screenshot to $PARLEY_SCREENSHOTS, if set.
func shot(t *testing.T, name string) step { return shotOf(t, name, true) }

// shotOf saves a screenshot of the whole page (full) or of the viewport.
func shotOf(t *testing.T, name string, full bool) step {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		dir := os.Getenv("PARLEY_SCREENSHOTS")
		if dir == "" {
			return nil
		}
		shoot := chromedp.CaptureScreenshot()
		if full {
			shoot = chromedp.FullScreenshot(100)
		}
		b, err := shoot(ctx, tg)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
	})
}

// TestBrowser drives a real headless Chromium through the UI as an
// analyst: log in, page, filter, look up, open an object and see it
// verified in the browser, see a tampered one fail, post and revoke a
// signed opinion and see the tally change, report a sighting, and check
// that no script from object fields ran.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	// 130 more indicators, so the collection has more than one page.
	var more []map[string]any
	for i := range 130 {
		more = append(more, map[string]any{"type": "indicator", "id": fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i),
			"name": fmt.Sprintf("Bulk indicator %d", i), "pattern": fmt.Sprintf("[ipv4-addr:value = '192.0.2.%d']", i), "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	}
	f.submit(t, f.borova, f.shared, more...)
	l := newV2Log(t, f.n)
	base := uiServer(t, f, l)
	keyFile := writeKey(t, f.aurelia)

	for _, width := range []int{390, 1280} { // 1280 last: it tampers with the store
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx, cancel := browser(t, width)
			defer cancel()
			w := fmt.Sprint(width)
			do := func(what string, steps ...step) {
				t.Helper()
				if err := chromedp.Do(ctx, steps...); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			text := func(sel string) string {
				t.Helper()
				s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
				if err != nil {
					t.Fatalf("text of %s: %v", sel, err)
				}
				return s
			}
			attr := func(sel, name string) string {
				t.Helper()
				r, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
				if err != nil {
					t.Fatalf("%s[%s]: %v", sel, name, err)
				}
				return r.Value
			}
			pwned := func() bool {
				t.Helper()
				v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__pwned !== undefined`))
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			do("log in",
				chromedp.EmulateViewport(int64(width), 900),
				chromedp.Navigate(base+"/ui/"),
				chromedp.WaitVisible(chromedp.CSS(`#token`)),
				shot(t, "login-"+w),
				chromedp.SendKeys(chromedp.CSS(`#token`), f.aurelia.Token),
				chromedp.Submit(chromedp.CSS(`#token`)),
				chromedp.WaitVisible(chromedp.CSS(`table.list`)),
				shot(t, "home-"+w),
			)
			if h := text("h1"); h != "Collections" {
				t.Fatalf("after login: %q", h)
			}
			do("open the collection and page",
				chromedp.Click(chromedp.CSS(`a[href^="/ui/collections/`+f.shared+`?view="]`)),
				chromedp.WaitVisible(chromedp.CSS(`a[rel=next]`)),
				shotOf(t, "collection-"+w, false),
				chromedp.Click(chromedp.CSS(`a[rel=next]`)),
				chromedp.WaitVisible(chromedp.CSS(`a[rel=prev]`)),
			)
			if s := text("table.objects tbody"); !strings.Contains(s, "Bulk indicator 129") {
				t.Errorf("the second page lacks the last object: %q", s)
			}
			do("filter by type",
				chromedp.Navigate(base+"/ui/collections/"+f.shared),
				chromedp.WaitVisible(chromedp.CSS(`#f-type`)),
				chromedp.SetValue(chromedp.CSS(`#f-type`), "malware"),
				chromedp.Submit(chromedp.CSS(`#f-type`)),
				chromedp.WaitVisible(chromedp.CSS(`.filters .actions a`)),
			)
			if s := text("table.objects tbody"); strings.Count(s, "malware") != 1 || strings.Contains(s, "Bulk") {
				t.Errorf("type filter: %q", s)
			}
			do("filter by text",
				chromedp.Navigate(base+"/ui/collections/"+f.shared+"?q=Bulk+indicator+12"),
				chromedp.WaitVisible(chromedp.CSS(`table.objects`)),
			)
			if s := text("table.objects tbody"); !strings.Contains(s, "Bulk indicator 12") || strings.Contains(s, "Bulk indicator 13") {
				t.Errorf("text filter: %q", s)
			}
			do("look up an address",
				chromedp.SendKeys(chromedp.CSS(`#top-q`), "192.0.2.77"),
				chromedp.Submit(chromedp.CSS(`#top-q`)),
				chromedp.WaitVisible(chromedp.CSS(`#s-q`)),
			)
			if s := text("main"); !strings.Contains(s, "Bulk indicator 77") || strings.Contains(s, "Bulk indicator 7 ") {
				t.Errorf("lookup: %q", s)
			}
			do("open an object and see it verified",
				chromedp.Navigate(base+"/ui/objects/"+f.indicator),
				waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
				shot(t, "object-"+w),
			)
			if st, s := attr(`[data-verification]`, "data-verification"), text(`[data-verification]`); st != "verified" || !strings.Contains(s, "First use: pinned") {
				t.Fatalf("verification %s: %s", st, s)
			}
			if pwned() {
				t.Error("a script from an object field ran")
			}
			for _, id := range []string{f.hostileID, f.report} {
				do("the hostile objects' pages run no script either",
					chromedp.Navigate(base+"/ui/objects/"+id),
					waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
				)
				if st := attr(`[data-verification]`, "data-verification"); st != "verified" {
					t.Errorf("%s: %s: %s", id, st, text(`[data-verification]`))
				}
				if pwned() {
					t.Error("a script from an object field ran")
				}
			}
			// (A logout without it only drops the cookie: session.js's way
			// out of a planted session, TestBrowserSessionPlantedFromAnotherPort.)
			status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/ui/objects/`+f.report+`/opinion", {method: "POST"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
			if err != nil || status != http.StatusForbidden {
				t.Errorf("POST without csrf from the page: %d %v", status, err)
			}
			if width != 1280 {
				return
			}
			do("post a signed opinion and see the tally change",
				chromedp.Navigate(base+"/ui/objects/"+f.report),
				chromedp.WaitVisible(chromedp.CSS(`#opinion-form`)),
				chromedp.SetValue(chromedp.CSS(`#op-value`), "agree"),
				chromedp.SendKeys(chromedp.CSS(`#op-conf`), "80"),
				chromedp.SendKeys(chromedp.CSS(`#op-expl`), "Matches our own telemetry <b>exactly</b>"),
				chromedp.SetUploadFiles(chromedp.CSS(`#op-key`), []string{keyFile}),
				chromedp.Click(chromedp.CSS(`#opinion-form button[type=submit]`)),
				poll(`(document.querySelector('[data-count="agree"]') || {}).textContent === "1"`),
				shot(t, "opinions-"+w),
			)
			if s := text(".opinions"); !strings.Contains(s, "Matches our own telemetry <b>exactly</b>") || !strings.Contains(s, "cert-aurelia (you)") {
				t.Errorf("the new opinion isn't shown as text: %q", s)
			}
			do("revoke it",
				chromedp.WaitVisible(chromedp.CSS(`.revoke-form`)),
				chromedp.SetUploadFiles(chromedp.CSS(`.revoke-form input[type=file]`), []string{keyFile}),
				chromedp.Click(chromedp.CSS(`.revoke-form button[type=submit]`)),
				poll(`(document.querySelector('[data-count="agree"]') || {}).textContent === "0" && !document.querySelector('.revoke-form')`),
			)
			do("report a sighting",
				chromedp.Navigate(base+"/ui/objects/"+f.indicator),
				chromedp.WaitVisible(chromedp.CSS(`#sighting-form`)),
				chromedp.SetValue(chromedp.CSS(`#si-count`), "4"),
				chromedp.SetUploadFiles(chromedp.CSS(`#si-key`), []string{keyFile}),
				chromedp.Click(chromedp.CSS(`#sighting-form button[type=submit]`)),
				poll(`document.body.textContent.includes("Seen 7 times")`),
			)
			// Tamper with the stored object behind the node's back: the
			// browser's check fails.
			db, _ := f.n.Store().(*sqlite.Store).DB()
			if _, err := db.Exec(`UPDATE objects SET raw = CAST(replace(CAST(raw AS TEXT), 'Look-alike portal', 'Harmless portal') AS BLOB) WHERE object_id = ?`, f.indicator); err != nil {
				t.Fatal(err)
			}
			do("see a tampered object fail",
				chromedp.Navigate(base+"/ui/objects/"+f.indicator),
				waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
				shot(t, "tampered-"+w),
			)
			if st, s := attr(`[data-verification]`, "data-verification"), text(`[data-verification]`); st != "failed" || !strings.Contains(s, "commitment") {
				t.Errorf("tampered object: %s: %s", st, s)
			}
			do("a changed log key is an alarm",
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := chromedp.Evaluate[any](`localStorage.setItem("parley.pinned-log-key", "other+00000000+AQ`+strings.Repeat("A", 42)+`=")`)(ctx, tg)
					return err
				}),
				chromedp.Navigate(base+"/ui/objects/"+f.hostileID),
				waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
			)
			if st, s := attr(`[data-verification]`, "data-verification"), text(`.pin`); st != "failed" || !strings.Contains(s, "ALARM") {
				t.Errorf("changed key: %s: %s", st, s)
			}
		})
	}
}

package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSharedButUnanswered: the node stores a sighting the browser
// signed and posted, then its answer is lost (the connection drops: the
// node restarts, a proxy times out) or is a 503 (the database went away
// at the commit, which may have been stored all the same). The page must
// not tell the analyst "Not shared", who would share it again and count
// the sighting twice: it says it may have been shared and to reload to
// see. A refusal the node did answer still says "Not shared".
func TestBrowserSharedButUnanswered(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	var mode atomic.Value // "drop", "503" or "" (pass through)
	mode.Store("")
	f.pages = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m := mode.Load().(string)
			if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/ui/api/collections/") || m == "" {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r) // stored
			if rec.Code/100 != 2 {
				t.Errorf("the node refused the sighting: %d %s", rec.Code, rec.Body)
			}
			switch m {
			case "drop":
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				conn.Close()
			case "503":
				w.Header().Set("Retry-After", "5")
				http.Error(w, "the node's database is unavailable; retry later", http.StatusServiceUnavailable)
			}
		})
	}
	base := uiServer(t, f, newV2Log(t, f.n))
	keyFile := writeKey(t, f.aurelia)
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	result := func() string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#sighting-form .result`)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	seen := 3 // the fixture's sighting
	for _, m := range []string{"drop", "503"} {
		mode.Store(m)
		if err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/ui/objects/"+f.indicator),
			chromedp.WaitVisible(chromedp.CSS(`#sighting-form`)),
			chromedp.SetValue(chromedp.CSS(`#si-count`), "2"),
			chromedp.SetUploadFiles(chromedp.CSS(`#si-key`), []string{keyFile}),
			chromedp.Click(chromedp.CSS(`#sighting-form button[type=submit]`)),
			poll(`document.querySelector("#sighting-form .result").classList.contains("bad")`),
		); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		seen += 2
		got := result()
		if strings.Contains(got, "Not shared") || !strings.Contains(got, "may have been shared") || !strings.Contains(got, "Reload") {
			t.Errorf("%s: the node stored the sighting, and the page says %q", m, got)
		}
		// It was stored: a reload shows it.
		mode.Store("")
		if err := chromedp.Do(ctx, chromedp.Reload(),
			poll(`document.body.textContent.includes("Seen `+strconv.Itoa(seen)+` times")`)); err != nil {
			t.Errorf("%s: after a reload: %v", m, err)
		}
	}
	// A refusal the node answered: nothing stored, and the page says so.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/ui/objects/"+f.indicator),
		chromedp.WaitVisible(chromedp.CSS(`#sighting-form`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](`document.querySelector("#si-coll").options[0].value = "00000000-0000-4000-8000-000000000000"`)(ctx, tg)
			return err
		}),
		chromedp.SetUploadFiles(chromedp.CSS(`#si-key`), []string{keyFile}),
		chromedp.Click(chromedp.CSS(`#sighting-form button[type=submit]`)),
		poll(`document.querySelector("#sighting-form .result").classList.contains("bad")`),
	); err != nil {
		t.Fatal(err)
	}
	if got := result(); !strings.HasPrefix(got, "Not shared") {
		t.Errorf("a refused sighting: the page says %q", got)
	}
}

package web_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserRevokeSignsOnlyOwnOpinion: the revoke form's script signs
// again, with the analyst's key, the opinion the node puts in the page
// (data-opinion). It read it with JSON.parse and signed whatever it was.
// Now it reads it as Go does (ParleyLog.parseIJSON) and signs only an
// opinion of the analyst's, of the id the form shows; anything else is
// "Not shared", saying why with the node's text inert, and nothing is
// posted. The honest form revokes.
func TestBrowserRevokeSignsOnlyOwnOpinion(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	const opID = "opinion--0b0b0b0b-0000-4000-8000-00000000000b"
	f.submit(t, f.aurelia, f.shared, map[string]any{"type": "opinion", "id": opID, "opinion": "agree",
		"object_refs": []string{f.report}, "explanation": "Aurelia's own words"})
	var (
		mu      sync.Mutex
		opinion string // data-opinion as the page gives it; "" as the node renders it
		posts   int
	)
	attr := regexp.MustCompile(`data-opinion="[^"]*"`)
	f.pages = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			o := opinion
			mu.Unlock()
			if o == "" || !strings.HasPrefix(r.URL.Path, "/ui/objects/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(attr.ReplaceAll(rec.Body.Bytes(), []byte(`data-opinion="`+html.EscapeString(o)+`"`)))
		})
	}
	wrap := func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/objects/") {
				mu.Lock()
				posts++
				mu.Unlock()
			}
			api.ServeHTTP(w, r)
		})
	}
	base := uiServerWrapped(t, f, newV2Log(t, f.n), wrap)
	keyFile := writeKey(t, f.aurelia)
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)

	// refused submits the revoke form and returns what it says when it
	// refuses.
	refused := func(shotName string) string {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/ui/objects/"+f.report),
			chromedp.WaitVisible(chromedp.CSS(`.revoke-form`)),
			chromedp.SetUploadFiles(chromedp.CSS(`.revoke-form input[type=file]`), []string{keyFile}),
			chromedp.Click(chromedp.CSS(`.revoke-form button[type=submit]`)),
			poll(`!!document.querySelector(".revoke-form .result.bad")`),
			shot(t, shotName),
		)
		if err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`.revoke-form .result`)))
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	head := `"type":"opinion","spec_version":"2.1","created":"2026-09-14T08:30:00.000Z","modified":"2026-09-14T08:30:00.000Z","opinion":"agree","object_refs":["` + f.report + `"]`
	for _, c := range []struct{ name, opinion, want string }{
		{"another-members", `{` + head + `,"id":"` + opID + `","created_by_ref":"identity--\u202etsim\u202c"}`,
			"Not shared: the opinion the node gave to revoke is not yours: it names identity--[U+202E]tsim[U+202C]"},
		{"another-id", `{` + head + `,"id":"opinion--0c0c0c0c-0000-4000-8000-00000000000c","created_by_ref":"` + f.aurelia.ID + `"}`,
			"Not shared: the node gave another object than your opinion " + opID + " to revoke"},
		{"not-an-opinion", `["` + opID + `"]`, "Not shared: the node gave another object"},
		{"name-twice", `{` + head + `,"id":"` + opID + `","created_by_ref":"` + f.aurelia.ID + `","explanation":"a","explanation":"b"}`,
			`Not shared: member name "explanation" given twice`},
	} {
		mu.Lock()
		opinion = c.opinion
		mu.Unlock()
		text := refused("revoke-refused-" + c.name)
		if !strings.Contains(text, c.want) || strings.ContainsAny(text, "\u202e\u202c") {
			t.Errorf("%s: %q, want %q, with the node's text inert", c.name, text, c.want)
		}
	}
	mu.Lock()
	opinion = ""
	n := posts
	mu.Unlock()
	if n != 0 {
		t.Errorf("%d posts for the forms that were refused", n)
	}
	// The honest form signs, shares and reloads the page, where the
	// opinion no longer counts and has no revoke form.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/ui/objects/"+f.report),
		chromedp.WaitVisible(chromedp.CSS(`.revoke-form`)),
		chromedp.SetUploadFiles(chromedp.CSS(`.revoke-form input[type=file]`), []string{keyFile}),
		chromedp.Click(chromedp.CSS(`.revoke-form button[type=submit]`)),
		poll(`(document.querySelector('[data-count="agree"]') || {}).textContent === "0" && !document.querySelector('.revoke-form')`),
	); err != nil {
		t.Fatalf("the honest revoke: %v", err)
	}
}

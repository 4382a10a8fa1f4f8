package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-exchange/parley/internal/demo"
	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/stix"
)

// TestScreenshots renders the demo's data (parley demo) at 1280 and 390
// pixels wide into $PARLEY_SCREENSHOTS, for the README (docs/screenshots):
//
//	PARLEY_SCREENSHOTS=$PWD/docs/screenshots go test -run TestScreenshots ./internal/web
//
// Without the variable it does nothing: it makes pictures for people to
// look at; TestBrowser is what checks the pages.
func TestScreenshots(t *testing.T) {
	if os.Getenv("PARLEY_SCREENSHOTS") == "" {
		t.Skip("set PARLEY_SCREENSHOTS=DIR to make the README's screenshots")
	}
	chromium(t)
	ctx := context.Background()
	n := openNode(t, node.Config{Origin: "parley.demo.example/ui"})
	f := &fixture{n: n}
	keys := map[string]member{}
	for _, name := range []string{demo.Aurelia, demo.Borovia} {
		keys[name] = addMember(t, n, name, true)
	}
	f.aurelia, f.borova = keys[demo.Aurelia], keys[demo.Borovia]
	both := []string{demo.Aurelia, demo.Borovia}
	colls := map[string]string{}
	var err error
	if colls[demo.Shared], err = n.AddCollection(ctx, demo.Shared, "Election-security intelligence shared by CERT-Aurelia and CERT-Borovia.", both, both, ""); err != nil {
		t.Fatal(err)
	}
	if colls[demo.Private], err = n.AddCollection(ctx, demo.Private, "", []string{demo.Borovia}, []string{demo.Borovia}, ""); err != nil {
		t.Fatal(err)
	}
	serveNode(t, n)
	for _, batch := range append(demo.Scenario(f.aurelia.ID, f.borova.ID), demo.Opinions(f.aurelia.ID, f.borova.ID)...) {
		m := keys[batch.Member]
		var signed []json.RawMessage
		for _, o := range batch.Objects {
			s, err := stix.Sign(o, m.Key)
			if err != nil {
				t.Fatal(err)
			}
			signed = append(signed, s)
		}
		c, err := n.Store().Collection(ctx, colls[batch.Collection])
		if err != nil {
			t.Fatal(err)
		}
		if st, err := n.Submit(ctx, m.ID, c, signed); err != nil || len(st.Failures) > 0 {
			t.Fatalf("demo batch: %v %+v", err, st.Failures)
		}
	}
	shared := colls[demo.Shared]
	// The states the demo doesn't reach: its author revokes the
	// attribution (its opinions then say so), the node serves a proof
	// that fails for one indicator and never answers for another.
	revoke(t, f, keys[demo.Aurelia], shared, demo.Attribution)
	// References nested in an extension and in an embedded object,
	// named as the top-level ones are.
	const nested = "malware--7a1e0c52-4b3d-4e0f-9a21-0000000000e1"
	f.submit(t, keys[demo.Aurelia], shared, map[string]any{"type": "malware", "id": nested, "name": "Ballot-stuffer loader", "is_family": false,
		"extensions": map[string]any{"extension-definition--7a1e0c52-4b3d-4e0f-9a21-0000000000e2": map[string]any{"extension_type": "property-extension",
			"x_campaign_report_ref": demo.Report, "x_related": map[string]any{"x_indicator_refs": []string{"indicator--7a1e0c52-4b3d-4e0f-9a21-00000000000b", "indicator--7a1e0c52-4b3d-4e0f-9a21-0000000000ff"}}}},
		"x_analysis": []any{map[string]any{"note": "delivered together", "x_seen_with_ref": "indicator--7a1e0c52-4b3d-4e0f-9a21-00000000000b"}}})
	const failing, silent = "indicator--7a1e0c52-4b3d-4e0f-9a21-000000000008", "indicator--7a1e0c52-4b3d-4e0f-9a21-000000000009"
	f.checkTimeout = 2 * time.Second
	lying := lyingNode(failing, "")
	base := uiServerWrapped(t, f, newV2Log(t, n), func(api http.Handler) http.Handler {
		api = lying(api)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/log/receipt" && r.URL.Query().Get("object") == silent {
				<-r.Context().Done() // never answers
				return
			}
			api.ServeHTTP(w, r)
		})
	})
	for _, width := range []int{1280, 390} {
		bctx, cancel := browser(t, width)
		w := fmt.Sprint(width)
		err := chromedp.Do(bctx,
			chromedp.EmulateViewport(int64(width), 900),
			chromedp.Navigate(base+"/ui/"),
			chromedp.WaitVisible(chromedp.CSS(`#token`)),
			shotOf(t, "login-"+w, false),
			chromedp.SendKeys(chromedp.CSS(`#token`), f.aurelia.Token),
			chromedp.Submit(chromedp.CSS(`#token`)),
			chromedp.WaitVisible(chromedp.CSS(`table.list`)),
			shotOf(t, "home-"+w, false),
			chromedp.Navigate(base+"/ui/collections/"+shared),
			chromedp.WaitVisible(chromedp.CSS(`table.objects`)),
			shotOf(t, "collection-"+w, false),
			chromedp.Navigate(base+"/ui/search?q=203.0.113.0%2F24"),
			chromedp.WaitVisible(chromedp.CSS(`#s-q`)),
			shotOf(t, "search-"+w, false),
			chromedp.Navigate(base+"/ui/objects/"+demo.Report),
			waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
			shotOf(t, "report-"+w, true),
			chromedp.Navigate(base+"/ui/objects/indicator--7a1e0c52-4b3d-4e0f-9a21-00000000000b"),
			waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
			shotOf(t, "indicator-"+w, false),
			// A sighting: the indicator it is of and the member's
			// identity it was seen at, named.
			chromedp.Navigate(base+"/ui/objects/sighting--7a1e0c52-4b3d-4e0f-9a21-00000000000c"),
			waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
			shotOf(t, "sighting-"+w, true),
			chromedp.Navigate(base+"/ui/search?q=198.51.100.77"),
			chromedp.WaitVisible(chromedp.CSS(`.empty`)),
			shotOf(t, "search-empty-"+w, false),
			chromedp.Navigate(base+"/ui/no/such/page"),
			chromedp.WaitVisible(chromedp.CSS(`h1`)),
			shotOf(t, "error-"+w, false),
			chromedp.Navigate(base+"/ui/objects/"+failing),
			waitAttr(`[data-verification]`, "data-verification", "failed"),
			shotOf(t, "check-failed-"+w, false),
			chromedp.Navigate(base+"/ui/objects/"+silent),
			waitAttr(`[data-verification]`, "data-verification", "unanswered"),
			shotOf(t, "check-unanswered-"+w, false),
			chromedp.Navigate(base+"/ui/objects/"+demo.Attribution),
			waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
			chromedp.WaitVisible(chromedp.CSS(`.revoked-warning`)),
			shotOf(t, "revoked-"+w, true),
			chromedp.Navigate(base+"/ui/objects/"+nested),
			waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
			shotOf(t, "nested-refs-"+w, true),
		)
		if err == nil {
			// The proving page, as it stays with JavaScript off.
			provingPage(t, bctx, base+"/ui/members", func() {
				if err := chromedp.Do(bctx, shotOf(t, "prove-"+w, false)); err != nil {
					t.Fatal(err)
				}
			})
		}
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}

package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/parley-exchange/parley/internal/store"
)

// TestBrowserHostileEverywhere: a hostile member writes markup, script
// and URL-scheme payloads into every string it controls; every page that
// shows them, opened in a real Chromium, runs no script, requests nothing
// off the node's origin, and links no script URL.
func TestBrowserHostileEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	ctx0 := context.Background()
	p := func(i int) string {
		return fmt.Sprintf(`<img src=x onerror="window.__pwned=%d"><script>window.__pwned=%d</script><svg onload="window.__pwned=%d"></svg><style>*{background:url(//evil.example/c)}</style><link rel=stylesheet href=//evil.example/s.css><img src=//evil.example/i.png>`, i, i, i)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	evilName := `Evil <img src=x onerror="window.__pwned=90"> " ' & org`
	nm, err := f.n.AddMember(ctx0, evilName, pub)
	if err != nil {
		t.Fatal(err)
	}
	evil := member{ID: nm.ID, Token: nm.Token, Name: evilName, Key: priv}
	coll, err := f.n.AddCollection(ctx0, "Coll "+p(91), "Desc "+p(92), []string{"cert-aurelia", nm.ID}, []string{"cert-aurelia", nm.ID}, "")
	if err != nil {
		t.Fatal(err)
	}
	urls := []string{"javascript:window.__pwned=93", "JaVaScRiPt:window.__pwned=94",
		"data:text/html,<script>window.__pwned=96</script>", "vbscript:x", "https://evil.example/ok"}
	var refs []map[string]any
	for i, u := range urls {
		refs = append(refs, map[string]any{"source_name": p(100 + i), "url": u, "description": p(110 + i), "external_id": p(120 + i)})
	}
	ind := "indicator--dededede-0000-4000-8000-000000000001"
	rep := "report--dededede-0000-4000-8000-000000000002"
	ta := "threat-actor--dededede-0000-4000-8000-000000000003"
	f.submit(t, evil, coll,
		map[string]any{"type": "indicator", "id": ind, "name": p(1), "description": p(2), "labels": []string{p(3)},
			"pattern": "[domain-name:value = '" + strings.ReplaceAll(p(4), "'", "\\'") + "']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z",
			"kill_chain_phases":   []map[string]any{{"kill_chain_name": p(5), "phase_name": p(6)}},
			"external_references": refs, "x_evil": p(7), "x_nested": map[string]any{"k": p(8), "list": []string{p(9)}},
			"indicator_types": []string{p(11)}},
		map[string]any{"type": "threat-actor", "id": ta, "name": p(20), "aliases": []string{p(21)}, "goals": []string{p(22)}, "roles": []string{p(23)},
			"description": p(24), "x_mitre_version": p(25)},
		map[string]any{"type": "file", "id": "file--0fedf543-2aa7-542a-9616-bc3e2ad8a3fc", "name": p(30) + ".exe",
			"hashes": map[string]any{"SHA-256": strings.Repeat("cd", 32)}},
		map[string]any{"type": "report", "id": rep, "name": p(40), "description": p(41), "published": "2026-09-15T00:00:00Z",
			"object_refs": []string{ind, ta}, "report_types": []string{p(42)}},
		map[string]any{"type": "relationship", "id": "relationship--dededede-0000-4000-8000-000000000005", "relationship_type": "indicates",
			"source_ref": ind, "target_ref": ta, "description": p(51)},
		map[string]any{"type": "opinion", "id": "opinion--dededede-0000-4000-8000-000000000006", "opinion": "agree",
			"object_refs": []string{rep}, "explanation": p(60), "authors": []string{p(61)}},
		map[string]any{"type": "sighting", "id": "sighting--dededede-0000-4000-8000-000000000007", "sighting_of_ref": ind,
			"count": 2, "first_seen": "2026-09-15T10:00:00Z", "description": p(70)},
		map[string]any{"type": "note", "id": "note--dededede-0000-4000-8000-000000000008", "abstract": p(80), "content": p(81), "authors": []string{p(82)},
			"object_refs": []string{ind}},
	)
	base := uiServer(t, f, newV2Log(t, f.n))
	origin, _ := url.Parse(base)

	ctx, cancel := browser(t, 1280)
	defer cancel()
	var (
		mu      sync.Mutex
		offsite []string
	)
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			u, err := url.Parse(e.Request.URL)
			if err != nil || (u.Host != origin.Host && u.Scheme != "data") {
				mu.Lock()
				offsite = append(offsite, e.Request.URL)
				mu.Unlock()
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	logIn(t, ctx, base, f.aurelia.Token)
	q := url.QueryEscape(p(200))
	pages := []string{"/ui/", "/ui/collections/" + coll, "/ui/collections/" + coll + "?q=" + q + "&type=" + q + "&creator=" + q + "&tlp=" + q + "&from=" + q + "&to=" + q,
		"/ui/search?q=" + q, "/ui/search?q=evil.example", "/ui/members", "/ui/private", "/ui/" + q, "/ui/objects/" + q,
		"/ui/login?next=" + url.QueryEscape("javascript:window.__pwned=201"),
		"/ui/objects/" + ind, "/ui/objects/" + ta, "/ui/objects/" + rep, "/ui/objects/file--0fedf543-2aa7-542a-9616-bc3e2ad8a3fc",
		"/ui/objects/relationship--dededede-0000-4000-8000-000000000005", "/ui/objects/opinion--dededede-0000-4000-8000-000000000006",
		"/ui/objects/sighting--dededede-0000-4000-8000-000000000007", "/ui/objects/note--dededede-0000-4000-8000-000000000008"}
	for i, pg := range pages {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+pg), chromedp.WaitReady(chromedp.CSS(`body`))); err != nil {
			t.Fatalf("%s: %v", pg, err)
		}
		waitPastProving(t, ctx, pg)
		var steps []step
		if strings.HasPrefix(pg, "/ui/objects/") && !strings.Contains(pg, "%") {
			steps = append(steps, waitAttr(`[data-verification]`, "data-verification", "verified", "failed", "logged"))
		}
		steps = append(steps, shot(t, fmt.Sprintf("hostile-%02d", i)))
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", pg, err)
		}
		type res struct {
			Pwned  any      `json:"pwned"`
			Hrefs  []string `json:"hrefs"`
			Styles int      `json:"styles"`
		}
		r, err := chromedp.Run(ctx, chromedp.Evaluate[res](`({pwned: window.__pwned === undefined ? null : window.__pwned,
			hrefs: Array.from(document.querySelectorAll("a[href],area[href],form[action],iframe,embed,object,frame")).map(a => /^(a|area|form)$/i.test(a.tagName) ? new URL(a.getAttribute("href") || a.getAttribute("action"), location.href).href : a.tagName).filter(h => !/^(https?:|mailto:)/i.test(h)),
			styles: document.querySelectorAll("body style, body link, body img[src^='x'], body svg[onload]").length})`))
		if err != nil {
			t.Fatalf("%s: %v", pg, err)
		}
		if r.Pwned != nil || len(r.Hrefs) > 0 || r.Styles > 0 {
			t.Errorf("%s: script ran: %v; non-http links: %q; hostile elements: %d", pg, r.Pwned, r.Hrefs, r.Styles)
		}
		if pg == "/ui/objects/"+ind {
			st, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-verification]`), "data-verification"))
			t.Logf("hostile indicator: %s", st.Value)
		}
	}
	mu.Lock()
	if len(offsite) > 0 {
		t.Errorf("requests off the node's origin: %q", offsite)
	}
	mu.Unlock()

	// A page of another origin posts a form to the UI with the analyst's
	// browser: nothing must be written.
	before := countObjects(t, f, coll)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id=f method=post action="%s/ui/objects/%s/opinion"><input name=opinion value=strongly-disagree><input name=explanation value=csrf><input name=confidence value=99></form>
<form id=g method=post action="%s/ui/api/collections/%s/objects/" enctype="text/plain"><input name='{"objects":[{"type":"note","x":"' value='"}]}'></form>
<form id=h method=post action="%s/ui/logout"></form><script>document.getElementById(location.hash.slice(1)).submit()</script>`, base, rep, base, coll, base)
	}))
	defer other.Close()
	for _, form := range []string{"f", "g", "h"} {
		var status string
		if err := chromedp.Do(ctx, chromedp.Navigate(other.URL+"/#"+form), poll(`location.href.startsWith(`+fmt.Sprintf("%q", base)+`)`),
			chromedp.WaitReady(chromedp.CSS(`body`))); err != nil {
			t.Fatalf("cross-origin form %s: %v", form, err)
		}
		status, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 200)`))
		t.Logf("cross-origin form %s: %q", form, status)
	}
	if after := countObjects(t, f, coll); after != before {
		t.Errorf("a cross-origin form wrote: %d objects, then %d", before, after)
	}
	// Still logged in: the cross-origin logout did nothing.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.CSS(`table.list`))); err != nil {
		t.Errorf("after a cross-origin logout form: %v", err)
	}
}

// countObjects counts the object versions in every collection.
func countObjects(t *testing.T, f *fixture, _ string) int {
	t.Helper()
	ctx := context.Background()
	cs, err := f.n.Store().Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cs {
		p, err := f.n.Store().Objects(ctx, store.Query{Collection: c.ID, Versions: []store.VersionSelector{{Kind: store.VersionAll}}, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Objects)
	}
	return n
}

// waitPastProving waits until the tab shows the page asked for (pg): a
// page asked for without a view proof comes by the proving page, whose
// script then replaces it with the page. Checked from here, not by a
// poll in the page, whose context the replacement destroys. Without it
// the checks ran on the proving page, and the next navigation raced the
// replacement, one of them aborted (net::ERR_ABORTED, seen under -race in
// CI).
func waitPastProving(t *testing.T, ctx context.Context, pg string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !document.getElementById("view-pending")`))
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still on the proving page after a minute (%v)", pg, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", pg, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

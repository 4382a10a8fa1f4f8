package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

// layoutJS lists what a person looking at the rendered page would
// notice, as the page is laid out at the browser's width:
//   - anything reaching past the viewport's edges (the page scrolls
//     sideways, or text is cut off), except inside elements that scroll
//     on purpose (pre);
//   - a form control without an accessible name (label, aria-label);
//   - text, SVG text included, with a contrast ratio under WCAG AA
//     (4.5:1, or 3:1 for large text) against the background it sits on;
//   - SVG text rendered smaller than 10 px (a scaled-down chart), or
//     reaching past its picture's edge (cut off), or over another label;
//   - a date, an opinion, a TLP badge or (on a wide page) a member's
//     name broken over two lines, and a
//     number column not aligned right;
//   - form fields side by side whose boxes differ in height, so their
//     labels don't line up;
//   - on a wide page, a list table's row whose cells' first lines are
//     not on one baseline (a smaller type name riding higher);
//   - the footer's text not starting where the page's does;
//   - on a narrow page, a list table whose first cell (the object's
//     name) gets less than half the table's width, so its words break
//     one per line.
const layoutJS = `(() => {` + jsHelpers + `
  const out = [];
  const W = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > W) out.push("the page scrolls sideways: " + document.documentElement.scrollWidth + " px wide in " + W);
  let n = 0;
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".skip, .visually-hidden") || (el.parentElement && el.parentElement.closest("pre")) || !shown(el)) continue;
    const r = el.getBoundingClientRect();
    if ((r.right > W + 1 || r.left < -1) && n++ < 8) out.push(name(el) + " spans " + Math.round(r.left) + ".." + Math.round(r.right) + " px, past the " + W + " px viewport");
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea, button")) {
    let label = "";
    if (el.labels) for (const l of el.labels) label += l.textContent;
    label += el.getAttribute("aria-label") || "";
    for (const id of (el.getAttribute("aria-labelledby") || "").split(/\s+/)) if (id && document.getElementById(id)) label += document.getElementById(id).textContent;
    if (el.tagName === "BUTTON") label += el.textContent;
    if (!label.trim()) out.push(name(el) + " has no accessible name");
  }
  n = 0;
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".visually-hidden, .skip, title") || !shown(el)) continue;
    if (![...el.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim())) continue;
    const s = getComputedStyle(el);
    const svg = el instanceof SVGElement;
    const bg = background(svg ? el.ownerSVGElement : el);
    const fg = rgba(svg ? s.fill : s.color), a = fg[3] * opacity(el);
    const blended = [0, 1, 2].map((i) => fg[i] * a + bg[i] * (1 - a));
    const px = svg ? el.getBoundingClientRect().height : parseFloat(s.fontSize);
    const large = px >= 24 || (px >= 18.6 && +s.fontWeight >= 700);
    const cr = ratio(blended, bg);
    if (cr < (large ? 3 : 4.5) && n++ < 8) out.push(name(el) + " has contrast " + cr.toFixed(2) + ":1");
    if (svg && el.tagName === "text") {
      const r = el.getBoundingClientRect(), box = el.ownerSVGElement.getBoundingClientRect();
      if (r.height < 10) out.push(name(el) + " is drawn " + r.height.toFixed(1) + " px high");
      if (r.left < box.left - 1 || r.right > box.right + 1) out.push(name(el) + " is cut off by its picture's edge");
    }
  }
  for (const svg of document.querySelectorAll("svg")) {
    const texts = [...svg.querySelectorAll("text")].filter(shown);
    n = 0;
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i].getBoundingClientRect(), b = texts[j].getBoundingClientRect();
      if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1 && n++ < 4) out.push(name(texts[i]) + " is drawn over " + name(texts[j]));
    }
  }
  for (const el of document.querySelectorAll(W > 640 ? "time, .op, .tlp, td.member" : "time, .op, .tlp")) {
    if (!shown(el)) continue;
    const rg = document.createRange();
    rg.selectNodeContents(el);
    // On one line every box overlaps every other vertically (a smaller
    // type's box starts lower but still shares the line); a box wholly
    // below another is on a later line.
    const rs = [...rg.getClientRects()].filter((r) => r.height > 0);
    if (rs.some((a) => rs.some((b) => b.top >= a.bottom - 1))) out.push(name(el) + " is broken over lines");
  }
  if (W > 640) for (const el of document.querySelectorAll("table.list .num")) {
    if (shown(el) && getComputedStyle(el).textAlign !== "right") out.push(name(el) + " is aligned " + getComputedStyle(el).textAlign + ", not right");
  }
  // The first lines of a row's cells on one baseline (a probe, an empty
  // inline-block, sits on its line's baseline).
  if (W > 640) for (const tr of document.querySelectorAll("table.list tbody tr")) {
    if (!shown(tr)) continue;
    const bases = [];
    for (const td of tr.children) {
      if (!td.textContent.trim() || !shown(td)) continue;
      const p = document.createElement("span");
      p.style.cssText = "display:inline-block;width:0;height:0";
      td.prepend(p);
      bases.push(p.getBoundingClientRect().bottom);
      p.remove();
    }
    if (bases.length > 1 && Math.max(...bases) - Math.min(...bases) > 1) {
      out.push("table row " + name(tr) + ": its cells' first lines are not on one baseline (" + bases.map(Math.round).join(", ") + ")");
      break;
    }
  }
  for (const form of document.querySelectorAll(".filters, .signed-form")) {
    const rows = {};
    for (const c of form.querySelectorAll("input:not([type=hidden]):not([type=file]), select")) {
      if (!shown(c)) continue;
      const r = c.getBoundingClientRect(), k = Math.round(r.bottom);
      (rows[k] = rows[k] || []).push(r.height);
    }
    for (const k in rows) if (Math.max(...rows[k]) - Math.min(...rows[k]) > 1) out.push(name(form) + ": fields side by side are " + rows[k].map(Math.round).join(", ") + " px high");
  }
  const mainEl = document.querySelector("main"), foot = document.querySelector("footer p");
  if (mainEl && foot && shown(foot)) {
    const ml = mainEl.getBoundingClientRect().left + parseFloat(getComputedStyle(mainEl).paddingLeft), fl = foot.getBoundingClientRect().left;
    if (Math.abs(ml - fl) > 1) out.push("the footer's text starts at " + Math.round(fl) + " px, the page's at " + Math.round(ml));
  }
  if (W <= 640) {
    for (const tr of document.querySelectorAll("table.list tbody tr")) {
      const td = tr.querySelector("td");
      if (td && shown(td) && td.getBoundingClientRect().width < tr.closest("table").getBoundingClientRect().width / 2) {
        out.push("table row " + name(td) + ": its first cell is " + Math.round(td.getBoundingClientRect().width) + " px of " + Math.round(tr.closest("table").getBoundingClientRect().width));
        break;
      }
    }
  }
  return out;
})()`

// jsHelpers are layoutJS's and focusJS's: whether an element is shown,
// a name for it in a message, and WCAG contrast.
const jsHelpers = `
  const shown = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === "none" || s.visibility === "hidden") return false;
    }
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\s+/).join(".") : "") +
    ' "' + (el.textContent || el.value || "").trim().slice(0, 40) + '"';
  const rgba = (s) => { const m = (s || "").match(/[\d.]+/g) || []; return [+m[0] || 0, +m[1] || 0, +m[2] || 0, m.length > 3 ? +m[3] : 1]; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor); if (c[3] > 0) return c; }
    return [255, 255, 255, 1];
  };
  const opacity = (el) => { let o = 1; for (let e = el; e; e = e.parentElement) o *= +getComputedStyle(e).opacity; return o; };
`

// focusJS says what is wrong with the keyboard focus as it is now: no
// element has it, or its outline is missing, thinner than 2 px, or under
// 3:1 against what surrounds the element (WCAG 2.4.7, 1.4.11). Empty
// when all is well.
const focusJS = `(() => {` + jsHelpers + `
  const el = document.activeElement;
  if (!el || el === document.body) return "nothing has the focus";
  const s = getComputedStyle(el);
  if (s.outlineStyle === "none" || parseFloat(s.outlineWidth) < 2) return name(el) + " shows no focus outline";
  const cr = ratio(rgba(s.outlineColor), background(el.parentElement));
  if (cr < 3) return name(el) + "'s focus outline has contrast " + cr.toFixed(2) + ":1 with its surroundings";
  return "";
})()`

// layoutProblems runs layoutJS on the page as it is now.
func layoutProblems(ctx context.Context, t *testing.T) []string {
	t.Helper()
	p, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](layoutJS))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// longObject is an indicator as long as real ones get: a long name, a
// description of several paragraphs with an unbroken token and a long
// URL, a pattern of many long comparisons, many labels and references.
func longObject(id string) map[string]any {
	var cmp []string
	for i := range 14 {
		cmp = append(cmp, fmt.Sprintf("[url:value = 'https://voter-registration-lookup-%02d.aurelia-elections-portal.example/citizen/self-service/registration-status/check?district=north-east&campaign=ballot-phish-2026']", i))
	}
	var labels []string
	for i := range 30 {
		labels = append(labels, fmt.Sprintf("election-infrastructure-phishing-%02d", i))
	}
	var refs []map[string]any
	for i := range 5 {
		refs = append(refs, map[string]any{"source_name": "cert-aurelia-advisory", "external_id": fmt.Sprintf("CERT-AU-2026-%04d", 100+i),
			"url": fmt.Sprintf("https://cert.aurelia.example/advisories/2026/%d/credential-harvesting-portals-impersonating-the-central-electoral-commission-full-technical-appendix.pdf", i)})
	}
	para := "The portal copies the Central Electoral Commission's voter-registration lookup page, down to its accessibility statement, and asks for the national identity number, date of birth and a one-time code that it relays to the real service in real time. "
	desc := strings.Repeat(para, 3) + "\n\nSample beacon (base64): " + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("parley-beacon"), 20)) +
		"\n\nFirst reported at https://cert.aurelia.example/advisories/2026/ballot-phish/credential-harvesting-portals-impersonating-the-central-electoral-commission.html\n\n" + strings.Repeat(para, 4)
	return map[string]any{"type": "indicator", "id": id,
		"name":        "Credential-harvesting portals impersonating the Aurelian Central Electoral Commission's voter-registration lookup service, observed across regional campaigns",
		"description": desc, "pattern": strings.Join(cmp, " OR "), "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z",
		"labels": labels, "external_references": refs, "object_marking_refs": []string{stix.TLP2AmberID},
		"indicator_types": []string{"malicious-activity", "attribution", "compromised"}}
}

// lyingNode serves the receipt of object badProof with one byte of its
// inclusion proof changed, and none for object noReceipt, as a lying or
// broken node would.
func lyingNode(badProof, noReceipt string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/log/receipt" && r.URL.Query().Get("object") == noReceipt {
				http.NotFound(w, r)
				return
			}
			if r.URL.Path != "/log/receipt" || r.URL.Query().Get("object") != badProof {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var rc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &rc); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if p, _ := rc["inclusion_proof"].([]any); len(p) > 0 {
				h, _ := base64.StdEncoding.DecodeString(p[0].(string))
				h[0] ^= 1
				p[0] = base64.StdEncoding.EncodeToString(h)
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(rc)
		})
	}
}

// verification is what the object page's check shows.
type verification struct {
	State, Heading, Status, Role string
	OK, Skipped, Pending         int
	Bad                          []string
}

const verificationJS = `(() => {
  const el = document.querySelector("[data-verification]"), st = el.querySelector(".status");
  return {
    State: el.dataset.verification, Heading: document.getElementById("verify-h").textContent,
    Status: st.textContent, Role: st.getAttribute("role") || "",
    OK: el.querySelectorAll(".steps li.ok").length, Skipped: el.querySelectorAll(".steps li.skipped").length,
    Pending: el.querySelectorAll(".steps li.pending").length,
    Bad: [...el.querySelectorAll(".steps li.bad")].map((li) => li.textContent),
  };
})()`

// TestBrowserLayout looks at every page, and at the states TestBrowser
// does not reach (an empty collection, nothing found, a very long
// object, a proof that fails, errors, an ended session), at a phone's
// width, a laptop's and a wide screen's, and fails on what a person
// would notice: see layoutJS. With PARLEY_SCREENSHOTS=DIR it saves each
// page as DIR/state-NAME-WIDTH.png.
func TestBrowserLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	ctx := context.Background()
	f := newFixture(t)
	both := []string{"cert-aurelia", "cert-borovia"}
	empty, err := f.n.AddCollection(ctx, "Drafts for the 2026 municipal elections, not yet reviewed by either CERT", "", both, both, "")
	if err != nil {
		t.Fatal(err)
	}
	long := "indicator--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	f.submit(t, f.aurelia, f.shared, longObject(long))
	f.submit(t, f.borova, f.shared,
		map[string]any{"type": "opinion", "id": "opinion--bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "opinion": "strongly-agree", "confidence": 90,
			"object_refs": []string{long}, "explanation": "We see the same portals, hosted at https://voter-registration-lookup-03.aurelia-elections-portal.example/citizen/self-service/registration-status/check"},
		map[string]any{"type": "relationship", "id": "relationship--cccccccc-cccc-4ccc-8ccc-cccccccccccc",
			"relationship_type": "indicates", "source_ref": long, "target_ref": f.hostileID},
		map[string]any{"type": "sighting", "id": "sighting--dddddddd-dddd-4ddd-8ddd-dddddddddddd", "sighting_of_ref": long,
			"count": 12, "first_seen": "2026-09-12T10:00:00Z"},
		map[string]any{"type": "sighting", "id": "sighting--eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee", "sighting_of_ref": long,
			"count": 5, "first_seen": "2026-09-16T10:00:00Z"})
	// An opinion whose explanation is one long word (a pasted base64
	// blob, or a member that wants the page to scroll sideways): its
	// cell breaks it, and the table stays within the page.
	f.submit(t, f.aurelia, f.shared, map[string]any{"type": "opinion", "id": "opinion--abababab-abab-4bab-8bab-abababababab", "opinion": "disagree",
		"object_refs": []string{long}, "explanation": "Evidence:" + strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 20)})
	// An object its author revoked after an opinion on it: the opinions
	// say it is revoked.
	withdrawn := "indicator--ffffffff-ffff-4fff-8fff-ffffffffffff"
	f.submit(t, f.aurelia, f.shared, map[string]any{"type": "indicator", "id": withdrawn, "name": "Ballot-tracking look-alike, revoked",
		"pattern": "[domain-name:value = 'ballot-tracking-aurelia.example']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	f.submit(t, f.borova, f.shared, map[string]any{"type": "opinion", "id": "opinion--ffffffff-ffff-4fff-8fff-fffffffffff0", "opinion": "agree",
		"object_refs": []string{withdrawn}})
	revoke(t, f, f.aurelia, f.shared, withdrawn)
	// Twelve more objects related to the long one, for a full graph.
	var near []map[string]any
	for i := range 12 {
		id := fmt.Sprintf("infrastructure--%08d-0000-4000-8000-00000000000%d", i, i%10)
		near = append(near, map[string]any{"type": "infrastructure", "id": id, "name": fmt.Sprintf("Hosting cluster %d of the look-alike portals", i)},
			map[string]any{"type": "relationship", "id": fmt.Sprintf("relationship--%08d-0000-4000-8000-00000000000%d", i, i%10),
				"relationship_type": []string{"uses", "related-to", "indicates"}[i%3], "source_ref": long, "target_ref": id})
	}
	f.submit(t, f.aurelia, f.shared, near...)
	// A private set in the shared collection, for the private sets page.
	req, _ := http.NewRequest("POST", f.URL+"/private/sets", strings.NewReader(`{"collection":"`+f.shared+`"}`))
	req.Header.Set("Authorization", "Bearer "+f.borova.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("publish a private set: %s", resp.Status)
	}
	base := uiServerWrapped(t, f, newV2Log(t, f.n), lyingNode(f.hashID, f.pdqID))
	// Another valid log key with the name of the one the UI serves.
	c := newClient(t, base)
	c.login(t, f.aurelia.Token)
	kresp, served := c.get(t, "/ui/api/log/key")
	mustStatus(t, kresp, http.StatusOK, "the log key")
	origin, _, _ := strings.Cut(strings.TrimSpace(served), "+")
	_, otherKey, err := tlog.NewNodeKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}

	verified := waitAttr(`[data-verification]`, "data-verification", "verified", "failed")
	pages := []struct {
		name, path string
		wait       step
	}{
		{"home", "/ui/", chromedp.WaitVisible(chromedp.CSS(`table.list`))},
		{"collection-empty", "/ui/collections/" + empty, chromedp.WaitVisible(chromedp.CSS(`.empty`))},
		{"collection-nothing-matches", "/ui/collections/" + f.shared + "?q=no+such+words", chromedp.WaitVisible(chromedp.CSS(`.empty`))},
		{"collection", "/ui/collections/" + f.shared, chromedp.WaitVisible(chromedp.CSS(`table.objects`))},
		{"search", "/ui/search?q=203.0.113.0%2F24", chromedp.WaitVisible(chromedp.CSS(`table.list`))},
		{"search-nothing", "/ui/search?q=198.18.0.1", chromedp.WaitVisible(chromedp.CSS(`.empty`))},
		// What was looked up is repeated above the results: a file hash
		// (64 characters without a break) or a long domain must wrap
		// there, not push the page sideways on a phone.
		{"search-hash", "/ui/search?q=" + strings.Repeat("ab", 32), chromedp.WaitVisible(chromedp.CSS(`table.list`))},
		{"search-long-domain", "/ui/search?q=" + strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + ".example", chromedp.WaitVisible(chromedp.CSS(`.empty`))},
		{"members", "/ui/members", chromedp.WaitVisible(chromedp.CSS(`table.list`))},
		{"private", "/ui/private", chromedp.WaitVisible(chromedp.CSS(`table.list`))},
		{"object-long", "/ui/objects/" + long, verified},
		{"object-report", "/ui/objects/" + f.report, verified},
		{"object-hostile", "/ui/objects/" + f.hostileID, verified},
		{"object-indicator", "/ui/objects/" + f.indicator, verified},
		{"object-bad-proof", "/ui/objects/" + f.hashID, verified},
		{"object-no-receipt", "/ui/objects/" + f.pdqID, verified},
		// The not-found page is a member's page: in the layout, with
		// the top bar (its look-up and log out).
		{"not-found", "/ui/no/such/page", chromedp.WaitVisible(chromedp.CSS(`header.top form.logout`))},
		{"not-found-under-object", "/ui/objects/" + f.secretID + "/versions", chromedp.WaitVisible(chromedp.CSS(`header.top form.logout`))},
		// A relationship's and a sighting's references, named.
		{"object-relationship", "/ui/objects/relationship--cccccccc-cccc-4ccc-8ccc-cccccccccccc", verified},
		{"object-sighting", "/ui/objects/sighting--dddddddd-dddd-4ddd-8ddd-dddddddddddd", verified},
		{"object-revoked", "/ui/objects/" + withdrawn, verified},
		{"object-not-found", "/ui/objects/indicator--00000000-0000-4000-8000-000000000000", chromedp.WaitVisible(chromedp.CSS(`h1`))},
		// The login page that session.js sends the analyst to once it
		// has dropped a session that was not this tab's.
		{"login-foreign", "/ui/login?foreign=1&next=%2Fui%2F", chromedp.WaitVisible(chromedp.CSS(`.login .error`))},
	}
	for _, width := range []int{390, 1280, 1920} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			bctx, cancel := browser(t, width)
			defer cancel()
			w := fmt.Sprint(width)
			look := func(name string) {
				t.Helper()
				if err := chromedp.Do(bctx, shot(t, "state-"+name+"-"+w)); err != nil {
					t.Fatal(err)
				}
				for _, p := range layoutProblems(bctx, t) {
					t.Errorf("%s at %d px: %s", name, width, p)
				}
			}
			if err := chromedp.Do(bctx,
				chromedp.EmulateViewport(int64(width), 900),
				chromedp.Navigate(base+"/ui/login"),
				chromedp.WaitVisible(chromedp.CSS(`#token`)),
			); err != nil {
				t.Fatal(err)
			}
			look("login")
			if err := chromedp.Do(bctx,
				chromedp.SendKeys(chromedp.CSS(`#token`), "parley_not-a-token"),
				chromedp.Submit(chromedp.CSS(`#token`)),
				chromedp.WaitVisible(chromedp.CSS(`.login .error`)),
			); err != nil {
				t.Fatal(err)
			}
			look("login-refused")
			if err := chromedp.Do(bctx,
				chromedp.SendKeys(chromedp.CSS(`#token`), f.aurelia.Token),
				chromedp.Submit(chromedp.CSS(`#token`)),
				chromedp.WaitVisible(chromedp.CSS(`table.list`)),
			); err != nil {
				t.Fatal(err)
			}
			for _, p := range pages {
				if err := chromedp.Do(bctx, chromedp.Navigate(base+p.path), p.wait); err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
				look(p.name)
			}
			// The proving page, which a navigation without its view proof
			// gets and whose script goes on at once: as it stays where the
			// script doesn't run (JavaScript off for this site).
			provingPage(t, bctx, base+"/ui/members?q=a+long+query+"+strings.Repeat("x", 120), func() { look("prove") })

			// What the browser's check established, object by object.
			checks := func(id string) verification {
				t.Helper()
				v, err := chromedp.Run(bctx, chromedp.Evaluate[verification](verificationJS))
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/objects/"+long), verified); err != nil {
				t.Fatal(err)
			}
			if v := checks(long); v.State != "verified" || v.OK != 5 || len(v.Bad) > 0 || v.Skipped+v.Pending > 0 || !strings.HasPrefix(v.Status, "✓ Verified") {
				t.Errorf("a sound object's checks: %+v", v)
			}
			// A revoked version verifies, and the status says that its
			// author revoked the object, in STIX's word, as the rest of
			// the page does ("withdraw" is a private set's).
			if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/objects/"+withdrawn), verified); err != nil {
				t.Fatal(err)
			}
			if v := checks(withdrawn); v.State != "verified" || !strings.HasSuffix(v.Status, "This version revokes the object: its author revoked it (revoked: true).") {
				t.Errorf("a revoked version's checks: %+v", v)
			}
			text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(strings.ToLower(text), "withdr") || !strings.Contains(text, "Revoked:") {
				t.Errorf("the page of a revoked object doesn't say revoked throughout:\n%s", text)
			}
			// A relationship's ends, named by their names and types, as
			// links; the sighting's object too.
			if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/objects/relationship--cccccccc-cccc-4ccc-8ccc-cccccccccccc"), verified); err != nil {
				t.Fatal(err)
			}
			ends, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("dl.props dd a.ref")].map(a => new URL(a.href).pathname + " " + a.textContent + " " + a.nextElementSibling.textContent)`))
			if err != nil {
				t.Fatal(err)
			}
			if len(ends) != 2 || !strings.HasPrefix(ends[0], "/ui/objects/"+long+" ") || !strings.HasSuffix(ends[0], " indicator") ||
				ends[1] != "/ui/objects/"+f.hostileID+" "+hostile[2]+" malware" {
				t.Errorf("the relationship's source_ref and target_ref, named: %q", ends)
			}
			// A proof that fails: the analyst must see that it failed, which
			// check failed, and that the checks after it were not made; and
			// no heading may still say "Verified".
			if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/objects/"+f.hashID), verified); err != nil {
				t.Fatal(err)
			}
			if v := checks(f.hashID); v.State != "failed" || v.OK != 2 || len(v.Bad) != 1 || !strings.Contains(v.Bad[0], "inclusion proof") ||
				v.Skipped != 2 || !strings.Contains(v.Status, "FAILED") || strings.Contains(v.Heading, "Verified") || v.Role != "alert" {
				t.Errorf("a failed inclusion proof's checks: %+v", v)
			}
			// A node that has no receipt: the analyst reads what could not be
			// had, not just a status code and a path.
			if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/objects/"+f.pdqID), verified); err != nil {
				t.Fatal(err)
			}
			if v := checks(f.pdqID); v.State != "failed" || v.OK != 0 || len(v.Bad) != 1 || !strings.Contains(v.Bad[0], "couldn't get the object's log receipt") || v.Skipped != 4 {
				t.Errorf("a missing receipt's checks: %+v", v)
			}

			// The keyboard: every stop from the top of a page shows where
			// the focus is, on the dark bar and on the page.
			if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/objects/"+f.report), verified); err != nil {
				t.Fatal(err)
			}
			for i := range 14 {
				if err := chromedp.Do(bctx, chromedp.KeyEvent("\t")); err != nil {
					t.Fatal(err)
				}
				p, err := chromedp.Run(bctx, chromedp.Evaluate[string](focusJS))
				if err != nil {
					t.Fatal(err)
				}
				if p != "" {
					t.Errorf("tab stop %d: %s", i+1, p)
				}
				if i == 3 || i == 9 {
					if err := chromedp.Do(bctx, shotOf(t, fmt.Sprintf("state-focus-%d-%s", i+1, w), false)); err != nil {
						t.Fatal(err)
					}
				}
			}
			// An opinion is chosen, not defaulted: the form can't be sent
			// before the analyst picks one.
			if ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById("op-value").value === "" && !document.getElementById("opinion-form").checkValidity()`)); err != nil || !ok {
				t.Errorf("the opinion form starts with an opinion chosen, or can be sent without one (%v)", err)
			}

			// The graph's links, too (SVG elements), on pages wide enough to
			// show it.
			if width > 640 {
				if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/objects/"+f.hostileID), verified); err != nil {
					t.Fatal(err)
				}
				reached := false
				for range 40 {
					if err := chromedp.Do(bctx, chromedp.KeyEvent("\t")); err != nil {
						t.Fatal(err)
					}
					in, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`!!document.activeElement.closest(".graph")`))
					if err != nil {
						t.Fatal(err)
					}
					if !in {
						continue
					}
					reached = true
					if err := chromedp.Do(bctx, shotOf(t, "state-focus-graph-"+w, false)); err != nil {
						t.Fatal(err)
					}
					if p, err := chromedp.Run(bctx, chromedp.Evaluate[string](focusJS)); err != nil || p != "" {
						t.Errorf("a link in the graph: %s (%v)", p, err)
					}
					break
				}
				if !reached {
					t.Errorf("the keyboard never reaches the graph's links")
				}
			}
			// A log key that changed since it was pinned (here: the browser
			// pinned another valid key of the same name) is an alarm the
			// analyst can't miss, and the failed check says why.
			if _, err := chromedp.Run(bctx, chromedp.Evaluate[any](`localStorage.setItem("parley.pinned-log-key", `+strconv.Quote(otherKey)+`)`)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/objects/"+f.report), verified); err != nil {
				t.Fatal(err)
			}
			look("object-key-changed")
			if v := checks(f.report); v.State != "failed" || len(v.Bad) != 1 || !strings.Contains(v.Bad[0], "log key has changed") || v.Skipped != 4 || strings.Contains(v.Status, "..") {
				t.Errorf("a changed log key's checks: %+v", v)
			}
			if small, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`parseFloat(getComputedStyle(document.querySelector(".pin.alarm")).fontSize) < parseFloat(getComputedStyle(document.body).fontSize)`)); err != nil || small {
				t.Errorf("the changed-key alarm is in small print (%v)", err)
			}
			if _, err := chromedp.Run(bctx, chromedp.Evaluate[any](`localStorage.removeItem("parley.pinned-log-key")`)); err != nil {
				t.Fatal(err)
			}

			// A session that ends (here: the token is rotated) brings the
			// login form back with a word on why.
			tok, _, err := f.n.RotateToken(ctx, f.aurelia.ID)
			if err != nil {
				t.Fatal(err)
			}
			f.aurelia.Token = tok
			if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/members"), chromedp.WaitVisible(chromedp.CSS(`#token`))); err != nil {
				t.Fatal(err)
			}
			look("session-ended")
			if s, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.querySelector(".login .notice") || {}).textContent || ""`)); err != nil || !strings.Contains(s, "session has ended") {
				t.Errorf("after the session ended, the login form says %q (%v)", s, err)
			}
		})
	}
}

// provingPage opens rawURL, a page without its view proof, with scripts
// off, so that the proving page stays, calls look, and turns scripts on
// again.
func provingPage(t *testing.T, ctx context.Context, rawURL string, look func()) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	defer chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
	if err := chromedp.Do(ctx, chromedp.Navigate(rawURL), chromedp.WaitVisible(chromedp.CSS(`#view-pending`))); err != nil {
		t.Fatalf("the proving page: %v", err)
	}
	// What it says is in view, not under the fold or cut off.
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const r = document.getElementById("view-pending").getBoundingClientRect();
		const h = document.querySelector("main h1").getBoundingClientRect();
		return (h.top >= 0 && r.bottom <= innerHeight && r.right <= innerWidth && r.left >= 0) + " " + document.querySelector("main h1").textContent;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got != "true Opening this page…" {
		t.Errorf("the proving page's heading and notice are not in view: %s", got)
	}
	look()
}

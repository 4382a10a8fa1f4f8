package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBidiSpoof: a hostile member names its object with a
// right-to-left override and the reversed words "by cert-aurelia". Where
// a page shows the name inline, before the object's type and its real
// creator (the home page's recent activity, a report's referenced
// objects), the override must stay inside the name: laid out in a real
// Chromium, the type and "by cert-borovia" come after the name, not
// reversed into it with the line ending "by cert-aurelia".
func TestBrowserBidiSpoof(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	spoof := "indicator--5b0f0000-0000-4000-8000-000000000001"
	report := "report--5b0f0000-0000-4000-8000-000000000002"
	f.submit(t, f.borova, f.shared,
		map[string]any{"type": "indicator", "id": spoof, "name": "Advisory \u202eailerua-trec yb ",
			"pattern": "[domain-name:value = 'spoof.example']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"},
		map[string]any{"type": "report", "id": report, "name": "Weekly summary", "published": "2026-09-15T00:00:00Z",
			"object_refs": []string{spoof, f.indicator}})
	base := uiServer(t, f, newV2Log(t, f.n))
	for _, width := range []int{390, 1280} {
		ctx, cancel := browser(t, width)
		logIn(t, ctx, base, f.aurelia.Token)
		for _, pg := range []struct{ path, list string }{{"/ui/", "ul.recent"}, {"/ui/objects/" + report, "#refs-h + ul"}} {
			if err := chromedp.Do(ctx, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(chromedp.CSS(pg.list))); err != nil {
				t.Fatal(err)
			}
			// The name's link, and the type after it: the type must start
			// where the link ends, or further down.
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
				const a = document.querySelector(`+"`"+pg.list+` a[href*="`+spoof+`"]`+"`"+`);
				if (!a) return "no link to the object";
				const ty = a.nextElementSibling, li = a.closest("li");
				const tr = ty.getBoundingClientRect();
				for (const ar of a.getClientRects()) {
					// A piece of the link on the type's line must end before it.
					if (ar.top < tr.bottom - 1 && tr.top < ar.bottom - 1 && tr.left < ar.right - 1)
						return "the type " + JSON.stringify(ty.textContent) + " is laid out at " + Math.round(tr.left) + " px, inside the name's link (" + Math.round(ar.left) + ".." + Math.round(ar.right) + " px on its line): " + JSON.stringify(li.innerText);
				}
				return "";
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			if got != "" {
				t.Errorf("%s at %d px: %s", pg.path, width, got)
			}
		}
		cancel()
	}
}

package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/web"
)

// TestSearchPDQHiddenCollection: a PDQ look-up is no distance oracle on
// collections the member can't read. borova's private collection holds
// hashes near the looked-up one (one exact, one low-quality, more than
// the look-up's bound); aurelia, who can't read it, gets the page she
// gets without them: no hit, no "left out for low quality" count, and no
// "didn't check everything" (the bound counts only hashes she may read).
func TestSearchPDQHiddenCollection(t *testing.T) {
	f := newFixture(t)
	const q = "07f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22" // 8 bits from the fixture's shared hash
	page := func(f *fixture) string {
		f.pages = func(h http.Handler) http.Handler {
			web.SetMaxPDQLookup(h.(*web.Handler), 1) // aurelia reads one pdq hash
			return h
		}
		c := newClient(t, uiServer(t, f, newV2Log(t, f.n)))
		c.login(t, f.aurelia.Token)
		resp, body := c.get(t, "/ui/search?q="+q)
		mustStatus(t, resp, http.StatusOK, q)
		main := body[strings.Index(body, "<main"):]
		if i := strings.Index(main, "</main>"); i >= 0 {
			main = main[:i]
		}
		return main
	}
	before := page(f)
	if !strings.Contains(before, "/ui/objects/"+f.pdqID) {
		t.Fatalf("aurelia doesn't find the shared hash:\n%s", before)
	}
	const (
		exact = "indicator--abababab-abab-4bab-8bab-000000000001"
		near  = "indicator--abababab-abab-4bab-8bab-000000000002"
		low   = "indicator--abababab-abab-4bab-8bab-000000000003"
	)
	f.submit(t, f.borova, f.private,
		map[string]any{"type": "indicator", "id": exact, "name": "hidden exact", "pattern_type": "pdq", "pattern": q,
			"x_pdq_quality": 100, "valid_from": "2026-09-14T08:30:00Z"},
		map[string]any{"type": "indicator", "id": near, "name": "hidden near", "pattern_type": "pdq", "pattern": "1" + q[1:],
			"x_pdq_quality": 100, "valid_from": "2026-09-14T08:30:00Z"},
		map[string]any{"type": "indicator", "id": low, "name": "hidden blurry", "pattern_type": "pdq", "pattern": "3" + q[1:],
			"x_pdq_quality": 10, "valid_from": "2026-09-14T08:30:00Z"})
	after := page(f)
	for _, leak := range []string{exact, near, low, "hidden exact", "hidden near", "hidden blurry", "left out", "didn't check everything"} {
		if strings.Contains(after, leak) {
			t.Errorf("aurelia's PDQ look-up shows %q from a collection she can't read", leak)
		}
	}
	if after != before {
		t.Errorf("aurelia's PDQ look-up changed with hashes she can't read:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

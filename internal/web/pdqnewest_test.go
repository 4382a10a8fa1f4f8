package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/web"
)

// TestSearchPDQNewestFirst: a PDQ look-up searches the newest
// MaxPDQLookup hashes the member may read, so that a hash shared lately
// is found however many were shared before it; the look-up then says it
// didn't check everything. (It searched the first ones, in the order of
// the log: a member could bury every later hash under 50,000 of its own.)
func TestSearchPDQNewestFirst(t *testing.T) {
	f := newFixture(t) // its PDQ indicator is the oldest hash
	const (
		older  = "indicator--12121212-1212-4212-8212-000000000001"
		newest = "indicator--12121212-1212-4212-8212-000000000002"
		hash   = "07070f311f0b57b0f9c8f5ddfc709c0f4c91d12a699de1e2cc194c63b163d64d"
	)
	f.submit(t, f.borova, f.shared,
		map[string]any{"type": "indicator", "id": older, "name": "older", "pattern_type": "pdq",
			"pattern": "0000f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "valid_from": "2026-09-14T08:30:00Z"})
	f.submit(t, f.borova, f.shared,
		map[string]any{"type": "indicator", "id": newest, "name": "newest", "pattern_type": "pdq",
			"pattern": hash, "valid_from": "2026-09-14T08:30:00Z"})
	f.pages = func(h http.Handler) http.Handler {
		web.SetMaxPDQLookup(h.(*web.Handler), 2)
		return h
	}
	base := uiServer(t, f, newV2Log(t, f.n))
	c := newClient(t, base)
	c.login(t, f.aurelia.Token)
	q := hash[:63] + "c" // a bit from the newest hash: no exact value
	resp, body := c.get(t, "/ui/search?q="+q)
	mustStatus(t, resp, http.StatusOK, q)
	main := body[strings.Index(body, "<main"):]
	if !strings.Contains(main, "/ui/objects/"+newest) {
		t.Errorf("the look-up of a hash near the newest one, searching the newest 2 of 3 hashes, doesn't find it:\n%s", main)
	}
	if !strings.Contains(main, "didn't check everything") {
		t.Errorf("the look-up doesn't say it stopped at its bound:\n%s", main)
	}
}

package web_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/web"
)

// TestLookupFindsBuriedValue: a member can share more objects with the
// words of a value than a look-up checks full-text candidates
// (MaxSearchCandidates, in the order of the log), to bury the values
// shared after them. A look-up of an exact value finds it all the same
// (the store's value index), and says it found all there was; a look-up
// of words still says where it stopped.
func TestLookupFindsBuriedValue(t *testing.T) {
	f := newFixture(t)
	for b := 0; b*100 < web.MaxSearchCandidates+10; b++ {
		var objs []map[string]any
		for i := 0; i < 100; i++ {
			k := b*100 + i
			objs = append(objs, map[string]any{"type": "indicator", "id": fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", 0xc0000000+k),
				"name": fmt.Sprintf("buried example %d", k), "pattern": fmt.Sprintf("[domain-name:value = 'n%d.buried.example']", k),
				"pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
		}
		f.submit(t, f.borova, f.shared, objs...)
	}
	f.submit(t, f.aurelia, f.shared, map[string]any{"type": "indicator", "id": "indicator--b0b0b0b0-0000-4000-8000-000000000001", "name": "the buried one",
		"pattern": "[domain-name:value = 'buried.example']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	resp, body := c.get(t, "/ui/search?q=buried.example")
	mustStatus(t, resp, 200, "the look-up")
	main := body[strings.Index(body, "<main"):]
	if !strings.Contains(main, "indicator--b0b0b0b0-0000-4000-8000-000000000001") || strings.Contains(main, "didn't check") {
		t.Errorf("the look-up of buried.example behind %d objects with its words says:\n%s", web.MaxSearchCandidates+10, main[:min(len(main), 1500)])
	}
	resp, body = c.get(t, "/ui/search?q=buried+example")
	mustStatus(t, resp, 200, "the look-up of words")
	main = body[strings.Index(body, "<main"):]
	if strings.Contains(main, "Nothing found.") || !strings.Contains(main, "didn't check") {
		t.Errorf("the look-up of words stopped at its bound and says:\n%s", main[:min(len(main), 1500)])
	}
}

// TestLookupFindsBuriedURLWithQuery: a URL with a query string (? = & %)
// is an exact value too. Its look-up went through the full-text
// candidates, and 5,010 objects with its words, shared first, buried the
// one that holds it; it is found through the value index, whether its
// JSON writes & as it is or as Go's encoder does (\u0026).
func TestLookupFindsBuriedURLWithQuery(t *testing.T) {
	f := newFixture(t)
	const u = "https://buried.example/login?user=ann&next=%2Fhome"
	for b := 0; b*100 < web.MaxSearchCandidates+10; b++ {
		var objs []map[string]any
		for i := 0; i < 100; i++ {
			k := b*100 + i
			objs = append(objs, map[string]any{"type": "indicator", "id": fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", 0xc0000000+k),
				"name": fmt.Sprintf("https buried example login user ann next 2Fhome %d", k), "pattern": fmt.Sprintf("[url:value = 'https://buried.example/login?user=ann&next=%%2Fhome%d']", k),
				"pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
		}
		f.submit(t, f.borova, f.shared, objs...)
	}
	// json.Marshal (f.submit) writes & as \u0026.
	f.submit(t, f.aurelia, f.shared, map[string]any{"type": "indicator", "id": "indicator--b0b0b0b0-0000-4000-8000-000000000002", "name": "the buried URL",
		"pattern": "[url:value = '" + u + "']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	resp, body := c.get(t, "/ui/search?q="+url.QueryEscape(u))
	mustStatus(t, resp, 200, "the look-up")
	main := body[strings.Index(body, "<main"):]
	if !strings.Contains(main, "indicator--b0b0b0b0-0000-4000-8000-000000000002") || strings.Contains(main, "didn't check") || !strings.Contains(main, "1 found") {
		t.Errorf("the look-up of %s behind %d objects with its words says:\n%s", u, web.MaxSearchCandidates+10, main[:min(len(main), 1500)])
	}
}

package taxii

import (
	"encoding/json"
	"net/http"
	"testing"
)

// An object the collection holds, whose versions the request's filters
// all leave out, is an empty page (200), as at the OASIS reference
// server; only an object the collection does not hold is a 404. It was a
// 404 either way, so a client polling an object for versions added
// after its last look was told the object was not found (in TAXII 2.1, a
// deleted object is not found).
func TestObjectFilteredToNothingIsEmpty(t *testing.T) {
	f := newFixture(t, Config{})
	f.post(t, indicator(1, 1), indicator(1, 2))
	obj := "/api/collections/" + collShared + "/objects/indicator--00000000-0000-4000-8000-000000000001/"
	for _, q := range []string{
		"?added_after=2099-01-01T00:00:00Z",
		"?match[spec_version]=2.0",
		"?match[version]=2026-01-01T00:00:59.000Z",
	} {
		paths := []string{obj + q, obj + "versions/" + q}
		if q == "?match[version]=2026-01-01T00:00:59.000Z" {
			paths = paths[:1] // the versions endpoint lists every version
		}
		for _, path := range paths {
			w := f.do(t, req{path: path})
			if w.Code != http.StatusOK {
				t.Errorf("GET %s: %d %s, want 200 with nothing", path, w.Code, w.Body)
				continue
			}
			checkTAXIIResponse(t, w)
			var got struct {
				More     bool              `json:"more"`
				Objects  []json.RawMessage `json:"objects"`
				Versions []string          `json:"versions"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.More || len(got.Objects)+len(got.Versions) != 0 {
				t.Errorf("GET %s: %s (%v), want an empty page", path, w.Body, err)
			}
			if w.Header().Get(HeaderDateAddedFirst) != "" {
				t.Errorf("GET %s: %s on an empty page", path, HeaderDateAddedFirst)
			}
		}
	}
	// Without filters it is there; an object the collection doesn't hold
	// is a 404 with or without them, and so is any object of a collection
	// the member may not see.
	if w := f.do(t, req{path: obj}); w.Code != http.StatusOK {
		t.Errorf("GET %s: %d", obj, w.Code)
	}
	for _, path := range []string{
		"/api/collections/" + collShared + "/objects/indicator--00000000-0000-4000-8000-000000000009/?added_after=2099-01-01T00:00:00Z",
		"/api/collections/" + collShared + "/objects/indicator--00000000-0000-4000-8000-000000000009/versions/",
		"/api/collections/" + collHidden + "/objects/indicator--00000000-0000-4000-8000-000000000001/?added_after=2099-01-01T00:00:00Z",
	} {
		if w := f.do(t, req{path: path}); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, w.Code)
		}
	}
}

package taxii

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// HEAD is answered wherever GET is, with GET's status and headers
// (Content-Type, Content-Length, X-TAXII-Date-Added-First/Last) and no
// body (RFC 9110 section 9.3.2), as the node's other routes do; it was
// refused with 405. Clients and monitors use it to check a resource, or
// how much a page holds, without reading it.
func TestHeadLikeGet(t *testing.T) {
	f := newFixture(t, Config{})
	st := f.post(t, indicator(1, 1), indicator(1, 2), indicator(2, 1))
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	coll := "/api/collections/" + collShared + "/"
	obj := coll + "objects/indicator--00000000-0000-4000-8000-000000000001/"
	paths := []string{
		"/taxii2/", "/api/", "/api/collections/", coll, coll + "objects/?limit=1", obj, obj + "versions/",
		coll + "manifest/", "/api/status/" + st.ID + "/",
		"/api/collections/" + collHidden + "/", "/api/collections/" + collWriteOnly + "/objects/",
	}
	do := func(method, path string) (*http.Response, []byte) {
		t.Helper()
		r, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+tokenAlice)
		r.Header.Set("Accept", MediaType)
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, p := range paths {
		get, getBody := do(http.MethodGet, p)
		head, headBody := do(http.MethodHead, p)
		if head.StatusCode != get.StatusCode || len(headBody) != 0 {
			t.Errorf("HEAD %s: %d with %d body bytes; GET: %d", p, head.StatusCode, len(headBody), get.StatusCode)
			continue
		}
		for _, h := range []string{"Content-Type", "Content-Length", HeaderDateAddedFirst, HeaderDateAddedLast} {
			if head.Header.Get(h) != get.Header.Get(h) {
				t.Errorf("HEAD %s: %s %q, GET's %q", p, h, head.Header.Get(h), get.Header.Get(h))
			}
		}
		if get.Header.Get("Content-Length") != "" && get.Header.Get("Content-Length") != strconv.Itoa(len(getBody)) {
			t.Errorf("GET %s: Content-Length %s for %d bytes", p, get.Header.Get("Content-Length"), len(getBody))
		}
	}
	// A method the endpoint lacks names HEAD among those allowed.
	resp, _ := do(http.MethodPut, coll+"objects/")
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("PUT objects: %d, Allow %q; want 405, Allow \"GET, HEAD, POST\"", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

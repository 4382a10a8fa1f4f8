package taxii

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzHandler sends arbitrary paths, queries, headers and bodies to the
// handler and checks the rules that hold for every response: never a
// server error, always the TAXII media type and a JSON body, an error
// message resource matching the status for every error, and a refused
// request changes nothing.
func FuzzHandler(f *testing.F) {
	coll := "/api/collections/" + collShared
	f.Add(uint8(0), coll+"/objects/", "limit=2&match[version]=all", "", []byte(nil))
	f.Add(uint8(1), coll+"/objects/", "", MediaType, []byte(envelope(indicator(5, 5))))
	f.Add(uint8(1), coll+"/objects/", "", "application/taxii+json", []byte(`{"objects":[{"id":1}]}`))
	f.Add(uint8(0), coll+"/objects/indicator--00000000-0000-4000-8000-000000000001/versions/", "next=s1", "", []byte(nil))
	f.Add(uint8(0), coll+"/manifest/", "added_after=2026-03-01T12:00:00Z", "", []byte(nil))
	f.Add(uint8(2), coll+"/objects/x/", "", "", []byte(nil))
	f.Add(uint8(0), "/api/status/2d086da7-4bdc-4f91-900e-000000000001/", "", "", []byte(nil))
	f.Add(uint8(0), "/taxii2/", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, m uint8, path, rawQuery, ctype string, body []byte) {
		methods := []string{http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPut, http.MethodHead}
		b := newTestBackend()
		h := NewHandler(Config{MaxContentLength: 4096, MaxObjectsPerRequest: 4, MaxJSONDepth: 10, MaxPageSize: 3}, b)
		// Two objects in the collection, so that reads have something to
		// page through.
		seed := httptest.NewRequest(http.MethodPost, coll+"/objects/", bytes.NewReader([]byte(envelope(indicator(1, 1), indicator(1, 2), indicator(2, 1)))))
		seed.Header.Set("Authorization", "Bearer "+tokenAlice)
		seed.Header.Set("Content-Type", MediaType)
		h.ServeHTTP(httptest.NewRecorder(), seed)
		before := len(b.records)

		r := &http.Request{
			Method:     methods[int(m)%len(methods)],
			URL:        &url.URL{Path: path, RawQuery: rawQuery},
			Header:     http.Header{},
			Body:       io.NopCloser(bytes.NewReader(body)),
			Host:       "parley.test",
			Proto:      "HTTP/1.1",
			ProtoMajor: 1, ProtoMinor: 1,
		}
		r.ContentLength = int64(len(body))
		r = r.WithContext(t.Context())
		r.Header.Set("Authorization", "Bearer "+tokenAlice)
		r.Header.Set("Accept", MediaType)
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s: status %d %s", r.Method, path, rawQuery, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != MediaType {
			t.Fatalf("Content-Type %q", ct)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("body is not JSON: %q", w.Body)
		}
		if w.Code >= 400 {
			var e Error
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Title == "" || e.HTTPStatus != fmt.Sprint(w.Code) {
				t.Fatalf("error resource %q for %d", w.Body, w.Code)
			}
			if len(b.records) != before {
				t.Fatalf("a refused request (%d) stored objects", w.Code)
			}
		}
	})
}

package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

type fixture struct {
	b    *testBackend
	h    http.Handler
	logs *bytes.Buffer
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := &fixture{b: newTestBackend(), logs: &bytes.Buffer{}}
	cfg.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Description == "" {
		cfg.Description = "Parley test node"
	}
	f.h = NewHandler(cfg, f.b)
	return f
}

// req describes one request; zero fields take the usual values (GET, a
// valid token for alice, the TAXII Accept header).
type req struct {
	method, path string
	token        string // "-" for none
	accept       string // "-" for none
	ctype        string
	body         string
	header       map[string]string
}

func (f *fixture) do(t *testing.T, r req) *httptest.ResponseRecorder {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, "http://parley.test"+r.path, body)
	switch r.token {
	case "":
		hr.Header.Set("Authorization", "Bearer "+tokenAlice)
	case "-":
	default:
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	switch r.accept {
	case "":
		hr.Header.Set("Accept", MediaType)
	case "-":
	default:
		hr.Header.Set("Accept", r.accept)
	}
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	} else if r.method == http.MethodPost {
		hr.Header.Set("Content-Type", MediaType)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, hr)
	return w
}

// indicator returns a valid STIX 2.1 indicator with the given id suffix
// number and modified second.
func indicator(n, modifiedSecond int) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:%02d.000Z","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, n, modifiedSecond, n%250)
}

func envelope(objs ...string) string {
	return `{"objects":[` + strings.Join(objs, ",") + `]}`
}

// post adds objects to collShared as alice and fails the test unless all
// succeed.
func (f *fixture) post(t *testing.T, objs ...string) Status {
	t.Helper()
	w := f.do(t, req{method: http.MethodPost, path: "/api/collections/" + collShared + "/objects/", body: envelope(objs...)})
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST objects: %d %s", w.Code, w.Body)
	}
	var st Status
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.SuccessCount != len(objs) {
		t.Fatalf("POST objects: status %+v", st)
	}
	return st
}

// checkTAXIIResponse checks what every response must have: the TAXII
// media type, and for errors an error message resource whose http_status
// matches.
func checkTAXIIResponse(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != MediaType {
		t.Errorf("Content-Type = %q, want %q", ct, MediaType)
	}
	if w.Code >= 400 {
		var e Error
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
			t.Fatalf("error body %q: %v", w.Body, err)
		}
		if e.Title == "" || e.HTTPStatus != fmt.Sprint(w.Code) || e.Description == "" {
			t.Errorf("error resource %+v for status %d", e, w.Code)
		}
	}
}

// TestSpecRequirements checks the status codes and headers that TAXII 2.1
// requires, one row per rule.
func TestSpecRequirements(t *testing.T) {
	big := envelope(strings.Repeat(indicator(1, 1)+",", 40) + indicator(2, 2))
	deep := `{"objects":[{"type":"indicator","x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}]}`
	objects := "/api/collections/" + collShared + "/objects/"
	tests := []struct {
		name   string
		cfg    Config
		req    req
		status int
		header map[string]string // header -> substring it must contain
		body   string            // substring of the body
	}{
		{name: "discovery", req: req{path: "/taxii2/"}, status: 200, body: `"api_roots":["http://parley.test/api/"]`},
		{name: "discovery without slash", req: req{path: "/taxii2"}, status: 200},
		{name: "discovery behind a TLS proxy", req: req{path: "/taxii2/", header: map[string]string{"X-Forwarded-Proto": "https"}}, status: 200, body: `"api_roots":["https://parley.test/api/"]`},
		{name: "discovery: an unknown X-Forwarded-Proto is ignored", req: req{path: "/taxii2/", header: map[string]string{"X-Forwarded-Proto": "gopher"}}, status: 200, body: `"api_roots":["http://parley.test/api/"]`},
		{name: "discovery: public_url wins over X-Forwarded-Proto", cfg: Config{PublicURL: "https://intel.example"}, req: req{path: "/taxii2/", header: map[string]string{"X-Forwarded-Proto": "http"}}, status: 200, body: `"api_roots":["https://intel.example/api/"]`},
		{name: "no token", req: req{path: "/taxii2/", token: "-"}, status: 401, header: map[string]string{"WWW-Authenticate": "Bearer"}},
		{name: "bad token", req: req{path: "/api/collections/", token: "nope"}, status: 401, header: map[string]string{"WWW-Authenticate": "Bearer"}},
		{name: "basic auth with token as password", req: req{path: "/api/", token: "-", header: map[string]string{"Authorization": "Basic " + basic("anyone", tokenAlice)}}, status: 200},
		{name: "token scheme", req: req{path: "/api/", token: "-", header: map[string]string{"Authorization": "Token " + tokenAlice}}, status: 200},
		{name: "unknown scheme", req: req{path: "/api/", token: "-", header: map[string]string{"Authorization": "Digest " + tokenAlice}}, status: 401},
		{name: "basic auth with bad password", req: req{path: "/api/", token: "-", header: map[string]string{"Authorization": "Basic " + basic("anyone", "x")}}, status: 401},
		{name: "accept json", req: req{path: "/api/", accept: "application/json"}, status: 406},
		{name: "accept stix", req: req{path: objects, accept: STIXMediaType}, status: 406},
		{name: "accept taxii 2.0", req: req{path: "/api/", accept: "application/taxii+json;version=2.0"}, status: 406},
		{name: "accept bare taxii", req: req{path: "/api/", accept: "application/taxii+json"}, status: 200},
		{name: "accept with spaces", req: req{path: "/api/", accept: "application/taxii+json; version=2.1"}, status: 200},
		{name: "accept list", req: req{path: "/api/", accept: "text/html, application/taxii+json;version=2.1;q=0.5"}, status: 200},
		{name: "accept q=0", req: req{path: "/api/", accept: "application/taxii+json;version=2.1;q=0"}, status: 406},
		{name: "accept wildcard", req: req{path: "/api/", accept: "*/*"}, status: 406},
		{name: "accept application wildcard", req: req{path: "/api/", accept: "application/*"}, status: 406},
		{name: "accept wildcard and taxii", req: req{path: "/api/", accept: "*/*;q=0.1, application/taxii+json"}, status: 200},
		{name: "no accept", req: req{path: "/api/", accept: "-"}, status: 406},
		{name: "malformed accept", req: req{path: "/api/", accept: "application/taxii+json;version"}, status: 406},
		{name: "api root", req: req{path: "/api/"}, status: 200, body: `"max_content_length":10485760`},
		{name: "api root limit from config", cfg: Config{MaxContentLength: 1234}, req: req{path: "/api/"}, status: 200, body: `"max_content_length":1234`},
		{name: "api root path from config", cfg: Config{APIRootPath: "trust"}, req: req{path: "/trust/collections/"}, status: 200},
		{name: "unknown path", req: req{path: "/api/nope/"}, status: 404},
		{name: "outside", req: req{path: "/elsewhere"}, status: 404},
		{name: "double slash", req: req{path: "/api/collections//objects/"}, status: 404},
		{name: "post collections", req: req{method: "POST", path: "/api/collections/", body: "{}"}, status: 405, header: map[string]string{"Allow": "GET, HEAD"}},
		{name: "put objects", req: req{method: "PUT", path: objects}, status: 405, header: map[string]string{"Allow": "GET, HEAD, POST"}},
		{name: "delete object", req: req{method: "DELETE", path: objects + "indicator--00000000-0000-4000-8000-000000000001/"}, status: 405, body: "append-only"},
		{name: "unknown collection", req: req{path: "/api/collections/0b7c4ab8-1b55-4e39-8b4d-3dbc0d3ec5fd/"}, status: 404},
		{name: "invisible collection", req: req{path: "/api/collections/" + collHidden + "/"}, status: 404},
		{name: "invisible collection objects", req: req{path: "/api/collections/" + collHidden + "/objects/"}, status: 404},
		{name: "invisible collection post", req: req{method: "POST", path: "/api/collections/" + collHidden + "/objects/", body: envelope(indicator(1, 1))}, status: 404},
		{name: "read write-only", req: req{path: "/api/collections/" + collWriteOnly + "/objects/"}, status: 403},
		{name: "manifest of write-only", req: req{path: "/api/collections/" + collWriteOnly + "/manifest/"}, status: 403},
		{name: "write read-only", req: req{method: "POST", path: "/api/collections/" + collReadOnly + "/objects/", body: envelope(indicator(1, 1))}, status: 403},
		{name: "write as reader", req: req{method: "POST", path: objects, token: tokenBob, body: envelope(indicator(1, 1))}, status: 403},
		{name: "post json", req: req{method: "POST", path: objects, ctype: "application/json", body: envelope(indicator(1, 1))}, status: 415},
		{name: "post stix", req: req{method: "POST", path: objects, ctype: STIXMediaType, body: envelope(indicator(1, 1))}, status: 415},
		{name: "post taxii 2.0", req: req{method: "POST", path: objects, ctype: "application/taxii+json;version=2.0", body: envelope(indicator(1, 1))}, status: 415},
		{name: "post bare taxii", req: req{method: "POST", path: objects, ctype: "application/taxii+json", body: envelope(indicator(1, 1))}, status: 202},
		{name: "post too large", cfg: Config{MaxContentLength: 1000}, req: req{method: "POST", path: objects, body: big}, status: 413},
		{name: "post too many objects", cfg: Config{MaxObjectsPerRequest: 3}, req: req{method: "POST", path: objects, body: envelope(indicator(1, 1), indicator(2, 1), indicator(3, 1), indicator(4, 1))}, status: 413},
		{name: "post too deep", req: req{method: "POST", path: objects, body: deep}, status: 400, body: "nested deeper"},
		{name: "post not json", req: req{method: "POST", path: objects, body: `{"objects":[`}, status: 400},
		{name: "post trailing garbage", req: req{method: "POST", path: objects, body: envelope(indicator(1, 1)) + "x"}, status: 400},
		{name: "post array", req: req{method: "POST", path: objects, body: `[` + indicator(1, 1) + `]`}, status: 400},
		{name: "post no objects", req: req{method: "POST", path: objects, body: `{"more":false}`}, status: 400},
		{name: "post empty objects", req: req{method: "POST", path: objects, body: `{"objects":[]}`}, status: 400},
		{name: "post objects not a list", req: req{method: "POST", path: objects, body: `{"objects":{}}`}, status: 400},
		{name: "post non-object", req: req{method: "POST", path: objects, body: `{"objects":[1]}`}, status: 400},
		{name: "get objects", req: req{path: objects}, status: 200},
		{name: "bad limit", req: req{path: objects + "?limit=ten"}, status: 400, body: "limit"},
		{name: "zero limit", req: req{path: objects + "?limit=0"}, status: 400},
		{name: "bad added_after", req: req{path: objects + "?added_after=yesterday"}, status: 400, body: "added_after"},
		{name: "bad match version", req: req{path: objects + "?match[version]=newest"}, status: 400},
		{name: "bad match type", req: req{path: objects + "?match[type]=Indicator"}, status: 400},
		{name: "bad next", req: req{path: objects + "?next=zzz"}, status: 400, body: "next"},
		{name: "bad query escape", req: req{path: objects + "?limit=%zz"}, status: 400},
		{name: "unknown filter ignored", req: req{path: objects + "?match[color]=red"}, status: 200},
		{name: "unknown object", req: req{path: objects + "indicator--00000000-0000-4000-8000-000000000009/"}, status: 404},
		{name: "malformed object id", req: req{path: objects + "nope/"}, status: 404},
		{name: "unknown object versions", req: req{path: objects + "indicator--00000000-0000-4000-8000-000000000009/versions/"}, status: 404},
		{name: "unknown status", req: req{path: "/api/status/2d086da7-4bdc-4f91-900e-d77486753710/"}, status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.cfg)
			w := f.do(t, tt.req)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			checkTAXIIResponse(t, w)
			for h, want := range tt.header {
				if got := w.Header().Get(h); !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q", h, got, want)
				}
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body %s does not contain %q", w.Body, tt.body)
			}
		})
	}
}

func basic(user, pass string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// TestInvisibleLooksUnknown checks that a collection a member may not see
// is answered exactly like one that does not exist.
func TestInvisibleLooksUnknown(t *testing.T) {
	f := newFixture(t, Config{})
	for _, suffix := range []string{"/", "/objects/", "/manifest/"} {
		a := f.do(t, req{path: "/api/collections/" + collHidden + suffix})
		b := f.do(t, req{path: "/api/collections/0b7c4ab8-1b55-4e39-8b4d-3dbc0d3ec5fd" + suffix})
		if a.Code != 404 || a.Code != b.Code || a.Body.String() != b.Body.String() {
			t.Errorf("%s: invisible %d %s, unknown %d %s", suffix, a.Code, a.Body, b.Code, b.Body)
		}
	}
	w := f.do(t, req{path: "/api/collections/"})
	if strings.Contains(w.Body.String(), collHidden) {
		t.Errorf("collections lists the invisible collection: %s", w.Body)
	}
}

// bodyProbe is a request body that records whether it was read.
type bodyProbe struct{ read bool }

func (p *bodyProbe) Read(b []byte) (int, error) { p.read = true; return 0, io.EOF }

// TestTooLargeRefusedBeforeReading checks that a declared Content-Length
// above the limit is refused without reading the body, and that a body
// without a length is cut at the limit.
func TestTooLargeRefusedBeforeReading(t *testing.T) {
	f := newFixture(t, Config{MaxContentLength: 100})
	probe := &bodyProbe{}
	r := httptest.NewRequest("POST", "http://parley.test/api/collections/"+collShared+"/objects/", probe)
	r.ContentLength = 101
	r.Header.Set("Authorization", "Bearer "+tokenAlice)
	r.Header.Set("Accept", MediaType)
	r.Header.Set("Content-Type", MediaType)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != 413 || probe.read {
		t.Errorf("status %d, body read %v", w.Code, probe.read)
	}
	checkTAXIIResponse(t, w)

	// Unknown length (chunked): the limit applies while reading.
	r = httptest.NewRequest("POST", "http://parley.test/api/collections/"+collShared+"/objects/",
		io.MultiReader(strings.NewReader(envelope(indicator(1, 1))), strings.NewReader(strings.Repeat(" ", 200))))
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer "+tokenAlice)
	r.Header.Set("Accept", MediaType)
	r.Header.Set("Content-Type", MediaType)
	w = httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != 413 {
		t.Errorf("chunked: status %d %s", w.Code, w.Body)
	}
	if len(f.b.records) != 0 {
		t.Errorf("a refused request stored %d objects", len(f.b.records))
	}
}

func TestAddObjectsStatus(t *testing.T) {
	f := newFixture(t, Config{})
	bad := `{"type":"indicator","spec_version":"2.0","id":"indicator--00000000-0000-4000-8000-000000000099","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z"}`
	w := f.do(t, req{method: "POST", path: "/api/collections/" + collShared + "/objects/", body: envelope(indicator(1, 1), bad, indicator(2, 1))})
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	checkTAXIIResponse(t, w)
	var st Status
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusComplete || st.TotalCount != 3 || st.SuccessCount != 2 || st.FailureCount != 1 || st.PendingCount != 0 ||
		st.Failures[0].ID != "indicator--00000000-0000-4000-8000-000000000099" || st.Failures[0].Message == "" {
		t.Errorf("status = %+v", st)
	}
	// The status resource can be fetched again by its owner only.
	w = f.do(t, req{path: "/api/status/" + st.ID + "/"})
	if w.Code != 200 {
		t.Fatalf("GET status: %d %s", w.Code, w.Body)
	}
	var again Status
	json.Unmarshal(w.Body.Bytes(), &again)
	if again.ID != st.ID || again.SuccessCount != 2 {
		t.Errorf("GET status = %+v", again)
	}
	if w := f.do(t, req{path: "/api/status/" + st.ID + "/", token: tokenBob}); w.Code != 404 {
		t.Errorf("bob reads alice's status: %d", w.Code)
	}
	// Re-posting an identical version succeeds and is not duplicated.
	f.post(t, indicator(1, 1))
	w = f.do(t, req{path: "/api/collections/" + collShared + "/objects/?match[version]=all"})
	var env Envelope
	json.Unmarshal(w.Body.Bytes(), &env)
	if len(env.Objects) != 2 {
		t.Errorf("after re-post: %d objects, want 2", len(env.Objects))
	}
}

// TestPaging pages through a collection while objects are being added and
// checks that nothing is skipped or repeated, and the headers and
// envelope fields on the way.
func TestPaging(t *testing.T) {
	f := newFixture(t, Config{MaxPageSize: 7})
	for i := 1; i <= 20; i++ {
		f.post(t, indicator(i, 1))
	}
	seen := map[string]int{}
	next := ""
	pages := 0
	added := 20
	for {
		path := "/api/collections/" + collShared + "/objects/?limit=1000"
		if next != "" {
			path += "&next=" + next
		}
		w := f.do(t, req{path: path})
		if w.Code != 200 {
			t.Fatalf("page %d: %d %s", pages, w.Code, w.Body)
		}
		checkTAXIIResponse(t, w)
		var env Envelope
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
			t.Fatal(err)
		}
		pages++
		if len(env.Objects) > 7 {
			t.Fatalf("page of %d objects; the server maximum is 7", len(env.Objects))
		}
		first, last := w.Header().Get(HeaderDateAddedFirst), w.Header().Get(HeaderDateAddedLast)
		if len(env.Objects) > 0 {
			if _, err := ParseTimestamp(first); err != nil {
				t.Errorf("%s = %q", HeaderDateAddedFirst, first)
			}
			if _, err := ParseTimestamp(last); err != nil || last < first {
				t.Errorf("%s = %q (first %q)", HeaderDateAddedLast, last, first)
			}
		}
		for _, o := range env.Objects {
			var obj struct{ ID string }
			json.Unmarshal(o, &obj)
			seen[obj.ID]++
		}
		// Others keep adding while we page; what they add before the last
		// page must show up exactly once.
		if env.More && added < 30 {
			added++
			f.post(t, indicator(added, 1))
		}
		if !env.More {
			if env.Next != "" {
				t.Errorf("last page has next %q", env.Next)
			}
			break
		}
		if env.Next == "" {
			t.Fatal("more without next")
		}
		next = env.Next
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != added {
		t.Errorf("saw %d distinct objects, %d were added", len(seen), added)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
}

// TestVersionFilters checks match[version], the versions endpoint, the
// object endpoint and the manifest on one object with three versions.
func TestVersionFilters(t *testing.T) {
	f := newFixture(t, Config{})
	f.post(t, indicator(1, 10))
	f.post(t, indicator(1, 30), indicator(2, 5))
	f.post(t, indicator(1, 20))
	coll := "/api/collections/" + collShared
	id := "indicator--00000000-0000-4000-8000-000000000001"
	versionsOf := func(path string) []string {
		t.Helper()
		w := f.do(t, req{path: path})
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		checkTAXIIResponse(t, w)
		var env Envelope
		json.Unmarshal(w.Body.Bytes(), &env)
		var out []string
		for _, o := range env.Objects {
			var obj struct{ ID, Modified string }
			json.Unmarshal(o, &obj)
			out = append(out, obj.ID[len(obj.ID)-1:]+"@"+obj.Modified[17:19])
		}
		return out
	}
	tests := []struct {
		path string
		want string
	}{
		{coll + "/objects/", "1@30 2@05"},
		{coll + "/objects/?match[version]=last", "1@30 2@05"},
		{coll + "/objects/?match[version]=first", "1@10 2@05"},
		{coll + "/objects/?match[version]=first,last", "1@10 1@30 2@05"},
		{coll + "/objects/?match[version]=all", "1@10 1@30 2@05 1@20"},
		{coll + "/objects/?match[version]=all&match[id]=" + id, "1@10 1@30 1@20"},
		{coll + "/objects/?match[version]=2026-01-01T00:00:20Z", "1@20"},
		{coll + "/objects/?match[version]=2026-01-01T00:00:20.000Z,2026-01-01T00:00:05Z", "2@05 1@20"},
		{coll + "/objects/?match[type]=malware", ""},
		{coll + "/objects/?match[type]=malware,indicator&match[spec_version]=2.1", "1@30 2@05"},
		{coll + "/objects/?match[spec_version]=2.0", ""},
		{coll + "/objects/" + id + "/", "1@30"},
		{coll + "/objects/" + id + "/?match[version]=all", "1@10 1@30 1@20"},
		{coll + "/objects/" + id + "/?match[type]=malware", "1@30"}, // not a filter of this endpoint
	}
	for _, tt := range tests {
		if got := strings.Join(versionsOf(tt.path), " "); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.path, got, tt.want)
		}
	}
	// added_after: the date added of the first post's object.
	w := f.do(t, req{path: coll + "/manifest/?match[version]=all"})
	var m Manifest
	json.Unmarshal(w.Body.Bytes(), &m)
	if len(m.Objects) != 4 || m.Objects[0].MediaType != STIXMediaType || m.Objects[1].Version != "2026-01-01T00:00:30.000Z" {
		t.Fatalf("manifest = %+v", m)
	}
	if got := strings.Join(versionsOf(coll+"/objects/?match[version]=all&added_after="+m.Objects[1].DateAdded), " "); got != "2@05 1@20" {
		t.Errorf("added_after = %q", got)
	}
	w = f.do(t, req{path: coll + "/objects/" + id + "/versions/"})
	checkTAXIIResponse(t, w)
	var v Versions
	json.Unmarshal(w.Body.Bytes(), &v)
	if strings.Join(v.Versions, " ") != "2026-01-01T00:00:10.000Z 2026-01-01T00:00:30.000Z 2026-01-01T00:00:20.000Z" || v.More {
		t.Errorf("versions = %+v", v)
	}
	if w.Header().Get(HeaderDateAddedFirst) == "" || w.Header().Get(HeaderDateAddedLast) == "" {
		t.Error("versions lack the date added headers")
	}
}

// TestInternalErrorsDoNotLeak checks that an unknown backend error becomes
// a bare 500 while its details go to the log, and that tokens never reach
// the log.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	f := newFixture(t, Config{})
	f.b.failWith = errors.New("pq: relation members_secret does not exist")
	w := f.do(t, req{path: "/api/collections/"})
	if w.Code != 500 {
		t.Fatalf("status %d", w.Code)
	}
	checkTAXIIResponse(t, w)
	if strings.Contains(w.Body.String(), "members_secret") || !strings.Contains(w.Body.String(), `"internal error"`) {
		t.Errorf("500 body: %s", w.Body)
	}
	if !strings.Contains(f.logs.String(), "members_secret") {
		t.Errorf("log lacks the internal error: %s", f.logs)
	}
	f.b.failWith = nil
	f.do(t, req{path: "/api/collections/", token: "wrong-token-secret"})
	f.do(t, req{path: "/api/collections/", token: "-", header: map[string]string{"Authorization": "Basic " + basic("u", "basic-secret")}})
	if strings.Contains(f.logs.String(), tokenAlice) || strings.Contains(f.logs.String(), "wrong-token-secret") || strings.Contains(f.logs.String(), "basic-secret") {
		t.Errorf("a token reached the log: %s", f.logs)
	}
}

// TestGolden compares whole responses with testdata/golden; run with
// -update to rewrite them after an intended change.
func TestGolden(t *testing.T) {
	f := newFixture(t, Config{Title: "Parley test node", Contact: "cert@parley.test"})
	st := f.post(t, indicator(1, 10), indicator(2, 20))
	f.post(t, indicator(1, 30))
	coll := "/api/collections/" + collShared
	tests := []struct{ name, path, method, body string }{
		{name: "discovery", path: "/taxii2/"},
		{name: "api_root", path: "/api/"},
		{name: "collections", path: "/api/collections/"},
		{name: "collection", path: coll + "/"},
		{name: "objects_page", path: coll + "/objects/?limit=2&match[version]=all"},
		{name: "object", path: coll + "/objects/indicator--00000000-0000-4000-8000-000000000001/"},
		{name: "versions", path: coll + "/objects/indicator--00000000-0000-4000-8000-000000000001/versions/"},
		{name: "manifest", path: coll + "/manifest/"},
		{name: "status", path: "/api/status/" + st.ID + "/"},
		{name: "add_objects", path: coll + "/objects/", method: "POST", body: envelope(indicator(3, 1), `{"type":"indicator","id":"x"}`)},
		{name: "error_404", path: "/api/collections/" + collHidden + "/"},
		{name: "error_405_delete", path: coll + "/objects/indicator--00000000-0000-4000-8000-000000000001/", method: "DELETE"},
	}
	for _, tt := range tests {
		w := f.do(t, req{method: tt.method, path: tt.path, body: tt.body})
		checkTAXIIResponse(t, w)
		var got bytes.Buffer
		fmt.Fprintf(&got, "%d\n", w.Code)
		for _, h := range []string{"Allow", HeaderDateAddedFirst, HeaderDateAddedLast} {
			if v := w.Header().Get(h); v != "" {
				fmt.Fprintf(&got, "%s: %s\n", h, v)
			}
		}
		json.Indent(&got, bytes.TrimSpace(w.Body.Bytes()), "", "  ")
		got.WriteByte('\n')
		file := filepath.Join("testdata", "golden", tt.name+".txt")
		if *update {
			os.MkdirAll(filepath.Dir(file), 0o755)
			if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: response differs from %s:\n%s", tt.name, file, got.String())
		}
	}
}

// TestEndpointPattern: every TAXII path is labelled by its endpoint, with
// no id in the label; a path that names nothing is not.
func TestEndpointPattern(t *testing.T) {
	for _, tc := range []struct{ root, path, want string }{
		{"", "/taxii2/", "discovery"},
		{"", "/taxii2", "discovery"},
		{"", "/api/", "api-root"},
		{"", "/api/collections/", "collections"},
		{"", "/api/collections/c1/", "collection"},
		{"", "/api/collections/c1/objects/", "objects"},
		{"", "/api/collections/c1/objects/indicator--x/", "object"},
		{"", "/api/collections/c1/objects/indicator--x/versions/", "versions"},
		{"", "/api/collections/c1/manifest/", "manifest"},
		{"", "/api/status/s1/", "status"},
		{"/root/", "/root/collections/c1/objects/", "objects"},
		{"", "/api/collections/c1/nothing/", ""},
		{"", "/api/collections//objects/", ""},
		{"", "/elsewhere/", ""},
		{"/root/", "/api/collections/", ""},
	} {
		got, ok := EndpointPattern(tc.root, tc.path)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("EndpointPattern(%q, %q) = %q, %v; want %q", tc.root, tc.path, got, ok, tc.want)
		}
	}
}

// TestEndpoints: Endpoints lists each label EndpointPattern gives once.
func TestEndpoints(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Endpoints() {
		if e == "" || seen[e] {
			t.Errorf("Endpoints() has %q empty or twice: %v", e, Endpoints())
		}
		seen[e] = true
	}
	for _, p := range []string{"/taxii2/", "/api/", "/api/collections/", "/api/collections/c/", "/api/collections/c/objects/",
		"/api/collections/c/objects/o/", "/api/collections/c/objects/o/versions/", "/api/collections/c/manifest/", "/api/status/s/"} {
		if e, ok := EndpointPattern("", p); !ok || !seen[e] {
			t.Errorf("EndpointPattern(%q) = %q, %v: not in Endpoints() %v", p, e, ok, Endpoints())
		}
	}
	if len(seen) != 9 {
		t.Errorf("Endpoints() = %v: want the 9 endpoints", Endpoints())
	}
}

// TestClientGone: a request whose context the server canceled with
// ErrClientGone is answered nothing and logged at Info as 499, whatever
// failed; one canceled without that cause is answered as before.
func TestClientGone(t *testing.T) {
	for _, gone := range []bool{true, false} {
		f := newFixture(t, Config{})
		f.b.failWith = context.Canceled // what a store says once the context ends
		ctx, cancel := context.WithCancelCause(context.Background())
		if gone {
			cancel(ErrClientGone)
		} else {
			cancel(nil)
		}
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://parley.test/api/collections/", nil)
		r.Header.Set("Authorization", "Bearer "+tokenAlice)
		r.Header.Set("Accept", MediaType)
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		logs := f.logs.String()
		if gone {
			if w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
				t.Errorf("a gone client was written to: %d %q", w.Code, w.Body)
			}
			if !strings.Contains(logs, "closed by the client") || !strings.Contains(logs, "status=499") || strings.Contains(logs, "level=ERROR") {
				t.Errorf("log for a gone client: %s", logs)
			}
			if !ClientGone(r) || !errors.Is(ErrClientGone, context.Canceled) {
				t.Errorf("ClientGone false, or ErrClientGone not a cancellation")
			}
		} else if w.Code != http.StatusInternalServerError || !strings.Contains(logs, "level=ERROR") || ClientGone(r) {
			t.Errorf("a request canceled by the server: %d, log %s", w.Code, logs)
		}
	}
}

package taxii

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newClientServer(t *testing.T, cfg Config) (*testBackend, *httptest.Server) {
	t.Helper()
	b := newTestBackend()
	srv := httptest.NewServer(NewHandler(cfg, b))
	t.Cleanup(srv.Close)
	return b, srv
}

func rawObjects(objs ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		out[i] = json.RawMessage(o)
	}
	return out
}

func TestClientAgainstHandler(t *testing.T) {
	ctx := context.Background()
	_, srv := newClientServer(t, Config{MaxPageSize: 3, APIRootPath: "/trust/"})
	c := &Client{BaseURL: srv.URL, Root: "/trust/", Token: tokenAlice, HTTP: srv.Client()}

	d, err := c.Discovery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Default != srv.URL+"/trust/" || len(d.APIRoots) != 1 {
		t.Errorf("discovery = %+v", d)
	}
	// The discovered root works as an absolute Root.
	c.Root = d.Default
	root, err := c.APIRoot(ctx)
	if err != nil || root.Versions[0] != MediaType || root.MaxContentLength != DefaultMaxContentLength {
		t.Fatalf("APIRoot = %+v, %v", root, err)
	}
	cs, err := c.Collections(ctx)
	if err != nil || len(cs) != 3 {
		t.Fatalf("Collections = %+v, %v", cs, err)
	}
	col, err := c.Collection(ctx, collShared)
	if err != nil || !col.CanRead || !col.CanWrite || col.MediaTypes[0] != STIXMediaType {
		t.Fatalf("Collection = %+v, %v", col, err)
	}

	var objs []string
	for i := 1; i <= 10; i++ {
		objs = append(objs, indicator(i, 1))
	}
	objs = append(objs, `{"type":"indicator","id":"indicator--bad"}`)
	st, err := c.AddObjects(ctx, collShared, rawObjects(objs...))
	if err != nil {
		t.Fatal(err)
	}
	if st.TotalCount != 11 || st.SuccessCount != 10 || st.FailureCount != 1 {
		t.Errorf("AddObjects status = %+v", st)
	}
	again, err := c.Status(ctx, st.ID)
	if err != nil || again.ID != st.ID || again.SuccessCount != 10 {
		t.Errorf("Status = %+v, %v", again, err)
	}

	env, err := c.Objects(ctx, collShared, Query{Limit: 2})
	if err != nil || len(env.Objects) != 2 || !env.More || env.Next == "" || env.DateAdded.First.IsZero() || env.DateAdded.Last.Before(env.DateAdded.First) {
		t.Fatalf("Objects = %+v, %v", env, err)
	}
	seen := map[string]bool{}
	pages := 0
	for env, err := range c.ObjectPages(ctx, collShared, Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range env.Objects {
			var obj struct{ ID string }
			json.Unmarshal(o, &obj)
			if seen[obj.ID] {
				t.Errorf("%s repeated", obj.ID)
			}
			seen[obj.ID] = true
		}
	}
	if len(seen) != 10 || pages != 4 {
		t.Errorf("ObjectPages: %d objects in %d pages, want 10 in 4", len(seen), pages)
	}
	// Stopping early stops the pager.
	pages = 0
	for range c.ObjectPages(ctx, collShared, Query{}) {
		pages++
		break
	}
	if pages != 1 {
		t.Errorf("break after one page: %d pages", pages)
	}

	id := "indicator--00000000-0000-4000-8000-000000000003"
	if _, err := c.AddObjects(ctx, collShared, rawObjects(indicator(3, 9))); err != nil {
		t.Fatal(err)
	}
	one, err := c.Object(ctx, collShared, id, Query{Versions: VersionMatch{All: true}})
	if err != nil || len(one.Objects) != 2 {
		t.Fatalf("Object = %+v, %v", one, err)
	}
	vs, err := c.Versions(ctx, collShared, id, Query{})
	if err != nil || strings.Join(vs.Versions, " ") != "2026-01-01T00:00:01.000Z 2026-01-01T00:00:09.000Z" || vs.DateAdded.First.IsZero() {
		t.Fatalf("Versions = %+v, %v", vs, err)
	}
	m, err := c.Manifest(ctx, collShared, Query{IDs: []string{id}})
	if err != nil || len(m.Objects) != 1 || m.Objects[0].Version != "2026-01-01T00:00:09.000Z" {
		t.Fatalf("Manifest = %+v, %v", m, err)
	}
	after, err := c.Objects(ctx, collShared, Query{AddedAfter: env.DateAdded.Last})
	if err != nil || len(after.Objects) != 3 { // 9 added after the first two, of which 3 fit a page
		t.Fatalf("Objects added_after = %d objects, %v", len(after.Objects), err)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	_, srv := newClientServer(t, Config{MaxObjectsPerRequest: 2})
	c := &Client{BaseURL: srv.URL, Token: tokenAlice, HTTP: srv.Client()}
	tests := []struct {
		name   string
		call   func() error
		kind   error
		status int
	}{
		{"invisible collection", func() error { _, err := c.Collection(ctx, collHidden); return err }, ErrNotFound, 404},
		{"read write-only", func() error { _, err := c.Objects(ctx, collWriteOnly, Query{}); return err }, ErrForbidden, 403},
		{"write read-only", func() error {
			_, err := c.AddObjects(ctx, collReadOnly, rawObjects(indicator(1, 1)))
			return err
		}, ErrForbidden, 403},
		{"too many objects", func() error {
			_, err := c.AddObjects(ctx, collShared, rawObjects(indicator(1, 1), indicator(2, 1), indicator(3, 1)))
			return err
		}, ErrTooLarge, 413},
		{"bad next", func() error { _, err := c.Objects(ctx, collShared, Query{Next: "bogus"}); return err }, ErrBadRequest, 400},
		{"unknown status", func() error { _, err := c.Status(ctx, "nope"); return err }, ErrNotFound, 404},
		{"bad token", func() error {
			bad := *c
			bad.Token = "secret-wrong-token"
			_, err := bad.Collections(ctx)
			if err != nil && strings.Contains(err.Error(), "secret-wrong-token") {
				t.Errorf("the token leaked into the error: %v", err)
			}
			return err
		}, ErrUnauthorized, 401},
	}
	for _, tt := range tests {
		err := tt.call()
		if !errors.Is(err, tt.kind) {
			t.Errorf("%s: error %v is not %v", tt.name, err, tt.kind)
			continue
		}
		var re *ResponseError
		var e *Error
		if !errors.As(err, &re) || re.StatusCode != tt.status || !errors.As(err, &e) || e.HTTPStatus != re.Err.HTTPStatus || e.Description == "" {
			t.Errorf("%s: error %#v does not carry the server's error resource", tt.name, err)
		}
	}
	if _, err := (&Client{BaseURL: "not a url"}).Discovery(ctx); err == nil {
		t.Error("a relative base URL was accepted")
	}
	if _, err := c.Collection(ctx, ""); err == nil {
		t.Error("an empty collection id was accepted")
	}
}

// TestClientRefusesOtherMediaTypes checks that a response that is not
// TAXII 2.1 is an error even with status 200.
func TestClientRefusesOtherMediaTypes(t *testing.T) {
	for _, ct := range []string{"application/json", "text/html", "application/taxii+json;version=2.0", ""} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Write([]byte(`{"title":"x"}`))
		}))
		_, err := (&Client{BaseURL: srv.URL, HTTP: srv.Client()}).Discovery(context.Background())
		srv.Close()
		if err == nil {
			t.Errorf("Content-Type %q accepted", ct)
		}
	}
}

// TestClientDecodesMockServer serves the OASIS Python client's canned
// responses and reads them with Client, as a third-party server would
// send them.
func TestClientDecodesMockServer(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(sharedTAXII, "taxii2client_v21_mock_responses.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Responses map[string]json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	routes := map[string]string{
		"/taxii2/":                      "DISCOVERY_RESPONSE",
		"/api1/":                        "API_ROOT_RESPONSE",
		"/api1/collections/":            "COLLECTIONS_RESPONSE",
		"/api1/collections/c/":          "COLLECTION_RESPONSE",
		"/api1/collections/c/objects/":  "GET_OBJECTS_RESPONSE",
		"/api1/collections/c/manifest/": "GET_MANIFEST_RESPONSE",
		"/api1/status/2d086da7-4bdc-4f91-900e-d77486753710/": "STATUS_RESPONSE",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := routes[r.URL.Path]
		if r.Method == http.MethodPost {
			name, ok = "ADD_OBJECTS_RESPONSE", true
		}
		if !ok || r.Header.Get("Accept") != MediaType {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/taxii+json; version=2.1")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusAccepted)
		}
		w.Write(f.Responses[name])
	}))
	defer srv.Close()
	ctx := context.Background()
	c := &Client{BaseURL: srv.URL, Root: "/api1", HTTP: srv.Client()}
	if d, err := c.Discovery(ctx); err != nil || len(d.APIRoots) != 3 {
		t.Errorf("Discovery = %+v, %v", d, err)
	}
	if r, err := c.APIRoot(ctx); err != nil || r.MaxContentLength != 9765625 {
		t.Errorf("APIRoot = %+v, %v", r, err)
	}
	if cs, err := c.Collections(ctx); err != nil || len(cs) != 2 {
		t.Errorf("Collections = %+v, %v", cs, err)
	}
	if col, err := c.Collection(ctx, "c"); err != nil || col.Title != "High Value Indicator Collection" {
		t.Errorf("Collection = %+v, %v", col, err)
	}
	if env, err := c.Objects(ctx, "c", Query{}); err != nil || len(env.Objects) != 1 {
		t.Errorf("Objects = %+v, %v", env, err)
	}
	if m, err := c.Manifest(ctx, "c", Query{}); err != nil || len(m.Objects) != 2 || m.Objects[0].DateAdded != "2016-11-04T03:04:051Z" {
		t.Errorf("Manifest = %+v, %v", m, err)
	}
	if st, err := c.Status(ctx, "2d086da7-4bdc-4f91-900e-d77486753710"); err != nil || st.PendingCount != 2 {
		t.Errorf("Status = %+v, %v", st, err)
	}
	if st, err := c.AddObjects(ctx, "c", rawObjects(indicator(1, 1))); err != nil || st.SuccessCount != 1 {
		t.Errorf("AddObjects = %+v, %v", st, err)
	}
}

// TestClientBasicAuth: with User set and no Token the client sends HTTP
// Basic authentication, and a token wins over a user.
func TestClientBasicAuth(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", MediaType)
		w.Write([]byte(`{"collections":[]}`))
	}))
	defer srv.Close()
	for _, c := range []*Client{
		{BaseURL: srv.URL, User: "misp", Password: "s3cret:x"},
		{BaseURL: srv.URL, User: "misp", Password: "p", Token: "tok"},
		{BaseURL: srv.URL},
	} {
		if _, err := c.Collections(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"Basic bWlzcDpzM2NyZXQ6eA==", "Bearer tok", ""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Authorization headers = %q, want %q", got, want)
	}
}

// A hostile server's error message and media type come back in the
// client's errors (which feeds record and commands print) cut to a few
// hundred bytes, however large the server made them.
func TestClientErrorsDontEchoHugeAnswers(t *testing.T) {
	huge := strings.Repeat("A", 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/taxii2/") {
			w.Header().Set("Content-Type", "text/"+huge)
			w.Write([]byte("{}"))
			return
		}
		w.Header().Set("Content-Type", MediaType)
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(Error{Title: "\x1b[2J" + huge, Description: huge})
	}))
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
	_, err := c.Objects(context.Background(), "c", Query{})
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("err = %.200v", err)
	}
	if n := len(err.Error()); n > 1000 || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("the error of a 503 with a 1 MiB message is %d bytes: %.100q", n, err.Error())
	}
	_, err = c.Discovery(context.Background())
	if err == nil || !strings.Contains(err.Error(), "media type") {
		t.Fatalf("err = %.200v", err)
	}
	if n := len(err.Error()); n > 1000 {
		t.Errorf("the error of a 1 MiB media type is %d bytes", n)
	}
}

// A server whose next cursors go round in a circle (a, b, a, ...) with
// more always true ends the iteration with an error at the first cursor
// given twice, instead of paging for ever.
func TestObjectPagesCursorCircle(t *testing.T) {
	var pages int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages++
		next := "a"
		if r.URL.Query().Get("next") == "a" {
			next = "b"
		}
		w.Header().Set("Content-Type", MediaType)
		json.NewEncoder(w).Encode(map[string]any{"more": pages < 100, "next": next, "objects": []any{map[string]any{"type": "x-test", "id": "x-test--1"}}})
	}))
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
	var err error
	n := 0
	for _, e := range c.ObjectPages(context.Background(), "c", Query{}) {
		if e != nil {
			err = e
			break
		}
		n++
	}
	if err == nil || n > 3 {
		t.Fatalf("%d pages (of %d served), %v", n, pages, err)
	}
}

// TestAddObjectsSendsObjectsAsTheyAre: the envelope carries each object's
// bytes, not HTML-escaped (each <, > and & as \u003c, six bytes), which
// would make an object near the server's size limit too large.
func TestAddObjectsSendsObjectsAsTheyAre(t *testing.T) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", MediaType)
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"id":"s","status":"complete","total_count":1,"success_count":1}`))
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: tokenAlice, HTTP: srv.Client()}
	obj := `{"type":"note","id":"note--1","content":"<b>&amp;</b>"}`
	if _, err := c.AddObjects(context.Background(), collShared, rawObjects(obj)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), obj) {
		t.Errorf("posted %s, want the object as it is: %s", body, obj)
	}
}

// A server that echoes the credentials it was sent (in its error
// message, its media type, or the URL of a redirect to another server)
// doesn't get them into the client's errors, which feeds record in their
// status and the node's database and commands print: the bearer token,
// and the Basic password alone, as "user:password" in base64, or escaped
// in a URL. Echoed in a 403, the token used to be in the feed's
// last_error (black-box, with parley feed poll).
func TestClientErrorsHoldNoCredentials(t *testing.T) {
	const token, password = "tok-3x4mpl3/s3cr3t+=", "pa55 w0rd/x"
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		_, pw, _ := r.BasicAuth()
		echo := auth + " " + pw + " " + strings.TrimPrefix(auth, "Bearer ")
		// Where the client cuts the server's text (maxErrorText): a
		// secret there must not come out cut in half.
		cut := strings.Repeat("x", maxErrorText-len("no access for ")-4) + strings.TrimPrefix(auth, "Bearer ") + pw
		switch {
		case strings.HasSuffix(r.URL.Path, "/taxii2/"):
			w.Header().Set("Content-Type", "text/plain; x="+echo)
			w.Write([]byte("{}"))
		case strings.Contains(r.URL.Path, "/redirect/"):
			http.Redirect(w, r, other.URL+"/"+url.PathEscape(strings.TrimPrefix(auth, "Bearer "))+"/"+url.PathEscape(pw)+"?t="+url.QueryEscape(echo), http.StatusFound)
		default:
			w.Header().Set("Content-Type", MediaType)
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(Error{Title: "no access for " + cut, Description: "credentials " + echo})
		}
	}))
	defer srv.Close()
	hc := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		return errors.New("redirect to " + req.URL.String() + " refused")
	}}
	for _, c := range []*Client{
		{BaseURL: srv.URL, Token: token, HTTP: hc},
		{BaseURL: srv.URL, User: "feeduser", Password: password, HTTP: hc},
	} {
		_, err := c.Objects(context.Background(), "c", Query{})
		if !errors.Is(err, ErrForbidden) {
			t.Fatalf("err = %v, want ErrForbidden", err)
		}
		var re *ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
			t.Errorf("err = %v: no *ResponseError", err)
		}
		_, err2 := c.Discovery(context.Background())
		c.Root = srv.URL + "/redirect/"
		_, err3 := c.Collections(context.Background())
		for _, e := range []error{err, err2, err3} {
			if e == nil {
				t.Fatal("no error")
			}
			msg := e.Error()
			for _, secret := range []string{token, password, url.QueryEscape(token), url.PathEscape(password), url.QueryEscape(password),
				base64.StdEncoding.EncodeToString([]byte("feeduser:" + password)), token[:4], password[:4]} {
				if strings.Contains(msg, secret) {
					t.Errorf("the error holds the secret %q: %s", secret, msg)
				}
			}
			if !strings.Contains(msg, redactedMark) {
				t.Errorf("nothing redacted in %s", msg)
			}
		}
	}
}

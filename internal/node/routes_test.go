package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// logBuffer collects a JSON slog handler's lines, safely for concurrent
// handlers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the decoded log lines.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// frontNode is a node (alice with a key, collection "shared" she reads
// and writes) behind an httptest server running its Handler with a JSON
// logger into logs. No workers run: tests integrate by hand.
type frontNode struct {
	*Node
	srv   *httptest.Server
	logs  *logBuffer
	alice NewMember
	key   ed25519.PrivateKey
	coll  string
	mu    sync.Mutex
	now   time.Time
}

// advance moves the node's clock on by d.
func (fn *frontNode) advance(d time.Duration) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	fn.now = fn.now.Add(d)
}

func newFrontNode(t *testing.T, edit func(*Config)) *frontNode {
	t.Helper()
	fn := &frontNode{logs: &logBuffer{}, now: time.Now()}
	n, _ := initNode(t, Options{Now: func() time.Time { fn.mu.Lock(); defer fn.mu.Unlock(); return fn.now }})
	t.Cleanup(func() { n.Close() })
	if edit != nil {
		edit(&n.cfg)
	}
	fn.Node = n
	fn.alice, fn.key, fn.coll = addAliceShared(t, n)
	fn.srv = httptest.NewServer(n.Handler(slog.New(slog.NewJSONHandler(fn.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	t.Cleanup(fn.srv.Close)
	return fn
}

// do sends a request with the given Authorization header ("" for none).
func (fn *frontNode) do(t *testing.T, method, path, auth string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, fn.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", taxii.MediaType)
	if body != nil {
		req.Header.Set("Content-Type", taxii.MediaType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := fn.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// concretePath turns a route pattern into a method and a path it serves.
func concretePath(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern
	}
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "{id}", "x")
	switch path {
	case "/log/tile/":
		path = "/log/tile/0/000"
	case taxii.DefaultAPIRootPath:
		path += "collections/"
	}
	return method, path
}

// TestRouteTableAuth sends a request to every route of the route table:
// without a token, with a token no member has, with tokens that worked
// once (rotated, revoked, of a removed member), and in every accepted
// credentials form with alice's. An authenticated route answers 401 with a
// TAXII error to all but alice's, never a 500, and shows nothing of the
// node's data; every route answers something other than 500, and the
// access log labels each request with its route's pattern (so the table
// is what is served).
func TestRouteTableAuth(t *testing.T) {
	fn := newFrontNode(t, nil)
	st := post(t, &taxii.Client{BaseURL: fn.srv.URL, Token: fn.alice.Token}, fn.coll, indicator(t, fn.alice.ID, fn.key, t0))
	if st.SuccessCount != 1 {
		t.Fatalf("setup: %+v", st)
	}
	objectID := st.Successes[0].ID
	if _, err := mustIntegrator(t, fn.Node).Integrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	secrets := []string{objectID, fn.coll, fn.alice.ID, fn.VerifierKey()}
	// Tokens that worked once: rotated away, revoked, of a removed member
	// (no front end caches a token).
	ended := map[string]string{}
	for _, how := range []string{"rotated", "revoked", "removed"} {
		m, err := fn.AddMember(context.Background(), "ended-"+how, nil)
		if err != nil {
			t.Fatal(err)
		}
		switch how {
		case "rotated":
			_, _, err = fn.RotateToken(context.Background(), m.ID)
		case "revoked":
			_, err = fn.RevokeTokens(context.Background(), m.ID)
		case "removed":
			_, err = fn.RemoveMember(context.Background(), m.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
		ended[how+" token"] = "Bearer " + m.Token
	}
	routes := fn.routes(slog.New(slog.DiscardHandler), http.NewServeMux())
	if len(routes) < 20 {
		t.Fatalf("only %d routes in the table", len(routes))
	}
	seen := map[string]bool{}
	wantLabel := map[string]string{} // label → the route's pattern
	for _, rt := range routes {
		if seen[rt.Pattern] {
			t.Errorf("route %q is in the table twice", rt.Pattern)
		}
		seen[rt.Pattern] = true
		method, path := concretePath(rt.Pattern)
		label := rt.Pattern
		if rt.Label != nil {
			if l := rt.Label(httptest.NewRequest(method, path, nil)); l != "" {
				label = l
			}
		}
		wantLabel[label] = rt.Pattern
		t.Run(rt.Pattern, func(t *testing.T) {
			var body func() io.Reader
			if method == http.MethodPost {
				body = func() io.Reader { return strings.NewReader(`{}`) }
			} else {
				body = func() io.Reader { return nil }
			}
			creds := map[string]string{
				"none":           "",
				"unknown token":  "Bearer parley_" + strings.Repeat("A", 43),
				"malformed":      "Bearer",
				"unknown basic":  "Basic " + base64.StdEncoding.EncodeToString([]byte("x:parley_nobody")),
				"other scheme":   "Digest " + fn.alice.Token,
				"alice bearer":   "Bearer " + fn.alice.Token,
				"alice token lc": "token " + fn.alice.Token,
				"alice basic":    "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+fn.alice.Token)),
			}
			for name, auth := range ended {
				creds[name] = auth
			}
			for name, auth := range creds {
				resp, b := fn.do(t, method, path, auth, body())
				if resp.StatusCode == http.StatusInternalServerError {
					t.Errorf("%s %s (%s): 500: %s", method, path, name, b)
				}
				if resp.Header.Get(HeaderRequestID) == "" {
					t.Errorf("%s %s (%s): no %s", method, path, name, HeaderRequestID)
				}
				alice := strings.HasPrefix(name, "alice")
				if (rt.Auth == AuthMember || rt.Auth == AuthTAXII) && !alice {
					if resp.StatusCode != http.StatusUnauthorized {
						t.Errorf("%s %s (%s): %d, want 401: %s", method, path, name, resp.StatusCode, b)
						continue
					}
					var e taxii.Error
					if err := json.Unmarshal(b, &e); err != nil || e.HTTPStatus != "401" {
						t.Errorf("%s %s (%s): 401 without a TAXII error: %q", method, path, name, b)
					}
					if resp.Header.Get("WWW-Authenticate") == "" {
						t.Errorf("%s %s (%s): 401 without WWW-Authenticate", method, path, name)
					}
					for _, s := range secrets {
						if strings.Contains(string(b), s) {
							t.Errorf("%s %s (%s): the 401 shows %q", method, path, name, s)
						}
					}
				}
				if alice && (rt.Auth == AuthMember || rt.Auth == AuthTAXII) && resp.StatusCode == http.StatusUnauthorized {
					t.Errorf("%s %s (%s): alice refused: %s", method, path, name, b)
				}
			}
		})
	}
	// The access log labels every request with the pattern of the route
	// that took it.
	labelled := map[string]bool{}
	for _, l := range fn.logs.lines(t) {
		if l["msg"] == "request" {
			labelled[fmt.Sprint(l["route"])] = true
		}
	}
	for l, p := range wantLabel {
		if !labelled[l] {
			t.Errorf("no request was labelled %q (route %q): the table and the mux disagree", l, p)
		}
	}
}

func mustIntegrator(t *testing.T, n *Node) *LogIntegrator {
	t.Helper()
	li, err := NewLogIntegrator(n, LogIntegratorOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return li
}

// TestErrorKinds checks the one error writer's mapping of error kinds to
// statuses, and that only client-made kinds show their text.
func TestErrorKinds(t *testing.T) {
	secret := "SELECT secret FROM t"
	tests := []struct {
		err        error
		status     int
		retry      string
		shows      string // a part of the description
		hidesError bool   // the description must not contain err's text
	}{
		{fmt.Errorf("couldn't find x: %w", store.ErrNotFound), 404, "", "no such resource", true},
		{requestErrorf(store.ErrNotFound, "no such tile"), 404, "", "no such tile", false},
		{fmt.Errorf("member name taken: %w", store.ErrConflict), 409, "", "member name taken", false},
		{fmt.Errorf("limit must be positive: %w", store.ErrInvalid), 400, "", "limit must be positive", false},
		{fmt.Errorf("object 3: %w", store.ErrTooLarge), 413, "", "object 3", false},
		{&http.MaxBytesError{Limit: 10}, 413, "", "too large", false},
		{&store.QuotaError{Used: 1, Quota: 2, Need: 3}, 507, "", "", false},
		{fmt.Errorf("couldn't commit: %w: %s", store.ErrFull, secret), 507, "", "storage is full", true},
		{fmt.Errorf("x: %w", ErrNotIntegrated), 503, "1", "checkpoint", false},
		{errBusy, 503, "1", "busy", false},
		{fmt.Errorf("%s: %w", secret, context.Canceled), 503, "", "canceled", true},
		{errBodyTimeout, 408, "", "body_read_timeout", false},
		{errUnauthorized, 401, "", "token", false},
		{fmt.Errorf("%w: only writers", errPrivateForbidden), 403, "", "only writers", false},
		{fmt.Errorf("%s: %w", secret, store.ErrBudgetSpent), 429, "", "query_budget", false},
		{errors.New(secret), 500, "", "internal error", true},
		{fmt.Errorf("couldn't read: %w", io.ErrUnexpectedEOF), 500, "", "internal error", true},
	}
	for _, tt := range tests {
		status, _, desc, retry := classifyError(tt.err)
		if status != tt.status || retry != tt.retry {
			t.Errorf("%v: status %d retry %q, want %d %q", tt.err, status, retry, tt.status, tt.retry)
		}
		if !strings.Contains(desc, tt.shows) {
			t.Errorf("%v: description %q lacks %q", tt.err, desc, tt.shows)
		}
		if tt.hidesError && strings.Contains(desc, secret) {
			t.Errorf("%v: description %q shows the error's text", tt.err, desc)
		}
	}
}

// TestUnknownErrorLogged checks that an error of no known kind is a 500
// with a TAXII error that says nothing, and one error line in the log
// with the request id (the client's, echoed) and without the token.
func TestUnknownErrorLogged(t *testing.T) {
	fn := newFrontNode(t, nil)
	const detail = "disk I/O error at page 42"
	fn.Extend(Extension{Routes: []Route{{Pattern: "GET /test/fail", Auth: AuthMember, Member: func(w http.ResponseWriter, r *http.Request, m store.Member) {
		respondError(w, r, fmt.Errorf("couldn't read: %s", detail))
	}}}})
	srv := httptest.NewServer(fn.Handler(slog.New(slog.NewJSONHandler(fn.logs, nil))))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/test/fail", nil)
	req.Header.Set("Authorization", "Bearer "+fn.alice.Token)
	req.Header.Set(HeaderRequestID, "req-123.abc")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e taxii.Error
	if resp.StatusCode != 500 || json.Unmarshal(b, &e) != nil || e.HTTPStatus != "500" || strings.Contains(string(b), detail) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if got := resp.Header.Get(HeaderRequestID); got != "req-123.abc" {
		t.Errorf("%s = %q, want the client's", HeaderRequestID, got)
	}
	var errorLines int
	for _, l := range fn.logs.lines(t) {
		if l["level"] == "ERROR" {
			errorLines++
			if l["request_id"] != "req-123.abc" || l["route"] != "GET /test/fail" || l["member"] != fn.alice.ID || !strings.Contains(fmt.Sprint(l["error"]), detail) {
				t.Errorf("error line %v", l)
			}
		}
	}
	if errorLines != 1 {
		t.Errorf("%d error lines, want 1:\n%s", errorLines, fn.logs)
	}
	if strings.Contains(fn.logs.String(), fn.alice.Token) || strings.Contains(fn.logs.String(), "Bearer") {
		t.Errorf("the log holds the token:\n%s", fn.logs)
	}
}

// TestTAXIIFailureLogged checks that a 500 of the TAXII handler (the
// store closed under it) is logged with the request id too, and says
// nothing to the client.
func TestTAXIIFailureLogged(t *testing.T) {
	fn := newFrontNode(t, nil)
	fn.store.Close()
	resp, b := fn.do(t, http.MethodGet, taxii.DefaultAPIRootPath+"collections/", "Bearer "+fn.alice.Token, nil)
	if resp.StatusCode != 500 || strings.Contains(string(b), "closed") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	id := resp.Header.Get(HeaderRequestID)
	var found bool
	for _, l := range fn.logs.lines(t) {
		if l["level"] == "ERROR" {
			found = true
			if l["request_id"] != id || l["error"] == nil {
				t.Errorf("error line without the request id %q: %v", id, l)
			}
		}
	}
	if !found {
		t.Errorf("no error line:\n%s", fn.logs)
	}
	if strings.Contains(fn.logs.String(), fn.alice.Token) {
		t.Errorf("the log holds the token")
	}
}

// TestAccessLog checks the access log line of a request: its fields, the
// request id echoed (a fresh one when the client's is unsafe), and never
// the token or the Authorization header.
func TestAccessLog(t *testing.T) {
	fn := newFrontNode(t, nil)
	for _, tc := range []struct {
		sentID string
		keep   bool
	}{{"abc-123", true}, {"bad id;with/chars", false}, {strings.Repeat("a", 65), false}, {"", false}} {
		fn.logs.buf.Reset()
		req, _ := http.NewRequest(http.MethodGet, fn.srv.URL+"/members", nil)
		req.Header.Set("Authorization", "Bearer "+fn.alice.Token)
		if tc.sentID != "" {
			req.Header.Set(HeaderRequestID, tc.sentID)
		}
		resp, err := fn.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get(HeaderRequestID)
		if tc.keep && id != tc.sentID || !tc.keep && (id == "" || id == tc.sentID) {
			t.Errorf("sent %q, echoed %q", tc.sentID, id)
		}
		ls := fn.logs.lines(t)
		if len(ls) != 1 {
			t.Fatalf("%d log lines, want 1: %v", len(ls), ls)
		}
		l := ls[0]
		want := map[string]any{"msg": "request", "request_id": id, "member": fn.alice.ID, "route": "GET /members",
			"method": "GET", "path": "/members", "status": float64(200), "bytes": float64(len(body))}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("log field %s = %v, want %v", k, l[k], v)
			}
		}
		if d, ok := l["duration"].(float64); !ok || d <= 0 {
			t.Errorf("duration %v", l["duration"])
		}
		if s := fn.logs.String(); strings.Contains(s, fn.alice.Token) || strings.Contains(strings.ToLower(s), "authorization") {
			t.Errorf("the access log holds credentials: %s", s)
		}
	}
	// TAXII requests, authenticated by the TAXII handler, name the member
	// too, labelled by endpoint; unmatched paths are labelled "unmatched".
	fn.logs.buf.Reset()
	fn.do(t, http.MethodGet, taxii.DefaultAPIRootPath+"collections/", "Token "+fn.alice.Token, nil)
	fn.do(t, http.MethodGet, "/nothing/here", "", nil)
	ls := fn.logs.lines(t)
	var routes []string
	for _, l := range ls {
		if l["msg"] == "request" {
			routes = append(routes, fmt.Sprint(l["route"], " ", l["member"], " ", l["status"]))
		}
	}
	want := []string{"taxii collections " + fn.alice.ID + " 200", "unmatched  404"}
	if strings.Join(routes, "|") != strings.Join(want, "|") {
		t.Errorf("access log routes %q, want %q", routes, want)
	}
	// A client that puts its token into the path (TAXII, the log, the web
	// UI, nowhere), authenticated or not: the path is logged without it.
	fn.logs.buf.Reset()
	for _, path := range []string{
		taxii.DefaultAPIRootPath + "collections/" + fn.alice.Token + "/",
		taxii.DefaultAPIRootPath + "collections/" + fn.alice.Token + "/objects/",
		"/log/" + fn.alice.Token,
		"/ui/collections/" + fn.alice.Token,
		"/" + fn.alice.Token,
	} {
		fn.do(t, http.MethodGet, path, "", nil)
		fn.do(t, http.MethodGet, path, "Bearer "+fn.alice.Token, nil)
	}
	if s := fn.logs.String(); strings.Contains(s, strings.TrimPrefix(fn.alice.Token, tokenPrefix)) || !strings.Contains(s, "parley_(redacted)") {
		t.Errorf("a token in the path is logged: %s", s)
	}
}

// TestHealthzReadyz checks the probes: no credentials needed, readiness
// follows the integrator's lag and the store, and neither shows any
// count or error text.
func TestHealthzReadyz(t *testing.T) {
	fn := newFrontNode(t, func(c *Config) { c.ReadyMaxLag = Duration(10 * time.Second) })
	get := func(path string) (int, string) {
		resp, b := fn.do(t, http.MethodGet, path, "", nil)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("readyz on an empty log: %d %q", code, body)
	}
	post(t, &taxii.Client{BaseURL: fn.srv.URL, Token: fn.alice.Token}, fn.coll, indicator(t, fn.alice.ID, fn.key, t0))
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz with an entry just sequenced: %d", code)
	}
	fn.advance(11 * time.Second) // the entry waits beyond ReadyMaxLag
	if code, body := get("/readyz"); code != 503 || body != "not ready: log integration behind\n" {
		t.Fatalf("readyz with the integrator behind: %d %q", code, body)
	}
	if _, err := mustIntegrator(t, fn.Node).Integrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz once integrated: %d", code)
	}
	fn.store.Close()
	if code, body := get("/readyz"); code != 503 || body != "not ready: store\n" {
		t.Fatalf("readyz with the store closed: %d %q", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz with the store closed: %d", code)
	}
}

// TestMetrics scrapes the metrics after some requests and parses them
// with the Prometheus text parser.
func TestMetrics(t *testing.T) {
	fn := newFrontNode(t, nil)
	c := &taxii.Client{BaseURL: fn.srv.URL, Token: fn.alice.Token}
	base, err := fn.store.LogSize(context.Background()) // alice's key entry
	if err != nil {
		t.Fatal(err)
	}
	post(t, c, fn.coll, indicator(t, fn.alice.ID, fn.key, t0), indicator(t, fn.alice.ID, fn.key, t0))
	if _, err := mustIntegrator(t, fn.Node).Integrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	post(t, c, fn.coll, indicator(t, fn.alice.ID, fn.key, t0)) // sequenced, not integrated
	fn.advance(5 * time.Second)
	fn.do(t, http.MethodGet, "/healthz", "", nil)
	fn.do(t, http.MethodGet, "/healthz", "", nil)
	fn.do(t, http.MethodGet, "/readyz", "", nil) // times the store (a scrape does too, concurrently with gathering)
	fn.do(t, http.MethodGet, "/log/checkpoint", "", nil)
	fn.do(t, http.MethodGet, "/log/checkpoint", "Bearer "+fn.alice.Token, nil)
	// TAXII requests are labelled by endpoint, never by collection id.
	fn.do(t, http.MethodGet, taxii.DefaultAPIRootPath+"collections/"+fn.coll+"/manifest/", "Bearer "+fn.alice.Token, nil)
	fn.do(t, http.MethodGet, taxii.DefaultAPIRootPath+"collections/"+fn.coll+"/nothing-here/", "Bearer "+fn.alice.Token, nil)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn.ServeMetrics(ctx, ln, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeMetrics: %v", err)
		}
	}()
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the metrics don't parse: %v", err)
	}
	counter := func(name string, labels map[string]string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no metric %s", name)
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"parley_http_requests_total", map[string]string{"route": "GET /healthz", "status": "200"}, 2},
		{"parley_http_requests_total", map[string]string{"route": "GET /log/checkpoint", "status": "401"}, 1},
		{"parley_http_requests_total", map[string]string{"route": "GET /log/checkpoint", "status": "200"}, 1},
		{"parley_http_requests_total", map[string]string{"route": "taxii objects", "status": "202"}, 2},
		{"parley_http_requests_total", map[string]string{"route": "taxii manifest", "status": "200"}, 1},
		{"parley_http_requests_total", map[string]string{"route": taxii.DefaultAPIRootPath, "status": "404"}, 1},
		{"parley_objects_ingested_total", nil, 3},
		{"parley_log_entries", nil, float64(base + 3)},
		{"parley_log_checkpoint_size", nil, float64(base + 2)},
		{"parley_log_integration_lag_seconds", nil, 5},
		{"parley_log_checkpoint_age_seconds", nil, 5},
		{"parley_private_evaluations_total", nil, 0},
	} {
		// Times are stored to the microsecond: a second's fraction may go.
		if got := counter(tc.name, tc.labels); got < tc.want-0.01 || got > tc.want+0.01 {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), fn.coll) {
					t.Errorf("%s has a label %s=%q that names the collection", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	if f := fams["parley_http_request_duration_seconds"]; f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("no request duration histogram")
	}
	if f := fams["parley_store_probe_seconds"]; f == nil || f.GetMetric()[0].GetHistogram().GetSampleCount() == 0 {
		t.Errorf("no store probe observed")
	}
	// The API listener serves no metrics.
	if resp, _ := fn.do(t, http.MethodGet, "/metrics", "", nil); resp.StatusCode != 404 {
		t.Errorf("GET /metrics on the API listener: %d", resp.StatusCode)
	}
}

func matches(m *dto.Metric, labels map[string]string) bool {
	for k, v := range labels {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestBodyReadTimeout checks that an authenticated request whose body
// stalls is answered 408 after body_read_timeout, on the node's own routes
// and on TAXII's, and that the connection is closed.
func TestBodyReadTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	fn := newFrontNode(t, func(c *Config) { c.BodyReadTimeout = Duration(timeout) })
	// Each body starts as its route expects (a publication is read a
	// value at a time, so an unknown field would be refused at once).
	for path, start := range map[string]string{
		"/private/sets": `{"values": [`,
		taxii.DefaultAPIRootPath + "collections/" + fn.coll + "/objects/": `{"objects": [`,
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(fn.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		begun := time.Now()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nAccept: %s\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n%s",
			path, fn.alice.Token, taxii.MediaType, taxii.MediaType, start)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("%s: %d %s, want 408", path, resp.StatusCode, b)
		}
		var e taxii.Error
		if json.Unmarshal(b, &e) != nil || e.HTTPStatus != "408" {
			t.Errorf("%s: 408 without a TAXII error: %s", path, b)
		}
		if d := time.Since(begun); d < timeout || d > 5*time.Second {
			t.Errorf("%s: answered after %v, timeout %v", path, d, timeout)
		}
	}
	// A body that arrives in time is not cut short, and a long handler
	// after it is not either.
	resp, b := fn.do(t, http.MethodPost, "/private/sets", "Bearer "+fn.alice.Token,
		strings.NewReader(`{"collection":"`+fn.coll+`","values":["ipv4-addr:198.51.100.7"]}`))
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("a prompt body: %d %s", resp.StatusCode, b)
	}
}

// TestUnreadBodyTimeout: a request answered without reading its body (no
// token, a bad one, an unknown route) whose body never comes is answered
// within body_read_timeout and its connection closed. net/http reads what
// is left of a small body before it answers, and did so with no deadline:
// the client got no answer and held the connection for as long as it
// liked. A body that does arrive leaves the connection open for the next
// request.
func TestUnreadBodyTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	fn := newFrontNode(t, func(c *Config) { c.BodyReadTimeout = Duration(timeout) })
	objects := taxii.DefaultAPIRootPath + "collections/" + fn.coll + "/objects/"
	for _, tc := range []struct{ path, auth string }{
		{objects, ""},
		{objects, "Authorization: Bearer parley_wrong\r\n"},
		{"/private/sets", ""},
		{"/log/checkpoint", "Authorization: Bearer " + fn.alice.Token + "\r\n"},
		{"/nothing/here", ""},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(fn.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		begun := time.Now()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\n%sAccept: %s\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n{",
			tc.path, tc.auth, taxii.MediaType, taxii.MediaType)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			conn.Close() // or the test server's Close waits for it
			t.Fatalf("%s %q: no answer: %v", tc.path, tc.auth, err)
		}
		io.ReadAll(resp.Body)
		if d := time.Since(begun); d > 5*time.Second {
			t.Errorf("%s %q: answered after %v, timeout %v", tc.path, tc.auth, d, timeout)
		}
		if resp.StatusCode < 400 {
			t.Errorf("%s %q: %s", tc.path, tc.auth, resp.Status)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%s %q: connection left open (%v)", tc.path, tc.auth, err)
		}
		conn.Close()
	}
	// A body sent in full is read and the connection kept.
	conn, err := net.Dial("tcp", strings.TrimPrefix(fn.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for i := 0; i < 2; i++ {
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", objects)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d on one connection: %v", i, err)
		}
		io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusUnauthorized || resp.Close {
			t.Fatalf("request %d: %s, close %v", i, resp.Status, resp.Close)
		}
	}
}

// TestDiskFull fills a real SQLite store (its page limit lowered to what
// it holds) and checks that a submission is answered 507 with a TAXII
// error, not 500, and stores nothing.
func TestDiskFull(t *testing.T) {
	fn := newFrontNode(t, nil)
	ctx := context.Background()
	st, ok := fn.store.(*sqlite.Store)
	if !ok {
		t.Skip("not a SQLite store")
	}
	before, err := fn.store.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(ctx, func(tx *sql.Tx) error {
		var pages int64
		if err := tx.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]json.RawMessage, 20)
	for i := range big {
		big[i] = indicatorSized(t, fn, 40000)
	}
	code, e := postRaw(t, fn.srv.URL, fn.alice.Token, fn.coll, big...)
	if code != http.StatusInsufficientStorage || e.HTTPStatus != "507" {
		t.Fatalf("a submission to a full store: %d %+v", code, e)
	}
	if after, err := fn.store.LogSize(ctx); err != nil || after != before {
		t.Errorf("log size %d -> %d (%v): something was stored", before, after, err)
	}
	// The node's own routes map it the same way (the one error writer).
	err = st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied) VALUES (99999, ?, 'x')`, strings.Repeat("x", 1<<20))
		return err
	})
	if !errors.Is(err, store.ErrFull) {
		t.Fatalf("a write to a full store: %v, want store.ErrFull", err)
	}
	rec := httptest.NewRecorder()
	respondError(rec, httptest.NewRequest(http.MethodGet, "/", nil), err)
	if rec.Code != http.StatusInsufficientStorage || strings.Contains(rec.Body.String(), "schema_migrations") {
		t.Errorf("respondError(full): %d %s", rec.Code, rec.Body)
	}
}

// indicatorSized is a signed indicator by alice of about size bytes.
func indicatorSized(t *testing.T, fn *frontNode, size int) json.RawMessage {
	t.Helper()
	b := make([]byte, size/2)
	rand.Read(b)
	return object(t, fn.key, map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
		"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
		"created_by_ref": fn.alice.ID, "name": "big", "description": fmt.Sprintf("%x", b),
		"pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
		"valid_from": "2026-01-01T00:00:00Z",
	})
}

// FuzzRequestID checks that whatever a client sends as X-Request-Id, the
// id the node logs and echoes is 1 to 64 characters of [A-Za-z0-9._-],
// and is the client's own exactly when that is.
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"abc-123", "", "a b", strings.Repeat("x", 65), "é", "id\r\nX: y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sent string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header[HeaderRequestID] = []string{sent}
		id := requestID(r)
		safe := func(s string) bool {
			if len(s) == 0 || len(s) > 64 {
				return false
			}
			for _, c := range []byte(s) {
				if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
					return false
				}
			}
			return true
		}
		if !safe(id) {
			t.Fatalf("requestID(%q) = %q", sent, id)
		}
		if safe(sent) != (id == sent) {
			t.Fatalf("requestID(%q) = %q", sent, id)
		}
	})
}

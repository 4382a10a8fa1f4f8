package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/stix"
)

// hostile strings go into every STIX string field of the fixture's
// objects: markup, script, event handlers, SVG breakouts and URL schemes.
var hostile = []string{
	`<script>window.__pwned=1</script>`,
	`"><img src=x onerror="window.__pwned=2">`,
	`</text></svg><script>window.__pwned=3</script>`,
	`javascript:window.__pwned=4`,
	`'><svg onload=window.__pwned=5>`,
	`{{.}} </title><iframe src=//evil.example>`,
}

type member struct {
	ID, Token, Name string
	Key             ed25519.PrivateKey
}

type fixture struct {
	n               *node.Node
	URL             string
	aurelia, borova member
	shared, private string
	// objects by role
	indicator, report, hostileID, secretID string
	pdqID, hashID                          string
	// pages, when set, wraps the UI's page handler (a node that serves
	// altered pages).
	pages func(http.Handler) http.Handler
	// now, if set, is the UI's clock in uiServer (see testClock).
	now func() time.Time
	// checkTimeout, if set, is the UI's CheckTimeout in uiServer.
	checkTimeout time.Duration
	// store, when set, wraps the node's store as uiServer's UI reads it
	// (a test counts the UI's reads).
	store func(store.Store) store.Store
	// concurrence, when set, changes the node's concurrence as uiServer's
	// UI gets it (a test plants evidence).
	concurrence func(opinion.Concurrence) opinion.Concurrence
}

// testClock is a clock a test moves on: the time it was made, plus what
// the test added.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newFixture starts a node on a loopback port with two members: both
// read and write "shared"; only borova reads "private", which holds an
// indicator for 198.51.100.77 that aurelia must never see.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, openNode(t, node.Config{}))
}

// addMember adds a member name to n, with a new Ed25519 key when withKey
// (a keyless member otherwise, as a peer's node is).
func addMember(t testing.TB, n *node.Node, name string, withKey bool) member {
	t.Helper()
	var pub ed25519.PublicKey
	var priv ed25519.PrivateKey
	if withKey {
		pub, priv, _ = ed25519.GenerateKey(rand.Reader)
	}
	nm, err := n.AddMember(context.Background(), name, pub)
	if err != nil {
		t.Fatal(err)
	}
	return member{ID: nm.ID, Token: nm.Token, Name: name, Key: priv}
}

// newFixtureOn is newFixture on the opened node n.
func newFixtureOn(t testing.TB, n *node.Node) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{n: n}
	f.aurelia, f.borova = addMember(t, n, "cert-aurelia", true), addMember(t, n, "cert-borovia", true)
	var err error
	if f.shared, err = n.AddCollection(ctx, "Joint <b>election</b> security", "shared by both", []string{"cert-aurelia", "cert-borovia"}, []string{"cert-aurelia", "cert-borovia"}, ""); err != nil {
		t.Fatal(err)
	}
	if f.private, err = n.AddCollection(ctx, "Borovia internal", "", []string{"cert-borovia"}, []string{"cert-borovia"}, ""); err != nil {
		t.Fatal(err)
	}
	f.URL = serveNode(t, n)

	f.indicator = "indicator--11111111-1111-4111-8111-111111111111"
	f.report = "report--22222222-2222-4222-8222-222222222222"
	f.hostileID = "malware--33333333-3333-4333-8333-333333333333"
	f.secretID = "indicator--44444444-4444-4444-8444-444444444444"
	f.pdqID = "indicator--66666666-6666-4666-8666-666666666666"
	f.hashID = "indicator--99999999-9999-4999-8999-999999999999"
	h := strings.Join(hostile, " ")
	f.submit(t, f.aurelia, f.shared,
		map[string]any{"type": "indicator", "id": f.indicator, "name": "Look-alike portal " + hostile[0],
			"description": h, "pattern": "[domain-name:value = 'aurelia-elections-portal.example'] OR [ipv4-addr:value = '203.0.113.45']",
			"pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z", "labels": hostile,
			"object_marking_refs": []string{stix.TLP2AmberID},
			"external_references": []map[string]any{{"source_name": hostile[1], "url": hostile[3], "description": hostile[2]}, {"source_name": "ok", "url": "https://example.org/x"}}},
		map[string]any{"type": "malware", "id": f.hostileID, "name": hostile[2], "description": h, "is_family": false,
			"aliases": hostile, "object_marking_refs": []string{stix.TLP2RedID}},
		map[string]any{"type": "relationship", "id": "relationship--55555555-5555-4555-8555-555555555555",
			"relationship_type": "indicates", "source_ref": f.indicator, "target_ref": f.hostileID, "description": h},
		map[string]any{"type": "report", "id": f.report, "name": "Report " + hostile[1], "description": h,
			"published": "2026-09-15T00:00:00Z", "object_refs": []string{f.indicator, f.hostileID, f.secretID}, "report_types": []string{hostile[4]}},
		// A PDQ hash as package pdq shares it, and a file hash in a pattern.
		map[string]any{"type": "indicator", "id": f.pdqID, "name": hostile[5], "pattern_type": "pdq",
			"pattern": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "valid_from": "2026-09-14T08:30:00Z"},
		map[string]any{"type": "indicator", "id": f.hashID, "name": "Lure document",
			"pattern": "[file:hashes.'SHA-256' = '" + strings.Repeat("ab", 32) + "']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"},
	)
	f.submit(t, f.borova, f.shared,
		map[string]any{"type": "sighting", "id": "sighting--77777777-7777-4777-8777-777777777777", "sighting_of_ref": f.indicator,
			"count": 3, "first_seen": "2026-09-15T10:00:00Z", "description": h},
		map[string]any{"type": "opinion", "id": "opinion--88888888-8888-4888-8888-888888888888", "opinion": "disagree",
			"object_refs": []string{f.report}, "explanation": h})
	f.submit(t, f.borova, f.private,
		map[string]any{"type": "indicator", "id": f.secretID, "name": "Borovia secret source",
			"pattern": "[ipv4-addr:value = '198.51.100.77']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	return f
}

// openNode initializes a node with cfg in a temporary directory and opens
// it.
func openNode(t testing.TB, cfg node.Config) *node.Node {
	t.Helper()
	dir := t.TempDir()
	if _, err := node.Init(context.Background(), dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(context.Background(), dir, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// serveNode serves n on a free loopback port until the test ends, then
// closes it, and returns its base URL.
func serveNode(t testing.TB, n *node.Node) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
		n.Close()
	})
	return "http://" + ln.Addr().String()
}

var counter int

// submit signs and posts objects as m through the node's pipeline.
func (f *fixture) submit(t testing.TB, m member, coll string, objs ...map[string]any) {
	t.Helper()
	var raws []json.RawMessage
	for _, o := range objs {
		counter++
		ts := stix.FormatTimestamp(time.Date(2026, 9, 14, 8, 30, 0, 0, time.UTC).Add(time.Duration(counter) * time.Minute))
		o["spec_version"] = "2.1"
		o["created_by_ref"] = m.ID
		if _, ok := o["created"]; !ok {
			o["created"], o["modified"] = ts, ts
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if b, err = stix.Sign(b, m.Key); err != nil {
			t.Fatal(err)
		}
		raws = append(raws, b)
	}
	c, err := f.n.Store().Collection(context.Background(), coll)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.n.Submit(context.Background(), m.ID, c, raws)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Failures) > 0 {
		t.Fatalf("submit: %+v", st.Failures)
	}
}

// client is a browser-like HTTP client with a cookie jar that does not
// follow redirects.
//
// Like the UI's pages, it binds its sessions to a secret of its own
// (testBinding), sent with the login form as its hash and with every
// request in the X-Parley-Binding header, as the pages' scripts do.
type client struct {
	*http.Client
	base string
}

// testBinding is the browser-binding secret of the test clients.
const testBinding = "test-client-binding-secret"

// testBindingHash is the login form's binding field for testBinding.
func testBindingHash() string {
	h := sha256.Sum256([]byte(testBinding))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// bindingTransport adds the binding header to each request that has none.
type bindingTransport struct{ next http.RoundTripper }

func (b bindingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Parley-Binding") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("X-Parley-Binding", testBinding)
	}
	return b.next.RoundTrip(r)
}

func newClient(t testing.TB, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{&http.Client{Jar: jar, Transport: bindingTransport{http.DefaultTransport}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, base}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs in with token and returns the session's CSRF token.
func (c *client) login(t testing.TB, token string) string {
	t.Helper()
	_, body := c.get(t, "/ui/login")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in the login page")
	}
	resp, err := c.PostForm(c.base+"/ui/login", url.Values{"csrf": {m[1]}, "token": {token}, "binding": {testBindingHash()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", resp.Status)
	}
	_, home := c.get(t, "/ui/")
	m = csrfRE.FindStringSubmatch(home)
	if m == nil {
		t.Fatalf("no csrf field after login:\n%s", home)
	}
	return m[1]
}

func (c *client) get(t testing.TB, path string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var proveRE = regexp.MustCompile(`id="view-pending"[^>]* data-tag="([^"]*)" data-target="([^"]*)" data-window="([0-9]+)"`)

// navigate gets path as a browser's navigation does, with the session
// cookie and no binding header, and returns the proving page's answer,
// if that is what the node sent (else ""), and the response.
func (c *client) navigate(t testing.TB, path string) (*http.Response, string) {
	t.Helper()
	nav := &http.Client{Jar: c.Jar, CheckRedirect: c.CheckRedirect}
	resp, err := nav.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// proved returns path with the view proof that the proving page's script
// (session.js) adds for the tab holding testBinding: it asks for path
// without the header, reads the tag and target the proving page gives,
// and computes the proof as the script does.
func (c *client) proved(t testing.TB, path string) string {
	t.Helper()
	_, body := c.navigate(t, path)
	m := proveRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s: no proving page:\n%s", path, body)
	}
	return withView(html.UnescapeString(m[2]), viewProofOf(testBinding, html.UnescapeString(m[1]), m[3], html.UnescapeString(m[2])))
}

// viewProofOf is session.js's view proof of target, for the tab whose
// secret is secret, in the session tagged tag, in the node's view window
// w.
func viewProofOf(secret, tag, w, target string) string {
	key := sha256.Sum256([]byte(secret))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte("parley view\n" + tag + "\n" + w + "\n" + target))
	return w + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func withView(target, proof string) string {
	if strings.Contains(target, "?") {
		return target + "&view=" + proof
	}
	return target + "?view=" + proof
}

func mustStatus(t testing.TB, resp *http.Response, want int, what string) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: %s, want %d", what, resp.Status, want)
	}
}

var _ = fmt.Sprint

// revoke has member m publish the next version of object id, revoked.
func revoke(t *testing.T, f *fixture, m member, coll, id string) {
	t.Helper()
	latest, _, err := f.n.Store().LatestObjects(context.Background(), []string{coll}, []string{id}, store.Bound{Rows: 1})
	if err != nil || len(latest) != 1 {
		t.Fatalf("the latest version of %s: %v, %v", id, latest, err)
	}
	var o map[string]any
	if err := json.Unmarshal(latest[0].Raw, &o); err != nil {
		t.Fatal(err)
	}
	for k := range o {
		if strings.HasPrefix(k, "x_parley") {
			delete(o, k)
		}
	}
	o["modified"], o["revoked"] = "2026-10-01T00:00:00.000Z", true
	f.submit(t, m, coll, o)
}

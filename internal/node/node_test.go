package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// testMember is a member with its key and a TAXII client.
type testMember struct {
	ID     string
	Token  string
	Key    ed25519.PrivateKey
	Client *taxii.Client
}

// testNode is a node serving on 127.0.0.1:0 with members alice, bob
// (both with keys) and carol (no key), and collections:
//
//	shared    alice, bob read+write
//	private   bob read+write
//	optional  alice read+write, signatures optional
//	drop      alice write only
type testNode struct {
	*Node
	URL                 string
	alice, bob, carol   testMember
	shared, private     string
	optional, writeOnly string
}

func newTestNode(t *testing.T) *testNode {
	t.Helper()
	return newTestNodeOver(t, nil)
}

// newTestNodeOver is newTestNode with the node's store (the private
// sets' included) wrapped by wrap, if not nil, before it serves.
func newTestNodeOver(t *testing.T, wrap func(store.Store) store.Store) *testNode {
	t.Helper()
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	if wrap != nil {
		n.store = wrap(n.store)
		n.private.st = n.store
	}
	tn := &testNode{Node: n}
	add := func(name string, withKey bool) testMember {
		var pub ed25519.PublicKey
		var priv ed25519.PrivateKey
		if withKey {
			pub, priv, _ = ed25519.GenerateKey(rand.Reader)
		}
		nm, err := n.AddMember(ctx, name, pub)
		if err != nil {
			t.Fatal(err)
		}
		return testMember{ID: nm.ID, Token: nm.Token, Key: priv}
	}
	tn.alice, tn.bob, tn.carol = add("alice", true), add("bob", true), add("carol", false)
	coll := func(title string, readers, writers []string, p store.SignaturePolicy) string {
		id, err := n.AddCollection(ctx, title, "", readers, writers, p)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	tn.shared = coll("shared", []string{"alice", "bob"}, []string{"alice", tn.bob.ID}, "")
	tn.private = coll("private", []string{"bob"}, []string{"bob"}, "")
	tn.optional = coll("optional", []string{"alice", "carol"}, []string{"alice", "carol"}, store.SignaturesOptional)
	tn.writeOnly = coll("drop", nil, []string{"alice"}, "")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tn.URL = "http://" + ln.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Serve(sctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		n.Close()
	})
	for _, m := range []*testMember{&tn.alice, &tn.bob, &tn.carol} {
		m.Client = &taxii.Client{BaseURL: tn.URL, Token: m.Token}
	}
	return tn
}

// initNode initializes a node with the default configuration in a fresh
// temporary directory and opens it with opts. It returns the node, which
// the caller closes, and its data directory.
func initNode(tb testing.TB, opts Options) (*Node, string) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	if _, err := Init(ctx, dir, testStoreConfig(tb), nil); err != nil {
		tb.Fatal(err)
	}
	n, err := Open(ctx, dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return n, dir
}

// testStoreConfig is the configuration the suite's nodes start from: the
// embedded SQLite store, or, when PARLEY_TEST_NODE_STORE=postgres, a
// fresh schema on the PostgreSQL test server, so that the same node tests
// run against each store (.ci/run does both).
func testStoreConfig(tb testing.TB) Config {
	switch os.Getenv("PARLEY_TEST_NODE_STORE") {
	case "", "sqlite":
		return Config{}
	case "postgres":
		return Config{Store: pgtest.SchemaURL(tb)}
	default:
		tb.Fatalf("PARLEY_TEST_NODE_STORE=%q: want sqlite or postgres", os.Getenv("PARLEY_TEST_NODE_STORE"))
		return Config{}
	}
}

// onlySQLite skips a test that reaches into the SQLite file behind the
// node's back (tampering, kill -9 of a file store) when the suite runs on
// another store; the store-independent parts of such properties are in
// storetest.
func onlySQLite(tb testing.TB) {
	if v := os.Getenv("PARLEY_TEST_NODE_STORE"); v != "" && v != "sqlite" {
		tb.Skipf("reaches into the SQLite store; this run is on %s", v)
	}
}

// addAliceShared adds the member "alice" with a fresh Ed25519 key and the
// collection "shared" that only she reads and writes; it returns the new
// member, her private key and the collection's id.
func addAliceShared(tb testing.TB, n *Node) (NewMember, ed25519.PrivateKey, string) {
	tb.Helper()
	ctx := context.Background()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	m, err := n.AddMember(ctx, "alice", pub)
	if err != nil {
		tb.Fatal(err)
	}
	coll, err := n.AddCollection(ctx, "shared", "", []string{"alice"}, []string{"alice"}, "")
	if err != nil {
		tb.Fatal(err)
	}
	return m, key, coll
}

var objectN atomic.Int64

// indicator returns an indicator created by creator, signed with key
// (unsigned when key is nil).
func indicator(t *testing.T, creator string, key ed25519.PrivateKey, modified time.Time) json.RawMessage {
	t.Helper()
	n := objectN.Add(1)
	return object(t, key, map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
		"created": "2026-01-01T00:00:00.000Z", "modified": stix.FormatTimestamp(modified),
		"created_by_ref": creator, "name": fmt.Sprintf("test indicator %d", n),
		"pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
		"valid_from": "2026-01-01T00:00:00Z",
	})
}

func object(t *testing.T, key ed25519.PrivateKey, m map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if key == nil {
		return b
	}
	signed, err := stix.Sign(b, key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

var t0 = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

func post(t *testing.T, c *taxii.Client, coll string, objs ...json.RawMessage) *taxii.Status {
	t.Helper()
	st, err := c.AddObjects(context.Background(), coll, objs)
	if err != nil {
		t.Fatalf("AddObjects: %v", err)
	}
	return st
}

func (tn *testNode) logSize(t *testing.T) int64 {
	n, err := tn.store.LogSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rawGet does a GET with a token and returns the status code and body.
func rawGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", taxii.MediaType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return rawDo(t, req)
}

// rawDo sends req and returns the status code and body.
func rawDo(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuthentication(t *testing.T) {
	tn := newTestNode(t)
	u := tn.URL + "/api/collections/"
	cases := []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"unknown token", "parley_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", http.StatusUnauthorized},
		{"truncated token", tn.alice.Token[:len(tn.alice.Token)-1], http.StatusUnauthorized},
		{"valid token", tn.alice.Token, http.StatusOK},
	}
	for _, tc := range cases {
		if got, body := rawGet(t, u, tc.token); got != tc.want {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, got, tc.want, body)
		}
	}
	if _, body := rawGet(t, u, "parley_wrong"); strings.Contains(body, "parley_wrong") {
		t.Errorf("error echoes the token: %s", body)
	}
	if len(tn.alice.Token) < 43 {
		t.Errorf("token %d chars: fewer than 256 bits", len(tn.alice.Token))
	}
}

func TestAccessControl(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	cs, err := tn.alice.Client.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, c := range cs {
		titles = append(titles, fmt.Sprintf("%s:%v:%v", c.Title, c.CanRead, c.CanWrite))
	}
	if got, want := strings.Join(titles, " "), "shared:true:true optional:true:true drop:false:true"; got != want {
		t.Errorf("alice sees %q, want %q", got, want)
	}
	// The private collection and a missing one answer alike.
	missing := "00000000-0000-4000-8000-000000000000"
	for _, path := range []string{"/", "/objects/", "/manifest/"} {
		cp, bp := rawGet(t, tn.URL+"/api/collections/"+tn.private+path, tn.alice.Token)
		cm, bm := rawGet(t, tn.URL+"/api/collections/"+missing+path, tn.alice.Token)
		if cp != http.StatusNotFound || cm != cp || strings.ReplaceAll(bp, tn.private, "X") != strings.ReplaceAll(bm, missing, "X") {
			t.Errorf("%s: private %d %s vs missing %d %s", path, cp, bp, cm, bm)
		}
	}
	if _, err := tn.alice.Client.AddObjects(ctx, tn.private, []json.RawMessage{indicator(t, tn.alice.ID, tn.alice.Key, t0)}); !errors.Is(err, taxii.ErrNotFound) {
		t.Errorf("alice posting to bob's private collection: %v, want not found", err)
	}
	// Write-only: visible, but reading is forbidden.
	if _, err := tn.alice.Client.Objects(ctx, tn.writeOnly, taxii.Query{}); !errors.Is(err, taxii.ErrForbidden) {
		t.Errorf("reading a write-only collection: %v, want forbidden", err)
	}
	st := post(t, tn.alice.Client, tn.writeOnly, indicator(t, tn.alice.ID, tn.alice.Key, t0))
	if st.SuccessCount != 1 {
		t.Errorf("post to write-only collection: %+v", st)
	}
	// Carol can read and write only "optional"; bob cannot post to
	// "optional" (not a member of it).
	if _, err := tn.bob.Client.Objects(ctx, tn.optional, taxii.Query{}); !errors.Is(err, taxii.ErrNotFound) {
		t.Errorf("bob reading optional: %v, want not found", err)
	}
	// A status is visible only to the member who made the submission.
	bst := post(t, tn.bob.Client, tn.private, indicator(t, tn.bob.ID, tn.bob.Key, t0))
	if _, err := tn.alice.Client.Status(ctx, bst.ID); !errors.Is(err, taxii.ErrNotFound) {
		t.Errorf("alice reading bob's status: %v", err)
	}
	if got, err := tn.bob.Client.Status(ctx, bst.ID); err != nil || got.SuccessCount != 1 {
		t.Errorf("bob reading his status: %+v %v", got, err)
	}
}

func TestSubmissionPipeline(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	a, b := tn.alice, tn.bob
	good := indicator(t, a.ID, a.Key, t0)
	st := post(t, a.Client, tn.shared, good)
	if st.SuccessCount != 1 || st.FailureCount != 0 || st.Status != taxii.StatusComplete {
		t.Fatalf("good object: %+v", st)
	}
	before := tn.logSize(t)
	badPattern := object(t, a.Key, map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
		"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
		"created_by_ref": a.ID, "pattern": "this is not a pattern", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
	})
	tampered := []byte(strings.Replace(string(indicator(t, a.ID, a.Key, t0)), "test indicator", "forged indicator", 1))
	rejects := []struct {
		name string
		obj  json.RawMessage
		msg  string
	}{
		{"impersonation: created_by_ref of another member", indicator(t, b.ID, a.Key, t0), "created_by_ref"},
		{"impersonation: another member's key", indicator(t, a.ID, b.Key, t0), "not your registered key"},
		{"unsigned under required", indicator(t, a.ID, nil, t0), "not signed"},
		{"tampered after signing", tampered, "signature"},
		{"invalid STIX", object(t, a.Key, map[string]any{"type": "indicator", "id": "indicator--1"}), ""},
		{"invalid pattern", badPattern, "pattern"},
		{"no created_by_ref", object(t, a.Key, map[string]any{
			"type": "malware", "spec_version": "2.1", "id": stix.NewIdentifier("malware"),
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "x", "is_family": true,
		}), "the object has no created_by_ref: name your identity " + a.ID + " in it (objects without one are refused, unless the collection's policy is relay)"},
		{"not a STIX object", json.RawMessage(`{"foo": 1}`), ""},
		{"changed content, same version", object(t, a.Key, changed(t, good)), "never overwritten"},
	}
	for _, tc := range rejects {
		st := post(t, a.Client, tn.shared, tc.obj)
		if st.FailureCount != 1 || st.SuccessCount != 0 || len(st.Failures) != 1 {
			t.Errorf("%s: accepted: %+v", tc.name, st)
			continue
		}
		if !strings.Contains(st.Failures[0].Message, tc.msg) {
			t.Errorf("%s: message %q does not mention %q", tc.name, st.Failures[0].Message, tc.msg)
		}
	}
	if got := tn.logSize(t); got != before {
		t.Errorf("rejected submissions changed the log: %d -> %d", before, got)
	}
	env, err := a.Client.Objects(ctx, tn.shared, taxii.Query{Versions: taxii.VersionMatch{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Objects) != 1 {
		t.Errorf("rejected submissions changed the collection: %d objects", len(env.Objects))
	}

	// Re-posting is idempotent.
	st = post(t, a.Client, tn.shared, good, good)
	if st.SuccessCount != 2 || tn.logSize(t) != before {
		t.Errorf("re-post: %+v, log %d -> %d", st, before, tn.logSize(t))
	}
	// A mixed envelope: good objects succeed, the bad one fails.
	st = post(t, a.Client, tn.shared, indicator(t, a.ID, a.Key, t0), indicator(t, b.ID, a.Key, t0), indicator(t, a.ID, a.Key, t0))
	if st.SuccessCount != 2 || st.FailureCount != 1 || tn.logSize(t) != before+2 {
		t.Errorf("mixed envelope: %+v", st)
	}
	// The stored object is what was signed and still verifies, and its log
	// entry commits to it.
	env, err = a.Client.Object(ctx, tn.shared, idOf(t, good), taxii.Query{})
	if err != nil || len(env.Objects) != 1 {
		t.Fatalf("Object: %v %v", env, err)
	}
	if pub, err := stix.Verify(env.Objects[0]); err != nil || !pub.Equal(a.Key.Public()) {
		t.Errorf("served object does not verify: %v", err)
	}

	// Optional signatures: unsigned accepted (and marked), foreign
	// created_by_ref still refused, a member without a key can share.
	st = post(t, tn.carol.Client, tn.optional, indicator(t, tn.carol.ID, nil, t0), indicator(t, a.ID, nil, t0), indicator(t, tn.carol.ID, a.Key, t0))
	if st.SuccessCount != 1 || st.FailureCount != 2 {
		t.Errorf("optional collection: %+v", st)
	}
	page, err := tn.store.Objects(ctx, store.Query{Collection: tn.optional, Limit: 10})
	if err != nil || len(page.Objects) != 1 || page.Objects[0].Signed {
		t.Errorf("unsigned object not marked unsigned: %+v %v", page.Objects, err)
	}
}

func changed(t *testing.T, signed json.RawMessage) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(signed, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "extensions")
	m["name"] = "a different name"
	return m
}

func idOf(t *testing.T, raw json.RawMessage) string {
	o, err := stix.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

// TestPagingWhileAdding follows next cursors with a small limit while
// another member keeps adding: each object present at the start is seen
// exactly once, and a cursor survives a node restart (it is stateless).
func TestPagingWhileAdding(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	a := tn.alice
	var initial []json.RawMessage
	for range 30 {
		initial = append(initial, indicator(t, a.ID, a.Key, t0))
	}
	post(t, a.Client, tn.shared, initial...)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := tn.bob.Client.AddObjects(ctx, tn.shared, []json.RawMessage{indicator(t, tn.bob.ID, tn.bob.Key, t0)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	seen := map[string]int{}
	pages := 0
	for env, err := range a.Client.ObjectPages(ctx, tn.shared, taxii.Query{Limit: 4}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range env.Objects {
			seen[idOf(t, o)]++
		}
		if pages++; pages == 12 {
			break
		}
	}
	close(stop)
	wg.Wait()
	for _, o := range initial {
		if seen[idOf(t, o)] != 1 {
			t.Errorf("%s seen %d times", idOf(t, o), seen[idOf(t, o)])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s repeated %d times", id, n)
		}
	}
	// A forged cursor is a bad request.
	if _, err := a.Client.Objects(ctx, tn.shared, taxii.Query{Next: "not-a-cursor"}); !errors.Is(err, taxii.ErrBadRequest) {
		t.Errorf("forged cursor: %v", err)
	}
}

func TestExtensionDefinitionAndMembers(t *testing.T) {
	tn := newTestNode(t)
	code, body := rawGet(t, tn.URL+ExtensionPath+stix.SignatureExtensionID, "")
	if code != http.StatusOK || body != string(stix.SignatureExtensionDefinition()) {
		t.Errorf("extension definition: %d %s", code, body)
	}
	if code, _ := rawGet(t, tn.URL+ExtensionPath+"extension-definition--00000000-0000-4000-8000-000000000000", ""); code != http.StatusNotFound {
		t.Errorf("unknown extension: %d", code)
	}
	if code, _ := rawGet(t, tn.URL+"/members", ""); code != http.StatusUnauthorized {
		t.Errorf("/members without token: %d", code)
	}
	code, body = rawGet(t, tn.URL+"/members", tn.bob.Token)
	var got struct{ Members []MemberInfo }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || len(got.Members) != 3 {
		t.Fatalf("/members: %d %s", code, body)
	}
	for _, m := range got.Members {
		o, err := stix.Parse(m.Identity)
		if err != nil || o.ID != m.ID {
			t.Errorf("identity of %s: %v", m.Name, err)
			continue
		}
		var v stix.Validator
		if err := v.Validate(o); err != nil {
			t.Errorf("identity of %s is not valid STIX: %v", m.Name, err)
		}
	}
}

func TestInitRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	res, err := Init(ctx, dir, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.VerifierKey, res.Origin+"+") {
		t.Errorf("verifier key %q does not name origin %q", res.VerifierKey, res.Origin)
	}
	if _, err := Init(ctx, dir, Config{}, nil); !errors.Is(err, ErrExists) {
		t.Errorf("second Init: %v, want ErrExists", err)
	}
	if _, err := Open(ctx, t.TempDir(), Options{}); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("Open of an empty dir: %v", err)
	}
}

// TestInitFailureLeavesNothing: when Init cannot finish (here config.json,
// written last, cannot be created), it removes the store and keys it wrote,
// so a later Init is not refused.
func TestInitFailureLeavesNothing(t *testing.T) {
	onlySQLite(t)
	dir := t.TempDir()
	ctx := context.Background()
	// A dangling symlink passes the "does a node exist" check, but
	// config.json cannot be created through it.
	if err := os.Symlink(filepath.Join(dir, "nowhere", "x"), filepath.Join(dir, ConfigFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(ctx, dir, Config{}, nil); err == nil || errors.Is(err, ErrExists) {
		t.Fatalf("Init with config.json unwritable: %v", err)
	}
	for _, f := range []string{KeyFile, PubKeyFile, StoreFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("failed Init left %s behind", f)
		}
	}
	if err := os.Remove(filepath.Join(dir, ConfigFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(ctx, dir, Config{}, nil); err != nil {
		t.Errorf("Init after a failed Init: %v", err)
	}
}

// TestVersionsOverHTTP drives match[version], the versions and manifest
// endpoints and added_after through the TAXII client.
func TestVersionsOverHTTP(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	a := tn.alice
	base := map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": "indicator--0d6f8a2e-5b4c-4f7e-9a1b-2c3d4e5f6a7b",
		"created": "2026-01-01T00:00:00.000Z", "created_by_ref": a.ID,
		"pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
	}
	version := func(modified, name string) json.RawMessage {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		m["modified"], m["name"] = modified, name
		return object(t, a.Key, m)
	}
	v2 := version("2026-01-02T00:00:00.000Z", "second")
	v1 := version("2026-01-01T00:00:00.000Z", "first")
	v3 := version("2026-01-03T00:00:00.000Z", "third")
	post(t, a.Client, tn.shared, v2)
	mid := post(t, a.Client, tn.shared, v1)
	post(t, a.Client, tn.shared, v3)
	other := post(t, a.Client, tn.shared, indicator(t, a.ID, a.Key, t0))
	if mid.SuccessCount != 1 || other.SuccessCount != 1 {
		t.Fatalf("posts failed: %+v %+v", mid, other)
	}
	id := base["id"].(string)
	names := func(env *taxii.Envelope) []string {
		var out []string
		for _, o := range env.Objects {
			var v struct{ Name string }
			json.Unmarshal(o, &v)
			out = append(out, v.Name)
		}
		return out
	}
	at, _ := stix.ParseTimestamp("2026-01-02T00:00:00.000Z")
	cases := []struct {
		name string
		q    taxii.Query
		want string
	}{
		{"default is last", taxii.Query{}, "[third]"},
		{"first", taxii.Query{Versions: taxii.VersionMatch{First: true}}, "[first]"},
		{"all in date_added order", taxii.Query{Versions: taxii.VersionMatch{All: true}}, "[second first third]"},
		{"a timestamp", taxii.Query{Versions: taxii.VersionMatch{At: []time.Time{at}}}, "[second]"},
		{"first and last", taxii.Query{Versions: taxii.VersionMatch{First: true, Last: true}}, "[first third]"},
	}
	for _, tc := range cases {
		env, err := a.Client.Object(ctx, tn.shared, id, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := fmt.Sprint(names(env)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	vs, err := a.Client.Versions(ctx, tn.shared, id, taxii.Query{})
	if err != nil || fmt.Sprint(vs.Versions) != "[2026-01-02T00:00:00.000Z 2026-01-01T00:00:00.000Z 2026-01-03T00:00:00.000Z]" {
		t.Errorf("versions: %+v %v", vs, err)
	}
	// added_after: everything added after the status of the second post.
	man, err := a.Client.Manifest(ctx, tn.shared, taxii.Query{Versions: taxii.VersionMatch{All: true}})
	if err != nil || len(man.Objects) != 4 {
		t.Fatalf("manifest: %+v %v", man, err)
	}
	after, _ := stix.ParseTimestamp(man.Objects[1].DateAdded)
	env, err := a.Client.Objects(ctx, tn.shared, taxii.Query{AddedAfter: after, Versions: taxii.VersionMatch{All: true}})
	if err != nil || len(env.Objects) != 2 {
		t.Errorf("added_after %s: %d objects, %v", man.Objects[1].DateAdded, len(env.Objects), err)
	}
	if env != nil && (env.DateAdded.First.IsZero() || !env.DateAdded.First.After(after)) {
		t.Errorf("X-TAXII-Date-Added-First %v not after %v", env.DateAdded.First, after)
	}
	// An unknown object is a 404.
	if _, err := a.Client.Object(ctx, tn.shared, "indicator--00000000-0000-4000-8000-000000000000", taxii.Query{}); !errors.Is(err, taxii.ErrNotFound) {
		t.Errorf("unknown object: %v", err)
	}
}

// TestPDQQualityChecked: a pdq indicator's x_pdq_quality, when given, is
// a whole number from 0 to 100 (pdq.ValidateQuality), as every reader's
// pdq.ParseIndicator requires; the node took 500 and "high".
func TestPDQQualityChecked(t *testing.T) {
	tn := newTestNode(t)
	a := tn.alice
	pdqIndicator := func(quality any) json.RawMessage {
		m := map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
			"created_by_ref": a.ID, "pattern_type": "pdq",
			"pattern":    "f8f8f0cee0f4a84f06370a22028f67f0b36e2ed596621e1d33e6b39c4e9c9b22",
			"valid_from": "2026-01-01T00:00:00Z",
		}
		if quality != nil {
			m["x_pdq_quality"] = quality
		}
		return object(t, a.Key, m)
	}
	for _, tc := range []struct {
		quality any
		ok      bool
	}{
		{nil, true}, {100, true}, {0, true}, {50, true},
		{500, false}, {-1, false}, {50.5, false}, {"high", false}, {true, false},
	} {
		st := post(t, a.Client, tn.shared, pdqIndicator(tc.quality))
		if ok := st.SuccessCount == 1; ok != tc.ok {
			t.Errorf("x_pdq_quality %v: status %+v; want accepted %v", tc.quality, st, tc.ok)
		} else if !ok && !strings.Contains(st.Failures[0].Message, "x_pdq_quality") {
			t.Errorf("x_pdq_quality %v: refused with %q, which doesn't name the property", tc.quality, st.Failures[0].Message)
		}
	}
}

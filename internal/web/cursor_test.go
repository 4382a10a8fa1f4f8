package web_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"html"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/stix"
)

// pagerWorld is a node where aurelia pages her collection in the UI while
// borova, whom she can't see, adds objects to a collection of his own
// between her additions: each page aurelia is answered as she follows
// the pager's links forward and back (status and the whole body), the
// node, and the links' collection.
type pagerWorld struct {
	n       *node.Node
	h       http.Handler
	session *http.Cookie
	coll    string
	pages   []string
	links   []string
}

// pagerLink matches the pager's links (rel="next" and rel="prev").
var pagerLink = regexp.MustCompile(`<a rel="(next|prev)" href="([^"]+)"`)

func newPagerWorld(t *testing.T, t0 time.Time, hidden int) *pagerWorld {
	t.Helper()
	ctx := context.Background()
	// The same clock and the same randomness in every world, so that
	// ids, tokens and times are the same in each.
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	dir := t.TempDir()
	if _, err := node.Init(ctx, dir, node.Config{}, nil); err != nil {
		t.Fatal(err)
	}
	// Borova's additions draw from a randomness of their own, so that
	// the page nonces aurelia's pages draw are the same in each world
	// (with crypto/rand, as a node runs, no draw tells of another).
	rnd := &sideRand{main: mrand.NewChaCha8([32]byte{'p', 'a', 'g', 'e', 'r'}), side: mrand.NewChaCha8([32]byte{'s', 'i', 'd', 'e'})}
	n, err := node.Open(ctx, dir, node.Options{Now: clock, Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	key := func(name string) (ed25519.PublicKey, ed25519.PrivateKey) {
		var seed [ed25519.SeedSize]byte
		copy(seed[:], name)
		k := ed25519.NewKeyFromSeed(seed[:])
		return k.Public().(ed25519.PublicKey), k
	}
	apub, akey := key("aurelia")
	bpub, bkey := key("borova")
	aurelia, err := n.AddMember(ctx, "cert-aurelia", apub)
	if err != nil {
		t.Fatal(err)
	}
	borova, err := n.AddMember(ctx, "cert-borovia", bpub)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := n.AddCollection(ctx, "Aurelia's", "", []string{"cert-aurelia"}, []string{"cert-aurelia"}, "")
	if err != nil {
		t.Fatal(err)
	}
	hiddenColl, err := n.AddCollection(ctx, "Borovia's", "", []string{"cert-borovia"}, []string{"cert-borovia"}, "")
	if err != nil {
		t.Fatal(err)
	}
	w := &pagerWorld{n: n, h: n.Handler(nil), coll: coll}
	// Aurelia's session before any addition, so that what the session
	// draws of the node's randomness is the same in each world.
	mu.Lock()
	now = t0
	mu.Unlock()
	w.session = pagerSession(t, w.h, aurelia.Token)

	objectNo := 0
	add := func(m node.NewMember, k ed25519.PrivateKey, into string, count int) {
		t.Helper()
		var raws []json.RawMessage
		for range count {
			objectNo++
			ts := stix.FormatTimestamp(time.Date(2026, 9, 14, 8, 30, 0, 0, time.UTC).Add(time.Duration(objectNo) * time.Minute))
			b, err := json.Marshal(map[string]any{
				"type": "indicator", "spec_version": "2.1", "id": fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", objectNo),
				"created": ts, "modified": ts, "created_by_ref": m.ID, "name": fmt.Sprintf("paged %d", objectNo),
				"pattern": fmt.Sprintf("[domain-name:value = 'p%d.example']", objectNo), "pattern_type": "stix", "valid_from": ts,
			})
			if err != nil {
				t.Fatal(err)
			}
			if b, err = stix.Sign(b, k); err != nil {
				t.Fatal(err)
			}
			raws = append(raws, b)
		}
		c, err := n.Store().Collection(ctx, into)
		if err != nil {
			t.Fatal(err)
		}
		st, err := n.Submit(ctx, m.ID, c, raws)
		if err != nil || len(st.Failures) > 0 {
			t.Fatalf("submit: %v %+v", err, st)
		}
	}
	// Three batches of aurelia's (pages of web.PageSize end inside the
	// second and the third), borova's hidden objects between them.
	for i := range 3 {
		if i > 0 {
			advance(time.Second)
			if hidden > 0 {
				// borova's ids differ from aurelia's in both worlds.
				objectNo += 1000
				rnd.set(true)
				add(borova, bkey, hiddenColl, hidden)
				rnd.set(false)
				objectNo -= 1000 + hidden
			}
			advance(time.Second)
		}
		add(aurelia, akey, coll, 90)
	}

	get := func(path string) string {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.AddCookie(w.session)
		r.Header.Set("X-Parley-Binding", testBinding)
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, r)
		w.pages = append(w.pages, fmt.Sprintf("GET %s: %d\n%s", path, rec.Code, rec.Body.String()))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
		return rec.Body.String()
	}
	follow := func(first, rel string) {
		t.Helper()
		body := get(first)
		for range 10 {
			next := ""
			for _, m := range pagerLink.FindAllStringSubmatch(body, -1) {
				if m[1] == rel {
					next = html.UnescapeString(m[2])
				}
			}
			if next == "" {
				return
			}
			w.links = append(w.links, next)
			body = get(next)
		}
		t.Fatalf("more than 10 pages following %s from %s", rel, first)
	}
	follow("/ui/collections/"+coll, "next")
	follow(w.links[len(w.links)-1], "prev")
	// With a filter the links carry it, and page the same way.
	follow("/ui/collections/"+coll+"?type=indicator&creator="+aurelia.ID, "next")
	return w
}

// sideRand reads from main, or from side while set.
type sideRand struct {
	mu         sync.Mutex
	main, side io.Reader
	onSide     bool
}

func (r *sideRand) set(side bool) { r.mu.Lock(); r.onSide = side; r.mu.Unlock() }

func (r *sideRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.onSide {
		return r.side.Read(p)
	}
	return r.main.Read(p)
}

// pagerSession logs in with token on h, bound to testBinding, and
// returns the session's cookie.
func pagerSession(t testing.TB, h http.Handler, token string) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/login", nil))
	csrf := csrfRE.FindStringSubmatch(rec.Body.String())
	if csrf == nil {
		t.Fatalf("no csrf field in the login page")
	}
	req := httptest.NewRequest(http.MethodPost, "/ui/login", strings.NewReader(url.Values{"csrf": {csrf[1]}, "token": {token}, "binding": {testBindingHash()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "parley_session" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("login: %d, no session", rec.Code)
	return nil
}

// TestCollectionPagesRevealNothingHidden: the collection pages aurelia
// gets following the pager's links (the links, the counts, the whole
// markup) are byte for byte the same whether or not another member added
// objects between her additions to a collection she can't read. The
// links' after and before were the store's global sequence numbers, so
// two of them told how many objects others had added meanwhile.
func TestCollectionPagesRevealNothingHidden(t *testing.T) {
	// Both worlds' clocks read the same times, after the times of
	// their setup (members, collections).
	t0 := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	quiet, busy := newPagerWorld(t, t0, 0), newPagerWorld(t, t0, 3)
	// Forward: 100, 100, 70 (two links); back: two links; filtered
	// forward: two links.
	if len(quiet.links) != 6 {
		t.Fatalf("links: want 6, got %d:\n%s", len(quiet.links), strings.Join(quiet.links, "\n"))
	}
	if len(quiet.pages) != len(busy.pages) {
		t.Fatalf("aurelia got %d pages with nothing hidden added, %d with hidden additions", len(quiet.pages), len(busy.pages))
	}
	for i := range quiet.pages {
		if q, b := quiet.pages[i], busy.pages[i]; q != b {
			t.Errorf("aurelia's page %d tells how many objects borova added where she can't read:\n%s", i, pageDiff(q, b))
		}
	}
}

// pageDiff is the lines where a and b differ.
func pageDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "  none added: "+x, "  3 added:    "+y)
		}
	}
	return strings.Join(out, "\n")
}

// TestCollectionOldLinks: a pager link of an earlier version of Parley
// (after or before a store sequence number) gives the collection's first
// page with a notice that says why, and no position of any kind; a
// cursor of another collection, or anything else that is no cursor, is
// a 400 page. The links the pages give still page.
func TestCollectionOldLinks(t *testing.T) {
	w := newPagerWorld(t, time.Now().Add(time.Hour).UTC().Truncate(time.Second), 2)
	get := func(path string) (int, string) {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.AddCookie(w.session)
		r.Header.Set("X-Parley-Binding", testBinding)
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, r)
		return rec.Code, rec.Body.String()
	}
	base := "/ui/collections/" + w.coll
	_, first := get(base)
	if strings.Contains(first, `id="page-restarted"`) {
		t.Fatalf("the first page has the notice of an old link")
	}
	_, firstFiltered := get(base + "?type=indicator")
	for _, q := range []string{"?after=100", "?before=101", "?after=1&type=indicator"} {
		first := first
		if strings.Contains(q, "type=") {
			first = firstFiltered
		}
		code, body := get(base + q)
		if code != http.StatusOK || !strings.Contains(body, `id="page-restarted"`) {
			t.Errorf("GET %s: %d, want the first page with a notice:\n%s", q, code, body)
			continue
		}
		// The same objects and pager as the first page.
		if got, want := pagerLink.FindAllString(body, -1), pagerLink.FindAllString(first, -1); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("GET %s: pager %q, want the first page's %q", q, got, want)
		}
		if strings.Count(body, "paged ") != strings.Count(first, "paged ") {
			t.Errorf("GET %s: not the first page's objects", q)
		}
	}
	other, err := w.n.AddCollection(context.Background(), "Aurelia's other", "", []string{"cert-aurelia"}, []string{"cert-aurelia"}, "")
	if err != nil {
		t.Fatal(err)
	}
	next := w.links[0] // a link of w.coll's first page
	_, cur, _ := strings.Cut(next, "?after=")
	for _, path := range []string{
		"/ui/collections/" + other + "?after=" + cur,
		"/ui/collections/" + other + "?before=" + cur,
		base + "?after=not-a-cursor",
		base + "?after=-5",
		base + "?after=" + cur + "&before=" + cur,
	} {
		if code, body := get(path); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400:\n%s", path, code, body)
		}
	}
	if code, body := get(next); code != http.StatusOK || strings.Contains(body, `id="page-restarted"`) {
		t.Errorf("GET %s: %d, want the second page:\n%s", next, code, body)
	}
}

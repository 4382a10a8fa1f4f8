package web_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/web"
	"github.com/parley-exchange/parley/opinion"
)

// TestStolenCookieTouchesNoRoute scans every route of the UI
// (Handler.Patterns, each method a route takes, and every method of the
// catch-all) with the session cookie and whatever else a server on
// another port of the host, or a page there, can add without the tab's
// secret: each Sec-Fetch-Site, a view proof of the right window with a
// wrong MAC, a wrong CSRF token (form field and header), a wrong binding
// header. None of them may refresh the session's idle time or end it
// (TestStolenCookieKeepsNothingAlive checks a few routes by their
// effect; this reads the store after every route, so that a route added
// later that touches or closes the session on the cookie alone is
// caught). The analyst's own proved request then refreshes it, which
// shows the scan reads what it means to.
func TestStolenCookieTouchesNoRoute(t *testing.T) {
	f, clock, base, victim, stolen := stolenSession(t)
	key := sha256.Sum256([]byte(stolen))
	ctx := context.Background()
	st := f.n.Store()
	lastSeen := func(what string) time.Time {
		t.Helper()
		now := clock.now()
		s, err := st.UISession(ctx, key, now, now.Add(-time.Hour))
		if err != nil {
			t.Fatalf("the session after %s: %v", what, err)
		}
		return s.LastSeen
	}
	// Past the minute a stored LastSeen may be left stale
	// (store.UISessionTouchEvery): any touch now writes.
	clock.add(3 * time.Minute)
	seen0 := lastSeen("the login")

	h, err := web.New(web.Deps{Store: st, Authenticate: f.n.Authenticate,
		Concurrence: func(ctx context.Context, m store.Member, object string) (int64, func(context.Context) (opinion.Concurrence, error), error) {
			return f.n.PrepareConcurrence(ctx, m, object, 5*time.Second)
		}, API: f.n.Handler(nil), AsMember: f.n.AsMember})
	if err != nil {
		t.Fatal(err)
	}
	type request struct{ method, path string }
	var reqs []request
	for _, p := range h.Patterns() {
		method, path, ok := strings.Cut(p, " ")
		methods := []string{method}
		if !ok {
			path = p + "no-such-page"
			methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}
		} else if method == http.MethodGet {
			methods = append(methods, http.MethodHead)
		}
		id := f.report
		if strings.Contains(path, "/collections/") {
			id = f.shared
		}
		path = strings.NewReplacer("{id}", url.PathEscape(id), "{name}", "style.css", "{$}", "").Replace(path)
		if path == "/ui/api/" {
			paths := []string{}
			for _, a := range h.APIGets() {
				paths = append(paths, "/ui/api"+a)
			}
			for _, m := range methods {
				for _, p := range paths {
					reqs = append(reqs, request{m, p})
				}
			}
			continue
		}
		for _, m := range methods {
			reqs = append(reqs, request{m, path})
		}
	}
	w := clock.now().Unix() / 300
	badView := fmt.Sprintf("view=%d.%s", w, strings.Repeat("A", 43))
	variants := []map[string]string{
		{},
		{"Sec-Fetch-Site": "same-origin"},
		{"Sec-Fetch-Site": "none"},
		{"Sec-Fetch-Site": "same-site"},
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": "not-the-token"},
		{"X-Parley-Binding": "not-the-secret"},
		{"Sec-Fetch-Site": "same-origin", "X-Parley-Binding": "not-the-secret", "X-CSRF-Token": "not-the-token"},
	}
	n := 0
	for _, rq := range reqs {
		for _, hd := range variants {
			for _, q := range []string{"", "?" + badView, "?q=198.51.100.77&" + badView} {
				status := withCookieAlone(t, rq.method, base+rq.path+q, "csrf=not-the-token&token="+url.QueryEscape(f.borova.Token), stolen, hd)
				n++
				what := fmt.Sprintf("%s %s%s with %v and the cookie alone (%d)", rq.method, rq.path, q, hd, status)
				if got := lastSeen(what); !got.Equal(seen0) {
					t.Fatalf("%s refreshed the session's idle time (%v, was %v)", what, got, seen0)
				}
			}
		}
	}
	if n < len(h.Patterns())*len(variants)*3 {
		t.Fatalf("only %d requests for %d routes", n, len(h.Patterns()))
	}
	// The analyst's own page, with the tab's secret, refreshes it.
	resp, _ := victim.get(t, "/ui/members")
	mustStatus(t, resp, http.StatusOK, "the analyst's page")
	if got := lastSeen("the analyst's page"); !got.After(seen0) {
		t.Fatalf("the analyst's own page left the session's idle time at %v", got)
	}
}

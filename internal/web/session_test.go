package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
)

// TestSessionsKeepNoSessionID: the server keeps a session under the hash
// of its id, like API tokens, and the member's token only as its hash:
// no row of the session table holds the cookie's value or the token
// (which a dump of the store could replay, and which a lookup would
// compare with what a client sends), and the id still finds its session,
// and after close no longer does.
func TestSessionsKeepNoSessionID(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ui.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const token = "parley_tokentokentokentokentokentokentokentoken"
	ss := newSessions(Deps{Store: s, Rand: rand.Reader, Now: time.Now, SessionTTL: time.Hour, IdleTimeout: time.Hour})
	sess, id, err := ss.open(ctx, store.Member{ID: "identity--x"}, token, sha256.Sum256([]byte("secret")))
	if err != nil {
		t.Fatal(err)
	}
	if sess.token != sha256.Sum256([]byte(token)) {
		t.Errorf("the session's token is not the token's hash")
	}
	_, r := s.DB()
	rows, err := r.Query(`SELECT * FROM ui_sessions`)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			for _, secret := range []string{id, token} {
				if bytes.Contains(v, []byte(secret)) || bytes.Contains([]byte(fmt.Sprintf("%x", []byte(v))), []byte(secret)) {
					t.Errorf("column %s of the session table holds a secret", cols[i])
				}
			}
		}
	}
	rows.Close()
	if n != 1 {
		t.Fatalf("%d rows in the session table, want 1", n)
	}
	if got, err := ss.get(ctx, id, time.Now()); err != nil || got == nil || got.member.ID != "identity--x" {
		t.Fatalf("get(id) = %+v, %v", got, err)
	}
	if id[len(id)-1] != 'A' {
		if got, _ := ss.get(ctx, id[:len(id)-1]+"A", time.Now()); got != nil {
			t.Fatal("another id finds the session")
		}
	}
	if err := ss.close(ctx, sess.key); err != nil {
		t.Fatal(err)
	}
	if got, _ := ss.get(ctx, id, time.Now()); got != nil {
		t.Fatal("a closed session is still found")
	}
}

// TestBindingProved: what proves a session's browser binding: the secret
// whose hash it keeps, in the header, or, on a GET, the view proof of
// that very URL in that very session; never for an unbound session,
// another secret, the hash itself, another URL's or another session's
// proof, a look-up's old proof= (which was good for any URL with that
// q, and for /ui/api/ with the empty one), or a proof on a POST.
func TestBindingProved(t *testing.T) {
	const secret = "the tab's secret"
	bound := &session{key: [32]byte{1}, binding: sha256.Sum256([]byte(secret))}
	other := &session{key: [32]byte{2}, binding: bound.binding} // a later session of the same tab
	unbound := &session{key: [32]byte{3}}
	hash := bound.binding
	now := time.Unix(1_800_000_000, 0)
	w := viewWindowOf(now)
	view := func(s *session, target string) string { return viewProof(s.binding, viewTag(s), w, target) }
	// A proof of window ww, and one whose window number was changed
	// after it was made (the HMAC covers it).
	viewAt := func(ww int64, target string) string { return viewProof(bound.binding, viewTag(bound), ww, target) }
	rewindowed := func(ww int64, target string) string {
		_, mac, _ := strings.Cut(view(bound, target), ".")
		return strconv.FormatInt(ww, 10) + "." + mac
	}
	// The old look-up proof: HMAC("parley lookup\n" + q).
	oldProof := func(q string) string {
		m := hmac.New(sha256.New, bound.binding[:])
		m.Write([]byte("parley lookup\n" + q))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	const obj = "/ui/objects/indicator--11111111-1111-4111-8111-111111111111"
	for _, c := range []struct {
		name           string
		s              *session
		method         string
		header, target string
		want           bool
		// site is the request's Sec-Fetch-Site, elsewhere whether the
		// proof was good but refused for it.
		site      string
		elsewhere bool
	}{
		{"the secret", bound, "GET", secret, "/ui/api/log/keys", true, "", false},
		{"the secret on a POST", bound, "POST", secret, "/ui/api/collections/x/objects/", true, "", false},
		{"no secret", bound, "GET", "", "/ui/api/log/keys", false, "", false},
		{"another secret", bound, "GET", "another tab's secret", "/ui/api/log/keys", false, "", false},
		{"the hash for the secret", bound, "GET", string(hash[:]), "/ui/api/log/keys", false, "", false},
		{"unbound, with a secret", unbound, "GET", secret, "/ui/api/log/keys", false, "", false},
		{"unbound, empty secret", unbound, "GET", "", "/ui/api/log/keys", false, "", false},
		{"the URL's view proof", bound, "GET", "", obj + "?view=" + view(bound, obj), true, "", false},
		{"the URL's view proof, HEAD", bound, "HEAD", "", obj + "?view=" + view(bound, obj), true, "", false},
		{"the view proof with a query", bound, "GET", "", "/ui/search?q=evil.example&view=" + view(bound, "/ui/search?q=evil.example"), true, "", false},
		{"the view proof, first", bound, "GET", "", "/ui/search?view=" + view(bound, "/ui/search?q=evil.example") + "&q=evil.example", true, "", false},
		{"the view proof of an empty query", bound, "GET", "", "/ui/search?&view=" + view(bound, "/ui/search"), true, "", false},
		{"the view proof of a download", bound, "GET", "", "/ui/api/log/bundle?object=x&view=" + view(bound, "/ui/api/log/bundle?object=x"), true, "", false},
		{"another URL's view proof", bound, "GET", "", "/ui/search?q=good.example&view=" + view(bound, "/ui/search?q=evil.example"), false, "", false},
		{"another path's view proof", bound, "GET", "", "/ui/collections/x?view=" + view(bound, "/ui/objects/x"), false, "", false},
		{"another session's view proof", bound, "GET", "", obj + "?view=" + view(other, obj), false, "", false},
		{"a view proof on a POST", bound, "POST", "", obj + "/opinion?view=" + view(bound, obj+"/opinion"), false, "", false},
		{"a view proof, unbound", unbound, "GET", "", obj + "?view=" + viewProof([32]byte{}, viewTag(unbound), w, obj), false, "", false},
		// Proofs expire: of this window or the one before, not older,
		// not later, and a window is part of what is proved.
		{"a proof of the window before", bound, "GET", "", obj + "?view=" + viewAt(w-1, obj), true, "", false},
		{"a proof two windows old", bound, "GET", "", obj + "?view=" + viewAt(w-2, obj), false, "", false},
		{"a proof of the next window", bound, "GET", "", obj + "?view=" + viewAt(w+1, obj), false, "", false},
		{"a stale proof given a fresh window", bound, "GET", "", obj + "?view=" + func() string {
			_, mac, _ := strings.Cut(viewAt(w-2, obj), ".")
			return strconv.FormatInt(w, 10) + "." + mac
		}(), false, "", false},
		{"a proof without its window", bound, "GET", "", obj + "?view=" + strings.SplitN(view(bound, obj), ".", 2)[1], false, "", false},
		{"a proof with another window", bound, "GET", "", obj + "?view=" + rewindowed(w-1, obj), false, "", false},
		// Where the navigation came from: the node's own pages, the
		// analyst (address bar, bookmark) or no browser; not a page of
		// another port (same-site) or site.
		{"a proof, same-origin", bound, "GET", "", obj + "?view=" + view(bound, obj), true, "same-origin", false},
		{"a proof, typed", bound, "GET", "", obj + "?view=" + view(bound, obj), true, "none", false},
		{"a proof, from another port", bound, "GET", "", obj + "?view=" + view(bound, obj), false, "same-site", true},
		{"a proof, from another site", bound, "GET", "", obj + "?view=" + view(bound, obj), false, "cross-site", true},
		{"the secret, from another port", bound, "GET", secret, "/ui/api/log/keys", true, "same-site", false},
		{"a made-up view proof", bound, "GET", "", obj + "?view=" + strings.Repeat("A", 43), false, "", false},
		{"a made-up view proof of this window", bound, "GET", "", obj + "?view=" + strconv.FormatInt(w, 10) + "." + strings.Repeat("A", 43), false, "", false},
		{"the old look-up proof", bound, "GET", "", "/ui/search?q=evil.example&proof=" + oldProof("evil.example"), false, "", false},
		{"the old empty look-up proof on /ui/api/", bound, "GET", "", "/ui/api/log/keys?proof=" + oldProof(""), false, "", false},
	} {
		r := httptest.NewRequest(c.method, c.target, nil)
		if c.header != "" {
			r.Header.Set(bindingHeader, c.header)
		}
		if c.site != "" {
			r.Header.Set("Sec-Fetch-Site", c.site)
		}
		s := *c.s
		if got := proveBinding(r, &s, now); got != c.want || s.proved != c.want || bindingProved(r, &s, "") != c.want || s.elsewhere != c.elsewhere {
			t.Errorf("%s: %v (noted %v, elsewhere %v), want %v (elsewhere %v)", c.name, got, s.proved, s.elsewhere, c.want, c.elsewhere)
		}
	}
}

// TestViewTarget: what a view proof covers is the request's path and
// query as sent, without view parameters and empty parts, in order.
func TestViewTarget(t *testing.T) {
	for target, want := range map[string]string{
		"/ui/":                             "/ui/",
		"/ui/search?":                      "/ui/search",
		"/ui/search?q=a%20b&view=x":        "/ui/search?q=a%20b",
		"/ui/search?view=x&q=a+b&&view":    "/ui/search?q=a+b",
		"/ui/collections/c?type=a&type=b":  "/ui/collections/c?type=a&type=b",
		"/ui/collections/c?viewer=1&view=": "/ui/collections/c?viewer=1",
		"/ui/objects/x%2Fy":                "/ui/objects/x%2Fy",
	} {
		if got := viewTarget(httptest.NewRequest("GET", target, nil)); got != want {
			t.Errorf("%s: %q, want %q", target, got, want)
		}
	}
}

package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCollectionFilterNeedsBinding: a collection's text filter ("words or
// values") is a look-up, as /ui/search's q is. A navigation carries no
// X-Parley-Binding header, so without the look-up's proof in its URL the
// filter was run in whatever session the browser held: in a session that
// a page on another port planted (its own member's, which reads the
// shared collection too), an analyst filtering by what they investigate
// (from a bookmark, the history, or without JavaScript) handed it to the
// planting member's session. Now the page runs nothing and waits for the
// proof that the page's script adds; another q's proof doesn't do.
func TestCollectionFilterNeedsBinding(t *testing.T) {
	f := newFixture(t)
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	// A navigation: the session cookie, no binding header.
	nav := &http.Client{Jar: c.Jar, CheckRedirect: c.CheckRedirect}
	get := func(path string) string {
		t.Helper()
		resp, err := nav.Get(f.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		mustStatus(t, resp, http.StatusOK, path)
		return string(b)
	}
	const q = "aurelia-elections-portal.example"
	proof := func(q string) string {
		key := sha256.Sum256([]byte(testBinding))
		m := hmac.New(sha256.New, key[:])
		m.Write([]byte("parley lookup\n" + q))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	base := "/ui/collections/" + f.shared + "?q=" + url.QueryEscape(q)
	for _, c := range []struct {
		name, path string
		run        bool
	}{
		{"no proof", base, false},
		{"another q's proof", base + "&proof=" + proof("other.example"), false},
		{"a made-up proof", base + "&proof=" + strings.Repeat("A", 43), false},
		{"the proof of q", base + "&proof=" + proof(q), true},
		{"no text filter", "/ui/collections/" + f.shared, true},
	} {
		body := get(c.path)
		ran := strings.Contains(body, f.indicator)
		pending := strings.Contains(body, `id="lookup-pending"`)
		if ran != c.run || pending == c.run {
			t.Errorf("%s: the filter ran: %v, pending: %v (want ran %v)", c.name, ran, pending, c.run)
		}
	}
	// With the proof, the pages' links keep it, so that paging on
	// doesn't ask again.
	if body := get(base + "&proof=" + proof(q)); strings.Contains(body, `rel="next"`) && !strings.Contains(body, "proof="+proof(q)) {
		t.Error("the next page's link lost the proof")
	}
}

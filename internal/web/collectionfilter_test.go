package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCollectionFilterNeedsBinding: a collection's text filter ("words or
// values") is a look-up, as /ui/search's q is. A navigation carries no
// X-Parley-Binding header, so without a proof in its URL the filter was
// run in whatever session the browser held: in a session that a page on
// another port planted (its own member's, which reads the shared
// collection too), an analyst filtering by what they investigate handed
// it to the planting member's session. Like every page now, it is
// answered only with the view proof of its very URL (which the proving
// page's script adds); the old look-up proof, or another q's view proof,
// gets the proving page and runs nothing.
func TestCollectionFilterNeedsBinding(t *testing.T) {
	f := newFixture(t)
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	const q = "aurelia-elections-portal.example"
	oldProof := func(q string) string {
		key := sha256.Sum256([]byte(testBinding))
		m := hmac.New(sha256.New, key[:])
		m.Write([]byte("parley lookup\n" + q))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	base := "/ui/collections/" + f.shared + "?q=" + url.QueryEscape(q)
	other := c.proved(t, "/ui/collections/"+f.shared+"?q=other.example")
	_, otherView, _ := strings.Cut(other, "&view=")
	for _, tc := range []struct {
		name, path string
		run        bool
	}{
		{"no proof", base, false},
		{"the old look-up proof of q", base + "&proof=" + oldProof(q), false},
		{"another q's view proof", base + "&view=" + otherView, false},
		{"a made-up view proof", base + "&view=" + strings.Repeat("A", 43), false},
		{"the view proof of the URL", c.proved(t, base), true},
		{"the view proof of the URL, the old proof in it", c.proved(t, base+"&proof="+oldProof(q)), true},
		{"no text filter, no proof", "/ui/collections/" + f.shared, false},
		{"no text filter, proved", c.proved(t, "/ui/collections/"+f.shared), true},
	} {
		resp, body := c.navigate(t, tc.path)
		mustStatus(t, resp, http.StatusOK, tc.name)
		ran := strings.Contains(body, f.indicator)
		proving := proveRE.MatchString(body)
		if ran != tc.run || proving == tc.run || strings.Contains(body, `id="lookup-pending"`) {
			t.Errorf("%s: the filter ran: %v, proving page: %v (want ran %v)", tc.name, ran, proving, tc.run)
		}
	}
}

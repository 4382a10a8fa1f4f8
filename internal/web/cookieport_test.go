package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSessionCookieSentToAnotherPort (known, open): cookies are not kept
// apart by port in either direction. A page on another port of the
// node's host doesn't only set the session cookie (which the binding
// answers): the analyst's browser sends it parley_session with any
// request to that port under /ui/ (a link, an image). With it, the
// server behind that port reads, without the tab's secret, every page
// the analyst's member may read (collections its own member may not read
// included): only look-ups and posts need the binding. Serving the UI on
// a host name of its own (README, Deployment) is the mitigation today; a
// fix needs page requests of a bound session to prove the binding too.
// Skipped until then; remove the skip to reproduce.
func TestSessionCookieSentToAnotherPort(t *testing.T) {
	t.Skip("known, open: a server on another port of the node's host receives the session cookie and reads the analyst's pages (see the doc comment)")
	f := newFixture(t)
	victim := newClient(t, f.URL)
	victim.login(t, f.borova.Token)
	var stolen string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("parley_session"); err == nil {
			stolen = c.Value
		}
	}))
	t.Cleanup(other.Close)
	// The analyst's browser fetches something of the other port's.
	resp, err := victim.Get(other.URL + "/ui/pixel.png")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if stolen == "" {
		t.Skip("the cookie jar kept the cookie to the node's port")
	}
	// The other port's server, with the cookie and nothing else.
	req, _ := http.NewRequest("GET", f.URL+"/ui/collections/"+f.private, nil)
	req.AddCookie(&http.Cookie{Name: "parley_session", Value: stolen})
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK && strings.Contains(string(body), f.secretID) {
		t.Fatalf("a server on another port read cert-borovia's private collection with the cookie its browser sent it")
	}
}

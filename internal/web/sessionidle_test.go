package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestStolenCookieKeepsNothingAlive: a server on another port of the
// node's host is sent the session cookie (TestSessionCookieSentToAnotherPort)
// and, with it alone, read nothing, but each of its requests refreshed the
// session's idle time: it could keep an analyst's session alive for as
// long as it lasted, and log it out. Now only a request that proves the
// binding (or, a post, carries the CSRF token) keeps a session alive, and
// logging out takes the CSRF token.
func TestStolenCookieKeepsNothingAlive(t *testing.T) {
	f, clock, base, victim, stolen := stolenSession(t)
	steal := func(method, path string, header map[string]string) int {
		t.Helper()
		return withCookieAlone(t, method, base+path, "csrf=x", stolen, header)
	}
	// The idle timeout is an hour (the default). The cookie's holder asks
	// every few minutes for 70 minutes; the analyst is away.
	for i := 0; i < 14; i++ {
		clock.add(5 * time.Minute)
		for _, p := range []string{"/ui/", "/ui/binding", "/ui/api/log/keys", "/ui/members?view=" + strings.Repeat("A", 43)} {
			if status := steal(http.MethodGet, p, nil); status != http.StatusOK && status != http.StatusForbidden && status != http.StatusSeeOther && status != http.StatusUnauthorized {
				t.Fatalf("GET %s with the stolen cookie: %d", p, status)
			}
		}
		steal(http.MethodPost, "/ui/logout", map[string]string{"Sec-Fetch-Site": "same-origin"})
		steal(http.MethodPost, "/ui/objects/"+f.report+"/opinion", nil)
	}
	// The session ended an hour after the analyst's last request.
	resp, _ := victim.get(t, "/ui/")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/ui/login") {
		t.Fatalf("the analyst's session, 70 minutes unused but for the stolen cookie's requests: %s, want a redirect to the login page", resp.Status)
	}

	// The analyst's own requests (which prove the binding) keep it alive,
	// and the stolen cookie's logouts (tried at every step) end nothing.
	csrf := victim.login(t, f.aurelia.Token)
	stolen = sessionCookieOf(t, victim, base)
	for i := 0; i < 4; i++ {
		clock.add(50 * time.Minute)
		steal(http.MethodPost, "/ui/logout", map[string]string{"Sec-Fetch-Site": "same-origin"})
		steal(http.MethodPost, "/ui/logout", nil)
		if i%2 == 0 {
			resp, _ := victim.get(t, "/ui/members") // a page, with its binding
			mustStatus(t, resp, http.StatusOK, "the analyst's page")
		} else {
			// A post with the CSRF token keeps it alive too.
			resp, err := victim.PostForm(base+"/ui/objects/"+f.report+"/opinion", url.Values{"csrf": {csrf}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusSeeOther {
				t.Fatalf("the analyst's post: %s", resp.Status)
			}
		}
	}
	resp, _ = victim.get(t, "/ui/")
	mustStatus(t, resp, http.StatusOK, "the analyst's session, used every 50 minutes")
	// Logging out with the CSRF token ends it.
	resp, err := victim.PostForm(base+"/ui/logout", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if status := steal(http.MethodGet, "/ui/", nil); status != http.StatusSeeOther {
		t.Errorf("the session after the analyst's logout: %d, want a redirect to the login page", status)
	}
}

// withCookieAlone sends what a holder of the session cookie (and nothing
// else of the tab's) can: method on rawURL with the form body, the given
// headers and the cookie, no redirect followed; it returns the status.
func withCookieAlone(t *testing.T, method, rawURL, form, cookie string, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.AddCookie(&http.Cookie{Name: "parley_session", Value: cookie})
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// stolenSession sets up the stolen-cookie tests: a UI server (base) over
// a new fixture f whose clock is the test clock clock, the analyst
// aurelia logged in with a client of her own (victim), and her session
// cookie (stolen), as a server elsewhere on the host is sent it.
func stolenSession(t *testing.T) (f *fixture, clock *testClock, base string, victim *client, stolen string) {
	t.Helper()
	f = newFixture(t)
	clock = newTestClock()
	f.now = clock.now
	base = uiServer(t, f, newV2Log(t, f.n))
	victim = newClient(t, base)
	victim.login(t, f.aurelia.Token)
	stolen = sessionCookieOf(t, victim, base)
	if stolen == "" {
		t.Fatal("no session cookie")
	}
	return f, clock, base, victim, stolen
}

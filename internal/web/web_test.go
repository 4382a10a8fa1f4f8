package web_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
	"golang.org/x/net/html"
)

// checkInert parses page and fails on anything that could run script:
// a script element that isn't one of the UI's own nonced assets, an
// on* attribute, a javascript: URL, an iframe, or hostile text that
// became markup.
func checkInert(t *testing.T, name, page, nonce string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script":
				var src, nc string
				for _, a := range n.Attr {
					switch a.Key {
					case "src":
						src = a.Val
					case "nonce":
						nc = a.Val
					}
				}
				if !strings.HasPrefix(src, "/ui/assets/") || nc != nonce || n.FirstChild != nil {
					t.Errorf("%s: a script that isn't the UI's: src=%q nonce=%q", name, src, nc)
				}
			case "iframe", "img", "object", "embed":
				t.Errorf("%s: a hostile <%s> element became markup", name, n.Data)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("%s: event handler attribute %s=%q on <%s>", name, a.Key, a.Val, n.Data)
				}
				if (a.Key == "href" || a.Key == "src" || a.Key == "action") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
					t.Errorf("%s: javascript: URL in %s on <%s>", name, a.Key, n.Data)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if strings.Contains(page, "<script>window.__pwned") || strings.Contains(page, "onerror=\"window") {
		t.Errorf("%s: hostile markup appears unescaped", name)
	}
}

func nonceOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	i := strings.Index(csp, "'nonce-")
	if i < 0 || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("weak or missing CSP: %q", csp)
	}
	rest := csp[i+len("'nonce-"):]
	return rest[:strings.IndexByte(rest, '\'')]
}

func TestHostileContentStaysText(t *testing.T) {
	f := newFixture(t)
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	pages := []string{
		"/ui/", "/ui/collections/" + f.shared, "/ui/collections/" + f.shared + "?q=window",
		"/ui/objects/" + f.indicator, "/ui/objects/" + f.report, "/ui/objects/" + f.hostileID,
		"/ui/objects/relationship--55555555-5555-4555-8555-555555555555",
		"/ui/objects/sighting--77777777-7777-4777-8777-777777777777",
		"/ui/objects/opinion--88888888-8888-4888-8888-888888888888",
		"/ui/objects/" + f.pdqID, "/ui/objects/" + f.hashID,
		"/ui/search?q=aurelia-elections-portal.example", "/ui/search?q=" + url.QueryEscape(`<script>x</script>`),
		"/ui/members",
	}
	for _, p := range pages {
		resp, body := c.get(t, p)
		mustStatus(t, resp, http.StatusOK, p)
		checkInert(t, p, body, nonceOf(t, resp))
	}
	// The hostile text is there, as text.
	_, body := c.get(t, "/ui/objects/"+f.hostileID)
	if !strings.Contains(body, "&lt;/text&gt;&lt;/svg&gt;&lt;script&gt;") {
		t.Errorf("the hostile name isn't shown escaped")
	}
	_, body = c.get(t, "/ui/objects/"+f.indicator)
	if !strings.Contains(body, `href="https://example.org/x"`) || strings.Contains(body, `href="javascript`) {
		t.Errorf("external references: want the https link and no javascript: link")
	}
}

func TestLoginCookiesAndLogout(t *testing.T) {
	f := newFixture(t)
	c := newClient(t, f.URL)
	resp, _ := c.get(t, "/ui/collections/"+f.shared)
	mustStatus(t, resp, http.StatusSeeOther, "unauthenticated page")
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/ui/login?next=") {
		t.Fatalf("redirected to %q", loc)
	}
	resp, _ = c.get(t, "/")
	mustStatus(t, resp, http.StatusSeeOther, "/")
	if resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("/ redirects to %q", resp.Header.Get("Location"))
	}
	// A wrong token: 401 and no session.
	_, page := c.get(t, "/ui/login")
	csrf := csrfRE.FindStringSubmatch(page)[1]
	resp, err := c.PostForm(f.URL+"/ui/login", url.Values{"csrf": {csrf}, "token": {"parley_nope"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mustStatus(t, resp, http.StatusUnauthorized, "wrong token")
	// No CSRF token: 403 even with the right API token.
	resp, err = c.PostForm(f.URL+"/ui/login", url.Values{"token": {f.aurelia.Token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mustStatus(t, resp, http.StatusForbidden, "login without csrf")

	resp, err = c.PostForm(f.URL+"/ui/login", url.Values{"csrf": {csrf}, "token": {f.aurelia.Token}, "next": {"//evil.example/"}, "binding": {testBindingHash()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mustStatus(t, resp, http.StatusSeeOther, "login")
	if loc := resp.Header.Get("Location"); loc != "/ui/" {
		t.Errorf("an off-site next sent the analyst to %q", loc)
	}
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "parley_session" {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Secure || sc.Path != "/ui/" || len(sc.Value) < 40 {
		t.Fatalf("session cookie: %+v", sc)
	}
	if strings.Contains(sc.Value, f.aurelia.Token) {
		t.Fatal("the cookie holds the API token")
	}
	csrf = c.login(t, f.aurelia.Token)
	// Logout without the CSRF token: 403, still logged in.
	resp, err = c.PostForm(f.URL+"/ui/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mustStatus(t, resp, http.StatusForbidden, "logout without csrf")
	resp, _ = c.get(t, "/ui/")
	mustStatus(t, resp, http.StatusOK, "still logged in")
	u, _ := url.Parse(f.URL + "/ui/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "parley_session" {
			sc = ck
		}
	}
	resp, err = c.PostForm(f.URL+"/ui/logout", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mustStatus(t, resp, http.StatusSeeOther, "logout")
	// The old session id is dead on the server, whatever the browser keeps.
	req, _ := http.NewRequest("GET", f.URL+"/ui/", nil)
	req.AddCookie(&http.Cookie{Name: "parley_session", Value: sc.Value})
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mustStatus(t, resp, http.StatusSeeOther, "dead session")
}

func TestSecureCookieUnderTLS(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewTLSServer(f.n.Handler(nil))
	defer srv.Close()
	c := newClient(t, srv.URL)
	c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	resp, page := c.get(t, "/ui/login")
	csrf := csrfRE.FindStringSubmatch(page)[1]
	for _, ck := range resp.Cookies() {
		if !ck.Secure {
			t.Errorf("cookie %s is not Secure under TLS", ck.Name)
		}
	}
	resp, err := c.PostForm(srv.URL+"/ui/login", url.Values{"csrf": {csrf}, "token": {f.aurelia.Token}, "binding": {testBindingHash()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "parley_session" && (!ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode) {
			t.Errorf("session cookie under TLS: %+v", ck)
		}
	}
}

// TestHiddenCollection: a member who may not read a collection gets
// nothing of it on any /ui page: not its title, not its objects, not a
// lookup hit, not a receipt.
func TestHiddenCollection(t *testing.T) {
	f := newFixture(t)
	// A feed that fills a collection of borovia's, named as operators
	// name them: its member is listed to borovia alone.
	if _, err := f.n.AddFeed(context.Background(), node.FeedSpec{Name: "borovia-internal-sources", URL: "http://127.0.0.1:9/taxii2/api/",
		Collection: "c1", Into: "Borovia internal relay", Readers: []string{"cert-borovia"}}); err != nil {
		t.Fatal(err)
	}
	a := newClient(t, f.URL)
	a.login(t, f.aurelia.Token)
	for _, p := range []string{"/ui/collections/" + f.private, "/ui/objects/" + f.secretID,
		"/ui/api/log/receipt?object=" + f.secretID + "&version=2026-09-14T08:38:00.000Z",
		"/ui/api/log/bundle?object=" + f.secretID, "/ui/api/concurrence?object=" + f.secretID} {
		resp, body := a.get(t, p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", p, resp.Status)
		}
		if strings.Contains(body, "Borovia internal") || strings.Contains(body, "198.51.100.77") {
			t.Errorf("%s leaks the hidden collection", p)
		}
	}
	for _, p := range []string{"/ui/", "/ui/collections/" + f.shared, "/ui/collections/" + f.shared + "?q=secret",
		"/ui/search?q=198.51.100.77", "/ui/search?q=198.51.100.0/24", "/ui/search?q=secret",
		"/ui/objects/" + f.report, "/ui/members"} {
		resp, body := a.get(t, p)
		mustStatus(t, resp, http.StatusOK, p)
		for _, leak := range []string{"Borovia internal", "198.51.100.77", "Borovia secret source", "/ui/objects/" + f.secretID, "borovia-internal-sources"} {
			if strings.Contains(body, leak) && !strings.Contains(p, leak) { // the query itself is echoed
				t.Errorf("%s shows %q to a non-reader", p, leak)
			}
		}
	}
	// Borovia, a reader, finds it.
	b := newClient(t, f.URL)
	b.login(t, f.borova.Token)
	for _, p := range []string{"/ui/search?q=198.51.100.77", "/ui/search?q=198.51.100.0/24", "/ui/collections/" + f.private} {
		_, body := b.get(t, p)
		if !strings.Contains(body, "/ui/objects/"+f.secretID) {
			t.Errorf("%s: the reader doesn't find the object", p)
		}
	}
	if _, body := b.get(t, "/ui/members"); !strings.Contains(body, "feed:borovia-internal-sources") {
		t.Errorf("the feed's member isn't listed to a reader of its collection")
	}
}

func TestSearchLookups(t *testing.T) {
	f := newFixture(t)
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	for _, tc := range []struct {
		q    string
		want string
		none bool
	}{
		{q: "203.0.113.45", want: f.indicator},
		{q: "203.0.113.0/24", want: f.indicator},
		{q: "203.0.112.0/24", none: true},
		{q: "203.0.113.4", none: true},
		{q: "AURELIA-elections-portal.example", want: f.indicator},
		{q: "elections-portal.example", none: true},
		{q: strings.Repeat("AB", 32), want: f.hashID},
		// PDQ within radius 31: 8 bits flipped.
		{q: "07f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", want: f.pdqID},
		// ... and not 32.
		{q: "07070f31e0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", none: true},
	} {
		resp, body := c.get(t, "/ui/search?q="+url.QueryEscape(tc.q))
		mustStatus(t, resp, http.StatusOK, tc.q)
		got := strings.Contains(body, `href="/ui/objects/`) && (tc.want == "" || strings.Contains(body, "/ui/objects/"+tc.want))
		if tc.none && strings.Contains(body, `<td><a href="/ui/objects/`) {
			t.Errorf("%s: want no hit", tc.q)
		}
		if !tc.none && !got {
			t.Errorf("%s: want %s", tc.q, tc.want)
		}
	}
}

// TestPrivateSetsPage: a set borova publishes in its private collection
// (of its one indicator there) is listed to borova with its size and budget, and not to aurelia.
func TestPrivateSetsPage(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest("POST", f.URL+"/private/sets", strings.NewReader(`{"collection":"`+f.private+`"}`))
	req.Header.Set("Authorization", "Bearer "+f.borova.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("publish: %s", resp.Status)
	}
	b := newClient(t, f.URL)
	b.login(t, f.borova.Token)
	_, body := b.get(t, "/ui/private")
	if !strings.Contains(body, "private-set--") || !strings.Contains(body, `<td class="num" data-label="size">1</td>`) || !strings.Contains(body, " of ") {
		t.Errorf("borova's private sets page:\n%s", body)
	}
	a := newClient(t, f.URL)
	a.login(t, f.aurelia.Token)
	_, body = a.get(t, "/ui/private")
	if strings.Contains(body, "private-set--") || !strings.Contains(body, "No private set is shared with you") {
		t.Errorf("aurelia sees borova's private set")
	}
}

// TestSearchPDQLowQuality: a PDQ look-up leaves out the pdq indicators
// whose x_pdq_quality is below 50 (too unreliable to match, as `parley
// match` leaves them out) and says how many; one of quality 50 or more
// within the radius is found.
func TestSearchPDQLowQuality(t *testing.T) {
	f := newFixture(t)
	const (
		low  = "indicator--12121212-1212-4212-8212-121212121212"
		good = "indicator--34343434-3434-4434-8434-343434343434"
		hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	)
	f.submit(t, f.borova, f.shared,
		map[string]any{"type": "indicator", "id": low, "name": "blurry", "pattern_type": "pdq", "pattern": hash,
			"x_pdq_quality": 10, "valid_from": "2026-09-14T08:30:00Z"},
		map[string]any{"type": "indicator", "id": good, "name": "sharp", "pattern_type": "pdq", "pattern": "1" + hash[1:],
			"x_pdq_quality": 90, "valid_from": "2026-09-14T08:30:00Z"})
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	q := hash[:63] + "e" // 1 bit from the low-quality hash, 2 from the other: no exact value
	resp, body := c.get(t, "/ui/search?q="+q)
	mustStatus(t, resp, http.StatusOK, q)
	if strings.Contains(body, "/ui/objects/"+low) || !strings.Contains(body, "/ui/objects/"+good) {
		t.Errorf("want %s found and %s (quality 10) left out:\n%s", good, low, body)
	}
	if !strings.Contains(body, "1 shared PDQ hash(es) within the radius left out") {
		t.Errorf("the page doesn't say that a low-quality hash was left out:\n%s", body)
	}
}

// TestSearchPDQLowQualityExact: a look-up of a low-quality PDQ hash
// exactly finds its indicator as an exact value (a 64-hex-digit hash is
// one); the page then doesn't also say that hash was left out as too
// unreliable: it says one thing of each object it lists.
func TestSearchPDQLowQualityExact(t *testing.T) {
	f := newFixture(t)
	const (
		low  = "indicator--56565656-5656-4656-8656-565656565656"
		hash = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	)
	f.submit(t, f.borova, f.shared,
		map[string]any{"type": "indicator", "id": low, "name": "blurry", "pattern_type": "pdq", "pattern": hash,
			"x_pdq_quality": 10, "valid_from": "2026-09-14T08:30:00Z"})
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	resp, body := c.get(t, "/ui/search?q="+hash)
	mustStatus(t, resp, http.StatusOK, hash)
	if strings.Contains(body, "/ui/objects/"+low) && strings.Contains(body, "within the radius left out") {
		t.Errorf("the page lists %s and says it was left out:\n%s", low, body)
	}
}

package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestNotFoundPage: a path under /ui/ that no page serves is, for a
// signed-in member, a 404 inside the layout (the top bar with the
// look-up and the member's name), the same page whether the path names
// an object the member may not read or one that doesn't exist; without
// a session, a GET goes to the login page and back, and anything else
// is refused, as on every other page.
func TestNotFoundPage(t *testing.T) {
	f := newFixture(t)
	anon := newClient(t, f.URL)
	resp, _ := anon.get(t, "/ui/nope")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login?next=%2Fui%2Fnope" {
		t.Errorf("GET /ui/nope without a session: %s to %q, want 303 to the login page", resp.Status, resp.Header.Get("Location"))
	}
	presp, err := anon.Post(f.URL+"/ui/nope", "application/x-www-form-urlencoded", strings.NewReader("x=1"))
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if presp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /ui/nope without a session: %s, want 401", presp.Status)
	}

	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	const absent = "indicator--00000000-0000-4000-8000-000000000044"
	if len(absent) != len(f.secretID) {
		t.Fatal("the absent id must be as long as the hidden one")
	}
	nonce := regexp.MustCompile(`nonce="[^"]*"`)
	pages := map[string]string{}
	for _, p := range []string{"/ui/nope", "/ui/objects/x/y", "/ui/objects/" + f.secretID + "/versions", "/ui/objects/" + absent + "/versions", "/ui/collections/" + f.private + "/x"} {
		resp, body := c.get(t, p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", p, resp.Status)
		}
		for _, want := range []string{`<form class="logout"`, `<span class="who">cert-aurelia</span>`, `action="/ui/search"`, "There is no such page."} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the not-found page lacks %q (the member's layout):\n%s", p, want, body)
			}
		}
		if strings.Contains(body, "Borovia") || strings.Contains(body, "198.51.100.77") {
			t.Errorf("%s tells of a hidden object or collection:\n%s", p, body)
		}
		pages[p] = nonce.ReplaceAllString(body, `nonce=""`)
	}
	h := strings.ReplaceAll(pages["/ui/objects/"+f.secretID+"/versions"], f.secretID, "ID")
	a := strings.ReplaceAll(pages["/ui/objects/"+absent+"/versions"], absent, "ID")
	if h != a {
		t.Errorf("a path naming a hidden object and one naming no object answer differently:\n%s\n----\n%s", h, a)
	}
}

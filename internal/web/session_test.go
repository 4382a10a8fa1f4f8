package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSessionEndsWithItsToken: a session is only as good as the API token
// it was opened with. Once that token is rotated or revoked, or its
// member removed, every page and API call of the UI answers as to a
// browser without a session (a GET page redirects to the login form;
// anything else is 401) and shows nothing of what the member could read,
// in every front end of the same store; and the session stays dead even
// if the member gets a new token.
func TestSessionEndsWithItsToken(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, f *fixture)
	}{
		{"rotated", func(t *testing.T, f *fixture) {
			if _, _, err := f.n.RotateToken(ctx, f.aurelia.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"revoked", func(t *testing.T, f *fixture) {
			if _, err := f.n.RevokeTokens(ctx, f.aurelia.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"revoked, then a new token", func(t *testing.T, f *fixture) {
			if _, err := f.n.RevokeTokens(ctx, f.aurelia.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.n.RotateToken(ctx, f.aurelia.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"member removed", func(t *testing.T, f *fixture) {
			if _, err := f.n.RemoveMember(ctx, f.aurelia.ID); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c := newClient(t, f.URL)
			csrf := c.login(t, f.aurelia.Token)
			gets := []string{"/ui/", "/ui/collections/" + f.shared, "/ui/objects/" + f.indicator,
				"/ui/search?q=203.0.113.45", "/ui/members", "/ui/private"}
			apiGets := []string{"/ui/api/log/checkpoint", "/ui/api/concurrence?object=" + f.indicator,
				"/ui/api/log/bundle?object=" + f.indicator}
			// What the session shows before: the test can fail.
			for _, p := range append(gets, apiGets...) {
				if resp, _ := c.get(t, p); resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s before: %s", p, resp.Status)
				}
			}
			tc.end(t, f)
			shows := []string{"Look-alike portal", "aurelia-elections-portal.example", f.indicator, "Joint &lt;b&gt;election"}
			for _, p := range gets {
				resp, body := c.get(t, p)
				if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/login") {
					t.Errorf("GET %s after the token ended: %s (Location %q), want a redirect to the login form", p, resp.Status, resp.Header.Get("Location"))
				}
				for _, s := range shows {
					if strings.Contains(body, s) && !strings.Contains(p, s) { // the redirect names the page
						t.Errorf("GET %s after the token ended shows %q", p, s)
					}
				}
			}
			for _, p := range apiGets {
				resp, body := c.get(t, p)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("GET %s after the token ended: %s, want 401", p, resp.Status)
				}
				for _, s := range shows[1:] {
					if strings.Contains(body, s) {
						t.Errorf("GET %s after the token ended shows %q", p, s)
					}
				}
			}
			for _, p := range []string{"/ui/objects/" + f.indicator + "/opinion", "/ui/api/collections/" + f.shared + "/objects/"} {
				req, _ := http.NewRequest("POST", f.URL+p, strings.NewReader(`{"objects":[]}`))
				req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
				req.Header.Set("X-CSRF-Token", csrf)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("POST %s after the token ended: %s, want 401", p, resp.Status)
				}
			}
			// The session is gone: logout finds none either.
			resp, err := c.PostForm(f.URL+"/ui/logout", url.Values{"csrf": {csrf}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("logout after the token ended: %s, want 401", resp.Status)
			}
		})
	}
}

// TestWriteOnlyCollectionHidesWhoReadsIt: of a collection a member may
// write but not read (a tip line), the UI shows that member the
// collection, and not who else reads or writes it (the node's access
// rule: what a collection it can't read holds, or who reads it, is not
// its to know). A reader of the collection does see who shares it.
func TestWriteOnlyCollectionHidesWhoReadsIt(t *testing.T) {
	f := newFixture(t)
	const title = "Borovia tip line"
	if _, err := f.n.AddCollection(context.Background(), title, "", []string{"cert-borovia"}, []string{"cert-aurelia", "cert-borovia"}, ""); err != nil {
		t.Fatal(err)
	}
	rowOf := func(page, name string) string {
		for _, row := range strings.Split(page, "<tr>") {
			if strings.HasPrefix(row, "<td>"+name) {
				return row
			}
		}
		t.Fatalf("no row of %s in the members page", name)
		return ""
	}
	a := newClient(t, f.URL)
	a.login(t, f.aurelia.Token)
	_, page := a.get(t, "/ui/members")
	if row := rowOf(page, f.borova.Name); strings.Contains(row, title) {
		t.Errorf("the members page shows a writer-only member who reads %q: %s", title, row)
	}
	if row := rowOf(page, f.aurelia.Name); !strings.Contains(row, title) {
		t.Errorf("the members page doesn't show aurelia her own collection %q: %s", title, row)
	}
	b := newClient(t, f.URL)
	b.login(t, f.borova.Token)
	_, page = b.get(t, "/ui/members")
	if row := rowOf(page, f.aurelia.Name); !strings.Contains(row, title) {
		t.Errorf("the members page doesn't show a reader who writes %q: %s", title, row)
	}
}

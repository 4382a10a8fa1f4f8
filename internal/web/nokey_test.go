package web_test

import (
	"context"
	"strings"
	"testing"
)

// TestNoSigningKeyNoForms: a writer with no signing key in force can
// write nothing to a collection that requires signatures (TAXII says
// can_write false), and the UI's forms sign with the member's key: the
// home page says so beside "write", and an object page offers no forms
// whose every post the node would refuse, but says why. A member with a
// key still gets both.
func TestNoSigningKeyNoForms(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ernst, err := f.n.AddMember(ctx, "ernst", nil)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := f.n.AddCollection(ctx, "Signed only", "", []string{"cert-aurelia", "ernst"}, []string{"cert-aurelia", "ernst"}, "")
	if err != nil {
		t.Fatal(err)
	}
	id := "indicator--0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a"
	f.submit(t, f.aurelia, coll, map[string]any{"type": "indicator", "id": id, "name": "Signed only",
		"pattern": "[domain-name:value = 'signed-only.example']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})

	for _, tc := range []struct {
		who, token string
		noKey      bool
	}{{"ernst", ernst.Token, true}, {"cert-aurelia", f.aurelia.Token, false}} {
		c := newClient(t, f.URL)
		c.login(t, tc.token)
		resp, home := c.get(t, "/ui/")
		mustStatus(t, resp, 200, "home of "+tc.who)
		if got := strings.Contains(home, "only with a signing key"); got != tc.noKey {
			t.Errorf("%s: home page says write needs a key: %v, want %v", tc.who, got, tc.noKey)
		}
		resp, page := c.get(t, "/ui/objects/"+id)
		mustStatus(t, resp, 200, "object page of "+tc.who)
		if got := strings.Contains(page, `id="opinion-form"`); got == tc.noKey {
			t.Errorf("%s: object page offers the opinion form: %v, want %v", tc.who, got, !tc.noKey)
		}
		if got := strings.Contains(page, "no signing key registered"); got != tc.noKey {
			t.Errorf("%s: object page says there is no key: %v, want %v", tc.who, got, tc.noKey)
		}
	}
}

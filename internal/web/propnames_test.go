package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestObjectPropsInWords: an object page's properties listed
// created_by_ref and object_marking_refs as bare ids (identity--…,
// marking-definition--…) where the analyst reads a member and a TLP
// level; beside the id each now says, in words, what it names.
func TestObjectPropsInWords(t *testing.T) {
	f := newFixture(t)
	base := uiServer(t, f, newV2Log(t, f.n))
	c := newClient(t, base)
	c.login(t, f.aurelia.Token)
	resp, body := c.get(t, "/ui/objects/"+f.indicator)
	mustStatus(t, resp, http.StatusOK, "the indicator's page")
	for _, want := range []string{
		"<dt>created_by_ref</dt><dd>" + f.aurelia.ID + ` <span class="note">(cert-aurelia)</span></dd>`,
		`<dt>object_marking_refs</dt><dd>marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421 <span class="note">(TLP:AMBER)</span></dd>`,
	} {
		if !strings.Contains(body, want) {
			i := strings.Index(body, `<dl class="props">`)
			t.Errorf("the properties don't show %s:\n%s", want, body[i:min(len(body), i+1500)])
		}
	}
}

// TestRecentActivityRevoked: the home page's recent activity listed a
// revoked version like any other addition, while a collection's rows tag
// it "revoked": it is tagged there too.
func TestRecentActivityRevoked(t *testing.T) {
	f := newFixture(t)
	revoke(t, f, f.aurelia, f.shared, f.indicator)
	base := uiServer(t, f, newV2Log(t, f.n))
	c := newClient(t, base)
	c.login(t, f.aurelia.Token)
	resp, body := c.get(t, "/ui/")
	mustStatus(t, resp, http.StatusOK, "the home page")
	i := strings.Index(body, `<ul class="recent">`)
	if i < 0 {
		t.Fatalf("no recent activity:\n%s", body)
	}
	line, _, _ := strings.Cut(body[i:], "</li>")
	if !strings.Contains(line, "/ui/objects/"+f.indicator) || !strings.Contains(line, `<span class="tag">revoked</span>`) {
		t.Errorf("the latest activity, a revocation, reads: %s", line)
	}
}

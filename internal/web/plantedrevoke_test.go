package web_test

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/tlog"
)

// TestRevokeFormOnlyOwnVersion: the revoke form (data-opinion) holds the
// analyst's own opinion, which sign.js signs again, revoked, with the
// analyst's key. The form took any version of the opinion's id whose
// created_by_ref names the analyst; another member that relays a copy
// of the analyst's opinion, with its id and version and other content
// (created_by_ref is the object's word), had the analyst sign that
// content. Only a version the log says the analyst shared is offered.
func TestRevokeFormOnlyOwnVersion(t *testing.T) {
	f := newFixture(t)
	const opID = "opinion--0a0a0a0a-0000-4000-8000-00000000000a"
	f.submit(t, f.aurelia, f.shared, map[string]any{"type": "opinion", "id": opID, "opinion": "agree",
		"object_refs": []string{f.report}, "explanation": "Aurelia's own words"})
	planted := 0
	f.concurrence = func(c opinion.Concurrence) opinion.Concurrence {
		var extra []tlog.BundleItem
		for _, it := range c.Evidence.Items {
			if it.ObjectID != opID {
				continue
			}
			p := it
			p.Object = bytes.Replace(it.Object, []byte("Aurelia's own words"), []byte("Planted by Borovia"), 1)
			p.Member = f.borova.ID
			extra = append(extra, p)
		}
		planted += len(extra)
		c.Evidence.Items = append(c.Evidence.Items, extra...)
		return c
	}
	base := uiServer(t, f, newV2Log(t, f.n))
	c := newClient(t, base)
	c.login(t, f.aurelia.Token)
	_, body := c.navigate(t, c.proved(t, "/ui/objects/"+f.report))
	if planted == 0 {
		t.Fatal("no opinion of the analyst's in the evidence to plant a copy of")
	}
	forms := regexp.MustCompile(`data-opinion="([^"]*)"`).FindAllStringSubmatch(body, -1)
	if len(forms) != 1 {
		t.Fatalf("%d revoke forms, want 1", len(forms))
	}
	if got := html.UnescapeString(forms[0][1]); !strings.Contains(got, "Aurelia's own words") {
		t.Errorf("the revoke form would sign another member's copy: %s", got)
	}
}

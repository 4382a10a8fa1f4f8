package web_test

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
)

// TestUnsignedTaggedInEveryList: an unsigned object (a relay collection
// that takes them) is tagged "unsigned" wherever a page lists it beside
// its member's name, as the collection page does: in the home page's
// recent activity, in a look-up's results and among a report's
// referenced objects; a signed one is not. Without the tag, "by
// cert-borovia" reads the same as for what cert-borovia signed.
func TestUnsignedTaggedInEveryList(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	relay, err := f.n.CreateCollection(ctx, node.CollectionSpec{Title: "MISP push", Readers: []string{"cert-aurelia", "cert-borovia"},
		Writers: []string{"cert-borovia"}, Signatures: store.SignaturesOptional, Relay: true})
	if err != nil {
		t.Fatal(err)
	}
	unsigned := "indicator--0a5e0000-0000-4000-8000-000000000001"
	raw, _ := json.Marshal(map[string]any{"type": "indicator", "spec_version": "2.1", "id": unsigned, "created": "2026-09-14T08:30:00.000Z",
		"modified": "2026-09-14T08:30:00.000Z", "created_by_ref": f.borova.ID, "name": "Unsigned lure",
		"pattern": "[domain-name:value = 'unsigned-lure.example']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	c, err := f.n.Store().Collection(ctx, relay)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := f.n.Submit(ctx, f.borova.ID, c, []json.RawMessage{raw}); err != nil || len(st.Failures) > 0 {
		t.Fatalf("submit: %+v, %v", st.Failures, err)
	}
	report := "report--0a5e0000-0000-4000-8000-000000000002"
	f.submit(t, f.borova, f.shared, map[string]any{"type": "report", "id": report, "name": "Weekly", "published": "2026-09-15T00:00:00Z",
		"object_refs": []string{unsigned, f.hashID}})
	cl := newClient(t, f.URL)
	cl.login(t, f.aurelia.Token)
	// The line or row of an object's link, up to the end of that item.
	item := func(body, id string) string {
		return regexp.MustCompile(`<a href="/ui/objects/` + regexp.QuoteMeta(id) + `">.*?(</li>|</tr>)`).FindString(body)
	}
	for _, pg := range []struct{ path, id string }{
		{"/ui/", unsigned}, {"/ui/search?q=unsigned-lure.example", unsigned}, {"/ui/objects/" + report, unsigned},
		{"/ui/collections/" + relay, unsigned},
	} {
		_, body := cl.get(t, pg.path)
		if it := item(body, pg.id); !regexp.MustCompile(`class="tag warn">unsigned<`).MatchString(it) {
			t.Errorf("%s: the unsigned object is listed without its tag: %q", pg.path, it)
		}
	}
	_, body := cl.get(t, "/ui/objects/"+report)
	if it := item(body, f.hashID); regexp.MustCompile(`unsigned`).MatchString(it) {
		t.Errorf("a signed object is tagged unsigned: %q", it)
	}
}

package web_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/web"
)

var nestedDDRE = regexp.MustCompile(`(?s)<dt>([^<]+)</dt><dd>(.*?)</dd>`)

// TestNestedReferencesNamed: references below an object's top level, in
// an extension (extensions.ID.x_parent_ref) or in an embedded object of
// a custom property, at any depth, in lists too, are named and linked as
// the top-level ones are (source_ref, sighting_of_ref), each under its
// path, when the member may read the object; an id of an object hidden
// from the member is shown bare, exactly as an id of none. They share
// the top-level references' one query and its MaxNamedRefs bound: the
// top-level ones first.
func TestNestedReferencesNamed(t *testing.T) {
	f := newFixture(t)
	spy := &latestSpy{}
	f.store = func(s store.Store) store.Store { spy.Store = s; return spy }
	base := uiServer(t, f, newV2Log(t, f.n))
	const absent = "indicator--00000000-0000-4000-8000-000000000055"
	const ext = "extension-definition--c0ffee00-0000-4000-8000-000000000001"
	const withHidden, withAbsent = "malware--aaaaaaaa-0000-4000-8000-000000000011", "malware--aaaaaaaa-0000-4000-8000-000000000012"
	const crowded = "malware--aaaaaaaa-0000-4000-8000-000000000013"
	object := func(id, other string) map[string]any {
		return map[string]any{"type": "malware", "id": id, "name": "Ballot stuffer", "is_family": false,
			"extensions": map[string]any{ext: map[string]any{"extension_type": "property-extension", "x_parent_ref": f.indicator,
				"x_context": map[string]any{"x_peer_refs": []string{other, f.hashID}}}},
			"x_analysis": []any{map[string]any{"note": "seen together", "x_seen_with_ref": other}},
		}
	}
	var many []string
	for i := 0; i < web.MaxNamedRefs; i++ {
		many = append(many, fmt.Sprintf("identity--00000000-0000-4000-8000-%012d", i))
	}
	crowd := object(crowded, f.indicator)
	crowd["x_observer_refs"] = many // top level: named first, taking the whole bound
	f.submit(t, f.aurelia, f.shared, object(withHidden, f.secretID), object(withAbsent, absent), crowd)
	c := newClient(t, base)
	c.login(t, f.aurelia.Token)
	spy.take()

	props := func(page string) map[string]string {
		out := map[string]string{}
		for _, m := range nestedDDRE.FindAllStringSubmatch(page, -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	_, hp := c.get(t, "/ui/objects/"+withHidden)
	hidden, hiddenCalls := props(hp), spy.take()
	_, ap := c.get(t, "/ui/objects/"+withAbsent)
	absentProps, absentCalls := props(ap), spy.take()
	if fmt.Sprint(hiddenCalls) != fmt.Sprint(absentCalls) {
		t.Errorf("the store is asked for %v ids for hidden nested references and %v for absent ones", hiddenCalls, absentCalls)
	}
	parent := "extensions." + ext + ".x_parent_ref"
	peers := "extensions." + ext + ".x_context.x_peer_refs"
	seenWith := "x_analysis[0].x_seen_with_ref"
	if got := hidden[parent]; !strings.Contains(got, `<a class="ref" href="/ui/objects/`+f.indicator+`"`) || !strings.Contains(got, `<span class="type">indicator</span>`) {
		t.Errorf("%s of a readable indicator isn't named and linked: %q (props %q)", parent, got, hidden)
	}
	if got := hidden[peers]; !strings.Contains(got, `<a class="ref" href="/ui/objects/`+f.hashID+`"`) || !strings.Contains(got, "Lure document") {
		t.Errorf("%s: the readable id in the list isn't named: %q", peers, got)
	}
	for _, k := range []string{peers, seenWith} {
		h, a := strings.ReplaceAll(hidden[k], f.secretID, "ID"), strings.ReplaceAll(absentProps[k], absent, "ID")
		if h != a || !strings.Contains(h, "ID") {
			t.Errorf("%s: of a hidden object (%q) and of an absent one (%q) differ", k, h, a)
		}
	}
	if strings.Contains(hp, "Borovia secret source") || strings.Contains(hp, `href="/ui/objects/`+f.secretID) {
		t.Errorf("the page names or links the hidden object:\n%s", hp)
	}

	// The bound: the top-level references take all MaxNamedRefs, the
	// nested ones are listed, bare.
	_, cp := c.get(t, "/ui/objects/"+crowded)
	calls, crowdProps := spy.take(), props(cp)
	if got := crowdProps[parent]; strings.Contains(got, `href="/ui/objects/`+f.indicator) || !strings.Contains(got, f.indicator) {
		t.Errorf("a nested reference past MaxNamedRefs is named, or missing: %q", got)
	}
	if !strings.Contains(crowdProps["x_observer_refs"], `href="/ui/objects/`+many[0]) && !strings.Contains(crowdProps["x_observer_refs"], many[0]) {
		t.Errorf("x_observer_refs is missing: %q", crowdProps["x_observer_refs"])
	}
	asked := 0
	for _, n := range calls {
		asked += n
	}
	if asked > web.MaxNamedRefs+1 {
		t.Errorf("the page asked the store for the latest versions of %d ids (%v); want at most %d", asked, calls, web.MaxNamedRefs+1)
	}
}

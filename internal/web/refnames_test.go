package web_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/web"
)

// latestSpy counts the ids each LatestObjects call of the UI asks for.
type latestSpy struct {
	store.Store
	mu    sync.Mutex
	calls []int
}

func (s *latestSpy) LatestObjects(ctx context.Context, collections, ids []string, b store.Bound) ([]store.Object, bool, error) {
	s.mu.Lock()
	s.calls = append(s.calls, len(ids))
	s.mu.Unlock()
	return s.Store.LatestObjects(ctx, collections, ids, b)
}

func (s *latestSpy) take() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

var ddRE = regexp.MustCompile(`(?s)<dt>([a-z_]+)</dt><dd>(.*?)</dd>`)

// propsOf returns the <dd> of each property an object page lists.
func propsOf(page string) map[string]string {
	out := map[string]string{}
	for _, m := range ddRE.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestReferencesNamed: an object page names the objects its reference
// properties hold (a relationship's source_ref and target_ref, a
// sighting's sighting_of_ref and where_sighted_refs) by their name and
// type, linked, when the member may read them; an id of an object
// hidden from the member is shown bare, exactly as an id of none, so
// the page tells neither its name nor that it exists. The ids are read
// in one query, of at most MaxNamedRefs of them; those past it are
// shown bare.
func TestReferencesNamed(t *testing.T) {
	f := newFixture(t)
	spy := &latestSpy{}
	f.store = func(s store.Store) store.Store { spy.Store = s; return spy }
	base := uiServer(t, f, newV2Log(t, f.n))
	const absent = "indicator--00000000-0000-4000-8000-000000000044"
	const relHidden, relAbsent = "relationship--aaaaaaaa-0000-4000-8000-000000000001", "relationship--aaaaaaaa-0000-4000-8000-000000000002"
	const sight = "sighting--aaaaaaaa-0000-4000-8000-000000000003"
	var many []string
	for i := 0; i <= web.MaxNamedRefs; i++ {
		many = append(many, fmt.Sprintf("identity--00000000-0000-4000-8000-%012d", i))
	}
	const observers = "identity--bbbbbbbb-0000-4000-8000-000000000001"
	many = append(many, observers) // the 102nd: past the bound
	f.submit(t, f.aurelia, f.shared,
		map[string]any{"type": "identity", "id": observers, "name": "Election observers", "identity_class": "organization"},
		map[string]any{"type": "relationship", "id": relHidden, "relationship_type": "indicates", "source_ref": f.indicator, "target_ref": f.secretID},
		map[string]any{"type": "relationship", "id": relAbsent, "relationship_type": "indicates", "source_ref": f.indicator, "target_ref": absent},
		map[string]any{"type": "sighting", "id": sight, "sighting_of_ref": f.hashID, "where_sighted_refs": many, "count": 1},
	)
	c := newClient(t, base)
	c.login(t, f.aurelia.Token)
	spy.take()

	_, hp := c.get(t, "/ui/objects/"+relHidden)
	hidden, hiddenCalls := propsOf(hp), spy.take()
	_, ap := c.get(t, "/ui/objects/"+relAbsent)
	absentProps, absentCalls := propsOf(ap), spy.take()
	if fmt.Sprint(hiddenCalls) != fmt.Sprint(absentCalls) {
		t.Errorf("the store is asked for %v ids for a hidden target_ref and %v for an absent one", hiddenCalls, absentCalls)
	}
	if want := `<a class="ref" href="/ui/objects/` + f.indicator + `"`; !strings.Contains(hidden["source_ref"], want) || !strings.Contains(hidden["source_ref"], `<span class="type">indicator</span>`) ||
		!strings.Contains(hidden["source_ref"], "Look-alike portal &lt;script&gt;") {
		t.Errorf("source_ref of a readable indicator isn't named and linked: %q", hidden["source_ref"])
	}
	if h, a := strings.ReplaceAll(hidden["target_ref"], f.secretID, "ID"), strings.ReplaceAll(absentProps["target_ref"], absent, "ID"); h != a || !strings.Contains(h, "ID") {
		t.Errorf("target_ref of a hidden object (%q) and of an absent one (%q) differ", h, a)
	}
	if strings.Contains(hp, "Borovia secret source") || strings.Contains(hp, `href="/ui/objects/`+f.secretID) {
		t.Errorf("the relationship's page names or links the hidden object:\n%s", hp)
	}
	spy.take()
	_, sp := c.get(t, "/ui/objects/"+sight)
	calls := spy.take()
	props := propsOf(sp)
	if !strings.Contains(props["sighting_of_ref"], `<a class="ref" href="/ui/objects/`+f.hashID+`"`) || !strings.Contains(props["sighting_of_ref"], "Lure document") {
		t.Errorf("sighting_of_ref isn't named: %q", props["sighting_of_ref"])
	}
	if strings.Contains(props["where_sighted_refs"], `href="/ui/objects/`+observers) || !strings.Contains(props["where_sighted_refs"], observers) {
		t.Errorf("an id past MaxNamedRefs is named, or missing: %q", props["where_sighted_refs"])
	}
	asked := 0
	for _, n := range calls {
		asked += n
	}
	if len(calls) > 3 || asked > web.MaxNamedRefs+1 {
		t.Errorf("the sighting's page asked the store for the latest versions of %d ids in %d calls (%v); want at most %d ids, in one query for its references", asked, len(calls), calls, web.MaxNamedRefs+1)
	}
}

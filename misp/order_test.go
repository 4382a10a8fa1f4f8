package misp

import (
	"slices"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// reordered returns ev with its attributes, objects, galaxies and event
// reports in the reverse order, as another MISP instance may list them
// (each stores them in the order it received them).
func reordered(ev *Event) *Event {
	r := *ev
	r.Attribute = slices.Clone(ev.Attribute)
	slices.Reverse(r.Attribute)
	r.Object = slices.Clone(ev.Object)
	slices.Reverse(r.Object)
	r.Galaxy = slices.Clone(ev.Galaxy)
	slices.Reverse(r.Galaxy)
	r.EventReport = slices.Clone(ev.EventReport)
	slices.Reverse(r.EventReport)
	return &r
}

// TestContainerRefsSorted: misp-stix's test event with its attributes,
// objects and galaxies in the reverse order makes the same report, byte
// for byte (its object_refs sorted, a version 3 ms after the event's
// timestamp: imports before wrote the event's order at it), and the same
// SDOs and SROs. (An observable two objects write under one id is the
// first one's, as the package documentation says: the reverse order may
// write another's properties.)
func TestContainerRefsSorted(t *testing.T) {
	for _, published := range []bool{true, false} {
		ev := testEvent(t)
		ev.Published = Bool(published)
		a := NewConverter(Options{}).Convert(ev)
		b := NewConverter(Options{}).Convert(reordered(ev))
		ga, _ := convertOne(t, ev, Options{})
		c := ga["report--"+ev.UUID]
		if !published {
			c = ga["grouping--"+ev.UUID]
		}
		if c == nil {
			t.Fatal("no report or grouping")
		}
		refs := stringList(c["object_refs"])
		if len(refs) < 10 || !slices.IsSorted(refs) {
			t.Errorf("object_refs %v, want them sorted", refs)
		}
		if !strings.HasSuffix(c["modified"].(string), ".003Z") {
			t.Errorf("modified %v, want 3 ms after the event's timestamp", c["modified"])
		}
		sa, sb := slices.Clone(asStrings(a)), slices.Clone(asStrings(b))
		slices.Sort(sa)
		slices.Sort(sb)
		for _, s := range sa {
			if _, ok := slices.BinarySearch(sb, s); !ok {
				t.Errorf("published %v: reordered, the conversion lacks %s", published, s)
			}
		}
		if len(sa) != len(sb) {
			t.Errorf("published %v: %d objects, reordered %d", published, len(sa), len(sb))
		}
	}
}

func asStrings(r *Result) []string {
	var out []string
	for _, raw := range r.Objects {
		o, err := stix.Parse(raw)
		if err == nil && stix.IsObservable(o.Type) {
			continue
		}
		out = append(out, string(raw))
	}
	return out
}

package misp

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// linearGrowth fails t unless cost(8n) is under 24 times cost(n), each
// the least of three runs: a linear cost grows about 8 times, a quadratic
// one about 64. A ratio of two times taken in the same run, with room for
// the machine's drift and the race detector's overhead, instead of a
// bound on either time.
func linearGrowth(t *testing.T, n int, cost func(n int) time.Duration) {
	t.Helper()
	// The sizes alternate, each its fastest of five: on a shared machine
	// the load drifts, and a drift during one size's runs alone would
	// read as growth (32x once, under a full test run, against 10x).
	small, large := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range 5 {
		small = min(small, cost(n))
		large = min(large, cost(8*n))
	}
	t.Logf("n=%d: %v; n=%d: %v (%.1fx)", n, small, 8*n, large, float64(large)/float64(small))
	if large > 24*small {
		t.Errorf("8 times the input took %.1f times as long (%v against %v): not linear", float64(large)/float64(small), large, small)
	}
}

// TestNoteOfManyCitationsIsLinear: a hostile event's report that cites
// each of its many attributes many times costs in proportion to the
// citations, not to their number times the objects cited (each citation
// once compared with every object cited before it).
func TestNoteOfManyCitationsIsLinear(t *testing.T) {
	const times = 20
	linearGrowth(t, 1000, func(n int) time.Duration {
		attrs := make([]Attribute, n)
		var b strings.Builder
		for i := range attrs {
			attrs[i] = Attribute{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Type: "ip-dst", Category: "Network activity",
				Value: fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), Timestamp: 1603642920}
		}
		for range times {
			for i := range attrs {
				fmt.Fprintf(&b, "@[attribute](%s) ", attrs[i].UUID)
			}
		}
		ev := event(attrs, nil)
		ev.EventReport = []EventReport{{UUID: "44444444-0000-4000-8000-000000000001", Name: "r", Content: b.String(), Timestamp: 1603642920}}
		start := time.Now()
		res := NewConverter(Options{}).Convert(ev)
		took := time.Since(start)
		objs := map[string]bool{}
		for _, k := range res.Keys {
			objs[strings.Fields(k)[0]] = true
		}
		if !objs["note--44444444-0000-4000-8000-000000000001"] {
			t.Fatalf("no note: %v", res.Unsupported)
		}
		return took
	})
}

// TestSightingOfManyOrganisationsIsLinear: a hostile event's attribute
// with a sighting and many further instances of it (the uuids Parley's
// feed export gives them), each from another organisation, costs in
// proportion to the instances, not their number squared (each
// organisation once compared with every one before it).
func TestSightingOfManyOrganisationsIsLinear(t *testing.T) {
	first := "55555555-0000-4000-8000-000000000001"
	linearGrowth(t, 4000, func(n int) time.Duration {
		s := make([]Sighting, n)
		for i := range s {
			s[i] = Sighting{UUID: first, DateSighting: 1603642920, Type: "0",
				Organisation: &Org{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Name: "org"}}
			if i > 0 {
				s[i].UUID = SightingInstanceUUID("sighting--"+first, int64(i))
			}
		}
		ev := event([]Attribute{{UUID: "77777777-0000-4000-8000-000000000001", Type: "ip-dst", Category: "Network activity", Value: "10.0.0.1",
			Timestamp: 1603642920, Sighting: s}}, nil)
		start := time.Now()
		res := NewConverter(Options{}).Convert(ev)
		took := time.Since(start)
		if !slices.Contains(res.Keys, "sighting--"+first+" 2020-10-25T16:22:00.000Z") {
			t.Fatalf("no sighting of the instances: %v", res.Unsupported)
		}
		return took
	})
}

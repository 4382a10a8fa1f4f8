package misp

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNoteOfManyCitationsIsLinear: a hostile event's report that cites
// each of its many attributes many times costs about as much as
// converting the attributes themselves, not their number times the
// citations (each citation once compared with every object cited
// before it).
func TestNoteOfManyCitationsIsLinear(t *testing.T) {
	const n, times = 10000, 20
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
	start := time.Now()
	NewConverter(Options{}).Convert(ev)
	plain := time.Since(start)
	ev.EventReport = []EventReport{{UUID: "44444444-0000-4000-8000-000000000001", Name: "r", Content: b.String(), Timestamp: 1603642920}}
	start = time.Now()
	res := NewConverter(Options{}).Convert(ev)
	withNote := time.Since(start)
	objs := map[string]bool{}
	for _, k := range res.Keys {
		objs[strings.Fields(k)[0]] = true
	}
	if !objs["note--44444444-0000-4000-8000-000000000001"] {
		t.Fatalf("no note: %v", res.Unsupported)
	}
	t.Logf("%d attributes: %v, with a note citing each %d times: %v", n, plain, times, withNote)
	if withNote > 3*plain+time.Second {
		t.Errorf("the note of %d citations took %v more than the %d attributes alone (%v)", n*times, withNote-plain, n, plain)
	}
}

// TestSightingOfManyOrganisationsIsLinear: a hostile event's attribute
// with a sighting and many further instances of it (the uuids Parley's
// feed export gives them), each from another organisation, costs about
// as much as as many sightings of their own, not their number squared
// (each organisation once compared with every one before it).
func TestSightingOfManyOrganisationsIsLinear(t *testing.T) {
	const n = 30000
	first := "55555555-0000-4000-8000-000000000001"
	sightings := func(chained bool) []Sighting {
		s := make([]Sighting, n)
		for i := range s {
			s[i] = Sighting{UUID: fmt.Sprintf("66666666-0000-4000-8000-%012d", i), DateSighting: 1603642920, Type: "0",
				Organisation: &Org{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Name: "org"}}
			if chained {
				s[i].UUID = first
				if i > 0 {
					s[i].UUID = SightingInstanceUUID("sighting--"+first, int64(i))
				}
			}
		}
		return s
	}
	took := map[bool]time.Duration{}
	for _, chained := range []bool{false, true} {
		ev := event([]Attribute{{UUID: "77777777-0000-4000-8000-000000000001", Type: "ip-dst", Category: "Network activity", Value: "10.0.0.1",
			Timestamp: 1603642920, Sighting: sightings(chained)}}, nil)
		start := time.Now()
		res := NewConverter(Options{}).Convert(ev)
		took[chained] = time.Since(start)
		if chained && !slices.Contains(res.Keys, "sighting--"+first+" 2020-10-25T16:22:00.000Z") {
			t.Fatalf("no sighting of the instances: %v", res.Unsupported)
		}
	}
	t.Logf("%d sightings: %v, one of %d instances: %v", n, took[false], n, took[true])
	if took[true] > 3*took[false]+time.Second {
		t.Errorf("one sighting of %d instances took %v, %d sightings %v", n, took[true], n, took[false])
	}
}

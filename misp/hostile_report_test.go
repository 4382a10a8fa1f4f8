package misp

import (
	"fmt"
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

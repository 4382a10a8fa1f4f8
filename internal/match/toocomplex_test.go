package match

import (
	"fmt"
	"strings"
	"testing"
)

// TestEngineTooComplex: a member's compound indicator whose leaves match
// every event but whose whole can never match is evaluated over its
// window on every event. Built to make the search explode, one such
// indicator cost each event up to the evaluator's 20,000,000 steps (about
// a second), slowing the matching of every event for every indicator. An
// evaluation is now bounded to compoundSteps; the indicator that needs
// more is no longer evaluated, is listed in TooComplex and counts once in
// Errors, and the other indicators still match every event.
func TestEngineTooComplex(t *testing.T) {
	all := "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"
	odd := "[ipv4-addr:value ISSUBSET '10.0.0.0/24']"
	hostile := &Indicator{ID: "indicator--hostile", Pattern: "(" + strings.Repeat(odd+" FOLLOWEDBY "+all+" FOLLOWEDBY ", 40) + all + ") REPEATS 2 TIMES"}
	plain := &Indicator{ID: "indicator--plain", Pattern: all}
	pair := &Indicator{ID: "indicator--pair", Pattern: all + " FOLLOWEDBY " + all}
	e, errs := Compile([]*Indicator{hostile, plain, pair}, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	d := NewDecoder(FormatEVE)
	fired := map[string]int{}
	const n = 300
	for j := range n {
		line := fmt.Sprintf(`{"timestamp":"2023-11-14T22:13:%02d.%06d+0000","event_type":"flow","src_ip":"10.0.%d.%d","dest_ip":"192.0.2.1","proto":"TCP","src_port":1,"dest_port":2}`, j%60, j, j/250, j%250)
		evs, err := d.Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			e.Match(ev, func(ind *Indicator) { fired[ind.ID]++ })
		}
	}
	if len(e.TooComplex) != 1 || e.TooComplex[0] != hostile || e.Errors != 1 {
		t.Errorf("too complex %v, errors %d; want the hostile indicator, once", e.TooComplex, e.Errors)
	}
	if fired["indicator--plain"] != n || fired["indicator--pair"] != n/2 || fired["indicator--hostile"] != 0 {
		t.Errorf("fired %v", fired)
	}
	// A recompiled engine (new indicators polled) keeps it out.
	e2, _ := Compile([]*Indicator{hostile, plain}, Options{})
	e2.carryWindows(e)
	if len(e2.TooComplex) != 1 || e2.TooComplex[0] != hostile {
		t.Errorf("recompiled: too complex %v", e2.TooComplex)
	}
}

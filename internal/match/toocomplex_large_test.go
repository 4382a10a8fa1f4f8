package match

import (
	"fmt"
	"strings"
	"testing"
)

// TestEngineLargeCompoundNotTooComplex: a legitimate compound indicator
// of many observation expressions (500 ORed domains, then an address) is
// not switched off as too complex once its window fills. Counting each
// comparison on each event in the window against the 100,000-step search
// bound made 500 expressions over a window of more than 199 events "too
// complex" although its search is trivial: the indicator was dropped and
// its match missed. The comparisons are bounded by their own allowance.
func TestEngineLargeCompoundNotTooComplex(t *testing.T) {
	var doms []string
	for i := range 500 {
		doms = append(doms, fmt.Sprintf("[domain-name:value = 'bad%d.example']", i))
	}
	ind := &Indicator{ID: "indicator--large", Pattern: "(" + strings.Join(doms, " OR ") + ") FOLLOWEDBY [ipv4-addr:value = '203.0.113.9']"}
	e, errs := Compile([]*Indicator{ind}, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	d := NewDecoder(FormatEVE)
	fired := 0
	match := func(line string) {
		t.Helper()
		evs, err := d.Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			e.Match(ev, func(*Indicator) { fired++ })
		}
	}
	// 210 look-ups of listed domains, one a second: 501 expressions on
	// 210 events are more than 100,000 comparisons.
	for j := range 210 {
		match(fmt.Sprintf(`{"timestamp":"2023-11-14T22:%02d:%02d.000000+0000","event_type":"dns","src_ip":"10.0.0.1","dest_ip":"192.0.2.1","proto":"UDP","src_port":1,"dest_port":53,"dns":{"type":"query","rrname":"bad%d.example"}}`, j/60, j%60, j%500))
	}
	match(`{"timestamp":"2023-11-14T22:03:40.000000+0000","event_type":"flow","src_ip":"203.0.113.9","dest_ip":"192.0.2.1","proto":"TCP","src_port":1,"dest_port":2}`)
	if len(e.TooComplex) != 0 || e.Errors != 0 {
		t.Errorf("too complex %v, errors %d; want none", e.TooComplex, e.Errors)
	}
	if fired != 1 {
		t.Errorf("fired %d times, want once", fired)
	}
}

// TestCompoundComparisonsCountedOnce: an observation expression written
// many times is compared once per event by the evaluator, so it widens the
// comparisons allowance once: repeating it can't buy a hostile pattern
// more search steps.
func TestCompoundComparisonsCountedOnce(t *testing.T) {
	all := "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"
	odd := "[ipv4-addr:value ISSUBSET '10.0.0.0/24']"
	ind := &Indicator{ID: "indicator--hostile", Pattern: "(" + strings.Repeat(odd+" FOLLOWEDBY "+all+" FOLLOWEDBY ", 40) + all + ") REPEATS 2 TIMES"}
	e, errs := Compile([]*Indicator{ind}, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if n := e.compound[0].obsExprs; n != 2 {
		t.Errorf("%d expressions counted, want 2", n)
	}
}

package main

import (
	"fmt"
	"testing"
)

func TestOtherPatternTypesBounded(t *testing.T) {
	few := map[string]int{"yara": 1, "sigma": 2, "suricata": 2}
	if got, want := otherPatternTypes(few), "(and 5 of other pattern types, not matched: sigma 2, suricata 2, yara 1)"; got != want {
		t.Errorf("few types:\n got %s\nwant %s", got, want)
	}
	// A member can write any pattern_type: thousands of them name only
	// the most numerous and count the rest.
	many := map[string]int{"sigma": 50, "yara": 40}
	for i := range 5000 {
		many[fmt.Sprintf("x-type-%04d-%s", i, "padding-to-forty-characters")] = 1
	}
	got := otherPatternTypes(many)
	if len(got) > 600 {
		t.Fatalf("5,002 types make a summary of %d bytes: %.200s…", len(got), got)
	}
	want := "(and 5090 of other pattern types, not matched: sigma 50, yara 40, x-type-0000-padding-to-forty-characters 1, "
	if len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("many types:\n got %s\nwant it to begin %s", got, want)
	}
	if wantEnd := ", and 4994 more types with 4994 indicators)"; len(got) < len(wantEnd) || got[len(got)-len(wantEnd):] != wantEnd {
		t.Errorf("many types:\n got %s\nwant it to end %s", got, wantEnd)
	}
}

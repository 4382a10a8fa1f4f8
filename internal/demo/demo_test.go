package demo

import (
	"encoding/json"
	"testing"

	"github.com/parley-exchange/parley/opinion"
)

// TestDemoOpinions checks that the demo's opinions are valid opinions
// about objects the demo scenario really shares, so that the two files
// can't drift apart.
func TestDemoOpinions(t *testing.T) {
	const a, b = "identity--00000000-0000-4000-8000-00000000000a", "identity--00000000-0000-4000-8000-00000000000b"
	shared := map[string]bool{}
	for _, batch := range Scenario(a, b) {
		if batch.Collection != Shared {
			continue
		}
		for _, o := range batch.Objects {
			var head struct{ ID string }
			if err := json.Unmarshal(o, &head); err != nil {
				t.Fatal(err)
			}
			shared[head.ID] = true
		}
	}
	if !shared[Report] || !shared[Attribution] {
		t.Fatalf("the demo scenario doesn't share %s and %s", Report, Attribution)
	}
	var n int
	for _, batch := range Opinions(a, b) {
		for _, o := range batch.Objects {
			op, err := opinion.Parse(o)
			if err != nil {
				t.Fatal(err)
			}
			if !op.About(Report) || !op.About(Attribution) {
				t.Errorf("%s is not about the report and the attribution", op.ID)
			}
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d demo opinion versions, want 3", n)
	}
}

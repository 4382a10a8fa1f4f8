package pattern

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestFollowedByLookahead: a FOLLOWEDBY chain whose last step can only
// bind the earliest observation has no match. Without lookahead the search
// enumerated every ordered choice of the left side (millions over 60
// observations) and gave up with a step-limit error instead of answering.
func TestFollowedByLookahead(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var obs []Observation
	for i := 0; i < 60; i++ {
		id := fmt.Sprintf("x--%d", i)
		at := base.Add(time.Duration(7*i) * time.Second)
		obs = append(obs, Observation{
			ID: fmt.Sprintf("observed-data--%d", i), Count: 1, First: at, Last: at,
			Objects: map[string]map[string]any{id: {"type": "x", "id": id, "v": i}},
		})
	}
	chain := "[x:v >= 0] FOLLOWEDBY [x:v >= 0] FOLLOWEDBY [x:v >= 0] FOLLOWEDBY [x:v >= 0] FOLLOWEDBY [x:v >= 0] FOLLOWEDBY [x:v = %d]"
	tests := []struct {
		last int
		want bool
	}{
		{0, false}, // nothing can come before the first observation
		{4, false}, // only four observations come before the fifth
		{5, true},  // exactly five do before the sixth
		{59, true},
	}
	for _, tt := range tests {
		src := fmt.Sprintf(chain, tt.last)
		res, err := MustParse(src).Match(obs)
		if err != nil {
			if errors.Is(err, ErrEval) {
				t.Errorf("last = %d: %v (the search should prune, not give up)", tt.last, err)
			} else {
				t.Errorf("last = %d: %v", tt.last, err)
			}
			continue
		}
		if res.Matched != tt.want {
			t.Errorf("last = %d: matched = %v, want %v", tt.last, res.Matched, tt.want)
		}
	}
	// A constraint inside the left side must not prune the right side:
	// the WITHIN applies to [x:v < 3] pairs only, the right side is late.
	res, err := MustParse("([x:v < 3] AND [x:v < 3]) WITHIN 7 SECONDS FOLLOWEDBY [x:v = 50]").Match(obs)
	if err != nil || !res.Matched {
		t.Errorf("a left-side WITHIN pruned the right side: %v, %v", res.Matched, err)
	}
}

package pattern

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// people returns n observed-data one second apart, each with one person of
// age i and the given number_observed.
func people(n, count int) []Observation {
	base := time.Date(2004, 10, 11, 21, 44, 58, 0, time.UTC)
	obs := make([]Observation, n)
	for i := range obs {
		id := fmt.Sprintf("person--%d", i)
		ts := base.Add(time.Duration(i) * time.Second)
		obs[i] = Observation{
			ID: fmt.Sprintf("observed-data--%d", i), First: ts, Last: ts, Count: count,
			Objects: map[string]map[string]any{id: {"type": "person", "id": id, "age": i, "name": "p" + fmt.Sprint(i)}},
		}
	}
	return obs
}

func repeatJoin(s, sep string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = s
	}
	return strings.Join(parts, sep)
}

// TestCombinatorialSearch checks results and that the search prunes: each
// of these would take hours if bindings were enumerated.
func TestCombinatorialSearch(t *testing.T) {
	tests := []struct {
		pattern string
		n, c    int
		want    bool
	}{
		{repeatJoin("[person:age < 20]", " AND ", 20), 20, 1, true},
		{repeatJoin("[person:age < 20]", " AND ", 21), 20, 1, false},
		{repeatJoin("[person:age < 20]", " AND ", 41), 20, 2, false},
		{"[person:age < 20] REPEATS 10 TIMES WITHIN 8 SECONDS", 20, 1, false},
		{"[person:age < 20] REPEATS 10 TIMES WITHIN 9 SECONDS", 20, 1, true},
		{"[person:age < 20] REPEATS 28 TIMES WITHIN 8 SECONDS", 20, 3, false},
		{"[person:age < 20] REPEATS 27 TIMES WITHIN 8 SECONDS", 20, 3, true},
		{"([person:age < 20] FOLLOWEDBY [person:age > 10]) REPEATS 9 TIMES", 20, 1, true},
		{"([person:age < 20] FOLLOWEDBY [person:age > 10]) REPEATS 10 TIMES", 20, 1, false},
		{"([person:age < 20] FOLLOWEDBY [person:age < 10]) REPEATS 5 TIMES", 20, 1, true},
		{"([person:age < 20] FOLLOWEDBY [person:age < 10]) REPEATS 6 TIMES", 20, 1, false},
		{"[person:age < 20] REPEATS 5 TIMES REPEATS 4 TIMES", 20, 1, true},
		{"[person:age < 20] REPEATS 7 TIMES REPEATS 3 TIMES", 20, 1, false},
		{"([person:age < 20] AND [person:age > 3]) REPEATS 10 TIMES", 20, 1, true},
		{"([person:age < 20] AND [person:age > 3]) REPEATS 11 TIMES", 20, 1, false},
		{"([person:age < 20] AND [person:age > 3]) REPEATS 8 TIMES", 20, 1, true},
		{"([person:age < 20] REPEATS 3 TIMES) WITHIN 2 SECONDS REPEATS 6 TIMES", 20, 1, true},
		{"([person:age < 20] REPEATS 3 TIMES) WITHIN 1 SECONDS REPEATS 2 TIMES", 20, 1, false},
		{"[person:age < 20] REPEATS 95 TIMES AND [person:age = 3] REPEATS 5 TIMES", 20, 5, true},
		{"[person:age < 20] REPEATS 95 TIMES AND [person:age = 3] REPEATS 6 TIMES", 20, 5, false},
		{"[person:age < 20] REPEATS 96 TIMES AND [person:age = 3] REPEATS 5 TIMES", 20, 5, false},
	}
	// Ten different atoms over the same nine observations (and one more
	// atom over all): Hall's condition on the group fails at once, where
	// a plain search would try 9! orders.
	var distinct []string
	for i := 0; i < 10; i++ {
		distinct = append(distinct, fmt.Sprintf("[person:age < 8.%d1]", i))
	}
	tests = append(tests, struct {
		pattern string
		n, c    int
		want    bool
	}{strings.Join(distinct, " AND ") + " AND [person:age >= 0]", 20, 1, false})
	for _, tc := range tests {
		start := time.Now()
		res, err := MustParse(tc.pattern).Match(people(tc.n, tc.c))
		if err != nil {
			t.Errorf("%.60s (n=%d c=%d): %v", tc.pattern, tc.n, tc.c, err)
			continue
		}
		if res.Matched != tc.want {
			t.Errorf("%.60s (n=%d c=%d): matched %v, want %v", tc.pattern, tc.n, tc.c, res.Matched, tc.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%.60s: took %v", tc.pattern, d)
		}
	}
}

func TestSearchLimits(t *testing.T) {
	obs := people(3, 1<<30)
	_, err := MustParse("[person:age < 20] REPEATS 1000000 TIMES").Match(obs)
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("got %v, want the binding-size limit", err)
	}
	res, err := MustParse("[person:age < 20] REPEATS 1000 TIMES").Match(obs)
	if err != nil || !res.Matched || len(res.ObservedData) != 1 {
		t.Fatalf("got %+v, %v", res, err)
	}
}

// TestConcurrentMatch: one parsed pattern serves many goroutines.
func TestConcurrentMatch(t *testing.T) {
	p := MustParse("([person:age < 20] FOLLOWEDBY [person:name MATCHES '^p1']) REPEATS 2 TIMES WITHIN 30 SECONDS")
	obs := people(20, 1)
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func() {
			res, err := p.Match(obs)
			done <- err == nil && res.Matched
		}()
	}
	for g := 0; g < 8; g++ {
		if !<-done {
			t.Fatal("a concurrent match failed")
		}
	}
}

// TestMatchLimit: MatchLimit bounds the search steps and the comparisons
// evaluated (atoms times observations) together, and says so with
// ErrTooComplex; under the limit it matches as Match does.
func TestMatchLimit(t *testing.T) {
	obs := people(20, 1)
	p := MustParse("[person:age < 20] REPEATS 5 TIMES")
	if res, err := p.MatchLimit(obs, 1000); err != nil || !res.Matched {
		t.Fatalf("under the limit: %+v, %v", res, err)
	}
	// 20 comparisons and at least 5 search steps.
	_, err := p.MatchLimit(obs, 22)
	if !errors.Is(err, ErrTooComplex) || !errors.Is(err, ErrEval) {
		t.Fatalf("over the limit: got %v, want ErrTooComplex and ErrEval", err)
	}
	// 30 comparisons on 20 observations: refused before the search.
	var atoms []string
	for i := range 30 {
		atoms = append(atoms, fmt.Sprintf("[person:age < %d]", 20+i))
	}
	wide := MustParse(strings.Join(atoms, " AND "))
	if _, err := wide.MatchLimit(obs, 599); !errors.Is(err, ErrTooComplex) || !strings.Contains(err.Error(), "30 comparisons on 20 observations") {
		t.Fatalf("comparisons over the limit: got %v", err)
	}
	if res, err := p.MatchLimit(obs, 0); err != nil || !res.Matched {
		t.Fatalf("limit 0 is Match's own: %+v, %v", res, err)
	}
}

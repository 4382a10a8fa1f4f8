package pattern

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"
)

// bruteBindings computes every binding of n as a multiset of observation
// indexes (sorted), straight from the definitions and without pruning:
// the oracle for the search.
func bruteBindings(n node, cands [][]int, obs []obsData) [][]int {
	fits := func(b []int) bool {
		c := map[int]int{}
		for _, o := range b {
			c[o]++
			if c[o] > obs[o].o.Count {
				return false
			}
		}
		return true
	}
	merge := func(a, b []int) []int {
		m := append(append([]int(nil), a...), b...)
		sort.Ints(m)
		return m
	}
	dedupe := func(bs [][]int) [][]int {
		seen := map[string]bool{}
		var out [][]int
		for _, b := range bs {
			k := fmt.Sprint(b)
			if !seen[k] {
				seen[k] = true
				out = append(out, b)
			}
		}
		return out
	}
	maxFirst := func(b []int) int64 {
		m := obs[b[0]].first
		for _, o := range b {
			m = max(m, obs[o].first)
		}
		return m
	}
	minLast := func(b []int) int64 {
		m := obs[b[0]].last
		for _, o := range b {
			m = min(m, obs[o].last)
		}
		return m
	}
	var out [][]int
	switch n := n.(type) {
	case *nAtom:
		for _, o := range cands[n.id] {
			out = append(out, []int{o})
		}
	case *nAnd:
		out = [][]int{nil}
		for _, k := range n.kids {
			var next [][]int
			for _, a := range out {
				for _, b := range bruteBindings(k, cands, obs) {
					if m := merge(a, b); fits(m) {
						next = append(next, m)
					}
				}
			}
			out = dedupe(next)
		}
	case *nOr:
		for _, k := range n.kids {
			out = append(out, bruteBindings(k, cands, obs)...)
		}
	case *nFollow:
		for _, a := range bruteBindings(n.l, cands, obs) {
			for _, b := range bruteBindings(n.r, cands, obs) {
				if m := merge(a, b); fits(m) && maxFirst(a) <= minLast(b) {
					out = append(out, m)
				}
			}
		}
	case *nWithin:
		for _, b := range bruteBindings(n.kid, cands, obs) {
			if maxFirst(b)-minLast(b) <= n.d {
				out = append(out, b)
			}
		}
	case *nStartStop:
		for _, b := range bruteBindings(n.kid, cands, obs) {
			ok := n.start < n.stop
			for _, o := range b {
				if !(obs[o].first < n.stop && obs[o].last >= n.start) {
					ok = false
				}
			}
			if ok {
				out = append(out, b)
			}
		}
	case *nRepeat:
		kid := bruteBindings(n.kid, cands, obs)
		out = [][]int{nil}
		for i := 0; i < n.n; i++ {
			var next [][]int
			for _, a := range out {
				for _, b := range kid {
					if m := merge(a, b); fits(m) {
						next = append(next, m)
					}
				}
			}
			out = dedupe(next)
		}
	}
	return dedupe(out)
}

func randomPattern(r *rand.Rand, depth int) string {
	if depth == 0 || r.Intn(3) == 0 {
		return fmt.Sprintf("[t:v %s %d]", []string{"=", "<", ">", "!="}[r.Intn(4)], r.Intn(4))
	}
	switch r.Intn(7) {
	case 0, 1:
		return randomPattern(r, depth-1) + " AND " + randomPattern(r, depth-1)
	case 2:
		return randomPattern(r, depth-1) + " OR " + randomPattern(r, depth-1)
	case 3:
		return "(" + randomPattern(r, depth-1) + " FOLLOWEDBY " + randomPattern(r, depth-1) + ")"
	case 4:
		return "(" + randomPattern(r, depth-1) + ") WITHIN " + fmt.Sprint(1+r.Intn(3)) + " SECONDS"
	case 5:
		return "(" + randomPattern(r, depth-1) + ") REPEATS " + fmt.Sprint(1+r.Intn(3)) + " TIMES"
	}
	a := r.Intn(5)
	return fmt.Sprintf("(%s) START t'2020-01-01T00:00:0%dZ' STOP t'2020-01-01T00:00:0%dZ'", randomPattern(r, depth-1), a, a+r.Intn(4))
}

// TestSearchAgainstBruteForce compares the pruned search with the oracle
// on random patterns and observations.
func TestSearchAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	iters := 3000
	matched := 0
	defer func() { t.Logf("%d of %d matched", matched, iters) }()
	if testing.Short() {
		iters = 300
	}
	for i := 0; i < iters; i++ {
		var obs []Observation
		for j := 0; j < 1+r.Intn(5); j++ {
			f := r.Intn(6)
			id := fmt.Sprintf("t--%d", j)
			obs = append(obs, Observation{
				ID: fmt.Sprintf("od-%d", j), Count: 1 + r.Intn(3),
				First: base.Add(time.Duration(f) * time.Second), Last: base.Add(time.Duration(f+r.Intn(3)) * time.Second),
				Objects: map[string]map[string]any{id: {"type": "t", "id": id, "v": r.Intn(4)}},
			})
		}
		src := randomPattern(r, 3)
		p := MustParse(src)
		res, err := p.Match(obs)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		prog, _ := p.program()
		ev := &evaluator{}
		for k := range obs {
			ev.obs = append(ev.obs, obsData{o: &obs[k], first: micros(obs[k].First), last: micros(obs[k].Last), keys: []string{fmt.Sprintf("t--%d", k)}})
		}
		cands := make([][]int, len(prog.atoms))
		for a, def := range prog.atoms {
			for k := range ev.obs {
				roots, _ := ev.evalComp(def.comp, &ev.obs[k])
				if len(roots) > 0 {
					cands[a] = append(cands[a], k)
				}
			}
		}
		want := len(bruteBindings(prog.root, cands, ev.obs)) > 0
		if res.Matched != want {
			var desc []string
			for _, o := range obs {
				desc = append(desc, fmt.Sprintf("{%v..%v x%d v=%v}", o.First.Second(), o.Last.Second(), o.Count, o.Objects[strings.Replace(o.ID, "od-", "t--", 1)]["v"]))
			}
			t.Fatalf("%s over %v: search says %v, brute force %v", src, desc, res.Matched, want)
		}
		if res.Matched {
			matched++
			// The reported binding must itself be a binding.
			if len(res.Bound) == 0 {
				t.Fatalf("%s: matched with an empty binding", src)
			}
		}
	}
}

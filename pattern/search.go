package pattern

import (
	"fmt"
	"math"
	"sort"
)

// The binding search.
//
// A binding assigns one observation instance to every simple observation
// expression ("atom") the pattern needs. Instances of one observed-data
// are interchangeable (they share its interval), so a binding is a
// multiset of observed-data indexes, each used at most Count times, and
// the search tracks only how many instances of each are still free.
//
// The search is depth-first in continuation-passing style: bind(n, k)
// tries each binding of n that fits the free instances and the active
// constraints and calls k to bind the rest of the pattern, undoing its
// choice when k fails. Constraints are checked as each atom is bound:
//
//   - WITHIN d: the latest first_observed minus the earliest last_observed
//     of the atoms in scope must stay <= d (adding atoms only makes this
//     worse, so a violation prunes the whole subtree);
//   - START/STOP: each atom's interval must overlap [start, stop);
//   - FOLLOWEDBY: once the left side is bound, every right-side atom's
//     last_observed must be >= the left side's latest first_observed.
//
// Pruning:
//
//   - symmetry: the n bindings of REPEATS n (and identical operands of an
//     AND, which mean the same as REPEATS) are interchangeable, so they
//     are found in non-decreasing order of their first atom's observation;
//   - capacity: before binding r more repetitions (or the rest of an AND)
//     the free instances that could serve each atom, and all atoms
//     together, must cover what is required;
//   - OR operands that are identical are tried once;
//   - lookahead: while the left side of a FOLLOWEDBY is bound, each rise
//     of its latest first_observed must leave the right side feasible
//     (the capacity check under the constraints active outside the left
//     side, plus last_observed >= that time), so a right side that can
//     no longer follow prunes the left side's subtree at once.

type filterKind int

const (
	fWithin filterKind = iota
	fStartStop
	fMinLast
	fTrack
	fFirstMin
)

type filter struct {
	kind filterKind
	d    int64
	// state updated as atoms are bound in scope
	maxFirst, minLast int64
	count             int
	firstIdx          int
	// static parameters
	start, stop int64
	minLast0    int64
	minIdx      int
	// rest, on an fTrack filter, is the right side of its FOLLOWEDBY: it
	// must stay bindable after every observation's last_observed
	// >= maxFirst as the left side grows (lookahead pruning).
	rest node
}

type search struct {
	obs     []obsData
	cands   [][]int
	root    node
	avail   []int
	filters []*filter
	binding []int
	steps   int
	limit   int // most steps: maxStepsDefault unless MatchLimit says fewer
	err     error
	info    map[node]*nodeInfo
	// group maps an atom to the index of its candidate list in
	// groupCands; atoms with identical candidates share a group.
	group      []int
	groupCands [][]int
}

// nodeInfo is what the capacity check needs about a node.
type nodeInfo struct {
	minSize int
	demand  map[int]int // atom id -> instances always required
	union   []int       // observations any of its atoms could use
}

func newSearch(obs []obsData, cands [][]int, root node) *search {
	s := &search{obs: obs, cands: cands, avail: make([]int, len(obs)), info: map[node]*nodeInfo{}, limit: maxStepsDefault}
	for i := range obs {
		s.avail[i] = obs[i].o.Count
	}
	groups := map[string]int{}
	for _, c := range cands {
		key := fmt.Sprint(c)
		g, ok := groups[key]
		if !ok {
			g = len(s.groupCands)
			groups[key] = g
			s.groupCands = append(s.groupCands, c)
		}
		s.group = append(s.group, g)
	}
	s.root = s.prepare(root)
	return s
}

// prepare rewrites the tree for the search: identical OR operands are
// dropped, identical AND operands become one REPEATS, AND operands with
// fewer candidates go first.
func (s *search) prepare(n node) node {
	switch n := n.(type) {
	case *nAnd:
		groups := map[string]*nRepeat{}
		var kids []node
		for _, k := range n.kids {
			k = s.prepare(k)
			key := nodeKey(k)
			if g, ok := groups[key]; ok {
				g.n++
				continue
			}
			g := &nRepeat{kid: k, n: 1}
			groups[key] = g
			kids = append(kids, g)
		}
		for i, k := range kids {
			if g := k.(*nRepeat); g.n == 1 {
				kids[i] = g.kid
			} else {
				s.infoOf(g)
			}
		}
		sort.SliceStable(kids, func(a, b int) bool {
			return len(s.infoOf(kids[a]).union) < len(s.infoOf(kids[b]).union)
		})
		if len(kids) == 1 {
			return kids[0]
		}
		out := &nAnd{kids: kids}
		s.infoOf(out)
		return out
	case *nOr:
		seen := map[string]bool{}
		var kids []node
		for _, k := range n.kids {
			k = s.prepare(k)
			key := nodeKey(k)
			if seen[key] {
				continue
			}
			seen[key] = true
			kids = append(kids, k)
		}
		if len(kids) == 1 {
			return kids[0]
		}
		return &nOr{kids: kids}
	case *nFollow:
		return &nFollow{l: s.prepare(n.l), r: s.prepare(n.r)}
	case *nWithin:
		return &nWithin{kid: s.prepare(n.kid), d: n.d}
	case *nRepeat:
		return &nRepeat{kid: s.prepare(n.kid), n: n.n}
	case *nStartStop:
		return &nStartStop{kid: s.prepare(n.kid), start: n.start, stop: n.stop}
	}
	return n
}

// nodeKey identifies a node's structure, so identical operands are found.
func nodeKey(n node) string {
	switch n := n.(type) {
	case *nAtom:
		return "a" + itoa(n.id)
	case *nAnd:
		s := "and("
		for _, k := range n.kids {
			s += nodeKey(k) + ","
		}
		return s + ")"
	case *nOr:
		s := "or("
		for _, k := range n.kids {
			s += nodeKey(k) + ","
		}
		return s + ")"
	case *nFollow:
		return "fb(" + nodeKey(n.l) + "," + nodeKey(n.r) + ")"
	case *nWithin:
		return "w" + itoa64(n.d) + "(" + nodeKey(n.kid) + ")"
	case *nRepeat:
		return "r" + itoa(n.n) + "(" + nodeKey(n.kid) + ")"
	case *nStartStop:
		return "ss" + itoa64(n.start) + "," + itoa64(n.stop) + "(" + nodeKey(n.kid) + ")"
	}
	return "?"
}

func itoa(i int) string     { return itoa64(int64(i)) }
func itoa64(i int64) string { return string(appendInt(nil, i)) }
func appendInt(b []byte, i int64) []byte {
	if i < 0 {
		b = append(b, '-')
		i = -i
	}
	var d [20]byte
	p := len(d)
	for {
		p--
		d[p] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return append(b, d[p:]...)
}

func (s *search) infoOf(n node) *nodeInfo {
	if in, ok := s.info[n]; ok {
		return in
	}
	in := &nodeInfo{demand: map[int]int{}}
	unionSet := map[int]bool{}
	addUnion := func(u []int) {
		for _, o := range u {
			unionSet[o] = true
		}
	}
	switch n := n.(type) {
	case *nAtom:
		in.minSize = 1
		in.demand[n.id] = 1
		addUnion(s.cands[n.id])
	case *nAnd:
		for _, k := range n.kids {
			ki := s.infoOf(k)
			in.minSize += ki.minSize
			for a, c := range ki.demand {
				in.demand[a] += c
			}
			addUnion(ki.union)
		}
	case *nOr:
		in.minSize = math.MaxInt32
		for _, k := range n.kids {
			ki := s.infoOf(k)
			in.minSize = min(in.minSize, ki.minSize)
			addUnion(ki.union)
		}
	case *nFollow:
		l, r := s.infoOf(n.l), s.infoOf(n.r)
		in.minSize = l.minSize + r.minSize
		for _, ki := range []*nodeInfo{l, r} {
			for a, c := range ki.demand {
				in.demand[a] += c
			}
			addUnion(ki.union)
		}
	case *nWithin, *nStartStop, *nRepeat:
		var kid node
		times := 1
		switch n := n.(type) {
		case *nWithin:
			kid = n.kid
		case *nStartStop:
			kid = n.kid
		case *nRepeat:
			kid, times = n.kid, n.n
		}
		ki := s.infoOf(kid)
		in.minSize = satMul(ki.minSize, times)
		for a, c := range ki.demand {
			in.demand[a] = satMul(c, times)
		}
		addUnion(ki.union)
	}
	for o := range unionSet {
		in.union = append(in.union, o)
	}
	sort.Ints(in.union)
	s.info[n] = in
	return in
}

func satMul(a, b int) int {
	if a != 0 && b > math.MaxInt32/a {
		return math.MaxInt32
	}
	return a * b
}

// admits reports whether observation o could still be bound under the
// active constraints (other than the first-atom ordering of REPEATS).
func (s *search) admits(o int) bool {
	first, last := s.obs[o].first, s.obs[o].last
	for _, f := range s.filters {
		switch f.kind {
		case fWithin:
			if max(f.maxFirst, first)-min(f.minLast, last) > f.d {
				return false
			}
		case fStartStop:
			if !(first < f.stop && last >= f.start) {
				return false
			}
		case fMinLast:
			if last < f.minLast0 {
				return false
			}
		}
	}
	return true
}

// feasible is the capacity check for binding `times` more copies of the
// nodes in ns: the free instances of the observations that the active
// constraints still admit must cover, for each atom and for all atoms
// together, what is required. minIdx, when >= 0, is a lower bound on the
// observations a single-atom node may use (REPEATS symmetry breaking).
func (s *search) feasible(ns []node, times, minIdx int) bool {
	need := 0
	demand := map[int]int{}
	union := map[int]bool{}
	for _, n := range ns {
		in := s.infoOf(n)
		need = satAdd(need, satMul(in.minSize, times))
		for a, c := range in.demand {
			demand[a] = satAdd(demand[a], satMul(c, times))
		}
		for _, o := range in.union {
			union[o] = true
		}
	}
	admitted := map[int]bool{}
	have := 0
	for o := range union {
		if s.avail[o] > 0 && o >= minIdx && s.admits(o) {
			admitted[o] = true
			have += s.avail[o]
		}
	}
	if have < need {
		return false
	}
	// Atoms with the same candidates compete for the same instances
	// (Hall's condition on those groups): [a:x = 1] AND [a:x > 0] over one
	// matching observation cannot both be bound.
	groupDemand := map[int]int{}
	for a, c := range demand {
		groupDemand[s.group[a]] = satAdd(groupDemand[s.group[a]], c)
	}
	for g, c := range groupDemand {
		have := 0
		for _, o := range s.groupCands[g] {
			if admitted[o] {
				have += s.avail[o]
				if have >= c {
					break
				}
			}
		}
		if have < c {
			return false
		}
	}
	return true
}

func satAdd(a, b int) int {
	if a > math.MaxInt32-b {
		return math.MaxInt32
	}
	return a + b
}

func (s *search) run() ([]int, bool, error) {
	var found []int
	ok := false
	if s.feasible([]node{s.root}, 1, -1) {
		ok = s.bind(s.root, func() bool {
			found = append([]int(nil), s.binding...)
			return true
		})
	}
	if s.err != nil {
		return nil, false, s.err
	}
	return found, ok, nil
}

func (s *search) push(f *filter) { s.filters = append(s.filters, f) }
func (s *search) pop()           { s.filters = s.filters[:len(s.filters)-1] }

// scoped binds kid with f active only while kid's atoms are bound.
func (s *search) scoped(f *filter, kid node, k func() bool) bool {
	s.push(f)
	ok := s.bind(kid, func() bool {
		s.pop()
		r := k()
		s.push(f)
		return r
	})
	s.pop()
	return ok
}

func (s *search) bind(n node, k func() bool) bool {
	if s.err != nil {
		return false
	}
	switch n := n.(type) {
	case *nAtom:
		return s.bindAtom(n, k)
	case *nAnd:
		return s.bindAnd(n.kids, k)
	case *nOr:
		for _, kid := range n.kids {
			if s.bind(kid, k) {
				return true
			}
		}
		return false
	case *nFollow:
		t := &filter{kind: fTrack, maxFirst: math.MinInt64, rest: n.r}
		return s.scoped(t, n.l, func() bool {
			m := &filter{kind: fMinLast, minLast0: t.maxFirst}
			return s.scoped(m, n.r, k)
		})
	case *nWithin:
		return s.scoped(&filter{kind: fWithin, d: n.d, maxFirst: math.MinInt64, minLast: math.MaxInt64}, n.kid, k)
	case *nStartStop:
		if n.start >= n.stop {
			return false
		}
		return s.scoped(&filter{kind: fStartStop, start: n.start, stop: n.stop}, n.kid, k)
	case *nRepeat:
		return s.bindRepeat(n.kid, n.n, 0, k)
	}
	return false
}

func (s *search) bindAnd(kids []node, k func() bool) bool {
	if len(kids) == 0 {
		return k()
	}
	if len(kids) > 1 && !s.feasible(kids, 1, -1) {
		return false
	}
	return s.bind(kids[0], func() bool { return s.bindAnd(kids[1:], k) })
}

func (s *search) bindRepeat(kid node, remaining, minIdx int, k func() bool) bool {
	if remaining == 0 {
		return k()
	}
	bound := -1
	if _, ok := kid.(*nAtom); ok {
		bound = minIdx
	}
	if !s.feasible([]node{kid}, remaining, bound) {
		return false
	}
	f := &filter{kind: fFirstMin, minIdx: minIdx}
	return s.scoped(f, kid, func() bool {
		return s.bindRepeat(kid, remaining-1, f.firstIdx, k)
	})
}

type savedFilter struct {
	maxFirst, minLast int64
	count, firstIdx   int
}

func (s *search) bindAtom(a *nAtom, k func() bool) bool {
	saved := make([]savedFilter, len(s.filters))
	for _, o := range s.cands[a.id] {
		if s.avail[o] == 0 {
			continue
		}
		if len(s.binding) >= maxBinding {
			s.err = evalErrorf("the pattern would bind more than %d observations; it is too large to evaluate", maxBinding)
			return false
		}
		s.steps++
		if s.steps > s.limit {
			s.err = fmt.Errorf("%w: %w: the pattern needs more than %d search steps on this input", ErrEval, ErrTooComplex, s.limit)
			return false
		}
		if !s.admits(o) {
			continue
		}
		ordered := true
		for _, f := range s.filters {
			if f.kind == fFirstMin && f.count == 0 && o < f.minIdx {
				ordered = false
				break
			}
		}
		if !ordered {
			continue
		}
		first, last := s.obs[o].first, s.obs[o].last
		for i, f := range s.filters {
			saved[i] = savedFilter{f.maxFirst, f.minLast, f.count, f.firstIdx}
			if f.count == 0 {
				f.firstIdx = o
			}
			f.count++
			f.maxFirst = max(f.maxFirst, first)
			f.minLast = min(f.minLast, last)
		}
		s.avail[o]--
		if !s.followable(saved) {
			s.avail[o]++
			for i, f := range s.filters {
				f.maxFirst, f.minLast, f.count, f.firstIdx = saved[i].maxFirst, saved[i].minLast, saved[i].count, saved[i].firstIdx
			}
			continue
		}
		s.binding = append(s.binding, o)
		r := k()
		s.binding = s.binding[:len(s.binding)-1]
		s.avail[o]++
		for i, f := range s.filters {
			f.maxFirst, f.minLast, f.count, f.firstIdx = saved[i].maxFirst, saved[i].minLast, saved[i].count, saved[i].firstIdx
		}
		if r {
			return true
		}
		if s.err != nil {
			return false
		}
	}
	return false
}

// followable is the lookahead of FOLLOWEDBY: for every enclosing
// FOLLOWEDBY whose left side is being bound and whose latest
// first_observed has just risen (saved holds the filters' state before
// the last atom), the right side must still pass the capacity check under
// the filters active outside the left side plus last_observed >= that
// time. Constraints only tighten as more atoms are bound, so a failure
// here means no completion exists.
func (s *search) followable(saved []savedFilter) bool {
	for i, f := range s.filters {
		if f.kind != fTrack || f.rest == nil || f.maxFirst <= saved[i].maxFirst {
			continue
		}
		all := s.filters
		// Filters after i are scoped inside the left side; they do not
		// bind the right side. The three-index slice makes append copy.
		s.filters = append(all[:i:i], &filter{kind: fMinLast, minLast0: f.maxFirst})
		ok := s.feasible([]node{f.rest}, 1, -1)
		s.filters = all
		if !ok {
			return false
		}
	}
	return true
}

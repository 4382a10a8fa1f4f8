package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Observation is one observed-data object with the objects it refers to,
// already decoded; it stands for Count observations that share the
// interval [First, Last].
type Observation struct {
	// ID is the observed-data id, reported in [Result.ObservedData].
	ID string
	// First and Last are first_observed and last_observed; precision
	// beyond microseconds is ignored.
	First, Last time.Time
	// Count is number_observed; it must be at least 1.
	Count int
	// Objects holds the cyber observables of this observation keyed by
	// the name references use: the object id in STIX 2.1 (the objects
	// named in object_refs), the dictionary key in STIX 2.0's embedded
	// "objects". Values are what encoding/json produces (numbers as
	// json.Number or float64; int and int64 are accepted too). Objects
	// whose type is an SDO, SRO or meta type are never matched but may be
	// reached through references.
	Objects map[string]map[string]any
}

// Result is the outcome of a match.
type Result struct {
	// Matched reports whether the pattern matched.
	Matched bool
	// Bound lists the indexes (into the observations given) of the
	// observed-data bound by the first binding found, ascending.
	Bound []int
	// ObservedData lists their ids, sorted (as the reference suite
	// reports them).
	ObservedData []string
}

// sdoTypes are the STIX 2.1 SDO, SRO and meta types, which a pattern
// never matches.
var sdoTypes = map[string]bool{
	"attack-pattern": true, "bundle": true, "campaign": true, "course-of-action": true,
	"extension-definition": true, "grouping": true, "identity": true, "incident": true,
	"indicator": true, "infrastructure": true, "intrusion-set": true, "language-content": true,
	"location": true, "malware": true, "malware-analysis": true, "marking-definition": true,
	"note": true, "observed-data": true, "opinion": true, "relationship": true, "report": true,
	"threat-actor": true, "tool": true, "sighting": true, "vulnerability": true,
}

// maxStepsDefault bounds the binding search so that a hostile pattern cannot pin
// a CPU; reaching it is an evaluation error.
const maxStepsDefault = 20_000_000

// maxBinding bounds how many observation instances one binding may hold
// (the search's recursion depth grows with it).
const maxBinding = 100_000

type compileOnce struct {
	once sync.Once
	prog *program
	err  error
}

// program is a pattern prepared for evaluation.
type program struct {
	atoms []*atomDef
	root  node
}

type atomDef struct {
	comp ccomp
}

// ccomp is a compiled comparison expression.
type ccomp interface{}

type cand struct{ l, r ccomp }
type cor struct{ l, r ccomp }

type cleaf struct {
	c *Comparison
	// pred tests one selected value (before NOT). For order comparisons of
	// incomparable types it returns (false, false): false even under NOT.
	pred func(v any) (res bool, invertible bool, err error)
}

func (p *Pattern) program() (*program, error) {
	p.compiled.once.Do(func() {
		c := &compiler{atomIDs: map[string]int{}}
		root, err := c.obs(p.Root)
		if err != nil {
			p.compiled.err = err
			return
		}
		p.compiled.prog = &program{atoms: c.atoms, root: root}
	})
	return p.compiled.prog, p.compiled.err
}

type compiler struct {
	atoms   []*atomDef
	atomIDs map[string]int
}

// node is the binding-search form of an observation expression.
type node interface{}

type nAtom struct{ id int }
type nAnd struct{ kids []node }
type nOr struct{ kids []node }
type nFollow struct{ l, r node }
type nWithin struct {
	kid node
	d   int64 // microseconds
}
type nRepeat struct {
	kid node
	n   int
}
type nStartStop struct {
	kid         node
	start, stop int64
}

func (c *compiler) obs(e ObservationExpr) (node, error) {
	switch e := e.(type) {
	case *Simple:
		key := e.Comparison.String()
		if id, ok := c.atomIDs[key]; ok {
			return &nAtom{id: id}, nil
		}
		cc, err := compileComp(e.Comparison)
		if err != nil {
			return nil, err
		}
		c.atoms = append(c.atoms, &atomDef{comp: cc})
		c.atomIDs[key] = len(c.atoms) - 1
		return &nAtom{id: len(c.atoms) - 1}, nil
	case *Group:
		return c.obs(e.Expr)
	case *ObservationOp:
		l, err := c.obs(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := c.obs(e.Right)
		if err != nil {
			return nil, err
		}
		switch e.Op {
		case ObsFollowedBy:
			return &nFollow{l: l, r: r}, nil
		case ObsOr:
			return &nOr{kids: append(orKids(l), orKids(r)...)}, nil
		default:
			return &nAnd{kids: append(andKids(l), andKids(r)...)}, nil
		}
	case *Qualified:
		kid, err := c.obs(e.Expr)
		if err != nil {
			return nil, err
		}
		q := e.Qualifier
		switch q.Kind {
		case QualWithin:
			sec := q.Seconds.Float
			if sec <= 0 {
				return nil, evalErrorf("WITHIN %s SECONDS: the duration must be positive", q.Seconds)
			}
			// Durations are rounded to microseconds, the precision of
			// timestamps (as the reference's timedelta does).
			d := math.RoundToEven(sec * 1e6)
			if d > math.MaxInt64/2 {
				d = math.MaxInt64 / 2
			}
			return &nWithin{kid: kid, d: int64(d)}, nil
		case QualRepeats:
			if q.Times.Int < 1 {
				return nil, evalErrorf("REPEATS %s TIMES: the count must be at least 1", q.Times)
			}
			if q.Times.Int > 1<<30 {
				return nil, evalErrorf("REPEATS %s TIMES: the count is too large", q.Times)
			}
			return &nRepeat{kid: kid, n: int(q.Times.Int)}, nil
		case QualStartStop:
			for _, l := range []Literal{q.Start, q.Stop} {
				if l.TimeErr != nil {
					return nil, evalErrorf("%v", l.TimeErr)
				}
			}
			return &nStartStop{kid: kid, start: micros(q.Start.Time), stop: micros(q.Stop.Time)}, nil
		}
	}
	return nil, evalErrorf("unknown expression %T", e)
}

func orKids(n node) []node {
	if o, ok := n.(*nOr); ok {
		return o.kids
	}
	return []node{n}
}

func andKids(n node) []node {
	if a, ok := n.(*nAnd); ok {
		return a.kids
	}
	return []node{n}
}

func compileComp(e ComparisonExpr) (ccomp, error) {
	switch e := e.(type) {
	case *ComparisonGroup:
		return compileComp(e.Expr)
	case *ComparisonOp:
		l, err := compileComp(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := compileComp(e.Right)
		if err != nil {
			return nil, err
		}
		if e.Op == CompAnd {
			return &cand{l, r}, nil
		}
		return &cor{l, r}, nil
	case *Comparison:
		return compileLeaf(e)
	}
	return nil, evalErrorf("unknown comparison %T", e)
}

func compileLeaf(c *Comparison) (*cleaf, error) {
	lit := c.Value
	if c.Op != OpIn && c.Op != OpExists && lit.Kind == LitTimestamp && lit.TimeErr != nil {
		return nil, evalErrorf("%v", lit.TimeErr)
	}
	leaf := &cleaf{c: c}
	switch c.Op {
	case OpEqual, OpNotEqual:
		leaf.pred = func(v any) (bool, bool, error) {
			r, err := equalTo(lit, v)
			return r, true, err
		}
	case OpLess, OpLessEqual, OpGreater, OpGreaterEqual:
		op := c.Op
		leaf.pred = func(v any) (bool, bool, error) {
			cmp, comparable, unorderable, err := orderCompare(lit, v)
			if err != nil || !comparable {
				return false, false, err
			}
			if unorderable {
				return false, true, nil
			}
			switch op {
			case OpLess:
				return cmp < 0, true, nil
			case OpLessEqual:
				return cmp <= 0, true, nil
			case OpGreater:
				return cmp > 0, true, nil
			}
			return cmp >= 0, true, nil
		}
	case OpIn:
		if err := checkSet(c.Set); err != nil {
			return nil, err
		}
		set := c.Set
		leaf.pred = func(v any) (bool, bool, error) {
			r, err := inSet(set, v)
			return r, true, err
		}
	case OpLike:
		like := nfc(lit.Str)
		re := likeRegex(like)
		conv := allBelow256(like)
		leaf.pred = func(v any) (bool, bool, error) {
			r, err := likeMatch(re, conv, v)
			return r, true, err
		}
	case OpMatches:
		src := nfc(lit.Str)
		re, err := compileRegex(src, false)
		if err != nil {
			return nil, evalErrorf("%v", err)
		}
		var bre *regexp.Regexp
		if allBelow256(src) {
			if bre, err = compileRegex(src, true); err != nil {
				return nil, evalErrorf("%v", err)
			}
		}
		leaf.pred = func(v any) (bool, bool, error) {
			switch x := v.(type) {
			case string:
				return re.MatchString(nfc(x)), true, nil
			case []byte:
				if bre == nil {
					return false, true, nil
				}
				return bre.MatchString(latin1String(x)), true, nil
			}
			return false, true, nil
		}
	case OpIsSubset, OpIsSuperset:
		op := c.Op
		leaf.pred = func(v any) (bool, bool, error) {
			s, ok := v.(string)
			if !ok {
				return false, true, nil
			}
			var r bool
			var err error
			if op == OpIsSubset {
				r, err = ipInSubnet(s, lit.Str)
			} else {
				r, err = ipInSubnet(lit.Str, s)
			}
			return r, true, err
		}
	case OpExists:
		// handled by the caller: it depends on whether values exist.
	default:
		return nil, evalErrorf("unsupported operator %s", c.Op)
	}
	return leaf, nil
}

// obsData is an observation prepared for evaluation.
type obsData struct {
	o           *Observation
	first, last int64
	keys        []string // Objects keys, sorted
}

type evaluator struct {
	obs []obsData
}

// selectValues follows path from root, the reference's way: missing
// properties and out-of-range indexes drop the value; _hex and _bin
// properties are decoded to bytes; _ref and _refs are dereferenced within
// the same observation.
func (ev *evaluator) selectValues(o *obsData, root map[string]any, path ObjectPath) ([]any, error) {
	vals := []any{root}
	for _, st := range path.Steps {
		var next []any
		switch st.Kind {
		case StepKey:
			for _, v := range vals {
				m, ok := v.(map[string]any)
				if !ok {
					continue
				}
				x, ok := m[st.Key]
				if !ok {
					continue
				}
				x, err := decodeSuffix(st.Key, x)
				if err != nil {
					return nil, err
				}
				next = append(next, x)
			}
			switch {
			case strings.HasSuffix(st.Key, "_ref"):
				var deref []any
				for _, v := range next {
					id, ok := v.(string)
					if !ok {
						return nil, evalErrorf("the value of reference property %q is not a string", st.Key)
					}
					if obj, ok := o.o.Objects[id]; ok {
						deref = append(deref, obj)
					}
				}
				next = deref
			case strings.HasSuffix(st.Key, "_refs"):
				var deref []any
				for _, v := range next {
					list, ok := v.([]any)
					if !ok {
						return nil, evalErrorf("the value of reference list property %q is not a list", st.Key)
					}
					var objs []any
					for _, e := range list {
						id, ok := e.(string)
						if !ok {
							return nil, evalErrorf("a value of reference list property %q is not a string", st.Key)
						}
						if obj, ok := o.o.Objects[id]; ok {
							objs = append(objs, obj)
						}
					}
					if len(objs) > 0 {
						deref = append(deref, objs)
					}
				}
				next = deref
			}
		case StepIndex:
			for _, v := range vals {
				if l, ok := v.([]any); ok && st.Index >= 0 && st.Index < len(l) {
					next = append(next, l[st.Index])
				}
			}
		case StepStar:
			for _, v := range vals {
				if l, ok := v.([]any); ok {
					next = append(next, l...)
				}
			}
		}
		vals = next
		if len(vals) == 0 {
			return nil, nil
		}
	}
	return vals, nil
}

// decodeSuffix decodes properties whose names say they are binary.
func decodeSuffix(key string, v any) (any, error) {
	switch {
	case strings.HasSuffix(key, "_hex"):
		s, ok := v.(string)
		if !ok {
			return nil, evalErrorf("property %q is not a hex string", key)
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, evalErrorf("property %q is not valid hex: %v", key, err)
		}
		return b, nil
	case strings.HasSuffix(key, "_bin"):
		s, ok := v.(string)
		if !ok {
			return nil, evalErrorf("property %q is not a base64 string", key)
		}
		b, err := lenientBase64(s)
		if err != nil {
			return nil, evalErrorf("property %q is not valid base64: %v", key, err)
		}
		return b, nil
	}
	return v, nil
}

// lenientBase64 decodes like Python's base64.standard_b64decode: bytes
// outside the alphabet are skipped, decoding stops at complete padding.
func lenientBase64(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return nil, evalErrorf("non-ASCII character in base64")
		}
	}
	var clean []byte
	quad, pads := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					break
				}
			}
			continue
		}
		if !isB64(c) {
			continue
		}
		pads = 0
		clean = append(clean, c)
		quad = (quad + 1) % 4
	}
	switch quad {
	case 1:
		return nil, evalErrorf("base64 data has 1 character more than a multiple of 4")
	case 2, 3:
		if quad+pads < 4 {
			return nil, evalErrorf("incorrect base64 padding")
		}
	}
	return base64.RawStdEncoding.DecodeString(string(clean))
}

// rootSet is the set of root object keys that satisfied an expression in
// one observation.
type rootSet map[string]bool

func (ev *evaluator) evalComp(e ccomp, o *obsData) (rootSet, error) {
	switch e := e.(type) {
	case *cand:
		l, err := ev.evalComp(e.l, o)
		if err != nil {
			return nil, err
		}
		r, err := ev.evalComp(e.r, o)
		if err != nil {
			return nil, err
		}
		out := rootSet{}
		for k := range l {
			if r[k] {
				out[k] = true
			}
		}
		return out, nil
	case *cor:
		l, err := ev.evalComp(e.l, o)
		if err != nil {
			return nil, err
		}
		r, err := ev.evalComp(e.r, o)
		if err != nil {
			return nil, err
		}
		for k := range r {
			l[k] = true
		}
		return l, nil
	case *cleaf:
		out := rootSet{}
		typ := e.c.Path.ObjectType
		if sdoTypes[typ] {
			return out, nil
		}
		for _, key := range o.keys {
			obj := o.o.Objects[key]
			if t, _ := obj["type"].(string); t != typ {
				continue
			}
			vals, err := ev.selectValues(o, obj, e.c.Path)
			if err != nil {
				return nil, err
			}
			if e.c.Op == OpExists {
				if (len(vals) > 0) != e.c.Negated {
					out[key] = true
				}
				continue
			}
			// A root object passes when one of its selected values
			// passes; like the reference, values after the first that
			// passes are not looked at (so cannot raise errors).
			for _, v := range vals {
				r, inv, err := e.pred(v)
				if err != nil {
					return nil, err
				}
				// != is "not =", and NOT inverts the result, except
				// where the reference returns a flat false (order
				// comparisons of types it cannot order).
				if inv && e.c.Op == OpNotEqual {
					r = !r
				}
				if inv && e.c.Negated {
					r = !r
				}
				if r {
					out[key] = true
					break
				}
			}
		}
		return out, nil
	}
	return nil, evalErrorf("unknown comparison node %T", e)
}

// Match evaluates the pattern over observations. The error wraps
// [ErrEval] when the pattern cannot be evaluated on this input; the
// pattern is never modified.
func (p *Pattern) Match(observations []Observation) (Result, error) {
	return p.MatchLimit(observations, maxStepsDefault)
}

// MatchLimit is [Pattern.Match] with the binding search bounded to at
// most maxSteps steps (Match's own bound, 20,000,000, where maxSteps is
// not positive or larger), each comparison evaluated on each observation
// counting as one step too: an evaluation that needs more returns an
// error wrapping [ErrEval] and [ErrTooComplex]. A caller that evaluates
// patterns from others on every event uses it to bound what one pattern
// costs.
func (p *Pattern) MatchLimit(observations []Observation, maxSteps int) (Result, error) {
	if maxSteps <= 0 || maxSteps > maxStepsDefault {
		maxSteps = maxStepsDefault
	}
	prog, err := p.program()
	if err != nil {
		return Result{}, err
	}
	ev := &evaluator{obs: make([]obsData, len(observations))}
	for i := range observations {
		o := &observations[i]
		if o.Count < 1 {
			return Result{}, evalErrorf("observed-data %s has number_observed %d; it must be at least 1", o.ID, o.Count)
		}
		keys := make([]string, 0, len(o.Objects))
		for k := range o.Objects {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ev.obs[i] = obsData{o: o, first: micros(o.First), last: micros(o.Last), keys: keys}
	}
	// Each comparison on each observation counts as a step, so that
	// a pattern of many comparisons over many observations is bounded
	// too.
	compSteps := len(prog.atoms) * len(observations)
	if compSteps > maxSteps {
		return Result{}, fmt.Errorf("%w: %w: the pattern's %d comparisons on %d observations are more than %d steps", ErrEval, ErrTooComplex, len(prog.atoms), len(observations), maxSteps)
	}
	// Evaluate every comparison on every observation first, as the
	// reference does: an evaluation error anywhere is an error even when
	// the pattern could match without that comparison.
	cands := make([][]int, len(prog.atoms))
	for a, def := range prog.atoms {
		for i := range ev.obs {
			roots, err := ev.evalComp(def.comp, &ev.obs[i])
			if err != nil {
				return Result{}, err
			}
			if len(roots) > 0 {
				cands[a] = append(cands[a], i)
			}
		}
	}
	s := newSearch(ev.obs, cands, prog.root)
	s.limit = maxSteps - compSteps
	bound, ok, err := s.run()
	if err != nil || !ok {
		return Result{}, err
	}
	res := Result{Matched: true}
	seen := map[int]bool{}
	for _, b := range bound {
		if !seen[b] {
			seen[b] = true
			res.Bound = append(res.Bound, b)
		}
	}
	sort.Ints(res.Bound)
	for _, b := range res.Bound {
		res.ObservedData = append(res.ObservedData, observations[b].ID)
	}
	sort.Strings(res.ObservedData)
	return res, nil
}

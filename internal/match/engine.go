package match

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/parley-exchange/parley/pattern"
)

// Options tune an [Engine]. The zero value gives the defaults.
type Options struct {
	// Window is how far back in event time observations are kept for
	// patterns that need several (AND, OR, FOLLOWEDBY, REPEATS, WITHIN,
	// START/STOP). Default 10 minutes; a WITHIN qualifier at the root
	// widens it for its pattern.
	Window time.Duration
	// MaxWindow bounds the observations kept per indicator; the oldest go
	// first. Default 256.
	MaxWindow int
}

// ErrBlockByEquality is wrapped by the [CompileError] of an indicator
// that is compiled but compares an address with a CIDR block by "="
// (see [Compile]).
var ErrBlockByEquality = errors.New(`compares an address with a CIDR block by "=", which no single address matches (ISSUBSET matches every address in the block)`)

func blockByEquality(block string) error {
	return fmt.Errorf("%w: %s", ErrBlockByEquality, block)
}

// isBlock reports whether an address literal is a CIDR block.
func isBlock(lit string) bool {
	_, err := netip.ParsePrefix(lit)
	return err == nil
}

// ErrNoHostName is wrapped by the [CompileError] of an indicator that is
// compiled but compares domain-name:value by "=" with a name that no
// decoder yields as a domain-name (see hostName): an IP address
// ('192.0.2.1'), a wildcard ('*.example.com'), a name whose last label is
// all digits ('bortzmeyer.42', which a DNS query may carry: RFC 3696
// section 2, no top-level domain is) or one with other punctuation. No
// Zeek, EVE, ECS or STIX observed-data event matches it.
var ErrNoHostName = errors.New("compares domain-name:value with a name that no event gives as a domain-name (an IP address, a wildcard, a last label of digits only, or other punctuation): nothing matches it")

// ErrHashName is wrapped by the [CompileError] of an indicator that is
// compiled but names a hash by a near miss of a name in STIX 2.1's
// hash-algorithm-ov (file:hashes.SHA256 or hashes.md5 for
// file:hashes.'SHA-256' or hashes.MD5): keys are compared exactly, and no
// Zeek, EVE or ECS event carries such a key, so the comparison matches
// only STIX observed-data written with the same key. Other keys (custom
// ones such as PDQ or x_…) are not reported.
var ErrHashName = errors.New("names a hash by a key that is not STIX's name of the algorithm (hash-algorithm-ov; keys are compared exactly): no Zeek, EVE or ECS event matches it, only STIX observed-data that uses the same key")

// hashAlgorithms is STIX 2.1's hash-algorithm-ov.
var hashAlgorithms = []string{"MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH"}

// badHashName finds a comparison of a hashes dictionary entry whose key
// differs from a hash-algorithm-ov name only in case and hyphens; it
// returns the property path and that name.
func badHashName(p *pattern.Pattern) (path, want string, found bool) {
	squash := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "")) }
	walkObservations(p.Root, func(o *pattern.Simple) {
		walkComparisons(o.Comparison, func(c *pattern.Comparison) {
			steps := c.Path.Steps
			for i := 0; i+1 < len(steps) && !found; i++ {
				k := steps[i+1]
				if steps[i].Kind != pattern.StepKey || steps[i].Key != "hashes" || k.Kind != pattern.StepKey {
					continue
				}
				for _, a := range hashAlgorithms {
					if k.Key != a && squash(k.Key) == squash(a) {
						path, want, found = c.Path.String(), a, true
					}
				}
			}
		})
	})
	return path, want, found
}

// comparesBlockByEquality finds an "=" comparison of a property named
// value (an address's, or one a reference reaches such as
// network-traffic:dst_ref.value) with a CIDR block; it returns the block.
func comparesBlockByEquality(p *pattern.Pattern) (block string, found bool) {
	walkObservations(p.Root, func(o *pattern.Simple) {
		walkComparisons(o.Comparison, func(c *pattern.Comparison) {
			steps := c.Path.Steps
			if found || c.Op != pattern.OpEqual || c.Negated || len(steps) == 0 {
				return
			}
			last := steps[len(steps)-1]
			if last.Kind == pattern.StepKey && last.Key == "value" && c.Value.Kind == pattern.LitString && isBlock(c.Value.Str) {
				block, found = c.Value.Str, true
			}
		})
	})
	return block, found
}

// CompileError reports an indicator that could not be compiled, or (with
// [ErrBlockByEquality]) one compiled that cannot match as meant.
type CompileError struct {
	ID  string
	Err error
}

// Error names the indicator and says why it was skipped.
func (e *CompileError) Error() string { return fmt.Sprintf("indicator %s: %v", e.ID, e.Err) }

// Unwrap returns the parser's error (a *pattern.SyntaxError, or a pdq
// hash error for image indicators).
func (e *CompileError) Unwrap() error { return e.Err }

// compound is what an indicator needs beyond the index: the pattern for
// evaluation over a window (nil when it has one observation and no
// qualifier), its window horizon, and its window.
type compound struct {
	pat      *pattern.Pattern
	horizon  time.Duration
	winStamp uint32
	window   []observation
	// tooComplex: an evaluation over the window needed more than
	// compoundSteps; the indicator is no longer evaluated.
	tooComplex bool
	// obsExprs counts the pattern's distinct bracketed observation
	// expressions (as the evaluator counts them: one written twice is
	// compared once): each is compared with each event in the window.
	obsExprs int
}

// compoundSteps bounds the search steps of one evaluation of a compound
// indicator over its window (the pattern evaluator's own bound is
// 20,000,000, about a second): an indicator from a feed is evaluated on
// every event that satisfies one of its leaves, so a pattern built to make
// the search explode ((A FOLLOWEDBY A ...) REPEATS n TIMES, every leaf
// matching every event) would otherwise cost every event that second. An
// indicator that needs more is no longer evaluated and is listed in
// [Engine.TooComplex].
const compoundSteps = 100_000

// compoundComparisons bounds, apart from compoundSteps, the comparisons
// of one evaluation (each observation expression of the pattern on each
// event in the window): they grow only with the pattern's size and the
// window, so a legitimate large indicator (500 ORed domains FOLLOWEDBY an
// address, on a full window of 256 events: 128,000) is evaluated, while
// one of more than about 1,000 distinct expressions is still too complex
// on a full window.
const compoundComparisons = 250_000

// leaf is a bracketed observation expression that the index alone cannot
// decide: a hit on one of its atoms makes it a candidate, checked by the
// evaluator.
type leaf struct {
	ind   uint32
	check *pattern.Pattern // the leaf alone, to check one event
}

// exactBit marks a posting that names an indicator (decided by the index
// alone) rather than a leaf.
const exactBit = 1 << 31

// Engine is a compiled set of STIX-pattern indicators (docs/design.md,
// "Detect"). Equality comparisons are hash lookups keyed by (attribute,
// normalised value); ISSUBSET ranges a per-prefix-length table; LIKE and
// MATCHES literals one grouped substring pass; other comparisons are found
// through the presence of their attribute or object type. A candidate leaf
// is then checked exactly by the pattern evaluator, and patterns with more
// than one observation or with qualifiers are evaluated over a bounded,
// expiring window of the recent events that satisfied one of their leaves.
//
// Memory: an indicator that is one equality costs its 8-byte pointer, a
// 4-byte stamp and its index entry (its normalised value plus about 24
// bytes); only the others keep a syntax tree.
//
// An Engine keeps windows, so it is not safe for concurrent use; the
// compiled index itself is never modified after [Compile].
type Engine struct {
	inds     []*Indicator
	compound map[uint32]*compound
	leaves   []leaf
	eq       *eqIndex
	pfx      *prefixIndex
	sub      [numAttrs]*substrIndex
	attrAny  [numAttrs][]uint32
	typeAny  map[string][]uint32
	opts     Options

	// per-event state
	epoch      uint32
	leafStamp  []uint32
	firedStamp []uint32
	cands      []uint32
	obs        *observation
	// Errors counts evaluation errors (a leaf or pattern the evaluator
	// could not decide, such as an unsupported regex); they count as no
	// match.
	Errors int
	// TooComplex lists the compound indicators that one evaluation over
	// their window took more than compoundSteps search steps; they are
	// no longer evaluated (they match nothing from then on), and each
	// counts once in Errors.
	TooComplex []*Indicator
}

// observation is one event as the pattern evaluator sees it.
type observation struct {
	time     time.Time
	observed map[string]any
	scos     []map[string]any
	po       pattern.Observation
}

// Compile builds an engine from the indicators whose pattern_type is
// "stix" (or empty); others are ignored. Indicators whose pattern does
// not parse are skipped and reported. An indicator that compares an
// address's value with a CIDR block by "=" ([ErrBlockByEquality], as
// MISP's STIX converter writes address attributes holding a block) is
// compiled as the pattern says and reported too: by the patterning
// spec it is a string comparison, and no event's single address matches.
func Compile(inds []*Indicator, opts Options) (*Engine, []*CompileError) {
	if opts.Window <= 0 {
		opts.Window = 10 * time.Minute
	}
	if opts.MaxWindow <= 0 {
		opts.MaxWindow = 256
	}
	e := &Engine{eq: newEqIndex(), pfx: newPrefixIndex(), typeAny: map[string][]uint32{}, opts: opts, compound: map[uint32]*compound{}}
	keyBytes := 0
	for _, ind := range inds {
		keyBytes += len(ind.Pattern)
	}
	e.eq.reserve(len(inds), keyBytes)
	e.inds = make([]*Indicator, 0, len(inds))
	var errs []*CompileError
	for _, ind := range inds {
		if ind.PatternType != "" && ind.PatternType != "stix" {
			continue
		}
		if a, lit, ok := simpleEquality(ind.Pattern); ok {
			if (a == AttrIPv4 || a == AttrIPv6) && isBlock(lit) {
				errs = append(errs, &CompileError{ind.ID, blockByEquality(lit)})
			}
			if a == AttrDomain {
				if n, ok := normalizeValue(a, lit); ok && !hostName(n) {
					errs = append(errs, &CompileError{ind.ID, fmt.Errorf("%w: '%s'", ErrNoHostName, n)})
				}
			}
			e.addSimple(ind, a, lit)
			continue
		}
		p, err := pattern.Parse(ind.Pattern)
		if err != nil {
			errs = append(errs, &CompileError{ind.ID, err})
			continue
		}
		if lit, ok := comparesBlockByEquality(p); ok {
			errs = append(errs, &CompileError{ind.ID, blockByEquality(lit)})
		}
		if path, want, ok := badHashName(p); ok {
			errs = append(errs, &CompileError{ind.ID, fmt.Errorf("%w: %s (the vocabulary's name is '%s')", ErrHashName, path, want)})
		}
		e.add(ind, p)
	}
	e.eq.compact()
	e.eq.buildFilter()
	if cap(e.inds) > len(e.inds)+len(e.inds)/16 {
		e.inds = append([]*Indicator(nil), e.inds...)
	}
	e.leafStamp = make([]uint32, len(e.leaves))
	e.firedStamp = make([]uint32, len(e.inds))
	return e, errs
}

// addSimple adds a one-equality indicator recognised by simpleEquality.
func (e *Engine) addSimple(ind *Indicator, a Attr, lit string) {
	n := uint32(len(e.inds))
	e.inds = append(e.inds, ind)
	if a == AttrIPv6 {
		if v4, ok := mappedIPv4(lit); ok && !strings.Contains(v4, "/") {
			a, lit = AttrIPv4, v4 // see unmapPrefix
		}
	}
	if v, ok := normalizeValue(a, lit); ok {
		e.eq.add(a, []byte(v), n|exactBit)
	}
}

func (e *Engine) add(ind *Indicator, p *pattern.Pattern) {
	normalizePattern(p.Root)
	n := uint32(len(e.inds))
	e.inds = append(e.inds, ind)
	root := p.Root
	for {
		g, ok := root.(*pattern.Group)
		if !ok {
			break
		}
		root = g.Expr
	}
	_, simple := root.(*pattern.Simple)
	var c *compound
	if !simple {
		c = &compound{pat: p, horizon: e.opts.Window}
		if q, ok := root.(*pattern.Qualified); ok && q.Qualifier.Kind == pattern.QualWithin {
			secs := q.Qualifier.Seconds.Float
			if q.Qualifier.Seconds.Kind == pattern.LitInt {
				secs = float64(q.Qualifier.Seconds.Int)
			}
			if d := time.Duration(secs * float64(time.Second)); d > c.horizon {
				c.horizon = d
			}
		}
		e.compound[n] = c
	}
	seenExprs := map[string]bool{}
	walkObservations(p.Root, func(o *pattern.Simple) {
		if c != nil && !seenExprs[o.Comparison.String()] {
			seenExprs[o.Comparison.String()] = true
			c.obsExprs++
		}
		atoms, exact := leafAtoms(o.Comparison)
		var post uint32
		if exact && simple {
			post = n | exactBit
		} else {
			post = uint32(len(e.leaves))
			e.leaves = append(e.leaves, leaf{ind: n, check: &pattern.Pattern{Root: &pattern.Simple{Comparison: o.Comparison}}})
		}
		for _, a := range atoms {
			switch a.kind {
			case atomEq:
				e.eq.add(a.attr, []byte(a.value), post)
			case atomPrefix:
				if (a.attr == AttrIPv4) == a.prefix.Addr().Is4() {
					e.pfx.add(a.prefix, post)
				}
			case atomSubstr:
				if e.sub[a.attr] == nil {
					e.sub[a.attr] = newSubstrIndex()
				}
				e.sub[a.attr].add(a.value, post)
			case atomAttrAny:
				e.attrAny[a.attr] = append(e.attrAny[a.attr], post)
			case atomTypeAny:
				e.typeAny[a.typ] = append(e.typeAny[a.typ], post)
			}
		}
	})
}

// carryWindows moves the windows of compound indicators that old and e
// share (same id and pattern) into e, so that recompiling after an
// indicator change does not forget partial matches of the others; an
// indicator found too complex stays so (and listed in e.TooComplex).
func (e *Engine) carryWindows(old *Engine) {
	if old == nil || len(old.compound) == 0 || len(e.compound) == 0 {
		return
	}
	byID := make(map[string]*compound, len(old.compound))
	for n, c := range old.compound {
		if len(c.window) > 0 || c.tooComplex {
			byID[old.inds[n].ID+"\x00"+old.inds[n].Pattern] = c
		}
	}
	for n, c := range e.compound {
		if oc, ok := byID[e.inds[n].ID+"\x00"+e.inds[n].Pattern]; ok {
			c.window = oc.window
			if oc.tooComplex && !c.tooComplex {
				c.tooComplex = true
				e.TooComplex = append(e.TooComplex, e.inds[n])
			}
		}
	}
}

// decodeMask returns the attributes the engine never looks at, for the
// decoder to skip, or nil when it needs everything (a leaf the evaluator
// checks sees whole events).
func (e *Engine) decodeMask() *[numAttrs]bool {
	if len(e.leaves) > 0 || len(e.typeAny) > 0 {
		return nil
	}
	var m [numAttrs]bool
	for a := Attr(1); a < numAttrs; a++ {
		used := e.eq.has[a] || e.sub[a] != nil || len(e.attrAny[a]) > 0 ||
			a == AttrIPv4 && len(e.pfx.len4) > 0 || a == AttrIPv6 && len(e.pfx.len6) > 0
		m[a] = !used
	}
	return &m
}

// Len returns the number of compiled indicators.
func (e *Engine) Len() int { return len(e.inds) }

// IndexBytes is the memory held by the compiled index: the hash table and
// the per-indicator arrays (not the parsed patterns of compound ones).
func (e *Engine) IndexBytes() int {
	return e.eq.bytes() + 8*cap(e.inds) + 4*cap(e.firedStamp) + 28*len(e.leaves)
}

// Match runs one event through the engine and calls fire once for every
// indicator that matched because of it.
func (e *Engine) Match(ev *Event, fire func(ind *Indicator)) {
	e.epoch++
	if e.epoch == 0 { // wrapped: clear the stamps
		clear(e.leafStamp)
		clear(e.firedStamp)
		for _, c := range e.compound {
			c.winStamp = 0
		}
		e.epoch = 1
	}
	e.cands = e.cands[:0]
	e.obs = nil
	hit := func(l uint32) { e.hitLeaf(l, fire) }
	for i := range ev.Fields {
		f := &ev.Fields[i]
		a := f.Attr
		switch attrInfos[a].kind {
		case vkRef, vkRefs:
			continue
		}
		if f.hashed && e.eq.seed == indexSeed {
			e.eq.lookupHashed(a, f.Value, f.hash, hit)
		} else {
			e.eq.lookup(a, f.Value, hit)
		}
		if (a == AttrIPv4 && len(e.pfx.len4) > 0) || (a == AttrIPv6 && len(e.pfx.len6) > 0) {
			if addr, err := netip.ParseAddr(bstr(f.Value)); err == nil {
				e.pfx.lookup(addr, hit)
			}
		}
		if s := e.sub[a]; s != nil {
			s.lookup(f.Value, hit)
		}
		for _, l := range e.attrAny[a] {
			hit(l)
		}
	}
	if len(e.typeAny) > 0 {
		for i := range ev.Objects {
			for _, l := range e.typeAny[ev.Objects[i].Type] {
				hit(l)
			}
		}
	}
	for _, l := range e.cands {
		e.checkLeaf(ev, l, fire)
	}
}

func (e *Engine) hitLeaf(p uint32, fire func(*Indicator)) {
	if p&exactBit != 0 {
		n := p &^ exactBit
		if e.firedStamp[n] != e.epoch {
			e.firedStamp[n] = e.epoch
			fire(e.inds[n])
		}
		return
	}
	if e.leafStamp[p] == e.epoch {
		return
	}
	e.leafStamp[p] = e.epoch
	if e.firedStamp[e.leaves[p].ind] == e.epoch {
		return
	}
	e.cands = append(e.cands, p)
}

// checkLeaf checks a candidate leaf exactly, then fires a simple
// indicator or evaluates a compound one over its window.
func (e *Engine) checkLeaf(ev *Event, l uint32, fire func(*Indicator)) {
	lf := &e.leaves[l]
	if e.firedStamp[lf.ind] == e.epoch {
		return
	}
	if e.obs == nil {
		o := newObservation(ev)
		e.obs = &o
	}
	ok, err := evaluate(lf.check, []observation{*e.obs})
	if err != nil {
		e.Errors++
		return
	}
	if !ok {
		return
	}
	c := e.compound[lf.ind]
	if c == nil {
		e.firedStamp[lf.ind] = e.epoch
		fire(e.inds[lf.ind])
		return
	}
	if c.winStamp == e.epoch || c.tooComplex {
		return // this event is in the window already, or it is too costly
	}
	c.winStamp = e.epoch
	w := c.window
	// Expire by event time, then bound the length.
	cut := 0
	now := ev.Time()
	for cut < len(w) && !now.IsZero() && w[cut].time.Before(now.Add(-c.horizon)) {
		cut++
	}
	w = append(w[cut:], *e.obs)
	if len(w) > e.opts.MaxWindow {
		w = w[len(w)-e.opts.MaxWindow:]
	}
	c.window = w
	ok, err = evaluateLimit(c.pat, w, compoundSteps+min(c.obsExprs*len(w), compoundComparisons))
	if err != nil {
		e.Errors++
		if errors.Is(err, pattern.ErrTooComplex) {
			c.tooComplex, c.window = true, nil
			e.TooComplex = append(e.TooComplex, e.inds[lf.ind])
		}
		return
	}
	if ok {
		// The match consumes the window: each count is a new complete
		// match, not the same one seen again.
		c.window = nil
		e.firedStamp[lf.ind] = e.epoch
		fire(e.inds[lf.ind])
	}
}

func newObservation(ev *Event) observation {
	od, scos := ev.Observation()
	o := observation{time: ev.Time(), observed: od, scos: scos}
	toPattern(od, scos, &o)
	return o
}

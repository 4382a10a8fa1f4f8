package match

import (
	"net/netip"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/private"
)

// An atom is a necessary condition of a leaf (a bracketed observation
// expression): if the leaf holds for an event, at least one of its atoms
// fires on that event. Atoms are what the index looks up; the leaf itself
// is then checked exactly, unless the atom is exact (the leaf is nothing
// but that test).
type atomKind uint8

const (
	atomEq      atomKind = iota // attribute equals value
	atomPrefix                  // address attribute inside a CIDR range
	atomSubstr                  // string attribute contains a literal
	atomAttrAny                 // the event has the attribute at all
	atomTypeAny                 // the event has an object of the type
)

type atom struct {
	kind   atomKind
	attr   Attr
	value  string
	prefix netip.Prefix
	typ    string
}

// pathAttrs maps a pattern object path to the attributes that can supply
// its value. exact is set when the path is the attribute itself (not
// reached through a reference), so equality on the attribute is equality
// on the path.
func pathAttrs(p pattern.ObjectPath) (attrs []Attr, exact bool) {
	steps := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		switch s.Kind {
		case pattern.StepKey:
			steps[i] = s.Key
		default:
			steps[i] = "*"
		}
	}
	for a := Attr(1); a < numAttrs; a++ {
		in := attrInfos[a]
		if in.typ != p.ObjectType || len(in.path) != len(steps) {
			continue
		}
		same := true
		for i := range steps {
			if steps[i] != in.path[i] {
				same = false
			}
		}
		if same {
			ok := in.kind != vkRef && in.kind != vkRefs
			// A list index other than [*] selects one element: not exact.
			for _, s := range p.Steps {
				if s.Kind == pattern.StepIndex {
					ok = false
				}
			}
			if !ok {
				return nil, false
			}
			return []Attr{a}, true
		}
	}
	// Paths through a reference to an address or mailbox.
	if len(steps) >= 2 && steps[len(steps)-1] == "value" {
		ref := steps[0]
		switch {
		case p.ObjectType == "network-traffic" && (ref == "src_ref" || ref == "dst_ref") && len(steps) == 2:
			return []Attr{AttrIPv4, AttrIPv6}, false
		case p.ObjectType == "email-message" && (ref == "from_ref" || ref == "sender_ref") && len(steps) == 2,
			p.ObjectType == "email-message" && (ref == "to_refs" || ref == "cc_refs" || ref == "bcc_refs") && len(steps) == 3:
			return []Attr{AttrEmail}, false
		case p.ObjectType == "domain-name" && ref == "resolves_to_refs" && len(steps) == 3:
			return []Attr{AttrIPv4, AttrIPv6, AttrDomain}, false
		}
	}
	return nil, false
}

// normalizeLiteral returns a string or integer literal in the form the
// decoders give attribute a's values, and false if no value of a can
// equal it.
func normalizeLiteral(a Attr, l pattern.Literal) (string, bool) {
	switch attrInfos[a].kind {
	case vkNumber:
		if l.Kind == pattern.LitInt && l.Int >= 0 {
			return strconv.FormatInt(l.Int, 10), true
		}
		if l.Kind == pattern.LitFloat && l.Float >= 0 && l.Float == float64(int64(l.Float)) {
			return strconv.FormatInt(int64(l.Float), 10), true
		}
		return "", false
	}
	if l.Kind != pattern.LitString {
		return "", false
	}
	return normalizeValue(a, l.Str)
}

// normalizeValue normalises a string value of attribute a like the
// decoders (and private sets) do.
func normalizeValue(a Attr, s string) (string, bool) {
	var typ string
	switch a {
	case AttrIPv4, AttrIPv6:
		return normalizeAddr(a, s)
	case AttrDomain:
		typ = private.TypeDomainName
	case AttrURL:
		typ = private.TypeURL
	case AttrEmail:
		typ = private.TypeEmail
	case AttrMAC:
		typ = private.TypeMAC
	case AttrFileMD5, AttrFileSHA1, AttrFileSHA256, AttrX509MD5, AttrX509SHA1, AttrX509SHA256:
		var e Event
		n, ok := e.normHex([]byte(s), hexLen(a))
		return string(n), ok
	case AttrProtocol:
		return strings.ToLower(s), true
	case AttrX509Serial:
		return string(appendSerial(nil, []byte(s))), true
	default:
		return s, true
	}
	if a == AttrDomain && plainDomain([]byte(s)) {
		return s, true // already normal; Normalize's IDNA pass is slow
	}
	n, err := private.Normalize(typ, s)
	if err != nil || strings.Contains(n, "/") && (a == AttrIPv4 || a == AttrIPv6) {
		return "", false
	}
	return n, true
}

// normalizePattern rewrites, in place, the string literals that are
// compared for (in)equality with a known attribute into normal form, so
// that the pattern evaluator, run on normalised events, agrees with the
// index: [domain-name:value = 'EVIL.Example.'] must match evil.example.
func normalizePattern(e pattern.ObservationExpr) {
	walkObservations(e, func(o *pattern.Simple) {
		walkComparisons(o.Comparison, func(c *pattern.Comparison) {
			unmapComparison(c)
			attrs, _ := pathAttrs(c.Path)
			if len(attrs) == 0 {
				return
			}
			fix := func(l *pattern.Literal) {
				if l.Kind != pattern.LitString {
					return
				}
				for _, a := range attrs {
					if n, ok := normalizeValue(a, l.Str); ok {
						if n != l.Str {
							l.Str = n
							l.Text = ""
						}
						return
					}
				}
			}
			switch c.Op {
			case pattern.OpEqual, pattern.OpNotEqual:
				fix(&c.Value)
			case pattern.OpIn:
				for i := range c.Set {
					fix(&c.Set[i])
				}
			}
		})
	})
}

// unmapComparison rewrites ipv6-addr:value compared with an IPv4-mapped
// address or subnet (=, !=, IN with only mapped literals, ISSUBSET) into
// the comparison on ipv4-addr:value that it means (see [unmapPrefix]).
func unmapComparison(c *pattern.Comparison) {
	if c.Path.ObjectType != "ipv6-addr" || len(c.Path.Steps) != 1 || c.Path.Steps[0].Kind != pattern.StepKey || c.Path.Steps[0].Key != "value" {
		return
	}
	lits := []*pattern.Literal{&c.Value}
	switch c.Op {
	case pattern.OpEqual, pattern.OpNotEqual, pattern.OpIsSubset:
	case pattern.OpIn:
		lits = lits[:0]
		for i := range c.Set {
			lits = append(lits, &c.Set[i])
		}
	default:
		return
	}
	v4 := make([]string, len(lits))
	for i, l := range lits {
		s, ok := mappedIPv4(l.Str)
		if l.Kind != pattern.LitString || !ok || (c.Op != pattern.OpIsSubset && strings.Contains(s, "/")) {
			return
		}
		v4[i] = s
	}
	if len(lits) == 0 {
		return
	}
	for i, l := range lits {
		l.Str, l.Text = v4[i], ""
	}
	c.Path.ObjectType = "ipv4-addr"
}

func walkObservations(e pattern.ObservationExpr, fn func(*pattern.Simple)) {
	switch x := e.(type) {
	case *pattern.Simple:
		fn(x)
	case *pattern.ObservationOp:
		walkObservations(x.Left, fn)
		walkObservations(x.Right, fn)
	case *pattern.Group:
		walkObservations(x.Expr, fn)
	case *pattern.Qualified:
		walkObservations(x.Expr, fn)
	}
}

func walkComparisons(e pattern.ComparisonExpr, fn func(*pattern.Comparison)) {
	switch x := e.(type) {
	case *pattern.Comparison:
		fn(x)
	case *pattern.ComparisonOp:
		walkComparisons(x.Left, fn)
		walkComparisons(x.Right, fn)
	case *pattern.ComparisonGroup:
		walkComparisons(x.Expr, fn)
	}
}

// leafAtoms computes the atoms of a comparison expression. exact reports
// that the atoms are also sufficient: the expression is one equality (or
// IN, or an OR of them) on exact attributes.
func leafAtoms(e pattern.ComparisonExpr) (atoms []atom, exact bool) {
	switch x := e.(type) {
	case *pattern.ComparisonGroup:
		return leafAtoms(x.Expr)
	case *pattern.ComparisonOp:
		la, le := leafAtoms(x.Left)
		ra, re := leafAtoms(x.Right)
		if x.Op == pattern.CompOr {
			return append(la, ra...), le && re
		}
		// AND: either side's atoms are necessary; take the more selective.
		if rank(ra) < rank(la) {
			return ra, false
		}
		return la, false
	case *pattern.Comparison:
		return comparisonAtoms(x)
	}
	return nil, false
}

// rank orders atom sets by how often they fire: equality best, then
// ranges, substrings, attribute and type presence.
func rank(as []atom) int {
	r := 0
	for _, a := range as {
		if int(a.kind) > r {
			r = int(a.kind)
		}
	}
	return r*1000 + len(as)
}

func comparisonAtoms(c *pattern.Comparison) ([]atom, bool) {
	typeAny := []atom{{kind: atomTypeAny, typ: c.Path.ObjectType}}
	attrs, exact := pathAttrs(c.Path)
	if len(attrs) == 0 || (c.Negated && c.Op == pattern.OpExists) {
		return typeAny, false
	}
	any := func() []atom {
		var as []atom
		for _, a := range attrs {
			as = append(as, atom{kind: atomAttrAny, attr: a})
		}
		return as
	}
	if c.Negated {
		return any(), false
	}
	switch c.Op {
	case pattern.OpEqual, pattern.OpIn:
		lits := c.Set
		if c.Op == pattern.OpEqual {
			lits = []pattern.Literal{c.Value}
		}
		var as []atom
		for _, l := range lits {
			for _, a := range attrs {
				if v, ok := normalizeLiteral(a, l); ok {
					as = append(as, atom{kind: atomEq, attr: a, value: v})
				}
			}
		}
		// No literal can equal a normalised value: nothing ever fires,
		// which the empty atom list expresses exactly.
		return as, exact
	case pattern.OpIsSubset:
		if c.Value.Kind == pattern.LitString {
			if p, err := parsePrefixOrAddr(c.Value.Str); err == nil {
				var as []atom
				for _, a := range attrs {
					if a == AttrIPv4 || a == AttrIPv6 {
						as = append(as, atom{kind: atomPrefix, attr: a, prefix: p})
					}
				}
				// On the address itself (not through a reference) the
				// range lookup is the whole test: an address of the other
				// family is in no range, as the evaluator says too.
				return as, exact
			}
		}
		return nil, false // not an address range: never true
	case pattern.OpLike, pattern.OpMatches:
		if c.Value.Kind != pattern.LitString {
			return nil, false
		}
		var lit string
		if c.Op == pattern.OpLike {
			lit = likeLiteral(c.Value.Str)
		} else {
			lit = regexLiteral(c.Value.Str)
		}
		if len(lit) < substrKey {
			return any(), false
		}
		var as []atom
		for _, a := range attrs {
			if attrInfos[a].kind == vkString || attrInfos[a].kind == vkList {
				as = append(as, atom{kind: atomSubstr, attr: a, value: lit})
			}
		}
		return as, false
	}
	return any(), false
}

// parsePrefixOrAddr parses an ISSUBSET literal, unmapping IPv4-mapped
// IPv6 as [unmapPrefix] says.
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return unmapPrefix(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2)
// are IPv4 addresses throughout the matcher, the one rule that every
// part follows so that a log, an indicator and an export agree:
//
//   - decoders give ::ffff:10.0.0.2 in a log as the ipv4-addr 10.0.0.2
//     (normIP);
//   - an indicator's ipv6-addr:value = '::ffff:10.0.0.2' is compiled and
//     evaluated as ipv4-addr:value = '10.0.0.2' (normalizePattern,
//     Engine.addSimple), and ipv4-addr:value = '::ffff:10.0.0.2' equals
//     10.0.0.2 too;
//   - a mapped subnet of /96 or longer is the IPv4 subnet 96 bits shorter
//     (::ffff:10.0.0.0/104 is 10.0.0.0/8); a mapped subnet shorter than
//     /96 covers more than the mapped range and stays IPv6, and so never
//     contains a log address (which is IPv4 once unmapped);
//   - exports write a mapped value as the IPv4 address or subnet.
//
// The pattern evaluator (package pattern, ISSUBSET) follows the same rule.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}

// normalizeAddr returns the canonical text of an address literal for
// attribute a (IPv4 or IPv6): a mapped IPv6 address is the IPv4 address
// (see [unmapPrefix]); a literal of the other family, a zone or a
// subnet can equal no value of a.
func normalizeAddr(a Attr, s string) (string, bool) {
	ad, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || ad.Zone() != "" {
		return "", false
	}
	ad = ad.Unmap()
	if ad.Is4() != (a == AttrIPv4) {
		return "", false
	}
	return ad.String(), true
}

// mappedIPv4 reports whether s is an IPv4-mapped IPv6 address or a
// mapped subnet of /96 or longer, and returns its IPv4 form.
func mappedIPv4(s string) (string, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is4In6() || p.Bits() < 96 {
			return "", false
		}
		return unmapPrefix(p).String(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4In6() {
		return "", false
	}
	return a.Unmap().String(), true
}

// likeLiteral returns the longest run of a LIKE pattern without
// wildcards, if it is ASCII (see substrIndex on why).
func likeLiteral(p string) string {
	best := ""
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '%' || r == '_' }) {
		if len(part) > len(best) && isASCII(part) {
			best = part
		}
	}
	return best
}

// regexLiteral returns the longest literal that every match of the regex
// contains, found among the top-level pieces of a concatenation, or "".
func regexLiteral(re string) string {
	r, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return ""
	}
	r = r.Simplify()
	var pieces []*syntax.Regexp
	switch r.Op {
	case syntax.OpConcat:
		pieces = r.Sub
	case syntax.OpLiteral:
		pieces = []*syntax.Regexp{r}
	}
	best := ""
	for _, p := range pieces {
		if p.Op == syntax.OpLiteral && p.Flags&syntax.FoldCase == 0 {
			s := string(p.Rune)
			if len(s) > len(best) && isASCII(s) {
				best = s
			}
		}
	}
	return best
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// simpleEquality recognises the commonest indicator, `[type:prop = 'v']`
// with a plain property name and a literal without escapes, so that
// compiling a million of them does not run the full parser. It returns
// the attribute and the literal; anything else returns ok=false and goes
// through pattern.Parse.
func simpleEquality(src string) (a Attr, lit string, ok bool) {
	if len(src) < 10 || src[0] != '[' || src[len(src)-1] != ']' || src[len(src)-2] != '\'' {
		return 0, "", false
	}
	body := src[1 : len(src)-2]
	colon := strings.IndexByte(body, ':')
	eq := strings.Index(body, " = '")
	if colon <= 0 || eq <= colon+1 {
		return 0, "", false
	}
	typ, prop, lit := body[:colon], body[colon+1:eq], body[eq+4:]
	if !isPlainKey(prop) || strings.ContainsAny(lit, "'\\") || !utf8.ValidString(lit) {
		return 0, "", false
	}
	for i := 0; i < len(typ); i++ {
		c := typ[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return 0, "", false
		}
	}
	if a, ok := plainAttrs[typ+":"+prop]; ok {
		return a, lit, true
	}
	return 0, "", false
}

// plainAttrs maps "type:property" to the string attributes that are one
// property of their object, for simpleEquality.
var plainAttrs = func() map[string]Attr {
	m := map[string]Attr{}
	for a := Attr(1); a < numAttrs; a++ {
		if in := attrInfos[a]; len(in.path) == 1 && in.kind == vkString {
			m[in.typ+":"+in.path[0]] = a
		}
	}
	return m
}()

package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Pattern is a parsed STIX 2.1 pattern. It is immutable once returned by
// [Parse]; it is safe for concurrent use, including [Pattern.Match].
type Pattern struct {
	// Root is the outermost observation expression.
	Root ObservationExpr

	compiled compileOnce
}

// String prints the pattern in canonical form: single spaces, canonical
// operator spellings (= rather than ==, != rather than <>), comments
// removed, literals exactly as they were written. Parsing the result gives
// the same tree (the same nodes, ignoring source offsets).
func (p *Pattern) String() string { return p.Root.String() }

// ObservationExpr is one of [*Simple], [*ObservationOp], [*Group] and
// [*Qualified].
type ObservationExpr interface {
	// String prints the expression (see [Pattern.String]).
	String() string
	// Offset is the byte offset in the pattern text where the expression
	// starts (0 for trees not built by [Parse]).
	Offset() int
	obsNode()
}

// Simple is a bracketed observation expression, `[comparisons]`,
// satisfied by a single observation.
type Simple struct {
	Comparison ComparisonExpr
	Pos        int
}

// ObsOperator is an operator between observation expressions.
type ObsOperator int

// Observation operators, from tightest to loosest binding.
const (
	ObsAnd ObsOperator = iota + 1
	ObsOr
	ObsFollowedBy
)

// String returns the keyword: "AND", "OR" or "FOLLOWEDBY".
func (o ObsOperator) String() string {
	switch o {
	case ObsAnd:
		return "AND"
	case ObsOr:
		return "OR"
	case ObsFollowedBy:
		return "FOLLOWEDBY"
	}
	return "?"
}

// precedence: higher binds tighter.
func (o ObsOperator) precedence() int {
	switch o {
	case ObsFollowedBy:
		return 1
	case ObsOr:
		return 2
	case ObsAnd:
		return 3
	}
	return 0
}

// ObservationOp joins two observation expressions with AND, OR or
// FOLLOWEDBY. Chains are left-associative: `a AND b AND c` is
// `(a AND b) AND c`.
type ObservationOp struct {
	Op          ObsOperator
	Left, Right ObservationExpr
	Pos         int
}

// Group is a parenthesized observation expression. It is kept in the tree
// because parentheses change the meaning of qualifiers: `([a] REPEATS 2
// TIMES) REPEATS 2 TIMES` is valid, `[a] REPEATS 2 TIMES REPEATS 2 TIMES`
// is not.
type Group struct {
	Expr ObservationExpr
	Pos  int
}

// Qualified is an observation expression followed by one qualifier.
// Several qualifiers nest: in `[a] WITHIN 5 SECONDS REPEATS 2 TIMES` the
// REPEATS node's Expr is the WITHIN node.
type Qualified struct {
	Expr      ObservationExpr
	Qualifier Qualifier
	Pos       int
}

// QualifierKind says which qualifier a [Qualifier] is.
type QualifierKind int

// Qualifier kinds.
const (
	QualWithin QualifierKind = iota + 1
	QualRepeats
	QualStartStop
)

// String returns "WITHIN", "REPEATS" or "STARTSTOP".
func (k QualifierKind) String() string {
	switch k {
	case QualWithin:
		return "WITHIN"
	case QualRepeats:
		return "REPEATS"
	case QualStartStop:
		return "STARTSTOP"
	}
	return "?"
}

// Qualifier is `WITHIN n SECONDS`, `REPEATS n TIMES` or
// `START t'..' STOP t'..'`.
type Qualifier struct {
	Kind QualifierKind
	// Seconds is WITHIN's duration: an IntPosLiteral or FloatPosLiteral.
	Seconds Literal
	// Times is REPEATS's count (an IntPosLiteral; it may be 0 syntactically,
	// which evaluation rejects).
	Times Literal
	// Start and Stop are START/STOP's timestamp literals.
	Start, Stop Literal
}

// String prints the qualifier as the inspector reports it, such as
// "WITHIN 10.3 SECONDS".
func (q Qualifier) String() string {
	switch q.Kind {
	case QualWithin:
		return "WITHIN " + q.Seconds.String() + " SECONDS"
	case QualRepeats:
		return "REPEATS " + q.Times.String() + " TIMES"
	case QualStartStop:
		return "START " + q.Start.String() + " STOP " + q.Stop.String()
	}
	return "?"
}

func (*Simple) obsNode()        {}
func (*ObservationOp) obsNode() {}
func (*Group) obsNode()         {}
func (*Qualified) obsNode()     {}

// Offset implements [ObservationExpr].
func (o *Simple) Offset() int { return o.Pos }

// Offset implements [ObservationExpr].
func (o *ObservationOp) Offset() int { return o.Pos }

// Offset implements [ObservationExpr].
func (g *Group) Offset() int { return g.Pos }

// Offset implements [ObservationExpr].
func (q *Qualified) Offset() int { return q.Pos }

func (o *Simple) String() string { return printObs(o) }

func obsPrec(e ObservationExpr) int {
	switch e := e.(type) {
	case *ObservationOp:
		return e.Op.precedence()
	case *Qualified:
		return 4
	}
	return 5
}

func (o *ObservationOp) String() string { return printObs(o) }

// printObs prints into one builder: printing by concatenating the
// children's strings would be quadratic in a long AND chain.
func printObs(e ObservationExpr) string {
	var b strings.Builder
	writeObs(&b, e)
	return b.String()
}

func writeObs(b *strings.Builder, e ObservationExpr) {
	paren := func(x ObservationExpr, need bool) {
		if need {
			b.WriteByte('(')
		}
		writeObs(b, x)
		if need {
			b.WriteByte(')')
		}
	}
	switch e := e.(type) {
	case *Simple:
		b.WriteByte('[')
		writeComp(b, e.Comparison)
		b.WriteByte(']')
	case *ObservationOp:
		// Printed parentheses are only needed for trees built by hand:
		// parsed trees carry their parentheses as Group nodes.
		p := e.Op.precedence()
		paren(e.Left, obsPrec(e.Left) < p)
		b.WriteString(" " + e.Op.String() + " ")
		paren(e.Right, obsPrec(e.Right) <= p)
	case *Group:
		paren(e.Expr, true)
	case *Qualified:
		paren(e.Expr, obsPrec(e.Expr) < 4)
		b.WriteString(" " + e.Qualifier.String())
	default:
		b.WriteString(e.String())
	}
}

func (g *Group) String() string { return printObs(g) }

func (q *Qualified) String() string { return printObs(q) }

// ComparisonExpr is one of [*Comparison], [*ComparisonOp] and
// [*ComparisonGroup].
type ComparisonExpr interface {
	String() string
	// Offset is the byte offset where the expression starts.
	Offset() int
	compNode()
}

// BoolOperator joins comparisons inside `[...]`.
type BoolOperator int

// Comparison-level boolean operators.
const (
	CompAnd BoolOperator = iota + 1
	CompOr
)

// String returns "AND" or "OR".
func (b BoolOperator) String() string {
	if b == CompAnd {
		return "AND"
	}
	return "OR"
}

// ComparisonOp joins two comparison expressions with AND or OR. AND binds
// tighter than OR; chains are left-associative.
type ComparisonOp struct {
	Op          BoolOperator
	Left, Right ComparisonExpr
	Pos         int
}

// ComparisonGroup is a parenthesized comparison expression.
type ComparisonGroup struct {
	Expr ComparisonExpr
	Pos  int
}

// Operator is a comparison operator.
type Operator int

// Comparison operators. [Comparison.Negated] records a preceding NOT.
const (
	OpEqual Operator = iota + 1
	OpNotEqual
	OpLess
	OpLessEqual
	OpGreater
	OpGreaterEqual
	OpIn
	OpLike
	OpMatches
	OpIsSubset
	OpIsSuperset
	OpExists
)

var opNames = map[Operator]string{
	OpEqual: "=", OpNotEqual: "!=", OpLess: "<", OpLessEqual: "<=",
	OpGreater: ">", OpGreaterEqual: ">=", OpIn: "IN", OpLike: "LIKE",
	OpMatches: "MATCHES", OpIsSubset: "ISSUBSET", OpIsSuperset: "ISSUPERSET",
	OpExists: "EXISTS",
}

// String returns the operator's canonical spelling ("=", "IN", ...).
func (o Operator) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return "?"
}

// Comparison is one property test: `type:path op value`, or
// `EXISTS type:path`.
type Comparison struct {
	Path    ObjectPath
	Negated bool
	Op      Operator
	// Value is the right-hand literal; unused for OpIn and OpExists.
	Value Literal
	// Set is the right-hand set of OpIn (possibly empty).
	Set []Literal
	Pos int
}

func (*Comparison) compNode()      {}
func (*ComparisonOp) compNode()    {}
func (*ComparisonGroup) compNode() {}

// Offset implements [ComparisonExpr].
func (c *Comparison) Offset() int { return c.Pos }

// Offset implements [ComparisonExpr].
func (c *ComparisonOp) Offset() int { return c.Pos }

// Offset implements [ComparisonExpr].
func (c *ComparisonGroup) Offset() int { return c.Pos }

// OperatorText is the operator as the STIX pattern inspector reports it:
// "NOT =" for a negated equality, "ISSUBSET", ...
func (c *Comparison) OperatorText() string {
	if c.Negated {
		return "NOT " + c.Op.String()
	}
	return c.Op.String()
}

// ValueText is the literal as written (for IN, the set without spaces:
// "(1,2,3)"), as the STIX pattern inspector reports it.
func (c *Comparison) ValueText() string {
	switch c.Op {
	case OpExists:
		return ""
	case OpIn:
		parts := make([]string, len(c.Set))
		for i, l := range c.Set {
			parts[i] = l.String()
		}
		return "(" + strings.Join(parts, ",") + ")"
	}
	return c.Value.String()
}

func (c *Comparison) String() string {
	if c.Op == OpExists {
		if c.Negated {
			return "NOT EXISTS " + c.Path.String()
		}
		return "EXISTS " + c.Path.String()
	}
	v := c.Value.String()
	if c.Op == OpIn {
		parts := make([]string, len(c.Set))
		for i, l := range c.Set {
			parts[i] = l.String()
		}
		v = "(" + strings.Join(parts, ", ") + ")"
	}
	return c.Path.String() + " " + c.OperatorText() + " " + v
}

func (c *ComparisonOp) String() string { return printComp(c) }

func (c *ComparisonGroup) String() string { return printComp(c) }

func printComp(e ComparisonExpr) string {
	var b strings.Builder
	writeComp(&b, e)
	return b.String()
}

func writeComp(b *strings.Builder, e ComparisonExpr) {
	paren := func(x ComparisonExpr, need bool) {
		if need {
			b.WriteByte('(')
		}
		writeComp(b, x)
		if need {
			b.WriteByte(')')
		}
	}
	switch e := e.(type) {
	case *ComparisonOp:
		l, lok := e.Left.(*ComparisonOp)
		r, rok := e.Right.(*ComparisonOp)
		if e.Op == CompAnd {
			paren(e.Left, lok && l.Op == CompOr)
			b.WriteString(" AND ")
			paren(e.Right, rok)
		} else {
			paren(e.Left, false)
			b.WriteString(" OR ")
			paren(e.Right, rok && r.Op == CompOr)
		}
	case *ComparisonGroup:
		paren(e.Expr, true)
	default:
		b.WriteString(e.String())
	}
}

// ObjectPath is `type:step.step[0].step[*]`.
type ObjectPath struct {
	// ObjectType is the cyber-observable type, such as "file".
	ObjectType string
	// Steps has at least one element; the first is always a key step.
	Steps []PathStep
}

// StepKind says what a [PathStep] does.
type StepKind int

// Path step kinds.
const (
	StepKey   StepKind = iota + 1 // .name or .'quoted-name'
	StepIndex                     // [n]
	StepStar                      // [*]
)

// PathStep is one step of an [ObjectPath].
type PathStep struct {
	Kind StepKind
	// Key is the property name (unquoted and unescaped) of a StepKey.
	Key string
	// Quoted records that the key was written as a string literal.
	Quoted bool
	// Index is the list index of a StepIndex; it may be negative, which
	// never selects anything.
	Index int
}

// String prints the path, quoting keys that need it.
func (p ObjectPath) String() string {
	var b strings.Builder
	b.WriteString(p.ObjectType)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch s.Kind {
		case StepKey:
			if i > 0 {
				b.WriteByte('.')
			}
			if s.Quoted || !isPlainIdent(s.Key) {
				b.WriteString(quoteString(s.Key))
			} else {
				b.WriteString(s.Key)
			}
		case StepIndex:
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
		case StepStar:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// Components returns the path after the object type in the inspector's
// form: keys as strings, indexes as ints, and "*" for [*].
func (p ObjectPath) Components() []any {
	out := make([]any, len(p.Steps))
	for i, s := range p.Steps {
		switch s.Kind {
		case StepKey:
			out[i] = s.Key
		case StepIndex:
			out[i] = s.Index
		case StepStar:
			out[i] = "*"
		}
	}
	return out
}

func isPlainIdent(s string) bool {
	if s == "" || keywords[s] != 0 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// LiteralKind is the type of a [Literal].
type LiteralKind int

// Literal kinds.
const (
	LitInt LiteralKind = iota + 1
	LitFloat
	LitString
	LitBool
	LitBinary    // b'base64'
	LitHex       // h'hex'
	LitTimestamp // t'...'
)

var litKindNames = map[LiteralKind]string{
	LitInt: "integer", LitFloat: "float", LitString: "string", LitBool: "boolean",
	LitBinary: "binary", LitHex: "hex", LitTimestamp: "timestamp",
}

// String names the kind in words ("integer", "timestamp", ...).
func (k LiteralKind) String() string { return litKindNames[k] }

// Literal is a constant in a pattern.
type Literal struct {
	Kind LiteralKind
	// Text is the literal exactly as written, such as `'it\'s'` or `+5`;
	// printing uses it so that a printed pattern re-parses identically.
	Text string
	// Decoded values; which one is set depends on Kind.
	Int   int64 // LitInt (an integer too large for int64 sets Float too)
	Float float64
	Str   string // LitString, unescaped
	Bool  bool
	Bytes []byte // LitBinary, LitHex
	// Time is LitTimestamp's value when the literal names a real calendar
	// time; TimeErr is set instead for, say, February 30th, which the
	// grammar accepts but no evaluation can use.
	Time    time.Time
	TimeErr error
}

// String returns the literal as written, or a canonical spelling for
// literals built without Text.
func (l Literal) String() string {
	if l.Text != "" {
		return l.Text
	}
	switch l.Kind {
	case LitInt:
		return strconv.FormatInt(l.Int, 10)
	case LitFloat:
		s := strconv.FormatFloat(l.Float, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	case LitString:
		return quoteString(l.Str)
	case LitBool:
		return strconv.FormatBool(l.Bool)
	case LitBinary:
		return "b'" + base64.StdEncoding.EncodeToString(l.Bytes) + "'"
	case LitHex:
		return "h'" + hex.EncodeToString(l.Bytes) + "'"
	case LitTimestamp:
		return "t'" + l.Time.UTC().Format("2006-01-02T15:04:05.999999Z") + "'"
	}
	return "?"
}

// quoteString writes s as a pattern string literal.
func quoteString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	return "'" + s + "'"
}

package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every error [Parse] returns; the error is a
// [*SyntaxError] carrying the position.
var ErrSyntax = errors.New("invalid pattern syntax")

// SyntaxError is a pattern that does not follow the STIX 2.1 grammar.
type SyntaxError struct {
	// Offset is the byte offset of the offending input.
	Offset int
	// Line and Column are 1-based; Column counts characters.
	Line, Column int
	// Msg is one sentence saying what is wrong.
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid pattern at line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap makes errors.Is(err, ErrSyntax) and errors.Is(err, ErrInvalid)
// true.
func (e *SyntaxError) Unwrap() []error { return []error{ErrSyntax, ErrInvalid} }

func newSyntaxError(src string, off int, format string, args ...any) *SyntaxError {
	if off > len(src) {
		off = len(src)
	}
	line, col := 1, 1
	for _, r := range src[:off] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &SyntaxError{Offset: off, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 500

// Parse parses a STIX 2.1 pattern (STIX 2.1 section 9). It checks the
// grammar only, including the grammar's timestamp field ranges; [Validate]
// adds the semantic rules. The error is a [*SyntaxError].
func Parse(pattern string) (*Pattern, error) {
	if !utf8.ValidString(pattern) {
		return nil, newSyntaxError(pattern, 0, "the pattern is not valid UTF-8")
	}
	p := &parser{src: pattern, toks: lex(pattern)}
	root, err := p.parsePattern()
	if err != nil {
		return nil, err
	}
	return &Pattern{Root: root}, nil
}

// Parse20 parses a STIX 2.0 pattern: the 2.1 grammar without EXISTS, and
// START/STOP take plain strings (checked as timestamps when evaluated).
func Parse20(pattern string) (*Pattern, error) {
	if !utf8.ValidString(pattern) {
		return nil, newSyntaxError(pattern, 0, "the pattern is not valid UTF-8")
	}
	p := &parser{src: pattern, toks: lex(pattern), v20: true}
	root, err := p.parsePattern()
	if err != nil {
		return nil, err
	}
	return &Pattern{Root: root}, nil
}

// MustParse is like [Parse] but panics on error; for patterns fixed in code.
func MustParse(pattern string) *Pattern {
	p, err := Parse(pattern)
	if err != nil {
		panic(err)
	}
	return p
}

type parser struct {
	v20   bool
	src   string
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	if t.kind == tInvalid {
		return newSyntaxError(p.src, t.pos, "%s", t.msg+" (at "+t.describe()+")")
	}
	return newSyntaxError(p.src, t.pos, format, args...)
}

func (p *parser) expect(k tokenKind, what string) (token, error) {
	t := p.peek()
	if t.kind != k {
		return t, p.errAt(t, "expected %s but found %s", what, t.describe())
	}
	return p.next(), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return newSyntaxError(p.src, p.peek().pos, "the pattern is nested more than %d levels deep", maxDepth)
	}
	return nil
}

func (p *parser) parsePattern() (ObservationExpr, error) {
	// Same hint as the reference validator for the commonest mistake.
	j := p.i
	for p.toks[j].kind == tLParen {
		j++
	}
	if p.toks[j].kind != tLBrack && p.toks[j].kind != tInvalid {
		return nil, p.errAt(p.toks[j], "expected '[' but found %s: a pattern is made of observation expressions in square brackets, such as [file:name = 'a.exe']", p.toks[j].describe())
	}
	e, err := p.parseFollowedBy()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "expected AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern but found %s", t.describe())
	}
	return e, nil
}

func (p *parser) parseFollowedBy() (ObservationExpr, error) {
	return p.parseObsBinary(ObsFollowedBy, tFOLLOWEDBY, p.parseObsOr)
}

func (p *parser) parseObsOr() (ObservationExpr, error) {
	return p.parseObsBinary(ObsOr, tOR, p.parseObsAnd)
}

func (p *parser) parseObsAnd() (ObservationExpr, error) {
	return p.parseObsBinary(ObsAnd, tAND, p.parseQualified)
}

func (p *parser) parseObsBinary(op ObsOperator, kw tokenKind, sub func() (ObservationExpr, error)) (ObservationExpr, error) {
	left, err := sub()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == kw {
		p.next()
		right, err := sub()
		if err != nil {
			return nil, err
		}
		left = &ObservationOp{Op: op, Left: left, Right: right, Pos: left.Offset()}
	}
	return left, nil
}

func (p *parser) parseQualified() (ObservationExpr, error) {
	e, err := p.parseObsPrimary()
	if err != nil {
		return nil, err
	}
	for {
		var q Qualifier
		switch p.peek().kind {
		case tWITHIN:
			p.next()
			t := p.peek()
			if t.kind != tIntPos && t.kind != tFloatPos {
				return nil, p.errAt(t, "expected a positive number of seconds after WITHIN but found %s", t.describe())
			}
			p.next()
			lit, err := p.literal(t)
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tSECONDS, "SECONDS (the only unit of WITHIN, in upper case)"); err != nil {
				return nil, err
			}
			q = Qualifier{Kind: QualWithin, Seconds: lit}
		case tREPEATS:
			p.next()
			t, err := p.expect(tIntPos, "a positive whole number after REPEATS")
			if err != nil {
				return nil, err
			}
			lit, err := p.literal(t)
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tTIMES, "TIMES after the REPEATS count"); err != nil {
				return nil, err
			}
			q = Qualifier{Kind: QualRepeats, Times: lit}
		case tSTART:
			p.next()
			tsKind := tTimestamp
			if p.v20 {
				tsKind = tString // STIX 2.0: START '...' STOP '...'
			}
			t, err := p.expect(tsKind, "a timestamp literal such as t'2016-06-01T00:00:00Z' after START")
			if err != nil {
				return nil, err
			}
			start, _ := p.literal(t)
			if _, err := p.expect(tSTOP, "STOP after the START timestamp"); err != nil {
				return nil, err
			}
			t, err = p.expect(tsKind, "a timestamp literal such as t'2016-06-01T00:00:00Z' after STOP")
			if err != nil {
				return nil, err
			}
			stop, _ := p.literal(t)
			if p.v20 {
				start, stop = stringTimestamp(start), stringTimestamp(stop)
			}
			q = Qualifier{Kind: QualStartStop, Start: start, Stop: stop}
		default:
			return e, nil
		}
		e = &Qualified{Expr: e, Qualifier: q, Pos: e.Offset()}
	}
}

func (p *parser) parseObsPrimary() (ObservationExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.peek()
	switch t.kind {
	case tLBrack:
		p.next()
		c, err := p.parseCompOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRBrack, "']' to close the observation expression, or AND/OR"); err != nil {
			return nil, err
		}
		return &Simple{Comparison: c, Pos: t.pos}, nil
	case tLParen:
		p.next()
		e, err := p.parseFollowedBy()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')' to close the parenthesis, or AND/OR/FOLLOWEDBY or a qualifier"); err != nil {
			return nil, err
		}
		return &Group{Expr: e, Pos: t.pos}, nil
	}
	return nil, p.errAt(t, "expected an observation expression ('[' or '(') but found %s", t.describe())
}

func (p *parser) parseCompOr() (ComparisonExpr, error) {
	left, err := p.parseCompAnd()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOR {
		p.next()
		right, err := p.parseCompAnd()
		if err != nil {
			return nil, err
		}
		left = &ComparisonOp{Op: CompOr, Left: left, Right: right, Pos: left.Offset()}
	}
	return left, nil
}

func (p *parser) parseCompAnd() (ComparisonExpr, error) {
	left, err := p.parsePropTest()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tAND {
		p.next()
		right, err := p.parsePropTest()
		if err != nil {
			return nil, err
		}
		left = &ComparisonOp{Op: CompAnd, Left: left, Right: right, Pos: left.Offset()}
	}
	return left, nil
}

var compareOps = map[tokenKind]Operator{
	tEQ: OpEqual, tNEQ: OpNotEqual, tLT: OpLess, tLE: OpLessEqual, tGT: OpGreater,
	tGE: OpGreaterEqual, tIN: OpIn, tLIKE: OpLike, tMATCHES: OpMatches,
	tISSUBSET: OpIsSubset, tISSUPERSET: OpIsSuperset,
}

func (p *parser) parsePropTest() (ComparisonExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		c, err := p.parseCompOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')' to close the parenthesis, or AND/OR"); err != nil {
			return nil, err
		}
		return &ComparisonGroup{Expr: c, Pos: t.pos}, nil
	}
	if !p.v20 && t.kind == tEXISTS || (!p.v20 && t.kind == tNOT && p.toks[p.i+1].kind == tEXISTS) {
		neg := t.kind == tNOT
		if neg {
			p.next()
		}
		p.next()
		path, err := p.parseObjectPath()
		if err != nil {
			return nil, err
		}
		return &Comparison{Path: path, Negated: neg, Op: OpExists, Pos: t.pos}, nil
	}
	path, err := p.parseObjectPath()
	if err != nil {
		return nil, err
	}
	c := &Comparison{Path: path, Pos: t.pos}
	if p.peek().kind == tNOT {
		p.next()
		c.Negated = true
	}
	ot := p.peek()
	op, ok := compareOps[ot.kind]
	if !ok {
		return nil, p.errAt(ot, "expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET) after %s but found %s", path.String(), ot.describe())
	}
	p.next()
	c.Op = op
	switch op {
	case OpIn:
		if _, err := p.expect(tLParen, "'(' to start the set after IN"); err != nil {
			return nil, err
		}
		c.Set = []Literal{}
		if p.peek().kind == tRParen {
			p.next()
			return c, nil
		}
		for {
			lt := p.peek()
			if !isPrimitiveLiteral(lt.kind) {
				return nil, p.errAt(lt, "expected a literal value in the IN set but found %s%s", lt.describe(), p.literalHint(lt))
			}
			p.next()
			lit, err := p.literal(lt)
			if err != nil {
				return nil, err
			}
			c.Set = append(c.Set, lit)
			sep := p.next()
			if sep.kind == tRParen {
				return c, nil
			}
			if sep.kind != tComma {
				return nil, p.errAt(sep, "expected ',' or ')' in the IN set but found %s", sep.describe())
			}
		}
	case OpLike, OpMatches, OpIsSubset, OpIsSuperset:
		lt := p.peek()
		if lt.kind != tString {
			return nil, p.errAt(lt, "expected a quoted string after %s but found %s%s", op, lt.describe(), p.literalHint(lt))
		}
		p.next()
		c.Value, _ = p.literal(lt)
	case OpEqual, OpNotEqual:
		lt := p.peek()
		if !isPrimitiveLiteral(lt.kind) {
			return nil, p.errAt(lt, "expected a literal value after %q but found %s%s", ot.text, lt.describe(), p.literalHint(lt))
		}
		p.next()
		lit, err := p.literal(lt)
		if err != nil {
			return nil, err
		}
		c.Value = lit
	default: // order comparisons take any literal but a boolean
		lt := p.peek()
		if !isPrimitiveLiteral(lt.kind) || lt.kind == tBool {
			return nil, p.errAt(lt, "expected a number, string, binary or timestamp literal after %q but found %s%s", ot.text, lt.describe(), p.literalHint(lt))
		}
		p.next()
		lit, err := p.literal(lt)
		if err != nil {
			return nil, err
		}
		c.Value = lit
	}
	return c, nil
}

// literalHint explains a token found where a literal was expected: a
// null, or a t'...', h'...' or b'...' literal that the lexer refused (it
// then reads as the one-letter identifier), with what the literal should
// look like.
func (p *parser) literalHint(t token) string {
	if t.kind == tIdent && t.text == "null" {
		return " (STIX patterns have no null literal)"
	}
	if t.kind != tIdent || (t.text != "t" && t.text != "b" && t.text != "h") {
		return ""
	}
	rest := p.src[t.pos+1:]
	if !strings.HasPrefix(rest, "'") {
		return fmt.Sprintf(" (the %s'...' literal is malformed)", t.text)
	}
	end := strings.IndexByte(rest[1:], '\'')
	if end < 0 {
		return fmt.Sprintf(" (the %s'...' literal is malformed: it has no closing quote)", t.text)
	}
	lit := t.text + rest[:end+2]
	if len(lit) > 48 {
		lit = lit[:45] + "..."
	}
	switch t.text {
	case "t":
		return fmt.Sprintf(" (the timestamp literal %s is malformed: write t'YYYY-MM-DDTHH:MM:SS[.s]Z' in UTC with upper-case T and Z, month 01-12, day 01-31, hour 00-23, minute 00-59, second 00-60)", lit)
	case "h":
		return fmt.Sprintf(" (the hex literal %s is malformed: write an even number of hex digits, such as h'0a1b')", lit)
	}
	return fmt.Sprintf(" (the base64 literal %s is malformed: write standard base64 padded to groups of 4, such as b'aGVsbG8=')", lit)
}

func isPrimitiveLiteral(k tokenKind) bool {
	switch k {
	case tIntPos, tIntNeg, tFloatPos, tFloatNeg, tString, tBinary, tHex, tTimestamp, tBool:
		return true
	}
	return false
}

func (p *parser) parseObjectPath() (ObjectPath, error) {
	t := p.peek()
	if t.kind != tIdent && t.kind != tIdentHyphen {
		return ObjectPath{}, p.errAt(t, "expected an object path such as file:name but found %s", t.describe())
	}
	p.next()
	path := ObjectPath{ObjectType: t.text}
	if _, err := p.expect(tColon, "':' after the object type "+strconv.Quote(t.text)); err != nil {
		return path, err
	}
	first := p.peek()
	switch first.kind {
	case tIdent:
		p.next()
		path.Steps = append(path.Steps, PathStep{Kind: StepKey, Key: first.text})
	case tString:
		p.next()
		path.Steps = append(path.Steps, PathStep{Kind: StepKey, Key: unquoteString(first.text), Quoted: true})
	case tIdentHyphen:
		return path, p.errAt(first, "the property name %s contains '-' and must be quoted, as in '%s'", first.describe(), first.text)
	default:
		return path, p.errAt(first, "expected a property name after %q but found %s", t.text+":", first.describe())
	}
	for {
		switch p.peek().kind {
		case tDot:
			p.next()
			k := p.peek()
			switch k.kind {
			case tIdent:
				p.next()
				path.Steps = append(path.Steps, PathStep{Kind: StepKey, Key: k.text})
			case tString:
				p.next()
				path.Steps = append(path.Steps, PathStep{Kind: StepKey, Key: unquoteString(k.text), Quoted: true})
			case tIdentHyphen:
				return path, p.errAt(k, "the property name %s contains '-' and must be quoted, as in '%s'", k.describe(), k.text)
			default:
				return path, p.errAt(k, "expected a property name after '.' but found %s", k.describe())
			}
		case tLBrack:
			p.next()
			k := p.next()
			switch k.kind {
			case tAsterisk:
				path.Steps = append(path.Steps, PathStep{Kind: StepStar})
			case tIntPos, tIntNeg:
				n, err := strconv.Atoi(k.text)
				if err != nil {
					return path, p.errAt(k, "the list index %s is too large", k.describe())
				}
				path.Steps = append(path.Steps, PathStep{Kind: StepIndex, Index: n})
			default:
				return path, p.errAt(k, "expected a list index or '*' after '[' but found %s", k.describe())
			}
			if _, err := p.expect(tRBrack, "']' after the list index"); err != nil {
				return path, err
			}
		default:
			return path, nil
		}
	}
}

// literal decodes a literal token. Values the grammar accepts but that do
// not decode (a timestamp on February 30th) are kept with TimeErr set, as
// the pattern is still syntactically valid.
func (p *parser) literal(t token) (Literal, error) {
	l := Literal{Text: t.text}
	switch t.kind {
	case tIntPos, tIntNeg:
		l.Kind = LitInt
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			// Beyond int64: keep the magnitude as a float.
			f, _ := strconv.ParseFloat(t.text, 64)
			l.Float = f
			if f > 0 {
				n = math.MaxInt64
			} else {
				n = math.MinInt64
			}
		} else {
			l.Float = float64(n)
		}
		l.Int = n
	case tFloatPos, tFloatNeg:
		l.Kind = LitFloat
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return l, p.errAt(t, "%s is not a valid number", t.describe())
		}
		l.Float = f
	case tString:
		l.Kind = LitString
		l.Str = unquoteString(t.text)
	case tBool:
		l.Kind = LitBool
		l.Bool = t.text == "true"
	case tHex:
		l.Kind = LitHex
		b, err := hex.DecodeString(t.text[2 : len(t.text)-1])
		if err != nil {
			return l, p.errAt(t, "%s is not valid hex", t.describe())
		}
		l.Bytes = b
	case tBinary:
		l.Kind = LitBinary
		b, err := base64.StdEncoding.DecodeString(t.text[2 : len(t.text)-1])
		if err != nil {
			return l, p.errAt(t, "%s is not valid base64", t.describe())
		}
		l.Bytes = b
	case tTimestamp:
		l.Kind = LitTimestamp
		ts, err := parseTimestamp(t.text[2 : len(t.text)-1])
		if err != nil {
			l.TimeErr = err
		} else {
			l.Time = ts
		}
	default:
		return l, p.errAt(t, "expected a literal but found %s", t.describe())
	}
	return l, nil
}

// stringTimestamp decodes a STIX 2.0 START/STOP string as a timestamp,
// keeping the error for evaluation (as the reference does).
func stringTimestamp(l Literal) Literal {
	t, err := parseTimestamp(l.Str)
	if err != nil {
		l.TimeErr = err
	} else {
		l.Time = t
	}
	return l
}

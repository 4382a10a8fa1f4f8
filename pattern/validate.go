package pattern

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrInvalid is wrapped by every error [Validate] returns, syntax errors
// included: errors.Is(err, ErrInvalid) tells a caller the pattern itself
// is at fault.
var ErrInvalid = errors.New("invalid pattern")

// ValidationError is a syntactically correct pattern that breaks a rule of
// the STIX 2.1 specification the grammar cannot express.
type ValidationError struct {
	// Offset is the byte offset of the offending expression; Line and
	// Column (1-based) locate it for people.
	Offset, Line, Column int
	// Msg is one sentence saying what is wrong.
	Msg string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid pattern at line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Validate checks that pattern is a valid STIX 2.1 pattern: the grammar
// (see [Parse]) plus the rules below. It is what STIX indicator
// validation uses. The error wraps [ErrInvalid] and is a [*SyntaxError]
// or a [*ValidationError].
func Validate(pattern string) error {
	p, err := Parse(pattern)
	if err != nil {
		return err
	}
	return p.Validate(pattern)
}

// Validate applies the semantic rules to a parsed pattern; src, if not
// empty, is the text it was parsed from (for error positions). The rules:
//
//   - A qualifier type may not be stacked directly on one expression:
//     `[a] WITHIN 5 SECONDS WITHIN 6 SECONDS` is rejected, while
//     `([a] WITHIN 5 SECONDS) WITHIN 6 SECONDS` is allowed. This is the
//     one documented disagreement between the OASIS references: the
//     matcher evaluates `[a] REPEATS 2 TIMES REPEATS 2 TIMES` as nested
//     repetition, while the specification and the OASIS validator forbid
//     it. [Pattern.Match] follows the matcher (it evaluates what the
//     grammar accepts); Validate follows the specification. We are
//     stricter than the OASIS validator in one corner: it only checks
//     chains that start at a bracketed expression, so it lets
//     `([a] AND [b]) REPEATS 2 TIMES REPEATS 3 TIMES` through; we reject
//     every directly stacked pair, as the specification's rule reads.
//   - A hash value compared with `hashes.<ALGO>` must be a string of the
//     form of that algorithm (hex of the right length, SSDEEP characters),
//     as in the reference validator; LIKE and MATCHES operands are
//     patterns, not hash values, and are not checked.
//   - Where the STIX 2.1 cyber-observable definitions give a property an
//     integer or boolean type, it may only be compared with literals of
//     that type. Unknown object types and properties are allowed (custom
//     objects and properties are legal STIX).
//   - A MATCHES operand must be a valid regular expression. Constructs of
//     the reference dialect that RE2 cannot run (look-around,
//     back-references) are accepted here and fail at evaluation with
//     [ErrUnsupportedRegex].
//
// As in the reference validator, `WITHIN 0 SECONDS`, `REPEATS 0 TIMES`
// and timestamps such as t'2024-02-30T00:00:00Z' (the grammar checks field
// ranges, not the calendar) are valid; evaluating them fails.
func (p *Pattern) Validate(src string) error {
	v := &validator{src: src}
	v.obs(p.Root)
	return v.err
}

type validator struct {
	src string
	err error
}

func (v *validator) fail(off int, format string, args ...any) {
	if v.err != nil {
		return
	}
	se := newSyntaxError(v.src, off, format, args...)
	if v.src == "" {
		se.Line, se.Column = 1, off+1
	}
	v.err = &ValidationError{Offset: se.Offset, Line: se.Line, Column: se.Column, Msg: se.Msg}
}

func (v *validator) obs(e ObservationExpr) {
	switch e := e.(type) {
	case *Simple:
		walkComp(e.Comparison, v.comparison)
	case *ObservationOp:
		v.obs(e.Left)
		v.obs(e.Right)
	case *Group:
		v.obs(e.Expr)
	case *Qualified:
		// Walk down the chain of qualifiers stacked on one expression.
		// As in cti-pattern-validator, only a chain stacked directly on a
		// bracketed [...] expression may not repeat a qualifier type; a
		// chain on a parenthesized group is not checked, so
		// `([x]) WITHIN 5 SECONDS WITHIN 6 SECONDS` is valid (it is one of
		// the reference's PASS_CASES).
		seen := map[QualifierKind]bool{}
		var dup *Qualified
		var inner ObservationExpr = e
		for {
			q, ok := inner.(*Qualified)
			if !ok {
				break
			}
			if seen[q.Qualifier.Kind] && dup == nil {
				dup = q
			}
			seen[q.Qualifier.Kind] = true
			inner = q.Expr
		}
		if _, simple := inner.(*Simple); simple && dup != nil {
			v.fail(dup.Pos, "duplicate qualifier type %s: a qualifier may be applied only once to the same expression; put the inner part in parentheses to qualify it again", dup.Qualifier.Kind)
		}
		v.obs(inner)
	}
}

var hashForms = map[string]*regexp.Regexp{
	"MD5":       regexp.MustCompile(`^[a-fA-F0-9]{32}$`),
	"MD6":       regexp.MustCompile(`^(?:[a-fA-F0-9]{32}|[a-fA-F0-9]{40}|[a-fA-F0-9]{56}|[a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})$`),
	"RIPEMD160": regexp.MustCompile(`^[a-fA-F0-9]{40}$`),
	"SHA1":      regexp.MustCompile(`^[a-fA-F0-9]{40}$`),
	"SHA224":    regexp.MustCompile(`^[a-fA-F0-9]{56}$`),
	"SHA256":    regexp.MustCompile(`^[a-fA-F0-9]{64}$`),
	"SHA384":    regexp.MustCompile(`^[a-fA-F0-9]{96}$`),
	"SHA512":    regexp.MustCompile(`^[a-fA-F0-9]{128}$`),
	"SHA3224":   regexp.MustCompile(`^[a-fA-F0-9]{56}$`),
	"SHA3256":   regexp.MustCompile(`^[a-fA-F0-9]{64}$`),
	"SHA3384":   regexp.MustCompile(`^[a-fA-F0-9]{96}$`),
	"SHA3512":   regexp.MustCompile(`^[a-fA-F0-9]{128}$`),
	"SSDEEP":    regexp.MustCompile(`^[a-zA-Z0-9/+:.]{1,128}$`),
	"WHIRLPOOL": regexp.MustCompile(`^[a-fA-F0-9]{128}$`),
}

// integerProps and booleanProps are the STIX 2.1 cyber-observable
// properties (section 6) with integer or boolean types, keyed by
// "type:property".
var integerProps = map[string]bool{
	"file:size": true, "network-traffic:src_port": true, "network-traffic:dst_port": true,
	"network-traffic:src_byte_count": true, "network-traffic:dst_byte_count": true,
	"network-traffic:src_packets": true, "network-traffic:dst_packets": true,
	"process:pid": true, "windows-registry-key:number_of_subkeys": true,
	"autonomous-system:number": true, "x509-certificate:version": false,
}

var booleanProps = map[string]bool{
	"email-message:is_multipart": true, "network-traffic:is_active": true,
	"user-account:is_service_account": true, "user-account:is_privileged": true,
	"user-account:can_escalate_privs": true, "user-account:is_disabled": true,
	"file:is_encrypted": false, "x509-certificate:is_self_signed": true,
}

func (v *validator) comparison(c *Comparison) {
	lits := []Literal{c.Value}
	if c.Op == OpIn {
		lits = c.Set
	}
	// Hash forms.
	hasHashes := false
	for _, s := range c.Path.Steps {
		if s.Kind == StepKey && s.Key == "hashes" {
			hasHashes = true
		}
	}
	last := c.Path.Steps[len(c.Path.Steps)-1]
	if hasHashes && last.Kind == StepKey && c.Op != OpLike && c.Op != OpMatches && c.Op != OpExists {
		algo := strings.ToUpper(strings.NewReplacer("-", "", "'", "").Replace(last.Key))
		if re, ok := hashForms[algo]; ok {
			for _, l := range lits {
				switch {
				case l.Kind != LitString:
					v.fail(c.Pos, "a %s hash is a string, but the pattern compares it with %s literal", last.Key, article(l.Kind))
				case !re.MatchString(l.Str):
					v.fail(c.Pos, "'%s' is not a valid %s hash", l.Str, last.Key)
				}
			}
		}
	}
	// Property types.
	if len(c.Path.Steps) == 1 && last.Kind == StepKey {
		key := c.Path.ObjectType + ":" + last.Key
		switch c.Op {
		case OpEqual, OpNotEqual, OpLess, OpLessEqual, OpGreater, OpGreaterEqual, OpIn:
			for _, l := range lits {
				// A string of decimal digits is let through: the STIX 2.1
				// specification's own example compares file:size with
				// '371712', and cti-pattern-validator accepts it.
				if integerProps[key] && l.Kind != LitInt && l.Kind != LitFloat && !(l.Kind == LitString && decimalString(l.Str)) {
					v.fail(c.Pos, "%s is an integer property, but the pattern compares it with %s literal", key, article(l.Kind))
				}
				if booleanProps[key] && l.Kind != LitBool {
					v.fail(c.Pos, "%s is a boolean property, but the pattern compares it with %s literal", key, article(l.Kind))
				}
			}
		}
	}
	// Regex syntax.
	if c.Op == OpMatches {
		if _, err := compileRegex(nfc(c.Value.Str), false); err != nil && !errors.Is(err, ErrUnsupportedRegex) {
			v.fail(c.Pos, "the MATCHES operand is not a valid regular expression: %v", err)
		}
	}
}

// decimalString reports whether s is an optionally signed run of decimal
// digits.
func decimalString(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func article(k LiteralKind) string {
	if k == LitInt {
		return "an integer"
	}
	return "a " + k.String()
}

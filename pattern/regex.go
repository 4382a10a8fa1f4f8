package pattern

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrUnsupportedRegex is wrapped when a MATCHES regex uses a construct of
// the reference's (Python/PCRE-style) regex dialect that Go's RE2 engine
// cannot run: look-around, back-references, atomic groups, possessive
// quantifiers. Such patterns are valid STIX; evaluating them fails.
var ErrUnsupportedRegex = errors.New("regex construct not supported by RE2")

// The STIX specification says MATCHES takes a PCRE regular expression and
// the OASIS matcher runs Python's re module. Go's regexp (RE2) runs in
// linear time, which matters for a node evaluating other members'
// patterns, but lacks back-references and look-around. We translate the
// differences that change results and reject the rest with
// ErrUnsupportedRegex:
//
//   - \d \w \s are Unicode-aware for text in Python and ASCII in RE2, so
//     they become \p{Nd}, [\p{L}\p{N}_] and a Unicode space class;
//   - $ matches before a final newline in Python, so outside (?m) it
//     becomes (?:\n?\z);
//   - \Z is \z; \uXXXX and \UXXXXXXXX become \x{...}; {,n} becomes {0,n}.
//
// For binary values (bytes) Python uses ASCII classes, which are RE2's.

var unsupportedRE = []struct{ seq, what string }{
	{"(?=", "look-ahead"}, {"(?!", "negative look-ahead"}, {"(?<=", "look-behind"},
	{"(?<!", "negative look-behind"}, {"(?P=", "named back-reference"}, {"(?>", "atomic group"},
	{"(?#", "comment group"},
}

// translateRegex rewrites a Python-dialect regex for Go. binary selects
// Python's bytes semantics (ASCII classes).
func translateRegex(src string, binary bool) (string, error) {
	for _, u := range unsupportedRE {
		if strings.Contains(src, u.seq) {
			return "", fmt.Errorf("%w: %s %q", ErrUnsupportedRegex, u.what, u.seq)
		}
	}
	multiline := strings.Contains(src, "(?m") || (strings.HasPrefix(src, "(?") && strings.ContainsRune(strings.SplitN(src, ")", 2)[0], 'm'))
	var b strings.Builder
	rs := []rune(src)
	inClass := false
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs):
			n := rs[i+1]
			i++
			switch {
			case n >= '1' && n <= '9':
				return "", fmt.Errorf("%w: back-reference \\%c", ErrUnsupportedRegex, n)
			case n == 'Z':
				b.WriteString(`\z`)
			case n == 'u' || n == 'U':
				width := 4
				if n == 'U' {
					width = 8
				}
				if i+width >= len(rs) {
					return "", fmt.Errorf("incomplete escape \\%c", n)
				}
				hexs := string(rs[i+1 : i+1+width])
				for _, h := range hexs {
					if !isHexDigit(byte(h)) || h > 0x7f {
						return "", fmt.Errorf("bad escape \\%c%s", n, hexs)
					}
				}
				b.WriteString(`\x{` + hexs + `}`)
				i += width
			case !binary && n == 'd':
				b.WriteString(`\p{Nd}`)
			case !binary && n == 'D' && !inClass:
				b.WriteString(`\P{Nd}`)
			case !binary && n == 'w':
				if inClass {
					b.WriteString(`\p{L}\p{N}_`)
				} else {
					b.WriteString(`[\p{L}\p{N}_]`)
				}
			case !binary && n == 'W' && !inClass:
				b.WriteString(`[^\p{L}\p{N}_]`)
			case n == 's' && binary:
				if inClass {
					b.WriteString(`\t\n\v\f\r `)
				} else {
					b.WriteString(`[\t\n\v\f\r ]`)
				}
			case n == 'S' && binary && !inClass:
				b.WriteString(`[^\t\n\v\f\r ]`)
			case n == 's':
				if inClass {
					b.WriteString(`\t\n\v\f\r \x{1c}-\x{1f}\x{85}\p{Z}`)
				} else {
					b.WriteString(`[\t\n\v\f\r \x{1c}-\x{1f}\x{85}\p{Z}]`)
				}
			case n == 'S' && !inClass:
				b.WriteString(`[^\t\n\v\f\r \x{1c}-\x{1f}\x{85}\p{Z}]`)
			case n > 0x7f:
				// Python treats an escaped non-ASCII character as itself;
				// RE2 rejects the escape.
				b.WriteString(regexp.QuoteMeta(string(n)))
			default:
				b.WriteRune('\\')
				b.WriteRune(n)
			}
		case inClass:
			if r == ']' {
				inClass = false
			}
			b.WriteRune(r)
		case r == '[':
			inClass = true
			b.WriteRune(r)
			// A ']' right after '[' or '[^' is a literal.
			if i+1 < len(rs) && rs[i+1] == '^' {
				b.WriteRune('^')
				i++
			}
			if i+1 < len(rs) && rs[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
		case r == '$' && !multiline:
			b.WriteString(`(?:\n?\z)`)
		case r == '{' && i+1 < len(rs) && rs[i+1] == ',':
			b.WriteString("{0")
		case (r == '*' || r == '+' || r == '?' || r == '}') && i+1 < len(rs) && rs[i+1] == '+':
			return "", fmt.Errorf("%w: possessive quantifier %c+", ErrUnsupportedRegex, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

// compileRegex compiles a MATCHES operand.
func compileRegex(src string, binary bool) (*regexp.Regexp, error) {
	t, err := translateRegex(src, binary)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(t)
	if err != nil {
		return nil, fmt.Errorf("couldn't compile regex %q: %w", src, err)
	}
	return re, nil
}

package pattern

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type tokenKind int

const (
	tEOF tokenKind = iota
	tInvalid
	tLBrack
	tRBrack
	tLParen
	tRParen
	tColon
	tDot
	tComma
	tAsterisk
	tEQ
	tNEQ
	tLT
	tLE
	tGT
	tGE
	tIdent       // IdentifierWithoutHyphen
	tIdentHyphen // IdentifierWithHyphen (object types only)
	tIntPos
	tIntNeg
	tFloatPos
	tFloatNeg
	tString
	tBinary
	tHex
	tTimestamp
	tBool
	// keywords
	tAND
	tOR
	tNOT
	tFOLLOWEDBY
	tLIKE
	tMATCHES
	tISSUPERSET
	tISSUBSET
	tEXISTS
	tLAST
	tIN
	tSTART
	tSTOP
	tSECONDS
	tWITHIN
	tREPEATS
	tTIMES
)

// keywords are case-sensitive, as in the STIX 2.1 grammar.
var keywords = map[string]tokenKind{
	"AND": tAND, "OR": tOR, "NOT": tNOT, "FOLLOWEDBY": tFOLLOWEDBY, "LIKE": tLIKE,
	"MATCHES": tMATCHES, "ISSUPERSET": tISSUPERSET, "ISSUBSET": tISSUBSET,
	"EXISTS": tEXISTS, "LAST": tLAST, "IN": tIN, "START": tSTART, "STOP": tSTOP,
	"SECONDS": tSECONDS, "WITHIN": tWITHIN, "REPEATS": tREPEATS, "TIMES": tTIMES,
	"true": tBool, "false": tBool,
}

type token struct {
	kind tokenKind
	text string
	pos  int
	// msg explains a tInvalid token.
	msg string
}

func (t token) describe() string {
	if t.kind == tEOF {
		return "the end of the pattern"
	}
	return fmt.Sprintf("%q", t.text)
}

// lex splits a pattern into tokens following the lexer rules of the STIX
// 2.1 ANTLR grammar (maximal munch; keywords only in upper case; `true` and
// `false` only in lower case; comments and Unicode spaces skipped).
func lex(src string) []token {
	toks := make([]token, 0, len(src)/4+2)
	i := 0
	for {
		i = skipSpace(src, i)
		if i >= len(src) {
			toks = append(toks, token{kind: tEOF, pos: len(src)})
			return toks
		}
		t := lexOne(src, i)
		toks = append(toks, t)
		if t.kind == tInvalid {
			toks = append(toks, token{kind: tEOF, pos: len(src)})
			return toks
		}
		i = t.pos + len(t.text)
	}
}

func isSpaceRune(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\v', '\f', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func skipSpace(src string, i int) int {
	for i < len(src) {
		r, n := utf8.DecodeRuneInString(src[i:])
		switch {
		case isSpaceRune(r):
			i += n
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return i // lexOne reports the unterminated comment
			}
			i += 2 + end + 2
		case strings.HasPrefix(src[i:], "//"):
			end := strings.IndexAny(src[i:], "\r\n")
			if end < 0 {
				return len(src)
			}
			i += end
		default:
			return i
		}
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func lexOne(src string, i int) token {
	c := src[i]
	tok := func(k tokenKind, n int) token { return token{kind: k, text: src[i : i+n], pos: i} }
	bad := func(n int, msg string) token { return token{kind: tInvalid, text: src[i : i+n], pos: i, msg: msg} }
	// Prefixed literals beat the one-letter identifier they start with.
	if i+1 < len(src) && src[i+1] == '\'' {
		switch c {
		case 't':
			if n := matchTimestamp(src[i:]); n > 0 {
				return tok(tTimestamp, n)
			}
		case 'h':
			if n := matchHex(src[i:]); n > 0 {
				return tok(tHex, n)
			}
		case 'b':
			if n := matchBase64(src[i:]); n > 0 {
				return tok(tBinary, n)
			}
		}
	}
	switch {
	case isIdentStart(c):
		j := i + 1
		hyphen := false
		for j < len(src) && (isIdentStart(src[j]) || isDigit(src[j]) || src[j] == '-') {
			if src[j] == '-' {
				hyphen = true
			}
			j++
		}
		if hyphen {
			return tok(tIdentHyphen, j-i)
		}
		if k, ok := keywords[src[i:j]]; ok {
			return tok(k, j-i)
		}
		return tok(tIdent, j-i)
	case isDigit(c) || c == '+' || c == '-' || c == '.':
		if n, k := matchNumber(src[i:]); n > 0 {
			return tok(k, n)
		}
		switch c {
		case '.':
			return tok(tDot, 1)
		case '+', '-':
			return bad(1, fmt.Sprintf("%q must be followed by a number", string(c)))
		}
		return bad(1, "unexpected character")
	case c == '\'':
		n, msg := matchString(src[i:])
		if msg != "" {
			return bad(n, msg)
		}
		return tok(tString, n)
	}
	switch c {
	case '[':
		return tok(tLBrack, 1)
	case ']':
		return tok(tRBrack, 1)
	case '(':
		return tok(tLParen, 1)
	case ')':
		return tok(tRParen, 1)
	case ':':
		return tok(tColon, 1)
	case ',':
		return tok(tComma, 1)
	case '*':
		return tok(tAsterisk, 1)
	case '=':
		if strings.HasPrefix(src[i:], "==") {
			return tok(tEQ, 2)
		}
		return tok(tEQ, 1)
	case '!':
		if strings.HasPrefix(src[i:], "!=") {
			return tok(tNEQ, 2)
		}
		return bad(1, `"!" must be followed by "=" (the operator is "!=")`)
	case '<':
		if strings.HasPrefix(src[i:], "<>") {
			return tok(tNEQ, 2)
		}
		if strings.HasPrefix(src[i:], "<=") {
			return tok(tLE, 2)
		}
		return tok(tLT, 1)
	case '>':
		if strings.HasPrefix(src[i:], ">=") {
			return tok(tGE, 2)
		}
		return tok(tGT, 1)
	case '/':
		if strings.HasPrefix(src[i:], "/*") {
			return bad(len(src)-i, "the comment is not closed with */")
		}
	}
	_, n := utf8.DecodeRuneInString(src[i:])
	return bad(n, "unexpected character")
}

// matchNumber returns the length and kind of the longest number at the
// start of s: [+-]? ('0' | [1-9][0-9]*) or [+-]? [0-9]* '.' [0-9]+.
func matchNumber(s string) (int, tokenKind) {
	j := 0
	neg := false
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		neg = s[j] == '-'
		j++
	}
	start := j
	// float candidate
	k := start
	for k < len(s) && isDigit(s[k]) {
		k++
	}
	floatLen := 0
	if k < len(s) && s[k] == '.' {
		m := k + 1
		for m < len(s) && isDigit(s[m]) {
			m++
		}
		if m > k+1 {
			floatLen = m
		}
	}
	intLen := 0
	if start < len(s) && isDigit(s[start]) {
		if s[start] == '0' {
			intLen = start + 1
		} else {
			intLen = k
		}
	}
	if floatLen > intLen {
		if neg {
			return floatLen, tFloatNeg
		}
		return floatLen, tFloatPos
	}
	if intLen > 0 {
		if neg {
			return intLen, tIntNeg
		}
		return intLen, tIntPos
	}
	return 0, 0
}

// matchString matches a quoted string literal; a backslash may only escape
// a quote or a backslash.
func matchString(s string) (int, string) {
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '\'':
			return j + 1, ""
		case '\\':
			if j+1 < len(s) && (s[j+1] == '\'' || s[j+1] == '\\') {
				j++
				continue
			}
			return j + 1, `a backslash in a string may only escape a quote (\') or a backslash (\\)`
		}
	}
	return len(s), "the string is not closed with a quote"
}

func unquoteString(text string) string {
	body := text[1 : len(text)-1]
	if !strings.Contains(body, `\`) {
		return body
	}
	var b strings.Builder
	for j := 0; j < len(body); j++ {
		if body[j] == '\\' && j+1 < len(body) {
			j++
		}
		b.WriteByte(body[j])
	}
	return b.String()
}

func isHexDigit(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// matchHex matches h'(hexhex)*'.
func matchHex(s string) int {
	j := 2
	for j+1 < len(s) && isHexDigit(s[j]) && isHexDigit(s[j+1]) {
		j += 2
	}
	if j < len(s) && s[j] == '\'' {
		return j + 1
	}
	return 0
}

func isB64(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' || c == '/'
}

// matchBase64 matches b'...' with whole quads, the last possibly padded;
// at least one quad is required by the grammar.
func matchBase64(s string) int {
	j := 2
	n := 0
	for j < len(s) && isB64(s[j]) {
		j++
		n++
	}
	pad := 0
	for j < len(s) && s[j] == '=' && pad < 2 {
		j++
		pad++
	}
	if j >= len(s) || s[j] != '\'' || n == 0 {
		return 0
	}
	if (n+pad)%4 != 0 || (pad > 0 && n%4 == 0) {
		return 0
	}
	return j + 1
}

// matchTimestamp matches the STIX 2.1 grammar's TimestampLiteral, which
// range-checks each field but not the calendar.
func matchTimestamp(s string) int {
	// t'YYYY-MM-DDTHH:MM:SS(.f+)?Z'
	const fixed = len("t'2006-01-02T15:04:05")
	if len(s) < fixed+2 {
		return 0
	}
	d := func(k int) bool { return isDigit(s[k]) }
	for _, k := range []int{2, 3, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17, 19, 20} {
		if !d(k) {
			return 0
		}
	}
	if s[6] != '-' || s[9] != '-' || s[12] != 'T' || s[15] != ':' || s[18] != ':' {
		return 0
	}
	two := func(k int) int { return int(s[k]-'0')*10 + int(s[k+1]-'0') }
	mo, dd, hh, mi, ss := two(7), two(10), two(13), two(16), two(19)
	if mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 60 {
		return 0
	}
	j := fixed
	if s[j] == '.' {
		k := j + 1
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k == j+1 {
			return 0
		}
		j = k
	}
	if j+1 < len(s) && s[j] == 'Z' && s[j+1] == '\'' {
		return j + 2
	}
	return 0
}

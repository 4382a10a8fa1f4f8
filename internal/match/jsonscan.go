package match

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf8"
)

// errSyntax is returned by the scanner for any input that is not a
// well-formed JSON object; the matcher counts such lines as malformed.
var errSyntax = errors.New("malformed JSON")

// scanner is a small pull scanner over one JSON text (RFC 8259). It exists
// because decoding is the matcher's hot path: it visits only the members a
// decoder asks for, never builds maps or reflects, and returns string values
// as slices of the input unless they contain escapes (then it unescapes into
// a reusable buffer). It validates the structure it skips, so a truncated or
// garbled line is reported rather than half-read.
type scanner struct {
	data []byte
	pos  int
	// noEsc is set when data has no backslash at all (nearly every log
	// line): then no string has an escape, and the end of one is its
	// first quote, which [quoteEnd] finds with half the work of
	// [plainEnd]. One bytes.IndexByte over the line (vectorised) pays for
	// itself after a few strings.
	noEsc bool
	// buf holds unescaped strings; values returned from it stay valid until
	// the scanner is reset, because it only grows by appending.
	buf []byte
}

func (s *scanner) reset(data []byte) {
	s.data = data
	s.pos = 0
	s.noEsc = bytes.IndexByte(data, '\\') < 0
	s.buf = s.buf[:0]
}

// kinds of JSON values as returned by [scanner.value].
const (
	kindString = 's'
	kindNumber = 'n'
	kindObject = '{'
	kindArray  = '['
	kindTrue   = 't'
	kindFalse  = 'f'
	kindNull   = 'z'
)

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the kind of the next value without consuming it, or 0 at the
// end of input or on a byte that cannot start a value.
func (s *scanner) peek() byte {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return 0
	}
	switch c := s.data[s.pos]; c {
	case '"':
		return kindString
	case '{':
		return kindObject
	case '[':
		return kindArray
	case 't':
		return kindTrue
	case 'f':
		return kindFalse
	case 'n':
		return kindNull
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return kindNumber
		}
		return 0
	}
}

// openObject consumes '{'.
func (s *scanner) openObject() error {
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return errSyntax
	}
	s.pos++
	return nil
}

// openArray consumes '['.
func (s *scanner) openArray() error {
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '[' {
		return errSyntax
	}
	s.pos++
	return nil
}

// nextKey advances to the next member of the object being read and returns
// its (unescaped) key. It returns ok=false after consuming the closing '}'.
// first must be true for the first call after [scanner.openObject].
func (s *scanner) nextKey(first bool) (key []byte, ok bool, err error) {
	// Compact JSON ('"key":' right after the '{' or ',') is read inline;
	// anything else (white space, escapes, the end) by the general path.
	p := s.pos
	if !first && p+1 < len(s.data) && s.data[p] == ',' {
		p++
	}
	if (first || p != s.pos) && p < len(s.data) && s.data[p] == '"' {
		if end := s.strEnd(p + 1); end >= 0 && end+1 < len(s.data) && s.data[end+1] == ':' {
			s.pos = end + 2
			return s.data[p+1 : end : end], true, nil
		}
	}
	s.skipSpace()
	if s.pos >= len(s.data) {
		return nil, false, errSyntax
	}
	if s.data[s.pos] == '}' {
		s.pos++
		return nil, false, nil
	}
	if !first {
		if s.data[s.pos] != ',' {
			return nil, false, errSyntax
		}
		s.pos++
		s.skipSpace()
	}
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return nil, false, errSyntax
	}
	key, err = s.str()
	if err != nil {
		return nil, false, err
	}
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return nil, false, errSyntax
	}
	s.pos++
	return key, true, nil
}

// nextElem advances to the next element of the array being read; it
// returns false after consuming the closing ']'.
func (s *scanner) nextElem(first bool) (bool, error) {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return false, errSyntax
	}
	if s.data[s.pos] == ']' {
		s.pos++
		return false, nil
	}
	if !first {
		if s.data[s.pos] != ',' {
			return false, errSyntax
		}
		s.pos++
	}
	return true, nil
}

// str reads a string at s.pos (which is '"') and returns its unescaped
// content.
func (s *scanner) str() ([]byte, error) {
	start := s.pos + 1
	if start > len(s.data) {
		return nil, errSyntax
	}
	if end := s.strEnd(start); end >= 0 {
		s.pos = end + 1
		return s.data[start:end:end], nil
	}
	return s.strEscaped(start)
}

// plainEnd returns the index of the quote that ends the string whose
// content begins at start, or -1 when a backslash comes first (the string
// has escapes) or the quote is missing. It is the fast path of every key
// and string value, so it returns one integer rather than a slice and an
// error. Eight bytes at a time (SWAR): the lowest byte that is a quote or
// a backslash ends the scan. Raw control characters, which JSON forbids,
// are tolerated: they cannot make a value ambiguous, and rejecting them
// would cost a check per byte.
func plainEnd(d []byte, start int) int {
	i := start
	for ; i+8 <= len(d); i += 8 {
		x := binary.LittleEndian.Uint64(d[i : i+8])
		q := swarHas(x, '"')
		if m := q | swarHas(x, '\\'); m != 0 {
			// The lowest bit of m is exact; it is in q only when that
			// byte is a quote (q's spurious bits lie above a real one).
			if q&(m&-m) != 0 {
				return i + bits.TrailingZeros64(m)/8
			}
			return -1
		}
	}
	for ; i < len(d); i++ {
		switch d[i] {
		case '"':
			return i
		case '\\':
			return -1
		}
	}
	return -1
}

// strEnd is [plainEnd] over s.data, by [quoteEnd] when the data has no
// backslash (the result is the same: with no backslash, the first quote
// ends the string).
func (s *scanner) strEnd(start int) int {
	if s.noEsc {
		return quoteEnd(s.data, start)
	}
	return plainEnd(s.data, start)
}

// quoteEnd returns the index of the first quote at or after start, or -1;
// eight bytes at a time like [plainEnd].
func quoteEnd(d []byte, start int) int {
	i := start
	for ; i+8 <= len(d); i += 8 {
		if q := swarHas(binary.LittleEndian.Uint64(d[i:i+8]), '"'); q != 0 {
			return i + bits.TrailingZeros64(q)/8
		}
	}
	for ; i < len(d); i++ {
		if d[i] == '"' {
			return i
		}
	}
	return -1
}

// digitRun returns the number of ASCII digits that begin d[i:], eight
// bytes at a time: a number's digits are most of a log line's numbers, and
// a loop per byte mispredicts its exit at every length.
func digitRun(d []byte, i int) int {
	const f0, n30, n06, n7f, hi = 0xF0F0F0F0F0F0F0F0, 0x3030303030303030, 0x0606060606060606, 0x7F7F7F7F7F7F7F7F, 0x8080808080808080
	start := i
	for ; i+8 <= len(d); i += 8 {
		x := binary.LittleEndian.Uint64(d[i : i+8])
		// A byte is a digit when its high nibble is 3 and adding 6 keeps
		// it so; y is zero exactly in the digit bytes up to the first
		// other byte (a carry out of a byte of 0xFA or more, not a digit,
		// only spoils the bytes after it).
		y := (x&f0 ^ n30) | ((x+n06)&f0 ^ n30)
		if m := ((y&n7f + n7f) | y) & hi; m != 0 {
			return i - start + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
	}
	return i - start
}

// swarHas returns a mask whose lowest set bit marks the first byte of x
// (little-endian) equal to b; higher bits may be spurious.
func swarHas(x uint64, b byte) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	y := x ^ (lo * uint64(b))
	return (y - lo) &^ y & hi
}

func (s *scanner) strEscaped(start int) ([]byte, error) {
	d := s.data
	off := len(s.buf)
	i := start
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return s.buf[off:len(s.buf):len(s.buf)], nil
		case c < 0x20:
			return nil, errSyntax
		case c != '\\':
			// Copy the run up to the next quote, backslash or control
			// character at once rather than byte by byte.
			j := i + 1
			for j < len(d) && d[j] != '"' && d[j] != '\\' && d[j] >= 0x20 {
				j++
			}
			s.buf = append(s.buf, d[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(d) {
			return nil, errSyntax
		}
		e := d[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			s.buf = append(s.buf, e)
		case 'b':
			s.buf = append(s.buf, '\b')
		case 'f':
			s.buf = append(s.buf, '\f')
		case 'n':
			s.buf = append(s.buf, '\n')
		case 'r':
			s.buf = append(s.buf, '\r')
		case 't':
			s.buf = append(s.buf, '\t')
		case 'u':
			r, n := hex4(d, i)
			if n < 0 {
				return nil, errSyntax
			}
			i = n
			if r >= 0xD800 && r < 0xDC00 {
				// A high surrogate must be followed by \u and a low one;
				// otherwise it decodes to U+FFFD like encoding/json.
				if i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
					r2, n2 := hex4(d, i+2)
					if n2 >= 0 && r2 >= 0xDC00 && r2 < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						i = n2
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			if r >= 0xF0000 && r <= 0xF00FF {
				// Zeek's JSON writer with JSON::STRING_ESCAPE_POLICY_PUA
				// writes a byte that is not UTF-8 (a Latin-1 byte of a URI)
				// as U+F0000 plus the byte, escaped as a surrogate pair:
				// the byte it stands for, as the TSV writer's "\xfc" is.
				s.buf = append(s.buf, byte(r-0xF0000))
				continue
			}
			s.buf = utf8.AppendRune(s.buf, r)
		default:
			return nil, errSyntax
		}
	}
	return nil, errSyntax
}

func hex4(d []byte, i int) (rune, int) {
	if i+4 > len(d) {
		return 0, -1
	}
	var r rune
	for _, c := range d[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, -1
		}
	}
	return r, i + 4
}

// value reads a scalar value and returns its kind and its text: the
// unescaped content for strings, the literal for numbers. Objects and arrays
// are skipped (validated) and returned as their raw text.
func (s *scanner) value() (byte, []byte, error) {
	k := s.peek()
	start := s.pos
	switch k {
	case kindString:
		v, err := s.str()
		return k, v, err
	case kindNumber:
		err := s.number()
		return k, s.data[start:s.pos], err
	case kindTrue:
		return k, nil, s.lit("true")
	case kindFalse:
		return k, nil, s.lit("false")
	case kindNull:
		return k, nil, s.lit("null")
	case kindObject, kindArray:
		err := s.skip(0)
		return k, s.data[start:s.pos], err
	}
	return 0, nil, errSyntax
}

func (s *scanner) lit(w string) error {
	if len(s.data)-s.pos < len(w) || string(s.data[s.pos:s.pos+len(w)]) != w {
		return errSyntax
	}
	s.pos += len(w)
	return nil
}

func (s *scanner) number() error {
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	digits := digitRun(d, i)
	if digits == 0 || digits > 1 && d[i] == '0' {
		// RFC 8259 allows no leading zero ("00", "-01").
		return errSyntax
	}
	i += digits
	if i < len(d) && d[i] == '.' {
		i++
		digits = digitRun(d, i)
		if digits == 0 {
			return errSyntax
		}
		i += digits
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		digits = digitRun(d, i)
		if digits == 0 {
			return errSyntax
		}
		i += digits
	}
	s.pos = i
	return nil
}

// maxDepth bounds nesting so that a hostile line cannot exhaust the stack.
const maxDepth = 64

// skip consumes one value of any kind, validating it.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return errSyntax
	}
	switch s.peek() {
	case kindObject:
		s.pos++
		for first := true; ; first = false {
			_, ok, err := s.nextKey(first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case kindArray:
		s.pos++
		for first := true; ; first = false {
			ok, err := s.nextElem(first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	default:
		_, _, err := s.value()
		return err
	}
}

// end checks that only white space follows the value just read.
func (s *scanner) end() error {
	s.skipSpace()
	if s.pos != len(s.data) {
		return errSyntax
	}
	return nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

func containsBytes(b []byte, s string) bool {
	n := len(s)
	for i := 0; i+n <= len(b); i++ {
		if string(b[i:i+n]) == s {
			return true
		}
	}
	return false
}

// skipScalarOr skips the next value; strings, numbers and booleans, the
// common case, are skipped inline, the rest by skip.
func (s *scanner) skipScalarOr(depth int) error {
	d := s.data
	i := s.pos
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	if i >= len(d) {
		return errSyntax
	}
	switch c := d[i]; {
	case c == '"':
		if end := s.strEnd(i + 1); end >= 0 {
			s.pos = end + 1
			return nil
		}
		s.pos = i
		_, err := s.str()
		return err
	case c >= '0' && c <= '9' || c == '-':
		s.pos = i
		return s.number()
	case c == 't' && i+4 <= len(d) && string(d[i:i+4]) == "true":
		s.pos = i + 4
		return nil
	case c == 'f' && i+5 <= len(d) && string(d[i:i+5]) == "false":
		s.pos = i + 5
		return nil
	}
	s.pos = i
	return s.skip(depth)
}

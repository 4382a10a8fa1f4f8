package pattern

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrEval is wrapped by every error that evaluation returns: the pattern
// is valid but cannot be evaluated on this input (a malformed timestamp
// compared with a t” literal, a set of mixed types, WITHIN 0 SECONDS,
// observed-data without number_observed, ...).
var ErrEval = errors.New("couldn't evaluate pattern")

// ErrTooComplex is wrapped, with [ErrEval], by the error of an evaluation
// that needed more search steps than its limit ([Pattern.MatchLimit]).
var ErrTooComplex = errors.New("too complex to evaluate")

func evalErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrEval}, args...)...)
}

func nfc(s string) string { return norm.NFC.String(s) }

// num is a JSON or literal number. Integers keep exact int64 values, as
// the reference compares Python ints exactly.
type num struct {
	isInt bool
	i     int64
	f     float64
}

// toNum converts the numeric types a decoded observation may hold. Booleans
// are not numbers here.
func toNum(v any) (num, bool) {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return num{isInt: true, i: i}, true
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return num{}, false
		}
		return num{f: f}, true
	case float64:
		return num{f: x}, true
	case float32:
		return num{f: float64(x)}, true
	case int:
		return num{isInt: true, i: int64(x)}, true
	case int64:
		return num{isInt: true, i: x}, true
	case int32:
		return num{isInt: true, i: int64(x)}, true
	case uint32:
		return num{isInt: true, i: int64(x)}, true
	case uint64:
		if x <= math.MaxInt64 {
			return num{isInt: true, i: int64(x)}, true
		}
		return num{f: float64(x)}, true
	}
	return num{}, false
}

func litNum(l Literal) num {
	if l.Kind == LitInt && l.Float == float64(l.Int) {
		return num{isInt: true, i: l.Int}
	}
	return num{f: l.Float}
}

// cmpNum compares exactly, including int64 against float64; NaN compares
// as unordered (ok false).
func cmpNum(a, b num) (int, bool) {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1, true
		case a.i > b.i:
			return 1, true
		}
		return 0, true
	}
	af, bf := new(big.Float), new(big.Float)
	for _, p := range []struct {
		n num
		f *big.Float
	}{{a, af}, {b, bf}} {
		if p.n.isInt {
			p.f.SetInt64(p.n.i)
		} else {
			if math.IsNaN(p.n.f) {
				return 0, false
			}
			p.f.SetFloat64(p.n.f)
		}
	}
	return af.Cmp(bf), true
}

// latin1 converts a string to bytes when every code point is below 256,
// the reference's rule for comparing text with binary values.
func latin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 256 {
			return nil, false
		}
		b = append(b, byte(r))
	}
	return b, true
}

// latin1String maps each byte to the code point of the same value, so a
// regex can run over binary data byte by byte.
func latin1String(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// equalTo is the = operator before NOT/!= are applied.
func equalTo(lit Literal, v any) (bool, error) {
	if lit.Kind == LitTimestamp {
		t, ok, err := observedTimestamp(v)
		if !ok || err != nil {
			return false, err
		}
		return t == micros(lit.Time), nil
	}
	switch lit.Kind {
	case LitInt, LitFloat:
		if n, ok := toNum(v); ok {
			c, ok := cmpNum(n, litNum(lit))
			return ok && c == 0, nil
		}
	case LitString:
		switch x := v.(type) {
		case string:
			return x == lit.Str, nil
		case []byte:
			b, ok := latin1(lit.Str)
			return ok && bytes.Equal(b, x), nil
		}
	case LitBool:
		if b, ok := v.(bool); ok {
			return b == lit.Bool, nil
		}
	case LitBinary, LitHex:
		switch x := v.(type) {
		case []byte:
			return bytes.Equal(x, lit.Bytes), nil
		case string:
			b, ok := latin1(x)
			return ok && bytes.Equal(b, lit.Bytes), nil
		}
	}
	return false, nil
}

// orderCompare compares value to literal for <, <=, >, >=. comparable is
// false when the reference has no ordering for the two types; in that
// case the comparison is false even under NOT. unorderable is set for a
// text value with code points above 255 against binary, which the
// reference treats as a false comparison that NOT does invert.
func orderCompare(lit Literal, v any) (c int, comparable, unorderable bool, err error) {
	if lit.Kind == LitTimestamp {
		t, ok, err := observedTimestamp(v)
		if !ok || err != nil {
			return 0, false, false, err
		}
		lt := micros(lit.Time)
		switch {
		case t < lt:
			return -1, true, false, nil
		case t > lt:
			return 1, true, false, nil
		}
		return 0, true, false, nil
	}
	switch lit.Kind {
	case LitInt, LitFloat:
		if n, ok := toNum(v); ok {
			c, ok := cmpNum(n, litNum(lit))
			if !ok {
				return 0, true, true, nil
			}
			return c, true, false, nil
		}
	case LitString:
		switch x := v.(type) {
		case string:
			return strings.Compare(x, lit.Str), true, false, nil
		case []byte:
			b, ok := latin1(lit.Str)
			if !ok {
				return 0, true, true, nil
			}
			return bytes.Compare(x, b), true, false, nil
		}
	case LitBinary, LitHex:
		switch x := v.(type) {
		case []byte:
			return bytes.Compare(x, lit.Bytes), true, false, nil
		case string:
			b, ok := latin1(x)
			if !ok {
				return 0, true, true, nil
			}
			return bytes.Compare(b, lit.Bytes), true, false, nil
		}
	}
	return 0, false, false, nil
}

// inSet is IN before NOT: Python set membership, so numbers and booleans
// compare numerically with each other (true == 1), text and binary never
// equal each other, and a set of timestamps parses text values.
func inSet(set []Literal, v any) (bool, error) {
	if len(set) == 0 {
		return false, nil
	}
	if set[0].Kind == LitTimestamp {
		t, ok, err := observedTimestamp(v)
		if !ok || err != nil {
			return false, err
		}
		for _, l := range set {
			if micros(l.Time) == t {
				return true, nil
			}
		}
		return false, nil
	}
	var vn num
	isNum := false
	if b, ok := v.(bool); ok {
		vn, isNum = num{isInt: true}, true
		if b {
			vn.i = 1
		}
	} else if n, ok := toNum(v); ok {
		vn, isNum = n, true
	}
	for _, l := range set {
		switch l.Kind {
		case LitInt, LitFloat, LitBool:
			if !isNum {
				continue
			}
			ln := litNum(l)
			if l.Kind == LitBool {
				ln = num{isInt: true}
				if l.Bool {
					ln.i = 1
				}
			}
			if c, ok := cmpNum(vn, ln); ok && c == 0 {
				return true, nil
			}
		case LitString:
			if s, ok := v.(string); ok && s == l.Str {
				return true, nil
			}
		case LitBinary, LitHex:
			if b, ok := v.([]byte); ok && bytes.Equal(b, l.Bytes) {
				return true, nil
			}
		}
	}
	return false, nil
}

// checkSet applies the reference's rule that a set holds one type, ints
// and floats mixing freely.
func checkSet(set []Literal) error {
	// The reference compares Python types: ints and floats mix, and hex
	// and base64 literals are both bytes.
	class := func(k LiteralKind) LiteralKind {
		switch k {
		case LitFloat:
			return LitInt
		case LitHex:
			return LitBinary
		}
		return k
	}
	for _, l := range set {
		if class(l.Kind) != class(set[0].Kind) {
			return evalErrorf("the IN set mixes %s and %s values", set[0].Kind, l.Kind)
		}
		if l.Kind == LitTimestamp && l.TimeErr != nil {
			return evalErrorf("%v", l.TimeErr)
		}
	}
	return nil
}

// observedTimestamp reads an observed value compared with a timestamp
// literal, in microseconds. ok is false (and err nil) when v is not text,
// which compares false; text that isn't a timestamp is an evaluation
// error.
func observedTimestamp(v any) (t int64, ok bool, err error) {
	s, ok := v.(string)
	if !ok {
		return 0, false, nil
	}
	ts, err := parseTimestamp(s)
	if err != nil {
		return 0, true, evalErrorf("an observed value compared with a timestamp literal is not a timestamp: %v", err)
	}
	return micros(ts), true, nil
}

// likeRegex converts a LIKE operand (already NFC) to an anchored regex
// with the reference's semantics: % is any run, _ one character, and the
// end may precede a final newline (Python's $).
func likeRegex(like string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`\A`)
	for _, r := range like {
		switch r {
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`(?:\n?\z)`)
	return regexp.MustCompile(b.String())
}

func allBelow256(s string) bool {
	for _, r := range s {
		if r >= 256 {
			return false
		}
	}
	return true
}

// likeMatch applies a compiled LIKE to a value; binary values are decoded
// as UTF-8 first when the operand is all Latin-1, as the reference does.
func likeMatch(re *regexp.Regexp, convertible bool, v any) (bool, error) {
	switch x := v.(type) {
	case []byte:
		if !convertible {
			return false, nil
		}
		if !utf8.Valid(x) {
			return false, evalErrorf("a binary value compared with LIKE is not valid UTF-8")
		}
		return re.MatchString(nfc(string(x))), nil
	case string:
		return re.MatchString(nfc(x)), nil
	}
	return false, nil
}

// parseIPv4 parses an address the way inet_aton does (the reference's
// parser): one to four parts, decimal, octal (leading 0) or hex (0x), the
// last part filling the remaining bytes.
func parseIPv4(s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return 0, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
			base, p = 16, p[2:]
			if p == "" {
				p = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		if p == "" {
			return 0, false
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return 0, false
		}
		vals[i] = v
	}
	var out uint64
	n := len(vals)
	for i := 0; i < n-1; i++ {
		if vals[i] > 255 {
			return 0, false
		}
		out |= vals[i] << (8 * (3 - i))
	}
	restBits := 8 * (4 - (n - 1))
	if restBits < 64 && vals[n-1] >= 1<<restBits {
		return 0, false
	}
	out |= vals[n-1]
	return uint32(out), true
}

func parseCIDR(s string, needPrefix bool) (ip uint32, prefix int, err error) {
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		if needPrefix {
			return 0, 0, evalErrorf("%q is not a CIDR subnet", s)
		}
		a, ok := parseIPv4(s)
		if !ok {
			return 0, 0, evalErrorf("%q is not an IPv4 address", s)
		}
		return a, 32, nil
	}
	a, ok := parseIPv4(s[:slash])
	if !ok {
		return 0, 0, evalErrorf("%q is not an IPv4 address or subnet", s)
	}
	ps := s[slash+1:]
	if ps == "" || strings.TrimLeft(ps, "0123456789") != "" {
		return 0, 0, evalErrorf("%q is not a CIDR subnet", s)
	}
	n, err := strconv.Atoi(ps)
	if err != nil || n < 1 || n > 32 {
		return 0, 0, evalErrorf("%q has a prefix length outside 1..32", s)
	}
	return a, n, nil
}

// ipInSubnet reports whether the address or subnet inner lies within the
// subnet outer. IPv4 text is read the way inet_aton reads it (the
// reference implementation's parser); text with a ':' is an IPv6 address
// or subnet (RFC 4291 section 2.2 and 2.3).
//
// An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2)
// is the IPv4 address a.b.c.d, and a mapped subnet of /96 or longer is
// the IPv4 subnet of 96 bits less: ::ffff:10.0.0.0/104 is 10.0.0.0/8. A
// mapped subnet shorter than /96 covers more than the mapped range and
// stays an IPv6 subnet. An IPv4 address is never inside an IPv6 subnet nor
// the reverse; that is a plain false, not an error.
func ipInSubnet(inner, outer string) (bool, error) {
	if strings.IndexByte(inner, ':') < 0 && strings.IndexByte(outer, ':') < 0 {
		return ipv4InSubnet(inner, outer)
	}
	ip, err := parseAnyCIDR(inner, false)
	if err != nil {
		return false, err
	}
	op, err := parseAnyCIDR(outer, true)
	if err != nil {
		return false, err
	}
	if ip.Addr().Is4() != op.Addr().Is4() || op.Bits() > ip.Bits() {
		return false, nil
	}
	return op.Contains(ip.Addr()), nil
}

// parseAnyCIDR parses an IPv4 or IPv6 address (as a full-length prefix)
// or subnet, unmapping IPv4-mapped IPv6 as [ipInSubnet] describes.
func parseAnyCIDR(s string, needPrefix bool) (netip.Prefix, error) {
	if strings.IndexByte(s, ':') < 0 {
		a, n, err := parseCIDR(s, needPrefix)
		if err != nil {
			return netip.Prefix{}, err
		}
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], a)
		return netip.PrefixFrom(netip.AddrFrom4(b), n).Masked(), nil
	}
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		if needPrefix {
			return netip.Prefix{}, evalErrorf("%q is not a CIDR subnet", s)
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, evalErrorf("%q is not an IPv6 address", s)
		}
		if a.Is4In6() {
			a = a.Unmap()
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Is4() {
		return netip.Prefix{}, evalErrorf("%q is not an IPv6 address or subnet", s)
	}
	if p.Bits() < 1 {
		return netip.Prefix{}, evalErrorf("%q has a prefix length outside 1..128", s)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		if p.Bits() == 0 {
			// ::ffff:0.0.0.0/96 is all of IPv4, which a 0-bit IPv4
			// prefix says.
			return netip.PrefixFrom(netip.IPv4Unspecified(), 0), nil
		}
	}
	return p.Masked(), nil
}

func ipv4InSubnet(inner, outer string) (bool, error) {
	ia, ip, err := parseCIDR(inner, false)
	if err != nil {
		return false, err
	}
	oa, op, err := parseCIDR(outer, true)
	if err != nil {
		return false, err
	}
	if op > ip {
		return false, nil
	}
	mask := uint32(0xffffffff) << (32 - op)
	return ia&mask == oa&mask, nil
}

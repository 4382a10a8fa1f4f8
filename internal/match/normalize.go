package match

import (
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/parley-exchange/parley/private"
)

// The decoders normalise every value exactly as [private.Normalize] does,
// so that an indicator, a private-set tag and a log field agree on one
// form. Normalize allocates, so values that are already in normal form
// (nearly all of them in real logs) are recognised by cheap checks and
// used as they are; only the rest go through private.Normalize.

// bstr views b as a string without copying; the string must not outlive b
// or be kept after b changes.
func bstr(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// normIP returns the canonical text of an IPv4 or IPv6 address.
func (e *Event) normIP(v []byte) (n []byte, v6 bool, ok bool) {
	if canonicalIPv4(v) {
		return v, false, true
	}
	a, err := netip.ParseAddr(bstr(v))
	if err != nil || a.Zone() != "" {
		return nil, false, false
	}
	if a.Is4In6() {
		a = a.Unmap()
	}
	start := len(e.arena)
	e.arena = a.AppendTo(e.arena)
	n = e.arena[start:len(e.arena):len(e.arena)]
	if string(n) == string(v) {
		// Already canonical: alias the input and give the arena back.
		e.arena = e.arena[:start]
		n = v
	}
	return n, a.Is6(), true
}

// canonicalIPv4 recognises a dotted quad already in canonical form (four
// decimal octets up to 255, no leading zeros), the common case, without
// netip's parse and print.
func canonicalIPv4(v []byte) bool {
	if len(v) < 7 || len(v) > 15 {
		return false
	}
	parts, val, digits := 0, 0, 0
	for i := 0; i <= len(v); i++ {
		if i == len(v) || v[i] == '.' {
			if digits == 0 || val > 255 || (digits > 1 && v[i-digits] == '0') {
				return false
			}
			parts++
			val, digits = 0, 0
			continue
		}
		c := v[i]
		if c < '0' || c > '9' || digits == 3 {
			return false
		}
		val = val*10 + int(c-'0')
		digits++
	}
	return parts == 4
}

// normDomain returns the private.Normalize form of a domain name.
func (e *Event) normDomain(v []byte) ([]byte, bool) {
	if len(v) == 0 || len(v) > 254 {
		return nil, false
	}
	if plainDomain(v) {
		return v, true
	}
	s, err := private.Normalize(private.TypeDomainName, string(v))
	if err != nil || !hostName(s) {
		return nil, false
	}
	return e.save([]byte(s)), true
}

// hostName reports whether a normalised name can be a host's domain name
// rather than something else that sensors write where names go: an IP
// literal in an SNI or a DNS query ("192.0.2.1", a reverse lookup's
// numbers, "0x7f.1"), whose last label is all digits (RFC 3696 section 2:
// a top-level domain is never all-numeric), or a wildcard ("*", as in
// "*.example.com" from a certificate or a wildcard query), which names no
// host, nor is a name with other punctuation. plainDomain accepts none of
// these, so only the slow path asks.
func hostName(s string) bool {
	// After private.Normalize a name is ASCII (IDNA A-labels): anything
	// but letters, digits, '-', '_' and dots ('*', ',', '!') is not a
	// host name.
	for i := 0; i < len(s); i++ {
		if domainClass[s[i]] == classOther {
			return false
		}
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return true
		}
	}
	return false // all digits, or empty
}

// plainDomain reports whether v is already a normalised domain name: lower-
// case LDH (and underscore) labels of 1 to 63 octets, the last with a
// letter (an address is not a name, see hostName), no trailing dot, no "xn--" label that
// would need checking. It runs on every name of every event, so the bytes
// are classified by a table and only dots take a branch.
func plainDomain(v []byte) bool {
	var seen byte
	label := 0 // where the current label starts
	for i, c := range v {
		k := domainClass[c]
		seen |= k
		if k == classDot {
			if n := i - label; n == 0 || n > 63 || n >= 4 && string(v[label:label+4]) == "xn--" {
				return false
			}
			label = i + 1
		}
	}
	n := len(v) - label
	if seen&(classOther) != 0 || seen&classLetter == 0 || n <= 0 || n > 63 || n >= 4 && string(v[label:label+4]) == "xn--" {
		return false
	}
	// The last label has a letter (see hostName): the top-level domain
	// is short, so this costs a few bytes' look.
	for _, c := range v[label:] {
		if domainClass[c] == classLetter {
			return true
		}
	}
	return false
}

// Byte classes of plainDomain.
const (
	classLetter = 1 << iota // a-z, '-', '_'
	classDigit
	classDot
	classOther
)

var domainClass = func() (t [256]byte) {
	for c := range t {
		switch {
		case c >= 'a' && c <= 'z' || c == '-' || c == '_':
			t[c] = classLetter
		case c >= '0' && c <= '9':
			t[c] = classDigit
		case c == '.':
			t[c] = classDot
		default:
			t[c] = classOther
		}
	}
	return t
}()

// normURL returns the private.Normalize form of an absolute URL.
func (e *Event) normURL(v []byte) ([]byte, bool) {
	if len(v) == 0 || len(v) > 8192 {
		return nil, false
	}
	if plainURL(v) {
		return v, true
	}
	if !utf8.Valid(v) {
		v = percentInvalidUTF8(v)
	}
	s, err := private.Normalize(private.TypeURL, string(v))
	if err != nil {
		return nil, false
	}
	return e.save([]byte(s)), true
}

// percentInvalidUTF8 percent-encodes the bytes of v that are not part of
// valid UTF-8. A request target is bytes, not text: Zeek logs a raw
// Latin-1 byte of a URI as it came (TSV "\xfc"), and the only way an
// indicator, a UTF-8 string, can name that URL is "%FC" (RFC 3986 section
// 2.1), which is what URL normalisation makes of every other byte that
// may not appear in a URI.
func percentInvalidUTF8(v []byte) []byte {
	const hexUpper = "0123456789ABCDEF"
	out := make([]byte, 0, len(v)+16)
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && n == 1 {
			out = append(out, '%', hexUpper[v[i]>>4], hexUpper[v[i]&15])
		} else {
			out = append(out, v[i:i+n]...)
		}
		i += n
	}
	return out
}

// plainURL recognises the common already-normal URL: "http://" or
// "https://", a plain lower-case host without port, then a path that is
// non-empty, has no percent sign, no dot segment and only characters RFC
// 3986 allows.
func plainURL(v []byte) bool {
	s := bstr(v)
	switch {
	case strings.HasPrefix(s, "http://"):
		s = s[7:]
	case strings.HasPrefix(s, "https://"):
		s = s[8:]
	default:
		return false
	}
	slash := strings.IndexByte(s, '/')
	if slash <= 0 || !plainDomain(v[len(v)-len(s):len(v)-len(s)+slash]) {
		return false
	}
	path := s[slash:]
	if strings.Contains(path, "/.") {
		return false
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c == '#' {
			return false
		}
		if !(isUnreservedByte(c) || strings.IndexByte(":/?[]@!$&'()*+,;=", c) >= 0) {
			return false
		}
	}
	return true
}

func isUnreservedByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func (e *Event) normEmail(v []byte) ([]byte, bool) {
	at := strings.LastIndexByte(bstr(v), '@')
	if at <= 0 || at == len(v)-1 || len(v) > 512 {
		return nil, false
	}
	if plainDomain(v[at+1:]) {
		for _, c := range v[:at] {
			if c <= ' ' || c >= 0x7f {
				goto slow
			}
		}
		return v, true
	}
slow:
	s, err := private.Normalize(private.TypeEmail, string(v))
	if err != nil {
		return nil, false
	}
	return e.save([]byte(s)), true
}

// hexLen is the digest length in hex digits of a hash attribute.
func hexLen(a Attr) int {
	switch a {
	case AttrFileMD5, AttrX509MD5:
		return 32
	case AttrFileSHA1, AttrX509SHA1:
		return 40
	default:
		return 64
	}
}

// normHex returns v as lower-case hex of n digits; colons (as in
// Suricata's certificate fingerprints) are dropped.
func (e *Event) normHex(v []byte, n int) ([]byte, bool) {
	plain := len(v) == n
	if plain {
		for _, c := range v {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				plain = false
				break
			}
		}
		if plain {
			return v, true
		}
	}
	start := len(e.arena)
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
			e.arena = append(e.arena, c)
		case c >= 'A' && c <= 'F':
			e.arena = append(e.arena, c+'a'-'A')
		case c == ':':
		default:
			e.arena = e.arena[:start]
			return nil, false
		}
	}
	if len(e.arena)-start != n {
		e.arena = e.arena[:start]
		return nil, false
	}
	return e.arena[start:len(e.arena):len(e.arena)], true
}

// normInt returns the decimal text of a non-negative integer given as a
// JSON number or numeric string ("443", "443.0"), without leading zeros.
func normInt(v []byte) ([]byte, bool) {
	if i := strings.IndexByte(bstr(v), '.'); i >= 0 {
		for _, c := range v[i+1:] {
			if c != '0' {
				return nil, false
			}
		}
		v = v[:i]
	}
	if len(v) == 0 || len(v) > 18 {
		return nil, false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	for len(v) > 1 && v[0] == '0' {
		v = v[1:]
	}
	return v, true
}

func (e *Event) lower(v []byte) []byte {
	for i, c := range v {
		if c >= 'A' && c <= 'Z' {
			start := len(e.arena)
			e.arena = append(e.arena, v[:i]...)
			for _, c := range v[i:] {
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				e.arena = append(e.arena, c)
			}
			return e.arena[start:len(e.arena):len(e.arena)]
		}
	}
	return v
}

// timeCache makes RFC 3339 parsing cheap for log streams: consecutive
// records share their date, hour and zone, so the start of that hour is
// computed once and each record adds its minutes, seconds and fraction.
type timeCache struct {
	key  [32]byte // "YYYY-MM-DDTHH" + zone text
	n    int
	hour time.Time
}

// parseEpoch parses Zeek's time stamps: seconds since the epoch with a
// fraction ("1258535653.087137", the default and JSON::TS_EPOCH) or
// integer milliseconds ("1258535653087", JSON::TS_MILLIS). An integer of
// 1e11 or more is milliseconds: as seconds it would be past the year
// 5000, as milliseconds it is after March 1973. (JSON::TS_ISO8601 gives
// RFC 3339 text, which timeCache.parse reads.)
func parseEpoch(v []byte) (time.Time, bool) {
	var sec, frac, scale int64 = 0, 0, 1
	i := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		sec = sec*10 + int64(v[i]-'0')
		if sec > 1e15 {
			return time.Time{}, false
		}
	}
	if i == 0 {
		return time.Time{}, false
	}
	if i == len(v) && sec >= 1e11 {
		return time.UnixMilli(sec).UTC(), true
	}
	if sec > 1e11 {
		return time.Time{}, false
	}
	if i < len(v) && v[i] == '.' {
		i++
		for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			if scale < 1e9 {
				frac = frac*10 + int64(v[i]-'0')
				scale *= 10
			}
		}
	}
	if i != len(v) {
		return time.Time{}, false
	}
	return time.Unix(sec, frac*(1e9/scale)).UTC(), true
}

// parse parses RFC 3339 time stamps ("2009-11-24T21:27:09.534255Z",
// "...+01:00") and Suricata's variant with a numeric offset without a
// colon ("2009-11-24T21:27:09.534255+0100"), returning UTC.
func (c *timeCache) parse(v []byte) (time.Time, bool) {
	if len(v) < 20 || len(v) > 40 || v[4] != '-' || v[7] != '-' || (v[10] != 'T' && v[10] != ' ') || v[13] != ':' || v[16] != ':' {
		return time.Time{}, false
	}
	num := func(i int) int {
		a, b := v[i]-'0', v[i+1]-'0'
		if a > 9 || b > 9 {
			return -1
		}
		return int(a)*10 + int(b)
	}
	min, sec := num(14), num(17)
	if min < 0 || min > 59 || sec < 0 || sec > 60 {
		return time.Time{}, false
	}
	i := 19
	var frac, scale int64 = 0, 1
	if v[i] == '.' {
		i++
		start := i
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			if scale < 1e9 {
				frac = frac*10 + int64(v[i]-'0')
				scale *= 10
			}
			i++
		}
		if i == start {
			return time.Time{}, false
		}
	}
	zone := v[i:]
	if len(zone)+13 > len(c.key) {
		return time.Time{}, false
	}
	if c.n != 13+len(zone) || string(c.key[:13]) != string(v[:13]) || string(c.key[13:c.n]) != string(zone) {
		h, ok := hourStart(v, zone)
		if !ok {
			return time.Time{}, false
		}
		c.n = copy(c.key[:], v[:13])
		c.n += copy(c.key[13:], zone)
		c.hour = h
	}
	return c.hour.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second + time.Duration(frac*(1e9/scale))), true
}

// hourStart returns the UTC instant of "YYYY-MM-DDTHH" in the given zone
// ("Z", "+0100", "+01:00").
func hourStart(v, zone []byte) (time.Time, bool) {
	digits := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d, h := digits(v[0:4]), digits(v[5:7]), digits(v[8:10]), digits(v[11:13])
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 {
		return time.Time{}, false
	}
	off := 0
	switch {
	case len(zone) == 1 && (zone[0] == 'Z' || zone[0] == 'z'):
	case len(zone) == 5 && (zone[0] == '+' || zone[0] == '-'):
		hh, mm := digits(zone[1:3]), digits(zone[3:5])
		if hh < 0 || mm < 0 {
			return time.Time{}, false
		}
		off = hh*3600 + mm*60
	case len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':':
		hh, mm := digits(zone[1:3]), digits(zone[4:6])
		if hh < 0 || mm < 0 {
			return time.Time{}, false
		}
		off = hh*3600 + mm*60
	default:
		return time.Time{}, false
	}
	if zone[0] == '-' {
		off = -off
	}
	t := time.Date(y, time.Month(mo), d, h, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // February 30th and friends
	}
	return t.Add(-time.Duration(off) * time.Second), true
}

// appendDERSerial is appendSerial for a serial written as its DER
// INTEGER's content bytes, as Suricata writes tls.serial: two's
// complement, so a first byte of 128 or more (a positive serial gets a
// 00 before it) is a negative serial, which a non-conforming CA issued.
// Its normal form is the sign and the magnitude, as Zeek writes it
// (OpenSSL's i2a_ASN1_INTEGER) and appendSerial keeps it: Suricata's
// "FF" is -1, "-01"; "FF:7F" is -129, "-81". Anything else (a positive
// serial, a value that is not whole bytes of hex) is appendSerial's.
func appendDERSerial(dst, v []byte) []byte {
	var buf [64]byte
	b := buf[:0]
	hi, half := byte(0), false
	for _, c := range v {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c == ':' || c == ' ':
			continue
		default:
			return appendSerial(dst, v)
		}
		if half {
			b = append(b, hi<<4|d)
		} else {
			hi = d
		}
		half = !half
	}
	if half || len(b) == 0 || b[0] < 0x80 {
		return appendSerial(dst, v)
	}
	// The magnitude of a negative two's complement number: invert, add 1.
	carry := true
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = ^b[i]
		if carry {
			b[i]++
			carry = b[i] == 0
		}
	}
	const hexDigits = "0123456789abcdef"
	mag := make([]byte, 0, 1+2*len(b))
	mag = append(mag, '-')
	for _, x := range b {
		mag = append(mag, hexDigits[x>>4], hexDigits[x&15])
	}
	return appendSerial(dst, mag)
}

// appendSerial appends to dst the normal form of a certificate's serial
// number: its hex digits in lower case, a colon between bytes (the form
// of STIX 2.1's own x509-certificate example) and no leading zero bytes.
// Sensors write one serial in several forms: Suricata the DER content
// bytes with colons and a 00 before a first byte of 128 or more
// ("00:C7:D4:28:8B:80:E0:1E:25"), Zeek the integer's hex without colons
// ("C7D4288B80E01E25"), Elastic's suricata pipeline Suricata's without
// colons ("00C7D4288B80E01E25"), as ECS asks. A value with anything but
// hex digits and ':', '-' or ' ' between them is appended as written.
//
// A leading '-' is a sign, not a separator: Zeek writes a negative serial
// (a DER INTEGER whose first content byte is 128 or more, which
// non-conforming CAs issue) as OpenSSL's i2a_ASN1_INTEGER does, "-" and
// the magnitude's hex ("-01" for -1), and that is another certificate's
// serial than 1's. Its normal form keeps the sign ("-01"). Suricata
// writes the same serial as DER's two's complement bytes ("FF"), which
// appendDERSerial reads; here a value is a magnitude, "FF" is 255 (Zeek
// writes a positive serial's hex with no 00 before a first byte of 128
// or more, and indicators are written so).
func appendSerial(dst, v []byte) []byte {
	if len(v) > 1 && v[0] == '-' {
		start := len(dst)
		dst = appendSerial(append(dst, '-'), v[1:])
		switch rest := dst[start+1:]; {
		case len(rest) == 0 || rest[0] == '-' || !isHexDigit(rest[0]):
			// not a signed hex number: as written
			return append(dst[:start], v...)
		case string(rest) == "00":
			return append(dst[:start], "00"...) // -0 is 0
		}
		return dst
	}
	digits := 0
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			digits++
		case c == ':' || c == '-' || c == ' ':
		default:
			return append(dst, v...)
		}
	}
	if digits == 0 {
		return append(dst, v...)
	}
	// skip leading zero digits, keeping one byte
	skip, seen := 0, 0
	for _, c := range v {
		if c == ':' || c == '-' || c == ' ' {
			continue
		}
		if c != '0' || seen == digits-1 {
			break
		}
		skip++
		seen++
	}
	n := digits - skip
	odd := n%2 == 1
	i := 0 // digits written
	if odd {
		dst = append(dst, '0')
		i = 1
	}
	seen = 0
	for _, c := range v {
		if c == ':' || c == '-' || c == ' ' {
			continue
		}
		seen++
		if seen <= skip {
			continue
		}
		if i > 0 && i%2 == 0 {
			dst = append(dst, ':')
		}
		if c >= 'A' && c <= 'F' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

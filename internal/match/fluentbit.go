package match

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// fluentBitReader splits Fluent Bit batches without allocating per record:
// its scanner's buffer holds the unescaped "log" lines of the message being
// read and is reused for the next, and the record slices point into the
// message or that buffer. It is not safe for concurrent use.
type fluentBitReader struct {
	s    scanner
	recs [][]byte
	// max, when positive, bounds the records returned; over counts
	// those of the last message past it.
	max, over int
	buf       []byte   // the unescaped "log" lines of an ASCII message
	masks     []uint64 // its quotes and backslashes (see specialMasks)
}

// records returns the records of data as [FluentBitRecords] does; they are
// valid until the next call.
func (r *fluentBitReader) records(data []byte) ([][]byte, bool) {
	r.over = 0
	recs, ok, sure := r.fast(data)
	if sure {
		return recs, ok
	}
	recs, r.over, ok = fluentBitRecordsGeneralMax(data, r.max)
	return recs, ok
}

// fast reads the common shape of a batch, compact JSON as Fluent Bit writes
// it, with the matcher's scanner. sure is false when the message has
// anything the general reader (encoding/json) might judge otherwise: a
// control character anywhere (encoding/json rejects one inside a string,
// the scanner tolerates it), a time stamp that is not a plain decimal
// number, a record key with an escape, a "log" string with an escape
// sequence it does not handle the same way or a byte outside ASCII
// (encoding/json replaces invalid UTF-8), or two keys that may be the same.
// Then the caller asks the general reader; the two agree on every input
// where sure is true (TestFluentBitFastAgrees, FuzzFluentBitFast).
func (r *fluentBitReader) fast(data []byte) (recs [][]byte, ok, sure bool) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '[' {
		return nil, false, true
	}
	// The masks of quotes and backslashes for unescapeASCII, and the
	// control and ASCII tests, in one pass over the message's blocks of 64
	// bytes; the tail after them by itself.
	nb := len(data) / 64
	r.masks = slices.Grow(r.masks[:0], nb)[:nb]
	control, high := specialMasks(data, r.masks)
	tailControl, tailASCII := controlASCII(data[nb*64:])
	if control || tailControl {
		return nil, false, false
	}
	ascii := !high && tailASCII
	r.buf = r.buf[:0]
	s := &r.s
	s.reset(data)
	s.pos = 1
	recs = r.recs[:0]
	defer func() { r.recs = recs[:0] }()
	for first := true; ; first = false {
		more, err := s.nextElem(first)
		if err != nil {
			return nil, false, false
		}
		if !more {
			break
		}
		// [time, record]
		if s.openArray() != nil {
			return nil, false, false
		}
		if s.peek() != kindNumber {
			return nil, false, false
		}
		start := s.pos
		if s.number() != nil {
			return nil, false, false
		}
		if !plainDecimal(data[start:s.pos]) {
			return nil, false, false
		}
		if more, err := s.nextElem(false); err != nil || !more {
			return nil, false, false
		}
		s.skipSpace()
		if s.peek() != kindObject {
			return nil, false, false
		}
		objStart := s.pos
		s.pos++
		var keys [8][]byte
		nkeys := 0
		var log []byte
		hasLog, hasTag := false, false
		for kf := true; ; kf = false {
			s.skipSpace()
			if s.pos >= len(data) {
				return nil, false, false
			}
			if data[s.pos] == '}' {
				s.pos++
				break
			}
			if !kf {
				if data[s.pos] != ',' {
					return nil, false, false
				}
				s.pos++
				s.skipSpace()
			}
			if s.pos >= len(data) || data[s.pos] != '"' {
				return nil, false, false
			}
			// Keys with escapes are left to the general reader.
			end := plainEnd(data, s.pos+1)
			if end < 0 {
				return nil, false, false
			}
			k := data[s.pos+1 : end]
			s.pos = end + 1
			s.skipSpace()
			if s.pos >= len(data) || data[s.pos] != ':' {
				return nil, false, false
			}
			s.pos++
			if nkeys < len(keys) {
				keys[nkeys] = k
			}
			nkeys++
			switch string(k) {
			case "log":
				if hasLog || s.peek() != kindString {
					return nil, false, false
				}
				hasLog = true
				if ascii {
					// The common case, by runs between escapes.
					var end int
					log, r.buf, end = unescapeASCII(data, s.pos, r.buf, r.masks)
					if end < 0 {
						return nil, false, false
					}
					s.pos = end
					continue
				}
				vstart := s.pos
				v, err := s.str()
				if err != nil || !asciiNoSurrogate(data[vstart:s.pos]) {
					return nil, false, false
				}
				log = v
				continue
			case "tag":
				hasTag = true
			}
			if err := s.skip(1); err != nil {
				return nil, false, false
			}
		}
		rec := data[objStart:s.pos]
		if more, err := s.nextElem(false); err != nil || more {
			return nil, false, false
		}
		distinct := nkeys
		if hasLog && nkeys > 2 {
			// encoding/json keeps the last of equal keys: count them
			// as the general reader's map does.
			if nkeys > len(keys) {
				return nil, false, false
			}
			distinct = 0
			for i := 0; i < nkeys; i++ {
				dup := false
				for j := 0; j < i; j++ {
					dup = dup || bytes.Equal(keys[i], keys[j])
				}
				if !dup {
					distinct++
				}
			}
		}
		if r.max > 0 && len(recs) >= r.max {
			r.over++
		} else if hasLog && distinct <= 2 && (hasTag || distinct == 1) {
			recs = append(recs, log)
		} else {
			recs = append(recs, rec)
		}
	}
	if s.end() != nil || len(recs) == 0 {
		r.over = 0
		return nil, false, false
	}
	return recs, true, true
}

// plainDecimal reports whether a JSON number is one encoding/json parses
// into a float64 without a range error: no exponent, at most 300 digits.
func plainDecimal(n []byte) bool {
	if len(n) > 300 {
		return false
	}
	for _, c := range n {
		if c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// asciiNoSurrogate reports whether a quoted JSON string (quotes included)
// is ASCII and has no \u escape of a surrogate, the cases where the
// scanner's unescaping is plainly that of encoding/json.
func asciiNoSurrogate(q []byte) bool {
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c >= 0x80 {
			return false
		}
		if c == '\\' && i+1 < len(q) {
			if q[i+1] == 'u' && i+2 < len(q) && (q[i+2] == 'd' || q[i+2] == 'D') {
				return false
			}
			i++
		}
	}
	return true
}

// controlASCII reports whether b holds a byte below 0x20 and whether it
// has none of 0x80 or above, eight bytes at a time.
func controlASCII(b []byte) (control, ascii bool) {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	var ctl, high uint64
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// A byte below 0x20 and below 0x80 sets its high bit in ctl.
		ctl |= (x - lo*0x20) &^ x & hi
		high |= x & hi
	}
	for ; i < len(b); i++ {
		ctl |= uint64(b2u(b[i] < 0x20))
		high |= uint64(b[i]) & 0x80
	}
	return ctl != 0, high == 0
}

func b2u(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// unescapeASCII reads the JSON string that starts with the quote at
// d[start], in a message with no byte outside ASCII and no control
// character, as encoding/json decodes it: its content (d's own bytes when
// it has no escape, else appended to buf, which is returned grown) and
// the index after its closing quote. end is -1 for anything it does not
// decode the same way: a bad escape, a \u escape of a surrogate, no
// closing quote. masks holds the masks of quotes and backslashes of d's
// blocks of 64 bytes (see [specialMasks]), any number of them.
//
// Every quote of a JSON line under "log" is escaped, so the runs between
// escapes are short (seven bytes on average in Zeek and EVE lines).
// Rather than look for each escape from the end of the one before (a
// chain of dependent loads and arithmetic for every escape), it takes
// them from the masks; each run is copied eight bytes at a time to the
// end of buf whatever follows it, and the next copy or escape overwrites
// the excess. The string's content is never longer than its escaped
// form, so buf is grown once, by what is left of d and the room those
// copies need; a caller that reads several strings of one message into
// buf with room for all of d grows it never.
func unescapeASCII(d []byte, start int, buf []byte, masks []uint64) (s, grown []byte, end int) {
	i0 := start + 1
	// d[i:] is not copied yet; o is where it goes in out, once the first
	// escape made a copy needed. o-off <= i-i0 throughout: no escape is
	// shorter than what it stands for. So an eight-byte copy at o of the
	// run that a quote or backslash at p ends, with p+8 <= len(d), stays
	// within out.
	i, off, o := i0, len(buf), len(buf)
	var out []byte
	escaped := false
	k := i / 64
	for ; k < len(masks) && k*64+64+8 <= len(d); k++ {
		base := k * 64
		m := masks[k]
		if i > base {
			// Bytes before the string, or consumed by an escape that
			// began in the block before.
			m &= ^uint64(0) << uint(min(i-base, 64))
		}
		for m != 0 {
			p := base + bits.TrailingZeros64(m)
			if !escaped {
				if d[p] == '"' {
					return d[i0:p:p], buf, p + 1
				}
				if need := len(d) - i0 + 8; cap(buf)-off < need {
					buf = slices.Grow(buf, need)
				}
				out = buf[:cap(buf)]
				escaped = true
			}
			n := p - i
			binary.LittleEndian.PutUint64(out[o:], binary.LittleEndian.Uint64(d[i:]))
			for c := 8; c < n; c += 8 {
				binary.LittleEndian.PutUint64(out[o+c:], binary.LittleEndian.Uint64(d[i+c:]))
			}
			o += n
			if d[p] == '"' {
				return out[off:o:o], out[:o], p + 1
			}
			if e := d[p+1]; e == '"' {
				// The common escape, here rather than in a call: the
				// escaped quote is the next bit of m (or the first of
				// the next block, which starts after i).
				out[o] = e
				o++
				i = p + 2
				m &= m - 1
				m &= m - 1
				continue
			}
			var ok bool
			if i, o, ok = unescapeOne(d, p, out, o); !ok {
				return nil, buf, -1
			}
			m &= ^uint64(0) << uint(min(i-base, 64))
		}
	}
	// The tail, a quote or backslash at a time.
	for {
		j := nextQuoteOrBackslash(d, i)
		if j < 0 {
			return nil, buf, -1
		}
		if !escaped {
			if d[j] == '"' {
				return d[i0:j:j], buf, j + 1
			}
			if need := len(d) - i0 + 8; cap(buf)-off < need {
				buf = slices.Grow(buf, need)
			}
			out = buf[:cap(buf)]
			escaped = true
		}
		o += copy(out[o:], d[i:j])
		if d[j] == '"' {
			return out[off:o:o], out[:o], j + 1
		}
		var ok bool
		if i, o, ok = unescapeOne(d, j, out, o); !ok {
			return nil, buf, -1
		}
	}
}

// unescapeOne decodes the escape whose backslash is at d[p] into out at o
// as encoding/json does, returning the indexes after it in d and out; ok
// is false for an escape that unescapeASCII leaves to encoding/json.
func unescapeOne(d []byte, p int, out []byte, o int) (i, o2 int, ok bool) {
	if p+1 >= len(d) {
		return 0, 0, false
	}
	switch e := d[p+1]; e {
	case '"', '\\', '/':
		out[o] = e
	case 'b':
		out[o] = '\b'
	case 'f':
		out[o] = '\f'
	case 'n':
		out[o] = '\n'
	case 'r':
		out[o] = '\r'
	case 't':
		out[o] = '\t'
	case 'u':
		r, next := hex4(d, p+2)
		if next < 0 || r >= 0xD800 && r < 0xE000 {
			return 0, 0, false
		}
		// At most three bytes for the six read.
		return next, o + utf8.EncodeRune(out[o:], r), true
	default:
		return 0, 0, false
	}
	return p + 2, o + 1, true
}

// specialMasksGo is [specialMasks] eight bytes at a time.
func specialMasksGo(d []byte, m []uint64) (control, high bool) {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	var ctl, hig uint64
	for k := 0; k < len(m) && k*64+64 <= len(d); k++ {
		b := d[k*64 : k*64+64]
		var mk uint64
		for w := 0; w < 8; w++ {
			x := binary.LittleEndian.Uint64(b[w*8:])
			mk |= uint64(quoteOrBackslash8(x)) << (w * 8)
			// As in controlASCII.
			ctl |= (x - lo*0x20) &^ x & hi
			hig |= x & hi
		}
		m[k] = mk
	}
	return ctl != 0, hig != 0
}

// quoteOrBackslash8 returns a mask of the quotes and backslashes among
// the eight bytes of x (little-endian), bit i for byte i. Unlike the test
// of nextQuoteOrBackslash it is exact for every byte: a 7-bit sum never
// carries into the next byte.
func quoteOrBackslash8(x uint64) uint8 {
	const lo, low7, hi = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	q, b := x^(lo*'"'), x^(lo*'\\')
	// The high bit of a byte of z is set where q or b is zero.
	z := hi &^ (((q&low7 + low7) | q) & ((b&low7 + low7) | b))
	// Gather the high bits (7, 15, ... 63) into the top byte.
	return uint8((z >> 7) * 0x0102040810204080 >> 56)
}

// nextQuoteOrBackslash returns the index of the first '"' or '\\' in d
// from i, or -1, eight bytes at a time.
func nextQuoteOrBackslash(d []byte, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(d); i += 8 {
		x := binary.LittleEndian.Uint64(d[i:])
		q, b := x^(lo*'"'), x^(lo*'\\')
		// A zero byte of q or b sets its high bit here; the lowest one
		// set is exact (a borrow only reaches bytes above it).
		if m := ((q - lo) &^ q & hi) | ((b - lo) &^ b & hi); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(d); i++ {
		if d[i] == '"' || d[i] == '\\' {
			return i
		}
	}
	return -1
}

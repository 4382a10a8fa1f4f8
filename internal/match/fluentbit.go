package match

import (
	"bytes"
	"encoding/binary"
)

// fluentBitReader splits Fluent Bit batches without allocating per record:
// its scanner's buffer holds the unescaped "log" lines of the message being
// read and is reused for the next, and the record slices point into the
// message or that buffer. It is not safe for concurrent use.
type fluentBitReader struct {
	s    scanner
	recs [][]byte
}

// records returns the records of data as [FluentBitRecords] does; they are
// valid until the next call.
func (r *fluentBitReader) records(data []byte) ([][]byte, bool) {
	recs, ok, sure := r.fast(data)
	if sure {
		return recs, ok
	}
	return fluentBitRecordsGeneral(data)
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
	if hasControl(data) {
		return nil, false, false
	}
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
		if hasLog && distinct <= 2 && (hasTag || distinct == 1) {
			recs = append(recs, log)
		} else {
			recs = append(recs, rec)
		}
	}
	if s.end() != nil || len(recs) == 0 {
		return nil, false, false
	}
	return recs, true, true
}

// hasControl reports whether b holds a byte below 0x20, eight at a time.
func hasControl(b []byte) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// A byte below 0x20 and below 0x80 sets its high bit here.
		if (x-lo*0x20)&^x&hi != 0 {
			return true
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 {
			return true
		}
	}
	return false
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

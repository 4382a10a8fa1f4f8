package match

import (
	"bytes"
	"errors"
	"fmt"
)

// Zeek's default log format is its ASCII writer's tab-separated text
// (Zeek's "Logging Framework" and LogAscii documentation): a header of
// "#" lines, then one record a line, then "#close". The header gives
//
//	#separator \x09            the field separator, as \x escapes
//	#set_separator<sep>,       separates the elements of sets and vectors
//	#empty_field<sep>(empty)   an empty set, vector or string
//	#unset_field<sep>-         a field with no value
//	#path<sep>conn             which log (not needed: see zeekTable)
//	#open<sep>..., #close<sep>...
//	#fields<sep>ts<sep>uid<sep>id.orig_h...
//	#types<sep>time<sep>string<sep>addr...
//
// Several logs may be concatenated (a rotated file, cat *.log): each new
// header replaces the previous one. Inside values the writer escapes the
// separator, the set separator (inside sets and vectors), non-printable
// bytes and a value that would read as the unset or empty marker as
// \xHH, and doubles a backslash; the decoder undoes both.
//
// A record's columns are read through zeekTable, the same field table as
// Zeek's JSON output (whose keys are the #fields names), so a TSV log and
// its JSON twin give the same events.

// tsvState is the header in force for the Zeek TSV lines being decoded.
type tsvState struct {
	active       bool // a #fields line has been seen since the last #separator or #close
	sep, setSep  []byte
	empty, unset []byte
	fields       [][]byte
	containers   []bool      // per column: a set or vector
	numeric      []bool      // per column: time, interval, count, int, double, port
	table        *fieldTable // the table cols was computed for
	cols         []handler   // per column: the handler, nil to skip
	last         int         // the last column with a handler, -1 if none
}

func (s *tsvState) reset() {
	*s = tsvState{sep: append(s.sep[:0], '\t'), setSep: append(s.setSep[:0], ','),
		empty: append(s.empty[:0], "(empty)"...), unset: append(s.unset[:0], '-'),
		fields: s.fields[:0], containers: s.containers[:0], numeric: s.numeric[:0], cols: s.cols[:0]}
}

var errTSVHeader = errors.New("bad Zeek TSV header")

// header reads one "#" line. Unknown directives (#path, #open, a
// comment) are ignored; a malformed known one is an error.
func (s *tsvState) header(line []byte) error {
	switch {
	case bytes.HasPrefix(line, []byte("#separator")):
		rest := line[len("#separator"):]
		if len(rest) < 2 || rest[0] != ' ' && rest[0] != '\t' {
			return fmt.Errorf("%w: #separator without a value", errTSVHeader)
		}
		sep := unescapeZeek(nil, rest[1:])
		if len(sep) == 0 {
			return fmt.Errorf("%w: #separator %q", errTSVHeader, rest[1:])
		}
		s.reset()
		s.sep = sep
		return nil
	case bytes.HasPrefix(line, []byte("#close")):
		s.active = false
		return nil
	}
	if s.sep == nil {
		s.reset()
	}
	name, rest, _ := bytes.Cut(line[1:], s.sep)
	val := unescapeZeek(nil, rest)
	switch string(name) {
	case "set_separator":
		if len(val) == 0 {
			return fmt.Errorf("%w: empty #set_separator", errTSVHeader)
		}
		s.setSep = val
	case "empty_field":
		s.empty = val
	case "unset_field":
		s.unset = val
	case "fields":
		// The names are kept (the handlers are looked up again when the
		// decoder's field mask changes), so they are copied out of the
		// line, whose buffer the reader reuses.
		s.fields = s.fields[:0]
		for _, f := range bytes.Split(unescapeZeek(nil, rest), s.sep) {
			s.fields = append(s.fields, f)
		}
		s.containers = append(s.containers[:0], make([]bool, len(s.fields))...)
		s.numeric = append(s.numeric[:0], make([]bool, len(s.fields))...)
		s.table = nil
		s.active = true
	case "types":
		types := bytes.Split(rest, s.sep)
		if len(types) != len(s.fields) {
			return fmt.Errorf("%w: #types has %d columns, #fields %d", errTSVHeader, len(types), len(s.fields))
		}
		for i, t := range types {
			s.containers[i] = bytes.HasPrefix(t, []byte("set[")) || bytes.HasPrefix(t, []byte("vector[")) || bytes.HasPrefix(t, []byte("table["))
			switch string(t) {
			case "time", "interval", "count", "int", "double", "port":
				s.numeric[i] = true
			}
		}
	}
	return nil
}

// columns computes the per-column handlers for table t.
func (s *tsvState) columns(t *fieldTable) {
	s.table = t
	s.cols = s.cols[:0]
	s.last = -1
	for i, f := range s.fields {
		h, _ := t.lookup(f)
		s.cols = append(s.cols, h)
		if h != nil {
			s.last = i
		}
	}
}

// record decodes one data line into e.
func (s *tsvState) record(t *fieldTable, e *Event, line []byte) error {
	if s.table != t {
		s.columns(t)
	}
	sep := s.sep
	col := 0
	for col <= s.last {
		var v []byte
		i := bytes.Index(line, sep)
		if i < 0 {
			v, line = line, nil
		} else {
			v, line = line[:i], line[i+len(sep):]
		}
		if h := s.cols[col]; h != nil && !bytes.Equal(v, s.unset) && !bytes.Equal(v, s.empty) {
			kind := byte(kindString)
			if s.numeric[col] {
				kind = kindNumber
			}
			if s.containers[col] {
				for len(v) > 0 {
					j := bytes.Index(v, s.setSep)
					el := v
					if j < 0 {
						v = nil
					} else {
						el, v = v[:j], v[j+len(s.setSep):]
					}
					s.value(h, e, kind, el)
				}
			} else {
				s.value(h, e, kind, v)
			}
		}
		col++
		if line == nil {
			break
		}
	}
	if col <= s.last && col < len(s.fields) {
		return fmt.Errorf("a record of %d columns under a #fields header of %d", col, len(s.fields))
	}
	return nil
}

// value unescapes v if it needs it (into the event's arena, so that it
// lives as long as the event) and hands it to h.
func (s *tsvState) value(h handler, e *Event, kind byte, v []byte) {
	if bytes.IndexByte(v, '\\') >= 0 {
		start := len(e.arena)
		e.arena = unescapeZeek(e.arena, v)
		v = e.arena[start:len(e.arena):len(e.arena)]
	}
	h(e, kind, v)
}

// unescapeZeek appends v to dst with every \xHH replaced by its byte and
// every \\ by one backslash (the writer doubles a backslash in data: a
// certificate subject "O=Facebook\, Inc." is written "O=Facebook\\,
// Inc."); any other backslash is kept as it is.
func unescapeZeek(dst, v []byte) []byte {
	for {
		i := bytes.IndexByte(v, '\\')
		if i < 0 {
			return append(dst, v...)
		}
		dst = append(dst, v[:i]...)
		v = v[i:]
		if len(v) >= 2 && v[1] == '\\' {
			dst = append(dst, '\\')
			v = v[2:]
			continue
		}
		if len(v) >= 4 && v[1] == 'x' {
			hi, ok1 := unhex(v[2])
			lo, ok2 := unhex(v[3])
			if ok1 && ok2 {
				dst = append(dst, hi<<4|lo)
				v = v[4:]
				continue
			}
		}
		dst = append(dst, '\\')
		v = v[1:]
	}
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

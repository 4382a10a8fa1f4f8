package match

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Format is an input log format.
type Format uint8

// The formats [Decoder] reads. FormatAuto detects the format of each line.
const (
	FormatAuto Format = iota
	// FormatZeek is Zeek's logs: the ASCII writer's default TSV (with its
	// "#" headers) or its JSON (LogAscii::use_json), one record a line.
	FormatZeek
	// FormatEVE is Suricata's EVE JSON output, one event a line.
	FormatEVE
	// FormatECS is Elastic Common Schema documents, one a line, nested or
	// with dotted field names.
	FormatECS
	// FormatSTIX is STIX 2.1 bundles (or observed-data objects, 2.0
	// observed-data with embedded objects): each observed-data is one event.
	FormatSTIX
)

// numFormats is the number of Format values.
const numFormats = 5

var formatNames = [numFormats]string{"auto", "zeek", "eve", "ecs", "stix"}

// String returns the name [ParseFormat] accepts.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", f)
}

// ParseFormat parses a --format value: auto, zeek, eve (or suricata), ecs
// or stix.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return FormatAuto, nil
	case "zeek":
		return FormatZeek, nil
	case "eve", "suricata":
		return FormatEVE, nil
	case "ecs":
		return FormatECS, nil
	case "stix":
		return FormatSTIX, nil
	}
	return 0, fmt.Errorf("unknown format %q (want zeek, eve, ecs, stix or auto)", s)
}

// ErrMalformed is wrapped by the error [Decoder.Decode] returns for a line
// that is not a record of the expected format. Callers count such lines and
// go on.
var ErrMalformed = errors.New("malformed record")

// handler receives one scalar value of a known field.
type handler func(e *Event, kind byte, v []byte)

// fieldDef is a field's handler and the attributes it can produce (nil:
// always wanted, as the time stamp is).
type fieldDef struct {
	h     handler
	attrs []Attr
}

// fieldTable maps a dotted field path to its handler; containers marks the
// paths of objects (and arrays of objects) that contain known fields, so
// that everything else is skipped without being looked at.
type fieldTable struct {
	defs       map[string]fieldDef
	fields     map[string]handler
	containers map[string]bool
	// slots is an open-addressing copy of both maps, probed with a cheap
	// hash: a Go map lookup per key was a fifth of the decoding time.
	slots []fieldSlot
	// maybe[len] has bit c of first set when some field or container
	// path of that length starts with byte c, and of last when one ends
	// with it: most keys of a record are of no interest, and this rejects
	// them without a lookup. One cache line a length (4 KiB in all, where
	// two tables of bools took 32 KiB of the L1 cache).
	maybe [64]keyBits
	// rel is the same for the keys that can occur inside a container:
	// every run of dot-separated components of a path ("rrname",
	// "answers.rrname"), so that most members of a nested object are
	// rejected before their path is built and looked up.
	rel [64]keyBits
}

type keyBits struct{ first, last byteSet }

// byteSet is a set of bytes, one bit each.
type byteSet [4]uint64

func (b *byteSet) has(c byte) bool { return b[c>>6]>>(c&63)&1 != 0 }

func (t *fieldTable) mark(k string) { markKey(&t.maybe, k) }

func markKey(bits *[64]keyBits, k string) {
	if len(k) > 0 && len(k) < 64 {
		m := &bits[len(k)]
		m.first[k[0]>>6] |= 1 << (k[0] & 63)
		m.last[k[len(k)-1]>>6] |= 1 << (k[len(k)-1] & 63)
	}
}

// markRel marks in t.rel every run of components of the dotted path k
// (a key inside a container may itself have dots).
func (t *fieldTable) markRel(k string) {
	comps := strings.Split(k, ".")
	for i := range comps {
		for j := i + 1; j <= len(comps); j++ {
			markKey(&t.rel, strings.Join(comps[i:j], "."))
		}
	}
}

type fieldSlot struct {
	key       string
	h         handler
	container bool
}

// fieldHash mixes the length and four bytes of a path: enough to spread the
// few dozen known paths, and constant time.
func fieldHash(p []byte) uint32 {
	n := len(p)
	if n == 0 {
		return 0
	}
	h := uint32(n)*0x9E3779B1 ^ uint32(p[0])<<24 ^ uint32(p[n-1])<<16 ^ uint32(p[n/2])<<8 ^ uint32(p[n/3])
	return h * 0x85EBCA6B >> 7
}

// lookup returns the path's handler and whether it is a container.
func (t *fieldTable) lookup(p []byte) (handler, bool) {
	if !t.known(p) {
		return nil, false
	}
	mask := uint32(len(t.slots) - 1)
	for i := fieldHash(p) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == "" {
			return nil, false
		}
		if s.key == string(p) {
			return s.h, s.container
		}
	}
}

func (t *fieldTable) insert(k string, h handler, container bool) {
	mask := uint32(len(t.slots) - 1)
	for i := fieldHash([]byte(k)) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == "" || s.key == k {
			s.key = k
			if h != nil {
				s.h = h
			}
			s.container = s.container || container
			return
		}
	}
}

// known reports whether path may be in the table.
func (t *fieldTable) known(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	if len(p) >= 64 {
		return true
	}
	m := &t.maybe[len(p)]
	return m.first.has(p[0]) && m.last.has(p[len(p)-1])
}

// knownRel reports whether key, a member of a container, may end a path
// in the table; if not, its path is not.
func (t *fieldTable) knownRel(key []byte) bool {
	if len(key) == 0 {
		return false
	}
	if len(key) >= 64 {
		return true
	}
	m := &t.rel[len(key)]
	return m.first.has(key[0]) && m.last.has(key[len(key)-1])
}

func newFieldTable(defs map[string]fieldDef) *fieldTable {
	return buildFieldTable(defs, nil)
}

// buildFieldTable keeps the fields that produce an attribute skip does not
// mark (all of them when skip is nil).
func buildFieldTable(defs map[string]fieldDef, skip *[numAttrs]bool) *fieldTable {
	fields := map[string]handler{}
	for k, d := range defs {
		keep := skip == nil || d.attrs == nil
		for _, a := range d.attrs {
			keep = keep || !skip[a]
		}
		if keep {
			fields[k] = d.h
		}
	}
	t := &fieldTable{defs: defs, fields: fields, containers: map[string]bool{}}
	for k := range fields {
		t.mark(k)
		t.markRel(k)
		for i := 0; i < len(k); i++ {
			if k[i] == '.' {
				t.containers[k[:i]] = true
				t.mark(k[:i])
			}
		}
	}
	size := 16
	for size < 4*(len(t.fields)+len(t.containers)) {
		size *= 2
	}
	t.slots = make([]fieldSlot, size)
	for k, h := range t.fields {
		t.insert(k, h, false)
	}
	for k := range t.containers {
		t.insert(k, nil, true)
	}
	return t
}

// Decoder turns log lines into events. It is not safe for concurrent use;
// it reuses one [Event] (and its buffers) for every line, so an event is
// valid only until the next call.
type Decoder struct {
	format Format
	s      scanner
	ev     Event
	evs    []*Event
	path   []byte
	stix   stixDecoder
	tsv    tsvState
	sniff  tsvState // the TSV headers Detect follows for other formats
	skip   *[numAttrs]bool
	// probe is the equality index of the engine the events go to, if
	// any (see eqProbe).
	probe *eqProbe
	// masked holds the Zeek, EVE and ECS tables without the fields that
	// produce only skipped attributes (nil: the full tables).
	masked *[3]*fieldTable
}

// setSkip makes the decoder ignore the attributes skip marks (nil: none):
// their fields are skipped like unknown ones.
func (d *Decoder) setSkip(skip *[numAttrs]bool) {
	d.skip = skip
	d.masked = nil
	if skip != nil {
		d.masked = &[3]*fieldTable{
			buildFieldTable(zeekTable.defs, skip),
			buildFieldTable(eveTable.defs, skip),
			buildFieldTable(ecsTable.defs, skip),
		}
	}
}

// NewDecoder returns a decoder for the given format (FormatAuto: detect
// per line).
func NewDecoder(f Format) *Decoder {
	return &Decoder{format: f}
}

// detect tells a line's format by its content: the top-level keys that
// each writer always puts there, whatever their order. Zeek JSON has "ts"
// (and "uid" or "id.orig_h"); EVE has "event_type" beside "timestamp";
// ECS has "ecs" (ecs.version) and "@timestamp", and Elastic's pipelines
// move EVE's event_type below "suricata.eve", so an ECS document of a
// Suricata event is ECS; STIX has "type" observed-data or bundle. A
// shipper (Vector, Fluent Bit) may add "@timestamp" to a Zeek or EVE
// record, first when it sorts keys: a top-level event_type or Zeek's ts
// and uid outweigh it. The writers' usual first key decides the common
// case without a scan, also after the "tag" member that Fluent Bit's nats
// output puts first in a record its json parser read (see
// [FluentBitRecords]): "tag" is no evidence of any format, so a tagged
// record is told as the same record without it.
func detect(line []byte) Format {
	// members is the line's members: what follows its opening brace, or
	// the tag member's comma.
	var members []byte
	if len(line) > 0 && line[0] == '{' {
		members = line[1:]
	}
	if bytes.HasPrefix(line, []byte(`{"tag":"`)) {
		// A tag with an escape is left to detectKeys.
		if e := plainEnd(line, len(`{"tag":"`)); e > 0 && e+1 < len(line) && line[e+1] == ',' {
			members = line[e+2:]
		}
	}
	switch {
	case bytes.HasPrefix(members, []byte(`"ts":`)), bytes.HasPrefix(members, []byte(`"_path":`)):
		return FormatZeek
	case bytes.HasPrefix(members, []byte(`"timestamp":`)):
		return FormatEVE
	case bytes.HasPrefix(members, []byte(`"@timestamp":`)):
		if !bytes.Contains(line, []byte(`"event_type"`)) && !bytes.Contains(line, []byte(`"ts"`)) {
			return FormatECS
		}
	}
	return detectKeys(line)
}

// detectKeys reads the top-level keys of a JSON object (skipping values)
// and decides by them, strongest evidence first.
func detectKeys(line []byte) Format {
	var s scanner
	s.reset(line)
	if s.openObject() != nil {
		// A JSON array of STIX objects on one line.
		if looksSTIX(line) {
			return FormatSTIX
		}
		return FormatAuto
	}
	var ecs, atTimestamp, eve, zeek, stix, ts bool
	for first := true; ; first = false {
		k, ok, err := s.nextKey(first)
		if err != nil || !ok {
			break
		}
		switch string(k) {
		case "ecs", "ecs.version":
			ecs = true
		case "@timestamp":
			atTimestamp = true
		case "event_type":
			eve = true
		case "ts":
			ts = true
		case "uid", "id.orig_h", "_path", "fuid":
			zeek = true
		case "type", "objects", "spec_version":
			stix = true
		}
		if s.skip(0) != nil {
			break
		}
	}
	switch {
	case ecs:
		return FormatECS
	case eve:
		return FormatEVE
	case ts && zeek:
		return FormatZeek
	case atTimestamp:
		return FormatECS
	case ts || zeek:
		return FormatZeek
	case stix && (bytes.Contains(line, []byte(`"observed-data"`)) || bytes.Contains(line, []byte(`"bundle"`))):
		return FormatSTIX
	}
	return FormatAuto
}

// resetTSV forgets the Zeek TSV headers seen: the lines that follow are
// read as the start of a file.
func (d *Decoder) resetTSV() {
	d.tsv.reset()
	d.sniff.reset()
}

// Detect returns the format of one line as FormatAuto would read it: a
// Zeek TSV header or record (a line that is not a JSON object under a
// #fields header) is FormatZeek; FormatAuto if the line is none of the
// formats. Lines are meant to be given in order, all of them: Detect
// follows the TSV headers it is given (apart from what Decode follows,
// so that a decoder of another format still recognises Zeek's records).
func (d *Decoder) Detect(line []byte) Format {
	tl := trimEOL(line)
	tsv := &d.tsv
	if d.format != FormatZeek && d.format != FormatAuto {
		tsv = &d.sniff
		if len(tl) > 0 && tl[0] == '#' {
			if tsv.header(tl) != nil {
				tsv.active = false
			}
		}
	}
	if len(tl) > 0 && tl[0] == '#' && zeekDirective(tl) || len(tl) > 0 && tl[0] != '{' && tsv.active {
		return FormatZeek
	}
	line = trimSpace(line)
	if len(line) == 0 || line[0] != '{' && line[0] != '[' {
		return FormatAuto
	}
	return detect(line)
}

// Decode decodes one line. It returns the line's events: exactly one for
// the log formats, one per observed-data for STIX; none for a blank line.
// The events are valid until the next call. An error wraps [ErrMalformed].
//
// Zeek's TSV logs are read line by line like the rest: a "#" header line
// (in FormatZeek or FormatAuto) sets the columns of the data lines that
// follow and returns no event; a header that does not parse is malformed
// and leaves the decoder with no columns until the next #separator or
// #fields line.
func (d *Decoder) Decode(line []byte) ([]*Event, error) {
	if len(line) > 0 && line[0] != '{' && (d.format == FormatZeek || d.format == FormatAuto) {
		// A Zeek TSV line keeps its tabs: an empty first or last
		// column is a column.
		tl := trimEOL(line)
		if len(tl) > 0 && tl[0] == '#' {
			if err := d.tsv.header(tl); err != nil {
				d.tsv.active = false
				return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			return nil, nil
		}
		if d.tsv.active && len(tl) > 0 {
			return d.decodeTSV(tl)
		}
	}
	line = trimSpace(line)
	if len(line) == 0 {
		return nil, nil
	}
	f := d.format
	if f == FormatAuto {
		f = detect(line)
		if f == FormatAuto {
			return nil, fmt.Errorf("%w: not a Zeek, EVE, ECS or STIX record", ErrMalformed)
		}
	}
	if f == FormatSTIX {
		evs, err := d.stix.decode(line)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return evs, nil
	}
	var t *fieldTable
	switch f {
	case FormatZeek:
		t = zeekTable
	case FormatEVE:
		t = eveTable
	case FormatECS:
		t = ecsTable
	}
	if d.masked != nil {
		t = d.masked[f-FormatZeek]
	}
	e := &d.ev
	e.reset()
	e.Format = f
	e.skip = d.skip
	e.probe = d.probe
	d.s.reset(line)
	d.path = d.path[:0]
	if err := d.s.openObject(); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	if err := d.walkObject(t, e, 0); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := d.s.end(); err != nil {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	e.finish()
	d.evs = append(d.evs[:0], e)
	return d.evs, nil
}

// decodeTSV decodes one Zeek TSV record under the header in force.
func (d *Decoder) decodeTSV(line []byte) ([]*Event, error) {
	t := zeekTable
	if d.masked != nil {
		t = d.masked[0]
	}
	e := &d.ev
	e.reset()
	e.Format = FormatZeek
	e.skip = d.skip
	e.probe = d.probe
	if err := d.tsv.record(t, e, line); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	e.finish()
	d.evs = append(d.evs[:0], e)
	return d.evs, nil
}

// zeekDirective reports whether a "#" line is one of the header lines
// Zeek's ASCII writer writes.
func zeekDirective(l []byte) bool {
	for _, d := range []string{"#separator ", "#set_separator", "#empty_field", "#unset_field", "#path", "#open", "#fields", "#types", "#close"} {
		if bytes.HasPrefix(l, []byte(d)) {
			return true
		}
	}
	return false
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// walkObject reads the members of an object whose '{' was consumed; d.path
// holds the dotted path of the object ("" at the top).
func (d *Decoder) walkObject(t *fieldTable, e *Event, depth int) error {
	if depth > maxDepth {
		return errSyntax
	}
	base := len(d.path)
	s := &d.s
	for first := true; ; first = false {
		// Compact JSON, what log writers emit, has the key's quote right
		// after the '{' or ','; that case is read inline, anything else
		// (white space, the end of the object) by nextKey. When the line
		// has no backslash a string ends at its first quote, and the
		// members of no interest (most of a record) are skipped here
		// without a call but for numbers, with the data in registers.
		var key []byte
		p := s.pos
		data := s.data
		if p+1 < len(data) && (first && data[p] == '"' || !first && data[p] == ',' && data[p+1] == '"') {
			if !first {
				p++
			}
			if s.noEsc {
				end := quoteEnd(data, p+1)
				if end < 0 {
					return errSyntax
				}
				key = data[p+1 : end : end]
				p = end + 1
			} else {
				s.pos = p
				k, err := s.str()
				if err != nil {
					return err
				}
				key = k
				p = s.pos
			}
			if p >= len(data) || data[p] != ':' {
				s.pos = p
				s.skipSpace()
				if s.pos >= len(data) || data[s.pos] != ':' {
					return errSyntax
				}
				p = s.pos
			}
			p++
			s.pos = p
		} else {
			k, ok, err := s.nextKey(first)
			if err != nil || !ok {
				d.path = d.path[:base]
				return err
			}
			key = k
			p = s.pos
		}
		d.path = d.path[:base]
		var wanted bool
		if base > 0 {
			if wanted = t.knownRel(key); wanted {
				d.path = append(d.path, '.')
				d.path = append(d.path, key...)
				wanted = t.known(d.path)
			}
		} else if wanted = t.known(key); wanted {
			d.path = append(d.path, key...)
		}
		if !wanted {
			// A member of no interest: skip a plain string or a number
			// inline, anything else by skipScalarOr.
			if p < len(data) {
				if c := data[p]; c == '"' && s.noEsc {
					end := quoteEnd(data, p+1)
					if end < 0 {
						return errSyntax
					}
					s.pos = end + 1
					continue
				} else if c-'0' < 10 {
					if err := s.number(); err != nil {
						return err
					}
					continue
				}
			}
			if err := s.skipScalarOr(depth); err != nil {
				return err
			}
			continue
		}
		if err := d.walkValue(t, e, depth); err != nil {
			return err
		}
	}
}

// walkValue reads the value at d.path.
func (d *Decoder) walkValue(t *fieldTable, e *Event, depth int) error {
	h, container := t.lookup(d.path)
	if h == nil && !container {
		return d.s.skipScalarOr(depth)
	}
	switch d.s.peek() {
	case kindObject:
		if !container {
			return d.s.skip(depth)
		}
		if h != nil {
			// A path that is a field and a container: its handler is
			// told where each object begins (kind kindObject, no
			// value), as ecsAnswerStart needs.
			h(e, kindObject, nil)
		}
		d.s.pos++
		return d.walkObject(t, e, depth+1)
	case kindArray:
		if h == nil && !container {
			return d.s.skip(depth)
		}
		d.s.pos++
		for first := true; ; first = false {
			ok, err := d.s.nextElem(first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := d.walkValue(t, e, depth+1); err != nil {
				return err
			}
		}
	default:
		kind, v, err := d.s.value()
		if err != nil {
			return err
		}
		if h != nil && kind != kindNull {
			h(e, kind, v)
		}
		return nil
	}
}

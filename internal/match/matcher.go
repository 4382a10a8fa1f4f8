package match

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sort"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// Config configures a [Matcher].
type Config struct {
	// Format of the input (FormatAuto: detect per line).
	Format Format
	// Identity is the STIX identity id of the member running the matcher:
	// the sightings' where_sighted_refs and created_by_ref.
	Identity string
	// ObservedData adds, for each sighting, observed-data objects (and
	// their observables) for up to MaxObserved of the matching events.
	ObservedData bool
	MaxObserved  int
	// Now is the clock (time.Now by default); Rand the source of
	// identifiers (crypto/rand by default). Tests inject both.
	Now  func() time.Time
	Rand io.Reader
	// MaxLine bounds a line's length; longer lines are malformed.
	// Default 1 MiB.
	MaxLine int
	// MaxDocument bounds a STIX document spread over lines (a
	// pretty-printed bundle), which [Matcher.ReadLines] reads and decodes
	// whole; a longer one fails. Default [DefaultMaxDocument].
	MaxDocument int64
	// Origin names the JetStream stream the lines come from (see
	// [JetStreamSource]). A sighting counting events of lines given with
	// [Matcher.LineSeq] carries the custom properties x_parley_stream
	// (Origin) and x_parley_stream_sequences: the stream sequences of those
	// lines as sorted, disjoint [first, last] ranges, so that whoever
	// collects the sightings can tell a recount after a redelivery; and,
	// where a sequence counts other than one event (several events of a
	// batch, an observed-data's number_observed),
	// x_parley_stream_sequence_counts: the [sequence, count] of each such
	// one, sorted, so that a recount can be taken off exactly.
	Origin string
}

// Stats counts what a matcher has seen.
type Stats struct {
	// Events is the number of decoded events (STIX: observed-data).
	Events int64
	// Matched is the number of events that fired at least one indicator.
	Matched int64
	// Malformed is the number of lines that could not be decoded.
	Malformed int64
	// Sightings is the number of sightings emitted.
	Sightings int64
	// Errors is the number of evaluation errors (counted as no match).
	Errors int64
	// Mismatched counts, by the format their content shows, the lines
	// that an explicit Config.Format decoded although they look like
	// another format ([Decoder.Detect]): a wrong --format, which would
	// otherwise read as "nothing matched". Always zero in FormatAuto.
	Mismatched [numFormats]int64
	// Unshareable is the number of observed-data (with ObservedData)
	// left out of sightings because a node would refuse them or their
	// observables (STIX 2.1 validation, deterministic ids): a STIX
	// event's objects as given, which a fleet member's push would stop on
	// at every redelivery.
	Unshareable int64
	// Incomplete is the number of observables (with ObservedData) left
	// out of an event's observed-data because the log does not give what
	// STIX 2.1 requires of them and has no default for (an email-message's
	// is_multipart, a network-traffic's protocols or addresses, a file's
	// name or hashes): left out rather than signed with a made-up value.
	Incomplete int64
}

// MismatchedLines is the total of s.Mismatched.
func (s Stats) MismatchedLines() int64 {
	var n int64
	for _, c := range s.Mismatched {
		n += c
	}
	return n
}

// weight is how many observations an event stands for: number_observed
// for STIX observed-data, 1 for a log record.
func (e *Event) weight() int64 {
	if e.observed != nil {
		switch n := e.observed["number_observed"].(type) {
		case json.Number:
			if v, err := n.Int64(); err == nil && v > 0 {
				return v
			}
		case float64:
			if n >= 1 {
				return int64(n)
			}
		}
	}
	return 1
}

// maxCount is the largest count STIX 2.1 allows in a sighting (section
// 5.2: 0 to 999,999,999).
const maxCount = 999_999_999

// tally is what one indicator's sighting will say.
type tally struct {
	ind         *Indicator
	count       int64
	first, last time.Time
	observed    []observation
	seqs        []uint64 // stream sequences of the lines counted (LineSeq)
	seqCounts   []int64  // what each of seqs counts
}

// Matcher streams events through an [Engine] and aggregates sightings:
// one per indicator that fired, whose count is the number of events that
// matched it since the last [Matcher.Flush] (an event counts once per
// indicator however many of its observables match; STIX observed-data
// counts as its number_observed; for patterns of several observations an
// event counts when it completes a match). It is not safe
// for concurrent use: one goroutine feeds it, and swaps engines between
// events with [Matcher.SetEngine].
type Matcher struct {
	cfg    Config
	engine *Engine
	dec    *Decoder
	tally  map[string]*tally
	order  []string
	stats  Stats
	curEv  *Event
	fire   func(*Indicator)
	seq    uint64 // stream sequence of the line being matched, 0 if none
}

// NewMatcher returns a matcher using engine e.
func NewMatcher(e *Engine, cfg Config) *Matcher {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.MaxObserved <= 0 {
		cfg.MaxObserved = 8
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = 1 << 20
	}
	if cfg.MaxDocument <= 0 {
		cfg.MaxDocument = DefaultMaxDocument
	}
	m := &Matcher{cfg: cfg, dec: NewDecoder(cfg.Format), tally: map[string]*tally{}}
	m.fire = m.onFire
	m.SetEngine(e)
	return m
}

// SetEngine replaces the compiled indicators; counts gathered so far are
// kept, and so are the windows of patterns of several observations that
// the new engine still has.
func (m *Matcher) SetEngine(e *Engine) {
	if m.engine != nil {
		m.stats.Errors += int64(m.engine.Errors)
		if e != nil {
			e.carryWindows(m.engine)
		}
	}
	m.engine = e
	// Decode only what the indicators can use, unless events are output.
	var skip *[numAttrs]bool
	if e != nil && !m.cfg.ObservedData {
		skip = e.decodeMask()
	}
	m.dec.setSkip(skip)
	m.dec.probe = nil
	if e != nil {
		m.dec.probe = newEqProbe(e.eq)
	}
}

// TooComplex returns the indicators of the current engine that are no
// longer evaluated because one evaluation over their window took too
// many steps ([Engine.TooComplex]).
func (m *Matcher) TooComplex() []*Indicator {
	if m.engine == nil {
		return nil
	}
	return m.engine.TooComplex
}

// Stats returns the counters so far.
func (m *Matcher) Stats() Stats {
	s := m.stats
	if m.engine != nil {
		s.Errors += int64(m.engine.Errors)
	}
	return s
}

func (m *Matcher) onFire(ind *Indicator) {
	ev := m.curEv
	t := ev.Time()
	if t.IsZero() {
		t = m.cfg.Now()
	}
	tl := m.tally[ind.ID]
	if tl == nil {
		tl = &tally{ind: ind, first: t, last: t}
		m.tally[ind.ID] = tl
		m.order = append(m.order, ind.ID)
	}
	w := ev.weight()
	tl.count += w
	if m.seq != 0 {
		if n := len(tl.seqs); n > 0 && tl.seqs[n-1] == m.seq {
			tl.seqCounts[n-1] += w
		} else {
			tl.seqs = append(tl.seqs, m.seq)
			tl.seqCounts = append(tl.seqCounts, w)
		}
	}
	if t.Before(tl.first) {
		tl.first = t
	}
	if t.After(tl.last) {
		tl.last = t
	}
	if m.cfg.ObservedData && len(ev.Objects) > 0 && len(tl.observed) < m.cfg.MaxObserved {
		tl.observed = append(tl.observed, newObservation(ev))
	}
}

// Line decodes one line and matches its events. A line that does not
// decode is counted as malformed.
func (m *Matcher) Line(line []byte) {
	if f := m.cfg.Format; f != FormatAuto && f != FormatSTIX {
		if got := m.dec.Detect(line); got != FormatAuto && got != f {
			m.stats.Mismatched[got]++
		}
	}
	evs, err := m.dec.Decode(line)
	if err != nil {
		// A line that --format stix could not read but that shows
		// another format (checked only here: the lines of a STIX
		// observed-data may themselves look like other things).
		if m.cfg.Format == FormatSTIX {
			if got := m.dec.Detect(line); got != FormatAuto && got != FormatSTIX {
				m.stats.Mismatched[got]++
			}
		}
		m.stats.Malformed++
		return
	}
	for _, ev := range evs {
		m.Event(ev)
	}
}

// tooLong reports whether an event of a message is longer than a file's
// line may be (Config.MaxLine, its line ending aside), so that a message
// is bounded as a line of a file is, by the same limit, and counted as
// malformed when it is over it; a JSON document spread over lines (an
// event with a newline before its end, read whole as over files) is
// bounded by Config.MaxDocument.
func (m *Matcher) tooLong(ev []byte) bool {
	n := len(ev)
	if n > 0 && ev[n-1] == '\n' {
		n--
		if n > 0 && ev[n-1] == '\r' {
			n--
		}
	}
	if n <= m.cfg.MaxLine {
		return false
	}
	if indexByte(ev[:n], '\n') >= 0 {
		return int64(n) > m.cfg.MaxDocument
	}
	return true
}

// LineSeq is [Matcher.Line] for a line that is message seq of a stream:
// the sightings that count its events name seq (see Config.Origin).
func (m *Matcher) LineSeq(seq uint64, line []byte) {
	m.seq = seq
	m.Line(line)
	m.seq = 0
}

// lineSeqRecover is [Matcher.LineSeq] for an event of a fleet's message
// (see [JetStreamSource]): a panic while reading or matching it (a fault
// of the matcher that the event trips) is recovered, the event counted as
// malformed, and returned as an error. Otherwise the event would stop the
// member, and every member the message is redelivered to, for ever.
func (m *Matcher) lineSeqRecover(seq uint64, line []byte) (err error) {
	events, matched := m.stats.Events, m.stats.Matched
	defer func() {
		if p := recover(); p != nil {
			m.seq, m.curEv = 0, nil
			// The line counts as malformed, not as events too.
			m.stats.Events, m.stats.Matched = events, matched
			m.stats.Malformed++
			err = fmt.Errorf("an event of the message at stream sequence %d made the matcher fail (%s); counted as malformed, and acknowledged with the rest: %s",
				seq, untrusted.Text(fmt.Sprint(p), 200), untrusted.Text(string(debug.Stack()), 2000))
		}
	}()
	m.LineSeq(seq, line)
	return nil
}

// Event matches one decoded event. An indicator counts for the event only
// if the event's time (the matcher's clock for a record without one) is
// inside the indicator's [valid_from, valid_until) and it is not revoked
// ([Indicator.ActiveAt]): logs are often matched after the fact, against
// indicators that have expired since.
func (m *Matcher) Event(ev *Event) {
	m.stats.Events++
	m.curEv = ev
	fired := false
	m.engine.Match(ev, func(ind *Indicator) {
		if ind.Revoked || !ind.ValidFrom.IsZero() || !ind.ValidUntil.IsZero() {
			t := ev.Time()
			if t.IsZero() {
				t = m.cfg.Now()
			}
			if !ind.ActiveAt(t) {
				return
			}
		}
		fired = true
		m.fire(ind)
	})
	if fired {
		m.stats.Matched++
	}
}

// readBuf is the size of the buffer lines are read through. Reading
// into one buffer that stays in the caches (and in the TLB) beat
// memory-mapping the file by 20–30% of CPU time on the 2-core VM of
// docs/benchmarks.md, at 163 MB as at 510 MB: a mapped file costs a page
// walk every 4 KiB, which a virtual machine's nested paging makes dear,
// and saved nothing in system time (the copy costs what the faults did).
// Below 256 KiB the gain shrinks; 1 MiB also holds a line of the default
// MaxLine whole.
const readBuf = 1 << 20

// DefaultMaxDocument is the default [Config.MaxDocument]: 256 MiB, which
// decodes to a few GiB of maps.
const DefaultMaxDocument = 256 << 20

// ReadLines feeds every line of r to the matcher. A STIX input that is not
// one JSON value a line (a pretty-printed bundle) is read and decoded
// whole, so it is bounded: one of more than Config.MaxDocument bytes fails
// (wrapping [untrusted.ErrTooLarge]) before any of it is decoded. Lines
// are read one at a time, each up to Config.MaxLine.
func (m *Matcher) ReadLines(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, readBuf)
	if m.cfg.Format == FormatSTIX || m.cfg.Format == FormatAuto {
		// Peek at the first line: a document spread over lines starts with
		// a '{' or '[' line that is not a complete JSON value.
		head, _ := br.Peek(1 << 16)
		first := head
		if i := indexByte(head, '\n'); i >= 0 {
			first = head[:i]
		}
		trim := trimSpace(first)
		if len(trim) > 0 && (trim[0] == '{' || trim[0] == '[') && !json.Valid(trim) && (m.cfg.Format == FormatSTIX || looksSTIX(head)) {
			data, err := untrusted.ReadAll(br, m.cfg.MaxDocument)
			if errors.Is(err, untrusted.ErrTooLarge) {
				return fmt.Errorf("couldn't read input: a STIX document spread over lines is read whole, and this one is %w; write one JSON value a line (observed-data, or a bundle each) to read any length", err)
			}
			if err != nil {
				return fmt.Errorf("couldn't read input: %w", err)
			}
			evs, err := m.dec.stix.decode(data)
			if err != nil {
				m.stats.Malformed++
				return nil
			}
			for _, ev := range evs {
				m.Event(ev)
			}
			return nil
		}
	}
	return m.scan(ctx, br)
}

// scan reads br a line at a time. A line longer than Config.MaxLine (its
// line ending aside) is counted as malformed, not decoded, whatever its
// length against the read buffer, and no more than MaxLine bytes of it
// (and a carriage return) are held.
func (m *Matcher) scan(ctx context.Context, br *bufio.Reader) error {
	var long []byte
	over := false // the line being read is longer than MaxLine
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A piece of a line longer than the buffer: kept while the
			// line may still be within MaxLine (+1: a carriage return
			// before the newline of the next piece).
			if !over && len(long)+len(line) <= m.cfg.MaxLine+1 {
				long = append(long, line...)
			} else {
				long, over = long[:0], true
			}
			continue
		}
		switch {
		case over || lineContentLen(long, line) > m.cfg.MaxLine:
			m.stats.Malformed++
		case len(long) > 0:
			m.Line(append(long, line...))
		case len(line) > 0:
			m.Line(line)
		}
		long, over = long[:0], false
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("couldn't read input: %w", err)
		}
		if n++; n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// lineContentLen is the length of the line made of long and then line,
// its line ending ("\n" or "\r\n") aside.
func lineContentLen(long, line []byte) int {
	n := len(long) + len(line)
	at := func(i int) byte { // the byte at i of long and line
		if i < len(long) {
			return long[i]
		}
		return line[i-len(long)]
	}
	if n > 0 && at(n-1) == '\n' {
		n--
		if n > 0 && at(n-1) == '\r' {
			n--
		}
	}
	return n
}

func looksSTIX(b []byte) bool {
	return containsBytes(b, `"observed-data"`) || containsBytes(b, `"bundle"`)
}

// Flush returns the sightings gathered since the last flush (and, with
// ObservedData, the observed-data objects and observables they refer to,
// before the sighting), as STIX objects in a stable order: by indicator
// id. It resets the counts.
func (m *Matcher) Flush() []map[string]any {
	ids := append([]string(nil), m.order...)
	sort.Strings(ids)
	now := formatSTIXTime(m.cfg.Now())
	var out []map[string]any
	for _, id := range ids {
		tl := m.tally[id]
		sighting := func(count int64) map[string]any {
			s := map[string]any{
				"type":            "sighting",
				"spec_version":    "2.1",
				"id":              m.newID("sighting"),
				"created":         now,
				"modified":        now,
				"sighting_of_ref": id,
				"count":           min(count, maxCount),
				"first_seen":      formatSTIXTime(tl.first),
				"last_seen":       formatSTIXTime(tl.last),
			}
			if m.cfg.Identity != "" {
				s["created_by_ref"] = m.cfg.Identity
				s["where_sighted_refs"] = []string{m.cfg.Identity}
			}
			return s
		}
		s := sighting(tl.count)
		if len(tl.seqs) > 0 {
			// Sequences far apart make a range each: more than a node
			// takes in one object (max_object_size) would be refused at
			// every redelivery, so they are spread over sightings of
			// at most maxSeqEntries ranges and counts each, the count
			// split with them. The first keeps the observed-data.
			parts := seqParts(tl.seqs, tl.seqCounts, maxSeqEntries)
			var rest int64
			for _, part := range parts[1:] {
				rest += part.count
				extra := sighting(part.count)
				extra["x_parley_stream"] = m.cfg.Origin
				if len(part.counts) > 0 {
					extra["x_parley_stream_sequence_counts"] = part.counts
				}
				extra["x_parley_stream_sequences"] = part.ranges
				out = append(out, extra)
				m.stats.Sightings++
			}
			s["count"] = min(max(tl.count-rest, 1), maxCount)
			s["x_parley_stream"] = m.cfg.Origin
			if len(parts[0].counts) > 0 {
				s["x_parley_stream_sequence_counts"] = parts[0].counts
			}
			s["x_parley_stream_sequences"] = parts[0].ranges
		}
		if len(tl.observed) > 0 {
			var refs []string
			for _, o := range tl.observed {
				od := map[string]any{}
				for k, v := range o.observed {
					od[k] = v
				}
				scos := o.scos
				emit := true
				if _, ok := od["id"]; !ok {
					// An event of a log: its objects completed into
					// what a node accepts.
					var ok bool
					var left int
					od, scos, left, ok = shareable(od, scos)
					m.stats.Incomplete += int64(left)
					if !ok {
						continue
					}
					od["id"] = m.newID("observed-data")
					od["created"] = now
					od["modified"] = now
					if m.cfg.Identity != "" {
						od["created_by_ref"] = m.cfg.Identity
					}
				} else if m.cfg.Identity != "" && od["created_by_ref"] != m.cfg.Identity {
					// A STIX event's observed-data is its creator's
					// (or no one's): the sighting names it, but it is
					// not given out again as this member's, which a
					// node refuses of a member.
					emit = false
				}
				if emit && !nodeAccepts(append(scos[:len(scos):len(scos)], od)) {
					// Objects a node would refuse at every try (a STIX
					// event's, as given): left out, counted.
					m.stats.Unshareable++
					if o.observed["id"] == nil {
						continue
					}
					emit = false
				}
				if emit {
					out = append(out, scos...)
					out = append(out, od)
				}
				refs = append(refs, od["id"].(string))
			}
			if len(refs) > 0 {
				s["observed_data_refs"] = refs
			}
		}
		out = append(out, s)
		m.stats.Sightings++
	}
	m.tally = map[string]*tally{}
	m.order = m.order[:0]
	return out
}

// maxSeqEntries bounds the ranges and counts one sighting lists (see
// [Matcher.Flush]): at most about 26 bytes each in JSON, so that a sighting
// stays well under a node's default max_object_size (1 MiB).
const maxSeqEntries = 16384

// seqPart is one sighting's share of a tally's stream sequences.
type seqPart struct {
	ranges [][2]uint64 // as seqRanges
	counts [][2]uint64 // as seqCounts
	count  int64       // the events its sequences count
}

// seqParts sorts seqs (counts, at the same index, with them) and splits
// them, in order, into parts of at most limit ranges and counts together;
// there is always at least one part.
func seqParts(seqs []uint64, counts []int64, limit int) []seqPart {
	type sc struct {
		seq   uint64
		count int64
	}
	all := make([]sc, len(seqs))
	for i := range seqs {
		all[i] = sc{seqs[i], counts[i]}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	parts := []seqPart{{}}
	for _, q := range all {
		p := &parts[len(parts)-1]
		n := len(p.ranges)
		joins := n > 0 && q.seq <= p.ranges[n-1][1]+1
		need := 0
		if !joins {
			need++
		}
		if q.count != 1 && q.count > 0 {
			need++
		}
		if need > 0 && len(p.ranges)+len(p.counts)+need > limit && len(p.ranges) > 0 {
			parts = append(parts, seqPart{})
			p, joins = &parts[len(parts)-1], false
		}
		if joins {
			p.ranges[n-1][1] = maxU64(p.ranges[n-1][1], q.seq)
		} else {
			p.ranges = append(p.ranges, [2]uint64{q.seq, q.seq})
		}
		if q.count != 1 && q.count > 0 {
			p.counts = append(p.counts, [2]uint64{q.seq, uint64(q.count)})
		}
		if q.count > 0 {
			p.count += q.count
		}
	}
	return parts
}

func maxU64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

func (m *Matcher) newID(typ string) string {
	u, err := uuid.NewRandomFromReader(m.cfg.Rand)
	if err != nil {
		u = uuid.New()
	}
	return typ + "--" + u.String()
}

// WriteObjects writes objects as JSON lines. A sighting quotes what
// others wrote (the id of an indicator read from a file, observed values
// from sensor logs), and parley match prints it on stdout: C1 controls
// and bidi controls in a string are written as \uXXXX escapes, as
// encoding/json already writes C0 controls and U+2028/U+2029, so the
// line means the same JSON and cannot drive or reorder the terminal that
// shows it.
func WriteObjects(w io.Writer, objs []map[string]any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, o := range objs {
		buf.Reset()
		if err := enc.Encode(o); err != nil {
			return fmt.Errorf("couldn't write sighting: %w", err)
		}
		if _, err := w.Write(escapeInvisible(buf.Bytes())); err != nil {
			return fmt.Errorf("couldn't write sighting: %w", err)
		}
	}
	return nil
}

// escapeInvisible rewrites the C1 and bidi controls of encoded JSON as
// \uXXXX escapes. Outside strings JSON holds only ASCII, so every such
// character is inside a string, where the escape means the same.
func escapeInvisible(b []byte) []byte {
	if !slices.ContainsFunc(b, func(c byte) bool { return c >= 0x80 }) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r >= 0x80 && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

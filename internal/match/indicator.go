package match

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"time"
	"unsafe"

	"github.com/parley-exchange/parley/pdq"
)

// Indicator is the part of a STIX 2.1 indicator the matcher uses.
type Indicator struct {
	ID          string
	Name        string
	Pattern     string
	PatternType string
	Modified    time.Time
	ValidFrom   time.Time
	ValidUntil  time.Time // zero: no end
	Revoked     bool
	// Quality is a pdq indicator's x_pdq_quality (pdq.QualityProperty),
	// 0..100, when HasQuality; BadQuality says it has one that is not a
	// whole number from 0 to 100 (the node refuses such an indicator;
	// [NewImageIndex] reports it). Other indicators have neither.
	Quality    int
	HasQuality bool
	BadQuality bool
}

// ActiveAt reports whether the indicator should match at t: not revoked,
// and t within [valid_from, valid_until).
func (ind *Indicator) ActiveAt(t time.Time) bool {
	if ind.Revoked {
		return false
	}
	if !ind.ValidFrom.IsZero() && t.Before(ind.ValidFrom) {
		return false
	}
	return ind.ValidUntil.IsZero() || t.Before(ind.ValidUntil)
}

// ParseIndicator reads the matcher's fields from one STIX indicator
// object; other object types return ok=false.
func ParseIndicator(obj map[string]any) (ind *Indicator, ok bool, err error) {
	if obj["type"] != "indicator" {
		return nil, false, nil
	}
	ind = &Indicator{}
	ind.ID, _ = obj["id"].(string)
	ind.Name, _ = obj["name"].(string)
	ind.Pattern, _ = obj["pattern"].(string)
	ind.PatternType, _ = obj["pattern_type"].(string)
	ind.Revoked, _ = obj["revoked"].(bool)
	if ind.ID == "" || ind.Pattern == "" {
		return nil, true, fmt.Errorf("indicator %q has no id or no pattern", ind.ID)
	}
	if q, ok := obj[pdq.QualityProperty]; ok && ind.PatternType == pdq.PatternType {
		var err error
		ind.Quality, err = pdq.ValidateQuality(q)
		ind.HasQuality, ind.BadQuality = err == nil, err != nil
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"modified", &ind.Modified}, {"valid_from", &ind.ValidFrom}, {"valid_until", &ind.ValidUntil}} {
		if s, ok := obj[f.name].(string); ok {
			t, err := parseSTIXTime(s)
			if err != nil {
				return nil, true, fmt.Errorf("indicator %s %s: %w", ind.ID, f.name, err)
			}
			*f.dst = t
		}
	}
	return ind, true, nil
}

// ReadIndicators reads the indicators of a STIX bundle, a JSON array of
// objects, or a sequence of objects (JSON lines). Objects of other types
// are skipped without being decoded. Of several versions of one indicator
// the newest (by modified) is kept. Reading a million indicators is part
// of starting a matcher, so this uses the decoders' scanner rather than
// encoding/json.
func ReadIndicators(r io.Reader) ([]*Indicator, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, fmt.Errorf("couldn't read indicators: %w", err)
	}
	// An indicator object takes 250 bytes or more: size the set once.
	set := newIndicatorSet(len(data)/250 + 8)
	s := &scanner{}
	s.reset(data)
	var tc timeCache
	var ar indAlloc
	for {
		switch s.peek() {
		case 0:
			if err := s.end(); err != nil {
				return nil, fmt.Errorf("couldn't read indicators: %w at byte %d", err, s.pos)
			}
			return set.All(), nil
		case kindArray:
			if err := readIndicatorArray(s, set, &tc, &ar); err != nil {
				return nil, err
			}
		case kindObject:
			if err := readIndicatorObject(s, set, true, &tc, &ar); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("couldn't read indicators: %w at byte %d", errSyntax, s.pos)
		}
	}
}

func readIndicatorArray(s *scanner, set *IndicatorSet, tc *timeCache, ar *indAlloc) error {
	if err := s.openArray(); err != nil {
		return err
	}
	for first := true; ; first = false {
		ok, err := s.nextElem(first)
		if err != nil {
			return fmt.Errorf("couldn't read indicators: %w at byte %d", err, s.pos)
		}
		if !ok {
			return nil
		}
		if s.peek() != kindObject {
			if err := s.skip(0); err != nil {
				return fmt.Errorf("couldn't read indicators: %w at byte %d", err, s.pos)
			}
			continue
		}
		if err := readIndicatorObject(s, set, false, tc, ar); err != nil {
			return err
		}
	}
}

// readIndicatorObject reads one object: an indicator is added to set, a
// bundle's objects are read (when top is set), anything else is skipped.
func readIndicatorObject(s *scanner, set *IndicatorSet, top bool, tc *timeCache, ar *indAlloc) error {
	start := s.pos
	if err := s.openObject(); err != nil {
		return err
	}
	var typ, id, name, pat, ptype, modified, validFrom, validUntil, quality []byte
	revoked := false
	fail := func(err error) error {
		return fmt.Errorf("couldn't read indicators: %w at byte %d", err, s.pos)
	}
	for first := true; ; first = false {
		key, ok, err := s.nextKey(first)
		if err != nil {
			return fail(err)
		}
		if !ok {
			break
		}
		var dst *[]byte
		switch string(key) {
		case "type":
			dst = &typ
		case "id":
			dst = &id
		case "name":
			dst = &name
		case "pattern":
			dst = &pat
		case "pattern_type":
			dst = &ptype
		case "modified":
			dst = &modified
		case "valid_from":
			dst = &validFrom
		case "valid_until":
			dst = &validUntil
		case pdq.QualityProperty:
			k, v, err := s.value()
			if err != nil {
				return fail(err)
			}
			if quality = v; k != kindNumber {
				quality = []byte("-") // not a number: BadQuality below
			}
			continue
		case "revoked":
			k, _, err := s.value()
			if err != nil {
				return fail(err)
			}
			revoked = k == kindTrue
			continue
		case "objects":
			if top && s.peek() == kindArray {
				if err := readIndicatorArray(s, set, tc, ar); err != nil {
					return err
				}
				continue
			}
		}
		if dst == nil || s.peek() != kindString {
			if err := s.skipScalarOr(0); err != nil {
				return fail(err)
			}
			continue
		}
		_, v, err := s.value()
		if err != nil {
			return fail(err)
		}
		*dst = v
	}
	if string(typ) != "indicator" {
		return nil
	}
	if len(id) == 0 || len(pat) == 0 {
		return fmt.Errorf("indicator %q at byte %d has no id or no pattern", id, start)
	}
	ind := ar.indicator()
	ind.ID, ind.Pattern = ar.strings(id, pat)
	ind.Revoked = revoked
	if len(name) > 0 {
		ind.Name = string(name)
	}
	switch string(ptype) { // the common values without an allocation
	case "stix":
		ind.PatternType = "stix"
	case "pdq":
		ind.PatternType = "pdq"
	default:
		ind.PatternType = string(ptype)
	}
	if quality != nil && ind.PatternType == pdq.PatternType {
		q, err := pdq.ValidateQuality(json.Number(quality))
		ind.Quality, ind.HasQuality, ind.BadQuality = q, err == nil, err != nil
	}
	for _, f := range [...]struct {
		name string
		text []byte
		dst  *time.Time
	}{{"modified", modified, &ind.Modified}, {"valid_from", validFrom, &ind.ValidFrom}, {"valid_until", validUntil, &ind.ValidUntil}} {
		if len(f.text) == 0 {
			continue
		}
		t, ok := tc.parse(f.text)
		if !ok {
			return fmt.Errorf("indicator %s: %s %q is not a timestamp", id, f.name, f.text)
		}
		*f.dst = t
	}
	set.Put(ind)
	return nil
}

// IndicatorSet holds the newest version of each indicator. It is what a
// poller updates: [IndicatorSet.Put] takes additions, new versions and
// revocations (a revoked version replaces the active one).
type IndicatorSet struct {
	// slots is an open-addressing table of list indexes plus one, keyed
	// by the id (a Go map of a million id strings cost a fifth of reading
	// them).
	slots []uint64     // hash<<32 | list index+1; 0: empty
	list  []*Indicator // in order of first arrival
}

// NewIndicatorSet returns an empty set.
func NewIndicatorSet() *IndicatorSet { return newIndicatorSet(8) }

func newIndicatorSet(n int) *IndicatorSet {
	size := 16
	for size*3 < n*4 {
		size *= 2
	}
	return &IndicatorSet{slots: make([]uint64, size), list: make([]*Indicator, 0, n)}
}

// find returns the slot of id (its hash is h): holding its list index
// plus one in the low half, or 0 where it would go. The hash kept in the
// slot spares most probes a visit to the indicator.
func (s *IndicatorSet) find(id string, h uint32) int {
	mask := len(s.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		v := s.slots[i]
		if v == 0 || uint32(v>>32) == h && s.list[uint32(v)-1].ID == id {
			return i
		}
	}
}

func idHash(id string) uint32 { return uint32(maphash.String(indexSeed, id)) }

func (s *IndicatorSet) grow() {
	old := s.slots
	s.slots = make([]uint64, 2*len(old))
	mask := len(s.slots) - 1
	for _, v := range old {
		if v == 0 {
			continue
		}
		for i := int(uint32(v>>32)) & mask; ; i = (i + 1) & mask {
			if s.slots[i] == 0 {
				s.slots[i] = v
				break
			}
		}
	}
}

// Put adds ind unless a newer version of it is held; it reports whether
// the set changed.
func (s *IndicatorSet) Put(ind *Indicator) bool {
	if (len(s.list)+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	h := idHash(ind.ID)
	slot := s.find(ind.ID, h)
	if s.slots[slot] == 0 {
		s.list = append(s.list, ind)
		s.slots[slot] = uint64(h)<<32 | uint64(len(s.list))
		return true
	}
	i := uint32(s.slots[slot]) - 1
	old := s.list[i]
	if !ind.Modified.After(old.Modified) && !(ind.Modified.Equal(old.Modified) && ind.Revoked && !old.Revoked) {
		return false
	}
	s.list[i] = ind
	return true
}

// withhold stops the held version of id from matching (a copy of it,
// revoked, takes its place, which a newer version replaces as usual); it
// reports whether the set changed.
func (s *IndicatorSet) withhold(id string) bool {
	slot := s.find(id, idHash(id))
	if s.slots[slot] == 0 {
		return false
	}
	i := uint32(s.slots[slot]) - 1
	if s.list[i].Revoked {
		return false
	}
	w := *s.list[i]
	w.Revoked = true
	s.list[i] = &w
	return true
}

// All returns every indicator, in the order they first arrived (a later
// version takes its first version's place).
func (s *IndicatorSet) All() []*Indicator {
	return append([]*Indicator(nil), s.list...)
}

// Usable returns the indicators that are not revoked: those a matcher
// compiles. Whether one counts for an event is decided by the event's own
// time ([Indicator.ActiveAt]), so an indicator that has expired still
// matches the older logs that fall inside its validity, and one that
// starts later does not match logs from before.
func (s *IndicatorSet) Usable() []*Indicator {
	var out []*Indicator
	for _, ind := range s.list {
		if !ind.Revoked {
			out = append(out, ind)
		}
	}
	return out
}

// Active returns the indicators active at t and the earliest time after t
// at which that set changes by expiry or start (zero: never).
func (s *IndicatorSet) Active(t time.Time) (active []*Indicator, next time.Time) {
	for _, ind := range s.list {
		if ind.ActiveAt(t) {
			active = append(active, ind)
		}
		for _, c := range []time.Time{ind.ValidFrom, ind.ValidUntil} {
			if !ind.Revoked && c.After(t) && (next.IsZero() || c.Before(next)) {
				next = c
			}
		}
	}
	return active, next
}

// readAll reads r to the end, in one allocation when its size is known:
// a regular file, or a reader that tells its length (bytes.Reader,
// strings.Reader). Of any other (a pipe, stdin, an HTTP body) it reads
// chunks that double up to 64 MiB and joins them once: io.ReadAll's
// growth by a quarter reallocates and clears the buffer again and again,
// which cost four fifths of loading a 1.4 GB bundle from a pipe.
func readAll(r io.Reader) ([]byte, error) {
	size := int64(-1)
	if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	} else if l, ok := r.(interface{ Len() int }); ok {
		size = int64(l.Len())
	}
	if size >= 0 && size < 1<<34 {
		var b bytes.Buffer
		b.Grow(int(size) + 512)
		_, err := b.ReadFrom(r)
		return b.Bytes(), err
	}
	var chunks [][]byte
	total := 0
	for n := 1 << 20; ; n = min(2*n, 64<<20) {
		c := make([]byte, n)
		k, err := io.ReadFull(r, c)
		chunks = append(chunks, c[:k])
		total += k
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

// indAlloc hands out indicators from slabs, and an indicator's id and
// pattern from one allocation: reading a million indicators is then a few
// thousand allocations instead of three million.
type indAlloc struct {
	slab []Indicator
}

func (a *indAlloc) indicator() *Indicator {
	if len(a.slab) == 0 {
		a.slab = make([]Indicator, 1024)
	}
	ind := &a.slab[0]
	a.slab = a.slab[1:]
	return ind
}

// strings copies x and y into one new allocation and returns them as
// strings; the bytes are never written again.
func (a *indAlloc) strings(x, y []byte) (string, string) {
	b := make([]byte, len(x)+len(y))
	copy(b, x)
	copy(b[len(x):], y)
	s := unsafe.String(unsafe.SliceData(b), len(b))
	return s[:len(x)], s[len(x):]
}

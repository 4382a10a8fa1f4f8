package match

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
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

// ErrNoIndicators is returned when an input holds no indicator at all.
var ErrNoIndicators = errors.New("no indicators")

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
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("couldn't read indicators: %w", err)
	}
	set := NewIndicatorSet()
	s := &scanner{}
	s.reset(data)
	var tc timeCache
	for {
		switch s.peek() {
		case 0:
			if err := s.end(); err != nil {
				return nil, fmt.Errorf("couldn't read indicators: %w at byte %d", err, s.pos)
			}
			return set.All(), nil
		case kindArray:
			if err := readIndicatorArray(s, set, &tc); err != nil {
				return nil, err
			}
		case kindObject:
			if err := readIndicatorObject(s, set, true, &tc); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("couldn't read indicators: %w at byte %d", errSyntax, s.pos)
		}
	}
}

func readIndicatorArray(s *scanner, set *IndicatorSet, tc *timeCache) error {
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
		if err := readIndicatorObject(s, set, false, tc); err != nil {
			return err
		}
	}
}

// readIndicatorObject reads one object: an indicator is added to set, a
// bundle's objects are read (when top is set), anything else is skipped.
func readIndicatorObject(s *scanner, set *IndicatorSet, top bool, tc *timeCache) error {
	start := s.pos
	if err := s.openObject(); err != nil {
		return err
	}
	var typ, id, name, pat, ptype, modified, validFrom, validUntil string
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
		var dst *string
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
		case "revoked":
			k, _, err := s.value()
			if err != nil {
				return fail(err)
			}
			revoked = k == kindTrue
			continue
		case "objects":
			if top && s.peek() == kindArray {
				if err := readIndicatorArray(s, set, tc); err != nil {
					return err
				}
				continue
			}
		}
		if dst == nil || s.peek() != kindString {
			if err := s.skip(0); err != nil {
				return fail(err)
			}
			continue
		}
		_, v, err := s.value()
		if err != nil {
			return fail(err)
		}
		*dst = string(v)
	}
	if typ != "indicator" {
		return nil
	}
	ind := &Indicator{ID: id, Name: name, Pattern: pat, PatternType: ptype, Revoked: revoked}
	if id == "" || pat == "" {
		return fmt.Errorf("indicator %q at byte %d has no id or no pattern", id, start)
	}
	for _, f := range []struct {
		name, text string
		dst        *time.Time
	}{{"modified", modified, &ind.Modified}, {"valid_from", validFrom, &ind.ValidFrom}, {"valid_until", validUntil, &ind.ValidUntil}} {
		if f.text == "" {
			continue
		}
		t, ok := tc.parse([]byte(f.text))
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
	byID map[string]*Indicator
}

// NewIndicatorSet returns an empty set.
func NewIndicatorSet() *IndicatorSet { return &IndicatorSet{byID: map[string]*Indicator{}} }

// Put adds ind unless a newer version of it is held; it reports whether
// the set changed.
func (s *IndicatorSet) Put(ind *Indicator) bool {
	if old, ok := s.byID[ind.ID]; ok && !ind.Modified.After(old.Modified) {
		if !(ind.Modified.Equal(old.Modified) && ind.Revoked && !old.Revoked) {
			return false
		}
	}
	s.byID[ind.ID] = ind
	return true
}

// All returns every indicator, sorted by id.
func (s *IndicatorSet) All() []*Indicator {
	out := make([]*Indicator, 0, len(s.byID))
	for _, ind := range s.byID {
		out = append(out, ind)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Active returns the indicators active at t and the earliest time after t
// at which that set changes by expiry or start (zero: never).
func (s *IndicatorSet) Active(t time.Time) (active []*Indicator, next time.Time) {
	for _, ind := range s.All() {
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

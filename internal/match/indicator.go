package match

import (
	"encoding/json"
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
// are ignored. Of several versions of one indicator the newest (by
// modified) is kept.
func ReadIndicators(r io.Reader) ([]*Indicator, error) {
	dec := json.NewDecoder(r)
	set := NewIndicatorSet()
	var objs []any
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("couldn't read indicators: %w", err)
		}
		switch x := v.(type) {
		case []any:
			objs = append(objs, x...)
		case map[string]any:
			if x["type"] == "bundle" {
				l, _ := x["objects"].([]any)
				objs = append(objs, l...)
			} else {
				objs = append(objs, x)
			}
		}
	}
	for _, o := range objs {
		m, _ := o.(map[string]any)
		ind, ok, err := ParseIndicator(m)
		if err != nil {
			return nil, err
		}
		if ok {
			set.Put(ind)
		}
	}
	return set.All(), nil
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

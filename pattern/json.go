package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrInput is wrapped by [DecodeObservations] errors about input that is
// not JSON or not shaped like STIX.
var ErrInput = errors.New("invalid observation input")

// DecodeObservations reads STIX JSON into observations. The input may be
// a bundle, a list of bundles, a list of objects (observed-data and the
// objects they refer to), a single object, or a mixture of these; all
// objects are pooled, as the reference matcher pools its input bundles.
//
// In STIX 2.1 form each observed-data names its objects in object_refs;
// refs that do not resolve are ignored, and objects that no observed-data
// refers to can never match. Input with no bundle whose every object
// embeds an "objects" dictionary and has neither object_refs nor
// spec_version is read in STIX 2.0 form: each object is one observation
// record.
//
// Errors: malformed JSON wraps [ErrInput]; STIX content that the
// reference matcher refuses to evaluate (an object without "type" or
// "id", observed-data without first_observed, last_observed,
// number_observed >= 1 or object_refs, a malformed timestamp) wraps
// [ErrEval].
func DecodeObservations(data []byte) ([]Observation, error) {
	top, pool, err := decodePool(data)
	if err != nil {
		return nil, err
	}
	if isV20(top, pool) {
		return observationsV20(pool)
	}
	return observationsFromPool(pool)
}

// IsSTIX20 reports whether data holds observations in STIX 2.0 form, as
// [DecodeObservations] reads them (no bundle; every object embeds an
// "objects" dictionary and has neither object_refs nor spec_version).
// Patterns over such input may be STIX 2.0 patterns ([Parse20]):
// `parley pattern match` uses it to accept them (START/STOP with plain
// strings) as well as 2.1 patterns on 2.0 observations. Data that cannot
// be decoded is not STIX 2.0.
func IsSTIX20(data []byte) bool {
	top, pool, err := decodePool(data)
	return err == nil && isV20(top, pool)
}

// decodePool parses data and collects the objects of its bundles (or the
// objects themselves) into one pool.
func decodePool(data []byte) (any, []map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return nil, nil, fmt.Errorf("%w: couldn't parse JSON: %v", ErrInput, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("%w: unexpected data after the JSON value", ErrInput)
	}
	var pool []map[string]any
	var add func(v any, depth int) error
	add = func(v any, depth int) error {
		switch x := v.(type) {
		case []any:
			if depth > 1 {
				return fmt.Errorf("%w: lists nested more than twice", ErrInput)
			}
			for _, e := range x {
				if err := add(e, depth+1); err != nil {
					return err
				}
			}
			return nil
		case map[string]any:
			if x["type"] == "bundle" {
				objs, ok := x["objects"]
				if !ok {
					return evalErrorf("a bundle has no \"objects\"")
				}
				list, ok := objs.([]any)
				if !ok {
					return evalErrorf("a bundle's \"objects\" is not a list")
				}
				for _, o := range list {
					m, ok := o.(map[string]any)
					if !ok {
						return evalErrorf("a bundle holds something that is not an object")
					}
					pool = append(pool, m)
				}
				return nil
			}
			pool = append(pool, x)
			return nil
		}
		return fmt.Errorf("%w: expected STIX objects, bundles or a list of them", ErrInput)
	}
	if err := add(top, 0); err != nil {
		return nil, nil, err
	}
	return top, pool, nil
}

// isV20 reports STIX 2.0 input: no bundle, and every object carries its
// observables embedded in an "objects" dictionary instead of object_refs.
func isV20(top any, pool []map[string]any) bool {
	if m, ok := top.(map[string]any); ok && m["type"] == "bundle" {
		return false
	}
	if l, ok := top.([]any); ok {
		for _, e := range l {
			if m, ok := e.(map[string]any); !ok || m["type"] == "bundle" {
				return false
			}
		}
	}
	for _, o := range pool {
		if _, ok := o["objects"].(map[string]any); !ok {
			return false
		}
		if _, ok := o["object_refs"]; ok {
			return false
		}
		if _, ok := o["spec_version"]; ok { // STIX 2.0 objects have none
			return false
		}
	}
	return len(pool) > 0
}

// observationsV20 reads STIX 2.0 observed-data: each top-level object is
// one record (the reference ignores its type), and references name keys
// of its embedded "objects".
func observationsV20(pool []map[string]any) ([]Observation, error) {
	out := make([]Observation, 0, len(pool))
	for _, od := range pool {
		obs, err := observationHeader(od)
		if err != nil {
			return nil, err
		}
		for k, v := range od["objects"].(map[string]any) {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, evalErrorf("observed-data %s: embedded object %q is not an object", obs.ID, k)
			}
			obs.Objects[k] = m
		}
		out = append(out, obs)
	}
	return out, nil
}

// observationHeader reads the fields every observed-data must have.
func observationHeader(od map[string]any) (Observation, error) {
	id, _ := od["id"].(string)
	fo, ok1 := od["first_observed"].(string)
	lo, ok2 := od["last_observed"].(string)
	if !ok1 || !ok2 {
		return Observation{}, evalErrorf("observed-data %s needs first_observed and last_observed timestamps", id)
	}
	first, err := parseTimestamp(fo)
	if err != nil {
		return Observation{}, evalErrorf("observed-data %s: first_observed: %v", id, err)
	}
	last, err := parseTimestamp(lo)
	if err != nil {
		return Observation{}, evalErrorf("observed-data %s: last_observed: %v", id, err)
	}
	n, ok := toNum(od["number_observed"])
	if !ok || !n.isInt || n.i < 1 || n.i > 1<<40 {
		return Observation{}, evalErrorf("observed-data %s needs number_observed, a whole number of at least 1", id)
	}
	return Observation{ID: id, First: first, Last: last, Count: int(n.i), Objects: map[string]map[string]any{}}, nil
}

func observationsFromPool(pool []map[string]any) ([]Observation, error) {
	byID := map[string]map[string]any{}
	var ods []map[string]any
	for _, o := range pool {
		t, ok := o["type"].(string)
		if !ok {
			return nil, evalErrorf("an object has no \"type\"")
		}
		if t == "observed-data" {
			ods = append(ods, o)
			continue
		}
		id, ok := o["id"].(string)
		if !ok {
			return nil, evalErrorf("a %s object has no \"id\"", t)
		}
		byID[id] = o
	}
	out := make([]Observation, 0, len(ods))
	for _, od := range ods {
		obs, err := observationHeader(od)
		if err != nil {
			return nil, err
		}
		id := obs.ID
		refs, ok := od["object_refs"]
		if !ok {
			return nil, evalErrorf("observed-data %s has no object_refs", id)
		}
		list, ok := refs.([]any)
		if !ok {
			return nil, evalErrorf("observed-data %s: object_refs is not a list", id)
		}
		if id != "" {
			obs.Objects[id] = od
		}
		for _, r := range list {
			if rs, ok := r.(string); ok {
				if o, ok := byID[rs]; ok {
					obs.Objects[rs] = o
				}
			}
		}
		out = append(out, obs)
	}
	return out, nil
}

// MatchJSON parses pattern and evaluates it over STIX JSON (see
// [DecodeObservations]). Errors wrap [ErrInvalid] (bad pattern),
// [ErrInput] (bad JSON) or [ErrEval].
func MatchJSON(pattern string, data []byte) (Result, error) {
	p, err := Parse(pattern)
	if err != nil {
		return Result{}, err
	}
	// Compile before decoding so that pattern errors win over data errors,
	// as in the reference.
	if _, err := p.program(); err != nil {
		return Result{}, err
	}
	obs, err := DecodeObservations(data)
	if err != nil {
		return Result{}, err
	}
	return p.Match(obs)
}

package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrNotObject is wrapped when JSON text that should hold a STIX object
// (or a list of them) has another shape.
var ErrNotObject = errors.New("not a STIX object")

// Object is one STIX object as received: the common properties decoded
// for quick access, every property in Props, and the bytes exactly as
// given in Raw (so that a stored object keeps its signature verifiable).
//
// Parse and ParseObjects fill it and check only JSON syntax and the types
// of the common properties; [Validator.Validate] checks everything else.
type Object struct {
	Type        string
	ID          string
	SpecVersion string
	// Created and Modified are zero when absent (cyber-observables and
	// marking definitions have no modified).
	Created      time.Time
	Modified     time.Time
	CreatedByRef string
	Revoked      bool
	// Raw is the object's JSON text exactly as given.
	Raw json.RawMessage
	// Props holds every property, decoded as encoding/json does with
	// UseNumber (numbers are json.Number).
	Props map[string]any
}

// Version returns the object's version as canonical timestamp text (see
// [FormatTimestamp]): modified, else created, else "" for objects that
// are not versioned (most cyber-observables).
func (o *Object) Version() string {
	switch {
	case !o.Modified.IsZero():
		return FormatTimestamp(o.Modified)
	case !o.Created.IsZero():
		return FormatTimestamp(o.Created)
	}
	return ""
}

// Canonical returns the RFC 8785 canonical JSON of the object: the bytes
// [Canonicalize] returns for o.Raw, built from o.Props without decoding
// o.Raw again. It relies on o.Props being what [Parse] or [ParseObjects]
// decoded from o.Raw, unmodified.
func (o *Object) Canonical() ([]byte, error) {
	if o.Props == nil {
		return nil, fmt.Errorf("couldn't canonicalize: %w: no decoded object", ErrNotObject)
	}
	return appendCanonical(make([]byte, 0, len(o.Raw)), o.Props)
}

// Parse parses one STIX object: I-JSON syntax (as [Canonicalize] defines
// it), a JSON object, and the types of the common properties type, id,
// spec_version, created, modified, created_by_ref, revoked and
// extensions. Syntax
// errors wrap [ErrInvalidJSON]; a common property of the wrong type or
// form is reported as a [*ValidationError].
func Parse(data []byte) (*Object, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	return objectFrom(v, trimSpace(data))
}

// ParseObjects parses a list of STIX objects given as a bundle
// ({"type": "bundle", "objects": [...]}), a TAXII envelope
// ({"objects": [...], "more": ...}; an envelope without "objects" is an
// empty list), a JSON array of objects, or one object. Each object's Raw
// is its own slice of data. The first bad object fails the whole call.
func ParseObjects(data []byte) ([]*Object, error) {
	kind, raws, vals, top, err := scanObjects(data, true)
	if err != nil {
		return nil, err
	}
	switch kind {
	case listSingle:
		o, err := objectFrom(top, raws[0])
		if err != nil {
			return nil, err
		}
		return []*Object{o}, nil
	case listEmpty:
		return nil, nil
	}
	var objs []*Object
	for i := range vals {
		o, err := objectFrom(vals[i], raws[i])
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		objs = append(objs, o)
	}
	return objs, nil
}

// ObjectSpans is [ParseObjects] without the parsed objects: it checks
// data as ParseObjects does, failing with the same errors, and returns
// each object's raw span of data in order, but it decodes one object at a
// time and holds none, so that a caller may [Parse] and handle the objects
// of a large document a batch at a time while holding only data and the
// spans (about a tenth of what ParseObjects holds).
func ObjectSpans(data []byte) ([]json.RawMessage, error) {
	kind, raws, _, top, err := scanObjects(data, false)
	if err != nil {
		return nil, err
	}
	switch kind {
	case listSingle:
		if _, err := objectFrom(top, raws[0]); err != nil {
			return nil, err
		}
		return raws, nil
	case listEmpty:
		return nil, nil
	}
	for i, raw := range raws {
		if _, err := Parse(raw); err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
	}
	return raws, nil
}

// What [scanObjects] found: a list of objects (an array, a bundle or an
// envelope), one object, or an empty list.
const (
	listObjects = iota
	listSingle
	listEmpty
)

// scanObjects reads the structure ParseObjects accepts. For a list it
// returns each element's raw span, and with keep its decoded value; for
// one object its raw span (raws[0]) and decoded members (top).
func scanObjects(data []byte, keep bool) (int, []json.RawMessage, []any, map[string]any, error) {
	d := decoder{data: data}
	d.skipSpace()
	if d.pos >= len(d.data) {
		return 0, nil, nil, nil, d.errorf("unexpected end of input")
	}
	switch d.data[d.pos] {
	case '[':
		raws, vals, err := d.rawArray(keep)
		if err != nil {
			return 0, nil, nil, nil, err
		}
		if err := d.end(); err != nil {
			return 0, nil, nil, nil, err
		}
		return listObjects, raws, vals, nil, nil
	case '{':
	default:
		return 0, nil, nil, nil, fmt.Errorf("%w: expected a bundle, an envelope, an array or an object", ErrNotObject)
	}
	// An object: read it member by member so that the "objects" array's
	// elements keep their raw spans.
	start := d.pos
	d.pos++
	top := map[string]any{}
	var raws []json.RawMessage
	var vals []any
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
	} else {
		for {
			d.skipSpace()
			if d.pos >= len(d.data) || d.data[d.pos] != '"' {
				return 0, nil, nil, nil, d.errorf("expected a member name")
			}
			key, err := d.string()
			if err != nil {
				return 0, nil, nil, nil, err
			}
			if _, dup := top[key]; dup {
				return 0, nil, nil, nil, d.errorf("duplicate member name %q", key)
			}
			d.skipSpace()
			if d.pos >= len(d.data) || d.data[d.pos] != ':' {
				return 0, nil, nil, nil, d.errorf("expected ':' after a member name")
			}
			d.pos++
			d.skipSpace()
			if key == "objects" && d.pos < len(d.data) && d.data[d.pos] == '[' {
				raws, vals, err = d.rawArray(keep)
				if err != nil {
					return 0, nil, nil, nil, err
				}
				// Without keep the elements' values are not held:
				// only the member's kind matters for a list.
				top[key] = vals
			} else {
				v, err := d.value(1)
				if err != nil {
					return 0, nil, nil, nil, err
				}
				top[key] = v
			}
			d.skipSpace()
			if d.pos >= len(d.data) {
				return 0, nil, nil, nil, d.errorf("unexpected end of input in an object")
			}
			if d.data[d.pos] == ',' {
				d.pos++
				continue
			}
			if d.data[d.pos] == '}' {
				d.pos++
				break
			}
			return 0, nil, nil, nil, d.errorf("expected ',' or '}' in an object")
		}
	}
	end := d.pos
	if err := d.end(); err != nil {
		return 0, nil, nil, nil, err
	}
	typ, hasType := top["type"]
	_, hasID := top["id"]
	_, hasObjects := top["objects"]
	if hasType && typ != "bundle" || !hasType && hasID && !hasObjects {
		if _, ok := top["objects"].([]any); ok && !keep {
			// One object whose "objects" member is an array, which
			// the scan without keep didn't hold: decode it whole.
			v, err := decodeJSON(data)
			if err != nil {
				return 0, nil, nil, nil, err
			}
			top = v.(map[string]any)
		}
		return listSingle, []json.RawMessage{data[start:end]}, nil, top, nil
	}
	list, ok := top["objects"]
	if !ok {
		// A bundle without objects, or an empty TAXII envelope.
		return listEmpty, nil, nil, nil, nil
	}
	if _, ok := list.([]any); !ok {
		return 0, nil, nil, nil, fmt.Errorf("%w: \"objects\" is not an array", ErrNotObject)
	}
	return listObjects, raws, vals, nil, nil
}

// rawArray reads an array at d.pos, returning each element's raw bytes
// and, with keep, its decoded value.
func (d *decoder) rawArray(keep bool) ([]json.RawMessage, []any, error) {
	d.pos++ // '['
	var raws []json.RawMessage
	var vals []any
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return raws, vals, nil
	}
	for {
		d.skipSpace()
		start := d.pos
		v, err := d.value(1)
		if err != nil {
			return nil, nil, err
		}
		raws = append(raws, json.RawMessage(d.data[start:d.pos]))
		if keep {
			vals = append(vals, v)
		}
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, nil, d.errorf("unexpected end of input in an array")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return raws, vals, nil
		default:
			return nil, nil, d.errorf("expected ',' or ']' in an array")
		}
	}
}

// end checks that only whitespace follows.
func (d *decoder) end() error {
	d.skipSpace()
	if d.pos != len(d.data) {
		return d.errorf("unexpected data after the JSON value")
	}
	return nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// objectFrom builds an Object from a decoded value and its raw text,
// checking the types of the common properties.
func objectFrom(v any, raw []byte) (*Object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: expected a JSON object, found %s", ErrNotObject, jsonKind(v))
	}
	o := &Object{Raw: json.RawMessage(raw), Props: m}
	id, _ := m["id"].(string)
	str := func(name string, dst *string) error {
		x, present := m[name]
		if !present {
			return nil
		}
		s, ok := x.(string)
		if !ok {
			return &ValidationError{ObjectID: id, Property: name, Reason: "must be a string, not " + jsonKind(x)}
		}
		*dst = s
		return nil
	}
	ts := func(name string, dst *time.Time) error {
		var s string
		if err := str(name, &s); err != nil || s == "" {
			if _, present := m[name]; present && err == nil {
				return &ValidationError{ObjectID: id, Property: name, Reason: "must be a timestamp, not an empty string"}
			}
			return err
		}
		t, err := ParseTimestamp(s)
		if err != nil {
			return &ValidationError{ObjectID: id, Property: name, Reason: fmt.Sprintf("must be an RFC 3339 UTC timestamp such as 2016-05-12T08:17:27.000Z, not %q", s)}
		}
		*dst = t
		return nil
	}
	for _, err := range []error{
		str("type", &o.Type), str("id", &o.ID), str("spec_version", &o.SpecVersion),
		str("created_by_ref", &o.CreatedByRef),
		ts("created", &o.Created), ts("modified", &o.Modified),
	} {
		if err != nil {
			return nil, err
		}
	}
	if _, ok := m["type"]; !ok {
		return nil, &ValidationError{ObjectID: id, Property: "type", Reason: "is required"}
	}
	if _, ok := m["id"]; !ok {
		return nil, &ValidationError{Property: "id", Reason: "is required"}
	}
	if r, present := m["revoked"]; present {
		b, ok := r.(bool)
		if !ok {
			return nil, &ValidationError{ObjectID: id, Property: "revoked", Reason: "must be a boolean, not " + jsonKind(r)}
		}
		o.Revoked = b
	}
	// A dictionary (STIX 2.1, 3.2), where the signature extension goes:
	// an object whose extensions are anything else couldn't be signed.
	if x, present := m["extensions"]; present {
		if _, ok := x.(map[string]any); !ok {
			return nil, &ValidationError{ObjectID: id, Property: "extensions", Reason: "must be a JSON object (a dictionary), not " + jsonKind(x)}
		}
	}
	return o, nil
}

// jsonKind names the JSON type of a decoded value for error messages.
func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64, int:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		_ = v
		return "an unknown value"
	}
}

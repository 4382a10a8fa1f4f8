package stix

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"
)

// ValidationError reports one broken rule of STIX 2.1: which object (by
// id, empty when the object has none), which property (a path such as
// "external_references[0].source_name", empty for rules about the whole
// object) and why.
type ValidationError struct {
	ObjectID string
	Property string
	Reason   string
}

// Error returns one sentence naming the object and the property.
func (e *ValidationError) Error() string {
	obj := e.ObjectID
	if obj == "" {
		obj = "(no id)"
	}
	if e.Property == "" {
		return fmt.Sprintf("object %s %s", obj, e.Reason)
	}
	return fmt.Sprintf("object %s: property %q %s", obj, e.Property, e.Reason)
}

// Validator checks objects against the rules of STIX 2.1. The zero value
// is ready to use and safe for concurrent use as long as Patterns is not
// modified.
type Validator struct {
	// Patterns validates an indicator's pattern per pattern_type. "stix"
	// falls back to a minimal built-in check (rejects what is clearly not
	// a STIX pattern) when absent; other types without an entry are
	// accepted (pattern_type is an open vocabulary). The node plugs in
	// pattern.Validate and pdq's check.
	Patterns map[string]func(pattern string) error
}

// Validate checks o against STIX 2.1: the common properties (id syntax
// and its type prefix, spec_version "2.1", millisecond timestamps,
// modified >= created, references to the right object types, markings,
// external references), each type's required properties and property
// types, closed enumerations (open vocabularies accept any string), the
// type's co-constraints (for example artifact's payload_bin or url),
// predefined and extension-definition extensions, and the naming rules
// for custom properties and custom object types. It returns the first
// problem found as a *ValidationError, or nil.
func (v *Validator) Validate(o *Object) error {
	if o == nil || o.Props == nil {
		return &ValidationError{Reason: "is empty"}
	}
	c := &checker{v: v, id: o.ID, obj: o.Props}
	return c.object()
}

// checker carries the state of one validation.
type checker struct {
	v   *Validator
	id  string
	obj map[string]any
	// embedded is the deprecated observed-data "objects" dictionary while
	// its observables are checked: their references are its keys.
	embedded map[string]any
}

func (c *checker) fail(prop, format string, args ...any) error {
	return &ValidationError{ObjectID: c.id, Property: prop, Reason: fmt.Sprintf(format, args...)}
}

// check validates one value at a property path.
type check func(c *checker, path string, v any) error

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// --- primitive checks ---

func isString(c *checker, path string, v any) error {
	if _, ok := v.(string); !ok {
		return c.fail(path, "must be a string, not %s", jsonKind(v))
	}
	return nil
}

// nonEmpty is a string that must not be empty.
func nonEmpty(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a string, not %s", jsonKind(v))
	}
	if strings.TrimSpace(s) == "" {
		return c.fail(path, "must not be empty")
	}
	return nil
}

func isBool(c *checker, path string, v any) error {
	if _, ok := v.(bool); !ok {
		return c.fail(path, "must be a boolean, not %s", jsonKind(v))
	}
	return nil
}

// integer checks a JSON integer in [lo, hi]; nil bounds are open.
func integer(lo, hi *big.Int) check {
	return func(c *checker, path string, v any) error {
		n, ok := asInteger(v)
		if !ok {
			return c.fail(path, "must be an integer, not %s", describe(v))
		}
		if lo != nil && n.Cmp(lo) < 0 {
			return c.fail(path, "must be at least %s, not %s", lo, n)
		}
		if hi != nil && n.Cmp(hi) > 0 {
			return c.fail(path, "must be at most %s, not %s", hi, n)
		}
		return nil
	}
}

func bound(n int64) *big.Int { return big.NewInt(n) }

var (
	anyInt      = integer(nil, nil)
	nonNegative = integer(bound(0), nil)
)

// asInteger accepts a JSON number with an integer value ("3", "3.0",
// "3e2"), as JSON Schema's "integer" does.
func asInteger(v any) (*big.Int, bool) {
	num, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(string(num))
	if !ok || !r.IsInt() {
		return nil, false
	}
	return r.Num(), true
}

// number checks a JSON number in [lo, hi].
func number(lo, hi float64) check {
	return func(c *checker, path string, v any) error {
		num, ok := v.(json.Number)
		if !ok {
			return c.fail(path, "must be a number, not %s", jsonKind(v))
		}
		f, err := num.Float64()
		if err != nil || f < lo || f > hi {
			return c.fail(path, "must be a number from %g to %g, not %s", lo, hi, num)
		}
		return nil
	}
}

func describe(v any) string {
	if n, ok := v.(json.Number); ok {
		return string(n)
	}
	return jsonKind(v)
}

// timestamp checks a STIX timestamp.
func timestamp(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a timestamp string, not %s", jsonKind(v))
	}
	if _, err := ParseTimestamp(s); err != nil {
		return c.fail(path, "must be an RFC 3339 UTC timestamp such as 2016-05-12T08:17:27.000Z, not %q", s)
	}
	return nil
}

// timestampMillis checks a timestamp with at least millisecond precision,
// as section 3.2 requires of created and modified.
func timestampMillis(c *checker, path string, v any) error {
	if err := timestamp(c, path, v); err != nil {
		return err
	}
	s := v.(string)
	if i := strings.IndexByte(s, '.'); i < 0 || len(s)-i-2 < 3 {
		return c.fail(path, "must be precise to at least the millisecond, as in 2016-05-12T08:17:27.000Z, not %q", s)
	}
	return nil
}

// timestampSeconds checks a timestamp precise to the second exactly
// (windows-pebinary-ext time_date_stamp).
func timestampSeconds(c *checker, path string, v any) error {
	if err := timestamp(c, path, v); err != nil {
		return err
	}
	if strings.IndexByte(v.(string), '.') >= 0 {
		return c.fail(path, "must be precise to the second, without fractional seconds")
	}
	return nil
}

// enum checks a closed vocabulary.
func enum(values ...string) check {
	return func(c *checker, path string, v any) error {
		s, ok := v.(string)
		if !ok {
			return c.fail(path, "must be a string, not %s", jsonKind(v))
		}
		for _, x := range values {
			if s == x {
				return nil
			}
		}
		return c.fail(path, "must be one of %s, not %q", quoteList(values), s)
	}
}

func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) <= 2 {
		return strings.Join(q, " or ")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// vocab is an open vocabulary: any non-empty string is accepted; the
// suggested values are documentation.
func vocab(c *checker, path string, v any) error { return nonEmpty(c, path, v) }

// list checks a non-empty array whose elements all pass elem.
func list(elem check) check {
	return func(c *checker, path string, v any) error {
		a, ok := v.([]any)
		if !ok {
			return c.fail(path, "must be a list, not %s", jsonKind(v))
		}
		if len(a) == 0 {
			return c.fail(path, "must not be an empty list")
		}
		for i, e := range a {
			if err := elem(c, fmt.Sprintf("%s[%d]", path, i), e); err != nil {
				return err
			}
		}
		return nil
	}
}

var (
	stringList = list(isString)
	vocabList  = list(vocab)
)

// ref checks an identifier whose type is one of types (any type when
// none is given).
func ref(types ...string) check {
	return func(c *checker, path string, v any) error {
		s, ok := v.(string)
		if !ok {
			return c.fail(path, "must be an identifier string, not %s", jsonKind(v))
		}
		var typ string
		if c.embedded != nil {
			o, ok := c.embedded[s].(map[string]any)
			if !ok {
				return c.fail(path, "must be a key of the observed-data objects dictionary, not %q", s)
			}
			typ, _ = o["type"].(string)
		} else {
			var err error
			if typ, err = SplitIdentifier(s); err != nil {
				return c.fail(path, "must be an identifier of the form type--UUID, not %q", s)
			}
		}
		if len(types) == 0 {
			return nil
		}
		for _, t := range types {
			if t == typ || t == classSCO && isSCOType(typ) || t == classSDO && isSDOType(typ) {
				return nil
			}
		}
		return c.fail(path, "must refer to %s, not %q", describeTypes(types), s)
	}
}

// Pseudo types accepted by ref: any SCO or SDO type (custom ones
// included, as far as the type name can tell).
const (
	classSCO = "<sco>"
	classSDO = "<sdo>"
)

func describeTypes(types []string) string {
	names := make([]string, len(types))
	for i, t := range types {
		switch t {
		case classSCO:
			names[i] = "a cyber-observable"
		case classSDO:
			names[i] = "a domain object"
		case "identity", "indicator", "intrusion-set", "ipv4-addr", "ipv6-addr", "artifact", "autonomous-system", "observed-data", "email-addr", "email-message", "extension-definition", "opinion", "infrastructure", "incident", "attack-pattern":
			names[i] = "an " + t
		default:
			names[i] = "a " + t
		}
	}
	if len(names) <= 2 {
		return strings.Join(names, " or ")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// notRef checks an identifier whose type is not one of types.
func notRef(types ...string) check {
	return func(c *checker, path string, v any) error {
		if err := ref()(c, path, v); err != nil {
			return err
		}
		typ, _ := SplitIdentifier(v.(string))
		for _, t := range types {
			if t == typ {
				return c.fail(path, "must not refer to a %s", t)
			}
		}
		return nil
	}
}

func refList(types ...string) check { return list(ref(types...)) }

// binary checks standard base64 (RFC 4648, padded), STIX's binary type.
func binary(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a base64 string, not %s", jsonKind(v))
	}
	if _, err := base64.StdEncoding.Strict().DecodeString(s); err != nil {
		return c.fail(path, "must be standard padded base64")
	}
	return nil
}

// hexString checks STIX's hex type: an even number of hex digits.
func hexString(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a hex string, not %s", jsonKind(v))
	}
	if len(s)%2 != 0 || !isHex(s) {
		return c.fail(path, "must be an even number of hexadecimal digits, not %q", s)
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// dictionary checks a STIX dictionary (section 2.6): a non-empty object
// whose keys are at most 250 ASCII letters, digits, '_' or '-'.
func dictionary(c *checker, path string, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return c.fail(path, "must be a dictionary (JSON object), not %s", jsonKind(v))
	}
	if len(m) == 0 {
		return c.fail(path, "must not be an empty dictionary")
	}
	for _, k := range sortedKeys(m) {
		if !validDictKey(k) {
			return c.fail(join(path, k), "is not a valid dictionary key (at most 250 ASCII letters, digits, '_' or '-')")
		}
		if a, ok := m[k].([]any); ok && len(a) == 0 {
			return c.fail(join(path, k), "must not be an empty list")
		}
	}
	return nil
}

func validDictKey(k string) bool {
	if len(k) > 250 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// hashAlgorithms gives the hex length of each hash-algorithm-ov value
// with a fixed-size digest, and -1 for the fuzzy hashes.
var hashAlgorithms = map[string]int{
	"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128,
	"SHA3-256": 64, "SHA3-512": 128, "SSDEEP": -1, "TLSH": -1,
}

// hashes checks the hashes type (section 2.7): keys from the
// hash-algorithm-ov vocabulary (or custom names of 3 to 250 characters),
// values of the right form for the algorithms the vocabulary defines.
func hashes(c *checker, path string, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return c.fail(path, "must be a hashes dictionary (JSON object), not %s", jsonKind(v))
	}
	if len(m) == 0 {
		return c.fail(path, "must not be an empty dictionary")
	}
	for _, k := range sortedKeys(m) {
		p := join(path, k)
		s, ok := m[k].(string)
		if !ok {
			return c.fail(p, "must be a string, not %s", jsonKind(m[k]))
		}
		n, known := hashAlgorithms[k]
		switch {
		case known && n > 0:
			if len(s) != n || !isHex(s) {
				return c.fail(p, "must be %d hexadecimal digits", n)
			}
		case k == "SSDEEP":
			if s == "" || len(s) > 128 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+:.") != "" {
				return c.fail(p, "must be an ssdeep digest")
			}
		case k == "TLSH":
			if len(s) != 70 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
				return c.fail(p, "must be a TLSH digest of 70 characters")
			}
		default:
			if len(k) < 3 || len(k) > 250 || !validDictKey(k) {
				return c.fail(p, "is not a hash algorithm from hash-algorithm-ov nor a valid custom name (3 to 250 letters, digits, '_' or '-')")
			}
			if s == "" {
				return c.fail(p, "must not be empty")
			}
		}
	}
	return nil
}

// sub checks a nested object (a STIX "type" such as kill-chain-phase)
// against props, allowing custom properties that follow the naming rule.
func sub(t *typeSpec) check {
	return func(c *checker, path string, v any) error {
		m, ok := v.(map[string]any)
		if !ok {
			return c.fail(path, "must be a JSON object, not %s", jsonKind(v))
		}
		return c.props(path, m, t)
	}
}

// --- common rules ---

// typeSpec describes the properties of one object type, nested type or
// extension.
type typeSpec struct {
	props    map[string]check
	required []string
	// atLeastOne: the object must have at least one of these properties.
	atLeastOne []string
	// rules are co-constraints checked after each property.
	rules []func(c *checker, path string, m map[string]any) error
}

// props checks m against t: required properties, each known property's
// check, and custom property names for the rest.
func (c *checker) props(path string, m map[string]any, t *typeSpec) error {
	for _, name := range t.required {
		if _, ok := m[name]; !ok {
			return c.fail(join(path, name), "is required")
		}
	}
	for _, name := range sortedKeys(m) {
		p := join(path, name)
		if chk, ok := t.props[name]; ok {
			if err := chk(c, p, m[name]); err != nil {
				return err
			}
			continue
		}
		if err := c.custom(p, name, m[name]); err != nil {
			return err
		}
	}
	if len(t.atLeastOne) > 0 {
		found := false
		for _, name := range t.atLeastOne {
			if _, ok := m[name]; ok {
				found = true
				break
			}
		}
		if !found {
			return c.fail(path, "must have at least one of the properties %s", quoteList(t.atLeastOne))
		}
	}
	for _, rule := range t.rules {
		if err := rule(c, path, m); err != nil {
			return err
		}
	}
	return nil
}

// custom checks a property the specification does not define (section
// 11.1): its name has 3 to 250 characters of a-z, 0-9 and '_' and starts
// with a letter; "_bin" and "_hex" suffixes promise binary and hex
// values; lists must not be empty.
func (c *checker) custom(path, name string, v any) error {
	if !validPropertyName(name) {
		return c.fail(path, "is not a defined property, and not a valid custom property name (3 to 250 characters of a-z, 0-9 and '_', starting with a letter)")
	}
	return c.customValue(path, name, v)
}

// customValue checks the value of a custom property named name: "_bin"
// and "_hex" suffixes promise binary and hex values; lists must not be
// empty; null is not a value.
func (c *checker) customValue(path, name string, v any) error {
	switch {
	case strings.HasSuffix(name, "_bin"):
		return binary(c, path, v)
	case strings.HasSuffix(name, "_hex"):
		return hexString(c, path, v)
	}
	if v == nil {
		return c.fail(path, "must not be null")
	}
	if a, ok := v.([]any); ok && len(a) == 0 {
		return c.fail(path, "must not be an empty list")
	}
	return nil
}

func validPropertyName(s string) bool {
	if len(s) < 3 || len(s) > 250 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// before checks that property a (a timestamp) is not later than b, or
// strictly earlier when strict.
func before(a, b string, strict bool) func(c *checker, path string, m map[string]any) error {
	return func(c *checker, path string, m map[string]any) error {
		as, ok1 := m[a].(string)
		bs, ok2 := m[b].(string)
		if !ok1 || !ok2 {
			return nil
		}
		ta, err1 := ParseTimestamp(as)
		tb, err2 := ParseTimestamp(bs)
		if err1 != nil || err2 != nil {
			return nil
		}
		if tb.Before(ta) || strict && tb.Equal(ta) {
			rel := "later than or equal to"
			if strict {
				rel = "later than"
			}
			return c.fail(join(path, b), "must be %s %s", rel, a)
		}
		return nil
	}
}

// requires: when property a is present, b must be too.
func requires(a, b string) func(c *checker, path string, m map[string]any) error {
	return func(c *checker, path string, m map[string]any) error {
		if _, ok := m[a]; ok {
			if _, ok := m[b]; !ok {
				return c.fail(join(path, b), "is required when %s is present", a)
			}
		}
		return nil
	}
}

// excludes: a and b must not both be present.
func excludes(a, b string) func(c *checker, path string, m map[string]any) error {
	return func(c *checker, path string, m map[string]any) error {
		_, okA := m[a]
		_, okB := m[b]
		if okA && okB {
			return c.fail(join(path, b), "must not be present together with %s", a)
		}
		return nil
	}
}

func sortedKeys(m map[string]any) []string {
	// Deterministic order keeps error messages stable.
	return slices.Sorted(maps.Keys(m))
}

// mustTime parses a timestamp already checked.
func mustTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := ParseTimestamp(s)
	return t, err == nil
}

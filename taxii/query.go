package taxii

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Limits on query parameters, so that a request cannot make the backend
// build an unbounded filter.
const (
	// MaxFilterValues is the most values one match[...] filter may list.
	MaxFilterValues = 1000
	// MaxNextLength is the longest next cursor accepted.
	MaxNextLength = 1024
)

// ParseQuery parses the URL query parameters of the objects, object,
// manifest and versions endpoints (TAXII 2.1 section 3.4 and 3.5):
// added_after, limit, next, and match[id], match[type], match[version],
// match[spec_version], each a comma-separated list (a repeated parameter
// adds to the list). Without match[version] the query asks for the last
// version. Limit is left 0 when absent, and a limit too large for an int
// becomes math.MaxInt; the handler lowers it to its maximum page size.
// Parameters it does not know are ignored, as the specification asks of
// filters a server does not support.
//
// The error is a [*RequestError] of kind [ErrBadRequest] naming the
// parameter.
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	if vals, ok := v["added_after"]; ok {
		s, err := single("added_after", vals)
		if err != nil {
			return Query{}, err
		}
		t, err := ParseTimestamp(s)
		if err != nil {
			return Query{}, BadRequest("added_after: %v", err)
		}
		q.AddedAfter = t
	}
	if vals, ok := v["limit"]; ok {
		s, err := single("limit", vals)
		if err != nil {
			return Query{}, err
		}
		n, err := parseLimit(s)
		if err != nil {
			return Query{}, err
		}
		q.Limit = n
	}
	if vals, ok := v["next"]; ok {
		s, err := single("next", vals)
		if err != nil {
			return Query{}, err
		}
		if len(s) > MaxNextLength || !printable(s) {
			return Query{}, BadRequest("next: not a cursor this server issued")
		}
		q.Next = s
	}
	var err error
	if q.IDs, err = list(v, "match[id]", validID); err != nil {
		return Query{}, err
	}
	if q.Types, err = list(v, "match[type]", validType); err != nil {
		return Query{}, err
	}
	if q.SpecVersions, err = list(v, "match[spec_version]", validSpecVersion); err != nil {
		return Query{}, err
	}
	versions, err := list(v, "match[version]", func(string) bool { return true })
	if err != nil {
		return Query{}, err
	}
	if len(versions) == 0 {
		q.Versions.Last = true
	}
	for _, s := range versions {
		switch s {
		case "all":
			q.Versions.All = true
		case "first":
			q.Versions.First = true
		case "last":
			q.Versions.Last = true
		default:
			t, err := ParseTimestamp(s)
			if err != nil {
				return Query{}, BadRequest("match[version]: %q is not first, last, all or a timestamp", truncate(s))
			}
			if !slices.ContainsFunc(q.Versions.At, t.Equal) {
				q.Versions.At = append(q.Versions.At, t)
			}
		}
	}
	return q, nil
}

// Values encodes q as URL query parameters that [ParseQuery] parses back
// into q. Timestamps are written with [FormatTimestamp], so instants finer
// than a microsecond are cut.
func (q Query) Values() url.Values {
	v := url.Values{}
	if !q.AddedAfter.IsZero() {
		v.Set("added_after", FormatTimestamp(q.AddedAfter))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Next != "" {
		v.Set("next", q.Next)
	}
	setList := func(name string, vals []string) {
		if len(vals) > 0 {
			v.Set(name, strings.Join(vals, ","))
		}
	}
	setList("match[id]", q.IDs)
	setList("match[type]", q.Types)
	setList("match[spec_version]", q.SpecVersions)
	var vs []string
	if q.Versions.All {
		vs = append(vs, "all")
	}
	if q.Versions.First {
		vs = append(vs, "first")
	}
	// Last is the default; it is written only when something else is
	// asked too, so that the default round-trips either way.
	if q.Versions.Last && (len(vs) > 0 || len(q.Versions.At) > 0) {
		vs = append(vs, "last")
	}
	for _, t := range q.Versions.At {
		vs = append(vs, FormatTimestamp(t))
	}
	setList("match[version]", vs)
	return v
}

// single returns the one value of a parameter that may not repeat.
func single(name string, vals []string) (string, error) {
	if len(vals) != 1 {
		return "", BadRequest("%s: given %d times, want once", name, len(vals))
	}
	if vals[0] == "" {
		return "", BadRequest("%s: empty", name)
	}
	return vals[0], nil
}

func parseLimit(s string) (int, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, BadRequest("limit: %q is not a positive integer", truncate(s))
		}
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		// Only digits, so the number is just too large: the largest page
		// the server allows is what the client asked for.
		return math.MaxInt, nil
	}
	if n == 0 {
		return 0, BadRequest("limit: must be at least 1")
	}
	if n > math.MaxInt {
		return math.MaxInt, nil
	}
	return int(n), nil
}

// list collects the comma-separated values of a repeatable filter,
// dropping duplicates and keeping their first order.
func list(v url.Values, name string, valid func(string) bool) ([]string, error) {
	vals, ok := v[name]
	if !ok {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, joined := range vals {
		for s := range strings.SplitSeq(joined, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				return nil, BadRequest("%s: empty value in %q", name, truncate(joined))
			}
			if !printable(s) || !valid(s) {
				return nil, BadRequest("%s: invalid value %q", name, truncate(s))
			}
			if seen[s] {
				continue
			}
			seen[s] = true
			out = append(out, s)
			if len(out) > MaxFilterValues {
				return nil, BadRequest("%s: more than %d values", name, MaxFilterValues)
			}
		}
	}
	return out, nil
}

// validType accepts STIX type names: ASCII lowercase letters, digits and
// hyphens, 3 to 250 characters (STIX 2.1 section 3.1), which keeps custom
// types.
func validType(s string) bool {
	if len(s) < 3 || len(s) > 250 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validID accepts identifiers of the form type--suffix. The suffix is not
// checked to be a UUID: an id that cannot exist simply matches nothing.
func validID(s string) bool {
	typ, rest, ok := strings.Cut(s, "--")
	return ok && validType(typ) && rest != "" && len(s) <= 300
}

// validSpecVersion accepts versions such as "2.1" and "2.0".
func validSpecVersion(s string) bool {
	major, minor, ok := strings.Cut(s, ".")
	return ok && allDigits(major) && allDigits(minor) && len(s) <= 16
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// printable reports whether s is printable ASCII, so that values echoed in
// error messages and logs cannot carry control characters.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

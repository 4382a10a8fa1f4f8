package store

import (
	"net/netip"
	"strings"
)

// MaxExactValueLen is the longest exact value (see [ExactValues]) that
// the UI's value index holds: the longest look-up the UI accepts.
const MaxExactValueLen = 2048

// ExactValues returns the exact values written in raw, an object's JSON,
// lower-cased, each once, in the order they first appear: the maximal
// runs of value characters (a-z, 0-9 and . - _ @ : /, after
// lower-casing) that [IsExactValue] accepts (domains, IP addresses,
// URLs, e-mail addresses, file hashes). A look-up of such a value finds
// through them every object that holds it as a whole value, not as part
// of a longer one: the web UI's test of a candidate is the same.
func ExactValues(raw []byte) []string {
	s := strings.ToLower(string(raw))
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(s); {
		if !valueByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && valueByte(s[j]) {
			j++
		}
		if v := s[i:j]; !seen[v] && IsExactValue(v) {
			seen[v] = true
			out = append(out, v)
		}
		i = j
	}
	return out
}

// IsExactValue reports whether v, lower-cased, is a value that
// [ExactValues] indexes: made only of value characters, at most
// [MaxExactValueLen] bytes, and a file hash (32, 40, 64 or 128 hex
// digits), an IP address, a URL (with "://"), an e-mail address or a
// domain name whose last label holds a letter.
func IsExactValue(v string) bool {
	if v == "" || len(v) > MaxExactValueLen {
		return false
	}
	hex := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !valueByte(c) {
			return false
		}
		hex = hex && (c >= '0' && c <= '9' || c >= 'a' && c <= 'f')
	}
	switch {
	case hex && (len(v) == 32 || len(v) == 40 || len(v) == 64 || len(v) == 128):
		return true
	case strings.Contains(v, "://"):
		return true
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return true
	}
	if at := strings.LastIndexByte(v, '@'); at >= 0 {
		return at > 0 && isDomain(v[at+1:])
	}
	return isDomain(v)
}

// isDomain reports whether v is labels of [a-z0-9_-] joined by dots (a
// trailing dot allowed), at least two, the last with a letter.
func isDomain(v string) bool {
	v = strings.TrimSuffix(v, ".")
	labels := strings.Split(v, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || strings.ContainsAny(l, "@:/") {
			return false
		}
	}
	return strings.ContainsFunc(labels[len(labels)-1], func(r rune) bool { return r >= 'a' && r <= 'z' })
}

// valueByte is a character of a value (lower-cased), as the web UI's
// whole-value test counts them.
func valueByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '@' || c == ':' || c == '/'
}

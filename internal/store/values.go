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
// URLs, e-mail addresses, file hashes), and the maximal runs of value
// characters and the query characters ? = & % that hold "://" and one of
// those (a URL with its query string, whole). A look-up of such a value
// finds through them every object that holds it as a whole value, not
// as part of a longer one: the web UI's test of a candidate is the same.
// The JSON escapes of the URL characters (\u0026 and the like, as Go's
// encoder writes &, and \/) are read as the characters.
func ExactValues(raw []byte) []string {
	s := UnescapeURLChars(strings.ToLower(string(raw)))
	var out []string
	seen := map[string]bool{}
	scan := func(in func(byte) bool, keep func(string) bool) {
		for i := 0; i < len(s); {
			if !in(s[i]) {
				i++
				continue
			}
			j := i
			for j < len(s) && in(s[j]) {
				j++
			}
			if v := s[i:j]; !seen[v] && keep(v) && IsExactValue(v) {
				seen[v] = true
				out = append(out, v)
			}
			i = j
		}
	}
	scan(valueByte, func(string) bool { return true })
	if strings.Contains(s, "://") {
		scan(func(c byte) bool { return valueByte(c) || urlQueryByte(c) }, func(v string) bool {
			return strings.Contains(v, "://") && strings.ContainsFunc(v, func(r rune) bool { return r < 0x80 && urlQueryByte(byte(r)) })
		})
	}
	return out
}

// urlEscapes are the JSON escapes of URL characters that encoders write
// (Go's escapes &; some escape /), lower-cased.
var urlEscapes = strings.NewReplacer(`\u0026`, "&", `\u003d`, "=", `\u003f`, "?", `\u0025`, "%", `\/`, "/")

// UnescapeURLChars returns s, lower-cased JSON, with the JSON escapes of
// the URL characters & = ? % and / read as those characters, as
// [ExactValues] reads them.
func UnescapeURLChars(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return urlEscapes.Replace(s)
}

// urlQueryByte is a character that a URL's query string adds to the value
// characters.
func urlQueryByte(c byte) bool { return c == '?' || c == '=' || c == '&' || c == '%' }

// IsExactValue reports whether v, lower-cased, is a value that
// [ExactValues] indexes: made only of value characters (a URL also of
// the query characters ? = & %), at most [MaxExactValueLen] bytes, and a
// file hash (32, 40, 64 or 128 hex digits), an IP address, a URL (with
// "://"), an e-mail address or a domain name whose last label holds a
// letter.
func IsExactValue(v string) bool {
	if v == "" || len(v) > MaxExactValueLen {
		return false
	}
	hex := true
	url := strings.Contains(v, "://")
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !valueByte(c) && !(url && urlQueryByte(c)) {
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

// Package untrusted makes text that another party wrote (a server's error
// message, a peer's object id, a witness's answer) fit to repeat in an
// error, a log line or a stored status: bounded, and unable to drive the
// terminal that shows it. It also reads input whose size another party (or
// a careless user) chose, within a bound, failing with an error that names
// the bound ([ReadAll], [ReadFile]).
package untrusted

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable reports whether s is valid UTF-8 without control characters:
// text a person could have typed (a token, a password), not a binary file
// given by mistake (a key, an image).
func Printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// Text returns at most n bytes of s, cut on a rune boundary with "…"
// marking the cut, invalid UTF-8, control characters (terminal escapes
// among them) and bidi controls replaced by '?': at most n bytes and the
// "…".
func Text(s string, n int) string {
	cut := ""
	if len(s) > n {
		n = max(n, 0)
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s, cut = s[:n], "…"
	}
	return strings.Map(func(r rune) rune {
		// Bidi controls (U+202E RIGHT-TO-LEFT OVERRIDE, U+2066..U+2069
		// isolates) aren't control characters but reorder what a
		// terminal shows: "... 403: <U+202E>deifirev" reads "verified".
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?")) + cut
}

package taxii

import (
	"net/http"
	"strings"
)

// RequestToken returns the API token a request carries, the one parser of
// credentials for every authenticated route of a Parley node (TAXII and
// the rest). It accepts, in this order:
//
//   - "Authorization: Bearer TOKEN" (RFC 6750), the scheme name in any case;
//   - "Authorization: Token TOKEN", the scheme of the OASIS Python
//     client's TokenAuth, in any case;
//   - HTTP Basic authentication (RFC 7617) whose password is the token
//     (the user name is ignored), for clients that know only Basic; or,
//     with an empty password, whose user name is a token ([TokenPrefix]),
//     as clients configured like many APIs' ("the token as the user
//     name") send it.
//
// ok is false when the header is absent, names another scheme, or carries
// an empty token or one with spaces or control characters in it: such a
// token is never looked up. The token is returned verbatim; callers must
// never log it.
func RequestToken(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(strings.TrimLeft(h, " \t"), " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"), strings.EqualFold(scheme, "Token"):
		token = strings.Trim(rest, " \t")
	case strings.EqualFold(scheme, "Basic"):
		user, pass, basic := r.BasicAuth()
		if !basic {
			return "", false
		}
		token = pass
		if pass == "" && strings.HasPrefix(user, TokenPrefix) {
			token = user
		}
	default:
		return "", false
	}
	if token == "" || strings.ContainsFunc(token, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return "", false
	}
	return token, true
}

// pathRedacted replaces a token in what [LogPath] returns.
const pathRedacted = "(redacted)"

// TokenPrefix begins every API token a Parley node issues, so that secret
// scanners, and [LogPath], can find one where it does not belong.
const TokenPrefix = "parley_"

// LogPath returns a request's path for a log line, with each API token
// in it ([TokenPrefix] and the base64url characters that follow) replaced
// by "parley_(redacted)". A client that puts its token into the URL, where
// it does not belong, must not get it written into the node's logs; the
// query, where tokens usually go, is never logged at all. A path redacted
// before comes back as it is.
func LogPath(p string) string {
	if !strings.Contains(p, TokenPrefix) {
		return p
	}
	var b strings.Builder
	for {
		i := strings.Index(p, TokenPrefix)
		if i < 0 {
			b.WriteString(p)
			return b.String()
		}
		b.WriteString(p[:i])
		b.WriteString(TokenPrefix + pathRedacted)
		// What is already redacted stays as it is (a path logged twice).
		p = strings.TrimPrefix(p[i+len(TokenPrefix):], pathRedacted)
		p = strings.TrimLeftFunc(p, func(c rune) bool {
			return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '+' || c == '=' || c == '.' || c == '~' || c == '%'
		})
	}
}

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
//     (the user name is ignored), for clients that know only Basic.
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
		_, pass, basic := r.BasicAuth()
		if !basic {
			return "", false
		}
		token = pass
	default:
		return "", false
	}
	if token == "" || strings.ContainsFunc(token, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return "", false
	}
	return token, true
}

package untrusted

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is how many redirects one request follows, as Go's client
// does by default.
const maxRedirects = 10

// SameOriginRedirects is an [http.Client] CheckRedirect for clients that
// carry credentials to one server (a node, a peer, a witness, a TAXII
// feed): a redirect is followed only to the origin (scheme, host and
// port) of the request that began it. Go's client drops the
// Authorization header on a redirect to another host name, but not to
// another port of the same host, nor from https to http, where a
// network attacker reads it; and a server that redirects elsewhere sends
// the client to a place its user never named. The error names both
// origins (Go's client adds the URL it refused to follow).
func SameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	from, to := via[0].URL, req.URL
	if origin(from) != origin(to) {
		return &redirectError{from: origin(from), to: origin(to)}
	}
	return nil
}

// NoDowngradeRedirects is an [http.Client] CheckRedirect for clients that
// fetch public documents from any server (MISP feeds): a redirect may go
// to another server, but never from https to http.
func NoDowngradeRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if strings.EqualFold(via[0].URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
		return &redirectError{from: origin(via[0].URL), to: origin(req.URL)}
	}
	return nil
}

// ErrRedirect is wrapped by the errors of the CheckRedirect functions for
// a redirect they refused.
var ErrRedirect = errors.New("redirect refused")

type redirectError struct{ from, to string }

func (e *redirectError) Error() string {
	return fmt.Sprintf("the server at %s redirected to %s, which was not followed: give that URL if you trust it", Text(e.from, 256), Text(e.to, 256))
}

func (e *redirectError) Unwrap() error { return ErrRedirect }

// origin returns u's scheme, host and port, lower-case, with the scheme's
// default port made explicit.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

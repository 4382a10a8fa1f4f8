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

// SameOriginRedirects is the [http.Client] CheckRedirect of every client
// that fetches from a URL an operator or user gave (a node, a peer, a
// witness, a TAXII feed, a MISP feed with or without a key): a redirect
// is followed only to the origin (scheme, host and port) of the request
// that began it, at most maxRedirects times. Go's client drops the
// Authorization header on a redirect to another host name, but not to
// another port of the same host, nor from https to http, where a
// network attacker reads it; and a server that redirects elsewhere (or
// whoever answers for it on plain http) would send the client to a place
// its user never named: the loopback interface, the cloud's metadata
// address, a private network, the node's own endpoints. The error names
// both origins (Go's client adds the URL it refused to follow: see
// [ClipURLError]).
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

// maxURLText bounds the URL that ClipURLError leaves in an error.
const maxURLText = 512

// ClipURLError bounds the URL named by the [*url.Error] in err's chain
// (an [http.Client]'s error) and returns err. For a refused redirect
// Go's client names the URL of the server's Location header, as the
// server wrote it and at any length (up to the client's 10 MiB of
// response headers); the error then goes where the caller's errors go:
// a terminal, a log line, a feed's recorded last_error.
func ClipURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		// Go's client replaces a password with "***" but keeps the
		// user name, which may be a token itself.
		if u, perr := url.Parse(ue.URL); perr == nil && u.User != nil {
			ue.URL = URLRedacted(u)
		}
		ue.URL = Text(ue.URL, maxURLText)
	}
	return err
}

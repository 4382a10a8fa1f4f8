package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// This file is the one place where commands get the HTTP client they talk
// to a node with (taxii.Client, tlog.Client, private.Client and plain
// requests all take it from [cli.httpClient]), so that certificate
// verification is the same for every command.

// addRemoteFlags adds --ca to a flag set that has a --url flag and no --ca
// of its own, so that every command talking to a node takes it (and
// PARLEY_CA) without declaring it. [cli.parseFlags] calls it before
// parsing; a command that parses by other means must call it first.
func (c *cli) addRemoteFlags(fs *flag.FlagSet) {
	if fs.Lookup("url") == nil || fs.Lookup("ca") != nil {
		return
	}
	fs.StringVar(&c.caFile, "ca", "", "trust only the PEM CA certificates in `FILE` for an https:// --url, instead of the system's roots (a private CA)")
}

// checkRemoteFlags runs after parsing: it builds the HTTP client from --ca
// and checks that a --url that names a node (its usage says "node") is a
// node's base URL, not one of its endpoints, because the commands add
// /taxii2/, /api/ and /log/ themselves and a pasted discovery URL would
// only get a 404.
func (c *cli) checkRemoteFlags(fs *flag.FlagSet) error {
	if f := fs.Lookup("ca"); f != nil && f.Value.String() != "" {
		client, err := clientWithCA(f.Value.String())
		if err != nil {
			return err
		}
		c.client = client
	}
	f := fs.Lookup("url")
	if f == nil || f.Value.String() == "" || !strings.Contains(f.Usage, "node") {
		return nil
	}
	return checkNodeURL(f.Value.String())
}

// nodePaths are the first path segments of a node's own endpoints.
var nodePaths = []string{"taxii2", "api", "log", "members", "private", "concurrence", "extension-definitions"}

// checkNodeURL refuses a URL that is not http(s), and one whose path is a
// node endpoint, with a hint that names the base URL to use instead.
func checkNodeURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf("give the node's base URL, such as https://parley.example:8443 or http://127.0.0.1:8080",
			"--url %q is not an http:// or https:// URL", raw)
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	for _, p := range nodePaths {
		if first == p {
			base := u.Scheme + "://" + u.Host
			return usageErrorf(fmt.Sprintf("--url is the node's base URL: use --url %s (the commands add /taxii2/, /api/ and /log/ themselves)", base),
				"--url %s points into the node (%s), not at the node", untrusted.URLRedacted(u), u.Path)
		}
	}
	return nil
}

// clientWithCA returns an HTTP client that trusts only the CA
// certificates in the PEM file name (given with --ca).
func clientWithCA(name string) (*http.Client, error) {
	return clientWithCAFlag("--ca", name)
}

// clientWithCAFlag is [clientWithCA] for a file given with another flag,
// which its errors name.
func clientWithCAFlag(flag, name string) (*http.Client, error) {
	b, err := untrusted.ReadFile(name, maxCAFile)
	if err != nil {
		return nil, usageErrorf("", "couldn't read %s: %v", flag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, usageErrorf("give the CA certificate in PEM (-----BEGIN CERTIFICATE-----)", "%s %s holds no PEM certificate", flag, name)
	}
	return newHTTPClient(pool), nil
}

// responseHeaderTimeout bounds the wait for a server's answer to begin
// (its status and headers): a node that accepts a command's request and
// never answers fails the command after it, instead of holding it (a
// cron job's parley audit) for ever. The body has no such bound, since a
// large pull takes as long as it takes; the command stops on SIGINT and
// SIGTERM. A variable for tests.
var responseHeaderTimeout = 2 * time.Minute

// newHTTPClient returns a client with the default transport's settings
// (proxy from the environment, timeouts, HTTP/2) that verifies servers
// against roots (nil: the system's roots), speaks TLS 1.2 or later,
// waits at most responseHeaderTimeout (2 minutes) for an answer to begin
// and follows redirects only within the origin it was given
// ([untrusted.SameOriginRedirects]: it carries the member's token).
func newHTTPClient(roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	t.ResponseHeaderTimeout = responseHeaderTimeout
	return &http.Client{Transport: t, CheckRedirect: untrusted.SameOriginRedirects}
}

// httpClient returns the client every command uses to reach a node: the
// one --ca built, else one that trusts the system's roots.
func (c *cli) httpClient() *http.Client {
	if c.client == nil {
		c.client = newHTTPClient(nil)
	}
	return c.client
}

// statusText names an HTTP answer's status by its code and standard text,
// not by the server's reason phrase (resp.Status), which a hostile server
// can make megabytes of terminal escapes.
func statusText(code int) string {
	return strings.TrimSpace(fmt.Sprintf("%d %s", code, http.StatusText(code)))
}

// tlsHint returns a hint for an error that a TLS or scheme mismatch caused
// somewhere in a command's request, or "".
func tlsHint(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return "the node's certificate is not signed by a CA you trust: give its CA certificate with --ca FILE (or PARLEY_CA)"
	case errors.As(err, &host):
		return "the node's certificate is not valid for the host in --url: use a name it was issued for"
	case errors.As(err, &invalid):
		return "the node's certificate is not valid (expired, not yet valid, or not for servers); its operator must replace it"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the node serves plain HTTP: use an http:// --url, or ask its operator to serve TLS"
	}
	return ""
}

// unavailableHint is the hint for an answer that says the node can't serve
// now (502, 503, 504: its store unreachable or busy, a proxy without it),
// from any of the clients' errors, or "".
func unavailableHint(err error) string {
	var te *taxii.ResponseError
	var le *tlog.HTTPError
	var pe *private.HTTPError
	code, wait := 0, time.Duration(0)
	switch {
	case errors.As(err, &te):
		code, wait = te.StatusCode, te.RetryAfter
	case errors.As(err, &le):
		code = le.Code
	case errors.As(err, &pe):
		code = pe.Status
	}
	switch code {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return ""
	}
	hint := "the node is up but can't serve now (its store unreachable or busy, or a proxy before it without it): try again later"
	if wait > 0 {
		hint += fmt.Sprintf(" (it asks to wait %s)", wait)
	}
	return hint + "; its operator finds why in its log and /readyz"
}

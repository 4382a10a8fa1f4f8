package peer

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// Bounds of the files [HTTPClient] and [ReadToken] read, which fit any
// real one: a longer file fails naming its bound.
const (
	MaxCAFile    = 4 << 20
	MaxTokenFile = 64 << 10
)

// HTTPClient returns the client for a peer: one trusting only the PEM CA
// certificates in caFile, or the system's roots when caFile is empty,
// that follows redirects only within the peer's origin
// ([untrusted.SameOriginRedirects]: it carries the token).
func HTTPClient(caFile string) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := untrusted.ReadFile(caFile, MaxCAFile)
		if err != nil {
			return nil, fmt.Errorf("couldn't read the CA file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the CA file %s holds no PEM certificate", caFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t, Timeout: RequestTimeout, CheckRedirect: untrusted.SameOriginRedirects}, nil
}

// randReader returns r, or crypto/rand when r is nil.
func randReader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// ReadToken reads the bearer token from a token file as every parley
// command does: the token on its first line, or the output of
// `parley member add --json` ({"token": ...}). The error never holds the
// token.
func ReadToken(file string) (string, error) {
	b, err := untrusted.ReadFile(file, MaxTokenFile)
	if err != nil {
		return "", fmt.Errorf("couldn't read the token file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "{") {
		var v struct {
			Token string `json:"token"`
		}
		if json.Unmarshal([]byte(s), &v) != nil || v.Token == "" {
			return "", fmt.Errorf("the token file %s has no \"token\"", file)
		}
		s = v.Token
	} else {
		s, _, _ = strings.Cut(s, "\n")
		s = strings.TrimSpace(s)
	}
	if s == "" {
		return "", fmt.Errorf("the token file %s is empty", file)
	}
	// A binary file given by mistake (a key, an image) was taken as the
	// token and refused by the HTTP client at every request.
	if !untrusted.Printable(s) {
		return "", fmt.Errorf("the token file %s holds binary data, not a token", file)
	}
	return s, nil
}

package node

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Behind a TLS-terminating proxy the web UI's requests arrive over plain
// HTTP: its cookies (the login's CSRF cookie, then the session) must still
// be Secure, so that the browser never sends them in clear. They are when
// public_url is https, or when the proxy says X-Forwarded-Proto: https;
// a node reached over plain HTTP with neither keeps them usable on http.
func TestWebCookiesSecureBehindTLSProxy(t *testing.T) {
	for _, tc := range []struct {
		name, publicURL, proto string
		secure                 bool
	}{
		{"plain http", "", "", false},
		{"public_url https", "https://parley.example", "", true},
		{"public_url http", "http://parley.example", "", false},
		{"X-Forwarded-Proto https", "", "https", true},
		{"X-Forwarded-Proto http", "", "http", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _ := initNode(t, Options{})
			n.cfg.PublicURL = tc.publicURL
			srv := httptest.NewServer(n.Handler(nil))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ui/login", nil)
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			cks := resp.Cookies()
			if len(cks) == 0 {
				t.Fatalf("GET /ui/login set no cookie (status %d)", resp.StatusCode)
			}
			for _, ck := range cks {
				if ck.Secure != tc.secure {
					t.Errorf("cookie %s: Secure %v, want %v", ck.Name, ck.Secure, tc.secure)
				}
			}
		})
	}
}

package taxii

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func basicHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestRequestToken(t *testing.T) {
	const tok = "parley_abc-DEF_123"
	tests := []struct {
		name, header string
		want         string // "" means refused
	}{
		{"bearer", "Bearer " + tok, tok},
		{"bearer lower", "bearer " + tok, tok},
		{"bearer upper", "BEARER " + tok, tok},
		{"bearer mixed", "bEaReR " + tok, tok},
		{"bearer extra spaces", "Bearer    " + tok + "  ", tok},
		{"bearer tab after token", "Bearer " + tok + "\t", tok},
		{"leading space", "  Bearer " + tok, tok},
		{"token", "Token " + tok, tok},
		{"token lower", "token " + tok, tok},
		{"token upper", "TOKEN " + tok, tok},
		{"basic", basicHeader("alice", tok), tok},
		{"basic empty user", basicHeader("", tok), tok},
		{"basic lower scheme", "basic " + base64.StdEncoding.EncodeToString([]byte("x:"+tok)), tok},
		{"basic password with colon", basicHeader("u", "a:b"), "a:b"},
		{"basic token as user, no password", basicHeader(tok, ""), tok},
		{"basic token as user and a password", basicHeader(tok, "p"), "p"},

		{"absent", "", ""},
		{"scheme only", "Bearer", ""},
		{"scheme and space", "Bearer ", ""},
		{"token only", tok, ""},
		{"unknown scheme", "Digest " + tok, ""},
		{"scheme prefix", "Bearerx " + tok, ""},
		{"two tokens", "Bearer a b", ""},
		{"control char", "Bearer a\x01b", ""},
		{"del char", "Bearer a\x7fb", ""},
		{"basic empty password", basicHeader("alice", ""), ""},
		{"basic token as user with a space", basicHeader(tok+" x", ""), ""},
		{"basic not base64", "Basic !!!", ""},
		{"basic no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte(tok)), ""},
		{"basic password with space", basicHeader("u", "a b"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			got, ok := RequestToken(r)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("RequestToken(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.want != "")
			}
		})
	}
}

// FuzzRequestToken checks that whatever the header, a token returned is
// non-empty, free of spaces and control characters, and found verbatim in
// the header or in its Basic credentials.
func FuzzRequestToken(f *testing.F) {
	for _, s := range []string{"Bearer t", "token t", basicHeader("u", "p"), "Basic !!", "Bearer", "", "Digest x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Authorization"] = []string{h}
		tok, ok := RequestToken(r)
		if !ok {
			if tok != "" {
				t.Fatalf("refused %q but returned %q", h, tok)
			}
			return
		}
		if tok == "" || strings.ContainsFunc(tok, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
			t.Fatalf("RequestToken(%q) = %q", h, tok)
		}
		if user, pass, basicOK := r.BasicAuth(); !strings.Contains(h, tok) && !(basicOK && (pass == tok || pass == "" && user == tok)) {
			t.Fatalf("RequestToken(%q) = %q, which the header does not carry", h, tok)
		}
	})
}

func TestLogPath(t *testing.T) {
	tok := TokenPrefix + "3Bw2hgNtqa5W63jB_a76jxbL89Fj-Wir9GzVrn6ow1s"
	for _, tc := range []struct{ in, want string }{
		{"/api/collections/", "/api/collections/"},
		{"/api/collections/" + tok + "/objects/", "/api/collections/parley_(redacted)/objects/"},
		{"/" + tok, "/parley_(redacted)"},
		{"/x" + tok + tok + "/" + tok, "/xparley_(redacted)/parley_(redacted)"},
		{"/a/parley_", "/a/parley_(redacted)"},
		{"/ui/parley_abc/x", "/ui/parley_(redacted)/x"},
		// Idempotent: a path redacted before is logged as it is.
		{"/a/parley_(redacted)/b", "/a/parley_(redacted)/b"},
	} {
		if got := LogPath(tc.in); got != tc.want {
			t.Errorf("LogPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

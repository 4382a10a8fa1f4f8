package node

import (
	"net/http"
	"strings"
	"testing"
)

// A token pasted into a request's path (a careless "$URL/$TOKEN", a "?"
// typed as "/") is not written to the access log: the log kept the whole
// path, token included.
func TestAccessLogRedactsTokensInPaths(t *testing.T) {
	fn := newFrontNode(t, nil)
	tok := fn.alice.Token
	for _, path := range []string{"/" + tok, "/log/tile/" + tok, "/taxii2/" + tok + "/x", "/ui/search/token=" + tok} {
		req, err := http.NewRequest("GET", fn.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	logs := fn.logs.String()
	if strings.Contains(logs, strings.TrimPrefix(tok, tokenPrefix)) {
		t.Errorf("the access log holds the token:\n%s", logs)
	}
	if n := strings.Count(logs, tokenPrefix+"REDACTED"); n < 4 {
		t.Errorf("%d paths logged as redacted, want at least 4:\n%s", n, logs)
	}
	for _, tc := range []struct{ in, want string }{
		{"/log/checkpoint", "/log/checkpoint"},
		{"/parley_", "/parley_"},
		{"/a/parley_abc-_9/b/parley_x", "/a/parley_REDACTED/b/parley_REDACTED"},
	} {
		if got := redactTokens(tc.in); got != tc.want {
			t.Errorf("redactTokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

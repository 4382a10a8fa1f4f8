package taxii

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestErrorsEchoLittle: an error message resource quotes a bad value of
// the request (a query parameter, the method) to say what was wrong, but
// no more than a short, escaped prefix of it, whatever its length: a
// client can't make the server answer with kilobytes of its own choosing,
// nor with markup in clear, and a log or a browser that shows the
// description shows at most that prefix.
func TestErrorsEchoLittle(t *testing.T) {
	f := newFixture(t, Config{})
	long := "<script>alert(1)</script>" + strings.Repeat("A", 4000)
	objects := "/api/collections/" + collShared + "/objects/"
	for _, r := range []req{
		{path: objects + "?added_after=" + url.QueryEscape(long)},
		{path: objects + "?match[version]=" + url.QueryEscape(long)},
		{path: objects + "?limit=" + url.QueryEscape(long)},
		{path: objects + "?match[id]=" + url.QueryEscape(long)},
		{path: objects + "?match[type]=" + url.QueryEscape(long)},
		{path: objects + "?match[spec_version]=" + url.QueryEscape(long)},
		{path: objects + "?next=" + url.QueryEscape(long)},
		{method: strings.Repeat("PATCH", 800), path: objects},
	} {
		w := f.do(t, r)
		body := w.Body.String()
		if w.Code != http.StatusBadRequest && w.Code != http.StatusMethodNotAllowed {
			t.Errorf("%.60s %.80s: %d %s", r.method, r.path, w.Code, body)
		}
		if len(body) > 400 || strings.Contains(body, "<script") || strings.Contains(body, strings.Repeat("A", 100)) {
			t.Errorf("%.60s %.80s: %d, the answer echoes the request (%d bytes): %.300s", r.method, r.path, w.Code, len(body), body)
		}
	}
}

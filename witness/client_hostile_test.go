package witness

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A hostile witness's refusal comes back in the client's error (which
// the node logs and parley audit prints) as at most 200 bytes with no
// control characters (and a "…" where it was cut): no terminal escapes.
func TestClientErrorsDontEchoHostileText(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("\x1b[2J\x1b]0;owned\x07" + strings.Repeat("é", 1000)))
	}))
	defer srv.Close()
	_, err := (&Client{URL: srv.URL}).Checkpoint(context.Background(), "log.example/a")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 500 {
		t.Fatalf("err = %.300v", err)
	}
	if msg := err.Error(); len(se.Body) > 200+len("…") || strings.ContainsAny(msg, "\x1b\x07") || strings.Contains(msg, "\ufffd") {
		t.Fatalf("error of %d bytes: %.300q", len(msg), msg)
	}
}

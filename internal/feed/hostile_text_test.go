package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
)

// megabyte is a MiB of a feed server's text: terminal escapes, a newline
// that would forge a log line, a right-to-left override, invalid UTF-8.
var megabyte = "\x1b]0;owned\x07\nlevel=ERROR msg=forged \u202e\xff" + strings.Repeat("A", 1<<20)

// TestPollHostileTextBounded: whatever part of its answer a feed's server
// fills with a MiB of text (a number in the envelope, a field of the
// wrong type, a redirect's Location, a media type, Retry-After, an
// error's title and description, a body that isn't JSON), the round's
// error and the feed's recorded last_error are bounded, on one line, and
// free of control characters.
func TestPollHostileTextBounded(t *testing.T) {
	long := strings.Repeat("1", 1<<20)
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", taxii.MediaType)
			w.Write([]byte(body))
		}
	}
	for name, h := range map[string]http.HandlerFunc{
		"number":      page(`{"more":` + long + `}`),
		"wrong type":  page(`{"more":"` + strings.Repeat("x", 1<<20) + `"}`),
		"not json":    page(megabyte),
		"next number": page(`{"more":true,"next":` + long + `}`),
		"objects":     page(`{"objects":` + long + `}`),
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://169.254.169.254/"+strings.Repeat("a", 1<<20))
			w.WriteHeader(http.StatusFound)
		},
		"same-origin redirect": func(w http.ResponseWriter, r *http.Request) {
			if len(r.URL.Path) < 1000 {
				w.Header().Set("Location", "/"+strings.Repeat("a", 1<<20))
				w.WriteHeader(http.StatusFound)
				return
			}
			w.WriteHeader(http.StatusNotFound)
		},
		"media type": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; x="+strings.Repeat("b", 1<<20))
			w.Write([]byte("{}"))
		},
		"retry-after": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", strings.Repeat("9", 1<<20))
			w.WriteHeader(http.StatusServiceUnavailable)
		},
		"error": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", taxii.MediaType)
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"title":"` + strings.Repeat("t", 1<<20) + `","description":"\u001b[2J\n` + strings.Repeat("d", 1<<20) + `","error_code":` + long + `}`))
		},
	} {
		t.Run(name, func(t *testing.T) {
			hs := httptest.NewServer(h)
			defer hs.Close()
			f := feed.Feed{Name: "t", URL: hs.URL, Collection: "c", Into: "l", Member: "m", Overlap: -1}
			k := &killable{Store: newStoreWith(t, f)}
			_, err := feed.Poll(context.Background(), k, &sink{stored: map[string]int{}}, k.feed(t), time.Now, nil)
			got := k.feed(t).LastError
			if err == nil || got == "" {
				t.Fatalf("err %v, last_error %q", err, got)
			}
			for what, s := range map[string]string{"error": err.Error(), "last_error": got} {
				if len(s) > 4096+len("…") || strings.ContainsAny(s, "\n\r\x1b\x07\u202e") {
					t.Errorf("%s (%d bytes) = %.300q", what, len(s), s)
				}
			}
		})
	}
}

// failingSink refuses every page with err.
type failingSink struct{ err error }

func (s failingSink) Submit(context.Context, string, string, []json.RawMessage) (store.Status, error) {
	return store.Status{}, s.err
}

// TestPollErrorRecordedBounded: whatever error ends a round (here the
// node's own refusal of a page, quoting a MiB of what the page held), the
// feed's recorded last_error and the error returned are bounded, on one
// line, free of control characters, and still unwrap to the error.
func TestPollErrorRecordedBounded(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hostilePage(w, "", 1) }))
	defer hs.Close()
	f := feed.Feed{Name: "t", URL: hs.URL, Collection: "c", Into: "l", Member: "m", Overlap: -1}
	k := &killable{Store: newStoreWith(t, f)}
	refusal := errors.New("refused: " + megabyte)
	_, err := feed.Poll(context.Background(), k, failingSink{refusal}, k.feed(t), time.Now, nil)
	got := k.feed(t).LastError
	if !errors.Is(err, refusal) || !strings.HasPrefix(got, "couldn't store a page: refused: ?]0;owned??level=ERROR") {
		t.Fatalf("err %.200q, last_error %.200q", err, got)
	}
	for what, s := range map[string]string{"error": err.Error(), "last_error": got} {
		if len(s) > 4096+len("…") || strings.ContainsAny(s, "\n\r\x1b\x07\u202e") {
			t.Errorf("%s (%d bytes) = %.300q", what, len(s), s)
		}
	}
}

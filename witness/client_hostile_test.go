package witness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
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

// An answer longer than MaxBodySize fails naming the bound; it was cut
// quietly there and read as a malformed checkpoint.
func TestClientAnswerBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("log.example/a\n" + strings.Repeat("x", MaxBodySize)))
	}))
	defer srv.Close()
	_, err := (&Client{URL: srv.URL}).Checkpoint(context.Background(), "log.example/a")
	if err == nil || !strings.Contains(err.Error(), "larger than 256 KiB") {
		t.Fatalf("an answer of %d KiB: %v, want an error naming the 256 KiB bound", (MaxBodySize+14)>>10, err)
	}
}

// A witness whose 409 names the old size it was just sent, below the
// checkpoint's (no 409 C2SP defines), gets that request once: Submit
// stops there, with the ConflictError (no fork), rather than send it
// again (four requests, all alike).
func TestSubmitStopsAtA409OfItsOwnOldSize(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 9)
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", ContentTypeSize)
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte("5\n"))
	}))
	defer srv.Close()
	prove := func(ctx context.Context, from, to uint64) ([]tlog.Hash, error) { return h.proof(t, from, to), nil }
	_, err := (&Client{URL: srv.URL}).Submit(context.Background(), h.checkpointAt(t, 9), prove)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || conflict.Size != 5 || conflict.Fork || errors.Is(err, ErrFork) {
		t.Fatalf("Submit: %v, want a conflict at 5, no fork", err)
	}
	if got := requests.Load(); got != 2 { // old 0 → "5"; old 5 → "5"
		t.Fatalf("%d requests, want 2", got)
	}
}

// TestCheckpoint404s: monitor retrieval's 404 says whether the witness
// doesn't witness the log ("unknown log": Client.Checkpoint's error is
// ErrUnknownLog too) or witnesses it and hasn't cosigned a checkpoint of
// it yet (ErrNoCheckpoint only); both 404s were the same before, so an
// auditor couldn't tell a witness that dropped the log from one that
// hadn't cosigned yet.
func TestCheckpoint404s(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	w := openWitness(t, t.TempDir(), "w", l)
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	c := &Client{URL: srv.URL}
	_, err := c.Checkpoint(context.Background(), "example.com/log")
	if !errors.Is(err, ErrNoCheckpoint) || errors.Is(err, ErrUnknownLog) {
		t.Fatalf("a witnessed log with no checkpoint: %v", err)
	}
	_, err = c.Checkpoint(context.Background(), "example.com/other")
	if !errors.Is(err, ErrNoCheckpoint) || !errors.Is(err, ErrUnknownLog) {
		t.Fatalf("a log not witnessed: %v", err)
	}
}

// A witness that redirects the client elsewhere, in a Location of a MiB,
// isn't followed (the node's and parley witness's clients keep redirects
// on the witness's origin), and the client's error names the redirect in
// a bounded URL.
func TestClientRedirectBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://169.254.169.254/"+strings.Repeat("a", 1<<20))
		w.WriteHeader(http.StatusFound)
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL, HTTP: &http.Client{CheckRedirect: untrusted.SameOriginRedirects}}
	_, err := c.Checkpoint(context.Background(), "log.example/a")
	if !errors.Is(err, untrusted.ErrRedirect) || len(err.Error()) > 2000 {
		t.Fatalf("error of %d bytes: %.300v", len(fmt.Sprint(err)), err)
	}
}

// TestClientReadsBothForkAnswers: C2SP tlog-witness answers a checkpoint
// of the witness's size with another root 422 since C2SP/C2SP#280, and 409
// with that size before. A Client reads either as a fork (Submit stops
// there), and a 422 to a request with a proof as a refused proof, no fork.
func TestClientReadsBothForkAnswers(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 9)
	for _, tc := range []struct {
		name   string
		status int
		ctype  string
		body   string
	}{
		{"422 (C2SP since #280)", http.StatusUnprocessableEntity, "text/plain", "roots differ\n"},
		{"409 with the checkpoint's size (C2SP before #280)", http.StatusConflict, ContentTypeSize, "9\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := &Client{URL: srv.URL}
			var conflict *ConflictError
			if _, err := c.AddCheckpoint(ctx, 9, nil, h.checkpointAt(t, 9)); !errors.As(err, &conflict) || !conflict.Fork || conflict.Size != 9 || !errors.Is(err, ErrFork) {
				t.Fatalf("AddCheckpoint: %v, want a fork at 9", err)
			}
			if tc.status != http.StatusUnprocessableEntity {
				return
			}
			if _, err := c.AddCheckpoint(ctx, 5, h.proof(t, 5, 9), h.checkpointAt(t, 9)); !errors.Is(err, ErrInconsistent) || errors.Is(err, ErrFork) {
				t.Fatalf("AddCheckpoint with a proof: %v, want ErrInconsistent, no fork", err)
			}
		})
	}
}

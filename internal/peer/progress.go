package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// DefaultStallTimeout is how long a request to a peer may make no
// progress — no response header yet, or no byte of its body — before it
// is abandoned (see [Config.StallTimeout]). A live peer answers a request
// within seconds, and a slow link still delivers some bytes every few
// seconds; a peer that sends nothing for this long (a black-holed
// connection, a hostile peer that stalls while keeping the connection
// open) would otherwise hold the round, and one of the node's rounds at
// once, until [RequestTimeout].
const DefaultStallTimeout = 30 * time.Second

// ErrStalled is returned (wrapped in a [*StallError]) by a request to a
// peer that made no progress for the stall timeout.
var ErrStalled = errors.New("the peer stopped sending")

// StallError says which request to a peer made no progress, and for how
// long. Its text names the URL (checked by [CheckURL]: no credentials)
// and the duration.
type StallError struct {
	Method, URL string
	// Headers is true when the response's headers had come (the body
	// stalled).
	Headers bool
	After   time.Duration
}

func (e *StallError) Error() string {
	what := "no response header"
	if e.Headers {
		what = "no byte of the response body"
	}
	return fmt.Sprintf("%v: %s %s: %s for %s; the request was abandoned", ErrStalled, e.Method, e.URL, what, e.After)
}

// Unwrap makes errors.Is(err, ErrStalled) true.
func (e *StallError) Unwrap() error { return ErrStalled }

// withProgressDeadline returns a copy of hc whose requests are abandoned
// with a [*StallError] when they make no progress for d: from the request
// to its response's header, then between two reads of the body that
// return bytes. A body that keeps coming, however slowly, is not cut
// (the client's own Timeout, if any, still bounds the whole request).
func withProgressDeadline(hc *http.Client, d time.Duration) *http.Client {
	c := *hc
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = progressTransport{rt: rt, d: d}
	return &c
}

type progressTransport struct {
	rt http.RoundTripper
	d  time.Duration
}

func (t progressTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &progressWatch{cancel: cancel, err: &StallError{Method: req.Method, URL: untrusted.URLWithoutSecret(req.URL), After: t.d}, d: t.d}
	w.timer = time.AfterFunc(t.d, w.fire)
	resp, err := t.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		w.stop()
		if se := w.stalled(); se != nil {
			return nil, se
		}
		return nil, err
	}
	if !w.progress(true) {
		resp.Body.Close()
		return nil, w.stalled()
	}
	resp.Body = &progressBody{rc: resp.Body, w: w}
	return resp, nil
}

// progressWatch cancels a request when its timer fires: the timer is
// reset at each sign of progress.
type progressWatch struct {
	cancel context.CancelCauseFunc
	d      time.Duration
	timer  *time.Timer

	mu    sync.Mutex
	err   *StallError
	fired bool
}

func (w *progressWatch) fire() {
	w.mu.Lock()
	w.fired = true
	err := *w.err
	w.mu.Unlock()
	w.cancel(&err)
}

// progress resets the deadline; false if it had already passed.
func (w *progressWatch) progress(headers bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired {
		return false
	}
	if headers {
		w.err.Headers = true
	}
	w.timer.Reset(w.d)
	return true
}

// stalled returns the stall error once the deadline passed, or nil.
func (w *progressWatch) stalled() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.fired {
		return nil
	}
	err := *w.err
	return &err
}

func (w *progressWatch) stop() {
	w.timer.Stop()
	w.cancel(nil)
}

type progressBody struct {
	rc io.ReadCloser
	w  *progressWatch
}

func (b *progressBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.w.stop() // the whole body came: nothing left to watch
	}
	if err != nil && err != io.EOF {
		if se := b.w.stalled(); se != nil {
			return n, se
		}
		return n, err
	}
	if n > 0 && !b.w.progress(false) {
		// The deadline passed as these bytes came: they are kept, and
		// the next read fails.
		return n, nil
	}
	return n, err
}

func (b *progressBody) Close() error {
	b.w.stop()
	return b.rc.Close()
}

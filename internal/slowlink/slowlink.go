// Package slowlink makes HTTP clients that tell a slow link from a dead
// or hostile server: a request is abandoned when it makes no progress for
// a stall deadline, and a response body that keeps coming is not cut by
// the client's total Timeout as long as it comes at a minimum rate.
// Federation peers and TAXII feeds use it.
package slowlink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// DefaultStallTimeout is how long a request may make no progress — no
// response header yet, or no byte of its body — before it is abandoned
// (peer.Config.StallTimeout). A live peer or feed answers a request
// within seconds, and a slow link still delivers some bytes every few
// seconds; a peer that sends nothing for this long (a black-holed
// connection, a hostile peer that stalls while keeping the connection
// open) would otherwise hold the round, and one of the node's rounds at
// once, for a long time.
const DefaultStallTimeout = 30 * time.Second

// DefaultMinRate is the slowest a response body may come, in bytes a
// second, once its request has run for longer than the client's Timeout
// (peer.Config.MinRate): 4 KiB/s, 32 kbit/s, so that a step's objects
// response (at most 16 MiB and one object) ends within about 70 minutes
// however it trickles.
const DefaultMinRate = 4 << 10

// ErrStalled is returned (wrapped in a [*StallError]) by a request that
// made no progress for the stall timeout.
var ErrStalled = errors.New("the server stopped sending")

// StallError says which request made no progress, and for how long. Its
// text names the URL (without its credentials, as
// untrusted.URLWithoutSecret writes it) and the duration.
type StallError struct {
	Method, URL string
	// Headers is true when the response's headers had come (the body
	// stalled).
	Headers bool
	After   time.Duration
	// MinBytes, when above 0, says that the body came, but fewer than
	// MinBytes bytes of it in After, once the request had run for longer
	// than Limit (the client's Timeout): slower than the minimum rate.
	MinBytes int64
	Limit    time.Duration
	// Server names the server in the error's text ([Client]'s server;
	// ErrStalled's text when empty).
	Server string
}

func (e *StallError) Error() string {
	var stalled any = ErrStalled
	if e.Server != "" {
		stalled = e.Server + " stopped sending"
	}
	what := "no response header"
	if e.Headers {
		what = "no byte of the response body"
	}
	if e.MinBytes > 0 {
		return fmt.Sprintf("%v: %s %s: fewer than %d bytes of the response body in %s after the request had run for %s; the request was abandoned", stalled, e.Method, e.URL, e.MinBytes, e.After, e.Limit)
	}
	return fmt.Sprintf("%v: %s %s: %s for %s; the request was abandoned", stalled, e.Method, e.URL, what, e.After)
}

// Unwrap makes errors.Is(err, ErrStalled) true.
func (e *StallError) Unwrap() error { return ErrStalled }

// Client returns a copy of hc whose requests are abandoned with a
// [*StallError] when they make no progress for d: from the request to its
// response's header, then between two reads of the body that return
// bytes. Before the response's header, hc's Timeout still bounds the wait
// when it is shorter than d. A body that keeps coming is not cut by hc's
// Timeout (the limit of a whole request, which a large response over a
// slow link passes): the copy has none, and past that limit the body must
// only bring at least minRate bytes a second, minRate × d bytes each d, or
// the request is abandoned with a [*StallError] (a server that trickles
// its answer on purpose holds its client for a bounded time). Without a
// Timeout in hc, any byte is progress, however long the request runs.
// server names the server in the text of its errors ("the peer", "the
// feed's server").
func Client(hc *http.Client, d time.Duration, minRate int64, server string) *http.Client {
	c := *hc
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = progressTransport{rt: rt, d: d, limit: c.Timeout, chunk: max(1, int64(float64(minRate)*d.Seconds())), server: server}
	c.Timeout = 0
	return &c
}

type progressTransport struct {
	rt    http.RoundTripper
	d     time.Duration
	limit time.Duration // 0: none
	chunk int64         // bytes each d past limit
	// server names the server in errors.
	server string
}

func (t progressTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	first := t.d // the wait for the response's header
	if t.limit > 0 && t.limit < first {
		first = t.limit
	}
	w := &progressWatch{cancel: cancel, err: &StallError{Method: req.Method, URL: untrusted.URLWithoutSecret(req.URL), After: first, Server: t.server}, d: t.d,
		limit: t.limit, chunk: t.chunk, start: time.Now()}
	w.timer = time.AfterFunc(first, w.fire)
	resp, err := t.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		w.stop()
		if se := w.stalled(); se != nil {
			return nil, se
		}
		return nil, err
	}
	if !w.progress(true, 0) {
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
	// Past limit after start (when limit is above 0), the deadline is
	// reset only once chunk bytes came since the last reset.
	limit time.Duration
	chunk int64
	start time.Time

	mu      sync.Mutex
	err     *StallError
	fired   bool
	pending int64 // bytes since the last reset, past limit
}

func (w *progressWatch) fire() {
	w.mu.Lock()
	w.fired = true
	if w.pending > 0 {
		w.err.MinBytes, w.err.Limit = w.chunk, w.limit
	}
	err := *w.err
	w.mu.Unlock()
	w.cancel(&err)
}

// progress resets the deadline after n bytes of the body (or the
// response's header, with headers); false if it had already passed.
func (w *progressWatch) progress(headers bool, n int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired {
		return false
	}
	if headers {
		w.err.Headers, w.err.After = true, w.d
	} else if w.limit > 0 && time.Since(w.start) > w.limit {
		if w.pending += int64(n); w.pending < w.chunk {
			return true
		}
	}
	w.pending = 0
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
	if n > 0 && !b.w.progress(false, n) {
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

// Meter counts the bytes of the response bodies of the requests of a
// [Metered] client, and when the last of them came: how a long transfer
// over a slow link shows that it is still coming (a federation round
// records them for `parley peer status`). Safe for concurrent use.
type Meter struct {
	// Now is the clock of Last; nil means time.Now.
	Now   func() time.Time
	bytes atomic.Int64
	last  atomic.Int64 // Unix nanoseconds; 0 before the first byte
}

// Bytes returns the bytes counted so far.
func (m *Meter) Bytes() int64 { return m.bytes.Load() }

// Last returns when the last bytes came, zero before the first.
func (m *Meter) Last() time.Time {
	if ns := m.last.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

func (m *Meter) add(n int) {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	m.last.Store(now().UnixNano())
	m.bytes.Add(int64(n))
}

// Metered returns a copy of hc whose response bodies count their bytes
// into m as they are read.
func Metered(hc *http.Client, m *Meter) *http.Client {
	c := *hc
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = meterTransport{rt: rt, m: m}
	return &c
}

type meterTransport struct {
	rt http.RoundTripper
	m  *Meter
}

func (t meterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &meterBody{ReadCloser: resp.Body, m: t.m}
	return resp, nil
}

type meterBody struct {
	io.ReadCloser
	m *Meter
}

func (b *meterBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.m.add(n)
	}
	return n, err
}

package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
)

// The front door every request passes (see [Node.Handler]): a request id,
// the body read timeout, the access log and the request metrics; and the
// operator's probes, GET /healthz and GET /readyz.

// requestInfo is what the front door knows of a request, filled in as it
// goes through the route table and its authentication.
type requestInfo struct {
	id     string
	logger *slog.Logger
	// route is the pattern of the route table that took the request, ""
	// when none did; member is the authenticated member's id, "" if none.
	route, member string
	// conn is the server's context of the request, which net/http
	// cancels when the request's connection fails. ctx, the handlers',
	// has its values but not its cancellation: [requestInfo.settle]
	// cancels it, with the reason as its cause.
	conn, ctx context.Context
	cancel    context.CancelCauseFunc
	// bodyDeadline is when the body must have arrived (unix nanoseconds;
	// 0: no deadline, or lifted), set by [deadlineBody].
	bodyDeadline atomic.Int64
}

// settle passes the end of the server's context of the request on to the
// handlers' context, with its reason as the cause. net/http cancels a
// request's context, with a bare context.Canceled, when a read from or a
// write to its connection fails: that is the client going away
// ([taxii.ErrClientGone]: its request is logged as 499 and answered
// nothing, see [Node.front]) unless the body's read deadline had passed
// ([errBodyTimeout]: the 408 of the body_read_timeout, as before). A
// cause of the server's own (a server whose BaseContext is canceled with
// one) is passed on as it is, and the request is reported as before: the
// node's servers have no such context, and their shutdown waits for the
// requests in flight rather than closing their connections.
//
// It runs when the server's context ends, and at once wherever a handler
// may meet the end before that runs (a failed body read, the first write
// of the answer, the access log). The handlers' context is canceled by
// nothing else while they run, so a handler that sees it canceled sees
// its cause too.
func (info *requestInfo) settle() {
	if info.conn.Err() == nil {
		return
	}
	cause := context.Cause(info.conn)
	if cause == context.Canceled {
		if d := info.bodyDeadline.Load(); d != 0 && time.Now().UnixNano() >= d {
			cause = errBodyTimeout
		} else {
			cause = taxii.ErrClientGone
		}
	}
	info.cancel(cause)
}

// clientGone reports whether the request's client went away (see
// [requestInfo.settle]), checking the connection first.
func (info *requestInfo) clientGone() bool {
	info.settle()
	return info.ctx.Err() != nil && errors.Is(context.Cause(info.ctx), taxii.ErrClientGone)
}

type infoKey struct{}

// infoOf returns the front door's record of the request with ctx, or nil
// for a request that didn't come through it.
func infoOf(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}

// noteMember records the member a request authenticated as, for the
// access log (the TAXII backend authenticates by itself).
func noteMember(ctx context.Context, id string) {
	if info := infoOf(ctx); info != nil {
		info.member = id
	}
}

// HeaderRequestID carries the request id: a client's own (if it is 1 to
// 64 characters of [A-Za-z0-9._-]) or a fresh random one, echoed in
// every response and written in every log line of the request.
const HeaderRequestID = "X-Request-Id"

// requestID returns the client's request id if it is safe to log, else a
// fresh one.
func requestID(r *http.Request) string {
	if id := r.Header.Get(HeaderRequestID); len(id) > 0 && len(id) <= 64 {
		ok := true
		for _, c := range []byte(id) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				ok = false
				break
			}
		}
		if ok {
			return id
		}
	}
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// requestIDHandler adds the request id of the front door's record in a
// log call's context to the record, for loggers of code that knows
// nothing of the node (the TAXII handler logs its own failures), and cuts
// API tokens out of its string values ([taxii.LogPath]: the TAXII handler
// logs the path of a request it refuses).
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	redact := false
	r.Attrs(func(a slog.Attr) bool {
		redact = a.Value.Kind() == slog.KindString && strings.Contains(a.Value.String(), tokenPrefix)
		return !redact
	})
	if redact {
		nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool {
			if a.Value.Kind() == slog.KindString {
				a.Value = slog.StringValue(taxii.LogPath(a.Value.String()))
			}
			nr.AddAttrs(a)
			return true
		})
		r = nr
	}
	if info := infoOf(ctx); info != nil {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", info.id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// front wraps the route table's mux in the front door.
//
// A request whose client goes away before its answer begins (it closes
// the connection or resets the stream, while its body is read or while
// the node works on it) is answered nothing: its context is canceled with
// the cause [taxii.ErrClientGone] (see [requestInfo.settle]), the error
// writers ([respondError], the TAXII handler's, the web UI's) write
// nothing and log no error, and whatever a handler still writes is
// dropped. The access log and the metrics record it with status 499
// ([taxii.StatusClientClosedRequest], nginx's "client closed request"),
// with client_closed=true (and unsent_status, the status a handler
// then tried to send, if any) in the log line: it is not a server error.
// A client that goes once the answer has begun leaves its status as
// sent, with client_closed=true. A context canceled for any other
// reason (a deadline or a cancellation of the node's own, the body read
// timeout) is answered and logged as its error says.
func (n *Node) front(mux http.Handler, logger *slog.Logger) http.Handler {
	timeout := time.Duration(n.cfg.BodyReadTimeout)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: requestID(r), logger: logger, conn: r.Context()}
		w.Header().Set(HeaderRequestID, info.id)
		ctx, cancel := context.WithCancelCause(context.WithoutCancel(info.conn))
		info.ctx, info.cancel = ctx, cancel
		defer cancel(nil)
		stop := context.AfterFunc(info.conn, info.settle)
		r = r.WithContext(context.WithValue(ctx, infoKey{}, info))
		sw := &statusWriter{ResponseWriter: w, info: info}
		if r.Body != nil && r.Body != http.NoBody {
			b := &deadlineBody{body: r.Body, info: info, length: r.ContentLength, http1: r.ProtoMajor == 1}
			if timeout > 0 {
				b.rc, b.timeout = http.NewResponseController(w), timeout
			}
			r.Body = b
			sw.body = b
		}
		defer func() {
			p := recover()
			if sw.body != nil && p == nil {
				sw.body.drain() // before net/http does, without a deadline
			}
			stop()
			gone := info.clientGone()
			status := sw.status
			switch {
			case gone && !sw.wrote && (p == nil || p == http.ErrAbortHandler):
				status = taxii.StatusClientClosedRequest
			case p != nil && !sw.wrote:
				status = http.StatusInternalServerError
			case status == 0:
				status = http.StatusOK
			}
			route := info.route
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			n.metrics.observeRequest(route, status, d)
			if !logger.Enabled(r.Context(), slog.LevelInfo) {
				if p != nil {
					panic(p)
				}
				return
			}
			var attrs []slog.Attr
			if path, ok := unmeasuredRoutes[route]; ok {
				attrs = []slog.Attr{
					slog.String("request_id", info.id), slog.String("method", r.Method), slog.String("route", route),
					slog.String("path", path), slog.Int("status", status), slog.String("member", info.member),
				}
			} else {
				attrs = []slog.Attr{
					slog.String("request_id", info.id), slog.String("method", r.Method), slog.String("route", route),
					slog.String("path", taxii.LogPath(r.URL.Path)), slog.Int("status", status), slog.Duration("duration", d),
					slog.Int64("bytes", sw.bytes), slog.String("member", info.member),
				}
			}
			if p != nil {
				// http.ErrAbortHandler: the handler cut a response short
				// on purpose (a failure after its 200 went out).
				attrs = append(attrs, slog.Bool("aborted", true))
			}
			if gone {
				attrs = append(attrs, slog.Bool("client_closed", true))
				if sw.unsent != 0 {
					attrs = append(attrs, slog.Int("unsent_status", sw.unsent))
				}
			}
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
			if p != nil {
				panic(p)
			}
		}()
		mux.ServeHTTP(sw, r)
	})
}

// statusWriter records the status and the bytes of a response, and drops
// a response begun after its client went away.
type statusWriter struct {
	http.ResponseWriter
	info   *requestInfo
	status int
	wrote  bool
	bytes  int64
	// unsent is the status of a response dropped because its client had
	// gone when it began (0: none).
	unsent int
	// body is the request's body (nil: none), drained before the response
	// begins.
	body *deadlineBody
}

// drop reports whether the response is to be dropped: its client went
// away before any of it was written.
func (w *statusWriter) drop() bool {
	if w.wrote {
		return false
	}
	return w.unsent != 0 || w.info.clientGone()
}

func (w *statusWriter) WriteHeader(status int) {
	if w.drop() {
		if w.unsent == 0 {
			w.unsent = status
		}
		return
	}
	if !w.wrote {
		w.status, w.wrote = status, true
		if w.body != nil {
			w.body.drain()
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.drop() {
		if w.unsent == 0 {
			w.unsent = http.StatusOK
		}
		return 0, taxii.ErrClientGone
	}
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
		if w.body != nil {
			w.body.drain()
		}
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushing, full duplex).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush implements http.Flusher for handlers that test for it.
func (w *statusWriter) Flush() {
	if w.drop() {
		return
	}
	if !w.wrote {
		// A flush before any write sends the header: 200 unless set.
		w.status, w.wrote = http.StatusOK, true
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// deadlineBody is a request body that must arrive within timeout of the
// handler's first read of it. Handlers read a body only once they have
// authenticated the request, so the clock runs for authenticated requests
// only. When it passes, reads fail with [errBodyTimeout] (mapped to 408),
// and the server closes the connection: a client that trickles its body
// holds a handler and its memory for at most timeout. Once the body is
// read to its end the deadline is lifted, so that a long computation
// after it is not cut short.
//
// Every request body is one, without a deadline when the timeout is 0
// (rc nil): a failed read settles the request's context first
// ([requestInfo.settle]), so that a handler that meets a client gone
// while reading its body finds the cause already set.
type deadlineBody struct {
	body     io.ReadCloser
	info     *requestInfo
	length   int64                    // the request's ContentLength (-1: unknown)
	http1    bool                     // HTTP/1.x, whose server drains unread bodies
	rc       *http.ResponseController // nil: no deadline
	timeout  time.Duration
	once     sync.Once
	deadline time.Time
	done     bool
	drained  bool
}

// maxDrain is what net/http's HTTP/1 server reads of a body the handler
// left unread, to keep the connection (its maxPostHandlerReadBytes):
// before it writes the response's header, and when the request ends.
const maxDrain = 256 << 10

// drain reads what the handler left of a body that net/http would read
// (up to [maxDrain]), under the body read timeout, which starts now if
// the handler never read it. net/http reads it with no deadline, before
// the response goes out: a client that sends the headers of a body and
// never the body (unauthenticated too: a 401 is answered without reading
// it) would otherwise hold its connection, and get no answer, for ever.
// A body that doesn't arrive in time closes the connection after the
// response, as any read error there does.
func (b *deadlineBody) drain() {
	if b.drained || b.done || b.rc == nil || !b.http1 || b.length >= maxDrain {
		return
	}
	b.drained = true
	io.CopyN(io.Discard, b, maxDrain+1)
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.rc != nil {
		b.once.Do(func() {
			b.deadline = time.Now().Add(b.timeout)
			b.info.bodyDeadline.Store(b.deadline.UnixNano())
			b.rc.SetReadDeadline(b.deadline) // unsupported by some writers (tests): then none
		})
	}
	n, err := b.body.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		b.lift()
	case err != nil:
		b.info.settle()
		if b.rc != nil && !time.Now().Before(b.deadline) {
			return n, errBodyTimeout
		}
	}
	return n, err
}

func (b *deadlineBody) lift() {
	if b.rc != nil && !b.done {
		b.done = true
		b.info.bodyDeadline.Store(0)
		b.rc.SetReadDeadline(time.Time{})
	}
}

func (b *deadlineBody) Close() error {
	b.drain() // net/http's Close reads it otherwise, without a deadline
	if !b.deadline.IsZero() && time.Now().Before(b.deadline) {
		b.lift()
	}
	return b.body.Close()
}

// serveHealthz answers GET /healthz: 200 while the process serves.
func (n *Node) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

// readyProbeTimeout bounds the store reads of one GET /readyz.
const readyProbeTimeout = 2 * time.Second

// serveReadyz answers GET /readyz: 200 when the store answers and the log
// integrator is current (its lag, the age of the oldest entry not in a
// signed checkpoint, is at most Config.ReadyMaxLag), else 503 with the
// reason in one word (with Retry-After when the store can't be reached,
// [store.ErrUnavailable]). It reveals no count, id or error text.
func (n *Node) serveReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyProbeTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	st, err := n.probeLog(ctx)
	switch {
	case err != nil:
		if errors.Is(err, store.ErrUnavailable) {
			w.Header().Set("Retry-After", UnavailableRetryAfter)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: store\n"))
	case st.lag > time.Duration(n.cfg.ReadyMaxLag):
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: log integration behind\n"))
	default:
		w.Write([]byte("ready\n"))
	}
}

// logState is the log's state as the operator's probes and metrics see
// it.
type logState struct {
	sequenced, integrated int64
	// lag is how long the oldest entry not in a signed checkpoint has
	// waited (0 when every entry is in one).
	lag time.Duration
	// probe is how long the store took to answer these reads.
	probe time.Duration
}

// WaitIntegrated waits until the latest signed checkpoint covers every
// entry the log held when it was called, reading the store every 20 ms:
// the node's integrator ([Node.Serve]) signs one within a second of an
// append. It returns ctx's error if ctx ends first (nothing integrates
// the log of a node that isn't serving), and the store's at once.
func (n *Node) WaitIntegrated(ctx context.Context) error {
	size, err := n.store.LogSize(ctx)
	if err != nil {
		return fmt.Errorf("couldn't read the log's size: %w", err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		cp, _, err := n.store.LatestCheckpoint(ctx)
		switch {
		case err == nil && cp >= size:
			return nil
		case err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil:
			return fmt.Errorf("couldn't read the log's checkpoint: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no signed checkpoint covers the log's %d entries (the latest covers %d): %w", size, cp, ctx.Err())
		case <-tick.C:
		}
	}
}

// logState reads the log's state from the store.
func (n *Node) logState(ctx context.Context) (logState, error) {
	var s logState
	start := time.Now()
	seq, err := n.store.LogSize(ctx)
	if err != nil {
		return s, err
	}
	s.sequenced = seq
	size, _, err := n.store.LatestCheckpoint(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return s, err
	}
	s.integrated = size
	if s.integrated < s.sequenced {
		es, err := n.store.Entries(ctx, s.integrated, s.integrated+1)
		if err != nil {
			return s, err
		}
		if len(es) == 1 {
			s.lag = max(n.now().Sub(es[0].Received), 0)
		}
	}
	s.probe = time.Since(start)
	return s, nil
}

// unmeasuredRoutes are written to the access log without their path's
// parameters, the size of the answer or the time it took (the path
// logged instead is given): an evaluation against a private set names
// the set in its path, and its answer's size and time tell how many
// values the member checked, which docs/private.md promises are never
// stored or logged.
var unmeasuredRoutes = map[string]string{
	"POST /private/sets/{id}/evaluate": "/private/sets/{id}/evaluate",
}

package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/parley-exchange/parley/internal/store"
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
// nothing of the node (the TAXII handler logs its own failures).
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
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
func (n *Node) front(mux http.Handler, logger *slog.Logger) http.Handler {
	timeout := time.Duration(n.cfg.BodyReadTimeout)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: requestID(r), logger: logger}
		w.Header().Set(HeaderRequestID, info.id)
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		sw := &statusWriter{ResponseWriter: w}
		if r.Body != nil && r.Body != http.NoBody && timeout > 0 {
			r.Body = &deadlineBody{body: r.Body, rc: http.NewResponseController(w), timeout: timeout}
		}
		defer func() {
			p := recover()
			status := sw.status
			if p != nil && !sw.wrote {
				status = http.StatusInternalServerError
			} else if status == 0 {
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
			attrs := []slog.Attr{
				slog.String("request_id", info.id), slog.String("method", r.Method), slog.String("route", route),
				slog.String("path", r.URL.Path), slog.Int("status", status), slog.Duration("duration", d),
				slog.Int64("bytes", sw.bytes), slog.String("member", info.member),
			}
			if p != nil {
				// http.ErrAbortHandler: the handler cut a response short
				// on purpose (a failure after its 200 went out).
				attrs = append(attrs, slog.Bool("aborted", true))
			}
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
			if p != nil {
				panic(p)
			}
		}()
		mux.ServeHTTP(sw, r)
	})
}

// statusWriter records the status and the bytes of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	bytes  int64
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushing, full duplex).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush implements http.Flusher for handlers that test for it.
func (w *statusWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

// deadlineBody is a request body that must arrive within timeout of the
// handler's first read of it. Handlers read a body only once they have
// authenticated the request, so the clock runs for authenticated requests
// only. When it passes, reads fail with [errBodyTimeout] (mapped to 408),
// and the server closes the connection: a client that trickles its body
// holds a handler and its memory for at most timeout. Once the body is
// read to its end the deadline is lifted, so that a long computation
// after it is not cut short.
type deadlineBody struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	timeout  time.Duration
	once     sync.Once
	deadline time.Time
	done     bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	b.once.Do(func() {
		b.deadline = time.Now().Add(b.timeout)
		b.rc.SetReadDeadline(b.deadline) // unsupported by some writers (tests): then none
	})
	n, err := b.body.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		b.lift()
	case err != nil && !time.Now().Before(b.deadline):
		return n, errBodyTimeout
	}
	return n, err
}

func (b *deadlineBody) lift() {
	if !b.done {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
}

func (b *deadlineBody) Close() error {
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
// reason in one word. It reveals no count, id or error text.
func (n *Node) serveReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyProbeTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	st, err := n.probeLog(ctx)
	switch {
	case err != nil:
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

package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/parley-exchange/parley/witness"
)

// defaultWitnessMaxConns is witness serve's --max-connections default: the
// connections it keeps open at once. A log needs one or a few; monitors
// one each while they read a checkpoint.
const defaultWitnessMaxConns = 256

// witnessMaxStreams bounds the requests one HTTP/2 connection (over TLS)
// carries at once, so that --max-connections bounds the requests in
// flight too: at most max-connections × witnessMaxStreams (HTTP/1.1 has
// one at a time per connection).
const witnessMaxStreams = 8

// defaultWitnessMaxConnsPerIP is witness serve's --max-connections-per-ip
// for a given --max-connections: an eighth of it, but at least
// minWitnessMaxConnsPerIP (and at most all of it).
func defaultWitnessMaxConnsPerIP(maxConns int) int {
	return min(maxConns, max(maxConns/8, minWitnessMaxConnsPerIP))
}

// minWitnessMaxConnsPerIP is the floor of the default per-source cap: a
// log, or a few monitors behind one NAT, keep a few connections each.
const minWitnessMaxConnsPerIP = 4

// connLimiter is a listener that keeps at most max connections open,
// and at most perIP from one source address.
// add-checkpoint takes no token, so anyone may connect: when a
// connection arrives from a source with perIP open, it closes that
// source's own connection that has waited longest on its client (or the
// new one, if each of them has a request being answered), so one source
// can't fill the pool. When a connection arrives with max open, it
// closes, to make room, one waiting on its client: one still sending its
// headers or its body (a handler reading it), one not reading its answer
// (a handler's Write under way), or idle between requests.
// Connections older than grace (the header timeout) go first, the one
// that has waited longest since its last request first; only when there
// is none, the oldest of the younger ones. If every open connection has a
// request being answered, it closes the new one. So a client that opens a
// connection and sends its request promptly is never closed while an
// older connection waits: neither a flood of slow clients (or idle ones)
// nor old connections kept busy with cheap requests, however fresh their
// last request, can keep an honest add-checkpoint out (it would take
// more than max new connections, from several sources, while that one
// is sent), and what the slow clients hold (connections, bodies read so
// far) is bounded by max.
//
// A connection on which a log's add-checkpoint brought a checkpoint new
// to the witness ([witness.WithNewCheckpoint]: only the log's key signs
// one; a replay of the checkpoint the witness serves, though cosigned,
// earns nothing) is a log's keep-alive: while it is idle, or its current request
// began less than grace ago, it goes last, after every other connection
// waiting on its client, young ones included, the one whose last
// new checkpoint is oldest first. Otherwise an attacker keeping old
// connections busy with cheap requests (each fresher than the log's idle
// wait) had the log's keep-alive closed first, and each of the log's
// submissions cost it a new connection and handshake. A connection that
// brought one and then sends a request slowly (begun more than
// grace ago) ranks with the others again.
type connLimiter struct {
	net.Listener
	max, perIP int
	grace      time.Duration
	now        func() time.Time
	// source names a connection's source: its remote IP address.
	source func(net.Conn) string

	mu      sync.Mutex
	conns   map[net.Conn]*connSlot
	sources map[string]int // source → its connections open
}

// connSlot is what the limiter knows of one open connection.
type connSlot struct {
	// handlers are its requests being answered, reading those of them
	// still reading their bodies and writing those writing their
	// answers: with handlers == reading+writing it is waiting on its
	// client.
	handlers, reading, writing int
	// opened is when it was accepted; since is when it last began
	// waiting on its client.
	opened, since time.Time
	// cosigned is when an add-checkpoint on it last brought a new
	// checkpoint (zero if never); idle is whether it is idle between requests.
	cosigned time.Time
	idle     bool
	source   string
}

// waiting reports whether s is waiting on its client: each of its
// requests being answered (if any) reading its body or writing its
// answer.
func (s *connSlot) waiting() bool { return s.handlers == s.reading+s.writing }

// protected reports whether s is a log's keep-alive that goes last, as
// connLimiter's comment says.
func (s *connSlot) protected(now time.Time, grace time.Duration) bool {
	return !s.cosigned.IsZero() && (s.idle || now.Sub(s.since) < grace)
}

func newConnLimiter(ln net.Listener, max, perIP int, grace time.Duration) *connLimiter {
	return &connLimiter{Listener: ln, max: max, perIP: perIP, grace: grace, now: time.Now, source: remoteIP,
		conns: map[net.Conn]*connSlot{}, sources: map[string]int{}}
}

// remoteIP is the source c counts against: its remote IPv4 address, or
// the /64 of its IPv6 address (a host is commonly given a whole /64, so
// one address each would be no cap at all).
func remoteIP(c net.Conn) string {
	a := c.RemoteAddr()
	if a == nil {
		return ""
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// Accept returns the next connection, making room for it as the type's
// comment says.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := l.source(c)
		l.mu.Lock()
		now := l.now()
		var victim net.Conn
		switch {
		case l.sources[src] >= l.perIP:
			victim = l.firstToClose(now, src)
		case len(l.conns) >= l.max:
			victim = l.firstToClose(now, "")
		}
		if victim == nil && (l.sources[src] >= l.perIP || len(l.conns) >= l.max) {
			l.mu.Unlock()
			closeNow(c)
			continue
		}
		if victim != nil {
			l.forget(victim)
		}
		l.conns[c] = &connSlot{opened: now, since: now, source: src}
		l.sources[src]++
		l.mu.Unlock()
		if victim != nil {
			closeNow(victim)
		}
		return c, nil
	}
}

// forget drops c from the limiter's books. l.mu is held.
func (l *connLimiter) forget(c net.Conn) {
	s := l.conns[c]
	if s == nil {
		return
	}
	delete(l.conns, c)
	if l.sources[s.source]--; l.sources[s.source] <= 0 {
		delete(l.sources, s.source)
	}
}

// firstToClose returns the open connection (of source src, unless src
// is "") to close first to make room, as the type's comment says, or
// nil if every one has a request being answered. l.mu is held.
func (l *connLimiter) firstToClose(now time.Time, src string) net.Conn {
	var old, young, logs net.Conn
	var oldSince, youngOpened, logsCosigned time.Time
	for c, s := range l.conns {
		if !s.waiting() || (src != "" && s.source != src) {
			continue
		}
		switch {
		case s.protected(now, l.grace):
			if logs == nil || s.cosigned.Before(logsCosigned) {
				logs, logsCosigned = c, s.cosigned
			}
		case now.Sub(s.opened) >= l.grace:
			if old == nil || s.since.Before(oldSince) {
				old, oldSince = c, s.since
			}
		case young == nil || s.opened.Before(youngOpened):
			young, youngOpened = c, s.opened
		}
	}
	switch {
	case old != nil:
		return old
	case young != nil:
		return young
	}
	return logs
}

// closeNow closes c at once: a TLS connection's socket, without the
// close_notify alert that a client that reads nothing would hold up.
func closeNow(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		tc.NetConn().Close()
		return
	}
	c.Close()
}

// connState is the server's ConnState hook: a connection closed or
// hijacked is forgotten; one that changes state (a request begun, or
// idle after one) begins waiting on its client anew.
func (l *connLimiter) connState(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.conns[c]
	if s == nil {
		return
	}
	s.idle = st == http.StateIdle
	switch st {
	case http.StateClosed, http.StateHijacked:
		l.forget(c)
	default:
		if s.waiting() {
			s.since = l.now()
		}
	}
}

type limiterConnKey struct{}

// connContext is the server's ConnContext hook: the handler finds its
// connection in the request's context.
func (l *connLimiter) connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, limiterConnKey{}, c)
}

// handler wraps h so that the limiter knows which connections have a
// request being answered, and which of those are still reading their
// bodies (waiting on their clients).
func (l *connLimiter) handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(limiterConnKey{}).(net.Conn)
		reading := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
		l.update(c, func(s *connSlot) {
			s.handlers++
			if reading {
				s.reading++
			}
		})
		var once sync.Once
		read := func() {
			once.Do(func() {
				if reading {
					l.update(c, func(s *connSlot) { s.reading-- })
				}
			})
		}
		if reading {
			r.Body = &readingBody{ReadCloser: r.Body, done: read}
		}
		w = &writingResponse{ResponseWriter: w, l: l, c: c}
		r = r.WithContext(witness.WithNewCheckpoint(r.Context(), func() {
			l.update(c, func(s *connSlot) { s.cosigned = l.now() })
		}))
		defer func() {
			read()
			l.update(c, func(s *connSlot) {
				s.handlers--
				if s.waiting() {
					s.since = l.now()
				}
			})
		}()
		h.ServeHTTP(w, r)
	})
}

// update applies f to c's slot, if c is still open.
func (l *connLimiter) update(c net.Conn, f func(*connSlot)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.conns[c]; s != nil {
		f(s)
	}
}

// readingBody calls done once its body has been read to its end (or
// failed).
type readingBody struct {
	io.ReadCloser
	done func()
}

func (b *readingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done()
	}
	return n, err
}

// writingResponse counts its connection as waiting on its client while
// a Write is under way: one that blocks is a client that doesn't read
// its answer (a GET of a large checkpoint, or an HTTP/2 stream whose
// window stays shut), and its handler would otherwise hold the
// connection as "being answered", never closed to make room, with no
// write timeout to end it.
type writingResponse struct {
	http.ResponseWriter
	l *connLimiter
	c net.Conn
}

func (w *writingResponse) Write(p []byte) (int, error) {
	w.l.update(w.c, func(s *connSlot) {
		if s.writing++; s.waiting() {
			s.since = w.l.now()
		}
	})
	defer w.l.update(w.c, func(s *connSlot) { s.writing-- })
	return w.ResponseWriter.Write(p)
}

// Unwrap lets an [http.ResponseController] reach the server's writer.
func (w *writingResponse) Unwrap() http.ResponseWriter { return w.ResponseWriter }

package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
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

// connLimiter is a listener that keeps at most max connections open.
// add-checkpoint takes no token, so anyone may connect: when a
// connection arrives with max open, it closes the one that has waited
// longest without a whole request to answer, one still sending its
// headers or its body (a handler reading it), or idle between requests,
// to make room; if every open connection has a request being answered,
// it closes the new one. A client that sends its request promptly is
// never the one that waited longest, so a flood of slow clients (or of
// idle ones) can't keep an honest add-checkpoint out, and what the slow
// clients hold (connections, bodies read so far) is bounded by max.
type connLimiter struct {
	net.Listener
	max int
	now func() time.Time

	mu    sync.Mutex
	conns map[net.Conn]*connSlot
}

// connSlot is what the limiter knows of one open connection.
type connSlot struct {
	// handlers are its requests being answered, reading those of them
	// still reading their bodies: with handlers == reading it is waiting
	// on its client.
	handlers, reading int
	// since is when it last began waiting on its client.
	since time.Time
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, now: time.Now, conns: map[net.Conn]*connSlot{}}
}

// Accept returns the next connection, making room for it as the type's
// comment says.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		var victim net.Conn
		if len(l.conns) >= l.max {
			victim = l.oldestWaiting()
			if victim == nil {
				l.mu.Unlock()
				closeNow(c)
				continue
			}
			delete(l.conns, victim)
		}
		l.conns[c] = &connSlot{since: l.now()}
		l.mu.Unlock()
		if victim != nil {
			closeNow(victim)
		}
		return c, nil
	}
}

// oldestWaiting returns the open connection waiting on its client the
// longest, or nil if every one has a request being answered. l.mu is held.
func (l *connLimiter) oldestWaiting() net.Conn {
	var oldest net.Conn
	var at time.Time
	for c, s := range l.conns {
		if s.handlers > s.reading {
			continue
		}
		if oldest == nil || s.since.Before(at) {
			oldest, at = c, s.since
		}
	}
	return oldest
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
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		if s.handlers == s.reading {
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
		defer func() {
			read()
			l.update(c, func(s *connSlot) {
				s.handlers--
				if s.handlers == s.reading {
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

package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// TestConnLimiterSparesYoungConnections: with the pool full, an old
// connection kept busy with cheap requests (its last one just now) is
// closed before a young one still sending its first request, though
// that one has waited longer; among connections older than the grace
// period, the one idle longest goes first.
func TestConnLimiterSparesYoungConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	now := time.Unix(1e9, 0)
	l := newConnLimiter(ln, 3, 3, 10*time.Second)
	l.now = func() time.Time { return now }
	idleC, _ := limiterConnect(t, l)     // old, idle since it opened
	busyC, busyS := limiterConnect(t, l) // old, but busy with cheap requests
	now = now.Add(20 * time.Second)
	l.connState(busyS, http.StateActive)
	l.connState(busyS, http.StateIdle)
	youngC, _ := limiterConnect(t, l) // young, still sending its first request
	now = now.Add(time.Second)
	l.connState(busyS, http.StateActive)
	l.connState(busyS, http.StateIdle)

	// The pool is full: the old idle one goes first, then the old busy
	// one (its last request fresher than the young one's wait), and
	// only then the young one.
	want := []net.Conn{idleC, busyC, youngC}
	for i, w := range want {
		limiterConnect(t, l)
		if !closedSoon(w) {
			t.Fatalf("new connection %d: the connection that should have made room for it is still open", i+1)
		}
		for _, later := range want[i+1:] {
			if !stillOpen(later) {
				t.Fatalf("new connection %d closed a connection out of order", i+1)
			}
		}
	}
}

// TestConnLimiterPerSource: a source with its cap open makes room for a
// new connection by closing its own connection that waited longest, not
// another source's, even with the pool full; if each of its connections
// has a request being answered, the new one is closed.
func TestConnLimiterPerSource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := newConnLimiter(ln, 3, 2, 10*time.Second)
	src := "a"
	l.source = func(net.Conn) string { return src }
	other, _ := limiterConnect(t, l) // source a, the oldest
	src = "b"
	b1, _ := limiterConnect(t, l)
	b2, b2s := limiterConnect(t, l)
	limiterConnect(t, l) // b again, at its cap of 2 (and the pool full)
	if !closedSoon(b1) || !stillOpen(other) || !stillOpen(b2) {
		t.Fatal("b's third connection should close b's oldest, and only it")
	}
	// Each of b's connections with a request being answered: b's next
	// connection is closed, and a's stays.
	l.update(b2s, func(s *connSlot) { s.handlers++ })
	for c, s := range l.conns {
		if s.source == "b" && c != b2s {
			s.handlers++
		}
	}
	go func() { l.Accept() }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !closedSoon(c) {
		t.Fatal("b's connection past its cap, with each of its others busy, is open")
	}
	if !stillOpen(other) || !stillOpen(b2) {
		t.Fatal("b's connection past its cap closed another")
	}
}

// limiterConnect returns the client's end of a new connection to l's
// listener and the server's, as l accepted it.
func limiterConnect(t *testing.T, l *connLimiter) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// closedWithin reports whether the server closed the client's end c
// within d (reading nothing else from it).
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	ne, ok := err.(net.Error)
	return err != nil && !(ok && ne.Timeout())
}

// closedSoon waits for the server to close c; stillOpen checks that it hasn't.
func closedSoon(c net.Conn) bool { return closedWithin(c, 5*time.Second) }
func stillOpen(c net.Conn) bool  { return !closedWithin(c, 50*time.Millisecond) }

// TestRemoteIPSource: an IPv4 source is its address (an IPv4-mapped one
// too); an IPv6 source is its /64, so one host's many addresses share a
// cap.
func TestRemoteIPSource(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:4433":             "192.0.2.7",
		"[::ffff:192.0.2.7]:4433":    "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:80":  "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":          "fe80::/64",
	} {
		c := fakeAddrConn{addr: addr}
		if got := remoteIP(c); got != want {
			t.Errorf("source of %s: %q, want %q", addr, got, want)
		}
	}
}

type fakeAddrConn struct {
	net.Conn
	addr string
}

func (c fakeAddrConn) RemoteAddr() net.Addr {
	return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(c.addr))
}

// TestConnLimiterKeepsLogsKeepAlive: with the pool full, a log's idle
// keep-alive, whose add-checkpoint brought a new checkpoint, goes after
// old connections kept busy with cheap requests (fresher than its wait)
// and after young ones; one whose add-checkpoint didn't earns nothing;
// and a log's connection whose current request began more than the
// grace period ago (a slow request) ranks with the others again.
func TestConnLimiterKeepsLogsKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	now := time.Unix(1e9, 0)
	l := newConnLimiter(ln, 4, 4, 10*time.Second)
	l.now = func() time.Time { return now }
	// A request on c, answered; one that brought a new checkpoint
	// credits c (the witness calls the hook that the limiter's handler
	// put in the request's context: see
	// TestWitnessServeLogKeepAliveOutlastsFlood).
	add := func(c net.Conn, fresh bool) {
		t.Helper()
		l.connState(c, http.StateActive)
		if fresh {
			l.update(c, func(s *connSlot) { s.cosigned = now })
		}
		l.connState(c, http.StateIdle)
	}
	logC, logS := limiterConnect(t, l)
	add(logS, true) // the log's keep-alive, a new checkpoint, then idle
	refusedC, refusedS := limiterConnect(t, l)
	add(refusedS, false) // an add-checkpoint refused, or a replay: no credit
	busyC, busyS := limiterConnect(t, l)
	for _, s := range []net.Conn{refusedS, busyS} { // old, busy with cheap requests
		now = now.Add(20 * time.Second)
		l.connState(s, http.StateActive)
		l.connState(s, http.StateIdle)
	}
	youngC, _ := limiterConnect(t, l)

	want := []net.Conn{refusedC, busyC, youngC}
	for i, w := range want {
		now = now.Add(time.Second)
		limiterConnect(t, l)
		if !closedSoon(w) {
			t.Fatalf("new connection %d: the connection that should have made room for it is still open", i+1)
		}
		for _, later := range want[i+1:] {
			if !stillOpen(later) {
				t.Fatalf("new connection %d closed a connection out of order", i+1)
			}
		}
	}

	// The pool holds the log's keep-alive and the three new ones: the
	// next new one closes the oldest of those.
	now = now.Add(time.Second)
	limiterConnect(t, l)
	if !stillOpen(logC) {
		t.Fatal("the log's keep-alive made room before a young connection")
	}

	// A cosigned connection sending its next request slowly loses its
	// place once the request is older than the grace period.
	l = newConnLimiter(ln, 2, 2, 10*time.Second)
	l.now = func() time.Time { return now }
	slowC, slowS := limiterConnect(t, l)
	add(slowS, true)
	l.connState(slowS, http.StateActive) // its next request, begun and stalled
	now = now.Add(time.Second)
	otherC, _ := limiterConnect(t, l) // idle since, a second later
	now = now.Add(20 * time.Second)
	limiterConnect(t, l)
	if !closedSoon(slowC) || !stillOpen(otherC) {
		t.Fatal("a cosigned connection stalled in its request was spared over an idle one")
	}
}

// TestConnLimiterClosesConnectionNotReadingItsAnswer: a connection whose
// handler is blocked writing its answer (a client that doesn't read it)
// waits on its client: it is closed to make room, as an idle one is,
// where it used to count as being answered, never closed, and (with no
// write timeout) held for ever.
func TestConnLimiterClosesConnectionNotReadingItsAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := newConnLimiter(ln, 1, 1, 10*time.Second)
	stuckC, stuckS := limiterConnect(t, l)
	writing := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	h := l.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("a large checkpoint"))
	}))
	go h.ServeHTTP(blockingWriter{ResponseRecorder: httptest.NewRecorder(), writing: writing, release: release},
		httptest.NewRequest("GET", "/0000/checkpoint", nil).WithContext(context.WithValue(context.Background(), limiterConnKey{}, stuckS)))
	<-writing
	// A new connection (Accept, without the fix, closes it and waits
	// for another: in the background).
	go l.Accept()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !closedSoon(stuckC) {
		t.Fatal("a connection whose client doesn't read its answer wasn't closed to make room")
	}
}

// blockingWriter's Write blocks until release is closed, as a write to a
// client that doesn't read does.
type blockingWriter struct {
	*httptest.ResponseRecorder
	writing, release chan struct{}
}

func (w blockingWriter) Write(p []byte) (int, error) {
	close(w.writing)
	<-w.release
	return w.ResponseRecorder.Write(p)
}

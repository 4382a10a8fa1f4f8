package match

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

// roundRobinFront stands before a node as a load balancer does that
// sends requests in turn to two backends, one of them broken: every
// other request gets a 500, whatever it holds.
type roundRobinFront struct {
	mu       sync.Mutex
	next     http.Handler
	requests int
}

func (f *roundRobinFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	broken := f.requests%2 == 1
	f.mu.Unlock()
	if !broken {
		f.next.ServeHTTP(w, r)
		return
	}
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", taxii.MediaType)
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, `{"title":"Internal Server Error"}`)
}

// TestPushSeparatingRoundRobinNode: behind a load balancer that
// alternates between a working backend and a broken one, no good object
// is set apart: everything is stored. Before, a push of two envelopes
// (more than pushBatch objects) had an object failed on alone by the
// broken backend, then judged in rounds whose suspect always went to the
// broken backend and whose probe to the working one: 16 rounds of
// "evidence", and a good object set apart.
func TestPushSeparatingRoundRobinNode(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for try := range 4 {
		node := &failingNode{stored: map[string]bool{}}
		front := &roundRobinFront{next: node}
		srv := httptest.NewServer(front)
		n := pushBatch + 1 + try
		refused, err := PushSeparating(context.Background(), &taxii.Client{BaseURL: srv.URL}, "c1", key, separatingObjects(n, nil))
		srv.Close()
		if err != nil {
			t.Fatalf("%d objects: %v", n, err)
		}
		if len(refused) != 0 || len(node.stored) != n {
			var ids []any
			for _, r := range refused {
				ids = append(ids, r.Object["id"])
			}
			t.Errorf("%d objects: set apart %v, stored %d; want nothing set apart, all stored", n, ids, len(node.stored))
		}
	}
}

// slowLinkConn is a client's connection over a link too slow for a
// large body: once more than limit bytes went out on it, a write waits
// until the connection is closed (the client gives up on the request).
type slowLinkConn struct {
	net.Conn
	limit   int
	written int
	once    sync.Once
	closed  chan struct{}
}

func (c *slowLinkConn) Write(p []byte) (int, error) {
	if c.written+len(p) > c.limit {
		<-c.closed
		return 0, net.ErrClosed
	}
	c.written += len(p)
	return c.Conn.Write(p)
}

func (c *slowLinkConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// TestPushSeparatingSlowLinkLargeObject: a good object too large for
// the link to bring the node within the member's wait for an answer
// (the node's body_read_timeout, 30 s by default, is longer, so no 408
// comes first) is not set apart: the node never had all of it, so it
// can't have hung on it. The push fails as for a 408 (waited on by
// PushRetryingSeparating). Before, the wait running out was taken for a node that
// hangs on the object, and 16 rounds whose small probe went through
// set a good object apart.
func TestPushSeparatingSlowLinkLargeObject(t *testing.T) {
	defer func(d time.Duration) { pushRequestTimeout = d }(pushRequestTimeout)
	pushRequestTimeout = 100 * time.Millisecond
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}}
	srv := httptest.NewServer(node)
	defer srv.Close()
	var d net.Dialer
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &slowLinkConn{Conn: c, limit: 64 << 10, closed: make(chan struct{})}, nil
	}}}
	objs := separatingObjects(20, nil)
	objs[7]["x_big"] = strings.Repeat("a", 200<<10)
	refused, err := PushSeparating(context.Background(), &taxii.Client{BaseURL: srv.URL, HTTP: hc}, "c1", key, objs)
	if len(refused) != 0 {
		t.Fatalf("set apart %v (%s); want none: the link, not the object", refused[0].Object["id"], refused[0].Reason)
	}
	if !errors.Is(err, ErrPush) || !requestTimeout(err) {
		t.Fatalf("error %v; want the push failed for the slow link", err)
	}
}

// proxyFront stands before a node as a reverse proxy does: while refuse
// is set it answers every request with it, an HTML page (no TAXII error
// object: an expired client certificate gets nginx's 400), and with 413
// every body over maxBody; it passes the rest on.
type proxyFront struct {
	next    http.Handler
	refuse  atomic.Int64
	maxBody int
}

func (f *proxyFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	status := int(f.refuse.Load())
	if f.maxBody > 0 && len(body) > f.maxBody {
		status = http.StatusRequestEntityTooLarge
	}
	if status == 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	io.WriteString(w, "<html><body><h1>refused</h1></body></html>")
}

// TestPushSeparatingProxyRefusal: a 4xx that is not the node's (no TAXII
// error object: a proxy's page) sets no object apart at once. A proxy
// that refuses everything has nothing set apart: the push fails, and
// PushRetryingSeparating waits; one that refuses an object alone while
// it passes the probe has it set apart by the rounds. Before, each
// object alone refused by the proxy was taken for one the node refused
// for what it is: a client certificate expiring had a member set apart,
// and acknowledge, every object it pushed.
func TestPushSeparatingProxyRefusal(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, status := range []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity} {
		node := &failingNode{stored: map[string]bool{}}
		front := &proxyFront{next: node}
		front.refuse.Store(int64(status))
		srv := httptest.NewServer(front)
		refused, err := PushSeparating(context.Background(), &taxii.Client{BaseURL: srv.URL}, "c1", key, separatingObjects(10, nil))
		srv.Close()
		if len(refused) != 0 || err == nil {
			t.Errorf("a proxy answering %d to everything: set apart %d, error %v; want none set apart, the push failed", status, len(refused), err)
		}
	}

	defer func(f, m time.Duration) { pushRetryFirst, pushRetryMax = f, m }(pushRetryFirst, pushRetryMax)
	pushRetryFirst, pushRetryMax = time.Millisecond, time.Millisecond
	node := &failingNode{stored: map[string]bool{}}
	front := &proxyFront{next: node}
	front.refuse.Store(http.StatusBadRequest)
	srv := httptest.NewServer(front)
	defer srv.Close()
	waits := 0
	refused, err := PushRetryingSeparating(context.Background(), context.Background(), 0, &taxii.Client{BaseURL: srv.URL}, "c1", key, separatingObjects(10, nil),
		func(error, time.Duration) {
			if waits++; waits == 2 {
				front.refuse.Store(0)
			}
		})
	if err != nil || len(refused) != 0 || len(node.stored) != 10 {
		t.Errorf("refused %d, stored %d, %d waits, error %v; want everything stored after the waits", len(refused), len(node.stored), waits, err)
	}

	node = &failingNode{stored: map[string]bool{}}
	srv2 := httptest.NewServer(&proxyFront{next: node, maxBody: 4000})
	defer srv2.Close()
	objs := separatingObjects(10, nil)
	objs[4]["x_big"] = strings.Repeat("a", 5000)
	refused, err = PushSeparating(context.Background(), &taxii.Client{BaseURL: srv2.URL}, "c1", key, objs)
	if err != nil || len(refused) != 1 || refused[0].Object["id"] != "x-ok-4" || len(node.stored) != 9 {
		t.Errorf("a proxy refusing one object alone: set apart %d, stored %d, error %v; want x-ok-4 set apart, 9 stored", len(refused), len(node.stored), err)
	}
}

// crashingFront stands before a node that goes down on an object: every
// request whose body holds poison has its connection cut without an
// answer (a handler's panic; the node's process crashing), or, with
// status set, gets it (a proxy's 502 or 504 for the node that crashed).
type crashingFront struct {
	next   http.Handler
	poison string
	status int
}

func (f *crashingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !strings.Contains(string(body), f.poison) {
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.next.ServeHTTP(w, r)
		return
	}
	if f.status != 0 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.status)
		return
	}
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

// TestPushSeparatingCrashingNode: an object that brings the node down
// (the connection cut, or a proxy's 502 or 504 for it) while it stores
// the rest is set apart by the rounds, as one it answers 500 to. Before,
// the first envelope holding it failed the try as a node that is
// unavailable, never split: every retry, by every member, failed on it,
// and the fleet waited for ever.
func TestPushSeparatingCrashingNode(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, status := range []int{0, http.StatusBadGateway, http.StatusGatewayTimeout} {
		node := &failingNode{stored: map[string]bool{}}
		srv := httptest.NewServer(&crashingFront{next: node, poison: "x-crash", status: status})
		refused, err := PushSeparating(context.Background(), &taxii.Client{BaseURL: srv.URL}, "c1", key, separatingObjects(30, map[int]string{11: "x-crash"}))
		srv.Close()
		if err != nil {
			t.Fatalf("status %d: %v", status, err)
		}
		if len(refused) != 1 || refused[0].Object["id"] != "x-crash" || len(node.stored) != 29 {
			t.Errorf("status %d: set apart %d, stored %d; want x-crash set apart, the other 29 stored", status, len(refused), len(node.stored))
		}
	}
}

// TestPushSeparatingPoisonSideBySide: some dozens of objects the node
// fails on, side by side (an attacker's event repeated), are set apart
// and the rest stored, wherever they lie. Before, splitting them apart
// took more than maxBlind failed envelopes in a row, and when the node
// had stored nothing of the push yet (they came first) the push gave up
// as for a node that is down, at every try: the fleet waited for ever.
func TestPushSeparatingPoisonSideBySide(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, at := range []int{0, 100, 160} {
		special := map[int]string{}
		for i := range 40 {
			special[at+i] = fmt.Sprintf("x-poison-%d", i)
		}
		node := &failingNode{stored: map[string]bool{}, poison: "poison"}
		srv := httptest.NewServer(node)
		refused, err := PushSeparating(context.Background(), &taxii.Client{BaseURL: srv.URL}, "c1", key, separatingObjects(200, special))
		srv.Close()
		if err != nil {
			t.Fatalf("40 side by side from %d: %v", at, err)
		}
		if len(refused) != 40 || len(node.stored) != 160 {
			t.Errorf("40 side by side from %d: set apart %d, stored %d; want 40 and 160", at, len(refused), len(node.stored))
		}
	}
}

// outageFront stands before a node and answers 500 to every request
// from the from-th for a while (an outage that ends a try); it counts,
// by object id, the envelopes of one object the node failed on before
// the outage, and notes each id posted after it.
type outageFront struct {
	mu       sync.Mutex
	next     *failingNode
	from, to int
	requests int
	alone    map[string]int
	after    map[string]bool
}

func (f *outageFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var env taxii.Envelope
	json.Unmarshal(body, &env)
	var ids []string
	for _, raw := range env.Objects {
		var o struct{ ID string }
		json.Unmarshal(raw, &o)
		ids = append(ids, o.ID)
	}
	f.mu.Lock()
	f.requests++
	n := f.requests
	switch {
	case n >= f.to:
		for _, id := range ids {
			f.after[id] = true
		}
	case n < f.from && len(ids) == 1 && strings.Contains(ids[0], f.next.poison):
		f.alone[ids[0]]++
	}
	f.mu.Unlock()
	if n >= f.from && n < f.to {
		w.Header().Set("Content-Type", taxii.MediaType)
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"title":"Internal Server Error"}`)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.next.ServeHTTP(w, r)
}

// TestPushRetryingSeparatingKeepsConvictions: the objects that a try's
// rounds set apart before the try ended (the node went down a while)
// are not posted again by the next try, which sets them apart with
// their reason, and the push ends with every poison set apart, the rest
// stored. Before, each try started again from nothing: a push with more
// poison objects than one try (fleetTryTimeout) can judge never ended.
func TestPushRetryingSeparatingKeepsConvictions(t *testing.T) {
	defer func(f, m time.Duration) { pushRetryFirst, pushRetryMax = f, m }(pushRetryFirst, pushRetryMax)
	pushRetryFirst, pushRetryMax = time.Microsecond, time.Microsecond
	_, key, _ := ed25519.GenerateKey(nil)
	special := map[int]string{}
	for i := range 12 {
		special[2*i] = fmt.Sprintf("x-poison-%d", i)
	}
	node := &failingNode{stored: map[string]bool{}, poison: "poison"}
	front := &outageFront{next: node, from: 250, to: 250 + 2*(maxBlind+aliveTries), alone: map[string]int{}, after: map[string]bool{}}
	srv := httptest.NewServer(front)
	defer srv.Close()
	waits := 0
	refused, err := PushRetryingSeparating(context.Background(), context.Background(), 0, &taxii.Client{BaseURL: srv.URL}, "c1", key, separatingObjects(30, special),
		func(error, time.Duration) { waits++ })
	if err != nil || len(refused) != 12 || len(node.stored) != 18 || waits == 0 {
		t.Fatalf("set apart %d, stored %d, %d waits, error %v; want 12 set apart after a wait, 18 stored", len(refused), len(node.stored), waits, err)
	}
	judged := 0
	for id, n := range front.alone {
		if n <= convictRounds {
			continue
		}
		judged++
		if front.after[id] {
			t.Errorf("%s, set apart by the first try (failed on alone %d times), was posted again by the next", id, n)
		}
	}
	if judged == 0 {
		t.Fatalf("no object set apart before the outage: the test tests nothing")
	}
}

package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
	"github.com/parley-exchange/parley/taxii"
)

// tcpProxy forwards connections from a port on 127.0.0.1 to a server;
// stop cuts every connection and refuses new ones, start listens again
// on the same address. It stands for a database that restarts or a
// network that is cut.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *tcpProxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // stopped meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	go func() { io.Copy(s, c); s.Close(); c.Close() }()
	io.Copy(c, s)
	c.Close()
	s.Close()
}

func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// TestPostgresUnavailable cuts a node off its PostgreSQL while it serves:
// every surface (TAXII reads and writes, the log, private sets, the web
// UI and its API, /readyz)
// must answer 503 with Retry-After and a body that names no host, port,
// user or schema, and serve again once the database is back.
func TestPostgresUnavailable(t *testing.T) {
	base := pgtest.SchemaURL(t) // skips loudly when PostgreSQL is unreachable
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	schema := u.Query().Get("search_path")
	u.Host = proxy.addr
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Init(ctx, dir, Config{Store: u.String()}, nil); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	alice, err := n.AddMember(ctx, "alice", pub)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := n.AddCollection(ctx, "shared", "", []string{"alice"}, []string{"alice"}, "")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := "http://" + ln.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	logs := &logBuffer{}
	go func() { done <- n.Serve(sctx, ln, slog.New(slog.NewJSONHandler(logs, nil))) }()
	t.Cleanup(func() {
		cancel()
		<-done // Serve may report the outage's failed work; not this test's concern
		n.Close()
	})
	ui := uiLogin(t, srv, testMember{ID: alice.ID, Token: alice.Token})

	envelope := func() string {
		b, _ := json.Marshal(map[string]any{"objects": []json.RawMessage{indicator(t, alice.ID, key, time.Now())}})
		return string(b)
	}
	type request struct {
		name, method, path, body string
		client                   *http.Client
		ok                       int
	}
	requests := []request{
		{"TAXII GET objects", http.MethodGet, "/api/collections/" + coll + "/objects/", "", nil, http.StatusOK},
		{"TAXII POST envelope", http.MethodPost, "/api/collections/" + coll + "/objects/", "envelope", nil, http.StatusAccepted},
		{"GET /log/checkpoint", http.MethodGet, "/log/checkpoint", "", nil, 0}, // 200, or 404 before the first checkpoint
		{"GET /private/sets", http.MethodGet, "/private/sets", "", nil, 0},
		{"web UI home", http.MethodGet, "/ui/", "", ui, http.StatusOK},
		{"web UI API", http.MethodGet, "/ui/api/log/checkpoint", "", ui, 0},
		{"GET /readyz", http.MethodGet, "/readyz", "", nil, 0},
	}
	do := func(rq request) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if rq.body != "" {
			body = strings.NewReader(envelope())
		}
		req, _ := http.NewRequest(rq.method, srv+rq.path, body)
		if rq.client == nil {
			req.Header.Set("Authorization", "Bearer "+alice.Token)
			req.Header.Set("Accept", taxii.MediaType)
			if body != nil {
				req.Header.Set("Content-Type", taxii.MediaType)
			}
		}
		c := rq.client
		if c == nil {
			c = http.DefaultClient
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", rq.name, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, rq := range requests {
		if resp, body := do(rq); rq.ok != 0 && resp.StatusCode != rq.ok {
			t.Fatalf("before the outage: %s: %s, want %d: %s", rq.name, resp.Status, rq.ok, body)
		}
	}

	proxy.stop()
	_, port, _ := net.SplitHostPort(proxy.addr)
	leaks := []string{"127.0.0.1", port, "postgres", schema, "search_path", "SELECT", "dial", "connect"}
	for _, rq := range requests {
		resp, body := do(rq)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("during the outage: %s: %s, want 503: %s", rq.name, resp.Status, body)
			continue
		}
		if ra := resp.Header.Get("Retry-After"); ra != UnavailableRetryAfter {
			t.Errorf("during the outage: %s: Retry-After %q, want %q", rq.name, ra, UnavailableRetryAfter)
		}
		for _, s := range leaks {
			if strings.Contains(strings.ToLower(body), strings.ToLower(s)) {
				t.Errorf("during the outage: %s: the body names %q: %s", rq.name, s, body)
			}
		}
		if rq.path != "/readyz" && !strings.Contains(body, "database is unavailable") {
			t.Errorf("during the outage: %s: the body doesn't say the database is unavailable: %s", rq.name, body)
		}
	}

	// The operator sees each surface's failure as an error, with the
	// store's.
	logged := map[string]bool{}
	for _, l := range logs.lines(t) {
		e, _ := l["error"].(string)
		if e == "" {
			e, _ = l["err"].(string)
		}
		if l["level"] == "ERROR" && strings.Contains(e, "store unavailable") {
			msg, _ := l["msg"].(string)
			logged[msg] = true
			if strings.HasSuffix(msg, "request failed") && (l["request_id"] == nil || l["request_id"] == "") {
				t.Errorf("an error line without the request id: %v", l)
			}
		}
	}
	for _, msg := range []string{"request failed", "taxii request failed", "web: request failed"} {
		if !logged[msg] {
			t.Errorf("during the outage: no ERROR line %q naming the store's unavailability; logged: %v", msg, logged)
		}
	}

	proxy.start() // the same address: the pool reconnects
	deadline := time.Now().Add(15 * time.Second)
	for _, rq := range requests {
		if rq.ok == 0 {
			continue
		}
		for {
			resp, body := do(rq)
			if resp.StatusCode == rq.ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the outage: %s: %s, want %d: %s", rq.name, resp.Status, rq.ok, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
)

// How stallProxy passes the response to a request it watches.
const (
	passOn    = iota
	stallHead // sends nothing, and holds the connection open
	stallBody // sends the header and 64 bytes of the body, then holds it open
	slowBody  // sends the response in 16 pieces, one every `every`
)

// stallProxy is a real TCP proxy on 127.0.0.1:0 in front of a node, for a
// client that doesn't keep connections alive (one request a connection).
// Responses to requests whose path begins with path are passed as mode
// says; the rest pass unchanged. A stalled connection stays open until
// the test ends, as a black-holed leader's would.
type stallProxy struct {
	addr, target, path string
	mode               int
	every              time.Duration
	hold               chan struct{}
	stalled            chan struct{} // receives once per stalled request
	passFirst          int32         // watched requests passed on before mode applies
	watchedSeen        atomic.Int32
}

func newStallProxy(t *testing.T, target, path string, mode int, every time.Duration) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{addr: ln.Addr().String(), target: target, path: path, mode: mode, every: every,
		hold: make(chan struct{}), stalled: make(chan struct{}, 100)}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(p.hold)
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				p.serve(c)
			}()
		}
	}()
	return p
}

func (p *stallProxy) serve(c net.Conn) {
	br := bufio.NewReader(c)
	var head bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	reqLine, _, _ := strings.Cut(head.String(), "\r\n")
	fields := strings.Fields(reqLine)
	watched := len(fields) == 3 && strings.HasPrefix(fields[1], p.path) && p.watchedSeen.Add(1) > p.passFirst
	if watched && p.mode == stallHead {
		p.stalled <- struct{}{}
		<-p.hold
		return
	}
	b, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer b.Close()
	if _, err := b.Write(head.Bytes()); err != nil {
		return
	}
	resp, err := io.ReadAll(b) // the client asked for Connection: close
	if err != nil {
		return
	}
	switch {
	case !watched || p.mode == passOn:
		c.Write(resp)
	case p.mode == stallBody:
		end := bytes.Index(resp, []byte("\r\n\r\n")) + 4
		c.Write(resp[:min(len(resp), end+64)])
		p.stalled <- struct{}{}
		<-p.hold
	case p.mode == slowBody:
		// A slow link: each piece comes well within the stall timeout,
		// the whole response well after it.
		piece := (len(resp) + 15) / 16
		tick := time.NewTicker(p.every)
		defer tick.Stop()
		for len(resp) > 0 {
			k := min(piece, len(resp))
			if _, err := c.Write(resp[:k]); err != nil {
				return
			}
			resp = resp[k:]
			select {
			case <-tick.C:
			case <-p.hold:
				return
			}
		}
	}
}

// client returns an HTTP client that reaches the node through the proxy,
// one connection a request.
func (p *stallProxy) client() *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", p.addr)
		},
	}}
}

// TestPeerStallDeadline: a leader that stalls while keeping the
// connection open — before the response's header, or midway through its
// body — held the follower's round until the request's 2-minute timeout
// (and, here, whose client has none, forever). Now a request that makes
// no progress for the stall timeout is abandoned: the round ends with an
// error naming the request and the time, recorded as the peer's last
// error and shown as stalled by peer status. A body that keeps coming,
// however slowly, for longer than the stall timeout in all, is not cut.
func TestPeerStallDeadline(t *testing.T) {
	b := newOrigin(t, "a")
	b.share(t, b.intel, 5)
	size := waitIntegratedNode(t, b.Node)
	target := strings.TrimPrefix(b.URL, "http://")
	for _, c := range []struct {
		name, path string
		mode       int
		stall      time.Duration
	}{
		{"before the header", "/log/checkpoint", stallHead, 300 * time.Millisecond},
		{"mid-body", "/log/objects", stallBody, 300 * time.Millisecond},
		{"slow but progressing", "/log/objects", slowBody, 2 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			n, _ := initNode(t, Options{})
			defer n.Close()
			a := &fedNode{Node: n}
			pa := a.follow(t, b, "a", "from-b")
			px := newStallProxy(t, target, c.path, c.mode, c.stall/8)
			f, err := peer.New(peer.Config{Store: n.Store(), Dir: t.TempDir(), HTTP: px.client(), StallTimeout: c.stall}, pa)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				res peer.Result
				err error
			}
			done := make(chan result, 1)
			start := time.Now()
			go func() {
				res, err := f.Round(ctx)
				done <- result{res, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(time.Minute):
				t.Fatalf("the round still runs after a minute, with a stall timeout of %s", c.stall)
			}
			took := time.Since(start)
			p := a.peerState(t, "a")
			st := peer.StatusAt(p, time.Now(), time.Second)
			if c.mode == slowBody {
				if r.err != nil || r.res.Next != size || r.res.Objects != 5 {
					t.Fatalf("a slow body (%s in all) was cut: %+v, %v", took, r.res, r.err)
				}
				if took < c.stall {
					t.Fatalf("the slow body took %s, less than the stall timeout %s: it tested nothing", took, c.stall)
				}
				if st.Stalled != "" || st.LastError != "" {
					t.Fatalf("status after a slow round: %+v", st)
				}
				return
			}
			select {
			case <-px.stalled:
			default:
				t.Fatalf("the proxy never stalled; round: %v", r.err)
			}
			var se *peer.StallError
			if !errors.Is(r.err, peer.ErrStalled) || !errors.As(r.err, &se) {
				t.Fatalf("Round = %v, want ErrStalled", r.err)
			}
			if !strings.Contains(r.err.Error(), c.path) || !strings.Contains(r.err.Error(), c.stall.String()) || se.Headers != (c.mode == stallBody) {
				t.Fatalf("the error doesn't name %s, %s and what stalled: %v", c.path, c.stall, r.err)
			}
			if !strings.HasPrefix(p.State.LastError, peer.StalledPrefix) || p.State.Next != 0 {
				t.Fatalf("recorded: %+v", p.State)
			}
			if st.Stalled == "" || st.LastError != p.State.LastError {
				t.Fatalf("peer status doesn't show the stall: %+v", st)
			}
		})
	}
}

// TestPeerStatusRoundRunning: peer status runs in another process than
// the node, and could only show the last round that ended: a round
// running for minutes (a long catch-up, or a leader that stalls) looked
// like an idle node. The round in progress is recorded in the store: its
// start and the position then, beside the position it has reached, and
// cleared when it ends, even when the node stops it.
func TestPeerStatusRoundRunning(t *testing.T) {
	b, _ := sharedOrigin(t, 5)
	a, pa := unservedFollower(t, b)
	n := a.Node
	if s := peer.StatusOf(a.peerState(t, "a")); s.Round != "idle" || s.RoundStarted != "" || s.RoundFrom != nil {
		t.Fatalf("a new peer: %+v", s)
	}
	// The second step's objects stall (for longer than the test runs):
	// the round hangs after recording its first step.
	px := newStallProxy(t, strings.TrimPrefix(b.URL, "http://"), "/log/objects", stallBody, 0)
	px.passFirst = 1
	f, err := peer.New(peer.Config{Store: n.Store(), Dir: t.TempDir(), HTTP: px.client(), Step: 2, StallTimeout: time.Hour}, pa)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := f.Round(ctx)
		done <- err
	}()
	select {
	case <-px.stalled:
	case err := <-done:
		t.Fatalf("the round ended: %v", err)
	}
	p := a.waitPeer(t, "a", "the first step recorded", func(p store.Peer) bool { return p.State.Next > 0 })
	s := peer.StatusOf(p)
	started, err := time.Parse(time.RFC3339Nano, s.RoundStarted)
	if s.Round != "running" || err != nil || started.Before(before.Add(-time.Second)) || s.RoundFrom == nil || *s.RoundFrom != 0 || s.Position != 2 {
		t.Fatalf("status of a running round at its second step: %+v", s)
	}
	if js, _ := json.Marshal(s); !strings.Contains(string(js), `"round":"running","round_started":"`) || !strings.Contains(string(js), `"round_from":0`) {
		t.Fatalf("JSON: %s", js)
	}
	cancel()
	<-done
	s = peer.StatusOf(a.peerState(t, "a"))
	if s.Round != "idle" || s.RoundStarted != "" || s.RoundFrom != nil || s.Position != 2 {
		t.Fatalf("status after the round was stopped: %+v", s)
	}
}

// TestPeerSlowLinkPastRequestTimeout: the client's Timeout (2 minutes in
// production, RequestTimeout; a second here) cut a response that kept
// coming over a slow link, so that a large catch-up over it could never
// end. Now a body that keeps coming at the minimum rate or faster is
// not cut, and one slower than it is abandoned once the request has run
// for longer than the Timeout, with an error that says so.
func TestPeerSlowLinkPastRequestTimeout(t *testing.T) {
	b := newOrigin(t, "a")
	b.share(t, b.intel, 5)
	size := waitIntegratedNode(t, b.Node)
	target := strings.TrimPrefix(b.URL, "http://")
	const limit = time.Second
	for _, c := range []struct {
		name    string
		minRate int64
		slow    bool // abandoned
	}{
		{"progressing", 1, false},
		{"slower than the minimum rate", 1 << 30, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, _ := initNode(t, Options{})
			defer n.Close()
			a := &fedNode{Node: n}
			pa := a.follow(t, b, "a", "from-b")
			// 16 pieces, one every 300 ms: 4.8 s in all, far past the
			// limit, each piece well within the stall timeout.
			px := newStallProxy(t, target, "/log/objects", slowBody, 300*time.Millisecond)
			hc := px.client()
			hc.Timeout = limit
			f, err := peer.New(peer.Config{Store: n.Store(), Dir: t.TempDir(), HTTP: hc, StallTimeout: 2 * time.Second, MinRate: c.minRate}, pa)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res, err := f.Round(context.Background())
			took := time.Since(start)
			if !c.slow {
				if err != nil || res.Next != size || res.Objects != 5 {
					t.Fatalf("a body that kept coming (%s in all) was cut: %+v, %v", took, res, err)
				}
				if took < limit {
					t.Fatalf("the slow body took %s, less than the limit %s: it tested nothing", took, limit)
				}
				return
			}
			var se *peer.StallError
			if !errors.As(err, &se) || se.MinBytes == 0 || se.Limit != limit || !strings.Contains(err.Error(), "fewer than") || res.Next != 0 {
				t.Fatalf("a body slower than the minimum rate: %+v, %v", res, err)
			}
			if p := a.peerState(t, "a"); !strings.HasPrefix(p.State.LastError, peer.StalledPrefix) {
				t.Fatalf("recorded: %+v", p.State)
			}
		})
	}
}

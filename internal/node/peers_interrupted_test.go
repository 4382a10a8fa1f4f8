package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// holdFront is a reverse proxy in front of a peer B that holds requests
// for B's objects (GET /log/objects) once passing of them is used up,
// each until released (then it passes it on) or until its client goes
// away: a round stopped in the middle of a step.
type holdFront struct {
	URL     string
	rp      *httputil.ReverseProxy
	mu      sync.Mutex
	pass    int           // objects requests still passed on at once; -1: all
	release chan struct{} // closed to pass on every request held
	held    chan struct{} // receives once per request held
}

func newHoldFront(t *testing.T, target string, pass int) *holdFront {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	h := &holdFront{rp: httputil.NewSingleHostReverseProxy(u), pass: pass, release: make(chan struct{}), held: make(chan struct{}, 100)}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(h.passAll) // before srv.Close, which waits for the handlers
	h.URL = srv.URL
	return h
}

func (h *holdFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/log/objects") {
		h.mu.Lock()
		hold := h.pass == 0
		if h.pass > 0 {
			h.pass--
		}
		release := h.release
		h.mu.Unlock()
		if hold {
			h.held <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
	}
	h.rp.ServeHTTP(w, r)
}

// holdAll makes the front hold every later objects request.
func (h *holdFront) holdAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pass, h.release = 0, make(chan struct{})
}

// passAll passes on the requests held and every later one.
func (h *holdFront) passAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pass != -1 {
		h.pass = -1
		close(h.release)
	}
}

func (h *holdFront) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-h.held:
	case <-time.After(time.Minute):
		t.Fatal("no request for the peer's objects was held within a minute")
	}
}

// peerChild is a follower node A, in a child process ([startChildNode])
// in dir, of B through front, in steps of 32 entries.
type peerChild struct {
	dir   string
	pa    store.Peer
	front *holdFront
}

func newPeerChild(t *testing.T, b *origin, front *holdFront, interval time.Duration) *peerChild {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testStoreConfig(t) // the suite's store, as the child's
	cfg.PeerInterval, cfg.PeerStep = Duration(interval), 32
	// A killed round's lease expires a second after its last renewal:
	// then the restarted node counts it as interrupted.
	cfg.RoundLeaseTTL = Duration(time.Second)
	if _, err := Init(ctx, dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	pa, err := n.AddPeer(ctx, PeerSpec{Name: "a", URL: front.URL, TokenFile: b.followers["a"], LogKey: b.VerifierKey(), Remote: b.intel, Into: "from-b"})
	if err != nil {
		t.Fatal(err)
	}
	return &peerChild{dir: dir, pa: pa, front: front}
}

// state reads A's peer from its store, as parley peer status does in
// another process than the node's (running or not).
func (c *peerChild) state(t *testing.T) store.Peer {
	t.Helper()
	n, err := Open(context.Background(), c.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	return (&fedNode{Node: n}).peerState(t, "a")
}

// wait polls A's store for up to a minute until cond holds.
func (c *peerChild) wait(t *testing.T, what string, cond func(p store.Peer) bool) store.Peer {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		p := c.state(t)
		if cond(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute; state %+v", what, p.State)
		}
	}
}

// TestPeerRoundKill9Interrupted: a node SIGKILLed in the middle of a
// peer's round (its second step's objects held by the peer's front)
// left the round marked running, and, restarted, started the next round
// as if nothing had happened: no failed round, no error, no backoff, so
// that a peer whose data kills the node would be retried at full rate
// for ever, the operator seeing nothing. The restarted node counts the
// killed round as a failed round (interrupted, in peer status's JSON),
// backs the peer off, and replication resumes where the last step
// recorded it: every object of B once, with one entry and one
// provenance record each.
func TestPeerRoundKill9Interrupted(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("inside the child")
	}
	const total = 100
	b := newOrigin(t, "a")
	b.share(t, b.intel, total)
	size := waitIntegratedNode(t, b.Node)
	front := newHoldFront(t, b.URL, 1) // the first step's objects pass
	const interval = 200 * time.Millisecond
	a := newPeerChild(t, b, front, interval)

	cmd, _ := startChildNode(t, a.dir, 0, io.Discard)
	front.waitHeld(t) // the second step, prepared while the first is stored
	mid := a.wait(t, "the first step recorded", func(p store.Peer) bool { return p.State.Next == 32 })
	if mid.State.RoundStarted.IsZero() {
		t.Fatalf("mid-round, no round marked: %+v", mid.State)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	killed := a.state(t)
	if killed.State.RoundStarted.IsZero() || killed.State.Failures != 0 || killed.State.LastError != "" || killed.State.Next != 32 {
		t.Fatalf("after the SIGKILL: %+v", killed.State)
	}

	front.holdAll()
	cmd, _ = startChildNode(t, a.dir, 1, io.Discard)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	p := a.wait(t, "the killed round counted", func(p store.Peer) bool {
		return p.State.Failures > 0 || p.State.RoundStarted.After(killed.State.RoundStarted)
	})
	if p.State.Failures != 1 || !strings.HasPrefix(p.State.LastError, peer.InterruptedPrefix) || p.State.Next != 32 {
		t.Fatalf("after the restart: %+v; want the killed round counted as a failed round, interrupted, at position 32", p.State)
	}
	s := peer.StatusAt(p, time.Now(), interval)
	js, _ := json.Marshal(s)
	if !s.Interrupted || s.FailedRounds != 1 || s.NextRound == "" || s.Position != 32 ||
		!strings.Contains(string(js), `"interrupted":true`) || !strings.Contains(string(js), `"failed_rounds":1`) {
		t.Fatalf("peer status after the restart: %s", js)
	}
	if next := peer.NextRound(p, interval); !next.Equal(p.State.LastRound.Add(peer.Backoff(1, interval))) {
		t.Fatalf("next round %s, want the backoff of one failed round after %s", next, p.State.LastRound)
	}
	t.Logf("last_error: %s", p.State.LastError)

	// Replication goes on from position 32, nothing lost or twice.
	front.passAll()
	a.wait(t, "caught up", func(p store.Peer) bool { return p.State.Next >= size && p.State.Failures == 0 })
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	n, err := Open(context.Background(), a.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	objs := localObjects(t, n, a.pa.Into)
	if len(objs) != total || objectEntries(t, n) != total {
		t.Fatalf("stored %d objects with %d object entries, want %d each", len(objs), objectEntries(t, n), total)
	}
	for _, o := range objs {
		e, err := n.store.EntryFor(context.Background(), a.pa.Into, o.ID, o.Version)
		if err != nil {
			t.Fatal(err)
		}
		le, err := tlog.ParseEntry(e.Leaf)
		if err != nil || le.Commitment != tlog.ObjectCommitment(e.Opening(), o.Raw) {
			t.Fatalf("entry %d doesn't commit to %s: %v", e.Index, o.ID, err)
		}
		if prov, err := n.Store().PeerObjects(context.Background(), "a", o.ID); err != nil || len(prov) != 1 {
			t.Fatalf("%s has %d provenance records: %v", o.ID, len(prov), err)
		}
	}
}

// TestPeerRoundGracefulStop: a node stopped with SIGTERM in the middle
// of a peer's round ends the round without counting it as failed: the
// mark cleared, no error, no failed round; the restarted node counts
// nothing and starts the next round at once.
func TestPeerRoundGracefulStop(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("inside the child")
	}
	b := newOrigin(t, "a")
	b.share(t, b.intel, 40)
	waitIntegratedNode(t, b.Node)
	front := newHoldFront(t, b.URL, 1)
	a := newPeerChild(t, b, front, 200*time.Millisecond)

	cmd, _ := startChildNode(t, a.dir, 0, io.Discard)
	front.waitHeld(t)
	a.wait(t, "the first step recorded", func(p store.Peer) bool { return p.State.Next == 32 })
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the node after SIGTERM: %v", err)
	}
	stopped := a.state(t)
	if !stopped.State.RoundStarted.IsZero() || stopped.State.Failures != 0 || stopped.State.LastError != "" || stopped.State.Next != 32 {
		t.Fatalf("after a graceful stop mid-round: %+v; want the round ended, not failed", stopped.State)
	}
	front.holdAll()
	cmd, _ = startChildNode(t, a.dir, 1, io.Discard)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	front.waitHeld(t)
	p := a.wait(t, "the next round running", func(p store.Peer) bool { return !p.State.RoundStarted.IsZero() })
	if p.State.Failures != 0 || p.State.LastError != "" || peer.StatusOf(p).Interrupted {
		t.Fatalf("after the restart: %+v; want nothing counted", p.State)
	}
}

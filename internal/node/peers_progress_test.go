package node

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
)

// TestPeerStatusSlowStep: peer status judged a round by the time since a
// round or step last ended, and a step's progress is recorded only when
// it ends, so that a long but healthy step over a slow link (a first
// catch-up of a peer added an hour ago, here) showed as stalled. A round
// now records the bytes it receives and when the last came, every
// heartbeat, and status calls a running round stalled only when nothing
// came from the peer, and no step ended, for peer.ActivityWindow: a step
// trickling in above the minimum rate past the request timeout is
// running and not stalled, with its bytes shown; a silent one (the
// header and 64 bytes, then nothing) is stalled once the window passes.
func TestPeerStatusSlowStep(t *testing.T) {
	b := newOrigin(t, "a")
	b.share(t, b.intel, 40)
	size := waitIntegratedNode(t, b.Node)
	target := strings.TrimPrefix(b.URL, "http://")
	const interval = time.Second

	// run starts a round of A through a proxy in mode on B's objects, the
	// follower's clock offset from the node's (which added the peer).
	run := func(t *testing.T, mode int, offset time.Duration) (*fedNode, chan error, context.CancelFunc) {
		n, _ := initNode(t, Options{})
		t.Cleanup(func() { n.Close() })
		a := &fedNode{Node: n}
		pa := a.follow(t, b, "a", "from-b")
		px := newStallProxy(t, target, "/log/objects", mode, 150*time.Millisecond)
		hc := px.client()
		hc.Timeout = 500 * time.Millisecond // the minimum rate applies past it
		f, err := peer.New(peer.Config{Store: n.Store(), Dir: t.TempDir(), HTTP: hc, StallTimeout: time.Minute,
			Heartbeat: 50 * time.Millisecond, Now: func() time.Time { return time.Now().Add(offset) }}, pa)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := f.Round(ctx)
			done <- err
			close(done) // for the cleanup, once the test has read err
		}()
		t.Cleanup(func() { cancel(); <-done })
		return a, done, cancel
	}

	t.Run("slow but progressing", func(t *testing.T) {
		// The round runs an hour after the peer was added, and no round
		// has ended since.
		const offset = time.Hour
		a, done, _ := run(t, slowBody, offset)
		p := a.waitPeer(t, "a", "bytes of the step recorded while it comes", func(p store.Peer) bool {
			return p.State.RoundBytes > 0 && p.State.RoundActive.After(p.State.RoundStarted)
		})
		if p.State.Next != 0 || p.State.LastRound.After(p.State.RoundStarted) {
			t.Fatalf("the step ended before its progress was seen: %+v", p.State)
		}
		s := peer.StatusAt(p, time.Now().Add(offset), interval)
		js, _ := json.Marshal(s)
		if s.Stalled != "" || s.Round != "running" || s.RoundBytes == nil || *s.RoundBytes != p.State.RoundBytes || s.RoundActive == "" {
			t.Fatalf("a step trickling in: %s", js)
		}
		if err := <-done; err != nil {
			t.Fatalf("the slow round: %v", err)
		}
		if p := a.peerState(t, "a"); p.State.Next != size || p.State.RoundBytes != 0 || !p.State.RoundActive.IsZero() {
			t.Fatalf("after the round: %+v", p.State)
		}
	})

	t.Run("silent", func(t *testing.T) {
		a, _, cancel := run(t, stallBody, 0)
		p := a.waitPeer(t, "a", "the round's bytes recorded", func(p store.Peer) bool { return p.State.RoundBytes > 0 })
		if s := peer.StatusAt(p, time.Now(), time.Minute); s.Stalled != "" || s.Round != "running" {
			t.Fatalf("a round whose last bytes came a moment ago: %+v", s)
		}
		// Nothing more comes: once the window passes, with rounds due
		// every minute and the peer added about a minute before, it is
		// stalled.
		// The round's process is alive and renews its lease meanwhile
		// (a lease that expired is another stall, of a dead process).
		at := p.State.RoundActive.Add(peer.ActivityWindow + time.Second)
		p.State.RoundExpires = at.Add(time.Minute)
		if s := peer.StatusAt(p, at, time.Minute); !strings.Contains(s.Stalled, "received nothing from the peer") || s.Round != "running" {
			t.Fatalf("a round that received nothing for %s: %+v", peer.ActivityWindow, s)
		}
		cancel()
	})
}

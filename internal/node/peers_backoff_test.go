package node

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
)

// TestPeerBackoff: the rounds of a peer that keeps failing are spaced out
// (peer.Backoff: the interval, doubled per failure) while another peer is
// followed at full rate, and a round that works resets the backoff.
func TestPeerBackoff(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	c := newOrigin(t, "c")
	a := newFedNode(t, 0)
	interval := time.Duration(a.Config().PeerInterval)

	// b behind a front that fails every request until told otherwise,
	// noting when each came (each failing round makes one: its
	// checkpoint's).
	target, err := url.Parse(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	failing := true
	var hits []time.Time
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := failing
		if f {
			hits = append(hits, time.Now())
		}
		mu.Unlock()
		if f {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	if _, err := a.AddPeer(ctx, PeerSpec{
		Name: "a", URL: front.URL, TokenFile: b.followers["a"], LogKey: b.VerifierKey(),
		Remote: b.intel, Into: "from-b",
	}); err != nil {
		t.Fatal(err)
	}
	a.follow(t, c, "c", "from-c")

	const failures = 5
	a.waitPeer(t, "a", "failing", func(p store.Peer) bool { return p.State.Failures >= failures })
	// The other peer's rounds go on while "a" is backed off.
	c.share(t, c.intel, 3)
	a.caughtUp(t, c, "c")

	mu.Lock()
	got := append([]time.Time(nil), hits...)
	mu.Unlock()
	if len(got) < failures {
		t.Fatalf("%d requests to the failing peer for %d failed rounds", len(got), failures)
	}
	for i := 1; i < failures; i++ {
		// Round i+1 starts no sooner than Backoff(i) after round i ended.
		if gap, want := got[i].Sub(got[i-1]), peer.Backoff(int64(i), interval); gap < want {
			t.Errorf("round %d started %s after round %d, want at least %s", i+1, gap, i, want)
		}
	}
	p := a.peerState(t, "a")
	s := peer.StatusAt(p, time.Now(), interval)
	if s.FailedRounds < failures || s.NextRound == "" || s.LastError == "" {
		t.Errorf("status of the failing peer: failed_rounds %d, next_round %q, last_error %q", s.FailedRounds, s.NextRound, s.LastError)
	}
	if next, err := time.Parse(time.RFC3339Nano, s.NextRound); err != nil || !next.Equal(p.State.LastRound.Add(peer.Backoff(p.State.Failures, interval))) {
		t.Errorf("next_round %q, last round %s after %d failures: %v", s.NextRound, p.State.LastRound, p.State.Failures, err)
	}

	// The peer is back: the next round works and resets the backoff.
	mu.Lock()
	failing = false
	mu.Unlock()
	b.share(t, b.intel, 2)
	a.caughtUp(t, b, "a")
	p = a.waitPeer(t, "a", "backoff reset", func(p store.Peer) bool { return p.State.Failures == 0 })
	if s := peer.StatusAt(p, time.Now(), interval); s.NextRound != "" || s.FailedRounds != 0 || s.LastError != "" {
		t.Errorf("status after a round that worked: next_round %q, failed_rounds %d, last_error %q", s.NextRound, s.FailedRounds, s.LastError)
	}
}

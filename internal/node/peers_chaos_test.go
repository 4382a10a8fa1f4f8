package node

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// TestPeerForkNotForgotten: a follower writes the split-view evidence,
// then records the stop. Killed -9 between the two, it restarted with the
// evidence on disk and the peer "following"; B then showed it its old
// checkpoint again (a split view shows each side what it wants) and it
// followed B as if B had never forked. Kept evidence now stops the peer.
func TestPeerForkNotForgotten(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	// B, as A sees it: B itself, or, once stale is set, B answering
	// /log/checkpoint with the checkpoint A accepted before the fork.
	target, _ := url.Parse(b.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var stale atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cp := stale.Load(); cp != nil && r.URL.Path == "/log/checkpoint" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write(*cp)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	a := newFedNode(t, 0)
	if _, err := a.AddPeer(ctx, PeerSpec{Name: "a", URL: srv.URL, TokenFile: b.followers["a"], LogKey: b.VerifierKey(),
		Remote: b.intel, Into: "from-b"}); err != nil {
		t.Fatal(err)
	}
	b.share(t, b.intel, 20)
	before := a.caughtUp(t, b, "a")
	p, _ := forkUntilStopped(t, a, b, before)

	// The state a kill -9 between the evidence and the stop leaves: the
	// evidence file, and the peer not stopped.
	a.stop()
	n, err := Open(ctx, a.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := n.store.(interface{ DB() (*sql.DB, *sql.DB) }).DB()
	if _, err := w.Exec(`UPDATE peers SET stopped = '', evidence = '', last_error = '' WHERE name = 'a'`); err != nil {
		t.Fatal(err)
	}
	n.Close()
	cp := before.State.Checkpoint
	stale.Store(&cp)
	a.start(t)
	got := a.waitPeer(t, "a", "stopped again", func(q store.Peer) bool { return q.State.Stopped != "" || q.State.LastRound.After(p.State.LastRound) })
	if got.State.Stopped == "" || got.State.Evidence != p.State.Evidence {
		t.Fatalf("restarted with evidence of a fork in %s, A follows B again: %+v", p.State.Evidence, got.State)
	}
	// A follower made afresh refuses too.
	f, err := peer.New(peer.Config{Store: a.Store(), Dir: a.dir}, got)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Round(ctx); !errors.Is(err, peer.ErrStopped) || !strings.Contains(err.Error(), "inconsistent") {
		t.Fatalf("round after the stop: %v", err)
	}
}

// TestPeerBlackHoleHoldsNoOther: peers were followed one after another, so
// a peer whose connection was black-holed (no answer until the client's
// 2-minute timeout, at every round) held every other peer that long, and
// their last_round went stale while their state said "following". Here
// peer "a" never answers, and "b", listed after it, is followed anyway.
func TestPeerBlackHoleHoldsNoOther(t *testing.T) {
	ctx := context.Background()
	var asked atomic.Int64
	hole := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		<-r.Context().Done()
	}))
	t.Cleanup(hole.Close)
	b := newOrigin(t, "b")
	a := newFedNode(t, 0)
	// The hole's log is another than B's (peer add refuses a second peer
	// of one collection of B's log, wherever it is): it never answers.
	_, holeKey, err := tlog.NewNodeKey(rand.Reader, "hole.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddPeer(ctx, PeerSpec{Name: "a", URL: hole.URL, TokenFile: b.followers["b"], LogKey: holeKey,
		Remote: b.intel, Into: "from-the-hole"}); err != nil {
		t.Fatal(err)
	}
	a.follow(t, b, "b", "from-b")
	b.share(t, b.intel, 10)
	if p := a.caughtUp(t, b, "b"); p.State.Objects != 10 {
		t.Fatalf("peer b: %+v", p.State)
	}
	if asked.Load() == 0 {
		t.Fatal("peer a was never asked: the test shows nothing")
	}
	p := a.peerState(t, "a")
	if p.State.Next != 0 || !p.State.LastRound.IsZero() {
		t.Fatalf("peer a's round ended: %+v", p.State)
	}
	// Its status, as parley peer status would print it once the round
	// has hung that long (receiving nothing), the node alive and renewing
	// the round's lease meanwhile.
	at := time.Now().Add(peer.StallAfter(30*time.Millisecond) + time.Minute)
	p.State.RoundExpires = at.Add(time.Minute)
	if s := peer.StatusAt(p, at, 30*time.Millisecond); s.State != "following" || s.Round != "running" || !strings.Contains(s.Stalled, "received nothing from the peer") {
		t.Fatalf("status of the black-holed peer: %+v", s)
	}
	if s := peer.StatusAt(a.peerState(t, "b"), time.Now(), 30*time.Millisecond); s.Stalled != "" {
		t.Fatalf("status of peer b: %+v", s)
	}
}

// TestPeerAndFeedOfOneCollection: a node that followed B's collection
// both as a peer and as a feed refused every object of the feed ("a
// different object with this id and version is already stored": the peer
// keeps the signatures, the feed strips them), with nothing saying why.
// parley peer add and feed add now refuse the second, and the status of
// such a feed recorded before says why.
func TestPeerAndFeedOfOneCollection(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	a.follow(t, b, "a", "from-b")
	// The same origin spelled otherwise, with the API root's path.
	other := b.URL + "/api/"
	_, err := a.AddFeed(ctx, FeedSpec{Name: "fb", URL: other, Collection: b.intel, Auth: "bearer", SecretFile: b.followers["a"], Into: "feed-b"})
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "peer a already follows collection "+b.intel) || !strings.Contains(err.Error(), "both as a peer and as a feed") {
		t.Fatalf("feed add of the collection a peer follows: %v", err)
	}
	// Another collection of B is fine.
	if _, err := a.AddFeed(ctx, FeedSpec{Name: "fs", URL: b.URL, Collection: b.secret, Auth: "bearer", SecretFile: b.followers["a"], Into: "feed-secret"}); err != nil {
		t.Fatal(err)
	}

	// The other way round: the feed first.
	c := newFedNode(t, 0)
	if _, err := c.AddFeed(ctx, FeedSpec{Name: "fb", URL: strings.Replace(b.URL, "http://", "HTTP://", 1), Collection: b.intel, Auth: "bearer", SecretFile: b.followers["a"], Into: "feed-b"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddPeer(ctx, PeerSpec{Name: "a", URL: b.URL, TokenFile: b.followers["a"], LogKey: b.VerifierKey(), Remote: b.intel, Into: "from-b"})
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "feed fb already follows collection "+b.intel) {
		t.Fatalf("peer add of the collection a feed follows: %v", err)
	}
	fs, err := c.FeedStore().Feeds(ctx)
	if err != nil || len(fs) != 1 {
		t.Fatalf("feeds %v, %v", fs, err)
	}
	if why, err := c.FeedConflict(ctx, fs[0]); why != "" || err != nil {
		t.Fatalf("a feed no peer overlaps: %q, %v", why, err)
	}
	// Recorded before the refusal: the feed's status says why.
	if err := c.Store().AddPeer(ctx, store.Peer{Name: "a", URL: b.URL, TokenFile: b.followers["a"], LogKey: b.VerifierKey(),
		Remote: b.intel, Into: fs[0].Into, Member: fs[0].Member, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if why, err := c.FeedConflict(ctx, fs[0]); err != nil || !strings.Contains(why, "peer a follows the same collection") || !strings.Contains(why, "same id and version") {
		t.Fatalf("the status of a feed a peer overlaps: %q, %v", why, err)
	}
}

package node

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
	"github.com/parley-exchange/parley/taxii"
)

// slowFeedServer is a TAXII API root serving one page of objects, whose
// answers wait until release is closed; held receives each request's
// number as it arrives.
type slowFeedServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests int
	held     chan int
	release  chan struct{}
	once     sync.Once
}

// free lets every request held, and those to come, be answered.
func (s *slowFeedServer) free() { s.once.Do(func() { close(s.release) }) }

func newSlowFeedServer(t *testing.T, objs []json.RawMessage) *slowFeedServer {
	s := &slowFeedServer{held: make(chan int, 16), release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/objects/") {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.requests++
		k := s.requests
		s.mu.Unlock()
		s.held <- k
		<-s.release
		added := "2026-01-01T00:00:00.000Z"
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Header().Set("X-TAXII-Date-Added-First", added)
		w.Header().Set("X-TAXII-Date-Added-Last", added)
		json.NewEncoder(w).Encode(map[string]any{"more": false, "objects": objs})
	}))
	t.Cleanup(func() {
		s.free() // before Close, which waits for the handlers
		s.Close()
	})
	return s
}

func (s *slowFeedServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// serveFrontEnd serves the node of dir until the test ends.
func serveFrontEnd(t *testing.T, dir string) *Node {
	t.Helper()
	n, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		n.Close()
	})
	return n
}

// TestFeedRoundTwoFrontEnds: two front ends of one node on one PostgreSQL
// database. A starts a feed's round, which the feed's server holds for
// longer than the round's lease; B starts meanwhile. B used to count
// A's live round as interrupted (a failed round, "interrupted" in feed
// status) and poll the feed itself at once, so that the round ran twice
// and A's end then overwrote B's count. Now A's heartbeat renews its
// lease, B leaves the feed to it (one request to the server), and the
// round, released, ends counted once, as a round that worked.
func TestFeedRoundTwoFrontEnds(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("inside the child")
	}
	ctx := context.Background()
	url := pgtest.SchemaURL(t)
	const lease = time.Second
	dirA := t.TempDir()
	if _, err := Init(ctx, dirA, Config{Store: url, FeedCheckInterval: Duration(10 * time.Millisecond), RoundLeaseTTL: Duration(lease)}, nil); err != nil {
		t.Fatal(err)
	}
	var objs []json.RawMessage
	for range 3 {
		objs = append(objs, indicator(t, mitreIdentity, nil, t0))
	}
	srv := newSlowFeedServer(t, objs)
	n, err := Open(ctx, dirA, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddFeed(ctx, FeedSpec{Name: "slow", URL: srv.URL + "/api/", Collection: "c", Into: "slow", Interval: time.Hour}); err != nil {
		t.Fatal(err)
	}
	n.Close()
	dirB := copyDataDir(t, dirA)

	a := serveFrontEnd(t, dirA)
	select {
	case <-srv.held: // A's round waits for the server
	case <-time.After(time.Minute):
		t.Fatal("front end A never polled the feed")
	}
	st := a.FeedStore()
	get := func() feed.Feed {
		t.Helper()
		fs, err := st.Feeds(ctx)
		if err != nil || len(fs) != 1 {
			t.Fatalf("Feeds = %+v, %v", fs, err)
		}
		return fs[0]
	}
	claimed := get()
	if claimed.RoundStarted.IsZero() || claimed.RoundOwner == "" {
		t.Fatalf("A's round is not marked: %+v", claimed.FeedPosition)
	}
	serveFrontEnd(t, dirB)
	// The round outlives its first lease: A renewed it, and B, looking
	// every 10 ms since it started, leaves it alone.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		f := get()
		if f.Failures != 0 || f.LastError != "" || !f.RoundStarted.Equal(claimed.RoundStarted) {
			t.Fatalf("A's live round was ended by B: %+v", f.FeedPosition)
		}
		if time.Now().After(claimed.RoundExpires.Add(lease/2)) && f.RoundExpires.After(claimed.RoundExpires) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's lease not renewed: %+v", f.FeedPosition)
		}
	}
	if k := srv.count(); k != 1 {
		t.Fatalf("%d requests to the feed's server while A's round runs, want 1", k)
	}
	srv.free()
	var f feed.Feed
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if f = get(); f.RoundStarted.IsZero() && f.Pages > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the round never ended: %+v", f.FeedPosition)
		}
	}
	if f.Failures != 0 || f.LastError != "" || f.Pages != 1 || f.Added != 3 || f.RoundOwner != "" || !f.RoundExpires.IsZero() {
		t.Fatalf("after the round: %+v; want one page of 3 objects, no failure", f.FeedPosition)
	}
	if k := srv.count(); k != 1 {
		t.Fatalf("%d requests to the feed's server, want 1 (the feed's interval is an hour)", k)
	}
}

// TestPeerRoundTwoFrontEnds: as TestFeedRoundTwoFrontEnds, for a peer.
// Front end A's round of B waits (its second step's objects held by B's
// front) for longer than the round's lease while front end B starts on
// the same database: B neither counts A's round as interrupted nor runs
// one of its own, and the round, released, replicates B's log once, no
// round failed.
func TestPeerRoundTwoFrontEnds(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("inside the child")
	}
	ctx := context.Background()
	const total = 100
	b := newOrigin(t, "a")
	b.share(t, b.intel, total)
	size := waitIntegratedNode(t, b.Node)
	front := newHoldFront(t, b.URL, 1) // the first step's objects pass

	url := pgtest.SchemaURL(t)
	const lease = time.Second
	dirA := t.TempDir()
	if _, err := Init(ctx, dirA, Config{Store: url, PeerInterval: Duration(20 * time.Millisecond), PeerStep: 32, RoundLeaseTTL: Duration(lease)}, nil); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dirA, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pa, err := n.AddPeer(ctx, PeerSpec{Name: "a", URL: front.URL, TokenFile: b.followers["a"], LogKey: b.VerifierKey(), Remote: b.intel, Into: "from-b"})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	dirB := copyDataDir(t, dirA)

	a := serveFrontEnd(t, dirA)
	t.Cleanup(front.passAll) // before the front ends stop
	front.waitHeld(t)
	get := func() store.Peer {
		t.Helper()
		ps, err := a.Store().Peers(ctx)
		if err != nil || len(ps) != 1 {
			t.Fatalf("Peers = %+v, %v", ps, err)
		}
		return ps[0]
	}
	claimed := get()
	if claimed.State.RoundStarted.IsZero() || claimed.State.RoundOwner == "" {
		t.Fatalf("A's round is not marked: %+v", claimed.State)
	}
	serveFrontEnd(t, dirB)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		p := get()
		if p.State.Failures != 0 || p.State.LastError != "" || !p.State.RoundStarted.Equal(claimed.State.RoundStarted) || p.State.RoundOwner != claimed.State.RoundOwner {
			t.Fatalf("A's live round was ended or taken by B: %+v", p.State)
		}
		if time.Now().After(claimed.State.RoundExpires.Add(lease/2)) && p.State.RoundExpires.After(claimed.State.RoundExpires) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's lease not renewed: %+v", p.State)
		}
	}
	front.passAll()
	var p store.Peer
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if p = get(); p.State.Next >= size {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never caught up: %+v", p.State)
		}
	}
	if p.State.Failures != 0 || p.State.LastError != "" {
		t.Fatalf("after the round: %+v; want no failed round", p.State)
	}
	if objs := localObjects(t, a, pa.Into); len(objs) != total || objectEntries(t, a) != total {
		t.Fatalf("stored %d objects with %d object entries, want %d each", len(objs), objectEntries(t, a), total)
	}
}

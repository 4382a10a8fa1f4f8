package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"golang.org/x/mod/sumdb/note"
)

// lockedBuffer is a bytes.Buffer for a logger written from goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFollowPeersLogsAFailureOnce: a peer that is down fails every round;
// the node says so once (then every failureRelog while it lasts), not
// every PeerInterval (a day of a peer down at the default 5 s was 17,280
// lines; a forked peer's witness refusals were 353 lines in 6 minutes).
func TestFollowPeersLogsAFailureOnce(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	// The peer: it accepts connections and closes them, so that every
	// round fails, and counts them.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	_, vkey, err := note.GenerateKey(rand.Reader, "peer.example/log")
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "peer.token")
	if err := os.WriteFile(tokenFile, []byte("peer-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.AddPeer(ctx, PeerSpec{Name: "down", URL: "http://" + ln.Addr().String(), TokenFile: tokenFile, LogKey: vkey, Remote: "c1", Into: "from the peer", Readers: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	tn.cfg.PeerInterval = Duration(10 * time.Millisecond)
	var logged lockedBuffer
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tn.followPeers(rctx, slog.New(slog.NewTextHandler(&logged, nil))) }()
	deadline := time.Now().Add(30 * time.Second)
	for accepted.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if accepted.Load() < 10 {
		t.Fatalf("the peer was reached %d times in 30 s", accepted.Load())
	}
	if n := strings.Count(logged.String(), "peer round failed"); n != 1 {
		t.Errorf("%d rounds logged %d failures, want 1:\n%s", accepted.Load(), n, logged.String())
	}
}

// downPeers is a store whose Peers fails while down, as a PostgreSQL
// store's does while its server restarts, counting the calls.
type downPeers struct {
	store.Store
	down  atomic.Bool
	calls atomic.Int64
}

func (d *downPeers) Peers(ctx context.Context) ([]store.Peer, error) {
	d.calls.Add(1)
	if d.down.Load() {
		return nil, fmt.Errorf("couldn't list peers: %w: failed to connect: dial tcp 127.0.0.1:5432: connect: connection refused", store.ErrUnavailable)
	}
	return d.Store.Peers(ctx)
}

// TestFollowPeersLogsAStoreOutageOnce: while the store is down, every
// round fails to list the peers; the node said so every PeerInterval (69
// lines in a few PostgreSQL restarts at 1 s, 720 an hour at the default
// 5 s). It says so once, and when it works again.
func TestFollowPeersLogsAStoreOutageOnce(t *testing.T) {
	tn, _ := initNode(t, Options{}) // not serving: its store is swapped
	ds := &downPeers{Store: tn.store}
	ds.down.Store(true)
	tn.store = ds
	tn.cfg.PeerInterval = Duration(time.Millisecond)
	var logged lockedBuffer
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tn.followPeers(rctx, slog.New(slog.NewTextHandler(&logged, nil))) }()
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				cancel()
				<-done
				t.Fatalf("waited 30 s for %s; logged:\n%s", what, logged.String())
			}
			time.Sleep(time.Millisecond)
		}
	}
	wait("20 rounds", func() bool { return ds.calls.Load() >= 20 })
	ds.down.Store(false)
	wait("the end of the outage logged", func() bool { return strings.Contains(logged.String(), "works again") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logged.String(), `msg="couldn't list peers"`); n != 1 {
		t.Fatalf("%d rounds with the store down logged %d failures, want 1:\n%s", ds.calls.Load(), n, logged.String())
	}
}

// signalWriter is a log destination that closes seen once a line
// holding want is written.
type signalWriter struct {
	lockedBuffer
	want string
	once sync.Once
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	n, err := w.lockedBuffer.Write(p)
	if strings.Contains(string(p), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

// TestPeerRoundOnUnknownCAHints: a peer whose certificate comes from a
// private CA, added without --ca, fails every round on Go's x509 error;
// the log line says what to do about it.
func TestPeerRoundOnUnknownCAHints(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	_, vkey, err := note.GenerateKey(rand.Reader, "peer.example/log")
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "peer.token")
	if err := os.WriteFile(tokenFile, []byte("peer-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.AddPeer(ctx, PeerSpec{Name: "private-ca", URL: srv.URL, TokenFile: tokenFile, LogKey: vkey, Remote: "c1", Into: "from the peer", Readers: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	tn.cfg.PeerInterval = Duration(10 * time.Millisecond)
	logged := &signalWriter{want: "peer round failed", seen: make(chan struct{})}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tn.followPeers(rctx, slog.New(slog.NewTextHandler(logged, nil))) }()
	select {
	case <-logged.seen:
	case <-time.After(30 * time.Second):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logged.String()
	if !strings.Contains(out, "certificate signed by unknown authority") || !strings.Contains(out, "add it again with parley peer add --ca FILE") {
		t.Errorf("a round refused on the peer's certificate logged no hint:\n%s", out)
	}
}

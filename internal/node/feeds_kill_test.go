package node

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
)

// TestFeedBackoffKill9: a node in a child process polls a feed whose
// server fails, and is killed with SIGKILL in the middle of a round. The
// failed rounds before it are in the store (they were kept in memory,
// lost with the process), the killed round is left marked as running,
// and the restarted node goes on counting from them, the killed round
// counted as failed too (feed.Interrupted).
func TestFeedBackoffKill9(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("inside the child")
	}
	var (
		mu       sync.Mutex
		requests int
	)
	held := make(chan int, 10) // the number of each request held open
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		k := requests
		mu.Unlock()
		if k == 3 || k == 5 {
			held <- k
			<-release // mid-round until the node is killed
			return
		}
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	defer close(release) // before srv.Close, which waits for the handlers

	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Init(ctx, dir, Config{FeedCheckInterval: Duration(10 * time.Millisecond), RoundLeaseTTL: Duration(time.Second)}, nil); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddFeed(ctx, FeedSpec{Name: "f", URL: srv.URL, Collection: "c", Into: "f", Interval: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	n.Close()
	stored := func() feed.Feed {
		t.Helper()
		n, err := Open(ctx, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		fs, err := n.FeedStore().Feeds(ctx)
		if err != nil || len(fs) != 1 {
			t.Fatalf("Feeds = %+v, %v", fs, err)
		}
		return fs[0]
	}
	killAt := func(round, want int) {
		t.Helper()
		cmd, _ := startChildNode(t, dir, round, nil)
		defer cmd.Wait()
		defer cmd.Process.Kill() // SIGKILL
		select {
		case k := <-held:
			if k != want {
				t.Fatalf("request %d held, want %d", k, want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("round %d: the node never made request %d", round, want)
		}
	}

	killAt(0, 3)
	f := stored()
	if f.Failures != 2 || f.LastError == "" || f.RoundStarted.IsZero() || f.RoundFrom != 0 {
		t.Fatalf("after a SIGKILL in the third round: %+v; want 2 failed rounds and the third still marked", f.FeedPosition)
	}
	first := f.RoundStarted

	killAt(1, 5)
	f = stored()
	if f.Failures != 4 || f.RoundStarted.IsZero() || f.RoundStarted.Equal(first) {
		t.Fatalf("after the restart and another SIGKILL: %+v; want 4 failed rounds (2 from before the kill, the killed round, the fourth) and the fifth round marked", f.FeedPosition)
	}
}

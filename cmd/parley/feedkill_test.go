package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/taxii"
)

// heldFeed is a TAXII server whose collection "c" serves one page of two
// indicators with a next cursor, then holds each later request open
// (mid-round) until the client goes away or the test ends.
type heldFeed struct {
	mu       sync.Mutex
	requests []string // the query of each request
	held     chan int // the number of each request held
	done     chan struct{}
}

func newHeldFeed(t *testing.T) (*heldFeed, string) {
	h := &heldFeed{held: make(chan int, 16), done: make(chan struct{})}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(h.done) }) // before srv.Close, which waits for the handlers
	return h, srv.URL
}

func (h *heldFeed) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests)
}

func (h *heldFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests = append(h.requests, r.URL.RawQuery)
	k := len(h.requests)
	h.mu.Unlock()
	if r.URL.Query().Get("next") != "" || k > 1 {
		h.held <- k
		select {
		case <-r.Context().Done():
		case <-h.done:
		}
		return
	}
	env := taxii.Envelope{More: true, Next: "page-2"}
	for i := range 2 {
		env.Objects = append(env.Objects, json.RawMessage(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%08d-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, i, i+1)))
	}
	w.Header().Set(taxii.HeaderDateAddedFirst, "2026-01-01T00:00:00.001Z")
	w.Header().Set(taxii.HeaderDateAddedLast, "2026-01-01T00:00:00.002Z")
	w.Header().Set("Content-Type", taxii.MediaType)
	json.NewEncoder(w).Encode(env)
}

// waitHeld waits for the server to hold a request of a round.
func (h *heldFeed) waitHeld(t *testing.T) int {
	t.Helper()
	select {
	case k := <-h.held:
		return k
	case <-time.After(time.Minute):
		t.Fatal("the node never held a round on the feed's server")
		return 0
	}
}

// parleyCLI runs parley with args in dir and returns its standard output.
func parleyCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("parley", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parley %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// startServe starts parley serve --data node in dir and waits for its URL.
func startServe(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	urlFile := filepath.Join(dir, "url")
	os.Remove(urlFile)
	cmd := exec.Command("parley", "serve", "--data", "node", "--listen", "127.0.0.1:0", "--url-file", urlFile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(urlFile); len(bytes.TrimSpace(b)) > 0 {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatal("parley serve did not start within 30 s")
		}
	}
}

// feedStatusOf runs parley feed status and returns the feed "f" of it.
func feedStatusOf(t *testing.T, dir string) feedStatus {
	t.Helper()
	var ss struct{ Feeds []feedStatus }
	if err := json.Unmarshal([]byte(parleyCLI(t, dir, "feed", "status", "--data", "node")), &ss); err != nil || len(ss.Feeds) != 1 {
		t.Fatalf("feed status: %+v, %v", ss, err)
	}
	return ss.Feeds[0]
}

// newFeedNode makes a node in dir following the feed "f" of url every
// hour, its poller looking every 50 ms.
func newFeedNode(t *testing.T, dir, url string) {
	t.Helper()
	parleyCLI(t, dir, "init", "--data", "node")
	if err := editConfig(filepath.Join(dir, "node"), func(cfg map[string]any) {
		cfg["feed_check_interval"] = "50ms"
		cfg["round_lease_ttl"] = "1s" // a killed round's lease expires a second after its last renewal
	}); err != nil {
		t.Fatal(err)
	}
	parleyCLI(t, dir, "feed", "add", "--data", "node", "--name", "f", "--url", url, "--collection", "c", "--into", "relayed", "--every", "1h")
}

// TestFeedRoundKill9Interrupted: parley serve, SIGKILLed in the middle of
// a feed's round (its second page held by the server), left the round
// marked running and, restarted, ran the next round at once, as if
// nothing had happened: failed_rounds 0, no error, no backoff, so that a
// feed whose data kills the node was retried at full rate for ever. The
// restarted node counts the killed round as a failed round, says so, and
// backs the feed off (its next round an interval later); the position
// (the next cursor of the page stored) is kept.
func TestFeedRoundKill9Interrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs parley serve three times")
	}
	h, url := newHeldFeed(t)
	dir := t.TempDir()
	newFeedNode(t, dir, url)

	serve := startServe(t, dir)
	h.waitHeld(t)
	if s := feedStatusOf(t, dir); s.Round != "running" || s.Pages != 1 || s.Next != "page-2" || s.FailedRounds != 0 {
		t.Fatalf("mid-round: %+v", s)
	}
	serve.Process.Signal(syscall.SIGKILL)
	serve.Wait()
	if s := feedStatusOf(t, dir); s.Round != "running" || s.FailedRounds != 0 || s.Interrupted {
		t.Fatalf("after the SIGKILL, before the restart: %+v", s)
	}

	// Its lease names the killed process; once it has expired, feed
	// status says the round is stalled, and why.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s := feedStatusOf(t, dir)
		if s.RoundOwner == "" || s.RoundExpires == nil || s.Round != "running" {
			t.Fatalf("the killed round's lease: %+v", s)
		}
		if strings.Contains(s.Stalled, "lease expired") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed round's lease never expired: %+v", s)
		}
	}

	before := time.Now()
	serve = startServe(t, dir)
	var s feedStatus
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s = feedStatusOf(t, dir); s.FailedRounds > 0 || s.Round == "running" && s.RoundStarted != nil && *s.RoundStarted > before.UTC().Format(time.RFC3339Nano) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted node never counted the killed round: %+v", s)
		}
	}
	if s.FailedRounds != 1 || !s.Interrupted || !strings.HasPrefix(s.LastError, feed.InterruptedPrefix) || s.Round != "idle" || s.NextRound == nil {
		t.Fatalf("after the restart: %+v; want the killed round counted as failed, interrupted, and a next round", s)
	}
	last, err := time.Parse(time.RFC3339Nano, *s.LastPoll)
	if err != nil {
		t.Fatal(err)
	}
	if next, err := time.Parse(time.RFC3339Nano, *s.NextRound); err != nil || !next.Equal(last.Add(time.Hour)) {
		t.Fatalf("next_round %s, last_poll %s: want the feed backed off by its interval (1h)", *s.NextRound, *s.LastPoll)
	}
	if s.Next != "page-2" || s.Pages != 1 || s.Added != 2 {
		t.Fatalf("the position moved: %+v", s)
	}
	// Backed off: the restarted node doesn't ask the server again.
	if n := h.count(); n != 2 {
		t.Fatalf("the server got %d requests, want 2 (the killed round's)", n)
	}
	t.Logf("last_error: %s", s.LastError)
}

// TestFeedRoundGracefulStop: parley serve stopped with SIGTERM in the
// middle of a feed's round ends the round without counting it as failed:
// no error, failed_rounds 0, the round's mark cleared; the restarted node
// counts nothing and goes on at once from the position kept.
func TestFeedRoundGracefulStop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs parley serve twice")
	}
	h, url := newHeldFeed(t)
	dir := t.TempDir()
	newFeedNode(t, dir, url)

	serve := startServe(t, dir)
	h.waitHeld(t)
	serve.Process.Signal(syscall.SIGTERM)
	if err := serve.Wait(); err != nil {
		t.Fatalf("parley serve after SIGTERM: %v", err)
	}
	if s := feedStatusOf(t, dir); s.Round != "idle" || s.FailedRounds != 0 || s.LastError != "" || s.Interrupted || s.Next != "page-2" {
		t.Fatalf("after a graceful stop mid-round: %+v; want the round ended, not failed", s)
	}
	startServe(t, dir)
	if k := h.waitHeld(t); k != 3 {
		t.Fatalf("the restarted node's first request is request %d, want 3", k)
	}
	if s := feedStatusOf(t, dir); s.Round != "running" || s.FailedRounds != 0 || s.LastError != "" || s.Interrupted {
		t.Fatalf("after the restart: %+v; want the next round running at once, nothing failed", s)
	}
}

package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestMatchFleetPoisonBehindRestartingFront: a node behind a front end
// that answers 503 to the first posts (the node starting) and, after the
// node goes down on a poison object (500), to the next post too (the
// node restarting) has the poison set apart once it works, the rest
// stored, and every message acknowledged once, none redelivered. The
// 503s are waited out within the try, which goes on where it was; before,
// each 503 was laid on the envelope as a failure and split it.
func TestMatchFleetPoisonBehindRestartingFront(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and a node")
	}
	f := newRefusingFleet(t)
	const poison = "198.51.100.66"
	target, _ := neturl.Parse(f.base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	starting, restarting, busy, crashes := 2, 0, 0, 0
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/objects/") {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			code := 0
			switch {
			case starting > 0:
				starting--
				code = http.StatusServiceUnavailable
			case restarting > 0:
				restarting--
				code = http.StatusServiceUnavailable
			case bytes.Contains(body, []byte(poison)):
				crashes++
				if crashes <= 2 {
					restarting = 1
				}
				code = http.StatusInternalServerError
			}
			if code == http.StatusServiceUnavailable {
				busy++
			}
			mu.Unlock()
			if code != 0 {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(code)
				io.WriteString(w, "<html>the node is starting</html>")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	_, errb, stop := f.member(front.URL, "--dead-letter", dead)
	defer stop()
	f.publishAnswers(t, "C1", "203.0.113.1")
	f.publishAnswers(t, "P2", poison)
	f.publishAnswers(t, "C3", "203.0.113.3")
	f.waitFor(t, "every message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 3 && p == 0 }, errb)
	if code := stop(); code != 0 {
		t.Fatalf("the member exited %d, want 0:\n%s", code, errb)
	}
	mu.Lock()
	if busy < 3 || crashes == 0 {
		t.Errorf("the front answered 503 %d times and the node went down %d times; want 3 and more, and some", busy, crashes)
	}
	mu.Unlock()
	c, err := f.js.Consumer(f.ctx, "EVENTS", "fleet")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := c.Info(f.ctx); err != nil || info.NumRedelivered != 0 || info.Delivered.Stream != 3 {
		t.Errorf("consumer: %+v %v; want 3 messages delivered once each", info, err)
	}
	stderr := errb.String()
	if !strings.Contains(stderr, "can't take the sightings now") || !strings.Contains(stderr, "failed on it alone") {
		t.Errorf("the waits and the poison are not reported on stderr:\n%s", stderr)
	}
	b, err := os.ReadFile(dead)
	if err != nil || !strings.Contains(string(b), poison) {
		t.Errorf("--dead-letter does not hold the poison object (%v):\n%s", err, b)
	}
	pulled := f.stored(t)
	if strings.Contains(pulled, poison) {
		t.Errorf("the node stored the poison object")
	}
	for _, ok := range []string{"203.0.113.1", "203.0.113.3"} {
		if !strings.Contains(pulled, ok) {
			t.Errorf("the node does not hold %s's observable", ok)
		}
	}
	if seqs := seqCounts(t, pulled); seqs[1] != 1 || seqs[2] != 1 || seqs[3] != 1 {
		t.Errorf("the stored sightings count stream sequences %v, want 1, 2 and 3 once each", seqs)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// TestMatchFleetBehindRateLimiter: a node behind a rate limiter that
// passes one post of objects a second and answers the others 503 (nginx's
// limit_req without a burst) is healthy: the member stores every sighting
// and observable, sets none apart, acknowledges every message once, and
// the stored sightings count each stream sequence exactly once. Before,
// the probe took the one post of each wait and the envelope right after
// it was refused: counted as the envelope's failure, split, and every
// object judged and set apart (dead-lettered, never stored).
func TestMatchFleetBehindRateLimiter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and a node")
	}
	f := newRefusingFleet(t)
	target, _ := neturl.Parse(f.base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var last time.Time
	passed, limited := 0, 0
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/objects/") {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			now := time.Now()
			pass := now.Sub(last) >= time.Second
			if pass {
				last, passed = now, passed+1
			} else {
				limited++
			}
			mu.Unlock()
			if !pass {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "<html>503 Service Temporarily Unavailable</html>")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	before := manifestVersions(t, f)
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	_, errb, stop := f.member(front.URL, "--dead-letter", dead)
	defer stop()
	const n = 6
	for i := range n {
		f.publishAnswers(t, fmt.Sprintf("R%d", i), fmt.Sprintf("203.0.113.%d", 10+i))
		// Several flushes, several pushes: each after the first finds
		// the limiter's post of the second taken.
		f.waitFor(t, "the message to be acknowledged", func() bool { floor, p := f.acked(); return floor == uint64(i+1) && p == 0 }, errb)
	}
	if code := stop(); code != 0 {
		t.Fatalf("the member exited %d, want 0:\n%s", code, errb)
	}
	mu.Lock()
	t.Logf("the limiter passed %d posts and refused %d", passed, limited)
	mu.Unlock()
	checkStoredOnce(t, f, n, dead, before)
}

// checkStoredOnce checks a fleet's member that was sent n messages, one
// event each, of answers 203.0.113.10 and on, through a node that works:
// nothing set apart, every message delivered and acknowledged once, each
// observable stored, each object stored in one version (a probe posted
// again is "already stored", not a new version), and each stream sequence
// counted by exactly one stored sighting. before is manifestVersions
// before the member started: objects held then keep their versions.
func checkStoredOnce(t *testing.T, f *refusingFleet, n int, dead string, before map[string]int) {
	t.Helper()
	if b, err := os.ReadFile(dead); err == nil && len(b) > 0 {
		t.Errorf("--dead-letter holds objects of a healthy node:\n%.2000s", b)
	}
	c, err := f.js.Consumer(f.ctx, "EVENTS", "fleet")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := c.Info(f.ctx); err != nil || info.NumRedelivered != 0 || info.Delivered.Stream != uint64(n) {
		t.Errorf("consumer: %+v %v; want %d messages delivered once each", info, err, n)
	}
	pulled := f.stored(t)
	for i := range n {
		if a := fmt.Sprintf("203.0.113.%d", 10+i); !strings.Contains(pulled, `"`+a+`"`) {
			t.Errorf("the node does not hold %s's observable", a)
		}
	}
	counted := seqCounts(t, pulled)
	for q := uint64(1); q <= uint64(n); q++ {
		if counted[q] != 1 {
			t.Errorf("stream sequence %d counted by %d stored sightings, want 1 (all: %v)", q, counted[q], counted)
		}
	}
	after := manifestVersions(t, f)
	for id, v := range after {
		if v != max(1, before[id]) {
			t.Errorf("the node holds %d versions of %s, want %d", v, id, max(1, before[id]))
		}
	}
}

// manifestVersions counts the versions the node holds of each object of
// the fleet's collection.
func manifestVersions(t *testing.T, f *refusingFleet) map[string]int {
	t.Helper()
	client := &taxii.Client{BaseURL: f.base, Token: f.token}
	versions := map[string]int{}
	q := taxii.Query{Versions: taxii.VersionMatch{All: true}}
	for {
		m, err := client.Manifest(f.ctx, f.coll, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range m.Objects {
			versions[r.ID]++
		}
		if !m.More || m.Next == "" {
			return versions
		}
		q.Next = m.Next
	}
}

// TestMatchFleetBehindAlternatingFront: a node behind a front end that
// answers every other post of objects 503 (a load balancer over a busy
// backend and a working one) is healthy: every object is stored once,
// none set apart, every message acknowledged once, and the probes, posted
// again at every wait, make no new version at the node (the same signed
// bytes: "already stored").
func TestMatchFleetBehindAlternatingFront(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and a node")
	}
	f := newRefusingFleet(t)
	target, _ := neturl.Parse(f.base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	posts := 0
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/objects/") {
			mu.Lock()
			posts++
			busy := posts%2 == 1
			mu.Unlock()
			if busy {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "<html>no backend available</html>")
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	before := manifestVersions(t, f)
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	_, errb, stop := f.member(front.URL, "--dead-letter", dead)
	defer stop()
	const n = 4
	for i := range n {
		f.publishAnswers(t, fmt.Sprintf("A%d", i), fmt.Sprintf("203.0.113.%d", 10+i))
		f.waitFor(t, "the message to be acknowledged", func() bool { floor, p := f.acked(); return floor == uint64(i+1) && p == 0 }, errb)
	}
	if code := stop(); code != 0 {
		t.Fatalf("the member exited %d, want 0:\n%s", code, errb)
	}
	mu.Lock()
	t.Logf("%d posts", posts)
	mu.Unlock()
	checkStoredOnce(t, f, n, dead, before)
}

// seqCounts returns how many of the pulled sightings count each stream
// sequence.
func seqCounts(t *testing.T, pulled string) map[uint64]int {
	t.Helper()
	objs, err := stix.ParseObjects([]byte(pulled))
	if err != nil {
		t.Fatalf("couldn't read the pulled bundle: %v", err)
	}
	counted := map[uint64]int{}
	for _, o := range objs {
		if o.Type != "sighting" {
			continue
		}
		var s struct {
			Seqs [][2]uint64 `json:"x_parley_stream_sequences"`
		}
		json.Unmarshal(o.Raw, &s)
		for _, r := range s.Seqs {
			for q := r[0]; q <= r[1]; q++ {
				counted[q]++
			}
		}
	}
	return counted
}

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// failingFront stands before the fleet's node: it passes every request
// on, but answers 500 to a post of objects while down (the node's store
// broken, say), and to one holding poison (a node that fails on that
// object: a bug an attacker who writes one sensor's events found).
type failingFront struct {
	url    string
	down   atomic.Bool
	failed atomic.Int32 // the posts answered 500
	// flap, when set before the first post, is asked at every post
	// whether to answer it 500 (a flapping node).
	flap func() bool
}

func newFailingFront(t *testing.T, node, poison string) *failingFront {
	t.Helper()
	target, _ := neturl.Parse(node)
	proxy := httputil.NewSingleHostReverseProxy(target)
	f := &failingFront{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/objects/") {
			body, _ := io.ReadAll(r.Body)
			if f.down.Load() || poison != "" && bytes.Contains(body, []byte(poison)) || f.flap != nil && f.flap() {
				f.failed.Add(1)
				w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `{"title":"Internal Server Error"}`)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// publishAnswers publishes a DNS event of evil.example (matching the
// fleet's indicator) whose answer is addr.
func (f *refusingFleet) publishAnswers(t *testing.T, uid, addr string) {
	t.Helper()
	ev, _ := json.Marshal(map[string]any{"ts": 1591367999.0, "uid": uid, "id.orig_h": "192.168.4.76", "id.orig_p": 36844,
		"id.resp_h": "192.168.4.1", "id.resp_p": 53, "proto": "udp", "query": "evil.example", "answers": []string{addr}})
	if _, err := f.js.Publish(f.ctx, "sensor.zeek.dns", ev); err != nil {
		t.Fatal(err)
	}
}

// acked returns the consumer's acknowledgement floor and how many of its
// messages are delivered and not acknowledged.
func (f *refusingFleet) acked() (floor uint64, pending int) {
	c, err := f.js.Consumer(f.ctx, "EVENTS", "fleet")
	if err != nil {
		return 0, -1
	}
	info, err := c.Info(f.ctx)
	if err != nil {
		return 0, -1
	}
	return info.AckFloor.Stream, info.NumAckPending
}

// TestMatchFleetPoison500: an event whose observable the node fails on
// (500 for any envelope holding it, while it stores everything else)
// does not stop the fleet, nor come back for ever: the object is set
// apart (--dead-letter, stderr, the summary), its message acknowledged,
// and the events after it matched and stored. Before, the member stopped
// on it (exit 4), and so did every member it was redelivered to.
func TestMatchFleetPoison500(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and a node")
	}
	f := newRefusingFleet(t)
	const poison = "198.51.100.66"
	front := newFailingFront(t, f.base, poison)
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	out, errb, stop := f.member(front.url, "--dead-letter", dead)
	defer stop()
	f.publishAnswers(t, "C1", "203.0.113.1")
	f.publishAnswers(t, "P2", poison)
	f.publishAnswers(t, "C3", "203.0.113.3")
	f.waitFor(t, "every message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 3 && p == 0 }, errb)
	f.publishAnswers(t, "C4", "203.0.113.4")
	f.waitFor(t, "the later message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 4 && p == 0 }, errb)
	if code := stop(); code != 0 {
		t.Fatalf("the member exited %d, want 0:\n%s", code, errb)
	}
	if front.failed.Load() == 0 {
		t.Fatalf("the node never failed on the poison object:\n%s", errb)
	}
	stderr := errb.String()
	if !strings.Contains(stderr, "failed on it alone") || !strings.Contains(stderr, "objects refused by the node (printed, not stored)") {
		t.Errorf("the poison object is not reported and counted on stderr:\n%s", stderr)
	}
	b, err := os.ReadFile(dead)
	if err != nil || !strings.Contains(string(b), poison) {
		t.Errorf("--dead-letter does not hold the poison object (%v):\n%s", err, b)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.Contains(line, poison) && !strings.Contains(line, "observed-data") && !strings.Contains(line, "sighting") {
			t.Errorf("--dead-letter holds an object the node did not fail on: %s", line)
		}
	}
	if !strings.Contains(out.String(), poison) {
		t.Errorf("the poison object is not on stdout")
	}
	pulled := f.stored(t)
	if strings.Contains(pulled, poison) {
		t.Errorf("the node stored the poison object")
	}
	for _, ok := range []string{"203.0.113.1", "203.0.113.3", "203.0.113.4"} {
		if !strings.Contains(pulled, ok) {
			t.Errorf("the node does not hold %s's observable", ok)
		}
	}
	if seqs := countedSeqs(t, pulled); !seqs[4] {
		t.Errorf("no stored sighting counts the message after the poison (stored: %v)", seqs)
	}
}

// TestMatchFleetNodeDown500: a node that fails on everything (500) in the
// middle of the stream has nothing set apart, acknowledged or lost: the
// member waits, holding the messages; once the node works again, every
// message's sighting is stored and --dead-letter stays empty.
func TestMatchFleetNodeDown500(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and a node")
	}
	f := newRefusingFleet(t)
	front := newFailingFront(t, f.base, "")
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	_, errb, stop := f.member(front.url, "--dead-letter", dead)
	defer stop()
	f.publishAnswers(t, "C1", "203.0.113.1")
	f.waitFor(t, "the first message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 1 && p == 0 }, errb)
	front.down.Store(true)
	f.publishAnswers(t, "C2", "203.0.113.2")
	f.publishAnswers(t, "C3", "203.0.113.3")
	f.waitFor(t, "the member to wait for the node", func() bool {
		return front.failed.Load() >= 3 && strings.Contains(errb.String(), "can't take the sightings now")
	}, errb)
	if floor, p := f.acked(); floor != 1 || p != 2 {
		t.Fatalf("while the node fails, acknowledged up to %d with %d held; want 1 and 2 held", floor, p)
	}
	front.down.Store(false)
	f.waitFor(t, "every message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 3 && p == 0 }, errb)
	if code := stop(); code != 0 {
		t.Fatalf("the member exited %d, want 0:\n%s", code, errb)
	}
	if strings.Contains(errb.String(), "refused") {
		t.Errorf("a node failing on everything was taken for a refusal:\n%s", errb)
	}
	if b, err := os.ReadFile(dead); err != nil || len(b) != 0 {
		t.Errorf("--dead-letter holds %q (%v), want nothing", b, err)
	}
	seqs := countedSeqs(t, f.stored(t))
	for s := uint64(1); s <= 3; s++ {
		if !seqs[s] {
			t.Errorf("no stored sighting counts stream sequence %d (stored: %v)", s, seqs)
		}
	}
}

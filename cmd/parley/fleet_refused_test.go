package main

import (
	"bytes"
	"context"
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
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-exchange/parley/stix"
)

// refusingFleet is a node whose max_object_size (4 KiB) refuses the
// observed-data of a DNS answer of 150 addresses (8 KB) and takes
// everything else a fleet member pushes, its indicator, and a stream.
type refusingFleet struct {
	url, base, coll, token, keyFile, ind string
	js                                   jetstream.JetStream
	ctx                                  context.Context
}

func newRefusingFleet(t *testing.T) *refusingFleet {
	t.Helper()
	return newRefusingFleetOn(t, startNATS(t))
}

// newRefusingFleetOn is newRefusingFleet on the nats-server at url.
func newRefusingFleetOn(t *testing.T, url string) *refusingFleet {
	t.Helper()
	dir, st := demoData(t)
	if err := editConfig(dir, func(cfg map[string]any) { cfg["max_object_size"] = 4096 }); err != nil {
		t.Fatal(err)
	}
	base := serveData(t, dir)
	m := st.Members[0]
	const ind = "indicator--0c0c0c0c-0000-4000-8000-00000000000c"
	f := filepath.Join(t.TempDir(), "ind.json")
	os.WriteFile(f, []byte(`{"type":"indicator","spec_version":"2.1","id":"`+ind+`","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+m.ID+`","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}`), 0o644)
	if code, _, stderr := runCLI(t, "push", "--url", base, "--token", m.Token, "--key", m.KeyFile, "--collection", st.Collections.Shared, f); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"sensor.>"}}); err != nil {
		t.Fatal(err)
	}
	return &refusingFleet{url: url, base: base, coll: st.Collections.Shared, token: m.Token, keyFile: m.KeyFile, ind: ind, js: js, ctx: ctx}
}

// publish publishes DNS events of evil.example (matching the indicator),
// the one of uid "poison" with 150 answers, whose observed-data the node
// refuses.
func (f *refusingFleet) publish(t *testing.T, uids ...string) {
	t.Helper()
	for i, uid := range uids {
		answers := []string{"203.0.113.66"}
		if uid == "poison" {
			answers = answers[:0]
			for a := range 150 {
				answers = append(answers, fmt.Sprintf("10.0.%d.%d", a/200, a%200))
			}
		}
		ev, _ := json.Marshal(map[string]any{"ts": 1591367999.0 + float64(i), "uid": uid, "id.orig_h": "192.168.4.76", "id.orig_p": 36844,
			"id.resp_h": "192.168.4.1", "id.resp_p": 53, "proto": "udp", "query": "evil.example", "answers": answers})
		if _, err := f.js.Publish(f.ctx, "sensor.zeek.dns", ev); err != nil {
			t.Fatal(err)
		}
	}
}

// member starts a fleet member pushing to node (the node's URL or a
// front of it); its exit status comes on the channel once stop is called.
func (f *refusingFleet) member(node string, extra ...string) (out, errb *lockedBuffer, stop func() int) {
	out, errb = &lockedBuffer{}, &lockedBuffer{}
	c := &cli{stdin: bytes.NewReader(nil), stdout: out, stderr: errb, getenv: func(string) string { return "" }}
	rctx, cancel := context.WithCancel(f.ctx)
	done := make(chan int, 1)
	args := append([]string{"match", "--nats", f.url, "--stream", "EVENTS", "--consumer", "fleet",
		"--url", node, "--token", f.token, "--collection", f.coll, "--push", "--key", f.keyFile, "--observed-data",
		"--flush", "100ms", "--ack-wait", "1s"}, extra...)
	go func() { done <- c.main(rctx, args) }()
	var code atomic.Int32
	code.Store(-1)
	return out, errb, func() int {
		cancel()
		if c := code.Load(); c >= 0 {
			return int(c)
		}
		c := <-done
		code.Store(int32(c))
		return c
	}
}

// stored returns the pulled collection.
func (f *refusingFleet) stored(t *testing.T) string {
	t.Helper()
	code, pulled, stderr := runCLI(t, "pull", "--url", f.base, "--token", f.token, "--collection", f.coll)
	if code != 0 {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	return pulled
}

func (f *refusingFleet) waitFor(t *testing.T, what string, cond func() bool, logs ...*lockedBuffer) {
	t.Helper()
	for !cond() {
		if f.ctx.Err() != nil {
			var b strings.Builder
			for _, l := range logs {
				b.WriteString(l.String() + "\n---\n")
			}
			t.Fatalf("timed out waiting for %s:\n%s", what, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// drained reports whether the consumer has delivered every message and
// holds none unacknowledged.
func (f *refusingFleet) drained() bool {
	c, err := f.js.Consumer(f.ctx, "EVENTS", "fleet")
	if err != nil {
		return false
	}
	info, err := c.Info(f.ctx)
	return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream > 0
}

// TestMatchFleetRefusedObject: a message whose observed-data the node
// refuses for what it is (over its max_object_size: it would refuse it at
// every redelivery) does not stop the fleet. Before, each member stopped
// on it (exit 4) and the consumer redelivered it to the next, for ever.
// Now the refused object is printed, written to --dead-letter, named on
// stderr and counted in the summary, its message acknowledged, and the
// messages after it are matched and their sightings stored.
func TestMatchFleetRefusedObject(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and a node")
	}
	f := newRefusingFleet(t)
	deadA, deadB := filepath.Join(t.TempDir(), "a.jsonl"), filepath.Join(t.TempDir(), "b.jsonl")
	outA, errA, stopA := f.member(f.base, "--dead-letter", deadA)
	outB, errB, stopB := f.member(f.base, "--dead-letter", deadB)
	defer stopA()
	defer stopB()
	f.publish(t, "poison", "C2", "C3")
	f.waitFor(t, "every message to be acknowledged", f.drained, errA, errB)
	// The messages after it are matched, and their sightings stored.
	f.publish(t, "C4", "C5")
	f.waitFor(t, "the later messages to be acknowledged", func() bool {
		c, err := f.js.Consumer(f.ctx, "EVENTS", "fleet")
		if err != nil {
			return false
		}
		info, err := c.Info(f.ctx)
		return err == nil && info.AckFloor.Stream == 5
	}, errA, errB)
	codeA, codeB := stopA(), stopB()
	if codeA != 0 || codeB != 0 {
		t.Fatalf("members exited %d and %d, want both 0:\n%s\n---\n%s", codeA, codeB, errA, errB)
	}
	stderr := errA.String() + errB.String()
	if !strings.Contains(stderr, "the node refused 1 of") || !strings.Contains(stderr, "max_object_size") {
		t.Errorf("the refusal is not reported on stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, "1 objects refused by the node (printed, not stored)") {
		t.Errorf("the summary does not count the refused object:\n%s", stderr)
	}
	// The refused observed-data (the one over 4 KiB) is on stdout (and in the dead-letter file
	// when member A had it), and not in the node.
	var odID string
	for _, line := range strings.Split(outA.String()+outB.String(), "\n") {
		if strings.Contains(line, `"type":"observed-data"`) && len(line) > 4096 {
			odID = line[strings.Index(line, `"id":"`)+6:]
			odID = odID[:strings.IndexByte(odID, '"')]
		}
	}
	if odID == "" {
		t.Fatalf("the refused observed-data is not on stdout:\n%s\n---\n%s", outA, outB)
	}
	dead := deadB
	if strings.Contains(errA.String(), "refused 1 of") {
		dead = deadA
	}
	if b, err := os.ReadFile(dead); err != nil || !strings.Contains(string(b), odID) {
		t.Errorf("--dead-letter of the member that got it does not hold the refused %s (%v):\n%s", odID, err, b)
	}
	pulled := f.stored(t)
	objs, err := stix.ParseObjects([]byte(pulled))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.ID == odID {
			t.Errorf("the node stored %s, which it should refuse", odID)
		}
	}
	// Every message's count is in a stored sighting.
	seqs := countedSeqs(t, pulled)
	for s := uint64(1); s <= 5; s++ {
		if !seqs[s] {
			t.Errorf("no stored sighting counts stream sequence %d (stored: %v)", s, seqs)
		}
	}
}

// countedSeqs returns the stream sequences that the sightings of a pulled
// collection count ([seqCounts], whether or not more than once).
func countedSeqs(t *testing.T, pulled string) map[uint64]bool {
	t.Helper()
	seqs := map[uint64]bool{}
	for q := range seqCounts(t, pulled) {
		seqs[q] = true
	}
	return seqs
}

// TestMatchFleetTransientHolds: while the node can't take a push (503
// from its front end), the member holds the messages, unacknowledged and
// not lost; stopped, it leaves them to be redelivered, and a member that
// reaches the node gets them, its refused object set apart and the rest
// stored.
func TestMatchFleetTransientHolds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and a node")
	}
	f := newRefusingFleet(t)
	target, _ := neturl.Parse(f.base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var refusedPosts atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/objects/") {
			refusedPosts.Add(1)
			w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"title":"Service Unavailable","description":"the store is being taken over"}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	_, errA, stopA := f.member(front.URL)
	defer stopA()
	f.publish(t, "poison", "C2")
	f.waitFor(t, "member A to wait for the node", func() bool {
		return refusedPosts.Load() >= 2 && strings.Contains(errA.String(), "can't take the sightings now")
	}, errA)
	c, err := f.js.Consumer(f.ctx, "EVENTS", "fleet")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := c.Info(f.ctx); err != nil || info.NumAckPending != 2 || info.AckFloor.Stream != 0 {
		t.Fatalf("while the node is unavailable, the messages are not held: %+v %v", info, err)
	}
	if code := stopA(); code != 4 {
		t.Errorf("member A stopped while waiting for the node: exit %d, want 4:\n%s", code, errA)
	}
	if strings.Contains(errA.String(), "refused") {
		t.Errorf("a 503 was taken for a refusal:\n%s", errA)
	}
	_, errB, stopB := f.member(f.base)
	defer stopB()
	f.waitFor(t, "member B to acknowledge the redelivered messages", f.drained, errB)
	if code := stopB(); code != 0 {
		t.Fatalf("member B: exit %d:\n%s", code, errB)
	}
	if !strings.Contains(errB.String(), "1 objects refused by the node") {
		t.Errorf("member B does not count the refused object:\n%s", errB)
	}
	if seqs := countedSeqs(t, f.stored(t)); !seqs[1] || !seqs[2] {
		t.Errorf("the stored sightings count stream sequences %v, want 1 and 2", seqs)
	}
}

// TestMatchDeadLetterUsage: --dead-letter goes with --nats and --push; a
// FILE that can't be opened is an error before anything is read.
func TestMatchDeadLetterUsage(t *testing.T) {
	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	os.WriteFile(ind, []byte(`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56e","objects":[]}`), 0o644)
	code, _, stderr := runCLI(t, "match", "--indicators", ind, "--dead-letter", filepath.Join(dir, "d.jsonl"), ind)
	if code != 2 || !strings.Contains(stderr, "--dead-letter goes with --nats and --push") {
		t.Errorf("--dead-letter over files: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "d.jsonl")); err == nil {
		t.Errorf("a refused --dead-letter was created")
	}
}

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
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestMatchFleetAllPoison500: a flush whose every object the node fails
// on (500, alone too: here a front that, once armed, passes only objects
// it passed before) stores nothing of the push that could be the probe.
// The member probes with the object the node took in its earlier push
// (answered "already stored"), and the rounds set the flush's objects
// apart: --dead-letter holds them, and the message is acknowledged. Before,
// the push was taken for a node that is down: the member waited for ever,
// holding the message.
func TestMatchFleetAllPoison500(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and a node")
	}
	f := newRefusingFleet(t)
	f.pushPoisonIndicator(t)
	front, armed, failed := newArmedFront(t, f.base)

	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	_, errb, stop := f.member(front.URL, "--dead-letter", dead)
	defer stop()
	f.publishAnswers(t, "C1", "203.0.113.1")
	f.waitFor(t, "the first message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 1 && p == 0 }, errb)
	armed.Store(true)
	f.publishPoison(t)
	f.waitFor(t, "the poison flush's message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 2 && p == 0 }, errb)
	armed.Store(false)
	f.publishAnswers(t, "C3", "203.0.113.3")
	f.waitFor(t, "the later message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 3 && p == 0 }, errb)
	if code := stop(); code != 0 {
		t.Fatalf("the member exited %d, want 0:\n%s", code, errb)
	}
	if failed.Load() == 0 {
		t.Fatalf("the node never failed on the flush:\n%s", errb)
	}
	if !strings.Contains(errb.String(), "in an earlier push") {
		t.Errorf("the objects are not reported set apart on the earlier push's probe:\n%s", errb)
	}
	b, _ := os.ReadFile(dead)
	for _, want := range []string{`"worse.example"`, `"198.51.100.66"`, `"observed-data"`, `"sighting"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("--dead-letter lacks %s:\n%s", want, b)
		}
	}
	if bytes.Contains(b, []byte("203.0.113")) {
		t.Errorf("--dead-letter holds objects the node took:\n%s", b)
	}
	pulled := f.stored(t)
	if strings.Contains(pulled, `"value": "worse.example"`) || strings.Contains(pulled, "198.51.100.66") || !strings.Contains(pulled, "203.0.113.3") {
		t.Errorf("the node holds the poison flush's objects, or not the later message's")
	}
}

// pushPoisonIndicator pushes, through the node itself, a second
// indicator of the collection's creator (worse.example), so that a
// poison flush (publishPoison) shares no observable with the first: one
// the node holds would be "already stored", and the probe of the push.
func (f *refusingFleet) pushPoisonIndicator(t *testing.T) {
	t.Helper()
	creator := regexp.MustCompile(`"created_by_ref": "([^"]+)"`).FindStringSubmatch(f.stored(t))
	if creator == nil {
		t.Fatal("no creator in the collection")
	}
	ind := filepath.Join(t.TempDir(), "ind2.json")
	os.WriteFile(ind, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--0d0d0d0d-0000-4000-8000-00000000000d","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+creator[1]+`","pattern":"[domain-name:value = 'worse.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}`), 0o644)
	if code, _, stderr := runCLI(t, "push", "--url", f.base, "--token", f.token, "--key", f.keyFile, "--collection", f.coll, ind); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
}

// publishPoison publishes a Zeek DNS event whose sightings match only the
// indicator of pushPoisonIndicator: a flush the armed front fails on
// whole.
func (f *refusingFleet) publishPoison(t *testing.T) {
	t.Helper()
	ev, _ := json.Marshal(map[string]any{"ts": 1591368000.0, "uid": "P2", "id.orig_h": "192.168.5.76", "id.orig_p": 36845,
		"id.resp_h": "192.168.5.1", "id.resp_p": 53, "proto": "udp", "query": "worse.example", "answers": []string{"198.51.100.66"}})
	if _, err := f.js.Publish(f.ctx, "sensor.zeek.dns", ev); err != nil {
		t.Fatal(err)
	}
}

// newArmedFront starts a front for the node at base that, once armed,
// fails (500) every envelope holding an object it did not pass before
// it was armed; failed counts those answers. It is closed at the test's
// end.
func newArmedFront(t *testing.T, base string) (front *httptest.Server, armed *atomic.Bool, failed *atomic.Int32) {
	target, _ := neturl.Parse(base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var (
		mu     sync.Mutex
		passed = map[string]bool{}
	)
	armed, failed = new(atomic.Bool), new(atomic.Int32)
	front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/objects/") {
			body, _ := io.ReadAll(r.Body)
			var env struct{ Objects []json.RawMessage }
			json.Unmarshal(body, &env)
			mu.Lock()
			ok := true
			for _, o := range env.Objects {
				if armed.Load() && !passed[string(o)] {
					ok = false
				}
			}
			if ok && !armed.Load() {
				for _, o := range env.Objects {
					passed[string(o)] = true
				}
			}
			mu.Unlock()
			if !ok {
				failed.Add(1)
				w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `{"title":"Internal Server Error"}`)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return front, armed, failed
}

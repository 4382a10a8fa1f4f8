package match

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

// held reports whether p keeps a probe.
func (p *Probe) held() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw != nil
}

// probedPush pushes objs with PushRetryingSeparatingProbed and probe to
// node's server, stopping at the third wait; it returns what the push
// returned and the waits.
func probedPush(t *testing.T, url string, key ed25519.PrivateKey, objs []map[string]any, probe *Probe) ([]Refused, error, int) {
	t.Helper()
	defer func(f, m time.Duration) { pushRetryFirst, pushRetryMax = f, m }(pushRetryFirst, pushRetryMax)
	pushRetryFirst, pushRetryMax = time.Millisecond, time.Millisecond
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	waits := 0
	refused, err := PushRetryingSeparatingProbed(context.Background(), stop, 0, &taxii.Client{BaseURL: url}, "c1", key, objs,
		func(error, time.Duration) {
			if waits++; waits == 3 {
				cancel()
			}
		}, probe)
	return refused, err, waits
}

// TestPushProbedAllPoison: a push of nothing but objects the node fails
// on (500 for each, alone too), by a member whose earlier push the node
// stored, has them set apart, judged by the rounds with the object the
// node took in the earlier push as the probe (answered "already stored",
// nothing new stored). Before, the node stored nothing of the push, it
// was taken for a node that is down, and the member waited for ever,
// holding its messages.
func TestPushProbedAllPoison(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}, poison: "poison"}
	srv := httptest.NewServer(node)
	defer srv.Close()
	probe := &Probe{}
	if refused, err, _ := probedPush(t, srv.URL, key, separatingObjects(3, nil), probe); err != nil || len(refused) != 0 || !probe.held() {
		t.Fatalf("a good push: refused %d, error %v, probe kept %t", len(refused), err, probe.held())
	}
	objs := separatingObjects(4, map[int]string{0: "x-poison-0", 1: "x-poison-1", 2: "x-poison-2", 3: "x-poison-3"})
	refused, err, waits := probedPush(t, srv.URL, key, objs, probe)
	if err != nil || waits != 0 || len(refused) != 4 {
		t.Fatalf("a push of poison objects only: refused %d after %d waits, error %v; want all 4 set apart, no wait", len(refused), waits, err)
	}
	for _, r := range refused {
		if !strings.Contains(r.Reason, "failed on it alone") {
			t.Errorf("%s set apart for %q, want the rounds' verdict", r.Object["id"], r.Reason)
		}
	}
	if len(node.stored) != 3 {
		t.Errorf("the node stores %d objects, want the first push's 3 (the probe posted again adds none)", len(node.stored))
	}
	if node.requests > 4*(2*convictRounds+2)+8 {
		t.Errorf("%d requests for 4 poison objects", node.requests)
	}
}

// TestPushProbedDown: a node that is down fails on the earlier push's
// probe too: a push of poison objects, or of good ones, has nothing set
// apart and is waited for.
func TestPushProbedDown(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}, poison: "poison"}
	srv := httptest.NewServer(node)
	defer srv.Close()
	probe := &Probe{}
	if _, err, _ := probedPush(t, srv.URL, key, separatingObjects(3, nil), probe); err != nil || !probe.held() {
		t.Fatalf("a good push: error %v, probe kept %t", err, probe.held())
	}
	node.mu.Lock()
	node.down = true
	node.mu.Unlock()
	for _, objs := range [][]map[string]any{
		separatingObjects(4, map[int]string{0: "x-poison-0", 1: "x-poison-1", 2: "x-poison-2", 3: "x-poison-3"}),
		separatingObjects(20, map[int]string{7: "x-poison-7"}),
	} {
		refused, err, waits := probedPush(t, srv.URL, key, objs, probe)
		if len(refused) != 0 || !serverFailure(err) || waits != 3 {
			t.Errorf("a node down: refused %d after %d waits, error %v; want nothing set apart, the 500 waited for", len(refused), waits, err)
		}
	}
	if !probe.held() {
		t.Errorf("the probe was dropped: the node failed on it, it did not refuse it")
	}
}

// TestPushProbedRefused: an earlier push's probe that the node now
// refuses (422: its rules changed, or it holds it no more and finds it
// bad) is dropped, and the push goes on as one without a probe: a push
// of poison objects only is waited for, nothing set apart. Before, the
// probe was kept, and every try of every later push with a poison ended
// on its refusal.
func TestPushProbedRefused(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}, poison: "poison"}
	var refuse atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if refuse.Load() && bytes.Contains(body, []byte("x-gone")) {
			w.Header().Set("Content-Type", taxii.MediaType)
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"title":"Unprocessable Content","description":"stricter rules"}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		node.ServeHTTP(w, r)
	}))
	defer srv.Close()
	probe := &Probe{}
	if _, err, _ := probedPush(t, srv.URL, key, separatingObjects(1, map[int]string{0: "x-gone"}), probe); err != nil || !probe.held() {
		t.Fatalf("a good push: error %v, probe kept %t", err, probe.held())
	}
	refuse.Store(true)
	refused, err, waits := probedPush(t, srv.URL, key, separatingObjects(2, map[int]string{0: "x-poison-0", 1: "x-poison-1"}), probe)
	if len(refused) != 0 || !errors.Is(err, ErrPush) || waits != 3 {
		t.Errorf("refused %d after %d waits, error %v; want nothing set apart, waited for", len(refused), waits, err)
	}
	if probe.held() {
		t.Errorf("the probe the node refused is kept")
	}
	if err != nil && strings.Contains(err.Error(), "refused one it had stored") {
		t.Errorf("the refused probe still ends the tries: %v", err)
	}
}

// TestPushProbedReadOnly: a node whose store takes no new writes but
// answers "already stored" for what it holds (a file system remounted
// read-only) fails on every new object and takes the earlier push's
// probe, as a node would with a push of poison objects only. The first
// such push has them set apart; after it, a push the node stores nothing
// new of is waited for, nothing set apart, until the node stores a new
// object of the member again or earlierProbeEvery has passed: a store
// that can't be written sends one push of a member's to --dead-letter
// every 10 minutes, not all of them.
func TestPushProbedReadOnly(t *testing.T) {
	defer func(f func() time.Time) { pushNow = f }(pushNow)
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	pushNow = func() time.Time { return now }
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}, poison: "poison"}
	srv := httptest.NewServer(node)
	defer srv.Close()
	probe := &Probe{}
	if _, err, _ := probedPush(t, srv.URL, key, separatingObjects(3, nil), probe); err != nil || !probe.held() {
		t.Fatalf("a good push: error %v, probe kept %t", err, probe.held())
	}
	node.mu.Lock()
	node.readOnly = true
	node.mu.Unlock()
	fresh := func(name string) []map[string]any {
		return separatingObjects(2, map[int]string{0: "x-" + name + "-0", 1: "x-" + name + "-1"})
	}
	now = now.Add(time.Second)
	refused, err, _ := probedPush(t, srv.URL, key, fresh("a"), probe)
	if err != nil || len(refused) != 2 || !strings.Contains(refused[0].Reason, "in an earlier push") {
		t.Fatalf("the first push the node stores nothing of: refused %d, error %v; want both set apart on the earlier probe", len(refused), err)
	}
	now = now.Add(earlierProbeEvery - time.Second)
	refused, err, waits := probedPush(t, srv.URL, key, fresh("b"), probe)
	if len(refused) != 0 || !serverFailure(err) || waits != 3 {
		t.Errorf("the next one, the node still storing nothing new: refused %d after %d waits, error %v; want it waited for, nothing set apart", len(refused), waits, err)
	}
	now = now.Add(time.Second)
	if refused, err, _ := probedPush(t, srv.URL, key, fresh("c"), probe); err != nil || len(refused) != 2 {
		t.Errorf("%v later: refused %d, error %v; want both set apart", earlierProbeEvery, len(refused), err)
	}
	node.mu.Lock()
	node.readOnly = false
	node.mu.Unlock()
	now = now.Add(time.Second)
	if refused, err, _ := probedPush(t, srv.URL, key, fresh("d"), probe); err != nil || len(refused) != 0 {
		t.Fatalf("the node writing again: refused %d, error %v", len(refused), err)
	}
	now = now.Add(time.Second)
	if refused, err, _ := probedPush(t, srv.URL, key, fresh("poison"), probe); err != nil || len(refused) != 2 {
		t.Errorf("poison objects only, right after the node stored a new object: refused %d, error %v; want both set apart", len(refused), err)
	}
}

// TestPushProbedReadOnlyHeld: a node whose store takes no new writes
// also takes an object of the push it holds already (a try after one cut
// short once the node had stored part of the push, a message delivered
// again), which becomes the push's own probe. A push the node stores
// nothing new of has its other objects set apart on it at most once
// every earlierProbeEvery too, as on the earlier push's probe. Before,
// the guard held only for the earlier push's probe: every push holding
// one such object had all the others set apart.
func TestPushProbedReadOnlyHeld(t *testing.T) {
	defer func(f func() time.Time) { pushNow = f }(pushNow)
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	pushNow = func() time.Time { return now }
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}, poison: "poison"}
	srv := httptest.NewServer(node)
	defer srv.Close()
	probe := &Probe{}
	good := separatingObjects(3, nil)
	if _, err, _ := probedPush(t, srv.URL, key, good, probe); err != nil || !probe.held() {
		t.Fatalf("a good push: error %v, probe kept %t", err, probe.held())
	}
	node.mu.Lock()
	node.readOnly = true
	node.mu.Unlock()
	// held is a push of an object the node holds (delivered again) and
	// two new ones.
	held := func(i int, name string) []map[string]any {
		return append([]map[string]any{good[i]}, separatingObjects(2, map[int]string{0: "x-" + name + "-0", 1: "x-" + name + "-1"})...)
	}
	now = now.Add(time.Second)
	refused, err, _ := probedPush(t, srv.URL, key, held(2, "a"), probe)
	if err != nil || len(refused) != 2 || !strings.Contains(refused[0].Reason, "stored nothing new") {
		t.Fatalf("the first push the node stores nothing new of: refused %d, error %v; want the 2 new ones set apart, the reason saying the node stored nothing new", len(refused), err)
	}
	for i, objs := range [][]map[string]any{
		separatingObjects(2, map[int]string{0: "x-b-0", 1: "x-b-1"}),
		held(1, "c"),
	} {
		now = now.Add(time.Second)
		refused, err, waits := probedPush(t, srv.URL, key, objs, probe)
		if len(refused) != 0 || !serverFailure(err) || waits != 3 {
			t.Errorf("push %d after it, the node still storing nothing new: refused %d after %d waits, error %v; want it waited for, nothing set apart", i, len(refused), waits, err)
		}
	}
	now = now.Add(earlierProbeEvery)
	if refused, err, _ := probedPush(t, srv.URL, key, held(0, "d"), probe); err != nil || len(refused) != 2 {
		t.Errorf("%v later: refused %d, error %v; want the 2 new ones set apart", earlierProbeEvery, len(refused), err)
	}
}

// TestPushProbedReplayingFront: a front end that answers a request it
// has seen before (the same body) with the answer the node gave it then
// answers the probe, posted alone, as the node did when it first stored
// it: a success that does not say "already stored". That is no new
// object stored: while the node stores nothing new, a push has objects
// set apart at most once every earlierProbeEvery. Before, the replayed
// answer counted as the node storing a new object, and every push of
// the member's was set apart.
func TestPushProbedReplayingFront(t *testing.T) {
	defer func(f func() time.Time) { pushNow = f }(pushNow)
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	pushNow = func() time.Time { return now }
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}, poison: "poison"}
	type answer struct {
		code int
		body []byte
	}
	var mu sync.Mutex
	seen := map[string]answer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		a, ok := seen[string(body)]
		mu.Unlock()
		if !ok {
			rec := httptest.NewRecorder()
			r.Body = io.NopCloser(bytes.NewReader(body))
			node.ServeHTTP(rec, r)
			a = answer{rec.Code, rec.Body.Bytes()}
			if a.code < 300 {
				mu.Lock()
				seen[string(body)] = a
				mu.Unlock()
			}
		}
		w.Header().Set("Content-Type", taxii.MediaType)
		w.WriteHeader(a.code)
		w.Write(a.body)
	}))
	defer srv.Close()
	probe := &Probe{}
	// One object alone: its answer, "stored", is what the front replays.
	if _, err, _ := probedPush(t, srv.URL, key, separatingObjects(1, nil), probe); err != nil || !probe.held() {
		t.Fatalf("a good push: error %v, probe kept %t", err, probe.held())
	}
	node.mu.Lock()
	node.readOnly = true
	node.mu.Unlock()
	fresh := func(name string) []map[string]any {
		return separatingObjects(2, map[int]string{0: "x-" + name + "-0", 1: "x-" + name + "-1"})
	}
	now = now.Add(time.Second)
	if refused, err, _ := probedPush(t, srv.URL, key, fresh("a"), probe); err != nil || len(refused) != 2 {
		t.Fatalf("the first push the node stores nothing of: refused %d, error %v; want both set apart", len(refused), err)
	}
	now = now.Add(time.Second)
	refused, err, waits := probedPush(t, srv.URL, key, fresh("b"), probe)
	if len(refused) != 0 || !serverFailure(err) || waits != 3 {
		t.Errorf("the next one, the node still storing nothing new: refused %d after %d waits, error %v; want it waited for, nothing set apart", len(refused), waits, err)
	}
}

// TestPushProbedSilentNode: a TAXII server that never says "already
// stored" (not Parley) answers an object it held as it does a new one.
// When its store takes no new writes, a push holding an object it held
// (a message delivered again) has that success read as a new object
// stored: before, that lifted the guard, and every such push had its new
// objects set apart. The node's plain answer to the probe (an object it
// holds) shows it never tells: its successes then count for nothing, and
// a push the node fails on has objects set apart at most once every
// earlierProbeEvery, whatever it took.
func TestPushProbedSilentNode(t *testing.T) {
	defer func(f func() time.Time) { pushNow = f }(pushNow)
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	pushNow = func() time.Time { return now }
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}, poison: "poison", silent: true}
	srv := httptest.NewServer(node)
	defer srv.Close()
	probe := &Probe{}
	good := separatingObjects(3, nil)
	if _, err, _ := probedPush(t, srv.URL, key, good, probe); err != nil || !probe.held() {
		t.Fatalf("a good push: error %v, probe kept %t", err, probe.held())
	}
	node.mu.Lock()
	node.readOnly = true
	node.mu.Unlock()
	held := func(i int, name string) []map[string]any {
		return append([]map[string]any{good[i]}, separatingObjects(2, map[int]string{0: "x-" + name + "-0", 1: "x-" + name + "-1"})...)
	}
	now = now.Add(time.Second)
	if refused, err, _ := probedPush(t, srv.URL, key, held(2, "a"), probe); err != nil || len(refused) != 2 {
		t.Fatalf("the first push the node stores nothing new of: refused %d, error %v; want the 2 new ones set apart", len(refused), err)
	}
	for i, objs := range [][]map[string]any{
		held(1, "b"),
		separatingObjects(2, map[int]string{0: "x-c-0", 1: "x-c-1"}),
	} {
		now = now.Add(time.Second)
		refused, err, waits := probedPush(t, srv.URL, key, objs, probe)
		if len(refused) != 0 || !serverFailure(err) || waits != 3 {
			t.Errorf("push %d after it, the node still storing nothing new: refused %d after %d waits, error %v; want it waited for, nothing set apart", i, len(refused), waits, err)
		}
	}
	now = now.Add(earlierProbeEvery)
	if refused, err, _ := probedPush(t, srv.URL, key, held(0, "d"), probe); err != nil || len(refused) != 2 {
		t.Errorf("%v later: refused %d, error %v; want the 2 new ones set apart", earlierProbeEvery, len(refused), err)
	}
}

// TestPushSeparatingProxyTooLarge: a proxy before the node that refuses
// every request body over its limit with its own 413 page (no TAXII
// error object) has the envelopes sent again in halves until they pass:
// every object is stored, none set apart, no wait, though each object of
// a flush over the limit is refused in an envelope (not taken for a node
// that is down, nor for poison).
func TestPushSeparatingProxyTooLarge(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}}
	const limit = 4 << 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if len(body) > limit {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			io.WriteString(w, "<html><body>413 Request Entity Too Large</body></html>")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		node.ServeHTTP(w, r)
	}))
	defer srv.Close()
	objs := separatingObjects(64, nil)
	for _, o := range objs {
		o["pad"] = strings.Repeat("p", 1<<10)
	}
	refused, err, waits := probedPush(t, srv.URL, key, objs, &Probe{})
	if err != nil || waits != 0 || len(refused) != 0 {
		t.Fatalf("refused %d after %d waits, error %v; want every object stored", len(refused), waits, err)
	}
	if len(node.stored) != len(objs) {
		t.Errorf("the node stores %d of %d objects", len(node.stored), len(objs))
	}
}

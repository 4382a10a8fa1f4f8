package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/stix"
)

// watchedGate wraps the node's private-set CPU gate and records, from
// the outside, the most units held at once and how many turns were
// granted; onAcquire, when set, runs before each Acquire with its
// 1-based number.
type watchedGate struct {
	inner     sharedGate
	onAcquire func(n int)

	mu      sync.Mutex
	calls   int
	held    int64
	peak    int64
	granted int
}

func (g *watchedGate) Acquire(ctx context.Context, holder string, n int64) error {
	g.mu.Lock()
	g.calls++
	call, hook := g.calls, g.onAcquire
	g.mu.Unlock()
	if hook != nil {
		hook(call)
	}
	if err := g.inner.Acquire(ctx, holder, n); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held += n
	g.peak = max(g.peak, g.held)
	g.granted++
	return nil
}

func (g *watchedGate) Release(holder string, n int64) {
	g.mu.Lock()
	g.held -= n
	g.mu.Unlock()
	g.inner.Release(holder, n)
}

func (g *watchedGate) stats() (peak, held int64, granted int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peak, g.held, g.granted
}

// watchCPU sets the private-set configuration c and wraps the CPU gate it
// makes in a watchedGate.
func watchCPU(tn *testNode, c PrivateConfig) *watchedGate {
	a := tn.privateAPI()
	a.setConfig(c)
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	g := &watchedGate{inner: a.cpu}
	a.cpu = g
	return g
}

// testValues returns n distinct domain-name values.
func testValues(prefix string, n int) []string {
	v := make([]string, n)
	for i := range v {
		v[i] = fmt.Sprintf("domain-name:%s%d.example", prefix, i)
	}
	return v
}

// rawPublish posts body to /private/sets as member token; chunked sends
// it without a Content-Length.
func rawPublish(t *testing.T, ctx context.Context, tn *testNode, token string, body []byte, chunked bool) (*http.Response, []byte, error) {
	t.Helper()
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // hides the length from net/http
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, tn.URL+"/private/sets", rd)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// unchanged fails t if the node has more private sets or log entries than
// sets and logSize.
func unchanged(t *testing.T, tn *testNode, sets int, logSize int64) {
	t.Helper()
	ctx := context.Background()
	if after, _ := tn.privateAPI().st.PrivateSets(ctx); len(after) != sets {
		t.Errorf("%d private sets, %d before", len(after), sets)
	}
	if after, _ := tn.store.LogSize(ctx); after != logSize {
		t.Errorf("the log grew from %d to %d entries", logSize, after)
	}
}

// TestPrivateWorkersBound: however many members publish and evaluate at
// once, no more CPUs than private.workers evaluate the OPRF at a time;
// every publication still completes. Before, each publication used every
// CPU, and nothing bounded how many ran together.
func TestPrivateWorkersBound(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	g := watchCPU(tn, PrivateConfig{QueryBudget: 1000, MaxBatch: 100, RefreshInterval: Duration(time.Hour), Workers: 2})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	first, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("first", 10)})
	if err != nil {
		t.Fatal(err)
	}
	v := logVerifier(t, tn.Node)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues(fmt.Sprint(i, "-"), 3*256)})
			if err != nil || set.Size != 3*256 {
				t.Errorf("publication %d: %+v, %v", i, set, err)
			}
		})
		wg.Go(func() {
			if _, err := bob.Check(ctx, first.ID, v, testValues("first", 20), 0, rand.Reader); err != nil {
				t.Errorf("check %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	peak, held, granted := g.stats()
	// 1 + 4 × 3 chunks, and 4 evaluations (one batch each).
	if peak > 2 || held != 0 || granted < 1+4*3+4 {
		t.Fatalf("peak %d CPUs busy (bound 2), %d still held, %d turns granted (want at least 17)", peak, held, granted)
	}
}

// TestPrivateEvaluationInterleaves: with one private-set CPU, a reader's
// evaluation that arrives while a large publication is being built is
// answered within a few of the publication's chunks, not after all of
// them: work takes turns a chunk at a time, in order of arrival.
func TestPrivateEvaluationInterleaves(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	g := watchCPU(tn, PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour), Workers: 1})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("s", 10)})
	if err != nil {
		t.Fatal(err)
	}
	_, req, err := private.NewQuerier(mustKey(t, set.PublicKey), rand.Reader).Blind([]string{"domain-name:s1.example"})
	if err != nil {
		t.Fatal(err)
	}
	const chunks = 32
	_, _, base := g.stats()
	answered := make(chan int, 1) // turns granted when the evaluation was answered
	g.mu.Lock()
	g.onAcquire = func(n int) {
		if n == base+3 { // the publication is under way
			go func() {
				if _, err := bob.Evaluate(ctx, set.ID, req); err != nil {
					t.Error(err)
				}
				_, _, granted := g.stats()
				answered <- granted - base
			}()
		}
	}
	g.mu.Unlock()
	if _, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("big", chunks*256)}); err != nil {
		t.Fatal(err)
	}
	// 2 turns before it arrived, at most one per worker of the
	// publication queued ahead of it (GOMAXPROCS), its own, and what the
	// publication took while the answer travelled: far fewer than the
	// publication's. Were the CPU held for a whole build, it would be
	// all of them.
	select {
	case got := <-answered:
		if got >= chunks/2 {
			t.Fatalf("the evaluation was answered after %d turns of the CPU, of %d for the publication (GOMAXPROCS %d)", got, chunks, runtime.GOMAXPROCS(0))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the publication took fewer than 3 turns of the CPU gate: no evaluation was sent")
	}
}

// TestPrivatePublishCancelled: a publication whose client goes away while
// its values are being evaluated stops (it takes no more turns on the
// CPUs) and leaves nothing: no set, no log entry, no memory reserved.
func TestPrivatePublishCancelled(t *testing.T) {
	tn := newTestNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := watchCPU(tn, PrivateConfig{RefreshInterval: Duration(time.Hour), Workers: 1})
	g.onAcquire = func(n int) {
		if n == 2 {
			cancel() // the client gives up once the work has begun
		}
	}
	sets, _ := tn.privateAPI().st.PrivateSets(ctx)
	logSize, _ := tn.store.LogSize(ctx)
	const chunks = 40
	body, _ := json.Marshal(private.PublishRequest{Collection: tn.shared, Values: testValues("x", chunks*256)})
	if _, _, err := rawPublish(t, ctx, tn, tn.alice.Token, body, false); err == nil {
		t.Fatal("the cancelled publication answered")
	}
	leftNothing(t, tn, g, chunks, len(sets), logSize)
}

// TestPrivateCollectionPublishCancelled: a set made from a collection is
// built before anything is stored, so a publication whose client goes
// away while its tags are computed leaves no set and no key entry. Before,
// the set and its key entry were stored first and the tags computed after.
func TestPrivateCollectionPublishCancelled(t *testing.T) {
	tn := newTestNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const chunks = 16
	post(t, tn.alice.Client, tn.shared, indicatorOfValues(t, tn, "c", chunks*256))
	g := watchCPU(tn, PrivateConfig{RefreshInterval: Duration(time.Hour), Workers: 1})
	g.onAcquire = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	sets, _ := tn.privateAPI().st.PrivateSets(ctx)
	logSize, _ := tn.store.LogSize(ctx)
	body, _ := json.Marshal(private.PublishRequest{Collection: tn.shared})
	if _, _, err := rawPublish(t, ctx, tn, tn.alice.Token, body, false); err == nil {
		t.Fatal("the cancelled publication answered")
	}
	leftNothing(t, tn, g, chunks, len(sets), logSize)
}

// leftNothing waits until a publication whose client left has returned
// (its memory reservation is back), then checks that at most a few of its
// chunks were evaluated after, that it holds no CPU, and that the node
// holds the sets and log entries it held before (sets, logSize).
func leftNothing(t *testing.T, tn *testNode, g *watchedGate, chunks, sets int, logSize int64) {
	t.Helper()
	mem := tn.privateAPI().pubMem
	for deadline := time.Now().Add(30 * time.Second); mem.inUse() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the publication still holds %d bytes 30 s after its client left", mem.inUse())
		}
	}
	if _, held, granted := g.stats(); granted > 4 || held != 0 {
		t.Fatalf("%d of %d chunks were evaluated after the client left, %d CPUs still held", granted, chunks, held)
	}
	unchanged(t, tn, sets, logSize)
}

// indicatorOfValues returns an indicator of alice's whose pattern holds n
// domain-name values (prefix0.example …).
func indicatorOfValues(t *testing.T, tn *testNode, prefix string, n int) json.RawMessage {
	t.Helper()
	quoted := make([]string, n)
	for i := range quoted {
		quoted[i] = fmt.Sprintf("'%s%d.example'", prefix, i)
	}
	return patternIndicator(t, stix.NewIdentifier("indicator"), tn.alice.ID, tn.alice.Key, t0,
		"[domain-name:value IN ("+strings.Join(quoted, ", ")+")]", false)
}

// TestPrivateMaxValues: a publication of more than private.max_values
// values is refused with 413 and a sentence naming the bound, and stores
// nothing; one of exactly max_values is published.
func TestPrivateMaxValues(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{RefreshInterval: Duration(time.Hour), MaxValues: 3})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	sets, _ := tn.privateAPI().st.PrivateSets(ctx)
	logSize, _ := tn.store.LogSize(ctx)
	_, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("v", 4)})
	var he *private.HTTPError
	if !isStatus(err, http.StatusRequestEntityTooLarge) || !errors.As(err, &he) ||
		!strings.Contains(he.Description, "more than 3 values") || !strings.Contains(he.Description, "private.max_values") {
		t.Fatalf("4 values with max_values 3 = %v, want 413 naming the bound", err)
	}
	unchanged(t, tn, len(sets), logSize)
	if set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("v", 3)}); err != nil || set.Size != 3 {
		t.Fatalf("3 values with max_values 3 = %+v, %v", set, err)
	}

	// A set made from a collection is bounded the same way.
	sets, _ = tn.privateAPI().st.PrivateSets(ctx)
	logSize, _ = tn.store.LogSize(ctx)
	post(t, tn.alice.Client, tn.shared, indicatorOfValues(t, tn, "c", 4))
	logSize++ // the indicator's entry
	_, err = alice.Publish(ctx, private.PublishRequest{Collection: tn.shared})
	if !isStatus(err, http.StatusRequestEntityTooLarge) || !errors.As(err, &he) || !strings.Contains(he.Description, "private.max_values") {
		t.Fatalf("a collection of 4 values with max_values 3 = %v, want 413 naming the bound", err)
	}
	unchanged(t, tn, len(sets), logSize)
}

// TestPrivateBusy: a publication that can't reserve its memory within
// privateWait, and an evaluation that can't get a CPU, are answered 503
// with Retry-After and change nothing (no set, no log entry, no budget
// charged). A publication reserves by its Content-Length: a small one
// fits beside others where one of unknown length (chunked, reserved as
// the largest) waits.
func TestPrivateBusy(t *testing.T) {
	defer func(d time.Duration) { privateWait = d }(privateWait)
	privateWait = 100 * time.Millisecond
	ctx := context.Background()
	tn := newTestNode(t)
	a := tn.privateAPI()
	body, _ := json.Marshal(private.PublishRequest{Collection: tn.shared, Values: testValues("b", 10)})
	small := publishReservation(int64(len(body)), DefaultPrivateMaxValues)
	// Room for the small publication (twice its reservation, for the
	// garbage) and little more: two other members hold the rest, as
	// one member holds at most half.
	a.setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour), Workers: 1, PublishMemory: 64 << 20})
	mem := a.pubMem
	half := mem.share / gcFactor
	held := mem.capacity/gcFactor - half - small - 1
	if err := mem.Acquire(ctx, "another member", half); err != nil {
		t.Fatal(err)
	}
	if err := mem.Acquire(ctx, "a third member", held); err != nil {
		t.Fatal(err)
	}
	sets, _ := a.st.PrivateSets(ctx)
	logSize, _ := tn.store.LogSize(ctx)
	resp, msg, err := rawPublish(t, ctx, tn, tn.alice.Token, body, true)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!bytes.Contains(msg, []byte("busy with other private-set work")) {
		t.Fatalf("chunked publication beside a full budget: %v %v %s", resp, err, msg)
	}
	unchanged(t, tn, len(sets), logSize)
	resp, msg, err = rawPublish(t, ctx, tn, tn.alice.Token, body, false)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("small publication with its length: %v %v %s", resp, err, msg)
	}
	var set private.SetInfo
	if err := json.Unmarshal(msg, &set); err != nil {
		t.Fatal(err)
	}
	mem.Release("another member", half)
	mem.Release("a third member", held)

	// Every private-set CPU taken: an evaluation waits, then 503, uncharged.
	_, cpu, _, _ := a.limits()
	if err := cpu.Acquire(ctx, "another member", 1); err != nil {
		t.Fatal(err)
	}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	q := private.NewQuerier(mustKey(t, set.PublicKey), rand.Reader)
	_, req, err := q.Blind([]string{"domain-name:b1.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Evaluate(ctx, set.ID, req); !isStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("evaluation with no CPU free = %v, want 503", err)
	}
	if info, _ := bob.Set(ctx, set.ID); info.Budget.Left != 100 {
		t.Fatalf("a refused evaluation was charged: %d left of 100", info.Budget.Left)
	}
	cpu.Release("another member", 1)
	if _, err := bob.Evaluate(ctx, set.ID, req); err != nil {
		t.Fatalf("evaluation once the CPU is free: %v", err)
	}
}

// FuzzDecodePublish: decodePublish never panics, keeps at most maxValues
// lines, each canonical (a fixed point of private.ParseLine), and accepts
// only what a strict decoding of private.PublishRequest accepts too, with
// the same collection and values that normalise to its lines.
func FuzzDecodePublish(f *testing.F) {
	for _, s := range []string{
		`{"collection":"c","values":["domain-name:EVIL.example","url:a:"]}`,
		`{"collection":"c"}`,
		`{"values":null,"collection":"c"}`,
		`{"collection":"c","values":["domain-name:a","domain-name:b","domain-name:c","domain-name:d"]}`,
		`{"collection":"c","values":[]} {}`,
		`{"collection":"c","vaules":[]}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	const maxValues = 3
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/private/sets", bytes.NewReader(body))
		got, err := decodePublish(httptest.NewRecorder(), r, int64(len(body)), maxValues)
		if err != nil {
			return
		}
		if len(got.lines) > maxValues {
			t.Fatalf("%d lines, at most %d", len(got.lines), maxValues)
		}
		var want private.PublishRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("accepted %q, which a strict decoding refuses: %v", body, err)
		}
		if got.collection != want.Collection || len(got.lines) != len(want.Values) {
			t.Fatalf("decoded %q, %q from %q; strictly %q, %q", got.collection, got.lines, body, want.Collection, want.Values)
		}
		for i, v := range want.Values {
			if _, _, canon, err := private.ParseLine(v); err != nil || canon != got.lines[i] {
				t.Fatalf("line %d: %q, from %q: %q, %v", i, got.lines[i], v, canon, err)
			}
		}
	})
}

// TestPrivateMaxSetsPerMember: a member's publication beyond
// max_sets_per_member is 507 naming the bound, before any value is
// evaluated, and stores nothing; another member's sets are its own.
func TestPrivateMaxSetsPerMember(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{RefreshInterval: Duration(time.Hour), MaxSetsPerMember: 2})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	for i := range 2 {
		if _, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues(fmt.Sprint("v", i), 2)}); err != nil {
			t.Fatalf("set %d of at most 2: %v", i+1, err)
		}
	}
	sets, _ := tn.privateAPI().st.PrivateSets(ctx)
	logSize, _ := tn.store.LogSize(ctx)
	_, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("v3", 2)})
	var he *private.HTTPError
	if !isStatus(err, http.StatusInsufficientStorage) || !errors.As(err, &he) ||
		!strings.Contains(he.Description, "you have 2 private sets") || !strings.Contains(he.Description, "private.max_sets_per_member") {
		t.Fatalf("a third set with max_sets_per_member 2 = %v, want 507 naming the bound", err)
	}
	unchanged(t, tn, len(sets), logSize)
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	if _, err := bob.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("b", 2)}); err != nil {
		t.Errorf("bob's first set: %v", err)
	}
	// One set made from a collection per member and collection: each
	// would hold its own copy of the member's values there.
	tn.privateAPI().setConfig(PrivateConfig{RefreshInterval: Duration(time.Hour), MaxSetsPerMember: 10})
	post(t, tn.bob.Client, tn.shared, indicatorOfValues(t, tn, "c", 2))
	if _, err := bob.Publish(ctx, private.PublishRequest{Collection: tn.shared}); err != nil {
		t.Fatalf("bob's set made from the collection: %v", err)
	}
	sets, _ = tn.privateAPI().st.PrivateSets(ctx)
	logSize, _ = tn.store.LogSize(ctx)
	if _, err := bob.Publish(ctx, private.PublishRequest{Collection: tn.shared}); !isStatus(err, http.StatusConflict) || !errors.As(err, &he) ||
		!strings.Contains(he.Description, "made from this collection already") {
		t.Fatalf("bob's second set made from the collection = %v, want 409", err)
	}
	unchanged(t, tn, len(sets), logSize)
}

package match

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

// recordWaits has a push's back-off wait no time and records each wait
// it would take; past limit waits it cancels the stop context it
// returns (a push that never ends fails its test instead of hanging).
func recordWaits(t *testing.T, first, most time.Duration, limit int) (waits func() []time.Duration, stop context.Context) {
	t.Helper()
	oldTimer, oldFirst, oldMax := pushTimer, pushRetryFirst, pushRetryMax
	t.Cleanup(func() { pushTimer, pushRetryFirst, pushRetryMax = oldTimer, oldFirst, oldMax })
	pushRetryFirst, pushRetryMax = first, most
	var mu sync.Mutex
	var got []time.Duration
	stop, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pushTimer = func(d time.Duration) (<-chan time.Time, func() bool) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
		if len(got) >= limit {
			cancel()
			return nil, func() bool { return false }
		}
		c := make(chan time.Time, 1)
		c <- time.Time{}
		return c, func() bool { return false }
	}
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), got...)
	}, stop
}

// busyAnswer is a front's answer to a request it does not pass on: a
// status, and a Retry-After when not empty.
type busyAnswer struct {
	code       int
	retryAfter string
}

// busyFront stands before a node: it answers the scripted answers, one a
// request, and passes the requests after them on. It counts requests.
type busyFront struct {
	mu       sync.Mutex
	next     http.Handler
	script   []busyAnswer
	requests int
}

func (f *busyFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	var a *busyAnswer
	if len(f.script) > 0 {
		a = &f.script[0]
		f.script = f.script[1:]
	}
	f.mu.Unlock()
	if a == nil {
		f.next.ServeHTTP(w, r)
		return
	}
	io.Copy(io.Discard, r.Body)
	writeBusy(w, a.code, a.retryAfter)
}

func writeBusy(w http.ResponseWriter, code int, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", taxii.MediaType)
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"title":"busy","description":"retry later"}`)
}

// TestPushRetryingHonoursRetryAfter: a node that answers 503 or 429 with
// a Retry-After (seconds or an HTTP date) is tried again after the wait
// it asks for when that is longer than the back-off's, never sooner than
// the back-off's, and never later than pushRetryAfterMax however long it
// asks. Before, Retry-After was ignored: the push came back after the
// back-off's 2, 4, 8, 16 and 30 seconds.
func TestPushRetryingHonoursRetryAfter(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, separate := range []bool{false, true} {
		t.Run(fmt.Sprintf("separate=%v", separate), func(t *testing.T) {
			waits, stop := recordWaits(t, 2*time.Second, 30*time.Second, 100)
			node := &failingNode{stored: map[string]bool{}}
			front := &busyFront{next: node, script: []busyAnswer{
				{http.StatusServiceUnavailable, "7"},
				{http.StatusTooManyRequests, time.Now().Add(120 * time.Second).UTC().Format(http.TimeFormat)},
				{http.StatusServiceUnavailable, "1"},        // shorter than the back-off's 8 s
				{http.StatusTooManyRequests, "99999999999"}, // cut to pushRetryAfterMax
				{http.StatusServiceUnavailable, ""},
			}}
			srv := httptest.NewServer(front)
			defer srv.Close()
			client := &taxii.Client{BaseURL: srv.URL}
			objs := separatingObjects(3, nil)
			var told []time.Duration
			waiting := func(_ error, d time.Duration) { told = append(told, d) }
			var err error
			if separate {
				_, err = PushRetryingSeparating(context.Background(), stop, 0, client, "c1", key, objs, waiting)
			} else {
				err = PushRetrying(context.Background(), stop, 0, client, "c1", key, objs, waiting)
			}
			if err != nil {
				t.Fatal(err)
			}
			got := told
			if fmt.Sprint(waits()) != fmt.Sprint(told) {
				t.Errorf("waited %v, said %v", waits(), told)
			}
			if len(got) != 5 {
				t.Fatalf("waits %v, want 5", got)
			}
			want := []time.Duration{7 * time.Second, 120 * time.Second, 8 * time.Second, pushRetryAfterMax, 30 * time.Second}
			for i, d := range got {
				ok := d == want[i]
				if i == 1 { // an HTTP date, to the second, read a moment later
					ok = d > 117*time.Second && d <= 120*time.Second
				}
				if !ok {
					t.Errorf("wait %d: %v, want %v (all: %v)", i+1, d, want[i], got)
				}
			}
			if len(node.stored) != 3 {
				t.Errorf("stored %d objects, want 3", len(node.stored))
			}
		})
	}
}

// TestPushSeparatingBusyNode: a node that answers 503 (busy) to every
// request gets one request, not a split envelope, before the push ends
// (PushSeparating) or waits (PushRetryingSeparating: then one request a
// wait, the envelope kept whole); nothing is set apart. Before, each 503
// was laid on the envelope, which was split in halves: 72 requests a try
// (64 failed envelopes and 8 objects alone) before the back-off.
func TestPushSeparatingBusyNode(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	var mu sync.Mutex
	requests, answer := 0, http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		code := answer
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		writeBusy(w, code, "1")
	}))
	defer srv.Close()
	client := &taxii.Client{BaseURL: srv.URL}
	objs := separatingObjects(100, nil)
	refused, err := PushSeparating(context.Background(), client, "c1", key, objs)
	if !Unavailable(err) || len(refused) != 0 || requests != 1 {
		t.Errorf("PushSeparating: %d requests, %d set apart, %v; want 1 request, none set apart, the 503", requests, len(refused), err)
	}
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		mu.Lock()
		requests, answer = 0, code
		mu.Unlock()
		waits, stop := recordWaits(t, time.Second, 30*time.Second, 6)
		refused, err = PushRetryingSeparating(context.Background(), stop, 0, client, "c1", key, objs, nil)
		mu.Lock()
		n := requests
		mu.Unlock()
		if !Unavailable(err) || len(refused) != 0 || n != len(waits()) || n != 6 {
			t.Errorf("%d: PushRetryingSeparating: %d requests over %d waits, %d set apart, %v; want one request a wait, none set apart, the %d", code, n, len(waits()), len(refused), err, code)
		}
	}
}

// restartingFront stands before a node that goes down on a poison object
// and restarts slowly: an envelope holding poison gets crash (a front
// end's 502, or 503 as some answer for a backend that reset the
// connection), and the restartFor requests after it 503, as does every
// request before the first startFor.
type restartingFront struct {
	mu         sync.Mutex
	next       http.Handler
	poison     []byte
	crash      int
	startFor   int
	restartFor int
	down       int
	requests   int
}

func (f *restartingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests++
	code := 0
	switch {
	case f.requests <= f.startFor:
		code = http.StatusServiceUnavailable
	case f.down > 0:
		f.down--
		code = http.StatusServiceUnavailable
	case bytes.Contains(body, f.poison):
		f.down = f.restartFor
		code = f.crash
	}
	f.mu.Unlock()
	if code != 0 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		io.WriteString(w, "<html>unavailable</html>")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.next.ServeHTTP(w, r)
}

// TestPushRetryingSeparatingRestartingNode: a node behind a front end
// that answers 503 while it starts, and that goes down on a poison object
// and takes a while to come back (503 meanwhile), still has the poison
// set apart once it works, and everything else stored: the 503s are
// waited out within the try, which goes on where it was (a try that
// ended at each 503 would start again from the whole batch, have the
// node go down on it, and never get to the poison). A front end that
// answers 503 for the crash itself is told from a busy node by the
// probe it takes right before.
func TestPushRetryingSeparatingRestartingNode(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, c := range []struct {
		name                        string
		crash, startFor, restartFor int
	}{
		{"starting", http.StatusBadGateway, 5, 0},
		{"502 then restarting", http.StatusBadGateway, 5, 3},
		{"503 then restarting", http.StatusServiceUnavailable, 0, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stop := recordWaits(t, time.Millisecond, time.Millisecond, 100000)
			node := &failingNode{stored: map[string]bool{}}
			front := &restartingFront{next: node, poison: []byte("x-poison"), crash: c.crash, startFor: c.startFor, restartFor: c.restartFor}
			srv := httptest.NewServer(front)
			defer srv.Close()
			objs := separatingObjects(200, map[int]string{77: "x-poison"})
			refused, err := PushRetryingSeparating(context.Background(), stop, 0, &taxii.Client{BaseURL: srv.URL}, "c1", key, objs, nil)
			if err != nil {
				t.Fatalf("%v (after %d requests)", err, front.requests)
			}
			if len(refused) != 1 || refused[0].Object["id"] != "x-poison" {
				var ids []any
				for _, r := range refused {
					ids = append(ids, r.Object["id"])
				}
				t.Errorf("set apart %v, want the poison alone", ids)
			}
			if len(node.stored) != 199 || node.stored["x-poison"] {
				t.Errorf("stored %d objects (the poison: %v), want the 199 others", len(node.stored), node.stored["x-poison"])
			}
		})
	}
}

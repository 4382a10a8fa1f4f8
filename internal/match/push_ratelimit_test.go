package match

import (
	"context"
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

// rateLimitFront stands before a node as a rate limiter does (nginx's
// limit_req without a burst, which answers 503; or one that answers 429):
// it passes one request a token and refuses the others with code, and it
// gets a token back for every wait the push takes (its rate is one
// request per back-off wait, or faster), one at most held. It starts
// with none: other members of the fleet share it.
type rateLimitFront struct {
	mu       sync.Mutex
	next     http.Handler
	code     int
	tokens   int
	refused  int
	requests int
}

func (f *rateLimitFront) refill() {
	f.mu.Lock()
	f.tokens = 1
	f.mu.Unlock()
}

func (f *rateLimitFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	pass := f.tokens > 0
	if pass {
		f.tokens--
	} else {
		f.refused++
	}
	f.mu.Unlock()
	if pass {
		f.next.ServeHTTP(w, r)
		return
	}
	io.Copy(io.Discard, r.Body)
	writeBusy(w, f.code, "")
}

// TestPushRetryingSeparatingRateLimitedNode: a node behind a rate limiter
// (one request a wait) is healthy: every object is stored and none is set
// apart. Before, the probe took the token after each wait, the envelope
// right after it was refused busy and counted as the envelope's failure
// (busyOnError): envelopes were split, each object became a suspect, and
// the rounds of settle, each a probe taken and the object refused right
// after it, set every object of the push apart (a fleet member
// dead-lettered every sighting of a node behind nginx's limit_req).
func TestPushRetryingSeparatingRateLimitedNode(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			node := &failingNode{stored: map[string]bool{}}
			// Other members of the fleet took the token just now.
			front := &rateLimitFront{next: node, code: code}
			oldTimer, oldFirst, oldMax := pushTimer, pushRetryFirst, pushRetryMax
			t.Cleanup(func() { pushTimer, pushRetryFirst, pushRetryMax = oldTimer, oldFirst, oldMax })
			pushRetryFirst, pushRetryMax = time.Second, 30*time.Second
			stop, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			waits := 0
			pushTimer = func(time.Duration) (<-chan time.Time, func() bool) {
				mu.Lock()
				defer mu.Unlock()
				if waits++; waits > 100000 {
					cancel()
					return nil, func() bool { return false }
				}
				front.refill()
				c := make(chan time.Time, 1)
				c <- time.Time{}
				return c, func() bool { return false }
			}
			srv := httptest.NewServer(front)
			defer srv.Close()
			objs := separatingObjects(40, nil)
			refused, err := PushRetryingSeparating(context.Background(), stop, 0, &taxii.Client{BaseURL: srv.URL}, "c1", key, objs, nil)
			if err != nil {
				t.Fatalf("%v (after %d requests)", err, front.requests)
			}
			if len(refused) != 0 {
				t.Errorf("set apart %d of %d objects of a healthy, rate-limited node (%s)", len(refused), len(objs), refused[0].Reason)
			}
			if len(node.stored) != len(objs) {
				t.Errorf("stored %d objects, want %d", len(node.stored), len(objs))
			}
			t.Logf("%d requests, %d refused by the limiter, %d waits", front.requests, front.refused, waits)
		})
	}
}

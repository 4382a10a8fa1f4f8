package match

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

// TestPushRetryingCheckedChecksBeforeEachRetry: a push tried again after
// the node was unavailable calls its check first (parley match --push
// checks the node's log again there: the node may have come back as
// another one), and a check that fails ends the push with its error,
// nothing sent again. Before, the retry went to whatever answered.
func TestPushRetryingCheckedChecksBeforeEachRetry(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	errReplaced := errors.New("the node's log changed")
	for _, separate := range []bool{false, true} {
		for _, fails := range []bool{false, true} {
			t.Run(fmt.Sprintf("separate=%v,fails=%v", separate, fails), func(t *testing.T) {
				_, stop := recordWaits(t, time.Second, 30*time.Second, 100)
				// The node is down (502 to everything, as a front end
				// answers for it) until it comes back, which the check
				// sees.
				node := &failingNode{stored: map[string]bool{}}
				var mu sync.Mutex
				up, requests, atCheck := false, 0, 0
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					requests++
					isUp := up
					mu.Unlock()
					if !isUp {
						io.Copy(io.Discard, r.Body)
						writeBusy(w, http.StatusBadGateway, "")
						return
					}
					node.ServeHTTP(w, r)
				}))
				defer srv.Close()
				client := &taxii.Client{BaseURL: srv.URL}
				objs := separatingObjects(3, nil)
				checks := 0
				check := func(context.Context) error {
					checks++
					mu.Lock()
					defer mu.Unlock()
					up, atCheck = true, requests
					if fails {
						return errReplaced
					}
					return nil
				}
				var err error
				if separate {
					_, err = PushRetryingSeparatingProbedChecked(context.Background(), stop, 0, client, "c1", key, objs, nil, &Probe{}, check)
				} else {
					err = PushRetryingChecked(context.Background(), stop, 0, client, "c1", key, objs, nil, check)
				}
				if checks != 1 {
					t.Errorf("checked %d times, want once (before the one retry)", checks)
				}
				mu.Lock()
				defer mu.Unlock()
				if fails {
					if !errors.Is(err, errReplaced) {
						t.Errorf("push: %v, want the check's error", err)
					}
					if requests != atCheck || requests == 0 {
						t.Errorf("the node got %d requests, %d of them before the check: want none after the failed check", requests, atCheck)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if requests <= atCheck {
					t.Errorf("the node got %d requests, %d of them before the check: want the retry after it", requests, atCheck)
				}
			})
		}
	}
}

// TestPushRetryingCheckedChecksAfterLongBusyWait: a separating push (a
// fleet member's) waits out a busy node within its try, for as long as
// the node's Retry-After asks (up to pushRetryAfterMax), or for many
// short waits; once the waits add up to pushRecheckAfter, it calls its
// check before it sends anything more, and a check that fails ends the
// push with its error, nothing sent after it. Before, a fleet member
// checked the node's log only between tries, and a node replaced during
// a five-minute wait got the sightings. A short wait checks nothing.
func TestPushRetryingCheckedChecksAfterLongBusyWait(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	errReplaced := errors.New("the node's log changed")
	cases := []struct {
		name   string
		script []busyAnswer
		checks bool
	}{
		{"Retry-After of 5 minutes", []busyAnswer{{http.StatusServiceUnavailable, "300"}}, true},
		{"short waits adding up", []busyAnswer{{http.StatusTooManyRequests, ""}, {http.StatusTooManyRequests, ""}, {http.StatusTooManyRequests, ""}, {http.StatusTooManyRequests, ""}, {http.StatusTooManyRequests, ""}}, true}, // 1+2+4+8+16 s
		{"one short wait", []busyAnswer{{http.StatusServiceUnavailable, ""}}, false},
	}
	for _, tc := range cases {
		for _, fails := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s,fails=%v", tc.name, fails), func(t *testing.T) {
				_, stop := recordWaits(t, time.Second, 30*time.Second, 100)
				front := &busyFront{next: &failingNode{stored: map[string]bool{}}, script: append([]busyAnswer(nil), tc.script...)}
				srv := httptest.NewServer(front)
				defer srv.Close()
				client := &taxii.Client{BaseURL: srv.URL}
				checks, atCheck := 0, 0
				check := func(context.Context) error {
					checks++
					front.mu.Lock()
					atCheck = front.requests
					front.mu.Unlock()
					if fails {
						return errReplaced
					}
					return nil
				}
				_, err := PushRetryingSeparatingProbedChecked(context.Background(), stop, 0, client, "c1", key, separatingObjects(3, nil), nil, &Probe{}, check)
				front.mu.Lock()
				requests := front.requests
				front.mu.Unlock()
				if !tc.checks {
					if checks != 0 || err != nil {
						t.Fatalf("after one short wait: checked %d times, push: %v; want no check and the push done", checks, err)
					}
					return
				}
				if checks != 1 {
					t.Fatalf("checked %d times, want once (after the waits, before the node got more)", checks)
				}
				if atCheck > len(tc.script) {
					t.Errorf("checked after %d requests: the node got objects after the waits before the check", atCheck)
				}
				if fails {
					if !errors.Is(err, errReplaced) {
						t.Errorf("push: %v, want the check's error", err)
					}
					if requests != atCheck {
						t.Errorf("the node got %d requests, %d of them before the check: want none after the failed check", requests, atCheck)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if requests <= atCheck {
					t.Errorf("the node got %d requests, %d of them before the check: want the push after it", requests, atCheck)
				}
			})
		}
	}
}

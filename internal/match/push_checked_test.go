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

package match

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

// TestPushPendingIsNotStored: a node that answers an envelope with a
// status that does not say each object was stored or refused (TAXII's
// asynchronous "pending" status, its objects pending_count; or a status
// that counts nothing, as a broken proxy's 200 {} reads) has not stored
// the objects: the push fails, and PushRetrying and
// PushRetryingSeparating wait and post again (an object the node holds by
// then is answered "already stored"). Before, the push returned no error
// and a fleet member acknowledged the messages whose sightings no node
// had stored.
func TestPushPendingIsNotStored(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, answer := range []string{"pending", "empty"} {
		t.Run(answer, func(t *testing.T) {
			var mu sync.Mutex
			stalled := 3 // envelopes answered so before the node stores
			node := &failingNode{stored: map[string]bool{}}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				s := stalled > 0
				stalled--
				mu.Unlock()
				if !s {
					node.ServeHTTP(w, r)
					return
				}
				var env taxii.Envelope
				b, _ := io.ReadAll(r.Body)
				json.Unmarshal(b, &env)
				st := taxii.Status{ID: "s1", Status: taxii.StatusPending, TotalCount: len(env.Objects), PendingCount: len(env.Objects)}
				if answer == "empty" {
					st = taxii.Status{}
				}
				w.Header().Set("Content-Type", taxii.MediaType)
				w.WriteHeader(http.StatusAccepted)
				json.NewEncoder(w).Encode(st)
			}))
			defer srv.Close()
			client := &taxii.Client{BaseURL: srv.URL}
			objs := separatingObjects(5, nil)
			if _, err := PushSeparating(context.Background(), client, "c1", key, objs); err == nil {
				t.Errorf("PushSeparating: no error, %d of %d stored", len(node.stored), len(objs))
			}
			if err := Push(context.Background(), client, "c1", key, objs); err == nil {
				t.Errorf("Push: no error, %d of %d stored", len(node.stored), len(objs))
			}
			_, stop := recordWaits(t, time.Second, 30*time.Second, 100)
			if err := PushRetrying(context.Background(), stop, 0, client, "c1", key, objs, nil); err != nil || len(node.stored) != len(objs) {
				t.Errorf("PushRetrying: %v, %d of %d stored; want every object stored", err, len(node.stored), len(objs))
			}
			mu.Lock()
			stalled = 3
			mu.Unlock()
			node.stored = map[string]bool{}
			refused, err := PushRetryingSeparating(context.Background(), stop, 0, client, "c1", key, objs, nil)
			if err != nil || len(refused) != 0 || len(node.stored) != len(objs) {
				t.Errorf("PushRetryingSeparating: %v, %d set apart, %d of %d stored; want every object stored", err, len(refused), len(node.stored), len(objs))
			}
		})
	}
}

package match

import (
	"context"
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/parley-exchange/parley/taxii"
)

// roundRobinFront stands before a node as a load balancer does that
// sends requests in turn to two backends, one of them broken: every
// other request gets a 500, whatever it holds.
type roundRobinFront struct {
	mu       sync.Mutex
	next     http.Handler
	requests int
}

func (f *roundRobinFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	broken := f.requests%2 == 1
	f.mu.Unlock()
	if !broken {
		f.next.ServeHTTP(w, r)
		return
	}
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", taxii.MediaType)
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, `{"title":"Internal Server Error"}`)
}

// TestPushSeparatingRoundRobinNode: behind a load balancer that
// alternates between a working backend and a broken one, no good object
// is set apart: everything is stored. Before, a push of two envelopes
// (more than pushBatch objects) had an object failed on alone by the
// broken backend, then judged in rounds whose suspect always went to the
// broken backend and whose probe to the working one: 16 rounds of
// "evidence", and a good object set apart.
func TestPushSeparatingRoundRobinNode(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for try := range 4 {
		node := &failingNode{stored: map[string]bool{}}
		front := &roundRobinFront{next: node}
		srv := httptest.NewServer(front)
		n := pushBatch + 1 + try
		refused, err := PushSeparating(context.Background(), &taxii.Client{BaseURL: srv.URL}, "c1", key, separatingObjects(n, nil))
		srv.Close()
		if err != nil {
			t.Fatalf("%d objects: %v", n, err)
		}
		if len(refused) != 0 || len(node.stored) != n {
			var ids []any
			for _, r := range refused {
				ids = append(ids, r.Object["id"])
			}
			t.Errorf("%d objects: set apart %v, stored %d; want nothing set apart, all stored", n, ids, len(node.stored))
		}
	}
}

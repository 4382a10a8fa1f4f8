package match

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

func TestZZMeasure(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, c := range []struct{ good, poison, stride int }{{1000, 10, 100}, {900, 100, 10}, {0, 1000, 2}, {950, 50, 1}, {970, 30, 1}} {
		special := map[int]string{}
		n := c.good + c.poison
		for i := 0; i < c.poison; i++ {
			special[i*c.stride] = fmt.Sprintf("x-poison-%d", i)
		}
		node := &failingNode{stored: map[string]bool{}, poison: "poison"}
		srv := httptest.NewServer(node)
		t0 := time.Now()
		refused, err := PushSeparating(context.Background(), &taxii.Client{BaseURL: srv.URL}, "c1", key, separatingObjects(n, special))
		srv.Close()
		t.Logf("n=%d poison=%d stride=%d: refused %d stored %d requests %d in %v err %v", n, c.poison, c.stride, len(refused), len(node.stored), node.requests, time.Since(t0), err)
	}
}

package feed_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
)

// signalSink is a sink that says when it is first given objects.
type signalSink struct {
	sink
	got chan struct{}
}

func (s *signalSink) Submit(ctx context.Context, member, collection string, objs []json.RawMessage) (store.Status, error) {
	st, err := s.sink.Submit(ctx, member, collection, objs)
	if len(objs) > 0 {
		select {
		case s.got <- struct{}{}:
		default:
		}
	}
	return st, err
}

// TestRunDripHoldsNoOtherFeed: Run polled the feeds one after another,
// and a page may keep coming, slowly, for as long as it keeps coming (a
// server that trickles a large page is let finish it): one hostile
// server, dripping a byte every few milliseconds, held every other feed
// of the node for the whole of its page (up to 18 hours per round at the
// slowest rate allowed). The other feed's objects now come while the
// drip goes on.
func TestRunDripHoldsNoOtherFeed(t *testing.T) {
	stop := make(chan struct{})
	drip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		w.Write([]byte(`{"more":false,"objects":[`))
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			case <-tick.C:
				w.Write([]byte(" "))
				w.(http.Flusher).Flush()
			}
		}
	}))
	defer drip.Close()
	defer close(stop)
	good := httptest.NewServer(&server{n: 3})
	defer good.Close()

	// "a" is listed, and was polled, first.
	st := newStoreWith(t, feed.Feed{Name: "a", URL: drip.URL, Collection: "c", Into: "l", Member: "m", Overlap: -1})
	if err := st.AddFeed(context.Background(), feed.Feed{Name: "b", URL: good.URL, Collection: "c", Into: "l", Member: "m", Overlap: -1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sk := &signalSink{sink: sink{stored: map[string]int{}}, got: make(chan struct{}, 1)}
	now := func() time.Time { return epoch }
	done := make(chan error, 1)
	go func() {
		done <- feed.Run(ctx, st, sk, now, time.Millisecond, func(string, ...any) {})
	}()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-sk.got:
	case <-time.After(20 * time.Second):
		t.Fatal("the other feed's objects didn't come while one feed's server dripped its page")
	}
}

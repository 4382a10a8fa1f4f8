package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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
	stopRunner := runBackground(ctx, cancel, st, sk, now)
	defer stopRunner()
	select {
	case <-sk.got:
	case <-time.After(20 * time.Second):
		t.Fatal("the other feed's objects didn't come while one feed's server dripped its page")
	}
}

// listedStore is a store that says when its feeds are listed.
type listedStore struct {
	feed.Store
	listed chan struct{} // a send per listing, when someone waits for it
}

func (s *listedStore) Feeds(ctx context.Context) ([]feed.Feed, error) {
	select {
	case s.listed <- struct{}{}:
	default:
	}
	return s.Store.Feeds(ctx)
}

// TestRunLongRoundKeepsItsMark: a round still running when RunRounds
// lists the feeds again (it waits for a round for at most maxRoundTime)
// runs on in its own goroutine, its mark in the store. Each listing ends
// the marks of this process's own rounds that it doesn't run (the end of
// a round that the store couldn't record); were the running round's mark
// ended with them, another front end on the store would start a second
// round of the feed beside it, and the round's own heartbeat and writes
// would then be refused as taken over. The mark stays through the
// listings, another owner's round is refused (ErrBusy), and the round
// ends as it would have.
func TestRunLongRoundKeepsItsMark(t *testing.T) {
	defer feed.SetMaxRoundTime(time.Millisecond)()
	defer feed.SetStallTimeout(time.Hour, 1)()
	arrived, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		if !first.CompareAndSwap(false, true) {
			w.Write([]byte(`{"more":false}`))
			return
		}
		// The first page comes slowly: its beginning now, the rest
		// once the test has seen the listings it waits for.
		w.Write([]byte(`{"more":false,"objects":[`))
		w.(http.Flusher).Flush()
		close(arrived)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write([]byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}]}`))
	}))
	defer hs.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	base := newStore(t, hs.URL)
	st := &listedStore{Store: base, listed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sk := &sink{stored: map[string]int{}}
	now := func() time.Time { return epoch }
	me := feed.Rounds{Owner: "fe1/1/me"}
	stopRunner := runRoundsBackground(ctx, cancel, st, sk, now, me)
	defer stopRunner()
	timeout := time.After(time.Minute)
	select {
	case <-arrived:
	case <-timeout:
		t.Fatal("the round didn't ask the server")
	}
	// Three listings begun after the round asked: the one before the
	// last has ended the marks it was to end.
	for range 3 {
		select {
		case <-st.listed:
		case <-timeout:
			t.Fatal("RunRounds didn't list the feeds again while the round ran")
		}
	}
	if f := storedFeed(t, base); f.RoundStarted.IsZero() || f.RoundOwner != me.Owner {
		t.Fatalf("the running round's mark was ended by a listing: %+v", f.FeedPosition)
	}
	other := storedFeed(t, base)
	if _, err := feed.PollRound(ctx, base, &sink{stored: map[string]int{}}, other, now, nil, feed.Rounds{Owner: "fe2/2/other"}); !errors.Is(err, feed.ErrBusy) {
		t.Fatalf("another front end's round of the feed beside the running one: %v, want ErrBusy", err)
	}
	close(release)
	for {
		f := storedFeed(t, base)
		if f.RoundStarted.IsZero() && f.Pages > 0 {
			if f.LastError != "" || f.Added != 1 {
				t.Fatalf("the round ended with %+v", f.FeedPosition)
			}
			break
		}
		select {
		case <-st.listed: // the next look, after a tick
		case <-timeout:
			t.Fatalf("the round didn't end: %+v", f.FeedPosition)
		}
	}
}

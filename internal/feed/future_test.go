package feed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/taxii"
)

// datedServer serves its objects by date_added ascending, those added
// after added_after, in one page.
type datedServer struct {
	mu  sync.Mutex
	ids []string
	at  map[string]time.Time
}

func (s *datedServer) add(id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, id)
	s.at[id] = at
	sort.SliceStable(s.ids, func(i, j int) bool { return s.at[s.ids[i]].Before(s.at[s.ids[j]]) })
}

func (s *datedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var after time.Time
	if aa := r.URL.Query().Get("added_after"); aa != "" {
		after, _ = taxii.ParseTimestamp(aa)
	}
	var env taxii.Envelope
	var first, last time.Time
	for _, id := range s.ids {
		if !s.at[id].After(after) {
			continue
		}
		if first.IsZero() {
			first = s.at[id]
		}
		last = s.at[id]
		env.Objects = append(env.Objects, json.RawMessage(fmt.Sprintf(`{"type":"x-test","id":%q}`, id)))
	}
	if len(env.Objects) > 0 {
		w.Header().Set(taxii.HeaderDateAddedFirst, taxii.FormatTimestamp(first))
		w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(last))
	}
	w.Header().Set("Content-Type", taxii.MediaType)
	json.NewEncoder(w).Encode(env)
}

// TestPollFutureDateAdded: a server that once gives an object a date_added
// far ahead of the node's clock (a clock that jumped, a bad import, or on
// purpose) doesn't move the feed's high-water mark there: every later
// incremental round would ask for objects added after the year 9999 and
// read nothing the server adds until the next full read (a day by
// default; never with Reread off). The mark stays within
// feed.MaxDateAddedAhead of the node's clock, so the next round reads
// what was added since.
func TestPollFutureDateAdded(t *testing.T) {
	ctx := context.Background()
	const a, b, c = "x-test--00000001-0000-4000-8000-000000000000", "x-test--00000002-0000-4000-8000-000000000000", "x-test--00000003-0000-4000-8000-000000000000"
	s := &datedServer{at: map[string]time.Time{}}
	s.add(a, epoch.Add(time.Millisecond))
	s.add(b, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))
	hs := httptest.NewServer(s)
	defer hs.Close()
	clock := epoch.Add(time.Hour)
	now := func() time.Time { return clock }
	k := &killable{Store: newStoreWith(t, feed.Feed{Name: "t", URL: hs.URL, Collection: "c", Into: "l", Member: "m", Reread: -1})}
	m := &sink{stored: map[string]int{}}
	if _, err := feed.Poll(ctx, k, m, k.feed(t), now, nil); err != nil {
		t.Fatal(err)
	}
	if hw := k.feed(t).HighWater; hw.After(clock.Add(feed.MaxDateAddedAhead)) {
		t.Errorf("high-water mark %s, more than %s ahead of the clock %s", hw, feed.MaxDateAddedAhead, clock)
	}
	s.add(c, epoch.Add(2*time.Hour))
	clock = epoch.Add(3 * time.Hour)
	if _, err := feed.Poll(ctx, k, m, k.feed(t), now, nil); err != nil {
		t.Fatal(err)
	}
	if m.stored[c] != 1 || m.stored[a] != 1 {
		t.Fatalf("stored %v: the object added after the round with a date_added in the future wasn't read", m.stored)
	}
}

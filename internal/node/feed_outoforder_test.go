package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
)

// sloppyTAXII is a TAXII 2.1 collection served as real servers serve one
// whose date_added doesn't grow with what they add: several writers
// whose transactions commit out of order, writers whose clocks disagree,
// objects inserted with the date_added of their source. added_after
// filters on date_added, as TAXII 2.1 says; what else it does is set per
// server.
type sloppyTAXII struct {
	mu      sync.Mutex
	entries []sloppyEntry // in the order they were added
	sloppyServing
	requests []string
}

// sloppyServing is how a sloppyTAXII serves.
type sloppyServing struct {
	// page is the server's own page size (smaller than the client's).
	page int
	// byDate serves by date_added (a stable sort: equal ones in the
	// order they were added); else in the order they were added, as a
	// server that pages its table by row does.
	byDate bool
	// next pages with next cursors (the offset into the query's
	// answer); else more without next, the client paging by
	// added_after.
	next bool
	// ignoreAddedAfter serves every object whatever added_after asks.
	ignoreAddedAfter bool
}

type sloppyEntry struct {
	n     int
	added time.Time
}

func sloppyID(n int) string { return fmt.Sprintf("indicator--%08x-0000-4000-8000-00000000000a", n) }

func (s *sloppyTAXII) add(n int, added time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, sloppyEntry{n, added})
}

func (s *sloppyTAXII) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	s.requests = append(s.requests, r.URL.RawQuery)
	var after time.Time
	if aa := q.Get("added_after"); aa != "" && !s.ignoreAddedAfter {
		var err error
		if after, err = taxii.ParseTimestamp(aa); err != nil {
			http.Error(w, "bad added_after", http.StatusBadRequest)
			return
		}
	}
	var match []sloppyEntry
	for _, e := range s.entries {
		if e.added.After(after) {
			match = append(match, e)
		}
	}
	if s.byDate {
		slices.SortStableFunc(match, func(a, b sloppyEntry) int { return a.added.Compare(b.added) })
	}
	start := 0
	if nx := q.Get("next"); nx != "" {
		off, err := strconv.Atoi(strings.TrimPrefix(nx, "o"))
		if err != nil || !s.next {
			http.Error(w, "bad next", http.StatusBadRequest)
			return
		}
		start = min(off, len(match))
	}
	end := min(start+s.page, len(match))
	env := taxii.Envelope{More: end < len(match)}
	if env.More && s.next {
		env.Next = fmt.Sprintf("o%d", end)
	}
	for _, e := range match[start:end] {
		ts := taxii.FormatTimestamp(e.added)
		env.Objects = append(env.Objects, json.RawMessage(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"sloppy %d","pattern":"[domain-name:value = 'o%d.example']","pattern_type":"stix","valid_from":%q}`,
			sloppyID(e.n), ts, ts, e.n, e.n, ts)))
	}
	if end > start {
		// As TAXII 2.1 says: the date_added of the first and of the last
		// object of the page, whatever the objects between.
		w.Header().Set(taxii.HeaderDateAddedFirst, taxii.FormatTimestamp(match[start].added))
		w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(match[end-1].added))
	}
	w.Header().Set("Content-Type", taxii.MediaType)
	json.NewEncoder(w).Encode(env)
}

// TestFeedOutOfOrderServers follows servers whose date_added lies about
// the order in which they add objects, into a real node: a round, objects
// added to the server after it, and two more rounds. Without an overlap
// (--overlap 0, and every feed before it existed) the objects added after
// the first round with a date_added before its newest are lost to every
// round that isn't a full read; the default overlap reads them all, and
// what it reads again is "already stored": no second version, no log
// entry, no "added" count. What is back-dated by more than the overlap
// is lost to incremental rounds (the documented limit: the next full
// read gets it). A server that ignores added_after and can't be paged
// without it says so in the feed's error instead of ending the round as
// if it had read everything.
func TestFeedOutOfOrderServers(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sec := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	type add struct {
		n     int
		added time.Time
	}
	seq := func(from, to int, at func(i int) time.Time) []add {
		var out []add
		for i := from; i < to; i++ {
			out = append(out, add{i, at(i)})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		srv  sloppyServing
		// first is on the server before the first round, later added
		// after it (before the second).
		first, later []add
		// lostNone: the objects missing after the rounds without an
		// overlap; lostDefault with the default one.
		lostNone, lostDefault []int
		err                   string // the error of the rounds after the first (default overlap)
	}{
		{
			// A second writer's transaction commits after the first
			// round: its objects carry the time it began.
			name:     "late commit by date",
			srv:      sloppyServing{page: 4, byDate: true, next: true},
			first:    seq(0, 10, func(i int) time.Time { return sec(i) }),
			later:    []add{{10, sec(5)}, {11, sec(3)}, {12, sec(11)}},
			lostNone: []int{10, 11},
		},
		{
			// Two writers, one's clock three minutes behind; paged by
			// row with next cursors, date_added out of order within
			// and across pages.
			name: "clock skew by row",
			srv:  sloppyServing{page: 3, next: true},
			first: seq(0, 9, func(i int) time.Time {
				if i%2 == 1 {
					return sec(60*i - 180)
				}
				return sec(60 * i)
			}),
			later:    []add{{9, sec(60*9 - 180)}, {10, sec(60 * 10)}, {11, sec(60*11 - 180)}},
			lostNone: []int{9},
		},
		{
			// More objects at one date_added than a page, across page
			// boundaries, and more of them added later (a server whose
			// clock counts seconds), paged with next cursors.
			name:  "one date_added across pages",
			srv:   sloppyServing{page: 4, byDate: true, next: true},
			first: append(seq(0, 3, func(i int) time.Time { return sec(i) }), seq(3, 9, func(int) time.Time { return sec(5) })...),
			later: seq(9, 12, func(int) time.Time { return sec(5) }),
		},
		{
			// The same paged by added_after alone, the batch no larger
			// than a page (a larger one can't be read past its first
			// page without next: TestPollWithoutNextSharedDateAdded).
			name:  "one date_added across pages without next",
			srv:   sloppyServing{page: 4, byDate: true},
			first: append(seq(0, 3, func(i int) time.Time { return sec(i) }), seq(3, 6, func(int) time.Time { return sec(5) })...),
			later: []add{{6, sec(5)}, {7, sec(7)}},
		},
		{
			// The objects of a source inserted with the source's own
			// date_added, a day old: beyond the overlap, only a full
			// read reads them.
			name:        "back-dated beyond the overlap",
			srv:         sloppyServing{page: 5, byDate: true, next: true},
			first:       seq(0, 6, func(i int) time.Time { return sec(i) }),
			later:       []add{{6, sec(-86400)}, {7, sec(2)}},
			lostNone:    []int{6, 7},
			lostDefault: []int{6},
		},
		{
			// added_after ignored, next cursors: every round reads it
			// all again, and stores it once.
			name:  "ignores added_after, with next",
			srv:   sloppyServing{page: 4, next: true, ignoreAddedAfter: true},
			first: seq(0, 7, func(i int) time.Time { return sec(i) }),
			later: []add{{7, sec(1)}, {8, sec(20)}},
		},
		{
			// added_after ignored and no next: past the first page
			// nothing can be read. The first round (no added_after)
			// reads the first page only; the error says so.
			name:        "ignores added_after, without next",
			srv:         sloppyServing{page: 4, byDate: true, ignoreAddedAfter: true},
			first:       seq(0, 9, func(i int) time.Time { return sec(i) }),
			later:       []add{{9, sec(20)}},
			lostNone:    []int{4, 5, 6, 7, 8, 9},
			lostDefault: []int{4, 5, 6, 7, 8, 9},
			err:         "ignores added_after",
		},
	} {
		for _, overlap := range []time.Duration{-1, 0} {
			name := tc.name + "/overlap none"
			lost := tc.lostNone
			if overlap == 0 {
				name, lost = tc.name+"/overlap default", tc.lostDefault
			}
			t.Run(name, func(t *testing.T) {
				srv := &sloppyTAXII{sloppyServing: tc.srv}
				for _, a := range tc.first {
					srv.add(a.n, a.added)
				}
				hs := httptest.NewServer(srv)
				defer hs.Close()
				clock := base.Add(time.Hour)
				n, _ := initNode(t, Options{Now: func() time.Time { return clock }})
				defer n.Close()
				f, err := n.AddFeed(ctx, FeedSpec{Name: "sloppy", URL: hs.URL + "/api/", Collection: "c", Into: "sloppy", Overlap: overlap})
				if err != nil {
					t.Fatal(err)
				}
				now := func() time.Time { return clock }
				f, err = feed.Poll(ctx, n.FeedStore(), n.FeedSink(), f, now, nil)
				// A server that ignores added_after fails the first round
				// too: it pages by added_after from its second page on.
				if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
					t.Fatalf("first round: %v, want error %q", err, tc.err)
				}
				for _, a := range tc.later {
					srv.add(a.n, a.added)
				}
				// Two more rounds, minutes apart: neither is a full read
				// (the first round was, and Reread is a day).
				for round := 2; round <= 3; round++ {
					clock = clock.Add(5 * time.Minute)
					f, err = feed.Poll(ctx, n.FeedStore(), n.FeedSink(), f, now, nil)
					if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
						t.Fatalf("round %d: %v, want error %q", round, err, tc.err)
					}
					if !f.FullRead.Equal(base.Add(time.Hour)) {
						t.Fatalf("round %d was a full read (%v)", round, f.FullRead)
					}
				}
				all := append(append([]add{}, tc.first...), tc.later...)
				p, err := n.store.Objects(ctx, store.Query{Collection: f.Into, Versions: []store.VersionSelector{{Kind: store.VersionAll}}, Limit: 1000})
				if err != nil || p.More {
					t.Fatalf("stored: %+v, %v", p, err)
				}
				have := map[string]int{}
				for _, o := range p.Objects {
					have[o.ID]++
				}
				var missing []int
				for _, a := range all {
					switch have[sloppyID(a.n)] {
					case 0:
						missing = append(missing, a.n)
					case 1:
					default:
						t.Errorf("object %d: %d versions stored, want 1", a.n, have[sloppyID(a.n)])
					}
				}
				if !slices.Equal(missing, lost) {
					t.Errorf("missing objects %v, want %v", missing, lost)
				}
				if f.Added != int64(len(have)) || f.Failed != 0 {
					t.Errorf("feed counts added %d, failed %d; %d objects stored", f.Added, f.Failed, len(have))
				}
				// Another round with nothing new: what comes again adds
				// no log entry and no version.
				size, err := n.store.LogSize(ctx)
				if err != nil {
					t.Fatal(err)
				}
				clock = clock.Add(5 * time.Minute)
				before := f.Added
				f, _ = feed.Poll(ctx, n.FeedStore(), n.FeedSink(), f, now, nil)
				if after, err := n.store.LogSize(ctx); err != nil || after != size || f.Added != before {
					t.Errorf("a round with nothing new: log %d -> %d (%v), added %d -> %d", size, after, err, before, f.Added)
				}
				// The next full read (a day on) reads what the overlap
				// didn't: all but what the server can't serve.
				clock = clock.Add(feed.DefaultReread)
				f, _ = feed.Poll(ctx, n.FeedStore(), n.FeedSink(), f, now, nil)
				if !f.FullRead.Equal(clock) {
					t.Fatalf("no full read a day on (%v)", f.FullRead)
				}
				var unread []int
				for _, a := range all {
					p, err := n.store.Objects(ctx, store.Query{Collection: f.Into, IDs: []string{sloppyID(a.n)}, Versions: []store.VersionSelector{{Kind: store.VersionAll}}, Limit: 10})
					if err != nil {
						t.Fatal(err)
					}
					if len(p.Objects) != 1 {
						unread = append(unread, a.n)
					}
				}
				var want []int // what no read gets: the server can't be paged
				if tc.err != "" {
					want = tc.lostDefault
				}
				if !slices.Equal(unread, want) {
					t.Errorf("after a full read: %v missing or duplicated, want %v", unread, want)
				}
			})
		}
	}
}

package feed_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/taxii"
)

// fullReadDue returns the feed "t" of a store for url that has read the
// whole collection of n objects once (its high-water mark at the newest
// object), a full read long ago: its next round, at now, is a full read.
func fullReadDue(t *testing.T, url string, n int) (*killable, func() time.Time) {
	t.Helper()
	hw := added(n - 1)
	st := newStoreWith(t, feed.Feed{Name: "t", URL: url, Collection: "c", Into: "l", Member: "m", Overlap: -1,
		FeedPosition: feed.Position{AddedAfter: feed.ResumeAfter(hw), HighWater: hw, FullRead: epoch, LastPoll: epoch.Add(time.Hour)}})
	clock := epoch.Add(2 * feed.DefaultReread)
	return &killable{Store: st}, func() time.Time { return clock }
}

// missing returns the objects 0 to n-1 of server that m was not given.
func missing(m *sink, n int) []int {
	var out []int
	for i := range n {
		if m.stored[objectID(i)] == 0 {
			out = append(out, i)
		}
	}
	return out
}

func objectID(i int) string { return fmt.Sprintf("x-test--%08d-0000-4000-8000-000000000000", i) }

// TestPollFullReadCursorExpires: a server forgets the cursor in the middle
// of a full read; the full read goes on from just before the newest
// date_added it has read, and every object of the collection is served to
// it. It used to go on from the high-water mark, which a full read is far
// behind: objects 14 to 38 (of 40) were not read until the next full read,
// a day later.
func TestPollFullReadCursorExpires(t *testing.T) {
	ctx := context.Background()
	const n = 40
	srv := &server{n: n}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k, now := fullReadDue(t, hs.URL, n)
	m := &sink{stored: map[string]int{}} // what the full read was given
	progress := func(f feed.Feed) {
		if f.Pages == 2 {
			srv.mu.Lock()
			srv.forget = true
			srv.mu.Unlock()
		}
	}
	f, err := feed.Poll(ctx, k, m, k.feed(t), now, progress)
	if err != nil {
		t.Fatal(err)
	}
	if miss := missing(m, n); len(miss) > 0 {
		t.Errorf("the full read never read objects %v (requests %q)", miss, srv.requests)
	}
	// The restart asked from just before object 13, the newest of page 2.
	if len(srv.requests) != 7 || !strings.Contains(srv.requests[3], "added_after="+url.QueryEscape(taxii.FormatTimestamp(added(12)))) {
		t.Errorf("requests %q", srv.requests)
	}
	// Ended as a round does: the progress cleared, the next round after
	// the high-water mark, the full read recorded.
	if f.Next != "" || !f.ReadTo.IsZero() || !f.AddedAfter.Equal(feed.ResumeAfter(added(n-1))) || !f.FullRead.Equal(now()) || f.LastError != "" {
		t.Errorf("position after the full read: %+v", f.FeedPosition)
	}
	if got := k.feed(t); got.FeedPosition != f.FeedPosition {
		t.Errorf("recorded %+v, returned %+v", got.FeedPosition, f.FeedPosition)
	}
}

// TestPollFullReadResumesAfterKill: the node is killed between two pages
// of a full read (the recorded position holds how far it read), and when
// it polls again the server has forgotten the cursor: the full read goes
// on from its recorded progress and every object is served to it. It
// used to go on from the high-water mark, skipping objects 21 to 38.
func TestPollFullReadResumesAfterKill(t *testing.T) {
	ctx := context.Background()
	const n = 40
	srv := &server{n: n}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k, now := fullReadDue(t, hs.URL, n)
	m := &sink{stored: map[string]int{}}
	k.failAt = 3 // the third page is stored, its position not recorded
	if _, err := feed.Poll(ctx, k, m, k.feed(t), now, nil); err == nil {
		t.Fatal("the killed round succeeded")
	}
	f := k.feed(t)
	if f.Next != "0.14" || !f.AddedAfter.IsZero() || !f.ReadTo.Equal(added(13)) || !f.FullRead.Equal(now()) {
		t.Fatalf("position after the kill: %+v", f.FeedPosition)
	}
	if !feed.Due(f, now()) {
		t.Errorf("a round cut short by a kill is not due at once")
	}
	// A new process: a new store value over the same database, and a
	// server that forgot every cursor while the node was down.
	k = &killable{Store: k.Store}
	srv.mu.Lock()
	srv.forget, srv.requests = true, nil
	srv.mu.Unlock()
	f, err := feed.Poll(ctx, k, m, f, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if miss := missing(m, n); len(miss) > 0 {
		t.Errorf("the full read never read objects %v (requests after the restart %q)", miss, srv.requests)
	}
	if f.Next != "" || !f.ReadTo.IsZero() || !f.AddedAfter.Equal(feed.ResumeAfter(added(n-1))) || f.LastError != "" {
		t.Errorf("position after the full read: %+v", f.FeedPosition)
	}
}

// TestPollFullReadCursorsExpireRepeatedly: a server whose cursors live
// for only a request or two: each time the full read goes on from where
// it got to, reads every object, and ends, in one round, in a bounded
// number of requests. The round used to go on once, from the high-water
// mark, and then fail: the full read never read most of the collection.
func TestPollFullReadCursorsExpireRepeatedly(t *testing.T) {
	ctx := context.Background()
	const n = 100 // 15 pages of 7
	for _, every := range []int{2, 3, 5} {
		srv := &server{n: n, expireEvery: every}
		hs := httptest.NewServer(srv)
		k, now := fullReadDue(t, hs.URL, n)
		m := &sink{stored: map[string]int{}}
		f, err := feed.Poll(ctx, k, m, k.feed(t), now, nil)
		hs.Close()
		if err != nil {
			t.Errorf("cursors forgotten every %d requests: %v", every, err)
		}
		if miss := missing(m, n); len(miss) > 0 {
			t.Errorf("cursors forgotten every %d requests: the full read never read objects %v", every, miss)
		}
		// Each cursor chain reads at least one page further; each
		// restart serves one object again.
		if len(srv.requests) > 2*(n/6+1) || f.Next != "" || !f.ReadTo.IsZero() {
			t.Errorf("cursors forgotten every %d requests: %d requests, position %+v", every, len(srv.requests), f.FeedPosition)
		}
	}
}

// TestPollCursorExpiresWithoutProgress: objects 3 to 13 share a
// date_added (a batch larger than the server's page of 7) and the server
// forgets every cursor it gives: going on from just before that
// date_added serves the same first page of the batch again and again.
// The round ends with an error after going on once without progress
// (never looping), recording where it got to (not the high-water mark:
// nothing skipped); the next round, the server's cursors honoured again,
// reads the rest.
func TestPollCursorExpiresWithoutProgress(t *testing.T) {
	ctx := context.Background()
	const n = 30
	srv := &server{n: n, expireEvery: 1, at: batchAt(3, 14)}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k, now := fullReadDue(t, hs.URL, n)
	m := &sink{stored: map[string]int{}}
	f, err := feed.Poll(ctx, k, m, k.feed(t), now, nil)
	if err == nil || !strings.Contains(err.Error(), "forgot") {
		t.Fatalf("Poll = %v, position %+v", err, f.FeedPosition)
	}
	// Page 0-6, its cursor refused; page 3-9 from just before
	// added(3), its cursor refused: no further, the end.
	if len(srv.requests) != 4 {
		t.Errorf("%d requests: %q", len(srv.requests), srv.requests)
	}
	got := k.feed(t)
	if got.Next != "" || !got.AddedAfter.Equal(feed.ResumeAfter(added(3))) || !got.ReadTo.Equal(added(3)) || !strings.Contains(got.LastError, "goes on from added_after 2026-01-01T00:00:00.003") || feed.Due(got, now()) {
		t.Errorf("recorded %+v", got.FeedPosition)
	}
	srv.mu.Lock()
	srv.expireEvery = 0
	srv.mu.Unlock()
	if f, err = feed.Poll(ctx, k, m, got, now, nil); err != nil {
		t.Fatal(err)
	}
	if miss := missing(m, n); len(miss) > 0 {
		t.Errorf("objects %v never read", miss)
	}
	if f.Next != "" || !f.ReadTo.IsZero() || f.LastError != "" || !f.FullRead.Equal(now()) {
		t.Errorf("position after the second round: %+v", f.FeedPosition)
	}
}

// TestPollFullReadWithoutNext: a server that pages by added_after alone,
// during a full read: a batch larger than a page (objects 3 to 13 at one
// date_added) is passed by going on after that date_added, not after the
// high-water mark, which skipped every object up to the newest; and a
// node killed between two pages is due at once and goes on from the
// recorded added_after.
func TestPollFullReadWithoutNext(t *testing.T) {
	ctx := context.Background()
	const n = 40
	srv := &server{n: n, noNext: true, at: batchAt(3, 14)}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k, now := fullReadDue(t, hs.URL, n)
	m := &sink{stored: map[string]int{}}
	k.failAt = 4
	if _, err := feed.Poll(ctx, k, m, k.feed(t), now, nil); err == nil {
		t.Fatal("the killed round succeeded")
	}
	f := k.feed(t)
	if f.Next != "" || f.AddedAfter.IsZero() || f.AddedAfter.After(added(20)) || f.ReadTo.IsZero() {
		t.Fatalf("position after the kill: %+v", f.FeedPosition)
	}
	// Due at once, as a round cut short with a cursor is; it used to wait
	// for the feed's interval.
	if !feed.Due(f, now()) {
		t.Errorf("a full read cut short without next is not due at once: %+v", f.FeedPosition)
	}
	k = &killable{Store: k.Store}
	f, err := feed.Poll(ctx, k, m, f, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The 4 objects of the batch after its first page can't be served
	// without next (as in TestPollWithoutNextSharedDateAdded).
	if miss := missing(m, n); len(miss) != 4 || miss[0] != 10 || miss[3] != 13 {
		t.Errorf("the full read never read objects %v (requests %q)", miss, srv.requests)
	}
	if f.Next != "" || !f.ReadTo.IsZero() || !f.AddedAfter.Equal(feed.ResumeAfter(added(n-1))) {
		t.Errorf("position after the full read: %+v", f.FeedPosition)
	}
}

// TestPollFullReadCursorCircle: the server's cursors go round in a circle
// in the middle of a full read (page 3 gives page 2's cursor again): the
// round ends with an error, as before, and the next round goes on from
// the newest date_added the full read has read. It used to go on from the
// high-water mark: objects 21 to 38 were not read until the next full
// read.
func TestPollFullReadCursorCircle(t *testing.T) {
	ctx := context.Background()
	const n = 40
	srv := &server{n: n, circleAt: 3}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k, now := fullReadDue(t, hs.URL, n)
	m := &sink{stored: map[string]int{}}
	f, err := feed.Poll(ctx, k, m, k.feed(t), now, nil)
	if err == nil || !strings.Contains(err.Error(), "circle") || feed.Due(f, now()) {
		t.Fatalf("Poll = %v, position %+v", err, f.FeedPosition)
	}
	if f.Next != "" || !f.AddedAfter.Equal(feed.ResumeAfter(added(20))) || !f.ReadTo.Equal(added(20)) {
		t.Errorf("position after the circle: %+v", f.FeedPosition)
	}
	f, err = feed.Poll(ctx, k, m, f, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if miss := missing(m, n); len(miss) > 0 {
		t.Errorf("the full read never read objects %v (requests %q)", miss, srv.requests)
	}
	if f.Next != "" || !f.ReadTo.IsZero() || !f.AddedAfter.Equal(feed.ResumeAfter(added(n-1))) || !f.FullRead.Equal(now()) {
		t.Errorf("position after the full read: %+v", f.FeedPosition)
	}
}

// TestPollCursorsRefusedSameStrings: a server that refuses every next
// cursor (bound to a session the client doesn't keep) and whose cursors
// count from the start of their query, so that the query by added_after
// after each forgotten cursor gives the same cursor string again. Each
// query by added_after is a new chain of cursors: the round reads the
// whole collection, a page a chain, without an error. Every cursor after
// the first used to count as "going round in a circle": the round ended
// with an error after 3 requests, and each later round read a page or
// two.
func TestPollCursorsRefusedSameStrings(t *testing.T) {
	ctx := context.Background()
	const n = 40
	srv := &server{n: n, refuseNext: true, relative: true}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k, now := fullReadDue(t, hs.URL, n)
	m := &sink{stored: map[string]int{}}
	f, err := feed.Poll(ctx, k, m, k.feed(t), now, nil)
	if err != nil {
		t.Fatalf("Poll = %v (requests %q)", err, srv.requests)
	}
	if miss := missing(m, n); len(miss) > 0 {
		t.Errorf("the full read never read objects %v (requests %q)", miss, srv.requests)
	}
	if f.Next != "" || !f.ReadTo.IsZero() || !f.AddedAfter.Equal(feed.ResumeAfter(added(n-1))) || f.LastError != "" {
		t.Errorf("position after the full read: %+v", f.FeedPosition)
	}
}

// TestPollCursorsRefusedAtBatch: objects 3 to 13 share a date_added (a
// batch larger than the server's page of 7) and the server honours no
// next cursor at all. The first round ends with an error where it can't
// read past the batch, and the next goes on from there, as
// TestPollCursorExpiresWithoutProgress has it; when that round gets no
// further either, the one after goes on after the batch, as for a server
// without next (objects 10 to 13 can't be had from it), and reads the
// rest of the collection. Every round used to go on from just before the
// batch: the feed was held there for ever, objects 14 to 29 (and all
// added later) never read.
func TestPollCursorsRefusedAtBatch(t *testing.T) {
	ctx := context.Background()
	const n = 30
	srv := &server{n: n, refuseNext: true, at: batchAt(3, 14)}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k, now := fullReadDue(t, hs.URL, n)
	m := &sink{stored: map[string]int{}}
	f := k.feed(t)
	var err error
	for round := 1; round <= 3; round++ {
		f, err = feed.Poll(ctx, k, m, f, now, nil)
		if round < 3 && (err == nil || !strings.Contains(err.Error(), "forgot")) {
			t.Fatalf("round %d: Poll = %v, position %+v", round, err, f.FeedPosition)
		}
		if round == 2 && (!f.AddedAfter.Equal(added(3)) || !strings.Contains(f.LastError, "may not have been read")) {
			t.Errorf("round 2 recorded %+v", f.FeedPosition)
		}
	}
	if err != nil {
		t.Fatalf("round 3: %v (requests %q)", err, srv.requests)
	}
	if miss := missing(m, n); len(miss) != 4 || miss[0] != 10 || miss[3] != 13 {
		t.Errorf("objects %v never read (requests %q)", miss, srv.requests)
	}
	if f.Next != "" || !f.ReadTo.IsZero() || !f.AddedAfter.Equal(feed.ResumeAfter(added(n-1))) || f.LastError != "" {
		t.Errorf("position after the third round: %+v", f.FeedPosition)
	}
}

// TestPollFullReadGoesOnPastReread: a full read cut short (here killed
// after its third page, on a server without next) goes on where it got to
// at the next round even when Reread has passed again meanwhile: starting
// the full read over at each round would never finish one on a server
// slower than Reread.
func TestPollFullReadGoesOnPastReread(t *testing.T) {
	ctx := context.Background()
	const n = 40
	srv := &server{n: n, noNext: true}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k, now := fullReadDue(t, hs.URL, n)
	m := &sink{stored: map[string]int{}}
	k.failAt = 4
	if _, err := feed.Poll(ctx, k, m, k.feed(t), now, nil); err == nil {
		t.Fatal("the killed round succeeded")
	}
	f := k.feed(t)
	if f.ReadTo.IsZero() {
		t.Fatalf("no read_to after the kill: %+v", f.FeedPosition)
	}
	started := f.FullRead
	later := func() time.Time { return now().Add(2 * feed.DefaultReread) }
	k = &killable{Store: k.Store}
	asked := len(srv.requests)
	f, err := feed.Poll(ctx, k, m, f, later, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q := srv.requests[asked]; !strings.Contains(q, "added_after=") {
		t.Errorf("the next round began the full read again (%q) instead of going on from %v", q, f.ReadTo)
	}
	if !f.FullRead.Equal(started) {
		t.Errorf("full read recorded at %v, want the one in progress (%v)", f.FullRead, started)
	}
	if miss := missing(m, n); len(miss) != 0 {
		t.Errorf("never read objects %v", miss)
	}
}

// TestPollFullReadCursorEchoed: a full read killed after its second page
// goes on with its recorded cursor, and the server answers that cursor
// with the same cursor again. That is a circle too (the round's seen
// cursors, new after the kill, don't hold it): the round ends with an error
// and the next goes on from where the full read got to. It used to end the
// round as complete and go on from the high-water mark, so objects 21 to
// 38 were not read until the next full read.
func TestPollFullReadCursorEchoed(t *testing.T) {
	ctx := context.Background()
	const n = 40
	srv := &server{n: n, echoAt: 4}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k, now := fullReadDue(t, hs.URL, n)
	m := &sink{stored: map[string]int{}}
	k.failAt = 3
	if _, err := feed.Poll(ctx, k, m, k.feed(t), now, nil); err == nil {
		t.Fatal("the killed round succeeded")
	}
	f := k.feed(t)
	if f.Next == "" {
		t.Fatalf("no cursor recorded: %+v", f.FeedPosition)
	}
	k = &killable{Store: k.Store}
	f, err := feed.Poll(ctx, k, m, f, now, nil)
	if err == nil || !strings.Contains(err.Error(), "circle") {
		t.Fatalf("Poll = %v, position %+v; want the circle said", err, f.FeedPosition)
	}
	if f, err = feed.Poll(ctx, k, m, f, now, nil); err != nil {
		t.Fatal(err)
	}
	if miss := missing(m, n); len(miss) != 0 {
		t.Errorf("never read objects %v (requests %q)", miss, srv.requests)
	}
}

// batchAt sets up a server's dates (its at) with one batch: objects from
// to to-1 share the date_added of object from (added(from)); every other
// object i has added(i).
func batchAt(from, to int) func(i int) time.Time {
	return func(i int) time.Time {
		if i >= from && i < to {
			return added(from)
		}
		return added(i)
	}
}

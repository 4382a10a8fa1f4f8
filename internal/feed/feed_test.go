package feed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/taxii"
)

func TestClient(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	jsonTok := filepath.Join(dir, "member.json")
	os.WriteFile(jsonTok, []byte(`{"id":"identity--x","token":"parley_abc"}`), 0o600)
	badJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(badJSON, []byte(`{"id":"identity--x"}`), 0o600)
	// A secret file of 1 GiB (sparse), read again for every poll, fails
	// naming its bound; it was read whole.
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(huge, nil, 0o600); err != nil || os.Truncate(huge, 1<<30) != nil {
		t.Fatal(err)
	}
	// An empty or binary secret file is refused when the feed is added
	// (and at each poll): it was sent as the token or password.
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	binary := filepath.Join(dir, "binary")
	os.WriteFile(binary, []byte("\x00\x01\xffk\x1b"), 0o600)
	for _, tc := range []struct {
		name                        string
		f                           feed.Feed
		base, root, token, user, pw string
		err                         string
	}{
		{name: "base url", f: feed.Feed{URL: "https://node.example/"}, base: "https://node.example"},
		{name: "api root", f: feed.Feed{URL: "https://attack-taxii.mitre.org/api/v21"}, base: "https://attack-taxii.mitre.org", root: "https://attack-taxii.mitre.org/api/v21/"},
		{name: "bearer", f: feed.Feed{URL: "http://n", Auth: feed.AuthBearer, SecretFile: secret}, base: "http://n", token: "s3cret"},
		{name: "basic", f: feed.Feed{URL: "http://n", Auth: feed.AuthBasic, User: "octi", SecretFile: secret}, base: "http://n", user: "octi", pw: "s3cret"},
		{name: "member add --json", f: feed.Feed{URL: "http://n", Auth: feed.AuthBearer, SecretFile: jsonTok}, base: "http://n", token: "parley_abc"},
		{name: "json without token", f: feed.Feed{URL: "http://n", Auth: feed.AuthBearer, SecretFile: badJSON}, err: `without a "token"`},
		{name: "no secret file", f: feed.Feed{URL: "http://n", Auth: feed.AuthBearer, SecretFile: filepath.Join(dir, "nope")}, err: "couldn't read the secret file"},
		{name: "huge secret file", f: feed.Feed{URL: "http://n", Auth: feed.AuthBearer, SecretFile: huge}, err: "huge: larger than 64 KiB"},
		{name: "empty secret file", f: feed.Feed{URL: "http://n", Auth: feed.AuthBasic, User: "u", SecretFile: empty}, err: "empty is empty"},
		{name: "empty token file", f: feed.Feed{URL: "http://n", Auth: feed.AuthBearer, SecretFile: empty}, err: "is empty"},
		{name: "binary secret file", f: feed.Feed{URL: "http://n", Auth: feed.AuthBasic, User: "u", SecretFile: binary}, err: "holds binary data"},
		{name: "not http", f: feed.Feed{URL: "ftp://n"}, err: "not an http(s) URL"},
		{name: "no host", f: feed.Feed{URL: "http:///x"}, err: "not an http(s) URL"},
	} {
		c, err := feed.Client(tc.f)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || c.BaseURL != tc.base || c.Root != tc.root || c.Token != tc.token || c.User != tc.user || c.Password != tc.pw {
			t.Errorf("%s: client = %+v, %v", tc.name, c, err)
		}
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{"ics": true, "mitre.attack-ics_1": true, "": false, "a b": false, "a/b": false, strings.Repeat("a", 65): false} {
		if err := feed.CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v", name, err)
		}
	}
}

// server is a small TAXII 2.1 server of n objects added one millisecond
// apart, with next cursors "GENERATION.OFFSET"; setting forget expires
// the cursors issued before (as servers with session cursors do), and it
// omits X-TAXII-Date-Added-Last when noHeaders is set.
type server struct {
	mu        sync.Mutex
	n         int
	gen       int
	forget    bool
	noHeaders bool
	noNext    bool // page by added_after alone: more, but no next
	// expireEvery, when above 0, forgets the cursors issued before at
	// every expireEvery-th request (a server whose cursors live for a
	// few requests).
	expireEvery int
	// circleAt, when above 0, is the request whose next cursor is the
	// one given before it (cursors going round in a circle).
	circleAt int
	// echoAt, when above 0, is the request whose next cursor is the one
	// it was asked with (a cursor echoed back).
	echoAt int
	// refuseNext refuses every next cursor (cursors bound to a session
	// the client doesn't keep), and relative gives cursors counted from
	// the start of their query, so that a query by another added_after
	// gives the same cursor strings again.
	refuseNext, relative bool
	lastNext             string
	requests             []string
	// at, when not nil, is the date_added of object i instead of
	// added(i).
	at func(i int) time.Time
}

func (s *server) added(i int) time.Time {
	if s.at != nil {
		return s.at(i)
	}
	return added(i)
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func added(i int) time.Time { return epoch.Add(time.Duration(i+1) * time.Millisecond) }

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.URL.RawQuery)
	q := r.URL.Query()
	start := 0
	if aa := q.Get("added_after"); aa != "" {
		t, err := taxii.ParseTimestamp(aa)
		if err != nil {
			http.Error(w, "bad added_after", 400)
			return
		}
		for start < s.n && !s.added(start).After(t) {
			start++
		}
	}
	if s.forget || s.expireEvery > 0 && len(s.requests)%s.expireEvery == 0 {
		s.gen, s.forget = s.gen+1, false
	}
	first := start // the query's first object
	if nx := q.Get("next"); nx != "" {
		var gen, off int
		_, err := fmt.Sscanf(nx, "%d.%d", &gen, &off)
		if err != nil || gen != s.gen || s.refuseNext {
			w.Header().Set("Content-Type", taxii.MediaType)
			w.WriteHeader(400)
			w.Write([]byte(`{"title":"unknown next"}`))
			return
		}
		if s.relative {
			off += first
		}
		start = max(start, off)
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	limit = min(max(limit, 1), 7) // the server's own page size wins
	end := min(start+limit, s.n)
	env := taxii.Envelope{More: end < s.n}
	if env.More && !s.noNext {
		env.Next = fmt.Sprintf("%d.%d", s.gen, end)
		if s.relative {
			env.Next = fmt.Sprintf("%d.%d", s.gen, end-first)
		}
		if len(s.requests) == s.circleAt {
			env.Next = s.lastNext
		}
		if len(s.requests) == s.echoAt && q.Get("next") != "" {
			env.Next = q.Get("next")
		}
		s.lastNext = env.Next
	}
	for i := start; i < end; i++ {
		env.Objects = append(env.Objects, json.RawMessage(fmt.Sprintf(`{"type":"x-test","id":"x-test--%08d-0000-4000-8000-000000000000"}`, i)))
	}
	if end > start && !s.noHeaders {
		w.Header().Set(taxii.HeaderDateAddedFirst, taxii.FormatTimestamp(s.added(start)))
		w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(s.added(end-1)))
	}
	w.Header().Set("Content-Type", taxii.MediaType)
	json.NewEncoder(w).Encode(env)
}

// newStore returns a node's SQLite store in a temporary directory holding
// the feed "t" (member "m", local collection "l") for url. The feed has
// no overlap: the tests that use it follow servers whose date_added grows
// with what they add, and check the cursor's every step (the overlap is
// tested in internal/node's TestFeedOutOfOrderServers).
func newStore(t testing.TB, url string) *sqlite.Store {
	t.Helper()
	return newStoreWith(t, feed.Feed{Name: "t", URL: url, Collection: "c", Into: "l", Member: "m", Overlap: -1})
}

// newStoreWith is newStore with the feed f (into "l", as member "m").
func newStoreWith(t testing.TB, f feed.Feed) *sqlite.Store {
	t.Helper()
	return newStoreAt(t, filepath.Join(t.TempDir(), "parley.db"), f)
}

// newStoreAt is newStoreWith with the database at path.
func newStoreAt(t testing.TB, path string, f feed.Feed) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.AddMember(ctx, store.Member{ID: "m", Name: "feed:t", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "l", Title: "l", Writers: []string{"m"}, Relay: true, Signatures: store.SignaturesOptional}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFeed(ctx, f); err != nil {
		t.Fatal(err)
	}
	return s
}

// killable is a feed store whose RecordPoll fails from its failAt-th call
// on (0: never), like a node killed after storing a page and before
// recording its position. The mark of a round's start (RoundStarted set,
// no page stored since RoundFrom) isn't counted.
type killable struct {
	feed.Store
	failAt, calls int
}

func (k *killable) RecordPoll(ctx context.Context, name string, p feed.Position) error {
	if !p.RoundStarted.IsZero() && p.Pages == p.RoundFrom {
		return k.Store.RecordPoll(ctx, name, p)
	}
	k.calls++
	if k.failAt > 0 && k.calls >= k.failAt {
		return fmt.Errorf("killed")
	}
	return k.Store.RecordPoll(ctx, name, p)
}

func (k *killable) feed(t testing.TB) feed.Feed {
	t.Helper()
	fs, err := k.Feeds(context.Background())
	if err != nil || len(fs) != 1 {
		t.Fatalf("Feeds = %+v, %v", fs, err)
	}
	return fs[0]
}

// sink stands for the node's submission pipeline: it stores each object
// id once and answers "already stored" for a repeat, as the node does;
// stored counts how often each id was posted.
type sink struct {
	mu     sync.Mutex // rounds of several feeds run side by side
	stored map[string]int
	refuse func(id string) bool // nil: refuse nothing
}

func (m *sink) Submit(_ context.Context, _, _ string, objs []json.RawMessage) (store.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var st store.Status
	for _, o := range objs {
		var v struct{ ID string }
		json.Unmarshal(o, &v)
		if m.refuse != nil && m.refuse(v.ID) {
			st.Failures = append(st.Failures, store.StatusDetail{ID: v.ID, Version: "2026-01-01T00:00:00.000Z", Message: store.VersionConflictMessage})
			continue
		}
		msg := ""
		if m.stored[v.ID] > 0 {
			msg = "already stored"
		}
		m.stored[v.ID]++
		st.Successes = append(st.Successes, store.StatusDetail{ID: v.ID, Message: msg})
	}
	return st, nil
}

// TestPoll follows a paging server: killed after the third page's objects
// are stored, resumed from the recorded position, the object set is
// complete with the killed page stored twice (idempotently) and counted
// once as added; a server that forgets cursors makes the round restart
// from the high-water mark; one without X-TAXII-Date-Added-Last is re-read
// every round without duplicates.
func TestPoll(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return epoch.Add(time.Hour) }
	for _, tc := range []struct {
		name       string
		forget     bool
		noHeaders  bool
		wantAdded  int64
		wantExist  int64
		wantHigh   time.Time
		wantSecond int // requests of the second round
	}{
		{name: "spec server", wantAdded: 23 - 7, wantExist: 7, wantHigh: added(22), wantSecond: 1},
		// The restart asks from just before the high-water mark, as every
		// round does: the object at the mark comes again.
		{name: "forgets cursors", forget: true, wantAdded: 23 - 7, wantExist: 8, wantHigh: added(22), wantSecond: 1},
		{name: "no date headers", noHeaders: true, wantAdded: 23 - 7, wantExist: 7, wantHigh: time.Time{}, wantSecond: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &server{n: 23, noHeaders: tc.noHeaders}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			k := &killable{Store: newStore(t, hs.URL), failAt: 3}
			m := &sink{stored: map[string]int{}}
			if _, err := feed.Poll(ctx, k, m, k.feed(t), now, nil); err == nil {
				t.Fatal("the killed round succeeded")
			}
			k.failAt = 0
			srv.mu.Lock()
			srv.forget = tc.forget
			srv.mu.Unlock()
			f := k.feed(t)
			if f.Next != "0.14" || f.Pages != 2 || f.Added != 14 {
				t.Fatalf("position after the kill: %+v", f.FeedPosition)
			}
			var pages int
			f, err := feed.Poll(ctx, k, m, f, now, func(feed.Feed) { pages++ })
			if err != nil {
				t.Fatal(err)
			}
			if len(m.stored) != 23 {
				t.Fatalf("%d objects stored, want 23", len(m.stored))
			}
			// The next round asks from a millisecond (the precision of
			// the server's date_added) before the high-water mark.
			wantAfter := tc.wantHigh
			if !wantAfter.IsZero() {
				wantAfter = wantAfter.Add(-time.Millisecond)
			}
			if f.Added != tc.wantAdded || f.Existing != tc.wantExist || !f.HighWater.Equal(tc.wantHigh) || f.Next != "" || !f.AddedAfter.Equal(wantAfter) {
				t.Fatalf("position = %+v", f.FeedPosition)
			}
			if stored := k.feed(t); stored.FeedPosition != f.FeedPosition {
				t.Fatalf("recorded %+v, returned %+v", stored.FeedPosition, f.FeedPosition)
			}
			srv.mu.Lock()
			srv.requests = nil
			srv.mu.Unlock()
			before := f.FeedPosition
			if f, err = feed.Poll(ctx, k, m, f, now, nil); err != nil || f.Added != before.Added {
				t.Fatalf("second round: %+v, %v", f.FeedPosition, err)
			}
			if len(srv.requests) != tc.wantSecond {
				t.Errorf("second round made %d requests (%q), want %d", len(srv.requests), srv.requests, tc.wantSecond)
			}
		})
	}
}

// TestPollRecordsErrors: a server error ends the round and is recorded as
// the feed's last error; the position does not move.
func TestPollRecordsErrors(t *testing.T) {
	ctx := context.Background()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer hs.Close()
	k := &killable{Store: newStore(t, hs.URL)}
	if _, err := feed.Poll(ctx, k, &sink{stored: map[string]int{}}, k.feed(t), time.Now, nil); err == nil {
		t.Fatal("no error")
	}
	got := k.feed(t)
	if !strings.Contains(got.LastError, "503") || got.LastPoll.IsZero() || got.Pages != 0 || got.Next != "" {
		t.Fatalf("recorded %+v", got.FeedPosition)
	}
}

func TestDue(t *testing.T) {
	now := epoch.Add(24 * time.Hour)
	for _, tc := range []struct {
		name string
		f    feed.Feed
		want bool
	}{
		{"never polled", feed.Feed{}, true},
		{"interval passed", feed.Feed{Interval: time.Hour, FeedPosition: feed.Position{LastPoll: now.Add(-time.Hour)}}, true},
		{"default interval not passed", feed.Feed{FeedPosition: feed.Position{LastPoll: now.Add(-time.Minute)}}, false},
		{"default interval passed", feed.Feed{FeedPosition: feed.Position{LastPoll: now.Add(-feed.DefaultInterval)}}, true},
		{"cut short mid-round", feed.Feed{Interval: time.Hour, FeedPosition: feed.Position{LastPoll: now, Next: "7"}}, true},
		{"failed mid-round", feed.Feed{Interval: time.Hour, FeedPosition: feed.Position{LastPoll: now, Next: "7", LastError: "503"}}, false},
		// A server that pages by added_after alone: no cursor, the
		// round's progress recorded. It used to wait for the interval.
		{"cut short mid-round without next", feed.Feed{Interval: time.Hour, FeedPosition: feed.Position{LastPoll: now, AddedAfter: epoch, ReadTo: epoch.Add(time.Microsecond)}}, true},
		{"failed mid-round without next", feed.Feed{Interval: time.Hour, FeedPosition: feed.Position{LastPoll: now, AddedAfter: epoch, ReadTo: epoch.Add(time.Microsecond), LastError: "503"}}, false},
		{"between rounds", feed.Feed{Interval: time.Hour, FeedPosition: feed.Position{LastPoll: now, AddedAfter: epoch, HighWater: epoch.Add(time.Millisecond)}}, false},
	} {
		if got := feed.Due(tc.f, now); got != tc.want {
			t.Errorf("%s: Due = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPollCountsFailures: objects the node refuses are counted as failed,
// the last one named in LastFailure, and do not stop the round.
func TestPollCountsFailures(t *testing.T) {
	ctx := context.Background()
	hs := httptest.NewServer(&server{n: 23})
	defer hs.Close()
	k := &killable{Store: newStore(t, hs.URL)}
	m := &sink{stored: map[string]int{}, refuse: func(id string) bool { return strings.HasPrefix(id, "x-test--0000001") }}
	f, err := feed.Poll(ctx, k, m, k.feed(t), time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "x-test--00000019-0000-4000-8000-000000000000 2026-01-01T00:00:00.000Z: " + store.VersionConflictMessage
	if f.Added != 13 || f.Failed != 10 || f.LastFailure != want || f.Next != "" {
		t.Fatalf("position = %+v", f.FeedPosition)
	}
	if got := k.feed(t); got.LastFailure != want || got.Failed != 10 {
		t.Fatalf("recorded %+v", got.FeedPosition)
	}
}

// TestPollWithoutNext: a server that pages by added_after alone (more
// true, no next) is followed to the end in one round.
func TestPollWithoutNext(t *testing.T) {
	ctx := context.Background()
	srv := &server{n: 23, noNext: true}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k := &killable{Store: newStore(t, hs.URL)}
	m := &sink{stored: map[string]int{}}
	f, err := feed.Poll(ctx, k, m, k.feed(t), time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Each page after the first asks from just before the newest
	// date_added of the one before, which it serves again.
	if f.Added != 23 || f.Existing != 3 || f.Pages != 4 || !f.HighWater.Equal(added(22)) || len(srv.requests) != 4 {
		t.Fatalf("position = %+v after %d requests", f.FeedPosition, len(srv.requests))
	}
	for id, n := range m.stored {
		if n > 2 {
			t.Errorf("%s posted %d times", id, n)
		}
	}
}

// TestPollWithoutNextSharedDateAdded: a server that pages by added_after
// alone holds objects that share a date_added (added in one batch) across
// a page boundary: every one of them is stored, and a batch larger than a
// page does not stop the round. Asking added_after the page's newest
// date_added (exclusive) used to skip the rest of the batch for ever.
func TestPollWithoutNextSharedDateAdded(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		n         int
		batch     [2]int // objects batch[0] to batch[1]-1 share a date_added
		wantAdded int64
	}{
		{"batch across a boundary", 20, [2]int{5, 10}, 20},
		// 11 at one date_added, the server's pages 7: it can't serve the
		// 4 after a page of 7 of them without next.
		{"batch larger than a page", 30, [2]int{3, 14}, 30 - 4},
	} {
		srv := &server{n: tc.n, noNext: true, at: batchAt(tc.batch[0], tc.batch[1])}
		hs := httptest.NewServer(srv)
		k := &killable{Store: newStore(t, hs.URL)}
		m := &sink{stored: map[string]int{}}
		f, err := feed.Poll(ctx, k, m, k.feed(t), time.Now, nil)
		hs.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if f.Added != tc.wantAdded || int64(len(m.stored)) != tc.wantAdded || !f.HighWater.Equal(added(tc.n-1)) || f.Next != "" {
			t.Errorf("%s: position = %+v, %d ids stored, after %v", tc.name, f.FeedPosition, len(m.stored), srv.requests)
		}
	}
}

// FuzzPoll feeds Poll arbitrary server responses (with a fixed
// X-TAXII-Date-Added-Last, or none, and for bodies of odd length an
// X-TAXII-Date-Added-First before every added_after the round asks, as a
// server that ignores added_after gives): it must end the round, never panic,
// and either record its position or record an error.
func FuzzPoll(f *testing.F) {
	f.Add([]byte(`{"more":false,"objects":[{"type":"x-test","id":"x-test--1"}]}`), true)
	f.Add([]byte(`{"more":true,"next":"n","objects":[{"type":"x-test","id":"x-test--1"}]}`), true)
	f.Add([]byte(`{"more":true,"objects":[{"id":"a"},{"id":"a"}]}`), false)
	f.Add([]byte(`{"more":true,"next":""}`), true)
	f.Add([]byte(`not json`), true)
	var body []byte
	var header bool
	var requests int
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		if header {
			w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(added(1)))
			if len(body)%2 == 1 {
				// A page that begins long before any added_after asked:
				// a server that ignores added_after.
				w.Header().Set(taxii.HeaderDateAddedFirst, taxii.FormatTimestamp(epoch.Add(-time.Hour)))
			}
		}
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Write(body)
	}))
	defer hs.Close()
	k := &killable{Store: newStore(f, hs.URL)}
	f.Fuzz(func(t *testing.T, b []byte, h bool) {
		ctx := context.Background()
		body, header, requests = b, h, 0
		if err := k.RecordPoll(ctx, "t", feed.Position{}); err != nil {
			t.Fatal(err)
		}
		m := &sink{stored: map[string]int{}}
		pos, err := feed.Poll(ctx, k, m, k.feed(t), time.Now, nil)
		if requests > 3 {
			t.Fatalf("%d requests in one round", requests)
		}
		got := k.feed(t)
		if err != nil && got.LastError == "" {
			t.Fatalf("error %v not recorded", err)
		}
		if err == nil && (got.FeedPosition != pos.FeedPosition || got.Next != "") {
			t.Fatalf("recorded %+v, returned %+v", got.FeedPosition, pos.FeedPosition)
		}
	})
}

// A server that accepts the request and then never answers (or trickles
// its page) ends the round with an error after the request timeout,
// recorded in the feed's status, instead of holding feed.Run, which polls
// the node's feeds one after another, for ever.
func TestPollServerNeverAnswers(t *testing.T) {
	defer feed.SetRequestTimeout(300 * time.Millisecond)()
	defer feed.SetStallTimeout(300*time.Millisecond, 1)()
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"objects":[`))
		w.(http.Flusher).Flush()
		<-release
	}))
	defer hs.Close()
	defer close(release)
	k := &killable{Store: newStore(t, hs.URL)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := feed.Poll(ctx, k, &sink{stored: map[string]int{}}, k.feed(t), time.Now, nil)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Poll = %v after %v (the test's own deadline: %v)", err, time.Since(start), ctx.Err())
	}
	if got := k.feed(t); got.LastError == "" {
		t.Fatalf("recorded %+v", got.FeedPosition)
	}
}

// A refusal the feed records names the refused object's id and the
// node's reason cut to a few hundred bytes: a hostile server's object id
// of a megabyte doesn't go whole into the feed's status.
func TestPollClipsRecordedFailure(t *testing.T) {
	ctx := context.Background()
	huge := strings.Repeat("a", 1<<20)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		json.NewEncoder(w).Encode(map[string]any{"objects": []any{map[string]any{"type": "x-test", "id": "x-test--" + huge}}})
	}))
	defer hs.Close()
	k := &killable{Store: newStore(t, hs.URL)}
	m := &sink{stored: map[string]int{}, refuse: func(string) bool { return true }}
	if _, err := feed.Poll(ctx, k, m, k.feed(t), time.Now, nil); err != nil {
		t.Fatal(err)
	}
	if got := k.feed(t); got.Failed != 1 || got.LastFailure == "" || len(got.LastFailure) > 1000 {
		t.Fatalf("recorded a failure of %d bytes: %.200q", len(got.LastFailure), got.LastFailure)
	}
}

// A server whose next cursors go round in a circle (a, b, a, ...) ends
// the round with an error at the first cursor it gives twice, recorded,
// instead of 10,000 pages a round and a next round at once.
func TestPollCursorCircle(t *testing.T) {
	ctx := context.Background()
	var pages int
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages++
		next := "a"
		if r.URL.Query().Get("next") == "a" {
			next = "b"
		}
		w.Header().Set("Content-Type", taxii.MediaType)
		json.NewEncoder(w).Encode(map[string]any{"more": true, "next": next, "objects": []any{map[string]any{"type": "x-test", "id": fmt.Sprintf("x-test--%d", pages)}}})
	}))
	defer hs.Close()
	k := &killable{Store: newStore(t, hs.URL)}
	_, err := feed.Poll(ctx, k, &sink{stored: map[string]int{}}, k.feed(t), time.Now, nil)
	got := k.feed(t)
	if err == nil || pages > 3 || !strings.Contains(got.LastError, "circle") || got.Next != "" || feed.Due(got, time.Now()) {
		t.Fatalf("%d pages, %v; recorded %+v", pages, err, got.FeedPosition)
	}
}

// A server that always has another page, with a new cursor each time,
// each page answered within the request timeout however slowly, ends
// the round once maxRoundTime has passed, its position kept (due again
// at once), not after 10,000 pages: feed.Run polls the feeds one after
// another, and the others waited for hours (two feeds under parley serve,
// one of them such a server at half a second a page: the other was not
// polled in 45 s). With the bound at a nanosecond, every round is one
// page; it used to go on to the test's deadline or 10,000 pages.
func TestPollEndlessServerRoundTime(t *testing.T) {
	defer feed.SetMaxRoundTime(time.Nanosecond)()
	var mu sync.Mutex
	pages := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pages++
		p := pages
		mu.Unlock()
		w.Header().Set("Content-Type", taxii.MediaType)
		json.NewEncoder(w).Encode(map[string]any{"more": true, "next": fmt.Sprint("n", p), "objects": []any{map[string]any{"type": "x-test", "id": fmt.Sprintf("x-test--%d", p)}}})
	}))
	defer hs.Close()
	k := &killable{Store: newStore(t, hs.URL)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := k.feed(t)
	for round := 1; round <= 3; round++ {
		var err error
		f, err = feed.Poll(ctx, k, &sink{stored: map[string]int{}}, f, time.Now, nil)
		if err != nil || ctx.Err() != nil {
			t.Fatalf("round %d: Poll = %v (the test's own deadline: %v)", round, err, ctx.Err())
		}
		if f.Pages != int64(round) || f.Next != fmt.Sprint("n", round) || f.LastError != "" || !feed.Due(f, time.Now()) {
			t.Fatalf("after round %d: %+v, due %v", round, f.FeedPosition, feed.Due(f, time.Now()))
		}
	}
}

// A server whose first page is empty but says more, with a next cursor
// (it filtered the page after reading it), is followed to its objects.
// The round used to end at the empty page, and every round began there
// again: the feed stored nothing, for ever, with no error (black-box,
// with parley feed poll).
func TestPollEmptyPageWithMore(t *testing.T) {
	ctx := context.Background()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		switch r.URL.Query().Get("next") {
		case "":
			w.Write([]byte(`{"more":true,"next":"p1"}`))
		case "p1":
			w.Write([]byte(`{"more":true,"next":"p2","objects":[]}`))
		default:
			w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(added(1)))
			w.Write([]byte(`{"more":false,"objects":[{"type":"x-test","id":"x-test--1"},{"type":"x-test","id":"x-test--2"}]}`))
		}
	}))
	defer hs.Close()
	k := &killable{Store: newStore(t, hs.URL)}
	m := &sink{stored: map[string]int{}}
	f, err := feed.Poll(ctx, k, m, k.feed(t), time.Now, nil)
	if err != nil || f.Added != 2 || f.Pages != 3 || f.Next != "" || !f.HighWater.Equal(added(1)) {
		t.Fatalf("after a round: %+v, %v", f.FeedPosition, err)
	}
}

// TestPollSameSecond: a server whose clock counts whole seconds gives an
// object added later in a second the date_added of the objects added
// before it in that second; the next round asks from a second before the
// high-water mark, so that it is not skipped.
func TestPollSameSecond(t *testing.T) {
	ctx := context.Background()
	at := epoch.Add(5 * time.Second)
	srv := &server{n: 3, at: func(int) time.Time { return at }}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	k := &killable{Store: newStore(t, hs.URL)}
	m := &sink{stored: map[string]int{}}
	now := func() time.Time { return epoch.Add(time.Hour) }
	f, err := feed.Poll(ctx, k, m, k.feed(t), now, nil)
	if err != nil || len(m.stored) != 3 {
		t.Fatalf("first round: %d stored, %v", len(m.stored), err)
	}
	srv.mu.Lock()
	srv.n = 4 // added in the same second, after the round
	srv.mu.Unlock()
	if f, err = feed.Poll(ctx, k, m, f, now, nil); err != nil {
		t.Fatal(err)
	}
	if len(m.stored) != 4 || f.Added != 4 || f.Existing != 3 {
		t.Errorf("second round: %d objects stored, %d added, %d already stored; want 4, 4, 3", len(m.stored), f.Added, f.Existing)
	}
}

// TestResumeAfter: the next round's added_after is one unit of the
// high-water mark's precision before it.
func TestResumeAfter(t *testing.T) {
	base := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, c := range []struct{ hw, want time.Time }{
		{time.Time{}, time.Time{}},
		{base, base.Add(-time.Second)},
		{base.Add(250 * time.Millisecond), base.Add(249 * time.Millisecond)},
		{base.Add(250100 * time.Microsecond), base.Add(250099 * time.Microsecond)},
		{base.Add(7), base.Add(6)},
	} {
		if got := feed.ResumeAfter(c.hw); !got.Equal(c.want) {
			t.Errorf("ResumeAfter(%v) = %v, want %v", c.hw, got, c.want)
		}
	}
}

// workbench serves a collection as MITRE's ATT&CK Workbench TAXII server
// does: an object's date_added is its created time (which its new
// versions keep), added_after compares it, and the latest version of each
// object is served (all on one page).
type workbench struct {
	mu       sync.Mutex
	modified map[int]time.Time // object -> its latest version
}

func (s *workbench) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var after time.Time
	if aa := r.URL.Query().Get("added_after"); aa != "" {
		var err error
		if after, err = taxii.ParseTimestamp(aa); err != nil {
			http.Error(w, "bad added_after", 400)
			return
		}
	}
	env := taxii.Envelope{}
	var first, last time.Time
	for i := range len(s.modified) {
		created := epoch.Add(time.Duration(i+1) * time.Second)
		if !created.After(after) {
			continue
		}
		if first.IsZero() {
			first = created
		}
		last = created
		env.Objects = append(env.Objects, json.RawMessage(fmt.Sprintf(`{"type":"attack-pattern","id":"attack-pattern--%08d-0000-4000-8000-000000000000","created":%q,"modified":%q}`,
			i, taxii.FormatTimestamp(created), taxii.FormatTimestamp(s.modified[i]))))
	}
	if len(env.Objects) > 0 {
		w.Header().Set(taxii.HeaderDateAddedFirst, taxii.FormatTimestamp(first))
		w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(last))
	}
	w.Header().Set("Content-Type", taxii.MediaType)
	json.NewEncoder(w).Encode(env)
}

// versionSink records every version it is given (id and modified).
type versionSink struct{ versions map[string]bool }

func (v *versionSink) Submit(_ context.Context, _, _ string, objs []json.RawMessage) (store.Status, error) {
	var st store.Status
	for _, o := range objs {
		var x struct{ ID, Modified string }
		json.Unmarshal(o, &x)
		key := x.ID + " " + x.Modified
		msg := ""
		if v.versions[key] {
			msg = "already stored"
		}
		v.versions[key] = true
		st.Successes = append(st.Successes, store.StatusDetail{ID: x.ID, Version: x.Modified, Message: msg})
	}
	return st, nil
}

// TestPollRereads: a server that gives a new version the date_added of
// the first (ATT&CK Workbench: the created time) hides it from
// added_after; the round after the feed's Reread reads the whole
// collection and gets it; a negative Reread never does.
func TestPollRereads(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		reread time.Duration
		want   int // versions after the last round
	}{
		{"default (a day)", 0, 15},
		{"never", -1, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &workbench{modified: map[int]time.Time{}}
			for i := range 10 {
				srv.modified[i] = epoch.Add(time.Duration(i+1) * time.Second)
			}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			st := newStore(t, hs.URL)
			fs, _ := st.Feeds(ctx)
			f := fs[0]
			f.Reread = tc.reread
			v := &versionSink{versions: map[string]bool{}}
			clock := epoch.Add(time.Hour)
			now := func() time.Time { return clock }
			f, err := feed.Poll(ctx, st, v, f, now, nil)
			if err != nil || len(v.versions) != 10 {
				t.Fatalf("first round: %d versions, %v", len(v.versions), err)
			}
			if tc.reread == 0 && !f.FullRead.Equal(clock) {
				t.Errorf("full read recorded at %v, want %v", f.FullRead, clock)
			}
			srv.mu.Lock()
			for i := range 5 {
				srv.modified[i] = epoch.Add(2 * time.Hour) // a new version, same created
			}
			srv.mu.Unlock()
			clock = clock.Add(time.Hour)
			if f, err = feed.Poll(ctx, st, v, f, now, nil); err != nil || len(v.versions) != 10 {
				t.Fatalf("an hour later: %d versions, %v; want the new ones still hidden by added_after", len(v.versions), err)
			}
			clock = clock.Add(feed.DefaultReread)
			if f, err = feed.Poll(ctx, st, v, f, now, nil); err != nil || len(v.versions) != tc.want {
				t.Errorf("a day later: %d versions, %v; want %d", len(v.versions), err, tc.want)
			}
			if tc.reread == 0 && !f.FullRead.Equal(clock) {
				t.Errorf("second full read recorded at %v, want %v", f.FullRead, clock)
			}
		})
	}
}

// countingStore counts the rounds of feed.Run (each lists the feeds once).
type countingStore struct {
	feed.Store
	mu     sync.Mutex
	rounds int
}

func (c *countingStore) Feeds(ctx context.Context) ([]feed.Feed, error) {
	c.mu.Lock()
	c.rounds++
	c.mu.Unlock()
	return c.Store.Feeds(ctx)
}

func (c *countingStore) round() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rounds
}

// TestRunRetryAfter: a server that answers 429 with Retry-After isn't
// asked again before that time, though the feed's interval (a minute)
// has passed; then it is, and the feed goes on.
func TestRunRetryAfter(t *testing.T) {
	var (
		mu       sync.Mutex
		requests int
		limited  = true
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		l := limited
		mu.Unlock()
		if l {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Write([]byte(`{"more":false,"objects":[]}`))
	}))
	defer hs.Close()
	st := &countingStore{Store: newStoreWith(t, feed.Feed{Name: "t", URL: hs.URL, Collection: "c", Into: "l", Member: "m", Interval: time.Minute})}

	var clock atomic.Int64
	clock.Store(epoch.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logged strings.Builder
	var logMu sync.Mutex
	go func() {
		done <- feed.Run(ctx, st, &sink{stored: map[string]int{}}, now, time.Millisecond, func(msg string, args ...any) {
			logMu.Lock()
			fmt.Fprintln(&logged, msg, args)
			logMu.Unlock()
		})
	}()
	defer func() {
		cancel()
		<-done
	}()
	got := func() int {
		mu.Lock()
		defer mu.Unlock()
		return requests
	}
	// waitRounds waits until Run has listed the feeds n more times.
	waitRounds := func(n int) {
		t.Helper()
		for want := st.round() + n; st.round() < want; {
			runtime.Gosched()
		}
	}
	waitRounds(3)
	if got() != 1 {
		t.Fatalf("%d requests in the first rounds, want 1", got())
	}
	// Past the interval, within the hour: not asked.
	clock.Add(int64(10 * time.Minute))
	waitRounds(5)
	if got() != 1 {
		t.Fatalf("asked again %v after it answered Retry-After: 3600 (%d requests)", 10*time.Minute, got())
	}
	mu.Lock()
	limited = false
	mu.Unlock()
	clock.Add(int64(51 * time.Minute))
	waitRounds(5)
	if got() < 2 {
		t.Fatalf("not asked again after the hour it asked for (%d requests)", got())
	}
	fs, err := st.Feeds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fs[0].LastError != "" {
		t.Errorf("the feed's error after the server answered again: %q", fs[0].LastError)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logged.String(), "429 Too Many Requests") || !strings.Contains(logged.String(), "it asks to be tried again after 1h0m0s") {
		t.Errorf("the log says: %s", logged.String())
	}
}

// TestRunBackoff: the rounds of a feed whose server keeps failing are
// spaced out (the interval, doubled per failure, up to MaxBackoff), and a
// round that works resets the backoff.
func TestRunBackoff(t *testing.T) {
	var (
		mu       sync.Mutex
		requests int
		failing  = true
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		f := failing
		mu.Unlock()
		if f {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Write([]byte(`{"more":false,"objects":[]}`))
	}))
	defer hs.Close()
	st := &countingStore{Store: newStoreWith(t, feed.Feed{Name: "t", URL: hs.URL, Collection: "c", Into: "l", Member: "m", Interval: time.Minute})}
	var clock atomic.Int64
	clock.Store(epoch.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	ctx, cancel := context.WithCancel(context.Background())
	stopRunner := runBackground(ctx, cancel, st, &sink{stored: map[string]int{}}, now)
	defer stopRunner()
	got := func() int {
		mu.Lock()
		defer mu.Unlock()
		return requests
	}
	waitRounds := func(n int) {
		t.Helper()
		for want := st.round() + n; st.round() < want; {
			runtime.Gosched()
		}
	}
	waitRounds(3)
	if got() != 1 {
		t.Fatalf("%d requests in the first rounds, want 1", got())
	}
	// After failure n, the next round comes Backoff(n) later: 1, 2, 4,
	// 8 minutes; not a minute before.
	for n := int64(1); n <= 4; n++ {
		wait := feed.Backoff(n, time.Minute)
		clock.Add(int64(wait - time.Minute))
		waitRounds(5)
		if n > 1 && got() != int(n) {
			t.Fatalf("%d requests %s after failure %d, want %d (asked before its backoff of %s)", got(), wait-time.Minute, n, n, wait)
		}
		clock.Add(int64(time.Minute))
		waitRounds(5)
		if got() != int(n+1) {
			t.Fatalf("%d requests %s after failure %d, want %d", got(), wait, n, n+1)
		}
	}
	// The server is back: the round after the backoff works, and the next
	// comes an interval later.
	mu.Lock()
	failing = false
	mu.Unlock()
	clock.Add(int64(feed.Backoff(5, time.Minute)))
	waitRounds(5)
	if got() != 6 {
		t.Fatalf("%d requests after the last backoff, want 6", got())
	}
	clock.Add(int64(time.Minute))
	waitRounds(5)
	if got() != 7 {
		t.Fatalf("%d requests an interval after a round that worked, want 7", got())
	}
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		failures int64
		interval time.Duration
		want     time.Duration
	}{
		{0, 5 * time.Minute, 0},
		{1, 5 * time.Minute, 5 * time.Minute},
		{2, 5 * time.Minute, 10 * time.Minute},
		{4, 5 * time.Minute, 40 * time.Minute},
		{5, 5 * time.Minute, feed.MaxBackoff},
		{1 << 40, 5 * time.Minute, feed.MaxBackoff},
		{3, 2 * time.Hour, 2 * time.Hour},
	} {
		if got := feed.Backoff(c.failures, c.interval); got != c.want {
			t.Errorf("Backoff(%d, %s) = %s, want %s", c.failures, c.interval, got, c.want)
		}
	}
}

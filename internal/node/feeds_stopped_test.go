package node

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
)

// TestFeedMemberRemovedStopsPolling: once a feed's member is removed or
// revoked, the serving node contacts the feed's server no more (while
// another feed of the same server goes on), records why in the feed's
// status, and logs it once at most.
func TestFeedMemberRemovedStopsPolling(t *testing.T) {
	for _, how := range []string{"removed", "revoked"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			src := newTestNode(t)
			collA := relayCollection(t, src.Node, "a", []string{"carol"}, store.SignaturesOptional)
			collB := relayCollection(t, src.Node, "b", []string{"carol"}, store.SignaturesOptional)
			for _, c := range []string{collA, collB} {
				if st := post(t, src.carol.Client, c, indicator(t, mitreIdentity, nil, t0)); st.SuccessCount != 1 {
					t.Fatalf("source: %+v", st)
				}
			}
			tokenFile := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(tokenFile, []byte(src.carol.Token), 0o600); err != nil {
				t.Fatal(err)
			}
			// The source behind a front that counts the requests for
			// each collection.
			target, err := url.Parse(src.URL)
			if err != nil {
				t.Fatal(err)
			}
			proxy := httputil.NewSingleHostReverseProxy(target)
			var mu sync.Mutex
			asked := map[string]int{}
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				for _, c := range []string{collA, collB} {
					if strings.Contains(r.URL.Path, c) {
						asked[c]++
					}
				}
				mu.Unlock()
				proxy.ServeHTTP(w, r)
			}))
			defer front.Close()
			count := func(c string) int {
				mu.Lock()
				defer mu.Unlock()
				return asked[c]
			}

			dir := t.TempDir()
			if _, err := Init(ctx, dir, Config{FeedCheckInterval: Duration(10 * time.Millisecond)}, nil); err != nil {
				t.Fatal(err)
			}
			dst, err := Open(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			logs := &lockedBuffer{}
			sctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- dst.Serve(sctx, ln, slog.New(slog.NewJSONHandler(logs, nil))) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Serve: %v", err)
				}
				dst.Close()
			}()
			st := dst.FeedStore()
			feedNamed := func(name string) feed.Feed {
				fs, err := st.Feeds(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range fs {
					if f.Name == name {
						return f
					}
				}
				t.Fatalf("no feed %s", name)
				return feed.Feed{}
			}
			waitFor := func(what string, cond func() bool) {
				t.Helper()
				deadline := time.Now().Add(30 * time.Second)
				for !cond() {
					if time.Now().After(deadline) {
						t.Fatalf("%s: not after 30 s", what)
					}
					time.Sleep(10 * time.Millisecond) // polling a condition
				}
			}
			for _, f := range []struct{ name, coll string }{{"gone", collA}, {"kept", collB}} {
				if _, err := dst.AddFeed(ctx, FeedSpec{Name: f.name, URL: front.URL, Collection: f.coll, Auth: feed.AuthBearer, SecretFile: tokenFile,
					Into: "from-" + f.name, Interval: 10 * time.Millisecond}); err != nil {
					t.Fatal(err)
				}
			}
			waitFor("both feeds polled", func() bool { return feedNamed("gone").Added == 1 && feedNamed("kept").Added == 1 })

			gone := feedNamed("gone")
			if how == "removed" {
				_, err = dst.RemoveMember(ctx, gone.Member)
			} else {
				err = dst.RevokeMember(ctx, gone.Member)
			}
			if err != nil {
				t.Fatal(err)
			}
			waitFor("the stop recorded", func() bool { return strings.HasPrefix(feedNamed("gone").LastError, "stopped: ") })
			before := count(collA)
			// Many rounds of the other feed later, the stopped feed's
			// server was asked nothing more.
			kept := count(collB)
			waitFor("rounds of the other feed", func() bool { return count(collB) >= kept+10 })
			if got := count(collA); got != before {
				t.Errorf("the stopped feed's collection was asked %d more times", got-before)
			}
			f := feedNamed("gone")
			reason, err := dst.FeedStopped(ctx, f)
			if err != nil || reason != f.LastError || !strings.Contains(reason, "feed:gone was revoked or removed") {
				t.Errorf("FeedStopped: %q, %v; last_error %q", reason, err, f.LastError)
			}
			if reason, err := dst.FeedStopped(ctx, feedNamed("kept")); err != nil || reason != "" {
				t.Errorf("FeedStopped of the followed feed: %q, %v", reason, err)
			}
			var stops, warnings int
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var rec struct{ Msg, Feed string }
				if json.Unmarshal([]byte(line), &rec) != nil || rec.Feed != "gone" {
					continue
				}
				switch rec.Msg {
				case "feed stopped":
					stops++
				case "feed poll failed":
					warnings++
				}
			}
			// The stop is recorded by the member's removal, or, when a
			// round of the feed ran then, logged and recorded by the
			// runner as that round ends: once at most.
			if stops > 1 || warnings > 1 {
				t.Errorf("logged %d stops and %d failed polls of the stopped feed, want at most 1 of each:\n%s", stops, warnings, logs.String())
			}
		})
	}
}

// TestFeedStoppedAtOnceByMemberRemoval: as a peer's, a feed's stop is
// recorded when its member is removed or revoked, not at the feed's next
// round (which, backed off, may be hours later): until then the feed's
// last_error was its last round's, as though it were still followed.
func TestFeedStoppedAtOnceByMemberRemoval(t *testing.T) {
	for _, how := range []string{"removed", "revoked"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			// A node that doesn't serve: no round of its feeds runs.
			dir := t.TempDir()
			if _, err := Init(ctx, dir, Config{}, nil); err != nil {
				t.Fatal(err)
			}
			n, err := Open(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			f, err := n.AddFeed(ctx, FeedSpec{Name: "gone", URL: "https://feeds.example/taxii2/", Collection: "c", Into: "from-gone"})
			if err != nil {
				t.Fatal(err)
			}
			kept, err := n.AddFeed(ctx, FeedSpec{Name: "kept", URL: "https://feeds.example/taxii2/", Collection: "d", Into: "from-kept"})
			if err != nil {
				t.Fatal(err)
			}
			if how == "removed" {
				_, err = n.RemoveMember(ctx, f.Member)
			} else {
				err = n.RevokeMember(ctx, f.Member)
			}
			if err != nil {
				t.Fatal(err)
			}
			fs, err := n.FeedStore().Feeds(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range fs {
				switch g.Name {
				case f.Name:
					if want, err := n.FeedStopped(ctx, g); err != nil || want == "" || g.LastError != want || !g.RoundStarted.IsZero() || g.Failures != 0 {
						t.Errorf("the feed whose member was %s: %+v, want last_error %q (%v)", how, g.FeedPosition, want, err)
					}
				case kept.Name:
					if g.LastError != "" || !g.LastPoll.IsZero() {
						t.Errorf("the other feed: %+v", g.FeedPosition)
					}
				}
			}
		})
	}
}

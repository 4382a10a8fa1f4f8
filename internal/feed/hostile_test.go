package feed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/taxii"
)

// hostilePage serves one page of objects whose next cursor is next.
func hostilePage(w http.ResponseWriter, next string, objects int) {
	w.Header().Set("Content-Type", taxii.MediaType)
	w.Header().Set(taxii.HeaderDateAddedFirst, taxii.FormatTimestamp(added(0)))
	w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(added(0)))
	var b strings.Builder
	b.WriteString(`{"more":true,"next":`)
	nb, _ := json.Marshal(next)
	b.Write(nb)
	b.WriteString(`,"objects":[`)
	for i := range objects {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"x-test","id":"x-test--%08d-0000-4000-8000-000000000000"}`, i)
	}
	b.WriteString(`]}`)
	w.Write([]byte(b.String()))
}

// TestPollHostileNextCursor: a feed's server that gives a next cursor of
// a MiB has it refused, the round ending with an error naming the bound;
// the cursor was recorded in the feed's row (shown by feed status) and
// sent back in the URL of every later request. Nothing of the page is
// stored.
func TestPollHostileNextCursor(t *testing.T) {
	ctx := context.Background()
	huge := strings.Repeat("A", 1<<20)
	var asked atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) > 1 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		hostilePage(w, huge, 1)
	}))
	defer hs.Close()
	k := &killable{Store: newStore(t, hs.URL)}
	m := &sink{stored: map[string]int{}}
	_, err := feed.Poll(ctx, k, m, k.feed(t), time.Now, nil)
	if err == nil || !strings.Contains(err.Error(), "next cursor of 1048576 bytes") {
		t.Fatalf("err = %v", err)
	}
	got := k.feed(t)
	if len(got.Next) > feed.MaxCursor || len(m.stored) != 0 || got.Pages != 0 || len(got.LastError) > 4096 || asked.Load() != 1 {
		t.Fatalf("recorded next of %d bytes, last_error of %d, %d requests", len(got.Next), len(got.LastError), asked.Load())
	}
}

// TestPollHostileObjectCount: a server asked for PageSize objects that
// serves a page of far more (tiny objects: a 256 MiB page of them is
// tens of millions, each decoded, checked and answered for) has the page
// refused, nothing of it stored.
func TestPollHostileObjectCount(t *testing.T) {
	ctx := context.Background()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hostilePage(w, "1", feed.MaxPageObjects+1)
	}))
	defer hs.Close()
	k := &killable{Store: newStore(t, hs.URL)}
	m := &sink{stored: map[string]int{}}
	_, err := feed.Poll(ctx, k, m, k.feed(t), time.Now, nil)
	if err == nil || !strings.Contains(err.Error(), "objects") {
		t.Fatalf("err = %v", err)
	}
	if len(m.stored) != 0 || k.feed(t).Pages != 0 {
		t.Fatalf("stored %d objects, %d pages", len(m.stored), k.feed(t).Pages)
	}
}

// TestPollHostileRedirects: a feed's server that redirects elsewhere
// (another host, the cloud's metadata address, another port of the same
// host, the node's own endpoints) isn't followed: the token reaches no
// other origin, and the error names both.
func TestPollHostileRedirects(t *testing.T) {
	ctx := context.Background()
	var leaked atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		hostilePage(w, "", 1)
	}))
	defer other.Close()
	tok := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tok, []byte("feed-s3cret\n"), 0o600)
	for _, to := range []string{other.URL + "/api/", "http://169.254.169.254/latest/meta-data/", strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/admin"} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, http.StatusFound)
		}))
		f := feed.Feed{Name: "t", URL: hs.URL, Collection: "c", Into: "l", Member: "m", Overlap: -1, Auth: feed.AuthBearer, SecretFile: tok}
		k := &killable{Store: newStoreWith(t, f)}
		_, err := feed.Poll(ctx, k, &sink{stored: map[string]int{}}, k.feed(t), time.Now, nil)
		if err == nil || !strings.Contains(err.Error(), "redirected") || strings.Contains(err.Error(), "feed-s3cret") {
			t.Errorf("redirect to %s: err = %v", to, err)
		}
		hs.Close()
	}
	if leaked.Load() != 0 {
		t.Fatalf("the token went to another origin %d times", leaked.Load())
	}
}

// TestPollHostileErrorText: a server's error that echoes the token and
// carries newlines and terminal escapes is recorded without either, and
// bounded.
func TestPollHostileErrorText(t *testing.T) {
	ctx := context.Background()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		w.WriteHeader(403)
		desc := "you sent " + r.Header.Get("Authorization") + "\nlevel=ERROR msg=\"forged\" \x1b[2J" + strings.Repeat("x", 1<<20)
		b, _ := json.Marshal(map[string]string{"title": "no\r\nfeed=other", "description": desc})
		w.Write(b)
	}))
	defer hs.Close()
	tok := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tok, []byte("feed-s3cret\n"), 0o600)
	f := feed.Feed{Name: "t", URL: hs.URL, Collection: "c", Into: "l", Member: "m", Overlap: -1, Auth: feed.AuthBearer, SecretFile: tok}
	k := &killable{Store: newStoreWith(t, f)}
	feed.Poll(ctx, k, &sink{stored: map[string]int{}}, k.feed(t), time.Now, nil)
	got := k.feed(t).LastError
	if got == "" || strings.Contains(got, "feed-s3cret") || strings.ContainsAny(got, "\n\r\x1b") || len(got) > 8192 {
		t.Fatalf("last_error (%d bytes) = %.300q", len(got), got)
	}
}

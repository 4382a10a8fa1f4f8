package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// cursorWorld is a node where alice pages her collection while bob, whom
// she can't see, adds hidden objects to a collection of his between her
// additions: what alice is answered, page by page, on the objects,
// manifest and versions endpoints with limit=1 (status, more, next and
// the date-added headers), and the collection ids for further requests.
type cursorWorld struct {
	fn      *frontNode
	pages   []string
	bobColl string
	bob     NewMember
}

func newCursorWorld(t *testing.T, t0 time.Time, hidden int) *cursorWorld {
	t.Helper()
	// The same clock and the same randomness in every world, so that
	// ids (of the collections above all) are the same in each.
	fn := &frontNode{logs: &logBuffer{}, now: time.Now()}
	n, _ := initNode(t, Options{
		Now:  func() time.Time { fn.mu.Lock(); defer fn.mu.Unlock(); return fn.now },
		Rand: mrand.NewChaCha8([32]byte{'c', 'u', 'r', 's', 'o', 'r'}),
	})
	t.Cleanup(func() { n.Close() })
	fn.Node = n
	fn.alice, fn.key, fn.coll = addAliceShared(t, n)
	fn.srv = httptest.NewServer(n.Handler(nil))
	t.Cleanup(fn.srv.Close)
	fn.mu.Lock()
	fn.now = t0
	fn.mu.Unlock()
	ctx := context.Background()
	pub, bkey, _ := ed25519.GenerateKey(rand.Reader)
	bob, err := fn.AddMember(ctx, "bob", pub)
	if err != nil {
		t.Fatal(err)
	}
	bobColl, err := fn.AddCollection(ctx, "bob's", "", []string{"bob"}, []string{"bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	alice, bobAuth := "Bearer "+fn.alice.Token, "Bearer "+bob.Token
	postAs := func(auth, coll string, objs ...json.RawMessage) {
		t.Helper()
		body, _ := json.Marshal(taxii.Envelope{Objects: objs})
		resp, b := fn.do(t, http.MethodPost, "/api/collections/"+coll+"/objects/", auth, bytes.NewReader(body))
		var st taxii.Status
		if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &st) != nil || st.FailureCount != 0 {
			t.Fatalf("post: %s %s", resp.Status, b)
		}
	}
	// Two versions of one object of alice's, so that its versions page.
	const oid = "indicator--1b0c3a5e-7d2f-4c6e-9a8b-0c1d2e3f4a5b"
	version := func(modified time.Time) json.RawMessage {
		return object(t, fn.key, map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": oid,
			"created": "2026-01-01T00:00:00.000Z", "modified": stix.FormatTimestamp(modified),
			"created_by_ref": fn.alice.ID, "name": "paged", "pattern": "[domain-name:value = 'paged.example']",
			"pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
		})
	}
	postAs(alice, fn.coll, version(t0))
	fn.advance(time.Second)
	for range hidden {
		postAs(bobAuth, bobColl, indicator(t, bob.ID, bkey, t0))
	}
	fn.advance(time.Second)
	postAs(alice, fn.coll, version(t0.Add(time.Hour)))
	fn.advance(time.Second)
	for range hidden {
		postAs(bobAuth, bobColl, indicator(t, bob.ID, bkey, t0))
	}
	fn.advance(time.Second)
	postAs(alice, fn.coll, indicator(t, fn.alice.ID, fn.key, t0))

	w := &cursorWorld{fn: fn, bobColl: bobColl, bob: bob}
	for _, ep := range []string{"objects/", "manifest/", "objects/" + oid + "/versions/"} {
		next := ""
		for range 10 {
			u := "/api/collections/" + fn.coll + "/" + ep + "?limit=1&match[version]=all"
			if next != "" {
				u += "&next=" + url.QueryEscape(next)
			}
			resp, b := fn.do(t, http.MethodGet, u, alice, nil)
			var page struct {
				More bool   `json:"more"`
				Next string `json:"next"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &page) != nil {
				t.Fatalf("GET %s: %s %s", u, resp.Status, b)
			}
			w.pages = append(w.pages, fmt.Sprintf("%s page %d: %s more=%v next=%q first=%s last=%s", ep, len(w.pages), resp.Status,
				page.More, page.Next, resp.Header.Get(taxii.HeaderDateAddedFirst), resp.Header.Get(taxii.HeaderDateAddedLast)))
			if !page.More {
				break
			}
			next = page.Next
		}
	}
	return w
}

// TestCursorRevealsNothingHidden: the next cursors (and everything else
// of a page but the objects' log indexes, which are in clear in the
// public log) that alice gets paging her collection are the same whether
// or not other members added objects to collections she can't read
// between her additions. The cursor was the store's global sequence
// number, so the difference of two of them counted the hidden additions.
func TestCursorRevealsNothingHidden(t *testing.T) {
	// Both worlds' clocks read the same times, after the times of the
	// log entries of their setup (members, collections).
	t0 := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	quiet, busy := newCursorWorld(t, t0, 0), newCursorWorld(t, t0, 3)
	if len(quiet.pages) != 8 {
		t.Fatalf("pages: want 3 of objects, 3 of the manifest, 2 of versions; got\n%s", strings.Join(quiet.pages, "\n"))
	}
	if q, b := strings.Join(quiet.pages, "\n"), strings.Join(busy.pages, "\n"); q != b {
		t.Errorf("alice's pages tell how many objects bob added where she can't read:\n%s",
			strings.NewReplacer("  hidden: ", "  none added: ", "  unused: ", "  3 added:    ").Replace(lineDiff(q, b)))
	}
}

// TestCursorReplay: a cursor pages only the collection it was issued
// for. Alice's cursor of her collection is refused in another collection
// she reads (400, saying so), and bob's cursor of his collection, which
// alice can't see, is answered to her exactly as an unknown collection
// is, cursor or not; a number (the cursor of earlier versions, a global
// sequence number that a member could make up to find where the versions
// it reads lie in the order of every collection's additions) is refused
// too. The cursor's own collection still pages with it.
func TestCursorReplay(t *testing.T) {
	w := newCursorWorld(t, time.Now().Add(time.Hour).UTC().Truncate(time.Second), 2)
	fn := w.fn
	ctx := context.Background()
	alice, bob := "Bearer "+fn.alice.Token, "Bearer "+w.bob.Token
	other, err := fn.AddCollection(ctx, "alice's other", "", []string{"alice"}, []string{"alice"}, "")
	if err != nil {
		t.Fatal(err)
	}
	first := func(auth, coll string) string {
		t.Helper()
		resp, b := fn.do(t, http.MethodGet, "/api/collections/"+coll+"/objects/?limit=1", auth, nil)
		var page taxii.Envelope
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &page) != nil || page.Next == "" {
			t.Fatalf("first page of %s: %s %s", coll, resp.Status, b)
		}
		return url.QueryEscape(page.Next)
	}
	aliceNext, bobNext := first(alice, fn.coll), first(bob, w.bobColl)
	get := func(auth, coll, next string) (int, string) {
		resp, b := fn.do(t, http.MethodGet, "/api/collections/"+coll+"/objects/?next="+next, auth, nil)
		return resp.StatusCode, string(b)
	}
	if code, body := get(alice, fn.coll, aliceNext); code != http.StatusOK {
		t.Errorf("alice's cursor in its collection: %d %s", code, body)
	}
	if code, body := get(bob, w.bobColl, bobNext); code != http.StatusOK {
		t.Errorf("bob's cursor in its collection: %d %s", code, body)
	}
	if code, body := get(alice, other, aliceNext); code != http.StatusBadRequest || !strings.Contains(body, "another collection") {
		t.Errorf("alice's cursor in her other collection: %d %s, want 400 naming another collection", code, body)
	}
	for _, legacy := range []string{"1", "5", "9223372036854775807"} {
		if code, body := get(alice, fn.coll, legacy); code != http.StatusBadRequest || !strings.Contains(body, "added_after") {
			t.Errorf("next=%s: %d %s, want 400 with a hint to start again with added_after", legacy, code, body)
		}
	}
	const unknown = "0f0e0d0c-0b0a-4909-8807-060504030201"
	for _, next := range []string{bobNext, aliceNext, "1"} {
		_, absent := get(alice, unknown, next)
		if code, body := get(alice, w.bobColl, next); code != http.StatusNotFound || body != absent {
			t.Errorf("alice's next=%s in bob's collection: %d %s, want the 404 of an unknown collection: %s", next, code, body, absent)
		}
	}
}

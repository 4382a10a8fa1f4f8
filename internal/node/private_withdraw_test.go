package node

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/private"
)

// TestPrivateSetWithdraw: a set of values follows no revocation, so its
// provider withdraws it: a value shared by mistake (a benign image's
// hash) then matches for no one, and no reader can have it evaluated or
// read its tags. A reader who is not the provider can't withdraw it
// (403), a member who may not read it is answered as for a missing set
// (404), and each refusal changes nothing.
func TestPrivateSetWithdraw(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour)})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	carol := &private.Client{BaseURL: tn.URL, Token: tn.carol.Token}
	const mistake = "file:SHA-256=05636c50d0c2ffe3a820f964eaba35b404deadd10538fe452ad9fb16fdd823d7"
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{mistake, "file:SHA-256=b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298"}})
	if err != nil {
		t.Fatal(err)
	}
	v := logVerifier(t, tn.Node)
	if hits, err := bob.Check(ctx, set.ID, v, []string{mistake}, 0, rand.Reader); err != nil || !slices.Equal(hits, []int{0}) {
		t.Fatalf("before the withdrawal: hits %v, %v", hits, err)
	}
	size, _ := tn.store.LogSize(ctx)
	// Refusals: bob reads the set but didn't publish it; carol can't read it.
	if err := bob.Withdraw(ctx, set.ID); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("bob withdrawing alice's set = %v, want 403", err)
	}
	if err := carol.Withdraw(ctx, set.ID); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("carol withdrawing a set she can't read = %v, want 404", err)
	}
	if err := carol.Withdraw(ctx, set.ID[:len(set.ID)-12]+"0123456789ab"); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("withdrawing a missing set = %v, want 404", err)
	}
	if hits, err := bob.Check(ctx, set.ID, v, []string{mistake}, 0, rand.Reader); err != nil || !slices.Equal(hits, []int{0}) {
		t.Fatalf("a refused withdrawal changed the set: hits %v, %v", hits, err)
	}
	if err := alice.Withdraw(ctx, set.ID); err != nil {
		t.Fatalf("alice withdrawing her set: %v", err)
	}
	// Gone for everyone, through every route; the log keeps the key entry.
	for _, c := range []*private.Client{alice, bob} {
		if _, err := c.Check(ctx, set.ID, v, []string{mistake}, 0, rand.Reader); !isStatus(err, http.StatusNotFound) {
			t.Errorf("checking against a withdrawn set = %v, want 404", err)
		}
		if _, err := c.Set(ctx, set.ID); !isStatus(err, http.StatusNotFound) {
			t.Errorf("a withdrawn set's description = %v, want 404", err)
		}
		q := private.NewQuerier(mustKey(t, set.PublicKey), rand.Reader)
		_, req, err := q.Blind([]string{mistake})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Evaluate(ctx, set.ID, req); !isStatus(err, http.StatusNotFound) {
			t.Errorf("an evaluation against a withdrawn set = %v, want 404", err)
		}
		if _, err := c.Tags(ctx, set.ID, mustKey(t, set.PublicKey)); !isStatus(err, http.StatusNotFound) {
			t.Errorf("a withdrawn set's tags = %v, want 404", err)
		}
		sets, err := c.Sets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sets {
			if s.ID == set.ID {
				t.Errorf("a withdrawn set is listed")
			}
		}
	}
	// The log keeps the key entry and gains the withdrawal's.
	if after, _ := tn.store.LogSize(ctx); after != size+1 {
		t.Errorf("the withdrawal took the log from %d to %d entries, want one more", size, after)
	}
	if err := alice.Withdraw(ctx, set.ID); !isStatus(err, http.StatusNotFound) {
		t.Errorf("a second withdrawal = %v, want 404", err)
	}
}

// withdrawOnWrite is a response writer whose first write withdraws the
// set: a withdrawal between two pages of GET /private/sets/{id}/tags.
type withdrawOnWrite struct {
	*httptest.ResponseRecorder
	withdraw func()
	once     sync.Once
}

func (w *withdrawOnWrite) Write(b []byte) (int, error) {
	n, err := w.ResponseRecorder.Write(b)
	w.once.Do(w.withdraw)
	return n, err
}

// TestPrivateTagsWithdrawnMidList: a set withdrawn while its tags are
// sent ends the answer aborted, as a page that can't be read does, so
// that a reader can't take the part sent for the whole set: the later
// pages read as none, and the answer ended as a complete list of fewer
// tags.
func TestPrivateTagsWithdrawnMidList(t *testing.T) {
	defer func(n int) { tagsPage = n }(tagsPage)
	tagsPage = 1
	ctx := context.Background()
	tn := newTestNode(t)
	a := tn.privateAPI()
	a.setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour)})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{
		"file:SHA-256=05636c50d0c2ffe3a820f964eaba35b404deadd10538fe452ad9fb16fdd823d7",
		"file:SHA-256=b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298",
		"ipv4-addr:198.51.100.7",
	}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := tn.store.Member(ctx, tn.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	w := &withdrawOnWrite{ResponseRecorder: httptest.NewRecorder(), withdraw: func() {
		wr := httptest.NewRecorder()
		dr := httptest.NewRequest(http.MethodDelete, "/private/sets/"+set.ID, nil)
		dr.SetPathValue("id", set.ID)
		if a.withdraw(wr, dr, m); wr.Code != http.StatusNoContent {
			t.Errorf("withdrawing the set: %d %s", wr.Code, wr.Body)
		}
	}}
	r := httptest.NewRequest(http.MethodGet, "/private/sets/"+set.ID+"/tags", nil)
	r.SetPathValue("id", set.ID)
	aborted := func() (aborted bool) {
		defer func() {
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					panic(p)
				}
				aborted = true
			}
		}()
		a.tags(w, r, m)
		return false
	}()
	if !aborted {
		t.Fatalf("the answer ended as a whole list of %d tags of a set of 3, withdrawn while it was sent", w.Body.Len()/private.TagSize)
	}
}

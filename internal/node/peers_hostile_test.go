package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/tlog"
)

// rewriteObjects is a peer that lies in its GET /log/objects answers:
// edit (when not nil) changes each item (decoded as a JSON object), then
// items (when not nil) the list, before it is sent.
type rewriteObjects struct {
	edit  func(item map[string]any)
	items func(items []any) []any
}

func (r *rewriteObjects) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.URL.Path != "/log/objects" || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	var page map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, err
	}
	items, _ := page["objects"].([]any)
	for _, it := range items {
		if r.edit != nil {
			r.edit(it.(map[string]any))
		}
	}
	if r.items != nil {
		page["objects"] = r.items(items)
	}
	b, err := json.Marshal(page)
	if err != nil {
		return nil, err
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestPeerErrorsDontEchoHugeText: a peer whose openings carry a 1 MiB
// object id (so that they don't match its entries) is refused, and the
// error the follower returns (which the node logs each round) and records
// in the peer's state (which `parley peer status` and the peers API show)
// is a few hundred bytes, not the peer's megabyte.
func TestPeerErrorsDontEchoHugeText(t *testing.T) {
	ctx := context.Background()
	b, _ := sharedOrigin(t, 3)
	a, pa := unservedFollower(t, b)
	n := a.Node
	huge := strings.Repeat("x", 1<<20)
	rw := &rewriteObjects{edit: func(item map[string]any) { item["object_id"] = "indicator--" + huge }}
	f, err := peer.New(peer.Config{Store: n.Store(), Dir: t.TempDir(), HTTP: &http.Client{Transport: rw}}, pa)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Round(ctx)
	if err == nil || !strings.Contains(err.Error(), "refused object") {
		t.Fatalf("Round = %.300v", err)
	}
	if len(err.Error()) > 2000 {
		t.Errorf("Round's error is %d bytes", len(err.Error()))
	}
	p := a.peerState(t, "a")
	if p.State.LastError == "" || len(p.State.LastError) > 2000 || p.State.Next != 0 {
		t.Fatalf("recorded error of %d bytes (%.200q), position %d", len(p.State.LastError), p.State.LastError, p.State.Next)
	}
}

// TestPeerObjectsPageBound: a peer whose GET /log/objects answer lists
// more objects than the entries the step asked for (100,001 tiny items of
// another collection, which the follower skipped unchecked, decoding and
// handing on every one up to the response's 256 MiB; or one item past the
// entries asked for) is refused at the first item past the bound: the
// round fails with the error recorded for peer status, nothing is stored,
// the position stays, and the peer is backed off as after any malformed
// answer, not stopped. The next round, of an honest answer, replicates.
func TestPeerObjectsPageBound(t *testing.T) {
	ctx := context.Background()
	b, size := sharedOrigin(t, 3)
	a, pa := unservedFollower(t, b)
	n := a.Node
	tiny := func(i int64) map[string]any {
		return map[string]any{"log_index": i, "collection": "another", "salt": "AQ==", "object_id": "x", "version": "v", "member": "m", "object": map[string]any{}}
	}
	for _, tc := range []struct {
		name  string
		items func([]any) []any
		want  string
	}{
		{"100001 tiny items", func(items []any) []any {
			for range 100_001 {
				items = append(items, tiny(size-1))
			}
			return items
		}, "not after entry"},
		{"entries+1", func(items []any) []any { return append(items, tiny(size)) }, "outside the"},
	} {
		rw := &rewriteObjects{items: tc.items}
		f, err := peer.New(peer.Config{Store: n.Store(), Dir: t.TempDir(), HTTP: &http.Client{Transport: rw}}, a.peerState(t, "a"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Round(ctx)
		if !errors.Is(err, tlog.ErrObjectsBound) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: Round = %.500v", tc.name, err)
		}
		p := a.peerState(t, "a")
		st := peer.StatusOf(p)
		if got := len(localObjects(t, n, pa.Into)); got != 0 || p.State.Next != 0 || p.State.Stopped != "" ||
			!strings.Contains(st.LastError, "more objects than the entries asked for") || !strings.Contains(st.LastError, tc.want) {
			t.Fatalf("%s: %d objects stored, status %+v", tc.name, got, st)
		}
		if p.State.Failures == 0 {
			t.Fatalf("%s: the round isn't counted as failed: %+v", tc.name, p.State)
		}
	}
	f, err := peer.New(peer.Config{Store: n.Store(), Dir: t.TempDir()}, a.peerState(t, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.Round(ctx); err != nil || res.Next != size || res.Objects != 3 {
		t.Fatalf("an honest round = %+v, %v", res, err)
	}
}

// TestPeerStepBytes: a step holds at most Config.StepBytes of the peer's
// objects and one object more, however many entries Step allows, so that
// a peer whose objects are large (say 4096 of 200 MiB each: a hostile
// peer signs what it likes) can't make one step hold them all. The steps
// cut short are recorded in order and the peer is replicated whole.
func TestPeerStepBytes(t *testing.T) {
	ctx := context.Background()
	b, size := sharedOrigin(t, 12)
	a, pa := unservedFollower(t, b)
	n := a.Node
	st := &stepLog{Store: n.Store()}
	f, err := peer.New(peer.Config{Store: st, Dir: t.TempDir(), StepBytes: 1}, pa)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Round(ctx)
	if err != nil || res.Next != size || res.Objects != 12 {
		t.Fatalf("Round = %+v, %v; want all %d entries, 12 objects", res, err, size)
	}
	steps := st.recorded()
	if len(steps) != 12 {
		t.Fatalf("steps %v: with StepBytes 1, each step ends after its first object: want 12", steps)
	}
	for i, s := range steps {
		if (i == 0 && s[0] != 0) || (i > 0 && s[0] != steps[i-1][1]) || s[1] <= s[0] {
			t.Fatalf("steps %v aren't contiguous", steps)
		}
	}
	p := a.peerState(t, "a")
	if got := len(localObjects(t, n, pa.Into)); got != 12 || p.State.Next != size || p.State.LastError != "" {
		t.Fatalf("%d objects, state %+v", got, p.State)
	}
}

// TestPeerStepEntryBytes: a step holds at most Config.StepEntryBytes of
// the peer's entries and one entry more, however many Step allows and
// whatever the objects' bytes, so that a peer whose entries are large (64
// KiB each, tlog.MaxEntrySize: a hostile peer logs what it likes) can't
// make one step hold 4096 of them. The steps cut short are recorded in
// order and the peer is replicated whole.
func TestPeerStepEntryBytes(t *testing.T) {
	ctx := context.Background()
	b, size := sharedOrigin(t, 5)
	a, pa := unservedFollower(t, b)
	n := a.Node
	st := &stepLog{Store: n.Store()}
	f, err := peer.New(peer.Config{Store: st, Dir: t.TempDir(), StepEntryBytes: 1}, pa)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Round(ctx)
	if err != nil || res.Next != size || res.Objects != 5 {
		t.Fatalf("Round = %+v, %v; want all %d entries, 5 objects", res, err, size)
	}
	steps := st.recorded()
	if int64(len(steps)) != size {
		t.Fatalf("steps %v: with StepEntryBytes 1, each step ends after its first entry: want %d", steps, size)
	}
	for i, s := range steps {
		if s[0] != int64(i) || s[1] != int64(i)+1 {
			t.Fatalf("steps %v aren't one entry each, in order", steps)
		}
	}
	if got := len(localObjects(t, n, pa.Into)); got != 5 {
		t.Fatalf("%d objects stored, want 5", got)
	}
}

// TestPeerRedirectElsewhere: a peer that redirects the follower to
// another origin (here the cloud's metadata address, in a Location of a
// MiB) isn't followed; the round's error and the peer's recorded error
// name the redirect, bounded.
func TestPeerRedirectElsewhere(t *testing.T) {
	b := newOrigin(t, "a")
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://169.254.169.254/"+strings.Repeat("a", 1<<20))
		w.WriteHeader(http.StatusFound)
	}))
	defer hostile.Close()
	n, _ := initNode(t, Options{})
	defer n.Close()
	a := &fedNode{Node: n}
	pa := a.followVia(t, b, hostile.URL, "a")
	f, err := peer.New(peer.Config{Store: n.Store(), Dir: t.TempDir()}, pa)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Round(context.Background())
	if err == nil || !strings.Contains(err.Error(), "redirected to http://169.254.169.254:80") || len(err.Error()) > 2000 {
		t.Fatalf("Round = (%d bytes) %.300v", len(fmt.Sprint(err)), err)
	}
	if p := a.peerState(t, "a"); !strings.Contains(p.State.LastError, "redirected") || len(p.State.LastError) > 2000 {
		t.Fatalf("recorded error of %d bytes (%.300q)", len(p.State.LastError), p.State.LastError)
	}
}

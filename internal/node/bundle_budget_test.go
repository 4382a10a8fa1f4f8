package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

// The band in which a proof bundle's allocations must fall, as a fraction
// of its reservation (TestBundleReservationByShape,
// TestPeerBundleReservationByShape; the figures are in docs/benchmarks.md).
// Above 1 a bundle would hold more than it reserved. Measured, the ratios
// run from 0.50 (one object of 1 MiB: encoded in one piece, its JSON costs
// 3 bytes a byte of the 6 that bundleFactor counts for the encoder's
// doublings) to 0.86 (five objects of 60 KiB, just past a doubling);
// bundleLowRatio leaves a little room under the lowest.
const (
	bundleLowRatio  = 0.45
	bundleHighRatio = 1.0
)

// measureGet serves GET path as the token's member on h into a response
// that counts the body without holding it, and returns the status and
// the bytes allocated meanwhile, garbage included: the least of two
// runs, so that background work of the node (its integrator) counts
// less. Two collections before each run empty sync.Pools (encoding/json
// keeps its buffers there), so that a run pays for its buffers as a
// request that finds them taken by others would.
func measureGet(h http.Handler, path, token string) (status int, allocated int64) {
	allocated = -1
	for range 2 {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := &discardResponse{h: http.Header{}, status: http.StatusOK} // a Write without WriteHeader is a 200
		var before, after runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&before)
		h.ServeHTTP(w, req)
		runtime.ReadMemStats(&after)
		status = w.status
		if a := int64(after.TotalAlloc - before.TotalAlloc); allocated < 0 || a < allocated {
			allocated = a
		}
	}
	return status, allocated
}

// checkBundleBand measures GET path (a bundle for which reserved is
// reserved) and fails t unless it answers 200 and allocates within
// [bundleLowRatio, bundleHighRatio] of reserved.
func checkBundleBand(t *testing.T, h http.Handler, path, token string, reserved int64) {
	t.Helper()
	if status, _ := measureGet(h, path, token); status != http.StatusOK { // warms the store's and the tiles' caches
		t.Fatalf("GET %.60s: %d", path, status)
	}
	status, allocated := measureGet(h, path, token)
	ratio := float64(allocated) / float64(reserved)
	if raceDetector && status == http.StatusOK {
		// The race detector's runtime drops sync.Pool items at random,
		// so pooled buffers (the JSON encoder's, bufio's) are allocated
		// again: the model is of the production build, checked without
		// -race (CI's node suite on PostgreSQL, go test).
		t.Logf("under -race, not checked: allocated %9d bytes, reserved %9d (%.2f)", allocated, reserved, ratio)
		return
	}
	if status != http.StatusOK || ratio > bundleHighRatio || ratio < bundleLowRatio {
		t.Errorf("GET %.60s = %d, allocated %d bytes, reserved %d (%.2f); want within [%.2f, %.2f]",
			path, status, allocated, reserved, ratio, bundleLowRatio, bundleHighRatio)
		return
	}
	t.Logf("allocated %9d bytes, reserved %9d (%.2f)", allocated, reserved, ratio)
}

// largeIndicator returns an indicator id of creator m at version modified
// whose description is desc, signed.
func largeIndicator(t *testing.T, m testMember, id string, modified time.Time, desc string) json.RawMessage {
	t.Helper()
	return object(t, m.Key, map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": id,
		"created": "2026-01-01T00:00:00.000Z", "modified": stix.FormatTimestamp(modified),
		"created_by_ref": m.ID, "name": "large", "description": desc,
		"pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
		"valid_from": "2026-01-01T00:00:00Z",
	})
}

// TestBundleReservationByShape: GET /log/bundle allocates, garbage
// included, less than bundleReservation reserves for it, and not
// absurdly less (bundleLowRatio), whatever the bundle's shape: one object
// of nearly max_object_size (of plain text, and of <, which JSON's HTML
// escaping would write as six bytes), many small objects, many versions
// of one, large or small, objects in two collections and one object in
// both; first in a tree of one tile level, then of two (full tiles), with
// thirty more collections the member may read, where every id is looked
// for.
func TestBundleReservationByShape(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	a := tn.alice
	newID := func() string { return stix.NewIdentifier("indicator") }
	pad := int(tn.cfg.MaxObjectSize) - 4<<10
	shapes := []struct {
		name  string
		share func(t *testing.T) []string // shares the bundle's objects and returns their ids
	}{
		{"one large object", func(t *testing.T) []string {
			o := largeIndicator(t, a, newID(), t0, strings.Repeat("x", pad))
			postOK(t, tn, a, tn.shared, o)
			return []string{idOf(t, o)}
		}},
		{"one large object of <", func(t *testing.T) []string {
			// taxii.Client posts it as is, not with each < as \u003c.
			o := largeIndicator(t, a, newID(), t0, strings.Repeat("<", pad))
			postOK(t, tn, a, tn.shared, o)
			return []string{idOf(t, o)}
		}},
		{"many small objects", func(t *testing.T) []string {
			var ids []string
			var objs []json.RawMessage
			for i := range MaxBundleObjects {
				o := indicator(t, a.ID, a.Key, t0.Add(time.Duration(i)*time.Millisecond))
				objs, ids = append(objs, o), append(ids, idOf(t, o))
			}
			postOK(t, tn, a, tn.shared, objs...)
			return ids
		}},
		{"16 versions of 32 KiB", func(t *testing.T) []string {
			id := newID()
			for i := range 16 {
				postOK(t, tn, a, tn.shared, largeIndicator(t, a, id, t0.Add(time.Duration(i)*time.Second), strings.Repeat("v", 32<<10)))
			}
			return []string{id}
		}},
		{"64 small versions", func(t *testing.T) []string {
			id := newID()
			var objs []json.RawMessage
			for i := range 64 {
				objs = append(objs, largeIndicator(t, a, id, t0.Add(time.Duration(i)*time.Second), "small"))
			}
			postOK(t, tn, a, tn.shared, objs...)
			return []string{id}
		}},
		{"5 objects of 60 KiB", func(t *testing.T) []string { // their sum ends just past a doubling of the encoder's buffer
			var ids []string
			for range 5 {
				o := largeIndicator(t, a, newID(), t0, strings.Repeat("m", 60<<10))
				postOK(t, tn, a, tn.shared, o)
				ids = append(ids, idOf(t, o))
			}
			return ids
		}},
		{"objects in two collections", func(t *testing.T) []string {
			var ids []string
			for range 10 {
				for _, c := range []string{tn.shared, tn.optional} {
					o := largeIndicator(t, a, newID(), t0, strings.Repeat("c", 8<<10))
					postOK(t, tn, a, c, o)
					ids = append(ids, idOf(t, o))
				}
			}
			both := largeIndicator(t, a, newID(), t0, strings.Repeat("b", 8<<10))
			postOK(t, tn, a, tn.shared, both)
			postOK(t, tn, a, tn.optional, both)
			return append(ids, idOf(t, both))
		}},
	}
	ids := make([][]string, len(shapes))
	for i, s := range shapes {
		ids[i] = s.share(t)
	}
	alice, err := tn.Store().Member(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	h := tn.Handler(nil)
	measure := func(t *testing.T) {
		size := waitIntegrated(t, tn)
		cs, err := tn.Store().Collections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range shapes {
			t.Run(s.name, func(t *testing.T) {
				reserved, err := tn.bundleReservation(ctx, cs, alice, ids[i], bundleTree{size: size, cached: true})
				if err != nil {
					t.Fatal(err)
				}
				checkBundleBand(t, h, "/log/bundle?"+url.Values{"object": ids[i]}.Encode(), a.Token, reserved)
			})
		}
	}
	t.Run("one tile level", measure)
	if size := tn.logSize(t); size >= 256 {
		t.Fatalf("the log has %d entries, a full tile: the first measure isn't of one tile level", size)
	}
	for range 3 {
		var objs []json.RawMessage
		for i := range 100 {
			objs = append(objs, indicator(t, a.ID, a.Key, t0.Add(time.Duration(i)*time.Millisecond)))
		}
		postOK(t, tn, a, tn.shared, objs...)
	}
	for i := range 30 {
		if _, err := tn.AddCollection(ctx, fmt.Sprint("more", i), "", []string{"alice"}, []string{"alice"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("two tile levels, 32 collections", measure)

	// Unescaped, the bundle of the object of < holds it as stored and
	// verifies.
	for i, s := range shapes {
		if s.name != "one large object of <" {
			continue
		}
		code, body := rawGet(t, tn.URL+"/log/bundle?object="+url.QueryEscape(ids[i][0]), a.Token)
		if code != http.StatusOK || !strings.Contains(body, strings.Repeat("<", 1<<10)) {
			t.Fatalf("GET /log/bundle of an object of <: %d, %d bytes, its < escaped", code, len(body))
		}
		if _, err := tlog.VerifyBundle([]byte(body), tn.VerifierKey()); err != nil {
			t.Errorf("the bundle of an object of <: %v", err)
		}
	}
}

// TestPeerBundleReservationByShape: GET /peers/bundle allocates within
// the same band of what bundleReservation reserves for it, for one object
// of nearly max_object_size and many versions of one, large or small, in
// a peer's tree of one tile level and then of two, whose full tiles a
// peer bundle reads for every version (they are not cached). The
// follower is measured stopped and opened again without serving, so
// that its following doesn't count.
func TestPeerBundleReservationByShape(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	carol, err := a.AddMember(ctx, "carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	pa := a.follow(t, b, "a", "from-b", "carol")
	ba := b.alice
	newID := func() string { return stix.NewIdentifier("indicator") }
	pad := int(b.cfg.MaxObjectSize) - 4<<10
	shapes := []struct {
		name  string
		share func(t *testing.T) string // shares the object's versions and returns its id
	}{
		{"one large object", func(t *testing.T) string {
			id := newID()
			post(t, ba.Client, b.intel, largeIndicator(t, ba, id, t0, strings.Repeat("x", pad)))
			return id
		}},
		{"16 versions of 32 KiB", func(t *testing.T) string {
			id := newID()
			for i := range 16 {
				post(t, ba.Client, b.intel, largeIndicator(t, ba, id, t0.Add(time.Duration(i)*time.Second), strings.Repeat("v", 32<<10)))
			}
			return id
		}},
		{"64 small versions", func(t *testing.T) string {
			id := newID()
			var objs []json.RawMessage
			for i := range 64 {
				objs = append(objs, largeIndicator(t, ba, id, t0.Add(time.Duration(i)*time.Second), "small"))
			}
			post(t, ba.Client, b.intel, objs...)
			return id
		}},
	}
	ids := make([]string, len(shapes))
	for i, s := range shapes {
		ids[i] = s.share(t)
	}
	measure := func(t *testing.T) {
		a.caughtUp(t, b, "a")
		a.stop()
		n, err := Open(ctx, a.dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.start(t)
		defer n.Close()
		st := n.Store()
		c, err := st.Collection(ctx, pa.Into)
		if err != nil {
			t.Fatal(err)
		}
		m, err := st.Member(ctx, carol.ID)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := st.Peers(ctx)
		if err != nil || len(ps) != 1 {
			t.Fatalf("peers %+v: %v", ps, err)
		}
		h := n.Handler(nil)
		for i, s := range shapes {
			t.Run(s.name, func(t *testing.T) {
				reserved, err := n.bundleReservation(ctx, []store.Collection{c}, m, []string{ids[i]}, bundleTree{size: ps[0].State.Next})
				if err != nil {
					t.Fatal(err)
				}
				checkBundleBand(t, h, "/peers/bundle?"+url.Values{"collection": {c.ID}, "object": {ids[i]}}.Encode(), carol.Token, reserved)
			})
		}
	}
	t.Run("one tile level", measure)
	if size := a.peerState(t, "a").State.Next; size >= 256 {
		t.Fatalf("the peer's log has %d entries, a full tile: the first measure isn't of one tile level", size)
	}
	b.share(t, b.intel, 300)
	t.Run("two tile levels", measure)
}

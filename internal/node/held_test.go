package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// heldAnswer is what a request held open got.
type heldAnswer struct {
	code int
	body string
	err  error
}

// getHeld sends GET path as m from a goroutine; the answer comes on the
// channel.
func getHeld(base, path string, m testMember) <-chan heldAnswer {
	ch := make(chan heldAnswer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+m.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- heldAnswer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- heldAnswer{code: resp.StatusCode, body: string(b), err: err}
	}()
	return ch
}

// waitHeld waits until a request has been checked and waits
// (watchHeld), failing t if the request ends first.
func waitHeld(t *testing.T, ch <-chan heldAnswer) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); heldNow.Load() == 0; time.Sleep(time.Millisecond) {
		select {
		case a := <-ch:
			t.Fatalf("the request ended (%d %v: %s) without waiting", a.code, a.err, a.body)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no request waits")
		}
	}
}

// holdAll has each of holders hold the whole of b (each gets at most its
// share), so that a request for any of it waits. It returns what gives it
// all back, which does so once, whenever it is first called or at the
// end of the test.
func holdAll(t *testing.T, b *memoryBudget, holders ...string) (release func()) {
	t.Helper()
	for _, h := range holders {
		if err := b.Acquire(context.Background(), h, b.capacity); err != nil {
			t.Fatal(err)
		}
	}
	released := false
	release = func() {
		if !released {
			released = true
			for _, h := range holders {
				b.Release(h, b.capacity)
			}
		}
	}
	t.Cleanup(release)
	return release
}

// TestHeldForCheckpointEndsAtRevocation: a receipt or proof bundle waits
// (up to ReceiptWait) for a checkpoint that covers its entries; the
// operator takes the member's read, or removes the member, on the other
// front end of the store meanwhile, and another member stores an object.
// A concurrence's evidence waits so for its opinions' checkpoint.
// The held request ends at once with the answer the member would get if
// it asked now (404 as an object it may not read, 401 for a member
// removed), not after the wait, and carries nothing of the object stored
// after the revocation.
func TestHeldForCheckpointEndsAtRevocation(t *testing.T) {
	for _, c := range []struct {
		name string
		path func(t *testing.T, f frontEnds, id, version string) string
		act  func(ctx context.Context, f frontEnds) error
		want int
	}{
		{"receipt, read taken", func(_ *testing.T, _ frontEnds, id, v string) string {
			return "/log/receipt?object=" + url.QueryEscape(id) + "&version=" + url.QueryEscape(v)
		}, func(ctx context.Context, f frontEnds) error {
			_, _, err := f.a.RevokeAccess(ctx, "shared", "bob", true, false)
			return err
		}, http.StatusNotFound},
		{"bundle, read taken", func(_ *testing.T, _ frontEnds, id, _ string) string {
			return "/log/bundle?object=" + url.QueryEscape(id)
		},
			func(ctx context.Context, f frontEnds) error {
				_, _, err := f.a.RevokeAccess(ctx, "shared", "bob", true, true)
				return err
			}, http.StatusNotFound},
		{"bundle, member removed", func(_ *testing.T, _ frontEnds, id, _ string) string {
			return "/log/bundle?object=" + url.QueryEscape(id)
		},
			func(ctx context.Context, f frontEnds) error {
				_, err := f.a.RemoveMember(ctx, f.bob.ID)
				return err
			}, http.StatusUnauthorized},
		{"concurrence, read taken", func(t *testing.T, f frontEnds, id, _ string) string {
			// Alice's opinion of her object: logged, not integrated,
			// so its evidence waits for a checkpoint.
			op := testOpinion(t, f.alice, "opinion--00000000-0000-4000-8000-0000000000e1", 1, opinion.Agree, false, id)
			if st := post(t, f.alice.Client, f.coll, op); st.SuccessCount != 1 {
				t.Fatalf("alice's opinion: %+v", st)
			}
			return "/concurrence?object=" + url.QueryEscape(id)
		}, func(ctx context.Context, f frontEnds) error {
			_, _, err := f.a.RevokeAccess(ctx, "shared", "bob", true, false)
			return err
		}, http.StatusNotFound},
		{"private set receipt, read taken", func(t *testing.T, f frontEnds, _, _ string) string {
			// Alice's set of values: its key entry is logged, not
			// integrated.
			set, err := (&private.Client{BaseURL: f.srv.URL, Token: f.alice.Token}).Publish(context.Background(), private.PublishRequest{Collection: f.coll, Values: testValues("held", 3)})
			if err != nil {
				t.Fatal(err)
			}
			return "/private/sets/" + set.ID + "/receipt"
		}, func(ctx context.Context, f frontEnds) error {
			_, _, err := f.a.RevokeAccess(ctx, "shared", "bob", true, false)
			return err
		}, http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			f := twoFrontEnds(t)
			// Alice's object is logged, not integrated: no checkpoint
			// covers it, nothing integrates the log.
			st := post(t, f.alice.Client, f.coll, indicator(t, f.alice.ID, f.alice.Key, t0))
			if st.SuccessCount != 1 {
				t.Fatalf("setup: %+v", st)
			}
			obj := st.Successes[0]
			ch := getHeld(f.srv.URL, c.path(t, f, obj.ID, obj.Version), f.bob)
			waitHeld(t, ch)

			revoked := time.Now()
			if err := c.act(ctx, f); err != nil {
				t.Fatal(err)
			}
			later := indicator(t, f.alice.ID, f.alice.Key, t0.Add(time.Second))
			if st := post(t, f.alice.Client, f.coll, later); st.SuccessCount != 1 {
				t.Fatalf("alice's object after the revocation: %+v", st)
			}
			a := <-ch
			took := time.Since(revoked)
			if a.err != nil || a.code != c.want {
				t.Errorf("the held request: %d %v: %s; want %d", a.code, a.err, a.body, c.want)
			}
			if strings.Contains(a.body, idOf(t, later)) || strings.Contains(a.body, obj.ID) || strings.Contains(a.body, "opening") {
				t.Errorf("the held request answered objects after the revocation: %s", a.body)
			}
			// It ends at the next check, not after the wait (which ends
			// in a 503: nothing integrates).
			if took >= ReceiptWait {
				t.Errorf("the held request ended %v after the revocation, as late as the wait (%v)", took, ReceiptWait)
			}
		})
	}
}

// TestHeldForBudgetReadsAfterRevocation: a request that carries objects
// waits for its share of the response budget, which others hold; the
// operator takes the member's read meanwhile, and another member stores
// an object. GET /log/objects, once it has its share, reads under the
// access lists as they are then: neither the object stored after the
// revocation nor the one before. A TAXII page ends at once with 403 (the
// member still writes), and a member removed while it waits gets 401 at
// once, both without waiting for the budget.
func TestHeldForBudgetReadsAfterRevocation(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (frontEnds, string, func()) {
		f := twoFrontEnds(t)
		st := post(t, f.alice.Client, f.coll, indicator(t, f.alice.ID, f.alice.Key, t0))
		if st.SuccessCount != 1 {
			t.Fatalf("setup: %+v", st)
		}
		if _, err := mustIntegrator(t, f.a).Integrate(ctx); err != nil {
			t.Fatal(err)
		}
		// Two others hold the whole budget (each at most its share).
		release := holdAll(t, budgetOf(t, f.b.memory), "someone else", "another")
		return f, st.Successes[0].ID, release
	}
	queued := func(t *testing.T, f frontEnds, ch <-chan heldAnswer) {
		t.Helper()
		b := budgetOf(t, f.b.memory)
		for deadline := time.Now().Add(10 * time.Second); queuedFor(b, f.bob.ID) == 0; time.Sleep(time.Millisecond) {
			select {
			case a := <-ch:
				t.Fatalf("bob's request ended (%d %v: %s) without waiting for the budget", a.code, a.err, a.body)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("bob's request doesn't wait for the budget")
			}
		}
	}

	t.Run("log objects, read taken", func(t *testing.T) {
		f, before, release := setup(t)
		ch := getHeld(f.srv.URL, "/log/objects?start=0&end=1000", f.bob)
		queued(t, f, ch)
		if _, _, err := f.a.RevokeAccess(ctx, "shared", "bob", true, false); err != nil {
			t.Fatal(err)
		}
		later := indicator(t, f.alice.ID, f.alice.Key, t0.Add(time.Second))
		if st := post(t, f.alice.Client, f.coll, later); st.SuccessCount != 1 {
			t.Fatalf("alice's object after the revocation: %+v", st)
		}
		release()
		a := <-ch
		if a.err != nil || a.code != http.StatusOK {
			t.Fatalf("bob's /log/objects: %d %v: %s", a.code, a.err, a.body)
		}
		if strings.Contains(a.body, idOf(t, later)) {
			t.Errorf("bob got the object stored after his read was taken: %s", a.body)
		}
		if strings.Contains(a.body, before) {
			t.Errorf("bob got, after his read was taken, an object of the collection: %s", a.body)
		}
	})

	// Without the budget: the answer comes while others still hold it
	// all.
	for _, c := range []struct {
		name string
		end  func(f frontEnds) error
		want error
	}{
		{"TAXII objects, read taken", func(f frontEnds) error {
			_, _, err := f.a.RevokeAccess(ctx, "shared", "bob", true, false)
			return err
		}, taxii.ErrForbidden},
		{"TAXII objects, member removed", func(f frontEnds) error {
			_, err := f.a.RemoveMember(ctx, f.bob.ID)
			return err
		}, taxii.ErrUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, _, release := setup(t)
			ch := make(chan heldAnswer, 1)
			go func() {
				_, err := f.bob.Client.Objects(ctx, f.coll, taxii.Query{})
				ch <- heldAnswer{err: err}
			}()
			queued(t, f, ch)
			if err := c.end(f); err != nil {
				t.Fatal(err)
			}
			a := <-ch
			release()
			if !errors.Is(a.err, c.want) {
				t.Errorf("bob's TAXII page: %v, want %v", a.err, c.want)
			}
		})
	}

	t.Run("log objects, member removed", func(t *testing.T) {
		f, _, release := setup(t)
		ch := getHeld(f.srv.URL, "/log/objects?start=0&end=1000", f.bob)
		queued(t, f, ch)
		if _, err := f.a.RemoveMember(ctx, f.bob.ID); err != nil {
			t.Fatal(err)
		}
		a := <-ch
		release()
		if a.err != nil || a.code != http.StatusUnauthorized {
			t.Errorf("bob's /log/objects after his removal: %d %v: %s; want 401", a.code, a.err, a.body)
		}
	})
}

// TestHeldPrivateEvaluateEndsAtRevocation: an evaluation against a
// private set waits for a private-set CPU, which another holds; the
// operator takes the member's read of the set's collection meanwhile.
// The evaluation ends at once with 404 (the set is one it may not read
// now), not after the wait, and nothing is charged to the set's budget.
func TestHeldPrivateEvaluateEndsAtRevocation(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	set, err := (&private.Client{BaseURL: tn.URL, Token: tn.alice.Token}).Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("held", 3)})
	if err != nil {
		t.Fatal(err)
	}
	q := private.NewQuerier(mustKey(t, set.PublicKey), rand.Reader)
	_, req, err := q.Blind([]string{"domain-name:held1.example"})
	if err != nil {
		t.Fatal(err)
	}
	_, cpu, _, err := tn.privateAPI().limits()
	if err != nil {
		t.Fatal(err)
	}
	b := budgetOf(t, cpu)
	defer holdAll(t, b, "someone else")()
	done := make(chan error, 1)
	answer := make(chan error, 1)
	go func() {
		_, err := (&private.Client{BaseURL: tn.URL, Token: tn.bob.Token}).Evaluate(ctx, set.ID, req)
		answer <- err
		done <- err
	}()
	// Bob's read of the set checked, his batch waits for a CPU.
	waitQueued(t, b, tn.bob.ID, done)
	if _, _, err := tn.RevokeAccess(ctx, tn.shared, tn.bob.ID, true, false); err != nil {
		t.Fatal(err)
	}
	// With every CPU still held by someone else.
	if err := <-answer; !isStatus(err, http.StatusNotFound) {
		t.Errorf("bob's evaluation after his read was taken: %v, want 404", err)
	}
	if used, err := tn.store.PrivateBudgetUsed(ctx, set.ID, tn.bob.ID); err != nil || used != 0 {
		t.Errorf("bob's refused evaluation was charged: %d, %v", used, err)
	}
}

// TestConcurrenceMeasuredBeforeRevocation: a tally is measured (and its
// memory reserved, which may wait), then computed; the operator takes the
// member's read between the two. The computation reads the access lists
// as they are then: the object is one the member may not read (404),
// whatever the lists said when it was measured.
func TestConcurrenceMeasuredBeforeRevocation(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	st := post(t, tn.alice.Client, tn.shared, indicator(t, tn.alice.ID, tn.alice.Key, t0))
	if st.SuccessCount != 1 {
		t.Fatalf("setup: %+v", st)
	}
	bob, err := tn.store.Member(ctx, tn.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	id := st.Successes[0].ID
	_, compute, err := tn.PrepareConcurrence(ctx, bob, id, ConcurrenceWait)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tn.RevokeAccess(ctx, tn.shared, tn.bob.ID, true, false); err != nil {
		t.Fatal(err)
	}
	if c, err := compute(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the tally computed after bob's read was taken: %+v, %v; want ErrNotFound", c, err)
	}
}

// TestPeerBundleReadTakenWhileQueued: GET /peers/bundle waits for its
// reader's share of the response budget (here held by the reader's own
// earlier request); the operator takes the reader's read of the
// replicated collection meanwhile. Once the share comes the request
// answers 404, as to a member who may not read it, not the bundle.
func TestPeerBundleReadTakenWhileQueued(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	carol, err := a.AddMember(ctx, "carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	pa := a.follow(t, b, "a", "from-b", "carol")
	small := indicator(t, b.alice.ID, b.alice.Key, t0)
	post(t, b.alice.Client, b.intel, small)
	a.caughtUp(t, b, "a")
	id := idOf(t, small)
	if code, body := getPeerBundle(t, a, carol.Token, pa.Into, id); code != http.StatusOK {
		t.Fatalf("carol's bundle before: %d %s", code, body)
	}

	share := a.memory.share / a.memory.unit
	if err := a.memory.Acquire(ctx, carol.ID, share); err != nil {
		t.Fatal(err)
	}
	ch := getHeld(a.URL, "/peers/bundle?collection="+pa.Into+"&object="+id, testMember{Token: carol.Token})
	done := make(chan error, 1)
	waitQueued(t, a.memory, carol.ID, done)
	if _, _, err := a.RevokeAccess(ctx, pa.Into, carol.ID, true, false); err != nil {
		t.Fatal(err)
	}
	a.memory.Release(carol.ID, share)
	r := <-ch
	if r.err != nil || r.code != http.StatusNotFound {
		t.Errorf("carol's bundle after her read was taken: %d %v: %.200s; want 404", r.code, r.err, r.body)
	}
}

// TestPrivateTagsReadTakenDuringRefresh: GET /private/sets/{id}/tags of
// a set made from a collection first brings the set up to date, tagging
// the indicators stored since, which waits for a private-set CPU; the
// operator takes the reader's read of the collection meanwhile. Once the
// set is refreshed the request answers 404, as to a member who may not
// read the set, not the tags.
func TestPrivateTagsReadTakenDuringRefresh(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	a := tn.privateAPI()
	a.setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour), Workers: 1})
	domain := func(name string) json.RawMessage {
		return object(t, tn.alice.Key, map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
			"created_by_ref": tn.alice.ID, "name": name,
			"pattern": "[domain-name:value = '" + name + "']", "pattern_type": "stix",
			"valid_from": "2026-01-01T00:00:00Z",
		})
	}
	post(t, tn.alice.Client, tn.shared, domain("one.example"))
	set, err := (&private.Client{BaseURL: tn.URL, Token: tn.alice.Token}).Publish(ctx, private.PublishRequest{Collection: tn.shared})
	if err != nil {
		t.Fatal(err)
	}
	post(t, tn.alice.Client, tn.shared, domain("two.example"))

	_, cpu, _, err := a.limits()
	if err != nil {
		t.Fatal(err)
	}
	b := budgetOf(t, cpu)
	release := holdAll(t, b, "someone else")
	defer release()
	ch := getHeld(tn.URL, "/private/sets/"+set.ID+"/tags", tn.bob)
	// Bob's read checked, the refresh waits for a CPU to tag the new
	// indicator (as the set's member, alice).
	for deadline := time.Now().Add(10 * time.Second); queuedFor(b, tn.alice.ID) == 0; time.Sleep(time.Millisecond) {
		select {
		case r := <-ch:
			t.Fatalf("bob's tags ended (%d %v) without waiting for the refresh", r.code, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no refresh waits for a CPU")
		}
	}
	if _, _, err := tn.RevokeAccess(ctx, tn.shared, tn.bob.ID, true, false); err != nil {
		t.Fatal(err)
	}
	release()
	r := <-ch
	if r.err != nil || r.code != http.StatusNotFound {
		t.Errorf("bob's tags after his read was taken: %d %v, %d bytes; want 404", r.code, r.err, len(r.body))
	}
}

// TestUIPageHeldReadsAfterRevocation: a web UI page that lists objects
// (a collection's page, a look-up) waits for its share of the response
// budget, which others hold; the operator takes the member's read
// meanwhile, and another member stores an object that the page would
// show. Once it has its share the page reads under the lists as they are
// then: the collection is 404, and the look-up finds neither object.
func TestUIPageHeldReadsAfterRevocation(t *testing.T) {
	ctx := context.Background()
	domain := func(f frontEnds, name string) json.RawMessage {
		return object(t, f.alice.Key, map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
			"created_by_ref": f.alice.ID, "name": name,
			"pattern": "[domain-name:value = '" + name + "']", "pattern_type": "stix",
			"valid_from": "2026-01-01T00:00:00Z",
		})
	}
	for _, c := range []struct {
		name string
		page func(f frontEnds) string
		ok   func(code int, body, before, later string) bool
	}{
		{"collection", func(f frontEnds) string { return "/ui/collections/" + url.PathEscape(f.coll) },
			func(code int, _, _, _ string) bool { return code == http.StatusNotFound }},
		{"look-up", func(f frontEnds) string { return "/ui/search?q=held.example" },
			func(code int, body, before, later string) bool {
				return code == http.StatusOK && !strings.Contains(body, before) && !strings.Contains(body, later)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := twoFrontEnds(t)
			first := domain(f, "held.example")
			if st := post(t, f.alice.Client, f.coll, first); st.SuccessCount != 1 {
				t.Fatalf("setup: %+v", st)
			}
			ui := uiLogin(t, f.srv.URL, f.bob)
			b := budgetOf(t, f.b.memory)
			release := holdAll(t, b, "someone else", "another")
			defer release()
			ch := make(chan heldAnswer, 1)
			go func() {
				resp, err := ui.Get(f.srv.URL + c.page(f))
				if err != nil {
					ch <- heldAnswer{err: err}
					return
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				ch <- heldAnswer{code: resp.StatusCode, body: string(body), err: err}
			}()
			for deadline := time.Now().Add(10 * time.Second); queuedFor(b, f.bob.ID) == 0; time.Sleep(time.Millisecond) {
				select {
				case r := <-ch:
					t.Fatalf("bob's page ended (%d %v) without waiting for the budget", r.code, r.err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("bob's page doesn't wait for the budget")
				}
			}
			if _, _, err := f.a.RevokeAccess(ctx, "shared", "bob", true, false); err != nil {
				t.Fatal(err)
			}
			later := domain(f, "held.example")
			if st := post(t, f.alice.Client, f.coll, later); st.SuccessCount != 1 {
				t.Fatalf("alice's object after the revocation: %+v", st)
			}
			release()
			r := <-ch
			if r.err != nil || !c.ok(r.code, r.body, idOf(t, first), idOf(t, later)) {
				t.Errorf("bob's page after his read was taken: %d %v:\n%.3000s", r.code, r.err, r.body)
			}
		})
	}
}

// TestHeldCheckedAgainAfterWait: with the checks while waiting out of the
// way (heldRecheck of an hour), what a held request checks once its wait
// is over still holds it to a revocation made during the wait: a receipt
// whose checkpoint came after the member's read was taken is 404, and an
// evaluation that got its CPU after is 404 and uncharged.
func TestHeldCheckedAgainAfterWait(t *testing.T) {
	defer func(d time.Duration) { heldRecheck = d }(heldRecheck)
	heldRecheck = time.Hour
	ctx := context.Background()

	t.Run("receipt", func(t *testing.T) {
		f := twoFrontEnds(t)
		st := post(t, f.alice.Client, f.coll, indicator(t, f.alice.ID, f.alice.Key, t0))
		if st.SuccessCount != 1 {
			t.Fatalf("setup: %+v", st)
		}
		obj := st.Successes[0]
		ch := getHeld(f.srv.URL, "/log/receipt?object="+url.QueryEscape(obj.ID)+"&version="+url.QueryEscape(obj.Version), f.bob)
		waitHeld(t, ch)
		if _, _, err := f.a.RevokeAccess(ctx, "shared", "bob", true, false); err != nil {
			t.Fatal(err)
		}
		if _, err := mustIntegrator(t, f.a).Integrate(ctx); err != nil {
			t.Fatal(err)
		}
		if r := <-ch; r.err != nil || r.code != http.StatusNotFound {
			t.Errorf("bob's receipt, whose checkpoint came after his read was taken: %d %v: %s; want 404", r.code, r.err, r.body)
		}
	})

	t.Run("evaluate", func(t *testing.T) {
		tn := newTestNode(t)
		set, err := (&private.Client{BaseURL: tn.URL, Token: tn.alice.Token}).Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("held", 3)})
		if err != nil {
			t.Fatal(err)
		}
		_, req, err := private.NewQuerier(mustKey(t, set.PublicKey), rand.Reader).Blind([]string{"domain-name:held1.example"})
		if err != nil {
			t.Fatal(err)
		}
		_, cpu, _, err := tn.privateAPI().limits()
		if err != nil {
			t.Fatal(err)
		}
		b := budgetOf(t, cpu)
		release := holdAll(t, b, "someone else")
		done := make(chan error, 1)
		answer := make(chan error, 1)
		go func() {
			_, err := (&private.Client{BaseURL: tn.URL, Token: tn.bob.Token}).Evaluate(ctx, set.ID, req)
			answer <- err
			done <- err
		}()
		waitQueued(t, b, tn.bob.ID, done)
		if _, _, err := tn.RevokeAccess(ctx, tn.shared, tn.bob.ID, true, false); err != nil {
			t.Fatal(err)
		}
		release()
		if err := <-answer; !isStatus(err, http.StatusNotFound) {
			t.Errorf("bob's evaluation, which got its CPU after his read was taken: %v, want 404", err)
		}
		if used, err := tn.store.PrivateBudgetUsed(ctx, set.ID, tn.bob.ID); err != nil || used != 0 {
			t.Errorf("bob's refused evaluation was charged: %d, %v", used, err)
		}
	})
}

// revokeOnObjectsStore is the node's real store, on which the operator
// takes member's read of collection as the first objects page is read
// (Objects): after the request's access was checked, before its objects
// come back.
type revokeOnObjectsStore struct {
	store.Store
	once               sync.Once
	collection, member string
	err                error
}

func (s *revokeOnObjectsStore) Objects(ctx context.Context, q store.Query) (store.Page, error) {
	s.once.Do(func() { s.err = s.Store.RevokeAccess(ctx, s.collection, s.member, true, false) })
	return s.Store.Objects(ctx, q)
}

// TestTAXIIObjectsReadTakenDuringRead: a TAXII objects page whose member's
// read is taken after its access was checked, while its objects are read,
// answers what the member would get if it asked now (403: it still
// writes there), not the objects read.
func TestTAXIIObjectsReadTakenDuringRead(t *testing.T) {
	fn := newFrontNode(t, nil)
	post(t, &taxii.Client{BaseURL: fn.srv.URL, Token: fn.alice.Token}, fn.coll, indicator(t, fn.alice.ID, fn.key, t0))
	path := "/api/collections/" + fn.coll + "/objects/"
	if resp, body := fn.do(t, http.MethodGet, path, "Bearer "+fn.alice.Token, nil); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"indicator--`) {
		t.Fatalf("setup: alice's page: %s %s", resp.Status, body)
	}
	wrapped := &revokeOnObjectsStore{Store: fn.store, collection: fn.coll, member: fn.alice.ID}
	fn.store = wrapped
	resp, body := fn.do(t, http.MethodGet, path, "Bearer "+fn.alice.Token, nil)
	if wrapped.err != nil {
		t.Fatal(wrapped.err)
	}
	if resp.StatusCode != http.StatusForbidden || strings.Contains(string(body), `"indicator--`) {
		t.Errorf("alice's page, her read taken while it was read: %s %s; want 403 and no object", resp.Status, body)
	}
}

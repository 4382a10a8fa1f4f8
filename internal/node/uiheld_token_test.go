package node

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/opinion"
)

// TestUIHeldEndsAtTokenRevocation: the web UI's scripts read receipts,
// proof bundles and concurrences through /ui/api/, which wait (up to
// ReceiptWait) for a checkpoint that covers their entries. The operator
// revokes the member's API token meanwhile (parley member token
// --revoke: the member keeps its access): the session ends with its
// token, so the held request ends at once with 401, as a TAXII client's
// does. It went on to the end of its wait: the node's check of a held
// request re-authenticated the UI's in-process call by the member in its
// context, which always passes, not by the session's token.
func TestUIHeldEndsAtTokenRevocation(t *testing.T) {
	for _, c := range []struct {
		name string
		path func(t *testing.T, f frontEnds, id, version string) string
	}{
		{"receipt", func(_ *testing.T, _ frontEnds, id, v string) string {
			return "/ui/api/log/receipt?object=" + url.QueryEscape(id) + "&version=" + url.QueryEscape(v)
		}},
		{"bundle", func(_ *testing.T, _ frontEnds, id, _ string) string {
			return "/ui/api/log/bundle?object=" + url.QueryEscape(id)
		}},
		{"concurrence", func(t *testing.T, f frontEnds, id, _ string) string {
			op := testOpinion(t, f.alice, "opinion--00000000-0000-4000-8000-0000000000e2", 1, opinion.Agree, false, id)
			if st := post(t, f.alice.Client, f.coll, op); st.SuccessCount != 1 {
				t.Fatalf("alice's opinion: %+v", st)
			}
			return "/ui/api/concurrence?object=" + url.QueryEscape(id)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			f := twoFrontEnds(t)
			// Logged, not integrated: nothing integrates the log.
			st := post(t, f.alice.Client, f.coll, indicator(t, f.alice.ID, f.alice.Key, t0))
			if st.SuccessCount != 1 {
				t.Fatalf("setup: %+v", st)
			}
			obj := st.Successes[0]
			ui := uiLogin(t, f.srv.URL, f.bob)
			ch := uiGetAsync(ui, f.srv.URL+c.path(t, f, obj.ID, obj.Version))
			waitHeld(t, ch)
			revoked := time.Now()
			if _, err := f.a.RevokeTokens(ctx, f.bob.ID); err != nil {
				t.Fatal(err)
			}
			a := <-ch
			took := time.Since(revoked)
			if a.err != nil || a.code != http.StatusUnauthorized {
				t.Errorf("the held UI request: %d %v: %s; want 401", a.code, a.err, a.body)
			}
			if strings.Contains(a.body, "opening") {
				t.Errorf("the held UI request answered after the revocation: %s", a.body)
			}
			if took >= ReceiptWait {
				t.Errorf("the held UI request ended %v after the revocation, as late as the wait (%v)", took, ReceiptWait)
			}
		})
	}
}

// TestUIPageHeldEndsAtTokenRevocation: a web UI page waits for its share
// of the response budget, which others hold; the operator revokes the
// member's API token meanwhile. The page ends at once, without the
// collection's objects, rather than waiting out the budget (up to
// budgetWait) and then reading them for a session whose token is gone.
func TestUIPageHeldEndsAtTokenRevocation(t *testing.T) {
	ctx := context.Background()
	f := twoFrontEnds(t)
	st := post(t, f.alice.Client, f.coll, indicator(t, f.alice.ID, f.alice.Key, t0))
	if st.SuccessCount != 1 {
		t.Fatalf("setup: %+v", st)
	}
	ui := uiLogin(t, f.srv.URL, f.bob)
	b := budgetOf(t, f.b.memory)
	release := holdAll(t, b, "someone else", "another")
	defer release()
	ch := uiGetAsync(ui, f.srv.URL+"/ui/collections/"+url.PathEscape(f.coll))
	waitPageQueued(t, b, f.bob.ID, ch)
	revoked := time.Now()
	if _, err := f.a.RevokeTokens(ctx, f.bob.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ch:
		if r.err != nil || r.code == http.StatusOK || strings.Contains(r.body, st.Successes[0].ID) {
			t.Errorf("bob's page after his token was revoked: %d %v:\n%.3000s", r.code, r.err, r.body)
		}
	case <-time.After(budgetWait / 2):
		t.Fatalf("bob's page still waits %v after his token was revoked", time.Since(revoked))
	}
}

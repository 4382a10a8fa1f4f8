package node

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestUIPageHeldEndsAtLogout: a web UI page waits for its share of the
// response budget, which others hold; meanwhile the analyst logs out, on
// another front end of the same store (or someone with the session's
// CSRF token does). The page ends at once with 401, without the
// collection's objects: the session's token still authenticates its
// member, so only the session's own end can stop it. It went on waiting
// out the budget and then read the objects for a session that had ended.
func TestUIPageHeldEndsAtLogout(t *testing.T) {
	f := twoFrontEnds(t)
	st := post(t, f.alice.Client, f.coll, indicator(t, f.alice.ID, f.alice.Key, t0))
	if st.SuccessCount != 1 {
		t.Fatalf("setup: %+v", st)
	}
	ui := uiLogin(t, f.srv.URL, f.bob)
	csrf := uiCSRF(t, ui, f.srv.URL)
	other := httptest.NewServer(f.a.Handler(nil))
	defer other.Close()

	b := budgetOf(t, f.b.memory)
	release := holdAll(t, b, "someone else", "another")
	defer release()
	ch := uiGetAsync(ui, f.srv.URL+"/ui/collections/"+url.PathEscape(f.coll))
	waitPageQueued(t, b, f.bob.ID, ch)
	// The jar sends the cookie to the other front end's port too.
	resp, err := ui.PostForm(other.URL+"/ui/logout", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on the other front end: %s", resp.Status)
	}
	loggedOut := time.Now()
	select {
	case r := <-ch:
		if r.err != nil || r.code != http.StatusUnauthorized || strings.Contains(r.body, st.Successes[0].ID) || strings.Contains(r.body, csrf) {
			t.Errorf("bob's page after he logged out: %d %v:\n%.3000s", r.code, r.err, r.body)
		}
	case <-time.After(budgetWait / 2):
		t.Fatalf("bob's page still waits %v after he logged out", time.Since(loggedOut))
	}
}

// TestUIHeldEndsAtLogout: the scripts' calls through /ui/api/ that wait
// for a checkpoint (a receipt, a proof bundle) end at once with 401 when
// the analyst logs out meanwhile (here on another front end), as they do
// when the member's token is revoked (TestUIHeldEndsAtTokenRevocation).
func TestUIHeldEndsAtLogout(t *testing.T) {
	for _, c := range []struct {
		name string
		path func(id, version string) string
	}{
		{"receipt", func(id, v string) string {
			return "/ui/api/log/receipt?object=" + url.QueryEscape(id) + "&version=" + url.QueryEscape(v)
		}},
		{"bundle", func(id, _ string) string { return "/ui/api/log/bundle?object=" + url.QueryEscape(id) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := twoFrontEnds(t)
			// Logged, not integrated: nothing integrates the log.
			st := post(t, f.alice.Client, f.coll, indicator(t, f.alice.ID, f.alice.Key, t0))
			if st.SuccessCount != 1 {
				t.Fatalf("setup: %+v", st)
			}
			obj := st.Successes[0]
			ui := uiLogin(t, f.srv.URL, f.bob)
			csrf := uiCSRF(t, ui, f.srv.URL)
			other := httptest.NewServer(f.a.Handler(nil))
			defer other.Close()
			ch := uiGetAsync(ui, f.srv.URL+c.path(obj.ID, obj.Version))
			waitHeld(t, ch)
			resp, err := ui.PostForm(other.URL+"/ui/logout", url.Values{"csrf": {csrf}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loggedOut := time.Now()
			select {
			case a := <-ch:
				if a.err != nil || a.code != http.StatusUnauthorized || strings.Contains(a.body, "opening") {
					t.Errorf("the held UI request after logout: %d %v: %s; want 401", a.code, a.err, a.body)
				}
			case <-time.After(ReceiptWait / 2):
				t.Fatalf("the held UI request still waits %v after logout", time.Since(loggedOut))
			}
		})
	}
}

// uiCSRF returns the CSRF token of c's session, from one of its pages.
func uiCSRF(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/ui/members")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(page))
	if m == nil {
		t.Fatalf("no CSRF token on the session's page (%d)", resp.StatusCode)
	}
	return m[1]
}

// uiGetAsync sets up a UI request to be held: it sends GET u with the
// session client ui from a goroutine; the answer comes on the channel.
func uiGetAsync(ui *http.Client, u string) <-chan heldAnswer {
	ch := make(chan heldAnswer, 1)
	go func() {
		resp, err := ui.Get(u)
		if err != nil {
			ch <- heldAnswer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		ch <- heldAnswer{code: resp.StatusCode, body: string(body), err: err}
	}()
	return ch
}

// waitPageQueued waits until a UI page of holder, sent with
// [uiGetAsync], waits for a reservation of the response budget b,
// failing t if the page ends first or nothing waits within 10 seconds.
func waitPageQueued(t *testing.T, b *memoryBudget, holder string, ch <-chan heldAnswer) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); queuedFor(b, holder) == 0; time.Sleep(time.Millisecond) {
		select {
		case r := <-ch:
			t.Fatalf("%s's page ended (%d %v) without waiting for the budget", holder, r.code, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's page doesn't wait for the budget", holder)
		}
	}
}

package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/held"
	"github.com/parley-exchange/parley/internal/store"
)

// checkCounting counts the store reads that the in-flight session checks
// make ([held.Checking]).
type checkCounting struct {
	store.Store
	reads atomic.Int64
}

func (c *checkCounting) UISession(ctx context.Context, key [32]byte, now, idleBefore time.Time) (store.UISession, error) {
	if held.Checking(ctx) {
		c.reads.Add(1)
	}
	return c.Store.UISession(ctx, key, now, idleBefore)
}

func (c *checkCounting) TokenMember(ctx context.Context, hash [32]byte) (store.Member, error) {
	if held.Checking(ctx) {
		c.reads.Add(1)
	}
	return c.Store.TokenMember(ctx, hash)
}

// blockedPages is a handler whose pages wait in the node's budget until
// their context ends, with n of them in flight for one session.
func blockedPages(t *testing.T, recheck time.Duration, n int) (h *Handler, st *checkCounting, cookie *http.Cookie, csrf string, in chan struct{}, done chan int) {
	t.Helper()
	s, me := oneMemberStore(t, "c")
	st = &checkCounting{Store: s}
	var block atomic.Bool
	in = make(chan struct{}, n)
	h, err := New(Deps{
		Store: st,
		Authenticate: func(_ context.Context, token string) (store.Member, error) {
			if token == "the-token" {
				return me, nil
			}
			return store.Member{}, store.ErrNotFound
		},
		Reserve: func(ctx context.Context, _ store.Member, _ int64) (func(), error) {
			if !block.Load() {
				return func() {}, nil
			}
			in <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.sessions.watch = held.NewShared[[32]byte](recheck)
	cookie = (&heavyUI{h: h}).login(t)
	now := time.Now()
	us, err := s.UISession(context.Background(), sessionKeyOf(cookie.Value), now, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	block.Store(true)
	done = make(chan int, n)
	for range n {
		go func() {
			r := httptest.NewRequest(http.MethodGet, "/ui/", nil)
			r.AddCookie(cookie)
			r.Header.Set(bindingHeader, internalBinding)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			done <- w.Code
		}()
	}
	return h, st, cookie, us.CSRF, in, done
}

// TestInFlightSessionChecksBounded: however many requests of a session
// are in flight, the store is read for its in-flight check at most twice
// (the session, its token) per sessionRecheck: one check per session, not
// one per request (each request's own check, 16 here, read it 16 times as
// often). The bound documented at sessionRecheck.
func TestInFlightSessionChecksBounded(t *testing.T) {
	const recheck, requests = 2 * time.Millisecond, 16
	_, st, _, _, in, done := blockedPages(t, recheck, requests)
	for range requests {
		<-in
	}
	// Counted from when all are in flight: in a window of length e the
	// check runs at most e/recheck+1 times, and one more may have begun
	// before it.
	start, before := time.Now(), st.reads.Load()
	for st.reads.Load()-before < 40 {
		runtime.Gosched()
	}
	reads, elapsed := st.reads.Load()-before, time.Since(start)
	if most := 2 * (int64(elapsed/recheck) + 2); reads > most {
		t.Errorf("%d store reads by in-flight checks in %v with %d requests in flight, want at most %d (2 per %v)", reads, elapsed, requests, most, recheck)
	}
	// The pages end with the session, as TestInFlightEndsWithSession
	// checks; here the test's end cancels nothing, so end it.
	if _, err := st.Store.RevokeTokens(context.Background(), "identity--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"); err != nil {
		t.Fatal(err)
	}
	for range requests {
		if code := <-done; code != http.StatusUnauthorized {
			t.Errorf("a page in flight answered %d after its token was revoked, want 401", code)
		}
	}
}

// TestInFlightEndsAtLogoutAtOnce: a logout on the same front end ends the
// session's requests in flight at once, not at the next store check
// (which here would come in an hour), and answers each 401.
func TestInFlightEndsAtLogoutAtOnce(t *testing.T) {
	const requests = 4
	h, _, cookie, csrf, in, done := blockedPages(t, time.Hour, requests)
	for range requests {
		<-in
	}
	r := httptest.NewRequest(http.MethodPost, "/ui/logout", nil)
	r.AddCookie(cookie)
	r.Header.Set(csrfHeader, csrf)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d, want 303", w.Code)
	}
	for range requests {
		select {
		case code := <-done:
			if code != http.StatusUnauthorized {
				t.Errorf("a page in flight answered %d after logout, want 401", code)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a page in flight still waits 10s after its session was logged out")
		}
	}
}

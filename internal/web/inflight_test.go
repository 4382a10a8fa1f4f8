package web

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestInFlightEndsWithSession: a page request already in flight (here
// held in the node's budget wait, as a long page or a look-up waits) ends
// as soon as its session ends, by logout, by its token's revocation or by
// its member's removal: it does not wait on, and does not go on to read
// the store, for a session that would not be let in now. It answers 401,
// saying why, without the session's CSRF token, and drops the cookie.
func TestInFlightEndsWithSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, h *Handler, s store.Store, cookie *http.Cookie, csrf string, me store.Member)
	}{
		{"logout", func(t *testing.T, h *Handler, _ store.Store, cookie *http.Cookie, csrf string, _ store.Member) {
			r := httptest.NewRequest(http.MethodPost, "/ui/logout", nil)
			r.AddCookie(cookie)
			r.Header.Set(csrfHeader, csrf)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusSeeOther {
				t.Fatalf("logout: %d, want 303", w.Code)
			}
		}},
		{"token revoked", func(t *testing.T, _ *Handler, s store.Store, _ *http.Cookie, _ string, me store.Member) {
			if _, err := s.RevokeTokens(context.Background(), me.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"member removed", func(t *testing.T, _ *Handler, s store.Store, _ *http.Cookie, _ string, me store.Member) {
			if err := s.RemoveMember(context.Background(), me.ID); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, me := oneMemberStore(t, "c")
			waiting := make(chan struct{}, 1)
			causes := make(chan error, 1)
			var block bool
			h, err := New(Deps{
				Store: s,
				Authenticate: func(_ context.Context, token string) (store.Member, error) {
					if token == "the-token" {
						return me, nil
					}
					return store.Member{}, store.ErrNotFound
				},
				// The node's budget wait, full for good: it ends only
				// with the request's context.
				Reserve: func(ctx context.Context, _ store.Member, _ int64) (func(), error) {
					if !block {
						return func() {}, nil
					}
					waiting <- struct{}{}
					<-ctx.Done()
					causes <- context.Cause(ctx)
					return nil, ctx.Err()
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			u := &heavyUI{h: h}
			cookie := u.login(t)
			key := sha256.Sum256([]byte(cookie.Value))
			now := time.Now()
			us, err := s.UISession(context.Background(), key, now, now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			block = true

			type answer struct {
				code int
				body string
				sets []*http.Cookie
			}
			done := make(chan answer, 1)
			go func() {
				r := httptest.NewRequest(http.MethodGet, "/ui/", nil)
				r.AddCookie(cookie)
				r.Header.Set(bindingHeader, internalBinding)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				done <- answer{w.Code, w.Body.String(), w.Result().Cookies()}
			}()
			select {
			case <-waiting:
			case <-time.After(10 * time.Second):
				t.Fatal("the home page never reached its budget wait")
			}
			tc.end(t, h, s, cookie, us.CSRF, me)

			var a answer
			select {
			case a = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("the page in flight still waits 10s after its session ended (%s)", tc.name)
			}
			if cause := <-causes; !errors.Is(cause, errSessionEnded) {
				t.Errorf("the wait ended by %v, want errSessionEnded", cause)
			}
			if a.code != http.StatusUnauthorized || !strings.Contains(a.body, "Your session ended while this page was being made") {
				t.Errorf("the page in flight answered %d, want 401 saying the session ended:\n%s", a.code, a.body)
			}
			if strings.Contains(a.body, us.CSRF) || strings.Contains(a.body, `class="logout"`) {
				t.Errorf("the answer of an ended session holds its CSRF token or its logout form:\n%s", a.body)
			}
			dropped := false
			for _, c := range a.sets {
				dropped = dropped || (c.Name == sessionCookie && c.MaxAge < 0)
			}
			if !dropped {
				t.Errorf("the answer does not drop the session cookie: %v", a.sets)
			}
		})
	}
}

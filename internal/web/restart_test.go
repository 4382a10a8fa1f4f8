package web_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestBrowserNodeRestartsDuringCheck: while the browser checks an object,
// the node restarts (its connections drop, and for a moment it can't be
// reached). The check waits for it, as it waits for a 503, and ends
// verified; a node that stays away fails the check saying it couldn't be
// reached, not with the browser's bare "Failed to fetch".
func TestBrowserNodeRestartsDuringCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	var drops atomic.Int64 // receipts to drop from now on
	f.pages = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/ui/api/log/receipt") && drops.Add(-1) >= 0 {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				conn.Close()
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	base := uiServer(t, f, newV2Log(t, f.n))
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	drops.Store(3)
	if st, text := checkObjectPage(t, ctx, base, f.indicator, ""); st != "verified" {
		t.Errorf("a node back after three dropped connections: %s: %s", st, text)
	}
	drops.Store(1 << 30)
	st, text := checkObjectPage(t, ctx, base, f.indicator, "")
	if st != "failed" || !strings.Contains(text, "couldn't get the object's log receipt: the node could not be reached") {
		t.Errorf("a node that stays away: %s: %s", st, text)
	}
}

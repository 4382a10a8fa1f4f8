package node

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// config.json's ui_session_ttl and ui_idle_timeout are the web UI
// sessions' lifetimes (they were fixed at 8 hours and one hour): the login
// page says them, and a session ends at them.
func TestUISessionLifetimesConfigured(t *testing.T) {
	fn := newFrontNode(t, func(c *Config) {
		c.UIIdleTimeout = Duration(2 * time.Minute)
		c.UISessionTTL = Duration(5 * time.Minute)
	})
	resp, err := http.Get(fn.srv.URL + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "after 5 minutes, or after 2 minutes unused") {
		t.Errorf("the login page doesn't say the configured lifetimes:\n%s", body)
	}
	step := func(d time.Duration) {
		fn.mu.Lock()
		fn.now = fn.now.Add(d)
		fn.mu.Unlock()
	}
	// Idle: used every 90 s it lives, unused for 2 minutes it ends.
	c := uiLogin(t, fn.srv.URL, testMember{ID: fn.alice.ID, Token: fn.alice.Token})
	for range 3 {
		step(90 * time.Second)
		if err := uiGet(t.Context(), c, fn.srv.URL+"/ui/"); err != nil {
			t.Fatalf("a session used every 90 s: %v", err)
		}
	}
	step(2 * time.Minute)
	if err := uiGet(t.Context(), c, fn.srv.URL+"/ui/"); err == nil {
		t.Error("a session unused for ui_idle_timeout still lives")
	}
	// Lifetime: used every minute, it ends 5 minutes after its login.
	c = uiLogin(t, fn.srv.URL, testMember{ID: fn.alice.ID, Token: fn.alice.Token})
	for range 4 {
		step(time.Minute)
		if err := uiGet(t.Context(), c, fn.srv.URL+"/ui/"); err != nil {
			t.Fatalf("a session within its lifetime: %v", err)
		}
	}
	step(time.Minute)
	if err := uiGet(t.Context(), c, fn.srv.URL+"/ui/"); err == nil {
		t.Error("a session past ui_session_ttl still lives")
	}
}

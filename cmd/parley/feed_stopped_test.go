package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestFeedStoppedByMemberRemoval: after member remove --member feed:NAME,
// feed status says the feed is stopped and why, and feed poll contacts
// its server no more.
func TestFeedStoppedByMemberRemoval(t *testing.T) {
	var asked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "nothing here", http.StatusNotFound)
	}))
	defer srv.Close()
	data := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "feed", "add", "--data", data, "--url", srv.URL+"/api/v21/", "--collection", "x", "--into", "ics"); code != 0 {
		t.Fatalf("feed add: %s", stderr)
	}
	stopped := func() string {
		t.Helper()
		code, stdout, stderr := runCLI(t, "feed", "status", "--data", data)
		if code != 0 {
			t.Fatalf("feed status: exit %d: %s", code, stderr)
		}
		var st struct {
			Feeds []struct{ Stopped string } `json:"feeds"`
		}
		if err := json.Unmarshal([]byte(stdout), &st); err != nil || len(st.Feeds) != 1 {
			t.Fatalf("feed status: %v: %s", err, stdout)
		}
		return st.Feeds[0].Stopped
	}
	if s := stopped(); s != "" {
		t.Errorf("a followed feed is stopped: %q", s)
	}
	if code, _, stderr := runCLI(t, "member", "remove", "--data", data, "--member", "feed:ics"); code != 0 {
		t.Fatalf("member remove: exit %d: %s", code, stderr)
	}
	if s := stopped(); !strings.Contains(s, "feed:ics was revoked or removed") {
		t.Errorf("stopped after the member's removal: %q", s)
	}
	before := asked.Load()
	code, stdout, _ := runCLI(t, "feed", "poll", "--data", data, "--name", "ics")
	if code == 0 || !strings.Contains(stdout, "feed ics: not polled: stopped: ") {
		t.Errorf("feed poll of a stopped feed: exit %d: %s", code, stdout)
	}
	if n := asked.Load() - before; n != 0 {
		t.Errorf("feed poll of a stopped feed asked its server %d times", n)
	}
}

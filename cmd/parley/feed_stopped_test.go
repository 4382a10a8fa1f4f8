package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

// TestFeedStoppedByMemberRemoval: after member remove --member feed:NAME,
// feed status says the feed is stopped and why, and feed poll contacts
// its server no more: it skips the feed with a line saying why, which is
// no failure of a poll of every feed (exit 0 when the others work), and
// exits 1 when --name names it. Before, feed status shows the failed
// round (failed_rounds, next_round) and no round running.
func TestFeedStoppedByMemberRemoval(t *testing.T) {
	var asked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "nothing here", http.StatusNotFound)
	}))
	defer srv.Close()
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Write([]byte(`{"more":false,"objects":[]}`))
	}))
	defer good.Close()
	data := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "feed", "add", "--data", data, "--url", srv.URL+"/api/v21/", "--collection", "x", "--into", "ics"); code != 0 {
		t.Fatalf("feed add: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "feed", "add", "--data", data, "--url", good.URL+"/api/v21/", "--collection", "y", "--into", "ok"); code != 0 {
		t.Fatalf("feed add: %s", stderr)
	}
	type status struct {
		Name         string
		Stopped      string
		LastPoll     string  `json:"last_poll"`
		LastError    string  `json:"last_error"`
		FailedRounds int64   `json:"failed_rounds"`
		NextRound    *string `json:"next_round"`
		Round        string
		RoundStarted *string `json:"round_started"`
		RoundFrom    *int64  `json:"round_from"`
	}
	feedStatus := func() status {
		t.Helper()
		code, stdout, stderr := runCLI(t, "feed", "status", "--data", data)
		if code != 0 {
			t.Fatalf("feed status: exit %d: %s", code, stderr)
		}
		var st struct {
			Feeds []status `json:"feeds"`
		}
		if err := json.Unmarshal([]byte(stdout), &st); err != nil || len(st.Feeds) != 2 || st.Feeds[0].Name != "ics" {
			t.Fatalf("feed status: %v: %s", err, stdout)
		}
		return st.Feeds[0]
	}
	if s := feedStatus(); s.Stopped != "" || s.FailedRounds != 0 || s.NextRound != nil || s.Round != "idle" || s.RoundStarted != nil || s.RoundFrom != nil {
		t.Errorf("a feed never polled: %+v", s)
	}
	// A failed round: counted, and the next round's time shown (an
	// interval, 5m, after it: the first failure).
	if code, stdout, _ := runCLI(t, "feed", "poll", "--data", data, "--name", "ics"); code != 4 {
		t.Errorf("feed poll of a failing feed: exit %d: %s", code, stdout)
	}
	s := feedStatus()
	last, err := time.Parse(time.RFC3339Nano, s.LastPoll)
	if err != nil || s.FailedRounds != 1 || s.NextRound == nil || s.Round != "idle" {
		t.Fatalf("after a failed round: %+v (%v)", s, err)
	}
	if next, err := time.Parse(time.RFC3339Nano, *s.NextRound); err != nil || !next.Equal(last.Add(5*time.Minute)) {
		t.Errorf("next_round %s, want 5m after last_poll %s (%v)", *s.NextRound, s.LastPoll, err)
	}
	if code, _, stderr := runCLI(t, "member", "remove", "--data", data, "--member", "feed:ics"); code != 0 {
		t.Fatalf("member remove: exit %d: %s", code, stderr)
	}
	// The stop is recorded at once, as the feed's last_error, not at the
	// feed's next round (5m later here).
	if s := feedStatus(); !strings.Contains(s.Stopped, "feed:ics was revoked or removed") || s.NextRound != nil || s.LastError != s.Stopped {
		t.Errorf("after the member's removal: %+v", s)
	}
	before := asked.Load()
	code, stdout, stderr := runCLI(t, "feed", "poll", "--data", data, "--name", "ics")
	if code != 1 || !strings.Contains(stdout, "feed ics: not polled: stopped: ") || !strings.Contains(stderr, "feed ics is not polled: stopped: ") {
		t.Errorf("feed poll --name of a stopped feed: exit %d: %s%s", code, stdout, stderr)
	}
	// Every feed: the stopped one is skipped, the other polled; no
	// failure.
	code, stdout, stderr = runCLI(t, "feed", "poll", "--data", data)
	if code != 0 || !strings.Contains(stdout, "feed ics: not polled: stopped: ") || !strings.Contains(stdout, "feed ok: 0 added") {
		t.Errorf("feed poll of every feed, one stopped: exit %d: %s%s", code, stdout, stderr)
	}
	if n := asked.Load() - before; n != 0 {
		t.Errorf("feed poll of a stopped feed asked its server %d times", n)
	}
}

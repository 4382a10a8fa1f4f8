package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFeedAddReread: --reread is recorded and shown by feed status
// (default a day, 0 never), and a negative one is refused, adding nothing.
func TestFeedAddReread(t *testing.T) {
	data := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	for _, args := range [][]string{
		{"--into", "daily"},
		{"--into", "never", "--reread", "0"},
		{"--into", "weekly", "--reread", "168h"},
	} {
		args = append([]string{"feed", "add", "--data", data, "--url", "https://taxii.example/api/v21/", "--collection", "x"}, args...)
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "feed", "add", "--data", data, "--url", "https://taxii.example/", "--collection", "x", "--into", "bad", "--reread", "-1h"); code != 2 || !strings.Contains(stderr, "--reread") {
		t.Errorf("--reread -1h: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "feed", "status", "--data", data)
	if code != 0 {
		t.Fatalf("feed status: exit %d: %s", code, stderr)
	}
	var st struct {
		Feeds []struct{ Name, Reread string } `json:"feeds"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("feed status: %v: %s", err, stdout)
	}
	got := map[string]string{}
	for _, f := range st.Feeds {
		got[f.Name] = f.Reread
	}
	want := map[string]string{"daily": "24h0m0s", "never": "never", "weekly": "168h0m0s"}
	if len(got) != len(want) {
		t.Errorf("feeds %v, want %v (the refused one added nothing)", got, want)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("feed %s: reread %q, want %q", name, got[name], w)
		}
	}
}

// TestFeedStatusReadTo: feed status shows how far a round in progress
// has read (read_to: a full read's progress towards high_water), and
// leaves it out between rounds.
func TestFeedStatusReadTo(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "feed", "add", "--data", data, "--url", "https://taxii.example/api/v21/", "--collection", "x", "--into", "ics"); code != 0 {
		t.Fatalf("feed add: %s", stderr)
	}
	status := func() map[string]any {
		t.Helper()
		code, stdout, stderr := runCLI(t, "feed", "status", "--data", data)
		if code != 0 {
			t.Fatalf("feed status: exit %d: %s", code, stderr)
		}
		var st struct {
			Feeds []map[string]any `json:"feeds"`
		}
		if err := json.Unmarshal([]byte(stdout), &st); err != nil || len(st.Feeds) != 1 {
			t.Fatalf("feed status: %v: %s", err, stdout)
		}
		return st.Feeds[0]
	}
	if got, ok := status()["read_to"]; ok {
		t.Errorf("read_to of a feed never polled: %v", got)
	}
	n, st, feeds, err := openFeeds(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	p := feeds[0].FeedPosition
	p.Next, p.HighWater, p.FullRead = "0.14", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	p.ReadTo = time.Date(2026, 1, 1, 0, 0, 0, 13_000_000, time.UTC)
	if err := st.RecordPoll(ctx, "ics", p); err != nil {
		t.Fatal(err)
	}
	n.Close()
	if got := status()["read_to"]; got != "2026-01-01T00:00:00.013Z" {
		t.Errorf("read_to in mid full read: %v", got)
	}
}

// TestFeedAddOverlap: --overlap is recorded and shown by feed status
// (default feed.DefaultOverlap, 0 none), and a negative one is refused,
// adding nothing.
func TestFeedAddOverlap(t *testing.T) {
	data := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	for _, args := range [][]string{
		{"--into", "default"},
		{"--into", "none", "--overlap", "0"},
		{"--into", "hour", "--overlap", "1h"},
	} {
		args = append([]string{"feed", "add", "--data", data, "--url", "https://taxii.example/api/v21/", "--collection", "x"}, args...)
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "feed", "add", "--data", data, "--url", "https://taxii.example/", "--collection", "x", "--into", "bad", "--overlap", "-1m"); code != 2 || !strings.Contains(stderr, "--overlap") {
		t.Errorf("--overlap -1m: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "feed", "status", "--data", data)
	if code != 0 {
		t.Fatalf("feed status: exit %d: %s", code, stderr)
	}
	var st struct {
		Feeds []struct{ Name, Overlap string } `json:"feeds"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("feed status: %v: %s", err, stdout)
	}
	got := map[string]string{}
	for _, f := range st.Feeds {
		got[f.Name] = f.Overlap
	}
	want := map[string]string{"default": "10m0s", "none": "none", "hour": "1h0m0s"}
	if len(got) != len(want) {
		t.Errorf("feeds %v, want %v (the refused one added nothing)", got, want)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("feed %s: overlap %q, want %q", name, got[name], w)
		}
	}
}

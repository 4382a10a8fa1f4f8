package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
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

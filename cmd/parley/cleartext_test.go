package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWarnClearText: a feed's or peer's secret bound for a plain http://
// URL whose host isn't loopback is warned about; https, loopback and
// localhost are not; the URL is shown without its user information.
func TestWarnClearText(t *testing.T) {
	for _, tc := range []struct {
		url  string
		warn bool
	}{
		{"http://taxii.example/api/", true},
		{"HTTP://10.0.0.5:8080/", true},
		{"http://[2001:db8::1]/", true},
		{"http://localhost.example.org/", true},
		{"https://taxii.example/", false},
		{"http://127.0.0.1:8080/", false},
		{"http://[::1]/", false},
		{"http://LOCALHOST:9/", false},
		{"://bad", false},
	} {
		var w bytes.Buffer
		warnClearText(&w, tc.url, "the token")
		if got := w.Len() > 0; got != tc.warn {
			t.Errorf("%s: warned %v, want %v (%q)", tc.url, got, tc.warn, w.String())
		}
	}
	var w bytes.Buffer
	warnClearText(&w, "http://user:s3cret@taxii.example/", "the token")
	if strings.Contains(w.String(), "s3cret") {
		t.Errorf("the warning shows the URL's password: %s", w.String())
	}
}

// TestFeedAddWarnsClearText: feed add with a token file and a plain
// http:// URL to another host records the feed and warns.
func TestFeedAddWarnsClearText(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	tok := filepath.Join(dir, "tok")
	if err := os.WriteFile(tok, []byte("parley_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "feed", "add", "--data", data, "--url", "http://taxii.example/api/", "--collection", "x", "--into", "plain", "--token-file", tok)
	if code != 0 || !strings.Contains(stderr, "over plain HTTP") {
		t.Errorf("feed add over http: exit %d: %s", code, stderr)
	}
}

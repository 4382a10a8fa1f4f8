package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFeedAndPeerAddIgnoreSessionEnvironment checks that feed add and peer
// add take the other server's URL, CA and secret files only from their
// flags: the walkthrough exports PARLEY_URL and PARLEY_TOKEN_FILE for a
// member's session with its node, and a feed or peer recorded from them
// would have the node send that member's token to another server at each
// poll.
func TestFeedAndPeerAddIgnoreSessionEnvironment(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	tokenFile := filepath.Join(dir, "alice.json")
	if err := os.WriteFile(tokenFile, []byte(`{"id":"identity--00000000-0000-4000-8000-000000000001","token":"parley_secret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PARLEY_URL":        "http://127.0.0.1:9",
		"PARLEY_TOKEN_FILE": tokenFile,
		"PARLEY_TOKEN":      "parley_secret",
	}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
		code := c.main(context.Background(), args)
		return code, out.String(), errb.String()
	}

	// No --token-file: the feed is recorded without authentication, not
	// with the member's token file from the environment.
	if code, _, stderr := run("feed", "add", "--data", data, "--url", "https://taxii.example/", "--collection", "x", "--into", "third party"); code != 0 {
		t.Fatalf("feed add: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := run("feed", "status", "--data", data)
	if code != 0 {
		t.Fatalf("feed status: exit %d: %s", code, stderr)
	}
	var st struct {
		Feeds []map[string]any `json:"feeds"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil || len(st.Feeds) != 1 {
		t.Fatalf("feed status: %v: %s", err, stdout)
	}
	if auth, _ := st.Feeds[0]["auth"].(string); auth != "" && auth != "none" {
		t.Errorf("feed add without --token-file recorded auth %q from the environment: %s", auth, stdout)
	}
	// --user without --password-file is still refused, not completed by
	// a token file from the environment.
	if code, _, stderr := run("feed", "add", "--data", data, "--url", "https://taxii.example/", "--collection", "y", "--into", "other", "--user", "u"); code != 2 || !strings.Contains(stderr, "--user and --password-file go together") {
		t.Errorf("feed add --user alone: exit %d: %s", code, stderr)
	}
	// No --url: refused, not pointed at PARLEY_URL.
	if code, _, stderr := run("feed", "add", "--data", data, "--collection", "z", "--into", "z"); code != 2 || !strings.Contains(stderr, "needs --url") {
		t.Errorf("feed add without --url: exit %d: %s", code, stderr)
	}
	// peer add without --url or --token-file: refused.
	if code, _, stderr := run("peer", "add", "--data", data, "--log-key", "x", "--collection", "c", "--into", "from-b"); code != 2 || !strings.Contains(stderr, "peer add needs --url, --token-file") {
		t.Errorf("peer add without --url and --token-file: exit %d: %s", code, stderr)
	}
	// Other flags still come from the environment.
	env["PARLEY_DATA"] = data
	if code, _, stderr := run("feed", "status"); code != 0 {
		t.Errorf("feed status with PARLEY_DATA: exit %d: %s", code, stderr)
	}
	// --help says which flags the environment does not set.
	for _, cmd := range [][]string{{"feed", "add", "--help"}, {"peer", "add", "--help"}} {
		_, stdout, _ := run(cmd...)
		if !strings.Contains(stdout, "except --url, --ca") {
			t.Errorf("%s says nothing of the flags the environment does not set:\n%s", strings.Join(cmd, " "), stdout)
		}
	}
}

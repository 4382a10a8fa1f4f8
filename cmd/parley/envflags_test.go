package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parley-exchange/parley/tlog"
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

// TestTokenFlagBeatsEnvironment: a token given on the command line, with
// --token or --token-file, is the one sent, whatever PARLEY_TOKEN_FILE or
// PARLEY_TOKEN say (the walkthrough exports both), and hints name it;
// the environment still gives the token when no flag does.
func TestTokenFlagBeatsEnvironment(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	defer srv.Close()
	dir := t.TempDir()
	envFile, flagFile := filepath.Join(dir, "env.token"), filepath.Join(dir, "flag.token")
	for f, tok := range map[string]string{envFile: "parley_fromenvfile", flagFile: "parley_fromflagfile"} {
		if err := os.WriteFile(f, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		env       map[string]string
		args      []string
		want, via string
	}{
		{map[string]string{"PARLEY_TOKEN_FILE": envFile}, []string{"--token", "parley_fromflag"}, "parley_fromflag", "--token"},
		{map[string]string{"PARLEY_TOKEN": "parley_fromenv"}, []string{"--token-file", flagFile}, "parley_fromflagfile", "--token-file"},
		{map[string]string{"PARLEY_TOKEN_FILE": envFile, "PARLEY_TOKEN": "parley_fromenv"}, []string{"--token", "parley_fromflag"}, "parley_fromflag", "--token"},
		{map[string]string{"PARLEY_TOKEN_FILE": envFile, "PARLEY_TOKEN": "parley_fromenv"}, nil, "parley_fromenvfile", "PARLEY_TOKEN_FILE"},
		{map[string]string{"PARLEY_TOKEN": "parley_fromenv"}, nil, "parley_fromenv", "PARLEY_TOKEN"},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		env := tc.env
		var out, errb bytes.Buffer
		c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
		code := c.main(context.Background(), append([]string{"private", "sets", "--url", srv.URL}, tc.args...))
		mu.Lock()
		sent := append([]string(nil), got...)
		mu.Unlock()
		if code != 4 || len(sent) == 0 {
			t.Fatalf("env %v, flags %q: exit %d, %d requests: %s", tc.env, tc.args, code, len(sent), errb.String())
		}
		for _, a := range sent {
			if a != "Bearer "+tc.want {
				t.Errorf("env %v, flags %q: sent %q; want the token %q", tc.env, tc.args, a, tc.want)
			}
		}
		if !strings.Contains(errb.String(), "parley: hint: check "+tc.via+"\n") {
			t.Errorf("env %v, flags %q: the hint doesn't name %s:\n%s", tc.env, tc.args, tc.via, errb.String())
		}
	}
}

// TestWitnessFlagsBeatEnvironment: a witness policy given on the command
// line, as --witness-policy or as --witness (with --witness-quorum), is
// the policy: the other way from the environment (PARLEY_WITNESS_POLICY,
// PARLEY_WITNESS, PARLEY_WITNESS_QUORUM) is not added to it, which used
// to make it an error ("not both"). The same way from the environment
// still completes it, and the environment alone is read as before.
func TestWitnessFlagsBeatEnvironment(t *testing.T) {
	_, w1, _ := tlog.NewCosignerKey(bytes.NewReader(bytes.Repeat([]byte{1}, 64)), "w1.example")
	_, w2, _ := tlog.NewCosignerKey(bytes.NewReader(bytes.Repeat([]byte{2}, 64)), "w2.example")
	good := filepath.Join(t.TempDir(), "policy")
	if err := os.WriteFile(good, []byte("witness a "+w1+"\nwitness b "+w2+"\ngroup g any a b\nquorum g\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		quorum string // the policy's canonical quorum line, "" for none
		code   int    // exit code of the error, 0 for none
	}{
		{"--witness beats PARLEY_WITNESS_POLICY", map[string]string{"PARLEY_WITNESS_POLICY": good}, []string{"--witness", w1}, "group 1-of-1 1 w1.example\nquorum 1-of-1\n", 0},
		{"--witness-quorum beats PARLEY_WITNESS_POLICY", map[string]string{"PARLEY_WITNESS_POLICY": good, "PARLEY_WITNESS": w2}, []string{"--witness-quorum", "1"}, "group 1-of-1 1 w2.example\nquorum 1-of-1\n", 0},
		{"--witness-policy beats PARLEY_WITNESS", map[string]string{"PARLEY_WITNESS": w1, "PARLEY_WITNESS_QUORUM": "1"}, []string{"--witness-policy", good}, "quorum g\n", 0},
		{"PARLEY_WITNESS completes --witness-quorum", map[string]string{"PARLEY_WITNESS": w1}, []string{"--witness-quorum", "1"}, "group 1-of-1 1 w1.example\nquorum 1-of-1\n", 0},
		{"environment alone", map[string]string{"PARLEY_WITNESS_POLICY": good}, nil, "quorum g\n", 0},
		{"both in the environment", map[string]string{"PARLEY_WITNESS_POLICY": good, "PARLEY_WITNESS": w1}, nil, "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cli{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return tc.env[k] }}
			fs := c.newFlagSet("test")
			pf := addPolicyFlags(fs)
			if err := c.parseFlags(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			pol, err := pf.policy()
			if exitCode(err) != tc.code {
				t.Fatalf("exit %d (%v), want %d", exitCode(err), err, tc.code)
			}
			if tc.quorum != "" && (pol == nil || !strings.HasSuffix(pol.String(), tc.quorum)) {
				t.Fatalf("policy %v, want one ending %q", pol, tc.quorum)
			}
		})
	}
}

// TestExportIndicatorsBeatEnvironmentURL: export reads --indicators FILE
// or a node (--url), and a file given on the command line is the source,
// whatever PARLEY_URL says (the walkthrough exports it, and the README's
// `parley export --format zeek-intel --indicators intel.json` follows it);
// without --indicators, PARLEY_URL is still the node read.
func TestExportIndicatorsBeatEnvironmentURL(t *testing.T) {
	dir := t.TempDir()
	indicators := filepath.Join("..", "..", "internal", "match", "testdata", "indicators.json")
	env := map[string]string{"PARLEY_URL": "http://127.0.0.1:9", "PARLEY_TOKEN": "parley_secret", "PARLEY_COLLECTION": "intel"}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
		code := c.main(context.Background(), args)
		return code, out.String(), errb.String()
	}
	code, stdout, stderr := run("export", "--format", "zeek-intel", "--indicators", indicators)
	if code != 0 || !strings.Contains(stdout, "Intel::DOMAIN") {
		t.Errorf("export --indicators with PARLEY_URL set: exit %d:\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := run("export", "--format", "suricata-dataset", "--indicators", indicators, "--out", filepath.Join(dir, "suricata")); code != 0 {
		t.Errorf("export --format suricata-dataset --indicators with PARLEY_URL set: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run("export", "--format", "misp-feed", "--indicators", indicators, "--out", filepath.Join(dir, "feed")); code != 0 {
		t.Errorf("export --format misp-feed --indicators with PARLEY_URL set: exit %d: %s", code, stderr)
	}
	// Without --indicators the environment's node is the source (here
	// nothing listens: exit 4, not a usage error).
	if code, _, stderr := run("export", "--format", "zeek-intel"); code != 4 {
		t.Errorf("export with PARLEY_URL and no --indicators: exit %d, want 4 (the node read): %s", code, stderr)
	}
	// Both on the command line are still refused.
	if code, _, stderr := run("export", "--format", "zeek-intel", "--indicators", indicators, "--url", "http://127.0.0.1:9"); code != 2 || !strings.Contains(stderr, "need one source") {
		t.Errorf("export --indicators --url: exit %d: %s", code, stderr)
	}
}

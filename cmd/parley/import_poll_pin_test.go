package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestImportPollChecksTheLogEveryRound: import misp --poll checked the
// node's log once, when it started, and then pushed every round to
// whatever answered at the address. Now each round checks it again: once
// the address shows another log, the follower stops (exit 4) before it
// reads the feed again, and sends nothing more.
func TestImportPollChecksTheLogEveryRound(t *testing.T) {
	baseA, stA, _ := demoNode(t)
	baseB, stB, _ := demoNode(t)
	m, other := stA.Members[0], stB.Members[0]
	targetA, err := url.Parse(baseA)
	if err != nil {
		t.Fatal(err)
	}
	targetB, err := url.Parse(baseB)
	if err != nil {
		t.Fatal(err)
	}
	toA, toB := httputil.NewSingleHostReverseProxy(targetA), httputil.NewSingleHostReverseProxy(targetB)
	var lie atomic.Bool
	var posts atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if lie.Load() && strings.HasPrefix(r.URL.Path, "/log/") {
			r.Header.Set("Authorization", "Bearer "+other.Token)
			toB.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodPost {
			toA.ServeHTTP(w, r)
			return
		}
		posts.Add(1)
		toA.ServeHTTP(w, r)
		// The first round pushed: from now on the address shows another
		// log.
		lie.Store(true)
	}))
	t.Cleanup(front.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const ev = "5758ebf5-c898-48e6-9fe9-5665c0a83866"
	var mu sync.Mutex
	var manifests int
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/feed/manifest.json":
			manifests++
			if manifests == 3 {
				cancel() // a follower that doesn't stop for it
			}
			fmt.Fprintf(w, `{%q:{"info":"e","timestamp":"%d"}}`, ev, 1465681801+manifests)
		case "/feed/" + ev + ".json":
			fmt.Fprintf(w, `{"Event":{"uuid":%q,"info":"e","timestamp":"%d","Orgc":{"name":"O"},"Attribute":[{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a8386%d","type":"domain","category":"Network activity","value":"r%d.example","to_ids":true,"timestamp":"%d"}]}}`,
				ev, 1465681801+manifests, manifests, manifests, 1465681801+manifests)
		default:
			http.NotFound(w, r)
		}
	}))
	defer feed.Close()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "alice.json")
	if err := os.WriteFile(tokenFile, []byte(`{"id":"`+m.ID+`","token":"`+m.Token+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := c.main(ctx, []string{"import", "misp", "--url", front.URL, "--token-file", tokenFile, "--key", m.KeyFile,
		"--collection", stA.Collections.Shared, "--seen", filepath.Join(dir, "seen.json"), "--state", filepath.Join(dir, "state.json"), "--poll", "10ms", feed.URL + "/feed"})
	stderr := errb.String()
	mu.Lock()
	defer mu.Unlock()
	if posts.Load() == 0 {
		t.Fatalf("the first round sent nothing (exit %d):\n%s", code, stderr)
	}
	if manifests != 1 {
		t.Errorf("the feed was read %d times, want once: the round after the address showed another log read it", manifests)
	}
	if code != 4 || !strings.Contains(stderr, "another log") {
		t.Errorf("exit %d, want 4, the follower stopped at the round after the address showed another log:\n%s", code, stderr)
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("%d POSTs, want the first round's one: the later rounds sent to another log", n)
	}
}

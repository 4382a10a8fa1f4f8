package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parley-exchange/parley/taxii"
)

// TestImportFeedOverHTTPPoll follows a MISP feed served over HTTP into a
// node with --poll: the first round fails on an event file (a server
// error) and is retried whole, the second imports both events, the
// third (after the manifest changed) only the changed one, the fourth
// nothing, and cancelling the command ends it cleanly.
func TestImportFeedOverHTTPPoll(t *testing.T) {
	tn := startTestNode(t)
	coll, err := tn.n.AddCollection(context.Background(), "feed", "", []string{"bench"}, []string{"bench"}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const (
		a = "5758ebf5-c898-48e6-9fe9-5665c0a83866"
		b = "57c4445b-c548-4654-af0b-4be3950d210f"
	)
	event := func(id string) string {
		return fmt.Sprintf(`{"Event":{"uuid":%q,"info":"e","timestamp":"1465681801","Orgc":{"name":"O"},"Attribute":[{"uuid":"%s","type":"domain","category":"Network activity","value":"%s.example","to_ids":true,"timestamp":"1465681801"}]}}`, id, id[:35]+"9", id[:8])
	}
	var mu sync.Mutex
	var manifests, fetched []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/feed/manifest.json":
			manifests = append(manifests, r.URL.Path)
			ts := "1465681801"
			if len(manifests) >= 3 {
				ts = "1465689999" // event a changed
			}
			if len(manifests) == 5 {
				cancel() // like Ctrl-C during the fifth round
			}
			fmt.Fprintf(w, `{%q:{"info":"e","timestamp":%q},%q:{"info":"e","timestamp":"1465681801"}}`, a, ts, b)
		case "/feed/" + a + ".json":
			fetched = append(fetched, a)
			fmt.Fprint(w, event(a))
		case "/feed/" + b + ".json":
			fetched = append(fetched, b)
			if len(fetched) == 2 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, event(b))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := c.main(ctx, []string{"import", "misp", "--url", tn.url, "--token-file", tn.tokenFile, "--key", tn.keyFile,
		"--collection", coll, "--state", filepath.Join(t.TempDir(), "state.json"), "--poll", "10ms", srv.URL + "/feed"})
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.Bytes(), errb.Bytes())
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(fetched, " "), strings.Join([]string{a, b, a, b, a}, " "); got != want {
		t.Errorf("fetched %q, want %q: both events twice (the first round failed), then only the changed one", got, want)
	}
	stderr := errb.String()
	for _, want := range []string{"503 Service Unavailable", "this round failed; trying again in 10ms", "2 events, 1 new or changed", "2 events, 0 new or changed", "stopped; the next run resumes"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := strings.Count(stderr, "2 events, 2 new or changed"); n != 2 {
		t.Errorf("%d rounds took both events, want 2:\n%s", n, stderr)
	}
	client := &taxii.Client{BaseURL: tn.url, Token: tn.member.Token}
	for _, id := range []string{a, b} {
		env, err := client.Object(context.Background(), coll, "indicator--"+id[:35]+"9", taxii.Query{})
		if err != nil || len(env.Objects) != 1 {
			t.Errorf("indicator of event %s: %v", id, err)
		}
	}
}

// TestImportEventOverHTTP reads one MISP event document from a URL (not a
// feed: the URL names a .json file) into a bundle, and reports a server
// error as a remote failure (exit 4).
func TestImportEventOverHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/events/e.json" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"e","timestamp":"1465681801","published":true,"Orgc":{"name":"O","uuid":"5c6983c8-3af8-4304-869c-4800d6c1883c"},"Attribute":[{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83867","type":"url","category":"Network activity","value":"http://evil.example/a","to_ids":true,"timestamp":"1465681801"}]}}`)
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "b.json")
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := c.main(context.Background(), []string{"import", "misp", "--out", out, srv.URL + "/events/e.json"}); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.Bytes())
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(b, []byte(`"pattern":"[url:value = 'http://evil.example/a']"`)) || !bytes.Contains(b, []byte("report--5758ebf5-c898-48e6-9fe9-5665c0a83866")) {
		t.Errorf("bundle %s (%v)", b, err)
	}
	stderr.Reset()
	if code := c.main(context.Background(), []string{"import", "misp", "--out", out + "2", srv.URL + "/events/missing.json"}); code != 4 || !strings.Contains(stderr.String(), "404 Not Found") {
		t.Errorf("missing document: exit %d, %s", code, stderr.Bytes())
	}
	if _, err := os.Stat(out + "2"); err == nil {
		t.Error("a failed import left a bundle")
	}
}

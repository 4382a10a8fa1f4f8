package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestImportFeedOverHTTPPoll follows a MISP feed served over HTTP into a
// node with --poll: the first round imports both events, the second
// (after the manifest changed) only the changed one, the third nothing,
// and cancelling the command ends it cleanly.
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
			if len(manifests) >= 2 {
				ts = "1465689999" // event a changed
			}
			if len(manifests) == 4 {
				cancel() // like Ctrl-C during the fourth round
			}
			fmt.Fprintf(w, `{%q:{"info":"e","timestamp":%q},%q:{"info":"e","timestamp":"1465681801"}}`, a, ts, b)
		case "/feed/" + a + ".json":
			fetched = append(fetched, a)
			fmt.Fprint(w, event(a))
		case "/feed/" + b + ".json":
			fetched = append(fetched, b)
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
	if got := strings.Join(fetched, " "); got != b+" "+a+" "+a && got != a+" "+b+" "+a {
		t.Errorf("fetched %q: want both events, then only the changed one", got)
	}
	for _, want := range []string{"2 events, 2 new or changed", "2 events, 1 new or changed", "2 events, 0 new or changed", "stopped; the next run resumes"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.Bytes())
		}
	}
}

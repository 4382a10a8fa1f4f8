package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRefusedRevocationWithholdsTheIndicator: when the newest version of
// an indicator (here its revocation) fails verification, match --url and
// export --url must not fall back to the older version that verifies: a
// node that spoils a revocation in transit would otherwise bring a revoked
// indicator back to life while the client says it is "not loading" it.
func TestRefusedRevocationWithholdsTheIndicator(t *testing.T) {
	base, st, _ := demoNode(t)
	aur, bor := st.Members[0], st.Members[1]
	shared := st.Collections.Shared
	code, out, stderr := runCLI(t, "pull", "--url", base, "--token", aur.Token, "--collection", shared)
	if code != 0 {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	var bundle struct{ Objects []map[string]any }
	if err := json.Unmarshal([]byte(out), &bundle); err != nil {
		t.Fatal(err)
	}
	var ind map[string]any
	for _, o := range bundle.Objects {
		if p, _ := o["pattern"].(string); o["type"] == "indicator" && strings.HasPrefix(p, "[domain-name:value = ") && o["created_by_ref"] == aur.ID {
			ind = o
		}
	}
	if ind == nil {
		t.Fatal("no domain-name indicator of cert-aurelia in the demo")
	}
	id := ind["id"].(string)
	domain := strings.TrimSuffix(strings.TrimPrefix(ind["pattern"].(string), "[domain-name:value = '"), "']")
	delete(ind, "extensions")
	ind["modified"], ind["revoked"] = "2026-12-01T00:00:00.000Z", true
	dir := t.TempDir()
	rev := filepath.Join(dir, "revoke.json")
	b, _ := json.Marshal(ind)
	os.WriteFile(rev, b, 0o644)
	if code, _, stderr := runCLI(t, "push", "--url", base, "--token", aur.Token, "--key", aur.KeyFile, "--collection", shared, rev); code != 0 {
		t.Fatalf("push of the revocation: exit %d: %s", code, stderr)
	}

	// The node un-revokes the revocation in transit: its signature and
	// commitment fail, the version before it verifies.
	u, _ := url.Parse(base)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(resp *http.Response) error {
		if !strings.Contains(resp.Request.URL.Path, "/objects/") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte(`"revoked":true`), []byte(`"revoked":false`))
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(p)
	defer srv.Close()

	events := filepath.Join(dir, "dns.eve")
	os.WriteFile(events, []byte(`{"timestamp":"2026-10-01T10:00:00.000000+0000","event_type":"dns","src_ip":"10.0.0.5","dest_ip":"10.0.0.53","dns":{"type":"query","rrname":"`+domain+`","rrtype":"A"}}`+"\n"), 0o644)
	for _, via := range []string{base, srv.URL} {
		code, out, stderr = runCLI(t, "match", "--url", via, "--token", bor.Token, "--collection", shared, "--format", "eve", events)
		if code != 0 || strings.Contains(out, id) {
			t.Errorf("match --url %s: exit %d; the revoked %s must not match\n%s%s", via, code, id, out, stderr)
		}
		code, out, stderr = runCLI(t, "export", "--format", "zeek-intel", "--url", via, "--token", bor.Token, "--collection", shared)
		if code != 0 || strings.Contains(out, domain) {
			t.Errorf("export --url %s: exit %d; the revoked %s must not be exported\n%s%s", via, code, id, out, stderr)
		}
	}
	if !strings.Contains(stderr, "not loading "+id) {
		t.Errorf("export through the tampering proxy doesn't say it refused %s: %s", id, stderr)
	}
}

// TestMatchPollsAgainWhatIsNotYetCovered: an indicator whose entry isn't
// in a signed checkpoint yet when match --url polls (the node lags, as
// while another front end takes integration over) is fetched again at
// the next poll and then matched. The poll's position used to move past
// it: it was never loaded.
func TestMatchPollsAgainWhatIsNotYetCovered(t *testing.T) {
	base, st, _ := demoNode(t)
	aur, bor := st.Members[0], st.Members[1]
	shared := st.Collections.Shared
	get := func(path string) []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+bor.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return b
	}
	stale := get("/log/checkpoint")

	dir := t.TempDir()
	ind := filepath.Join(dir, "new.json")
	os.WriteFile(ind, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--0c9a4f3e-5a7b-4c1d-9e2f-7a6b5c4d3e2f","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z","created_by_ref":"`+aur.ID+`","pattern":"[domain-name:value = 'late.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}`), 0o644)
	if code, _, stderr := runCLI(t, "push", "--url", base, "--token", aur.Token, "--key", aur.KeyFile, "--collection", shared, ind); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	// The proxy serves the checkpoint from before the push until told.
	var lagging atomic.Bool
	lagging.Store(true)
	u, _ := url.Parse(base)
	p := httputil.NewSingleHostReverseProxy(u)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/log/checkpoint" && lagging.Load() {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write(stale)
			return
		}
		p.ServeHTTP(w, r)
	}))
	defer front.Close()

	logPath := filepath.Join(dir, "dns.eve")
	os.WriteFile(logPath, nil, 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		done <- c.main(ctx, []string{"match", "--url", front.URL, "--token", bor.Token, "--collection", shared, "--format", "eve",
			"--follow", "--poll", "100ms", "--flush", "100ms", "--seen", filepath.Join(dir, "seen.json"), logPath})
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s:\n%s", what, stderr.String())
			}
		}
	}
	waitFor("the first poll refusing the uncovered indicator", func() bool { return strings.Contains(stderr.String(), "not loading indicator--0c9a4f3e") })
	lagging.Store(false)
	f, _ := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	defer f.Close()
	line := `{"timestamp":"2026-12-02T10:00:00.000000+0000","event_type":"dns","src_ip":"10.0.0.5","dest_ip":"10.0.0.53","dns":{"type":"query","rrname":"late.example","rrtype":"A"}}` + "\n"
	waitFor("a sighting of the indicator once the node signed a checkpoint covering it", func() bool {
		f.WriteString(line) // until a poll loaded it and a flush counted it
		return strings.Contains(stdout.String(), "indicator--0c9a4f3e-5a7b-4c1d-9e2f-7a6b5c4d3e2f")
	})
	cancel()
	<-done
}

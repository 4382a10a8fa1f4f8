package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSendChecksThePinnedLog: once pull has pinned a node's log key in
// the node's default seen file, push and match --push send nothing to an
// address that shows another log (another server answering there, a node
// made again): not when it serves another key, not when it serves the
// pinned key but a checkpoint of another log. They exit 4, and the node
// behind gets no POST; nor does import --url, private publish, opinion. While the address shows the pinned log, both send.
func TestSendChecksThePinnedLog(t *testing.T) {
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
	toA := httputil.NewSingleHostReverseProxy(targetA)
	toB := httputil.NewSingleHostReverseProxy(targetB)
	// mode 0: node A, as it is; 1: B's /log/* (another log at the
	// address); 2: A's /log/key but B's checkpoint.
	var mode, posts atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lie := false
		switch mode.Load() {
		case 1:
			lie = strings.HasPrefix(r.URL.Path, "/log/")
		case 2:
			lie = r.URL.Path == "/log/checkpoint"
		}
		if lie {
			r.Header.Set("Authorization", "Bearer "+other.Token)
			toB.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		toA.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	log := filepath.Join(dir, "dns.log")
	os.WriteFile(ind, []byte(`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56e","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd40","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+m.ID+`","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}]}`), 0o644)
	os.WriteFile(log, []byte(`{"ts":1591367999.306059,"uid":"C1","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","query":"evil.example","answers":["203.0.113.66"]}`+"\n"), 0o644)

	// pull pins A's log key in the default seen file of the address
	if code, _, stderr := runCLI(t, "pull", "--url", front.URL, "--token", m.Token, "--collection", stA.Collections.Shared); code != 0 {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	push := []string{"push", "--url", front.URL, "--token", m.Token, "--key", m.KeyFile, "--collection", stA.Collections.Shared, ind}
	matchPush := []string{"match", "--url", front.URL, "--token", m.Token, "--collection", stA.Collections.Shared, "--indicators", ind, "--push", "--key", m.KeyFile, log}
	for _, md := range []int32{1, 2} {
		mode.Store(md)
		for _, args := range [][]string{push, matchPush} {
			code, _, stderr := runCLI(t, args...)
			if code != 4 || !strings.Contains(stderr, args[0]+" sent nothing") || !strings.Contains(stderr, "seen") {
				t.Errorf("mode %d: %s to another log: exit %d, want 4 and nothing sent, naming the seen file: %s", md, args[0], code, stderr)
			}
			if n := posts.Load(); n != 0 {
				t.Fatalf("mode %d: %s to another log: the node got %d POSTs", md, args[0], n)
			}
		}
	}
	mode.Store(0)
	for _, args := range [][]string{push, matchPush} {
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Errorf("%s to the pinned log: exit %d: %s", args[0], code, stderr)
		}
	}
	if posts.Load() == 0 {
		t.Error("nothing was sent to the pinned log")
	}
	// import --url neither
	iocs := filepath.Join(dir, "iocs.txt")
	os.WriteFile(iocs, []byte("evil.example\n"), 0o644)
	tokenFile := filepath.Join(dir, "alice.json")
	os.WriteFile(tokenFile, []byte(`{"id":"`+m.ID+`","token":"`+m.Token+`"}`), 0o600)
	sent0 := posts.Load()
	mode.Store(1)
	code, _, stderr := runCLI(t, "import", "iocs", "--url", front.URL, "--token-file", tokenFile, "--key", m.KeyFile, "--collection", stA.Collections.Shared, iocs)
	if code != 4 || posts.Load() != sent0 || !strings.Contains(stderr, "sent nothing") {
		t.Errorf("import --url to another log: exit %d, %d POSTs, want 4 and none: %s", code, posts.Load()-sent0, stderr)
	}
	// private publish --values neither
	values := filepath.Join(dir, "values.txt")
	os.WriteFile(values, []byte("domain-name:evil.example\n"), 0o644)
	code, _, stderr = runCLI(t, "private", "publish", "--url", front.URL, "--token", m.Token, "--collection", stA.Collections.Shared, "--values", values)
	if code != 4 || posts.Load() != sent0 || !strings.Contains(stderr, "private publish sent nothing") {
		t.Errorf("private publish to another log: exit %d, %d POSTs, want 4 and none: %s", code, posts.Load()-sent0, stderr)
	}
	// an opinion on the indicator pushed: not to another log either
	sent := posts.Load()
	code, _, stderr = runCLI(t, "opinion", "--url", front.URL, "--token", m.Token, "--key", m.KeyFile, "--as", m.ID, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd40", "agree")
	if code != 4 || posts.Load() != sent {
		t.Errorf("opinion to another log: exit %d, %d POSTs, want 4 and none: %s", code, posts.Load()-sent, stderr)
	}
}

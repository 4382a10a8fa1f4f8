package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
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

// TestImportMISPSourceCAAndKey fetches a MISP event from an HTTPS server
// behind a private CA that answers only with the automation key: the CA
// comes from --source-ca (not --ca, which is the node's), the key from
// --source-key-file, sent as MISP's Authorization header; without either
// the import fails as a remote failure and writes nothing.
func TestImportMISPSourceCAAndKey(t *testing.T) {
	dir := t.TempDir()
	ca, other := newTestCA(t, dir, "misp-ca"), newTestCA(t, dir, "other-ca")
	certFile, keyFile := filepath.Join(dir, "misp.crt"), filepath.Join(dir, "misp.key")
	ca.issue(t, certFile, keyFile)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	const key = "hZ8mc3Hb0T5tJ2oN4sKqUcW7yXv9LbA1pE6rGdQf" // a MISP automation key is 40 characters
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != key {
			http.Error(w, `{"message":"Authentication failed."}`, http.StatusForbidden)
			return
		}
		if r.Header.Get("Accept") != "application/json" {
			http.Error(w, "MISP answers JSON only when asked", http.StatusNotAcceptable)
			return
		}
		fmt.Fprint(w, `{"response":[{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"e","timestamp":"1465681801","Orgc":{"name":"O"},"Attribute":[{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83867","type":"domain","category":"Network activity","value":"evil.example","to_ids":true,"timestamp":"1465681801"}]}}]}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the test
	srv.StartTLS()
	defer srv.Close()
	keyPath := filepath.Join(dir, "misp-key.txt")
	if err := os.WriteFile(keyPath, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyKey := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(emptyKey, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := srv.URL + "/events/restSearch.json" // a saved REST search result; a URL without .json is a feed
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"system roots", []string{"--source-key-file", keyPath}, 4, "certificate signed by unknown authority"},
		{"another CA", []string{"--source-ca", other.pemFile, "--source-key-file", keyPath}, 4, "certificate signed by unknown authority"},
		{"no key", []string{"--source-ca", ca.pemFile}, 4, "403 Forbidden"},
		{"empty key file", []string{"--source-ca", ca.pemFile, "--source-key-file", emptyKey}, 2, "holds no key"},
		{"not a CA", []string{"--source-ca", keyPath, "--source-key-file", keyPath}, 2, "--source-ca " + keyPath + " holds no PEM certificate"},
		{"key for a local file", []string{"--source-key-file", keyPath, "local.json"}, 2, "for an http(s):// SOURCE"},
		{"CA and key", []string{"--source-ca", ca.pemFile, "--source-key-file", keyPath}, 0, "1 events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "b.json")
			args := append([]string{"import", "misp", "--out", out}, tc.args...)
			if len(tc.args) == 0 || tc.args[len(tc.args)-1] != "local.json" {
				args = append(args, src)
			}
			code, _, stderr := runCLI(t, args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
			if strings.Contains(stderr, key) {
				t.Errorf("the automation key is in the output:\n%s", stderr)
			}
			b, err := os.ReadFile(out)
			if tc.code != 0 {
				if err == nil {
					t.Error("a failed import left a bundle")
				}
				return
			}
			if err != nil || !bytes.Contains(b, []byte(`[domain-name:value = 'evil.example']`)) {
				t.Errorf("bundle %s (%v)", b, err)
			}
		})
	}
}

// TestImportMISPUnsupportedIsPrintable: what import misp reports as
// unsupported quotes the event's own text (an attribute type, a value
// that makes no valid pattern, such as the ssdeep with a CRLF of PyMISP's
// to_delete2.json), which reaches the terminal: its control characters,
// line breaks and terminal escapes among them, are replaced, one line a
// report.
func TestImportMISPUnsupportedIsPrintable(t *testing.T) {
	ev := `{"Event":{"uuid":"11111111-2222-4333-8444-555555555555","info":"x","timestamp":"1700000000","published":true,"Attribute":[` +
		`{"uuid":"11111111-2222-4333-8444-555555555556","type":"x\u001b]0;title\u0007","category":"Other","value":"v","timestamp":"1700000000"},` +
		`{"uuid":"11111111-2222-4333-8444-555555555557","type":"sha256","category":"Other","value":"ab\u001b[2J\r\ncd","to_ids":true,"timestamp":"1700000000"}]}}`
	in := filepath.Join(t.TempDir(), "ev.json")
	if err := os.WriteFile(in, []byte(ev), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "import", "misp", "--out", filepath.Join(t.TempDir(), "out.json"), in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.ContainsAny(stderr, "\x1b\x07\r") {
		t.Errorf("stderr holds control characters of the event: %q", stderr)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if !strings.HasPrefix(l, "parley: ") {
			t.Errorf("a line of stderr that is no report: %q", l)
		}
		if strings.Contains(l, "unsupported: event ") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d unsupported lines, want 2:\n%s", n, stderr)
	}
}

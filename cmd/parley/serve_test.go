package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a serving command's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeMetricsAndProbes runs `parley serve --metrics-listen` and checks
// that the probes answer without a token, that the access log goes to
// stderr, and that the metrics listener (apart from the API) counts the
// requests.
func TestServeMetricsAndProbes(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	urlFile := filepath.Join(dir, "url")
	done := make(chan int, 1)
	go func() {
		c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
		done <- c.main(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--url-file", urlFile, "--metrics-listen", "127.0.0.1:0"})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve: exit %d: %s", code, stderr.String())
		}
	}()
	metricsRE := regexp.MustCompile(`metrics at (http://\S+/metrics)`)
	var base, metrics string
	for deadline := time.Now().Add(20 * time.Second); base == "" || metrics == ""; {
		if time.Now().After(deadline) {
			t.Fatalf("serve didn't start: %s", stderr.String())
		}
		if b, err := os.ReadFile(urlFile); err == nil {
			base = strings.TrimSpace(string(b))
		}
		if m := metricsRE.FindStringSubmatch(stderr.String()); m != nil {
			metrics = m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(base + "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, body := get(base + "/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("readyz: %d %q", code, body)
	}
	if code, _ := get(base + "/metrics"); code != 404 {
		t.Errorf("the API listener serves /metrics: %d", code)
	}
	code, body := get(metrics)
	if code != 200 || !strings.Contains(body, `parley_http_requests_total{route="GET /healthz",status="200"} 1`) {
		t.Errorf("metrics: %d\n%s", code, body)
	}
	if !strings.Contains(stderr.String(), `route="GET /readyz" path=/readyz status=200`) {
		t.Errorf("no access log line for /readyz on stderr:\n%s", stderr.String())
	}
}

// TestMetricsWarning: serve warns when its metrics, which need no token,
// listen on an address that is not loopback (it said nothing, however
// widely the address was reachable), and not when they are on loopback.
func TestMetricsWarning(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		warn bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9480}, false},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 9480}, false},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 9480}, true},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9480}, true},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 9480}, true},
	} {
		w := metricsWarning(tc.addr)
		if (w != "") != tc.warn {
			t.Errorf("%s: warning %q, want one: %v", tc.addr, w, tc.warn)
		}
		if tc.warn && !strings.Contains(w, tc.addr.String()) {
			t.Errorf("%s: the warning doesn't name the address: %q", tc.addr, w)
		}
	}
}

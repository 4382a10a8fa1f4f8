package main

import (
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestWitnessServeDropsSlowClients: add-checkpoint takes no token, so
// anyone can connect to witness serve; one that sends half its headers,
// or headers and part of a body, and then nothing (slow loris) has its
// connection closed after the read timeouts (shortened here), rather than
// holding it for ever.
func TestWitnessServeDropsSlowClients(t *testing.T) {
	savedH, savedR := witnessReadHeaderTimeout, witnessReadTimeout
	t.Cleanup(func() { witnessReadHeaderTimeout, witnessReadTimeout = savedH, savedR })
	witnessReadHeaderTimeout, witnessReadTimeout = 100*time.Millisecond, 300*time.Millisecond
	dir := filepath.Join(t.TempDir(), "w")
	if code, _, stderr := runCLI(t, "witness", "init", "--data", dir, "--name", "witness.example/w1"); code != 0 {
		t.Fatalf("witness init: %s", stderr)
	}
	const logKey = "example.com/log+1dde4531+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
	u, err := url.Parse(runInProcess(t, []string{"witness", "serve"}, "--data", dir, "--listen", "127.0.0.1:0", "--log", logKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, sent string }{
		{"half the headers", "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\n"},
		{"part of the body", "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 1000\r\n\r\nold 0\n"},
		{"idle after a request", "GET /0000/checkpoint HTTP/1.1\r\nHost: w\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.sent); err != nil {
				t.Fatal(err)
			}
			// The witness closes the connection (EOF, after any answer)
			// long before this deadline.
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			if _, err := io.Copy(io.Discard, conn); err != nil {
				t.Fatalf("the connection is still open after 20 s: %v", err)
			}
		})
	}
}

// TestWitnessServeWarnsWritableDir: a witness's data directory, or its
// state/ or evidence/, that other users may write in lets them make the
// witness forget what it cosigned (replace the journal) or keep no
// evidence (fill the bound with files): witness serve warns, naming each
// such directory, and says nothing of one that is 0700.
func TestWitnessServeWarnsWritableDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes don't say who may write on Windows")
	}
	dir := filepath.Join(t.TempDir(), "w")
	if code, _, stderr := runCLI(t, "witness", "init", "--data", dir, "--name", "witness.example/w1"); code != 0 {
		t.Fatalf("witness init: %s", stderr)
	}
	if err := os.MkdirAll(filepath.Join(dir, "evidence"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "evidence"), 0o777); err != nil {
		t.Fatal(err)
	}
	const logKey = "example.com/log+1dde4531+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
	_, logs := runInProcessLogs(t, []string{"witness", "serve"}, "--data", dir, "--listen", "127.0.0.1:0", "--log", logKey)
	out := logs.String()
	if !strings.Contains(out, "warning: the witness directory "+filepath.Join(dir, "evidence")+" can be written by other users (mode 0777)") {
		t.Fatalf("no warning of the writable evidence directory:\n%s", out)
	}
	if strings.Contains(out, "witness directory "+dir+" ") || strings.Contains(out, filepath.Join(dir, "state")) {
		t.Fatalf("a warning of a 0700 directory:\n%s", out)
	}
}

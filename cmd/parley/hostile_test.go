package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// A witness of the policy that accepts the audit's request and never
// answers costs the audit witnessViewTimeout: its view is reported as not
// checked, and the other witnesses are still read, instead of parley
// audit hanging for ever.
func TestAuditWitnessNeverAnswers(t *testing.T) {
	old := witnessViewTimeout
	witnessViewTimeout = 300 * time.Millisecond
	defer func() { witnessViewTimeout = old }()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hang.Close()
	defer close(release)
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()

	vkey, _, v, cpNote := smallSignedLog(t)
	var pol strings.Builder
	for _, w := range []struct{ name, url string }{{"a.example/w", hang.URL}, {"b.example/w", none.URL}} {
		_, wkey, err := tlog.NewCosignerKey(rand.Reader, w.name)
		if err != nil {
			t.Fatal(err)
		}
		pol.WriteString("witness " + w.name + " " + wkey + " " + w.url + "\n")
	}
	pol.WriteString("group g any a.example/w b.example/w\nquorum g\n")
	p, err := tlog.ParsePolicy([]byte(pol.String()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	views := checkWitnessViews(ctx, &cli{}, p, vkey, v, cpNote, nil)
	if ctx.Err() != nil || len(views) != 2 {
		t.Fatalf("views %+v (the test's deadline: %v)", views, ctx.Err())
	}
	if !strings.Contains(views[0].note, "couldn't read witness a.example/w") || !strings.Contains(views[1].note, "has cosigned no checkpoint") {
		t.Fatalf("views %+v", views)
	}
}

// A MISP server's refusal is named by its status code and standard text,
// not by its reason phrase: a hostile one of a megabyte of terminal
// escapes doesn't reach the terminal.
func TestImportHostileReasonPhrase(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 503 \x1b]0;owned\x07%s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", strings.Repeat("x", 1<<20))
		buf.Flush()
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := c.main(context.Background(), []string{"import", "misp", "--out", filepath.Join(t.TempDir(), "b.json"), srv.URL + "/events/e.json"})
	if code != 4 || stderr.Len() > 2000 || strings.ContainsAny(stderr.String(), "\x1b\x07") || !strings.Contains(stderr.String(), "503 Service Unavailable") {
		t.Fatalf("exit %d, stderr of %d bytes: %.300q", code, stderr.Len(), stderr.String())
	}
}

// A node that accepts a command's request and never answers fails the
// command after responseHeaderTimeout instead of holding it for ever.
func TestCommandNodeNeverAnswers(t *testing.T) {
	old := responseHeaderTimeout
	responseHeaderTimeout = 300 * time.Millisecond
	defer func() { responseHeaderTimeout = old }()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hang.Close()
	defer close(release)
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	code := c.main(ctx, []string{"proof", "--url", hang.URL, "--token", "t", "indicator--00000000-0000-4000-8000-000000000000"})
	if code != 4 || ctx.Err() != nil || !strings.Contains(stderr.String(), "timeout") {
		t.Fatalf("exit %d after %v (the test's deadline: %v): %s", code, time.Since(start), ctx.Err(), stderr.Bytes())
	}
}

// A node that redirects a command to another port of its host (where Go's
// client would send the member's token on) or to any other origin is not
// followed: the command fails naming both origins, and the other server
// never sees a request.
func TestCommandRedirectElsewhere(t *testing.T) {
	var reached atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	_, vkey, err := tlog.NewNodeKey(rand.Reader, "log.example/a")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"proof", "--url", srv.URL, "--token", "parley_secret", "indicator--00000000-0000-4000-8000-000000000000"},
		{"pull", "--url", srv.URL, "--token", "parley_secret", "--collection", "c", "--log-key", vkey},
		{"private", "sets", "--url", srv.URL, "--token", "parley_secret"},
	} {
		var stdout, stderr bytes.Buffer
		c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		code := c.main(context.Background(), args)
		if code == 0 || reached.Load() != 0 || !strings.Contains(stderr.String(), "redirected to "+other.URL) ||
			strings.Contains(stderr.String(), "parley_secret") {
			t.Fatalf("%s: exit %d, other server reached %d times: %s", args[0], code, reached.Load(), stderr.Bytes())
		}
	}
}

// TestPrivateSetsPrintsNodeStringsInert: the set list is the node's word;
// a terminal escape or a newline in one of its strings is printed inert,
// never written to the terminal (where it could rewrite what was shown).
func TestPrivateSetsPrintsNodeStringsInert(t *testing.T) {
	// A node that has signed no checkpoint yet: nothing to refuse.
	_, vkey, err := tlog.NewNodeKey(rand.Reader, "log.example/a")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/private/sets") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"sets":[{"id":"private-set--1\u001b[2J","size":1,"collection":"c\u001b]0;x\u0007","provider":"identity--x\nprivate-set--fake 9 collection c p 1/1","source":"collection\t"}]}`)
	}))
	defer srv.Close()
	code, out, stderr := runCLI(t, "private", "sets", "--url", srv.URL, "--token", "parley_secret", "--log-key", vkey, "--seen", filepath.Join(t.TempDir(), "seen.json"))
	if code != 0 || strings.ContainsAny(out, "\x1b\x07\t") || strings.Count(out, "\n") != 2 {
		t.Errorf("private sets: exit %d, output %q (%s); want the node's strings without escapes, tabs or extra lines", code, out, stderr)
	}
}

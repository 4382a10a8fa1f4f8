package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"
)

const hostileEvent = `{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"e","timestamp":"1465681801","Orgc":{"name":"O"},"Attribute":[{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83867","type":"domain","category":"Network activity","value":"evil.example","to_ids":true,"timestamp":"1465681801"}]}}`

// runImportMISP runs parley import misp into a bundle, with the MISP key
// file keyFile when not "", and returns the exit code and stderr.
func runImportMISP(t *testing.T, src, keyFile string) (int, string) {
	t.Helper()
	args := []string{"import", "misp", "--out", filepath.Join(t.TempDir(), "b.json"), "--state", filepath.Join(t.TempDir(), "state.json")}
	if keyFile != "" {
		args = append(args, "--source-key-file", keyFile)
	}
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := c.main(context.Background(), append(args, src))
	return code, stderr.String()
}

// TestImportMISPRedirects: a MISP feed's server (or whoever answers for
// it on plain http) that redirects the import to another origin (another
// server, another port of the same host, the cloud's metadata address,
// a name of the loopback interface) isn't followed, with a key or
// without: the import fails naming both origins, and the other server is
// never contacted. A redirect within the feed's origin is followed.
func TestImportMISPRedirects(t *testing.T) {
	var reached atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		fmt.Fprint(w, `{}`)
	}))
	defer other.Close()
	key := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(key, []byte("misp-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{
		other.URL + "/feed/manifest.json",
		"http://169.254.169.254/latest/meta-data/",
		strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/admin",
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, http.StatusFound)
		}))
		for _, k := range []string{"", key} {
			code, stderr := runImportMISP(t, srv.URL+"/feed/", k)
			if code != 4 || !strings.Contains(stderr, "redirected to") || strings.Contains(stderr, "misp-s3cret") {
				t.Errorf("redirect to %s (key %q): exit %d: %s", to, k, code, stderr)
			}
		}
		srv.Close()
	}
	if reached.Load() != 0 {
		t.Fatalf("the other server was reached %d times", reached.Load())
	}

	// Within the origin: the feed moved to /new/.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/new/manifest.json":
			fmt.Fprint(w, `{"5758ebf5-c898-48e6-9fe9-5665c0a83866":{"info":"e","timestamp":"1465681801"}}`)
		case "/new/5758ebf5-c898-48e6-9fe9-5665c0a83866.json":
			fmt.Fprint(w, hostileEvent)
		default:
			http.Redirect(w, r, strings.Replace(r.URL.Path, "/old/", "/new/", 1), http.StatusMovedPermanently)
		}
	}))
	defer srv.Close()
	for _, k := range []string{"", key} {
		if code, stderr := runImportMISP(t, srv.URL+"/old/", k); code != 0 || !strings.Contains(stderr, "1 events, 1 attributes") {
			t.Errorf("redirect within the origin (key %q): exit %d: %s", k, code, stderr)
		}
	}
}

// TestImportMISPHostileText: a MISP feed's server that puts a MiB of text
// (terminal escapes, a right-to-left override, invalid UTF-8) in a
// redirect's Location, a manifest's event uuid, an event's uuid or an
// attribute's timestamp has the import fail with an error that quotes a
// bounded, printable part of it.
func TestImportMISPHostileText(t *testing.T) {
	mib := "\x1b]0;owned\x07\u202e\xff" + strings.Repeat("A", 1<<20)
	jsonMiB := `\u001b]0;owned\u0007` + "\u202e\xff" + strings.Repeat("A", 1<<20)
	const id = "5758ebf5-c898-48e6-9fe9-5665c0a83866"
	manifest := fmt.Sprintf(`{%q:{"info":"e","timestamp":"1465681801"}}`, id)
	for name, h := range map[string]http.HandlerFunc{
		"location": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://169.254.169.254/"+strings.Repeat("a", 1<<20))
			w.WriteHeader(http.StatusFound)
		},
		"manifest uuid": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"`+jsonMiB+`":{"info":"e","timestamp":"1"}}`)
		},
		"manifest timestamp": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{%q:{"info":"e","timestamp":"%s"}}`, id, jsonMiB)
		},
		"event uuid": func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "manifest.json") {
				fmt.Fprint(w, manifest)
				return
			}
			fmt.Fprint(w, strings.Replace(hostileEvent, `"uuid":"`+id+`"`, `"uuid":"`+jsonMiB+`"`, 1))
		},
		"attribute timestamp": func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "manifest.json") {
				fmt.Fprint(w, manifest)
				return
			}
			fmt.Fprint(w, strings.Replace(hostileEvent, `"to_ids":true,"timestamp":"1465681801"`, `"to_ids":true,"timestamp":"`+jsonMiB+`"`, 1))
		},
		"server error": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", mib[:1000])
			w.Header().Set("Content-Type", "text/plain; x="+strings.Repeat("b", 1<<20))
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(mib))
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			code, stderr := runImportMISP(t, srv.URL+"/feed/", "")
			if code == 0 || len(stderr) > 2000 || strings.ContainsAny(stderr, "\x1b\x07\u202e") || !utf8.ValidString(stderr) {
				t.Fatalf("exit %d, stderr (%d bytes): %.400q", code, len(stderr), stderr)
			}
		})
	}
}

// TestCommandRedirectLocationBounded: a node that redirects a command
// elsewhere in a Location of a MiB has the command fail naming the
// redirect, its error bounded (Go's client names the Location as the
// server wrote it).
func TestCommandRedirectLocationBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://169.254.169.254/"+strings.Repeat("a", 1<<20))
		w.WriteHeader(http.StatusFound)
	}))
	defer srv.Close()
	for _, args := range [][]string{
		{"concurrence", "--url", srv.URL, "--token", "parley_secret", "report--00000000-0000-4000-8000-000000000000"},
		{"proof", "--url", srv.URL, "--token", "parley_secret", "indicator--00000000-0000-4000-8000-000000000000"},
		{"private", "sets", "--url", srv.URL, "--token", "parley_secret"},
	} {
		var stdout, stderr bytes.Buffer
		c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		code := c.main(context.Background(), args)
		if code == 0 || !strings.Contains(stderr.String(), "redirected to http://169.254.169.254:80") || stderr.Len() > 2000 {
			t.Errorf("%s: exit %d, stderr (%d bytes): %.300q", args[0], code, stderr.Len(), stderr.String())
		}
	}
}

// TestErrorLineBounded: a server answering with a malformed status line
// of a MiB (Go's client quotes it whole in its error) gets a bounded
// error line on stderr, cut on a character's boundary and saying so;
// a short message of several lines is joined as before.
func TestErrorLineBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				bufio.NewReader(conn).ReadString('\n')
				io.WriteString(conn, "HTTP/1.1"+strings.Repeat("é", 1<<19)+"\r\n\r\n") // no space: "malformed HTTP response" quotes the line
			}()
		}
	}()
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := c.main(context.Background(), []string{"proof", "--url", "http://" + ln.Addr().String(), "--token", "parley_secret", "indicator--00000000-0000-4000-8000-000000000000"})
	line, _, _ := strings.Cut(stderr.String(), "\n")
	if code == 0 || len(line) > maxErrorLine+200 || !utf8.ValidString(line) || !strings.Contains(line, "… (cut: the message has") {
		t.Errorf("exit %d, error line of %d bytes: %.300q", code, len(line), line)
	}
	if got := oneLine("couldn't connect:\n\thost a: refused\n\thost b: refused"); got != "couldn't connect: host a: refused; host b: refused" {
		t.Errorf("oneLine of a short message = %q", got)
	}
}

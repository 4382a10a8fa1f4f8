package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestClientsRefuseAnotherCollection: a node that answers a request for
// one collection's objects with another collection's (real, logged and
// signed objects the member may read, but not of the collection asked for)
// is caught by pull and match --url, which check each opening's collection.
func TestClientsRefuseAnotherCollection(t *testing.T) {
	base, st, _ := demoNode(t)
	bor := st.Members[1] // reads both the shared and its private collection
	shared, private := st.Collections.Shared, st.Collections.Private
	u, _ := url.Parse(base)
	p := httputil.NewSingleHostReverseProxy(u)
	director := p.Director
	p.Director = func(r *http.Request) {
		director(r)
		r.URL.Path = strings.Replace(r.URL.Path, "/collections/"+shared+"/objects/", "/collections/"+private+"/objects/", 1)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()

	code, out, stderr := runCLI(t, "pull", "--url", srv.URL, "--token", bor.Token, "--collection", shared)
	if code != 1 || !strings.Contains(stderr, "not from the collection asked for") || strings.Contains(out, `"id": "indicator--`) {
		t.Errorf("pull answered with another collection: exit %d, stderr %q; it must exit 1 and print none of them\n%s", code, stderr, out)
	}
	ind := filepath.Join(t.TempDir(), "empty.log")
	os.WriteFile(ind, nil, 0o644)
	code, _, stderr = runCLI(t, "match", "--url", srv.URL, "--token", bor.Token, "--collection", shared, "--format", "zeek", ind)
	if !strings.Contains(stderr, "not loading indicator--") || !strings.Contains(stderr, "0 indicators") {
		t.Errorf("match --url answered with another collection: exit %d, stderr %q; it must load none of them", code, stderr)
	}
	// Straight from the node, both pass.
	if code, _, stderr := runCLI(t, "pull", "--url", base, "--token", bor.Token, "--collection", shared); code != 0 {
		t.Errorf("pull of the honest node: exit %d: %s", code, stderr)
	}
}

// TestRefusalsNameObjectsInert: a refused object is named by the id the
// node sent; pull and match --url print it inert, so a carriage return or
// escape can't overwrite the refusal on a terminal.
func TestRefusalsNameObjectsInert(t *testing.T) {
	base, st, _ := demoNode(t)
	aur := st.Members[0]
	shared := st.Collections.Shared
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
		b = bytes.Replace(b, []byte(`"id":"indicator--`), []byte(`"id":"\u001b[2K\rparley: all verified\u001b[8mindicator--`), 1)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	code, _, stderr := runCLI(t, "pull", "--url", srv.URL, "--token", aur.Token, "--collection", shared)
	if code != 1 || !strings.Contains(stderr, "refused ") || strings.ContainsAny(stderr, "\x1b\r") {
		t.Errorf("pull: exit %d, stderr %q; want exit 1 and the refusal without escapes or carriage returns", code, stderr)
	}
	ind := filepath.Join(t.TempDir(), "empty.log")
	os.WriteFile(ind, nil, 0o644)
	_, _, stderr = runCLI(t, "match", "--url", srv.URL, "--token", aur.Token, "--collection", shared, "--format", "zeek", ind)
	if !strings.Contains(stderr, "not loading ") || strings.ContainsAny(stderr, "\x1b\r") {
		t.Errorf("match --url: stderr %q; want the refusal without escapes or carriage returns", stderr)
	}
}

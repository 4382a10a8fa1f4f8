package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
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

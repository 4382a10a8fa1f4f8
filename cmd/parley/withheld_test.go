package main

import (
	"bytes"
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
	"testing"
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

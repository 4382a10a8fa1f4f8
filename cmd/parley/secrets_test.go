package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditFoundByHidesURLSecrets: the found_by of an audit's split-view
// evidence, which is made to be shown to others, names the node's URL
// without the user, password or query that --url may carry.
func TestAuditFoundByHidesURLSecrets(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{"url:https://auditor:hunter2@node.example/", "parley audit of url:https://node.example/"},
		{"url:https://node.example/?key=hunter2", "parley audit of url:https://node.example/"},
		{"url:https://node.example/%zzhunter2", "parley audit of url:(a URL that doesn't parse)"},
		{"dir:/srv/parley", "parley audit of dir:/srv/parley"},
	} {
		got := auditFoundBy(tc.target)
		if got != tc.want || strings.Contains(got, "hunter2") {
			t.Errorf("auditFoundBy(%q) = %q, want %q", tc.target, got, tc.want)
		}
	}
}

// TestWarnsOfSecretFilesOthersCanRead: a token file or private key that
// every user of the machine can read is named in a warning (the command
// goes on); mode 0600 or 0640 gets none, nor does a 0644 file in a
// directory only its owner may enter.
func TestWarnsOfSecretFilesOthersCanRead(t *testing.T) {
	// t.TempDir and the directory above it are 0700: open them to others,
	// as a home directory often is.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := readableByAll(dir); ok {
		t.Fatal("a directory counts as a readable file")
	}
	for d := filepath.Dir(filepath.Dir(dir)); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s (above the test's directory) is closed to other users", d)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	key := filepath.Join(dir, "member.key")
	if code, _, stderr := runCLI(t, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: %d %s", code, stderr)
	}
	obj := filepath.Join(dir, "obj.json")
	if err := os.WriteFile(obj, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--3f7e8c5a-6b1d-4c2e-9a0f-5d4b3c2a1e10","created":"2026-09-20T09:00:00.000Z","modified":"2026-09-20T09:00:00.000Z","pattern":"[url:value = 'https://x.example/']","pattern_type":"stix","valid_from":"2026-09-20T09:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("parley_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o600, 0o640, 0o644, 0o666} {
		for _, f := range []string{key, tok} {
			if err := os.Chmod(f, mode); err != nil {
				t.Fatal(err)
			}
		}
		world := mode&0o004 != 0
		_, _, stderr := runCLI(t, "sign", "--key", key, obj)
		if got := strings.Contains(stderr, "warning: the private key "+key+" can be read by every user"); got != world {
			t.Errorf("sign with a key of mode %04o: warned %v, want %v; stderr:\n%s", mode, got, world, stderr)
		}
		_, _, stderr = runCLI(t, "proof", "--url", "http://127.0.0.1:1", "--token-file", tok, "indicator--3f7e8c5a-6b1d-4c2e-9a0f-5d4b3c2a1e10")
		if got := strings.Contains(stderr, "warning: the token file "+tok+" can be read by every user"); got != world {
			t.Errorf("proof with a token file of mode %04o: warned %v, want %v; stderr:\n%s", mode, got, world, stderr)
		}
		if strings.Contains(stderr, "parley_x") {
			t.Errorf("the token is in the output:\n%s", stderr)
		}
	}
	// World-readable, but in a directory others can't enter.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, stderr := runCLI(t, "sign", "--key", key, obj); strings.Contains(stderr, "warning") {
		t.Errorf("a key in a 0700 directory is warned about:\n%s", stderr)
	}
}

// TestNATSCredentialsNotInErrors: match --nats with a URL holding a user
// and password, or a token, that can't connect says which server it
// couldn't reach without the credentials.
func TestNATSCredentialsNotInErrors(t *testing.T) {
	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	if err := os.WriteFile(ind, []byte(`{"type":"bundle","id":"bundle--9b0c4d2e-1f3a-4b5c-8d6e-7f8091a2b3c4","objects":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"nats://matcher:hunter2@127.0.0.1:1",
		"nats://hunter2@127.0.0.1:1",
		"nats://matcher:hunter2@127.0.0.1:1, nats://matcher:hunter2@127.0.0.1:2",
	} {
		code, _, stderr := runCLI(t, "match", "--indicators", ind, "--nats", u, "--stream", "s", "--consumer", "c")
		if code == 0 || !strings.Contains(stderr, "127.0.0.1:1") {
			t.Errorf("%s: exit %d, stderr:\n%s", u, code, stderr)
		}
		if strings.Contains(stderr, "hunter2") {
			t.Errorf("%s: the error holds the credentials:\n%s", u, stderr)
		}
	}
}

// TestMISPFeedURLPasswordNotShown: a MISP feed behind HTTP Basic
// authentication, given as https://user:password@host/feed/, is fetched,
// but the password is neither on stderr (progress, errors) nor in the
// import's state file.
func TestMISPFeedURLPasswordNotShown(t *testing.T) {
	const event = `{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"e","date":"2016-12-01","timestamp":"1465681801","published":false,"Orgc":{"name":"O","uuid":"5c6983c8-3af8-4304-869c-4800d6c1883c"},"Attribute":[{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83867","type":"domain","category":"Network activity","value":"evil.example","to_ids":true,"timestamp":"1465681801"}]}}`
	const manifest = `{"5758ebf5-c898-48e6-9fe9-5665c0a83866":{"info":"e","date":"2016-12-01","timestamp":"1465681801","Orgc":{"name":"O","uuid":"5c6983c8-3af8-4304-869c-4800d6c1883c"},"analysis":"0","threat_level_id":"1"}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "reader" || p != "hunter2" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/feed/manifest.json":
			io.WriteString(w, manifest)
		case "/feed/5758ebf5-c898-48e6-9fe9-5665c0a83866.json":
			io.WriteString(w, event)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	withPassword := strings.Replace(srv.URL, "http://", "http://reader:hunter2@", 1)
	code, _, stderr := runCLI(t, "import", "misp", "--out", filepath.Join(dir, "out.json"), "--state", state, withPassword+"/feed/")
	if code != 0 || !strings.Contains(stderr, "1 new or changed") {
		t.Fatalf("import: exit %d:\n%s", code, stderr)
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr, "hunter2") || strings.Contains(string(b), "hunter2") {
		t.Errorf("the password is shown:\nstderr: %s\nstate: %s", stderr, b)
	}
	// A wrong password: refused, and the error doesn't repeat it.
	wrong := strings.Replace(srv.URL, "http://", "http://reader:hunter3@", 1)
	code, _, stderr = runCLI(t, "import", "misp", "--out", filepath.Join(dir, "out2.json"), "--state", filepath.Join(dir, "s2.json"), wrong+"/feed/")
	if code == 0 || strings.Contains(stderr, "hunter3") {
		t.Errorf("wrong password: exit %d:\n%s", code, stderr)
	}
	// Unreachable, with the password as the user name alone.
	code, _, stderr = runCLI(t, "import", "misp", "--out", filepath.Join(dir, "out3.json"), "http://hunter4@127.0.0.1:1/e.json")
	if code == 0 || strings.Contains(stderr, "hunter4") {
		t.Errorf("unreachable: exit %d:\n%s", code, stderr)
	}
}

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// flagFileBundle is a valid STIX bundle of one indicator, the content of
// the files named like flags below (a rival's file can hold anything).
const flagFileBundle = `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}]}
`

// authRecorder is a node that refuses every request (401) and records the
// Authorization header of each.
type authRecorder struct {
	mu   sync.Mutex
	auth []string
	srv  *httptest.Server
}

func newAuthRecorder(t *testing.T) *authRecorder {
	t.Helper()
	r := &authRecorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		r.mu.Unlock()
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// take returns the Authorization headers recorded since the last call.
func (r *authRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.auth
	r.auth = nil
	return a
}

// dropDir makes a new directory, the current one for the rest of the
// test, holding files (a name, its content) and symlinks (a name and its
// target, "->" before it), and returns the names `*` would give there
// (the shell's glob, hidden files left out).
func dropDir(t *testing.T, files ...string) []string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for i := 0; i+1 < len(files); i += 2 {
		name, content := files[i], files[i+1]
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, name)
		} else {
			err = os.WriteFile(name, []byte(content), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	names, err := filepath.Glob("*")
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(names, func(n string) bool { return strings.HasPrefix(n, ".") })
}

// TestFlagThatIsAFileRefused: a word parley would read as a flag that is
// also the name of a file (or a symlink, dangling or not) in the current
// directory is refused, exit 2, before anything is sent, read or written,
// whatever the flag's class and wherever it comes: a shell gives parley
// such a word only from a glob there, so a rival who can write to a
// directory the user runs `parley push *` or `parley import iocs *` in
// would otherwise choose the token file sent to the node, what a check
// skips, or the file overwritten. After "--" the same names are files,
// and a flag's value may name such a file.
func TestFlagThatIsAFileRefused(t *testing.T) {
	node := newAuthRecorder(t)
	keys := t.TempDir()
	key := filepath.Join(keys, "me.key")
	if code, _, stderr := runCLI(t, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	secret := filepath.Join(keys, "id_ed25519")
	if err := os.WriteFile(secret, []byte("parley_stolen\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	push := []string{"push", "--url", node.srv.URL, "--token", "parley_typed", "--key", key, "--collection", "intel"}
	proof := []string{"proof", "--url", node.srv.URL, "--token", "parley_typed", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}
	const refused = "is both a flag and a file in this directory: put -- before names of files; nothing was done"

	for _, tc := range []struct {
		name  string
		files []string // name, content or "->target" pairs
		args  []string // the command line before the glob's names
		word  string   // the word refused
	}{
		// secret, "=" form: the token file is a hidden symlink (not in
		// the glob) to a secret elsewhere.
		{"secret=", []string{"--token-file=.k", flagFileBundle, ".k", "->" + secret, "objects.json", flagFileBundle}, push, "--token-file=.k"},
		// secret, two words: "--token-file", then the secret's symlink,
		// which the glob sorts after it.
		{"secret two words", []string{"--token-file", flagFileBundle, "-k", "->" + secret, "objects.json", flagFileBundle}, push, "--token-file"},
		// the flag's own file a dangling symlink.
		{"dangling symlink", []string{"--token-file=.k", "->" + filepath.Join(keys, "gone"), ".k", "->" + secret, "objects.json", flagFileBundle}, push, "--token-file=.k"},
		// trusting, "=" form, after an argument.
		{"trusting=", []string{"--log-key=rival+01234567+AAAA", flagFileBundle}, []string{"verify", "proof.json"}, "--log-key=rival+01234567+AAAA"},
		// trusting, two words.
		{"trusting two words", []string{"--witness-policy", "", "-p", "witness a+01234567+AAAA\n"}, []string{"verify", "proof.json"}, "--witness-policy"},
		// trusting, a bool flag, before the ids.
		{"trusting bool", []string{"--allow-no-key-index", ""}, proof, "--allow-no-key-index"},
		// destination, "=" form: .bashrc overwritten.
		{"destination=", []string{"--out=.bashrc", "", "iocs.txt", "198.51.100.7\n"}, []string{"import", "iocs"}, "--out=.bashrc"},
		// destination, two words.
		{"destination two words", []string{"--out", "", "-x", "keep\n", "iocs.txt", "198.51.100.7\n"}, []string{"import", "iocs"}, "--out"},
		// harmless, before the argument, and with a -.
		{"harmless", []string{"-format=zeek", "", "conn.log", ""}, []string{"match", "--indicators", secret}, "-format=zeek"},
		// help, which no flag set defines: parley printed its usage and
		// exited 0, so a script's `parley push ... *` "succeeded" having
		// pushed nothing.
		{"help", []string{"-h", "", "objects.json", flagFileBundle}, push, "-h"},
		{"help long", []string{"--help", "", "objects.json", flagFileBundle}, push, "--help"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			glob := dropDir(t, tc.files...)
			before := dirState(t)
			code, stdout, stderr := runCLI(t, append(slices.Clone(tc.args), glob...)...)
			want := "parley: error: " + tc.word + " " + refused
			if code != 2 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "parley: hint: ") || stdout != "" {
				t.Errorf("parley %q: exit %d; want 2 and %q\nstdout: %s\nstderr: %s", append(slices.Clone(tc.args), glob...), code, want, stdout, stderr)
			}
			if sent := node.take(); len(sent) > 0 {
				t.Errorf("parley %q: sent %d requests (Authorization %q)", tc.args, len(sent), sent)
			}
			if after := dirState(t); after != before {
				t.Errorf("parley %q: the directory changed:\n%s\nto\n%s", tc.args, before, after)
			}
		})
	}

	// After "--" the same names are files.
	t.Run("after --", func(t *testing.T) {
		glob := dropDir(t, "--token-file=.k", flagFileBundle, ".k", "->"+secret)
		code, _, stderr := runCLI(t, append(append(slices.Clone(push), "--"), glob...)...)
		sent := node.take()
		if code != 4 || len(sent) == 0 {
			t.Fatalf("push -- %q: exit %d, %d requests; want the file pushed (and refused by the node, 4):\n%s", glob, code, len(sent), stderr)
		}
		for _, a := range sent {
			if a != "Bearer parley_typed" {
				t.Errorf("push -- %q sent %q; want the token typed", glob, a)
			}
		}
		glob = dropDir(t, "--out=.bashrc", "198.51.100.7\n")
		code, stdout, stderr := runCLI(t, "import", "iocs", "--out", "out.json", "--", glob[0])
		if b, _ := os.ReadFile("out.json"); code != 0 || !strings.Contains(string(b), "198.51.100.7") {
			t.Errorf("import iocs --out out.json -- %s: exit %d, out.json %q\n%s%s", glob[0], code, b, stdout, stderr)
		}
		if _, err := os.Lstat(".bashrc"); err == nil {
			t.Errorf("import iocs -- %s wrote .bashrc", glob[0])
		}
		if strings.Contains(stderr, "warning") {
			t.Errorf("import iocs -- %s warned:\n%s", glob[0], stderr)
		}
	})

	// A flag's value may be a file named like a flag: the user typed it.
	t.Run("a flag's value", func(t *testing.T) {
		dropDir(t, "--out=.bashrc", "", "iocs.txt", "198.51.100.7\n")
		if code, _, stderr := runCLI(t, "import", "iocs", "--out", "--out=.bashrc", "iocs.txt"); code != 0 {
			t.Fatalf("import iocs --out --out=.bashrc: exit %d: %s", code, stderr)
		}
		if b, err := os.ReadFile("--out=.bashrc"); err != nil || !strings.Contains(string(b), "198.51.100.7") {
			t.Errorf("--out's file holds %q (%v)", b, err)
		}
	})
}

// dirState describes the current directory: each entry's name, and a
// file's content or a symlink's target.
func dirState(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Name())
		if target, err := os.Readlink(e.Name()); err == nil {
			b.WriteString(" -> " + target)
		} else if data, err := os.ReadFile(e.Name()); err == nil {
			b.WriteString(": " + string(data))
		}
		b.WriteString("\n")
	}
	return b.String()
}

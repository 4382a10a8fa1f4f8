package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exportBundle holds one domain and one IPv4 address indicator.
const exportBundle = `{"type":"bundle","id":"bundle--0b9a3c1e-6f2d-4c53-9d1a-7f0e8b6c5a42","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000001","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"},
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000002","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '203.0.113.66']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}
]}`

// oldFile writes content to name with mode perm and hard-links it as
// name+".before", so that a test can tell a file replaced by a rename (the
// link keeps the old content) from one rewritten in place (the link shows
// the new content, and a reader meanwhile could see part of it).
func oldFile(t *testing.T, name, content string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(name, name+".before"); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noTemporaryFiles fails if a pendingFile's temporary file is left in dir.
func noTemporaryFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

// TestExportReplacesFilesWhole: export --out puts each file in place by a
// rename, so a sensor rereading it sees the old content or the new, never
// part; the replaced file keeps its mode; a refused write leaves the old
// files, and Suricata's rules, which name the datasets, are replaced last.
func TestExportReplacesFilesWhole(t *testing.T) {
	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	if err := os.WriteFile(ind, []byte(exportBundle), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("zeek-intel", func(t *testing.T) {
		out := filepath.Join(dir, "intel.dat")
		oldFile(t, out, "old intel\n", 0o640)
		if code, _, stderr := runCLI(t, "export", "--format", "zeek-intel", "--indicators", ind, "--out", out); code != 0 {
			t.Fatalf("export: exit %d: %s", code, stderr)
		}
		if got := readString(t, out+".before"); got != "old intel\n" {
			t.Errorf("the old file was rewritten in place: its other link now reads %q", got)
		}
		if got := readString(t, out); !strings.Contains(got, "evil.example\tIntel::DOMAIN") {
			t.Errorf("new intel file:\n%s", got)
		}
		if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("mode after the export: %v %v, want the old file's 0640", fi.Mode(), err)
		}
		noTemporaryFiles(t, dir)

		// A directory that does not exist: exit 3, nothing made.
		missing := filepath.Join(dir, "no", "intel.dat")
		if code, _, stderr := runCLI(t, "export", "--format", "zeek-intel", "--indicators", ind, "--out", missing); code != 3 {
			t.Errorf("export into a missing directory: exit %d: %s", code, stderr)
		}
	})

	t.Run("suricata-dataset", func(t *testing.T) {
		out := filepath.Join(dir, "sur")
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		rules := filepath.Join(out, "parley.rules")
		domains := filepath.Join(out, "parley-domains.lst")
		oldFile(t, rules, "# old rules\n", 0o644)
		oldFile(t, domains, "b2xk\n", 0o600)
		code, stdout, stderr := runCLI(t, "export", "--format", "suricata-dataset", "--indicators", ind, "--out", out)
		if code != 0 {
			t.Fatalf("export: exit %d: %s", code, stderr)
		}
		for _, name := range []string{rules, domains} {
			if !strings.Contains(stdout, name) {
				t.Errorf("stdout does not name %s:\n%s", name, stdout)
			}
		}
		if got := readString(t, rules+".before"); got != "# old rules\n" {
			t.Errorf("the rules were rewritten in place: the old link reads %q", got)
		}
		if got := readString(t, domains+".before"); got != "b2xk\n" {
			t.Errorf("the dataset was rewritten in place: the old link reads %q", got)
		}
		// The name and the name with the root's trailing dot, which
		// Suricata's http.host keeps (see the suricata export's doc).
		if got := readString(t, domains); got != "ZXZpbC5leGFtcGxl\nZXZpbC5leGFtcGxlLg==\n" {
			t.Errorf("new domains dataset %q", got)
		}
		if fi, err := os.Stat(domains); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("dataset mode after the export: %v %v, want the old file's 0600", fi.Mode(), err)
		}
		newRules := readString(t, rules)
		noTemporaryFiles(t, out)

		// A dataset that cannot be replaced (a directory has its name): the
		// export fails with exit 3 naming it, and the rules are left as
		// they were.
		if err := os.Remove(filepath.Join(out, "parley-ipv4.lst")); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(out, "parley-ipv4.lst"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(rules); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rules, []byte("# kept\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr = runCLI(t, "export", "--format", "suricata-dataset", "--indicators", ind, "--out", out)
		if code != 3 || !strings.Contains(stderr, "parley-ipv4.lst") {
			t.Errorf("export over a directory: exit %d: %s", code, stderr)
		}
		if got := readString(t, rules); got != "# kept\n" {
			t.Errorf("the rules were replaced although a dataset before them failed:\n%s\n(the complete export's rules were:\n%s)", got, newRules)
		}
		noTemporaryFiles(t, out)
	})
}

// TestCreatePendingMode: a new file gets 0600 less the umask (it holds
// intel: exports, import --out; it got 0644 less the umask, as os.Create
// gives, which let other users of the machine read a TLP:RED import);
// Abort leaves the old file and no temporary file.
func TestCreatePendingMode(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	p, err := createPending(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteString("new"); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(dir, "ref")
	if err := os.WriteFile(ref, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want, _ := os.Stat(ref)
	if fi, err := os.Stat(name); err != nil || fi.Mode() != want.Mode() {
		t.Errorf("new file's mode %v (%v), want %v as os.WriteFile gives with 0600", fi.Mode(), err, want.Mode())
	}
	// Through a symbolic link: the link stays, its target is replaced.
	link := filepath.Join(dir, "link")
	if err := os.Symlink("f", link); err != nil {
		t.Fatal(err)
	}
	if err := replaceFile(link, []byte("via link")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file: %v %v", fi.Mode(), err)
	}
	if got := readString(t, name); got != "via link" {
		t.Errorf("the link's target reads %q", got)
	}

	p, err = createPending(name)
	if err != nil {
		t.Fatal(err)
	}
	p.WriteString("dropped")
	p.Abort()
	if got := readString(t, name); got != "via link" {
		t.Errorf("after Abort the file reads %q", got)
	}
	noTemporaryFiles(t, dir)
}

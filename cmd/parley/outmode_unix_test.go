//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOutputFilesPrivate: the files the commands write holding intel
// (import --out's bundle, export's files) were made with the umask's
// mode, 0644 at the usual umask 022, so another user of the machine read
// a TLP:RED import or export. A new one is 0600, as tokens and keys are;
// one that exists keeps its mode (TestExportReplacesFilesWhole).
func TestOutputFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	private := func(t *testing.T, name string) {
		t.Helper()
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(name), fi.Mode().Perm())
		}
	}
	ind := filepath.Join(dir, "ind.json")
	if err := os.WriteFile(ind, []byte(exportBundle), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("import --out", func(t *testing.T) {
		event := filepath.Join(dir, "e.json")
		if err := os.WriteFile(event, []byte(`{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"e","timestamp":"1465681801","published":true,"Orgc":{"name":"O","uuid":"5c6983c8-3af8-4304-869c-4800d6c1883c"},"Attribute":[{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83867","type":"url","category":"Network activity","value":"http://evil.example/a","to_ids":true,"timestamp":"1465681801"}]}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "bundle.json")
		if code, _, stderr := runCLI(t, "import", "misp", "--out", out, event); code != 0 {
			t.Fatalf("import: exit %d: %s", code, stderr)
		}
		private(t, out)
	})

	t.Run("export zeek-intel --out", func(t *testing.T) {
		out := filepath.Join(dir, "intel.dat")
		if code, _, stderr := runCLI(t, "export", "--format", "zeek-intel", "--indicators", ind, "--out", out); code != 0 {
			t.Fatalf("export: exit %d: %s", code, stderr)
		}
		private(t, out)
	})

	t.Run("export suricata-dataset --out", func(t *testing.T) {
		out := filepath.Join(dir, "sur")
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := runCLI(t, "export", "--format", "suricata-dataset", "--indicators", ind, "--out", out); code != 0 {
			t.Fatalf("export: exit %d: %s", code, stderr)
		}
		ents, err := os.ReadDir(out)
		if err != nil || len(ents) == 0 {
			t.Fatalf("export wrote %d files (%v)", len(ents), err)
		}
		for _, e := range ents {
			private(t, filepath.Join(out, e.Name()))
		}
	})
}

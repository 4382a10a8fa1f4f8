//go:build unix

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOutputFoldersPrivateUmaskZero: under umask 0, which masks nothing,
// every file the commands write into the folders they make for their
// output (export --format misp-feed's and suricata-dataset's --out,
// import's --state) is 0600, and no folder may be written by others.
// The MISP feed's files were 0644 whatever the umask: another user of the
// machine read a TLP:RED export. A feed file that exists keeps its mode
// when the feed is written again, as the other exports' files do, and no
// temporary file is left.
func TestOutputFoldersPrivateUmaskZero(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	if err := os.WriteFile(ind, []byte(exportBundle), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("parley %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
	}
	feed := filepath.Join(dir, "feed", "out")
	run("export", "--format", "misp-feed", "--indicators", ind, "--out", feed)
	run("export", "--format", "suricata-dataset", "--indicators", ind, "--out", filepath.Join(dir, "sur", "out"))
	run("import", "misp", "--state", filepath.Join(dir, "state", "sub", "state.json"), "--out", filepath.Join(dir, "bundle.json"), feed)

	check := func() int {
		t.Helper()
		checked := 0
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || path == dir {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if d.IsDir() {
				if fi.Mode().Perm()&0o022 != 0 {
					t.Errorf("%s: mode %04o: others may write it", path, fi.Mode().Perm())
				}
				checked++
				return nil
			}
			want := fs.FileMode(0o600)
			if d.Name() == "manifest.json" && filepath.Dir(path) == feed {
				want = 0o640 // set below, kept when the feed is written again
			}
			if strings.HasSuffix(d.Name(), ".tmp") {
				t.Errorf("%s: a temporary file is left", path)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: mode %04o, want %04o", path, got, want)
			}
			checked++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return checked
	}
	manifest := filepath.Join(feed, "manifest.json")
	if fi, err := os.Stat(manifest); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("manifest.json: %v %v, want mode 0600", fi.Mode().Perm(), err)
	}
	if err := os.Chmod(manifest, 0o640); err != nil {
		t.Fatal(err)
	}
	run("export", "--format", "misp-feed", "--indicators", ind, "--out", feed)
	if n := check(); n < 12 {
		t.Errorf("checked %d files and folders, fewer than were made", n)
	}
}

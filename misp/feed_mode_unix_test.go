//go:build unix

package misp

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// TestWriteFeedModes: WriteFeed makes each file 0600, whatever the umask
// (a feed may hold TLP:RED intel), keeps the mode of a file it replaces,
// and writes through a temporary file of its own: it wrote every file
// 0644, through "NAME.tmp", opened without O_EXCL, so that a link planted
// at that name (by anyone who may write the folder) had WriteFeed write
// through it into the link's target.
func TestWriteFeedModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	o, err := stix.Parse([]byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	f := FeedFromSTIX([]*stix.Object{o}, EventFor("bundle.json"))
	dir := t.TempDir()
	if err := WriteFeed(dir, f); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 3 {
		t.Fatalf("the feed has %d files (%v), want 3", len(ents), err)
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	manifest := filepath.Join(dir, "manifest.json")
	if err := os.Chmod(manifest, 0o640); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, manifest+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := WriteFeed(dir, f); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "kept" {
		t.Errorf("the link's target was written: %q %v", b, err)
	}
	if fi, err := os.Lstat(manifest); err != nil || fi.Mode().Perm() != 0o640 || !fi.Mode().IsRegular() {
		t.Errorf("manifest.json replaced: %v %v, want a file of mode 0640", fi.Mode(), err)
	}
	ents, _ = os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") && e.Name() != "manifest.json.tmp" {
			t.Errorf("a temporary file is left: %s", e.Name())
		}
	}
}

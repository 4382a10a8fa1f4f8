package witness

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenUnreadableStateReleasesLock: a saved record of a witnessed log
// that isn't a checkpoint fails Open, and leaves the state directory
// unlocked, so that the same process (a supervisor, a test) can open it
// again and get the same error rather than "in use".
func TestOpenUnreadableStateReleasesLock(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	dir := t.TempDir()
	j, _, _, err := openJournal(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.append("example.com/log", []byte("example.com/log\nnot a size\n\n— example.com/log AAAA\n")); err != nil {
		t.Fatal(err)
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err := Open(Config{Dir: dir, Cosigner: newCosigner(t, "witness.example/w1"), Logs: []string{l.vkey}})
		if err == nil || !strings.Contains(err.Error(), "couldn't read the state of log example.com/log") || errors.Is(err, errStateInUse) {
			t.Fatalf("open %d: %v, want the unreadable state named", i+1, err)
		}
	}
}

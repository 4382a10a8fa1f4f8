//go:build linux

package witness

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

// TestRestartOnFullDisk: a witness restarted while its disk is full
// starts and goes on cosigning. Open rewrote the journal (a temporary
// file as large as the journal, at least 256 KiB) on every start, so on a
// disk with less free space than that the witness refused to start
// ("no space left on device"), although appends go into the journal's
// preallocated zeros and need no new blocks. It needs a small real
// filesystem: a 1 MiB tmpfs, which only root may mount; otherwise it
// skips, saying so.
func TestRestartOnFullDisk(t *testing.T) {
	small := smallFS(t, "a restart on a full disk")
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 30)
	dir := filepath.Join(small, "w")
	w := openWitness(t, dir, "w", l)
	if _, err := w.AddCheckpoint(ctx, 0, nil, h.checkpointAt(t, 10)); err != nil {
		t.Fatal(err)
	}
	w.Close()

	// Fill the disk.
	fillFS(t, small)

	w, err := Open(Config{Dir: dir, Cosigner: newCosigner(t, "w"), Logs: []string{l.vkey}})
	if err != nil {
		t.Fatalf("restart on a full disk: %v", err)
	}
	for _, size := range []uint64{20, 30} {
		prev := size - 10
		if _, err := w.AddCheckpoint(ctx, prev, h.proof(t, prev, size), h.checkpointAt(t, size)); err != nil {
			t.Fatalf("cosign %d on a full disk: %v", size, err)
		}
	}
	w.Close()
	w = openWitness(t, dir, "w", l)
	if got := w.Checkpoint("example.com/log"); !bytes.Contains(got, []byte("\n30\n")) {
		t.Fatalf("after a restart the witness holds %q, want size 30", got)
	}
}

//go:build unix

package untrusted

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadFileFIFOBounded: a file that isn't regular (a FIFO, as the
// shell's <(command) gives) over the limit fails with ErrTooLarge naming
// it, as standard input does; it read as an empty file, so a document
// over the bound read as a changed one ("unexpected end of JSON input").
func TestReadFileFIFOBounded(t *testing.T) {
	name := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		_, err = w.Write(make([]byte, 8192))
		if errors.Is(err, syscall.EPIPE) {
			err = nil // the reader stopped at its limit
		}
		w.Close()
		done <- err
	}()
	b, err := ReadFile(name, 4096)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "fifo: larger than 4 KiB") {
		t.Errorf("ReadFile of a FIFO over the limit = %d bytes, %v; want ErrTooLarge naming the file", len(b), err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY opens a pseudo-terminal and returns its controlling side, from
// which a test reads what was written to the terminal, and the terminal
// itself, which the command under test writes to as its stderr.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlock the pseudo-terminal: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("number of the pseudo-terminal: %v", e)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ptmx, tty
}

// TestMatchImagesProgressOnTerminal: on a terminal, parley match --images
// shows its progress on one line that each image's warning or error line
// replaces, rather than being written after the counter on the same line
// ("parley: hashed 0/3parley: warning: ..."), and clears it at the end.
func TestMatchImagesProgressOnTerminal(t *testing.T) {
	dir := t.TempDir()
	imgs := filepath.Join(dir, "imgs")
	if err := os.Mkdir(imgs, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	td := filepath.Join("..", "..", "testdata", "pdq", "images")
	// In name order: a flat image (quality 0: a warning), a corrupt one
	// (an error), then two that are hashed and matched.
	copyFile(filepath.Join(td, "misc-images", "small.jpg"), filepath.Join(imgs, "a-small.jpg"))
	if err := os.WriteFile(filepath.Join(imgs, "b-bad.jpg"), []byte("this is not a JPEG"), 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(filepath.Join(td, "bridge-mods", "blur-a-little.jpg"), filepath.Join(imgs, "c-blur.jpg"))
	copyFile(filepath.Join(td, "bridge-mods", "shrink-a-little.jpg"), filepath.Join(imgs, "d-shrink.jpg"))
	ind := filepath.Join(dir, "ind.json")
	if err := os.WriteFile(ind, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000a1","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22","pattern_type":"pdq","x_pdq_quality":100,"valid_from":"2024-01-01T00:00:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}

	ptmx, tty := openPTY(t)
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() {
		io.Copy(&screen, ptmx) // ends with EIO once the terminal is closed
		close(read)
	}()
	var out bytes.Buffer
	c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: tty, getenv: func(string) string { return "" }}
	code := c.main(context.Background(), []string{"match", "--images", "--indicators", ind,
		"--as", "identity--11111111-1111-4111-8111-111111111111", imgs})
	tty.Close()
	<-read
	s := screen.String()
	if code != 3 {
		t.Fatalf("exit %d, want 3 (an unreadable image):\n%q", code, s)
	}
	for _, want := range []string{"a-small.jpg: PDQ quality 0 is below 50", "b-bad.jpg", "parley: hashed ", "4 images, 2 matched, 1 unreadable, 1 below quality 50"} {
		if !bytes.Contains(screen.Bytes(), []byte(want)) {
			t.Errorf("the terminal doesn't show %q:\n%q", want, s)
		}
	}
	// A line written while the counter is shown must first clear it.
	if m := regexp.MustCompile(`hashed \d+/\d+[^\r\n\x1b]*parley: `).FindString(s); m != "" {
		t.Errorf("a message is written after the progress counter, on its line: %q\nterminal: %q", m, s)
	}
	if m := regexp.MustCompile(`hashed \d+/\d+[^\r\n\x1b]*$`).FindString(s); m != "" {
		t.Errorf("the progress counter is left on the terminal: %q", m)
	}
}

package untrusted

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// endless is an input of any length, made as it is read: the bytes it
// gave are counted, none is held.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.read += int64(len(p))
	return len(p), nil
}

func TestReadAllBounded(t *testing.T) {
	src := &endless{}
	_, err := ReadAll(src, 1<<20)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("ReadAll of an endless input = %v, want ErrTooLarge naming 1 MiB", err)
	}
	if src.read > 1<<20+1 {
		t.Errorf("read %d bytes of the input, want at most the limit and one byte", src.read)
	}
	b, err := ReadAll(strings.NewReader(strings.Repeat("y", 1<<20)), 1<<20)
	if err != nil || len(b) != 1<<20 {
		t.Errorf("ReadAll of exactly the limit = %d bytes, %v", len(b), err)
	}
}

func TestReadFileBounded(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "big")
	if err := os.WriteFile(name, make([]byte, 4097), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(name, 4096); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "big: larger than 4 KiB") {
		t.Errorf("ReadFile over the limit = %v", err)
	}
	if b, err := ReadFile(name, 4097); err != nil || len(b) != 4097 {
		t.Errorf("ReadFile at the limit = %d bytes, %v", len(b), err)
	}
	if _, err := ReadFile(filepath.Join(dir, "none"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file = %v, want ErrNotExist", err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{256 << 20: "256 MiB", 64 << 10: "64 KiB", 1 << 30: "1 GiB", 1000: "1000 bytes", 1<<20 + 1: "1048577 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestReadFileAllocatesItsSize: ReadFile reads a regular file into one
// buffer of its size; io.ReadAll's growing buffer allocated about three
// times a large file (and held twice it at its peak).
func TestReadFileAllocatesItsSize(t *testing.T) {
	const size = 16 << 20
	name := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(name, bytes.Repeat([]byte("x"), size), 0o600); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b, err := ReadFile(name, size)
	runtime.ReadMemStats(&after)
	if err != nil || len(b) != size {
		t.Fatalf("ReadFile: %d bytes, %v", len(b), err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > size*5/4 {
		t.Errorf("reading %d MiB allocated %d MiB, want about the file", size>>20, got>>20)
	}
	if _, err := ReadFile(name, size-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
}

// TestReadFileDirectory: a directory fails with its read error; it read
// as an empty file (the read error of a file that isn't regular was
// dropped), so `parley verify DIR` said the bundle was changed.
func TestReadFileDirectory(t *testing.T) {
	dir := t.TempDir()
	if b, err := ReadFile(dir, 4096); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("ReadFile of a directory = %d bytes, %v; want its read error naming it", len(b), err)
	}
}

// TestFilesIn: the directory's name is never read as a pattern (a '[',
// '*' or '?' in it), only the names in it are matched, sorted; a
// malformed pattern is an error, a missing directory too.
func TestFilesIn(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"plain", "w[1]", "a*b", "q?"} {
		d := filepath.Join(root, dir)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"b.json", "a.json", "c.txt"} {
			if err := os.WriteFile(filepath.Join(d, name), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		got, err := FilesIn(d, "*.json")
		want := []string{filepath.Join(d, "a.json"), filepath.Join(d, "b.json")}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("FilesIn(%q, *.json) = %q, %v; want %q", dir, got, err, want)
		}
	}
	if _, err := FilesIn(filepath.Join(root, "plain"), "[.json"); err == nil {
		t.Error("a malformed pattern: no error")
	}
	if _, err := FilesIn(filepath.Join(root, "none"), "*.json"); err == nil {
		t.Error("a missing directory: no error")
	}
}

package match

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// prettyInput is a pretty-printed STIX bundle of n bytes, made as it is
// read: its head, then spaces. It ends, so that a reader without a bound
// finishes (and fails the test's checks) rather than filling the memory.
type prettyInput struct {
	head string
	n    int64
}

func (p *prettyInput) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n)]
	k := copy(b, p.head)
	p.head = p.head[k:]
	for i := k; i < len(b); i++ {
		b[i] = ' '
	}
	p.n -= int64(len(b))
	return len(b), nil
}

// TestReadLinesBoundsDocument: a STIX document spread over lines, which
// ReadLines reads whole, fails naming the bound once it passes
// DefaultMaxDocument, and no more of it is read. It was read up to 1 GiB
// and, past that, cut and counted as one malformed line, with no error.
func TestReadLinesBoundsDocument(t *testing.T) {
	m := testMatcher(t, NewIndicatorSet())
	const size = DefaultMaxDocument + 8<<20
	in := &prettyInput{head: "{\n  \"type\": \"bundle\",\n  \"id\": \"bundle--6f9d2b9e-3a55-4a11-9a2e-6c0d3f4b5a61\",\n  \"objects\": [\n", n: size}
	err := m.ReadLines(context.Background(), in)
	if !errors.Is(err, untrusted.ErrTooLarge) || !strings.Contains(err.Error(), "larger than 256 MiB") {
		t.Fatalf("ReadLines of a %d MiB document = %v, want an error naming the 256 MiB bound", size>>20, err)
	}
	if read := size - in.n; read > DefaultMaxDocument+readBuf+1 {
		t.Errorf("read %d bytes, want at most the bound and a buffer (%d)", read, DefaultMaxDocument+readBuf+1)
	}
}

// TestFollowBoundsLines: a followed file's line longer than maxLine is
// dropped as it is read (long is called for it, fn never sees it), so a
// 64 MiB line allocates a few MiB, not the line: Follow held any line
// whole until its newline came.
func TestFollowBoundsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("a\n")
	chunk := bytes.Repeat([]byte{'x'}, 1<<20)
	for range 64 {
		f.Write(chunk)
	}
	f.WriteString("\nb\n")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	longs := 0
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = Follow(ctx, path, time.Millisecond, 0, func(l []byte) {
		if got = append(got, string(l)); string(l) == "b\n" {
			cancel()
		}
	}, func() { longs++ }, nil)
	runtime.ReadMemStats(&after)
	if err != nil || strings.Join(got, "") != "a\nb\n" || longs != 1 {
		t.Fatalf("Follow = %v, %d lines (%.40q), %d long; want a and b, one long line", err, len(got), got, longs)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("following a 64 MiB line allocated %d MiB, want at most 16 MiB", grew>>20)
	}
}

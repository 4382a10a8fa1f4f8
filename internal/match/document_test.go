package match

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

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

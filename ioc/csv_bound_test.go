package ioc

import (
	"io"
	"strings"
	"testing"
)

// openQuote is CSV input of n bytes made as it is read: a good row, then
// a field whose quote never closes, so that the rest of the input would
// be one field. None of it is held; it ends, so that a reader without a
// bound finishes (and fails the test's checks) instead of filling the
// memory.
type openQuote struct {
	head  string
	n     int64
	lines bool // a newline every 80 bytes
}

func (o *openQuote) Read(p []byte) (int, error) {
	if o.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), o.n)]
	k := copy(p, o.head)
	o.head = o.head[k:]
	for i := k; i < len(p); i++ {
		p[i] = 'a'
		if o.lines && i%80 == 79 {
			p[i] = '\n'
		}
	}
	o.n -= int64(len(p))
	return len(p), nil
}

// TestReadCSVBoundsRows: a row over MaxCSVRow (an unclosed quote with 64
// MiB after it in lines of 80 bytes, or a line of 64 MiB) fails naming
// the bound, after reading little more than the bound; encoding/csv held
// the whole rest of the input as one field.
func TestReadCSVBoundsRows(t *testing.T) {
	const size = 64 << 20
	for _, c := range []struct {
		head  string
		lines bool
	}{
		{"198.51.100.7\n\"", true},
		{"\"", true},
		{"# a comment\n198.51.100.7\n", false},
		{"# a comment\n#", false},
	} {
		head := c.head
		in := &openQuote{head: head, n: size, lines: c.lines}
		rows := 0
		err := ReadCSV(in, []string{"value"}, func(Row) error { rows++; return nil })
		if err == nil || !strings.Contains(err.Error(), "longer than 1 MiB") {
			t.Errorf("%q then %d MiB: %v, want an error naming the 1 MiB bound", head, size>>20, err)
		}
		if read := size - in.n; read > MaxCSVRow+64<<10 {
			t.Errorf("%q: read %d bytes, want about the bound", head, read)
		}
	}
}

package witness

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// paddedSource is a history whose checkpoint is padded with extension
// lines to a note of exactly size bytes, signed by the log.
type paddedSource struct {
	*history
	note []byte
}

func (s *paddedSource) Checkpoint(context.Context) ([]byte, error) { return s.note, nil }

// padNote signs h's checkpoint with extension lines making the signed
// note exactly size bytes long.
func padNote(t *testing.T, h *history, size int) []byte {
	t.Helper()
	cp := tlog.Checkpoint{Origin: h.log.signer.Name(), Size: h.size(), Hash: h.b.Root()}
	base, err := tlog.SignCheckpoint(cp, h.log.signer)
	if err != nil {
		t.Fatal(err)
	}
	// One extension line of n bytes adds n+1; lines of at most 64 KiB.
	pad := size - len(base)
	for pad > 0 {
		n := min(pad-1, 64<<10)
		if pad-1-n == 1 { // leave no remainder of 1 byte (an empty line)
			n--
		}
		cp.Extensions = append(cp.Extensions, strings.Repeat("x", max(n, 1)))
		pad -= max(n, 1) + 1
	}
	b, err := tlog.SignCheckpoint(cp, h.log.signer)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != size {
		t.Fatalf("padded note of %d bytes, want %d", len(b), size)
	}
	return b
}

// TestPullNoteAtTheLimit: a pulled checkpoint note as long as the
// witness takes (1 MiB less its cosignature line) is cosigned, journaled
// and read back after a restart, and its cosigned form is a note every
// reader takes; a byte more is refused before anything is written, where
// it used to be cosigned and then fail to fit the journal's record.
func TestPullNoteAtTheLimit(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 5)
	dir := t.TempDir()
	w := openWitness(t, dir, "w", l)
	limit := w.MaxNote()
	if limit >= tlog.MaxCheckpointNote || limit < tlog.MaxCheckpointNote-200 {
		t.Fatalf("MaxNote %d, want just under %d", limit, tlog.MaxCheckpointNote)
	}

	over := &paddedSource{history: h, note: padNote(t, h, limit+1)}
	if _, err := w.PullOnce(ctx, l.vkey, over); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a note of %d bytes, one over the limit: %v, want ErrMalformed", limit+1, err)
	}
	if got := w.Checkpoint(l.signer.Name()); got != nil {
		t.Fatalf("the witness holds a checkpoint after refusing the only one")
	}

	at := &paddedSource{history: h, note: padNote(t, h, limit)}
	if size, err := w.PullOnce(ctx, l.vkey, at); err != nil || size != 5 {
		t.Fatalf("a note of %d bytes, at the limit: %d, %v", limit, size, err)
	}
	full := w.Checkpoint(l.signer.Name())
	if len(full) != tlog.MaxCheckpointNote {
		t.Errorf("the cosigned note is %d bytes, want exactly %d (the line length is miscounted)", len(full), tlog.MaxCheckpointNote)
	}
	if _, err := tlog.OpenCheckpoint(full, mustVerifier(t, l.vkey)); err != nil {
		t.Errorf("the cosigned note at the limit isn't a note readers take: %v", err)
	}
	w.Close()
	w2 := openWitness(t, dir, "w", l)
	if got := w2.Checkpoint(l.signer.Name()); !bytes.Equal(got, full) {
		t.Fatalf("after a restart the witness holds %d bytes, want the %d-byte note it cosigned", len(got), len(full))
	}
}

func mustVerifier(t *testing.T, vkey string) interface {
	Name() string
	KeyHash() uint32
	Verify(msg, sig []byte) bool
} {
	t.Helper()
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

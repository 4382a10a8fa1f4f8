package witness

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// noteSource serves one signed note as the log's checkpoint, and no tiles.
type noteSource struct{ note []byte }

func (s noteSource) Checkpoint(context.Context) ([]byte, error) { return s.note, nil }
func (s noteSource) ReadTile(context.Context, tlog.Tile) ([]byte, error) {
	return nil, errors.New("no tiles")
}

// TestHostileOriginClippedInErrors: a checkpoint's origin is whatever its
// signer wrote, up to a note's 1 MiB. A pulled log that signs a checkpoint
// of another origin with its key (or anyone, with an unknown origin to
// add-checkpoint) made an error quoting the whole origin: a pulling
// witness logged up to 1 MiB a poll, another each poll as the origin
// changed. The errors quote at most 200 bytes of it, control characters
// replaced.
func TestHostileOriginClippedInErrors(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	w := openWitness(t, t.TempDir(), "w", l)
	origin := "example.com/log" + strings.Repeat("\u202eX", 200<<10)
	signed, err := note.Sign(&note.Note{Text: origin + "\n5\n" + tlog.EmptyRoot().String() + "\n"}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.PullOnce(ctx, l.vkey, noteSource{signed})
	if err == nil || len(err.Error()) > 1000 || strings.Contains(err.Error(), "\u202e") {
		t.Fatalf("PullOnce: an error of %d bytes (want under 1000, no bidi controls): %.300q", len(err.Error()), err)
	}
	_, err = w.AddCheckpoint(ctx, 0, nil, signed)
	if err == nil || len(err.Error()) > 1000 || strings.Contains(err.Error(), "\u202e") {
		t.Fatalf("AddCheckpoint: an error of %d bytes (want under 1000, no bidi controls): %.300q", len(err.Error()), err)
	}
}

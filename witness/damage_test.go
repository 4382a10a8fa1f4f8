package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestJournalDamageRefuses: a journal changed after it was written (a
// bit flipped in a record, a length overwritten) is not a torn tail. The
// witness used to read it up to the damage and forget every log after
// it, then compact the file over what was left: it would have cosigned
// any checkpoint of those logs, forks included. It now refuses to open,
// says why, and leaves the file as it was: in a version 2 journal, any
// change to a batch before the last, and a last batch written whole
// that doesn't verify; in a version 1 journal, as before.
func TestJournalDamageRefuses(t *testing.T) {
	ctx := context.Background()
	la, lb := newTestLog(t, "a.example/log"), newTestLog(t, "b.example/log")
	ha, hb := la.newHistory(t, "a", 0, 3), lb.newHistory(t, "b", 0, 5)
	dir := t.TempDir()
	w := openWitness(t, dir, "w", la, lb)
	for _, c := range []struct {
		h    *history
		size uint64
	}{{ha, 3}, {hb, 5}} {
		if _, err := w.AddCheckpoint(ctx, 0, nil, c.h.checkpointAt(t, c.size)); err != nil {
			t.Fatal(err)
		}
	}
	recA, recB := w.Checkpoint("a.example/log"), w.Checkpoint("b.example/log")
	w.Close()
	file, err := os.ReadFile(filepath.Join(dir, "state", journalFile))
	if err != nil {
		t.Fatal(err)
	}
	// The snapshot (no records), the time reservation of a's
	// cosignature, then a batch of a's checkpoint, then one of b's (and
	// before it another reservation if the clock passed the first).
	spans := batchSpans(t, file)
	if len(spans) < 4 {
		t.Fatalf("%d batches", len(spans))
	}
	snap, earlier, last := spans[0], spans[2], spans[len(spans)-1]
	if h, _ := parseBatchHeader(file[earlier.start:]); recordOrigin(file[earlier.start+batchHeader+frameHeader:earlier.end]) != "a.example/log" || h.count != 1 {
		t.Fatalf("batch 2 isn't a's checkpoint: %q", file[earlier.start:earlier.end])
	}
	v1 := v1Journal(journalZeros, recA, recB)
	v1First := frameHeader + len(recA)
	for _, c := range []struct {
		name   string
		file   []byte
		change func(b []byte)
	}{
		{"v2: the magic", file, func(b []byte) { b[3] ^= 1 }},
		{"v2: the snapshot's header", file, snap.flip(5)},
		{"v2: a bit of an earlier batch's record", file, earlier.flip(batchHeader + frameHeader + 3)},
		{"v2: an earlier batch's length", file, earlier.flip(17)},
		{"v2: an earlier batch's records checksum", file, earlier.flip(21)},
		{"v2: an earlier batch zeroed", file, func(b []byte) { clear(b[earlier.start:earlier.end]) }},
		{"v2: a sector of an earlier batch zeroed", file, func(b []byte) { clear(b[earlier.start+batchHeader : earlier.start+batchHeader+10]) }},
		{"v2: a bit of the last batch, written whole", file, last.flip(last.end - last.start - 5)},
		{"v2: the last batch's header checksum", file, last.flip(25)},
		{"v2: bytes after the last batch's end", file, func(b []byte) { b[last.end+3] = 'x' }},
		{"v2: the last batch out of sequence", file, func(b []byte) { putBatchHeader(b[last.start:last.end], 7, 1) }},
		{"v2: the last batch out of sequence, its records torn", file, func(b []byte) {
			putBatchHeader(b[last.start:last.end], 7, 1)
			clear(b[last.start+batchHeader : last.end])
		}},
		// A version 2 journal starts with a byte that isn't zero: one whose
		// first sector was lost reads as version 1, which used to find no
		// record at its start and take the rest for a torn first append
		// (the file of a witness of one or two logs has all its records
		// in that sector): it opened with no state and cosigned forks.
		{"v2: the first sector zeroed", file, func(b []byte) { clear(b[:sectorSize]) }},
		{"v2: the first sector zeroed, one log", v2Journal(journalZeros+4096-len(journalMagic)-2*batchHeader-frameHeader-len(recA), nil, [][]byte{recA}), func(b []byte) { clear(b[:sectorSize]) }},
		{"v2: all zeros", file, func(b []byte) { clear(b) }},
		// A record that verifies but isn't a reservation the witness
		// wrote: starting without it could cosign at times before ones
		// it handed out.
		{"v2: a time reservation that doesn't read", v2Journal(journalZeros, [][]byte{recA, recB, []byte(reservationOrigin + "\nsoon\n")}), func([]byte) {}},
		{"v1: a bit of the first record", v1, func(b []byte) { b[frameHeader+3] ^= 1 }},
		{"v1: a bit of the last record", v1, func(b []byte) { b[v1First+frameHeader+len(recB)-5] ^= 1 }},
		{"v1: the first record's length", v1, func(b []byte) { b[0] = 0x7f }},
		{"v1: the first record's CRC", v1, func(b []byte) { b[5] ^= 0x10 }},
		{"v1: the last record's checksum", v1, func(b []byte) { b[v1First+6] ^= 0x10 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			os.MkdirAll(filepath.Join(d, "state"), 0o700)
			b := bytes.Clone(c.file)
			c.change(b)
			p := filepath.Join(d, "state", journalFile)
			os.WriteFile(p, b, 0o600)
			w, err := Open(Config{Dir: d, Cosigner: newCosigner(t, "w"), Logs: []string{la.vkey, lb.vkey}})
			if err == nil {
				w.Close()
				t.Fatalf("opened a damaged journal: a.example/log %q, b.example/log %q", w.Checkpoint("a.example/log"), w.Checkpoint("b.example/log"))
			}
			if !errors.Is(err, ErrStateDamaged) {
				t.Fatalf("err = %v", err)
			}
			after, _ := os.ReadFile(p)
			if !bytes.Equal(after, b) {
				t.Fatal("the damaged journal was rewritten")
			}
		})
	}
}

// span is where a batch of a version 2 journal lies in the file.
type span struct{ start, end int }

// flip returns a change that flips a bit of the i-th byte of the batch.
func (s span) flip(i int) func(b []byte) {
	return func(b []byte) { b[s.start+i] ^= 0x10 }
}

// batchSpans returns the batches of a version 2 journal, which must read
// whole and clean.
func batchSpans(t testing.TB, b []byte) []span {
	t.Helper()
	if c := readJournal(b); c.v1 || !c.clean || c.torn != "" || c.damage != "" {
		t.Fatalf("not a clean version 2 journal: %+v", c)
	}
	var spans []span
	for off := len(journalMagic); !allZero(b[off:]); {
		h, ok := parseBatchHeader(b[off:])
		if !ok {
			t.Fatalf("no batch header at %d", off)
		}
		spans = append(spans, span{off, off + batchHeader + int(h.length)})
		off += batchHeader + int(h.length)
	}
	return spans
}

// TestOpenRemovesTempFiles: kill -9 during a compaction or an evidence
// write leaves a temporary file as large as what it was writing; under a
// kill/restart loop they piled up in DIR/state (3 of 85 restarts left a
// 260 KiB file each). Open removes them, whatever the data directory is
// called: with filepath.Glob, one with '[' in its path was a bad pattern,
// and they piled up again.
func TestOpenRemovesTempFiles(t *testing.T) {
	for _, name := range []string{"w", "w[", "w[1]"} {
		t.Run(name, func(t *testing.T) { testOpenRemovesTempFiles(t, filepath.Join(t.TempDir(), name)) })
	}
}

func testOpenRemovesTempFiles(t *testing.T, dir string) {
	l := newTestLog(t, "example.com/log")
	w := openWitness(t, dir, "w", l)
	w.Close()
	var left []string
	for _, sub := range []string{"state", "evidence"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o700)
		p := filepath.Join(dir, sub, ".tmp-1234567")
		if err := os.WriteFile(p, make([]byte, 4096), 0o600); err != nil {
			t.Fatal(err)
		}
		left = append(left, p)
	}
	w = openWitness(t, dir, "w", l)
	for _, p := range left {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state", journalFile)); err != nil {
		t.Fatal(err)
	}
}

// TestSameForkLoggedOnce: a forked node retries its checkpoint (a Parley
// node every 10 s; in a run against a restored node the witness logged
// the same evidence file 71 times in 12 minutes), and a hostile one can
// send it at any rate: each went to the operator's log as a new split
// view. The same fork is logged once per run, and each new one still is.
func TestSameForkLoggedOnce(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	var logged bytes.Buffer
	w, err := Open(Config{Dir: t.TempDir(), Cosigner: newCosigner(t, "witness.example/w1"), Logs: []string{l.vkey},
		Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	root := func(i int) tlog.Hash { return tlog.LeafHash([]byte(fmt.Sprint(i))) }
	cp, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "example.com/log", Size: 5, Hash: root(0)}, l.signer)
	if code, _, body := post(t, srv.URL, MarshalAddCheckpoint(0, nil, cp)); code != 200 {
		t.Fatalf("first checkpoint: %d %s", code, body)
	}
	for _, i := range []int{1, 1, 1, 1, 2, 2, 1} {
		fork, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "example.com/log", Size: 5, Hash: root(i)}, l.signer)
		if code, _, body := post(t, srv.URL, MarshalAddCheckpoint(5, nil, fork)); code != 422 {
			t.Fatalf("fork %d: %d %s, want 422", i, code, body)
		}
	}
	if ev, _ := w.Evidence(); len(ev) != 2 {
		t.Fatalf("%d evidence files, want 2", len(ev))
	}
	if n := strings.Count(logged.String(), "split view: the log signed"); n != 2 {
		t.Fatalf("logged %d split views, want 2 (one per fork):\n%s", n, logged.String())
	}
}

// v1Journal is a version 1 journal holding recs: their records from the
// first byte, then zeros bytes of zeros.
func v1Journal(zeros int, recs ...[]byte) []byte {
	var b []byte
	for _, rec := range recs {
		b = frame(b, rec)
	}
	return append(b, make([]byte, zeros)...)
}

// TestJournalNewerVersionRefuses: a journal whose first line is the magic
// of a later version (what a newer parley would write) is refused as a
// newer version's, saying to run that version, not as damage, whose
// refusal says to restore the state directory from a backup: restoring
// the state from before the upgrade would forget the checkpoints the newer
// version cosigned, and the witness could then cosign a fork. The file is
// left as it was. A first line that names no later version is damage as
// before.
func TestJournalNewerVersionRefuses(t *testing.T) {
	ctx := context.Background()
	la := newTestLog(t, "a.example/log")
	dir := t.TempDir()
	w := openWitness(t, dir, "w", la)
	if _, err := w.AddCheckpoint(ctx, 0, nil, la.newHistory(t, "a", 0, 3).checkpointAt(t, 3)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	file, err := os.ReadFile(filepath.Join(dir, "state", journalFile))
	if err != nil {
		t.Fatal(err)
	}
	body := file[len(journalMagic):]
	for _, c := range []struct {
		first   string
		version string // "" when damage
	}{
		{"parley witness journal v3\n", "3"},
		{"parley witness journal v10\n", "10"},
		{"parley witness journal v0\n", ""},
		{"parley witness journal v02\n", ""},
		{"parley witness journal v2x\n", ""},
		{"parley witness journal v\n", ""},
		{"parley witness journal v-3\n", ""},
	} {
		t.Run(c.first, func(t *testing.T) {
			d := t.TempDir()
			os.MkdirAll(filepath.Join(d, "state"), 0o700)
			b := append([]byte(c.first), body...)
			p := filepath.Join(d, "state", journalFile)
			os.WriteFile(p, b, 0o600)
			w, err := Open(Config{Dir: d, Cosigner: newCosigner(t, "w"), Logs: []string{la.vkey}})
			if err == nil {
				w.Close()
				t.Fatalf("opened: a.example/log %q", w.Checkpoint("a.example/log"))
			}
			if c.version == "" {
				if !errors.Is(err, ErrStateDamaged) || errors.Is(err, ErrStateNewer) {
					t.Fatalf("err = %v, want damage", err)
				}
			} else if !errors.Is(err, ErrStateNewer) || errors.Is(err, ErrStateDamaged) || !strings.Contains(err.Error(), "version "+c.version+" witness journal") {
				t.Fatalf("err = %v, want a newer version's journal (version %s)", err, c.version)
			}
			after, _ := os.ReadFile(p)
			if !bytes.Equal(after, b) {
				t.Fatal("the journal was rewritten")
			}
		})
	}
}

// TestJournalV1FromOlderParley: the journal an older parley (2c5703d, the
// last before journal version 2) wrote, as it wrote it (testdata/journal-v1),
// opens with every log's latest checkpoint, the last record of each log,
// and is rewritten as version 2 holding the same; opened again, it holds
// them still.
func TestJournalV1FromOlderParley(t *testing.T) {
	trimmed, err := os.ReadFile(filepath.Join("testdata", "journal-v1", "journal.trimmed"))
	if err != nil {
		t.Fatal(err)
	}
	const fileSize = 262144 // the older parley's preallocated journal
	file := append(bytes.Clone(trimmed), make([]byte, fileSize-len(trimmed))...)
	logs := []string{
		"parley.vm/737ae120+ead5e62c+ASNFWBjkzHReofM09TrCJYwB+UXCzJ2WeZcDZ4qiOw0D",
		"parley.vm/bc04e6f4+5e624e5d+ASYXAZnaQjeTd386p0pdvLUIfQ+WTqULwQjvB8HRM0ZY",
	}
	want := map[string]string{"parley.vm/737ae120": "\n29\n", "parley.vm/bc04e6f4": "\n28\n"}
	d := t.TempDir()
	os.MkdirAll(filepath.Join(d, "state"), 0o700)
	p := filepath.Join(d, "state", journalFile)
	if err := os.WriteFile(p, file, 0o600); err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		w, err := Open(Config{Dir: d, Cosigner: newCosigner(t, "w.test/w1"), Logs: logs})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		for origin, size := range want {
			cp := w.Checkpoint(origin)
			if !bytes.HasPrefix(cp, []byte(origin+size)) || !bytes.Contains(trimmed, cp) {
				t.Errorf("run %d: %s: checkpoint %q, want the older parley's record of size %s", run, origin, cp, strings.TrimSpace(size))
			}
		}
		w.Close()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte(journalMagic)) {
			t.Fatalf("run %d: the journal wasn't rewritten as version 2: starts %q", run, b[:16])
		}
		if c := readJournal(b); c.v1 || c.damage != "" || len(c.latest) != 2 {
			t.Fatalf("run %d: rewritten journal reads as %+v", run, c)
		}
	}
}

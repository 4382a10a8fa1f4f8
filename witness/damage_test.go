package witness

import (
	"bytes"
	"context"
	"encoding/binary"
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
// says why, and leaves the file as it was.
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
	w.Close()
	path := filepath.Join(dir, "state", journalFile)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, records, end := readJournal(file)
	if records != 2 {
		t.Fatalf("%d records", records)
	}
	first := frameHeader + int(binary.BigEndian.Uint32(file))
	for name, change := range map[string]func(b []byte){
		"a bit of the first record":  func(b []byte) { b[frameHeader+3] ^= 1 },
		"a bit of the last record":   func(b []byte) { b[end-5] ^= 1 },
		"the first record's length":  func(b []byte) { b[0] = 0x7f },
		"the first record's CRC":     func(b []byte) { b[5] ^= 0x10 },
		"the last record's checksum": func(b []byte) { b[first+6] ^= 0x10 },
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			os.MkdirAll(filepath.Join(d, "state"), 0o700)
			b := bytes.Clone(file)
			change(b)
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

// TestOpenRemovesTempFiles: kill -9 during a compaction or an evidence
// write leaves a temporary file as large as what it was writing; under a
// kill/restart loop they piled up in DIR/state (3 of 85 restarts left a
// 260 KiB file each). Open removes them.
func TestOpenRemovesTempFiles(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	dir := t.TempDir()
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
		if code, _, body := post(t, srv.URL, MarshalAddCheckpoint(5, nil, fork)); code != 409 {
			t.Fatalf("fork %d: %d %s, want 409", i, code, body)
		}
	}
	if ev, _ := w.Evidence(); len(ev) != 2 {
		t.Fatalf("%d evidence files, want 2", len(ev))
	}
	if n := strings.Count(logged.String(), "split view: the log signed"); n != 2 {
		t.Fatalf("logged %d split views, want 2 (one per fork):\n%s", n, logged.String())
	}
}

package witness

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tornJournal writes a version 2 journal of three batches after its
// snapshot: o0's first record, o1's, then o0's second with o2's first
// (one batch of two records, several sectors long). It returns the file,
// its batches and the state before the last batch.
func tornJournal(t *testing.T) (file []byte, spans []span, before map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	j, _, _, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(o string, i int) []byte {
		return fmt.Appendf(nil, "%s\n%d\n%s\n", o, i, bytes.Repeat([]byte("x"), 1500))
	}
	for _, o := range []string{"o0", "o1"} {
		if err := j.append(o, rec(o, 1)); err != nil {
			t.Fatal(err)
		}
	}
	before = maps.Clone(j.latest)
	b, err := j.enqueue("o0", rec("o0", 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.enqueue("o2", rec("o2", 1)); err != nil {
		t.Fatal(err)
	}
	if err := j.wait(b); err != nil {
		t.Fatal(err)
	}
	j.close()
	file, err = os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	spans = batchSpans(t, file)
	if len(spans) != 4 || spans[3].end-spans[3].start < 3*sectorSize {
		t.Fatalf("batches %v", spans)
	}
	return file, spans, before
}

// sectors returns the file's sector boundaries strictly inside s.
func (s span) sectors() []int {
	var k []int
	for b := s.start - s.start%sectorSize + sectorSize; b < s.end; b += sectorSize {
		k = append(k, b)
	}
	return k
}

// tears returns the ways a power loss can tear batch s, as the ranges of
// its bytes that never reached the disk (and read as zeros).
func (s span) tears() map[string][2]int {
	k := s.sectors()
	m := map[string][2]int{
		"header written but not records": {s.start + batchHeader, s.end},
		"header not written":             {s.start, s.start + batchHeader},
		"later sectors only":             {s.start, k[0]},
		"last sector not written":        {k[len(k)-1], s.end},
	}
	for i, b := range k {
		m[fmt.Sprintf("prefix to sector %d", i)] = [2]int{b, s.end}
	}
	for i := 0; i+1 < len(k); i++ {
		m[fmt.Sprintf("zeros in the middle, sector %d", i)] = [2]int{k[i], k[i+1]}
	}
	return m
}

// TestJournalTornLastBatch: a power loss during the write of the last
// batch can leave any of its sectors on disk and not the others. Each way
// is a torn tail: the journal opens with the state of the batches before
// it, says what it dropped, and rewrites the file clean. Version 1 refused
// some of these (a record that reads whole after one that doesn't) as
// damage, which the witness couldn't tell from a power loss.
func TestJournalTornLastBatch(t *testing.T) {
	file, spans, before := tornJournal(t)
	last := spans[3]
	for name, zero := range last.tears() {
		t.Run(name, func(t *testing.T) {
			b := bytes.Clone(file)
			clear(b[zero[0]:zero[1]])
			dir := t.TempDir()
			p := filepath.Join(dir, journalFile)
			os.WriteFile(p, b, 0o600)
			j, latest, torn, err := openJournal(dir)
			if err != nil {
				t.Fatalf("a torn last batch refused: %v", err)
			}
			defer j.close()
			if !strings.Contains(torn, "torn") || !maps.EqualFunc(latest, before, bytes.Equal) {
				t.Fatalf("torn %q, %d origins, want the %d before the last batch", torn, len(latest), len(before))
			}
			after, _ := os.ReadFile(p)
			if c := readJournal(after); c.v1 || !c.clean || c.torn != "" || c.damage != "" || !maps.EqualFunc(c.latest, before, bytes.Equal) {
				t.Fatalf("not rewritten clean: %+v", c)
			}
			// And it goes on from there.
			if err := j.append("o2", []byte("o2\nnew\n")); err != nil {
				t.Fatal(err)
			}
		})
	}
	// A torn batch before the last is damage: it was complete on disk
	// before the last was written.
	earlier := spans[2]
	for name, zero := range map[string][2]int{
		"earlier batch: header written but not records": {earlier.start + batchHeader, earlier.end},
		"earlier batch: later sectors only":             {earlier.start, earlier.sectors()[0]},
		"earlier batch: prefix only":                    {earlier.sectors()[0], earlier.end},
	} {
		t.Run(name, func(t *testing.T) {
			b := bytes.Clone(file)
			clear(b[zero[0]:zero[1]])
			dir := t.TempDir()
			p := filepath.Join(dir, journalFile)
			os.WriteFile(p, b, 0o600)
			if j, _, _, err := openJournal(dir); err == nil {
				j.close()
				t.Fatal("opened a journal whose batch before the last is torn")
			}
			if after, _ := os.ReadFile(p); !bytes.Equal(after, b) {
				t.Fatal("the damaged journal was rewritten")
			}
		})
	}
}

// TestWitnessTornLastBatch: the witness opens a journal whose last batch
// is torn with the checkpoint before it, logs one line, and cosigns the
// log's next checkpoint from there.
func TestWitnessTornLastBatch(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 9)
	dir := t.TempDir()
	w := openWitness(t, dir, "w", l)
	if _, err := w.AddCheckpoint(ctx, 0, nil, h.checkpointAt(t, 3)); err != nil {
		t.Fatal(err)
	}
	at3 := w.Checkpoint("example.com/log")
	if _, err := w.AddCheckpoint(ctx, 3, h.proof(t, 3, 6), h.checkpointAt(t, 6)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := filepath.Join(dir, "state", journalFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	spans := batchSpans(t, b)
	last := spans[len(spans)-1]
	clear(b[last.start : last.start+batchHeader]) // the header's sector never written
	os.WriteFile(p, b, 0o600)
	var logged bytes.Buffer
	w, err = Open(Config{Dir: dir, Cosigner: newCosigner(t, "w"), Logs: []string{l.vkey},
		Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := w.Checkpoint("example.com/log"); !bytes.Equal(got, at3) {
		t.Fatalf("state %q, want the checkpoint of size 3", got)
	}
	if lines := strings.Split(strings.TrimSpace(logged.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "torn") || !strings.Contains(lines[0], p) {
		t.Fatalf("logged %q, want one line about the torn batch", logged.String())
	}
	if _, err := w.AddCheckpoint(ctx, 3, h.proof(t, 3, 9), h.checkpointAt(t, 9)); err != nil {
		t.Fatal(err)
	}
}

// TestJournalV1Migrated: a version 1 journal (records then zeros, or
// records to the end of the file) is read, each origin's last record
// kept, and rewritten as version 2 at the first open.
func TestJournalV1Migrated(t *testing.T) {
	recs := [][]byte{[]byte("a\n1\n"), []byte("b\n1\n"), []byte("a\n2\n")}
	for _, zeros := range []int{0, journalZeros} {
		t.Run(fmt.Sprint(zeros, " zeros"), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, journalFile)
			os.WriteFile(p, v1Journal(zeros, recs...), 0o600)
			j, latest, torn, err := openJournal(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{"a": recs[2], "b": recs[1]}
			if torn != "" || !maps.EqualFunc(latest, want, bytes.Equal) {
				t.Fatalf("read %q (torn %q)", latest, torn)
			}
			if err := j.append("c", []byte("c\n1\n")); err != nil {
				t.Fatal(err)
			}
			j.close()
			b, _ := os.ReadFile(p)
			want["c"] = []byte("c\n1\n")
			if c := readJournal(b); !bytes.HasPrefix(b, []byte(journalMagic)) || c.v1 || !c.clean || !maps.EqualFunc(c.latest, want, bytes.Equal) {
				t.Fatalf("after the first open: %+v", c)
			}
		})
	}
}

// v2Journal is a version 2 journal of batches (the first is the
// snapshot), then zeros bytes of zeros.
func v2Journal(zeros int, batches ...[][]byte) []byte {
	b := []byte(journalMagic)
	for i, recs := range batches {
		buf := make([]byte, batchHeader)
		for _, rec := range recs {
			buf = frame(buf, rec)
		}
		putBatchHeader(buf, uint64(i), len(recs))
		b = append(b, buf...)
	}
	return append(b, make([]byte, zeros)...)
}

// FuzzReadJournal: whatever the bytes, readJournal keeps only records of
// batches (or, version 1, frames) that verify, ends them where the kept
// bytes end, and the kept bytes, encoded again from what it read, are the
// same bytes and read the same; nothing is both torn and damaged; a time
// reservation that reads encodes back to the same bytes.
func FuzzReadJournal(f *testing.F) {
	f.Add(v1Journal(0, []byte("a\n1\n"), []byte("b\n2\n")))
	f.Add(v1Journal(64, []byte("a\n1\n")))
	f.Add(append(frame(nil, []byte("a\n1\n")), 0, 0, 0, 9, 1, 2, 3, 4, 'x'))
	f.Add([]byte{})
	f.Add(v2Journal(600, nil, [][]byte{[]byte("a\n1\n")}, [][]byte{[]byte("b\n1\n"), []byte("a\n2\n")}))
	torn := v2Journal(600, [][]byte{[]byte("a\n1\n")}, [][]byte{[]byte("b\n1\n")})
	clear(torn[len(torn)-600-10 : len(torn)-600])
	f.Add(torn)
	f.Add(v2Journal(600, [][]byte{reservationRecord(1_800_000_060), []byte("a\n1\n")}, [][]byte{reservationRecord(1_800_000_120)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := readJournal(b)
		if c.end < 0 || c.end > len(b) || c.records < len(c.latest) || (c.torn != "" && c.damage != "") || (c.torn != "" && (c.v1 || c.clean)) {
			t.Fatalf("%+v of %d bytes", c, len(b))
		}
		if c.clean && c.damage == "" && !allZero(b[c.end:]) {
			t.Fatal("clean, but not zeros after the end")
		}
		for o, rec := range c.latest {
			if recordOrigin(rec) != o || len(rec) == 0 || len(rec) > maxRecord {
				t.Fatalf("origin %q: record %.40q", o, rec)
			}
		}
		// A time reservation that reads encodes back to its bytes.
		if rec, ok := c.latest[reservationOrigin]; ok {
			if r, err := parseReservation(rec); err == nil && !bytes.Equal(reservationRecord(r), rec) {
				t.Fatalf("reservation %q reads as %d", rec, r)
			}
		}
		if c.damage != "" || c.newer != "" {
			return
		}
		// Encode what was read again.
		var again []byte
		if c.v1 {
			for off := 0; off < c.end; {
				n := int(binary.BigEndian.Uint32(b[off:]))
				again = frame(again, b[off+frameHeader:off+frameHeader+n])
				off += frameHeader + n
			}
		} else {
			var batches [][][]byte
			for off := len(journalMagic); off < c.end; {
				h, ok := parseBatchHeader(b[off:])
				recs, ok2 := batchRecords(b[off:], h)
				if !ok || !ok2 {
					t.Fatalf("kept a batch that doesn't verify at %d", off)
				}
				batches = append(batches, recs)
				off += batchHeader + int(h.length)
			}
			if uint64(len(batches)) != c.seq {
				t.Fatalf("%d batches, next sequence number %d", len(batches), c.seq)
			}
			again = v2Journal(0, batches...)
		}
		if !bytes.Equal(again, b[:c.end]) {
			t.Fatal("what was kept doesn't encode back to the same bytes")
		}
		c2 := readJournal(b[:c.end])
		if c2.records != c.records || c2.end != c.end || !c2.clean || c2.damage != "" || !maps.EqualFunc(c2.latest, c.latest, bytes.Equal) {
			t.Fatalf("reading the kept bytes again: %+v, want %+v", c2, c)
		}
	})
}

// TestJournalV1EmptyOpens: the files of a version 1 witness that never
// cosigned (none, or the zeros of its compaction, or with its first
// append torn) open with no state, while a longer file with no record
// at its start is a damaged version 2 journal (TestJournalDamageRefuses).
func TestJournalV1EmptyOpens(t *testing.T) {
	torn := make([]byte, journalZeros)
	copy(torn, frame(nil, []byte("a\n1\n"))[:6])
	for name, file := range map[string][]byte{"no bytes": {}, "zeros": make([]byte, journalZeros), "first append torn": torn} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, journalFile), file, 0o600)
			j, latest, _, err := openJournal(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer j.close()
			if len(latest) != 0 {
				t.Fatalf("read %q", latest)
			}
		})
	}
}

// TestJournalOpenSyncsDir: a journal appended to as it is flushes its
// directory at open, as it flushes the file. A witness killed between a
// compaction's rename and its directory's flush left the new file's name
// unflushed: the next run appended to it and cosigned, and a power loss
// could bring back the file the rename replaced, without those batches.
func TestJournalOpenSyncsDir(t *testing.T) {
	dir := t.TempDir()
	j, _, _, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.append("a", []byte("a\n1\n")); err != nil {
		t.Fatal(err)
	}
	j.close()
	synced := 0
	defer func(f func(string) error) { syncDir = f }(syncDir)
	syncDir = func(d string) error {
		if d == dir {
			synced++
		}
		return nil
	}
	j, latest, _, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	if len(latest) != 1 || j.seq != 2 {
		t.Fatalf("not appended to as it is: %q, next batch %d", latest, j.seq)
	}
	if synced == 0 {
		t.Fatal("the state directory wasn't flushed at open")
	}
}

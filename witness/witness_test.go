package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

func post(t *testing.T, url string, body []byte) (int, string, string) {
	t.Helper()
	resp, err := http.Post(url+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// serveWitness serves a witness named witness.example/w1 of l over HTTP
// until t ends, with a verifier of its cosignatures from
// transparency-dev/formats.
func serveWitness(t *testing.T, l *testLog) (*Witness, *httptest.Server, note.Verifier) {
	t.Helper()
	w := openWitness(t, t.TempDir(), "witness.example/w1", l)
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	formatsV, err := fnote.NewVerifierForCosignatureV1(w.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	return w, srv, formatsV
}

// TestAddCheckpointProtocol walks one witness through the C2SP
// tlog-witness cases in order, over HTTP: each step's status, and for 200
// a cosignature that transparency-dev/formats verifies.
func TestAddCheckpointProtocol(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	other := newTestLog(t, "example.com/other")
	impostor := newTestLog(t, "impostor")
	h := l.newHistory(t, "a", 0, 300)
	fork := l.newHistory(t, "b", 150, 300)
	w, srv, formatsV := serveWitness(t, l)
	// A checkpoint of "example.com/log" signed by another key.
	wrongKey, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "example.com/log", Size: 5, Hash: tlog.EmptyRoot()}, renamed(t, impostor, "example.com/log"))
	cp5, cp9, cp200, cp300 := h.checkpointAt(t, 5), h.checkpointAt(t, 9), h.checkpointAt(t, 200), h.checkpointAt(t, 300)
	corrupt := bytes.Replace(cp9, []byte("\n9\n"), []byte("\n8\n"), 1)
	badProof := h.proof(t, 9, 200)
	badProof[0][3] ^= 1
	empty0, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "example.com/log", Size: 0, Hash: tlog.EmptyRoot()}, l.signer)
	nonEmpty0, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "example.com/log", Size: 0, Hash: tlog.LeafHash(nil)}, l.signer)
	otherCP, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "example.com/other", Size: 1, Hash: tlog.LeafHash(nil)}, other.signer)

	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		want   string // in the body
	}{
		// Equal sizes (0), and the root isn't the empty tree's, the
		// witness's root at size 0 whether or not it holds a checkpoint:
		// C2SP tlog-witness, "A checkpoint of size zero MUST have the
		// root hash of the empty tree [...] Otherwise, the witness MUST
		// respond with a 422".
		{"size 0 with a non-empty root", MarshalAddCheckpoint(0, nil, nonEmpty0), 422, ""},
		{"proof from size 0", MarshalAddCheckpoint(0, h.proof(t, 3, 5), cp5), 422, ""},
		{"empty tree", MarshalAddCheckpoint(0, nil, empty0), 200, "— witness.example/w1 "},
		{"size 0 with a non-empty root after the empty tree", MarshalAddCheckpoint(0, nil, nonEmpty0), 422, ""},
		{"proof from size 0 after the empty tree", MarshalAddCheckpoint(0, h.proof(t, 3, 5), cp5), 422, ""},
		{"first checkpoint", MarshalAddCheckpoint(0, nil, cp5), 200, "— witness.example/w1 "},
		{"stale old size", MarshalAddCheckpoint(0, nil, cp9), 409, "5\n"},
		{"old size too new", MarshalAddCheckpoint(7, h.proof(t, 7, 9), cp9), 409, "5\n"},
		{"good growth", MarshalAddCheckpoint(5, h.proof(t, 5, 9), cp9), 200, "— witness.example/w1 "},
		{"same again", MarshalAddCheckpoint(9, nil, cp9), 200, "— witness.example/w1 "},
		{"same again with a proof", MarshalAddCheckpoint(9, h.proof(t, 5, 9), cp9), 422, ""},
		{"bad proof", MarshalAddCheckpoint(9, badProof, cp200), 422, ""},
		{"missing proof", MarshalAddCheckpoint(9, nil, cp200), 422, ""},
		{"proof from the wrong size", MarshalAddCheckpoint(9, h.proof(t, 10, 200), cp200), 422, ""},
		{"unknown log", MarshalAddCheckpoint(0, nil, otherCP), 404, ""},
		{"signed by another key", MarshalAddCheckpoint(9, nil, wrongKey), 403, ""},
		{"changed checkpoint", MarshalAddCheckpoint(5, h.proof(t, 5, 9), corrupt), 403, ""},
		{"old size above the size", MarshalAddCheckpoint(300, nil, cp200), 400, ""},
		{"no old line", cp9, 400, ""},
		{"old with leading zero", []byte("old 09\n\n" + string(cp9)), 400, ""},
		{"no blank line", []byte("old 9\n" + string(cp9)), 400, ""},
		{"proof line not base64", []byte("old 9\nnot-a-hash\n\n" + string(cp200)), 400, ""},
		{"not a checkpoint", []byte("old 9\n\nhello\n\n— x AAAA\n"), 400, ""},
		{"no checkpoint", []byte("old 9\n\n"), 400, ""},
		{"good growth to 200", MarshalAddCheckpoint(9, h.proof(t, 9, 200), cp200), 200, "— witness.example/w1 "},
		{"fork of the same size", MarshalAddCheckpoint(200, nil, fork.checkpointAt(t, 200)), 422, ""},
		{"fork, larger", MarshalAddCheckpoint(200, fork.proof(t, 200, 300), fork.checkpointAt(t, 300)), 422, ""},
		{"good growth to 300", MarshalAddCheckpoint(200, h.proof(t, 200, 300), cp300), 200, "— witness.example/w1 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := post(t, srv.URL, tc.body)
			if code != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %q, want %d with %q", code, body, tc.status, tc.want)
			}
			if code == 409 && ctype != ContentTypeSize {
				t.Fatalf("409 with Content-Type %q", ctype)
			}
			if code != 200 {
				return
			}
			// The cosignature, appended to the checkpoint, verifies with
			// formats' verifier and carries the clock's time.
			_, _, signed, _ := ParseAddCheckpoint(tc.body)
			n, err := note.Open(append(signed, body...), note.VerifierList(formatsV))
			if err != nil {
				t.Fatalf("formats doesn't verify the cosignature: %v", err)
			}
			if ts, err := fnote.CoSigV1Timestamp(n.Sigs[0]); err != nil || ts.Unix() <= 0 {
				t.Fatalf("timestamp %v %v", ts, err)
			}
		})
	}
	// Monitor retrieval: the latest cosigned checkpoint, with the log's
	// signature and the witness's cosignature.
	c := &Client{URL: srv.URL}
	got, err := c.Checkpoint(context.Background(), "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	lv, _ := tlog.NewVerifier(l.vkey)
	if n, err := note.Open(got, note.VerifierList(lv, formatsV)); err != nil || len(n.Sigs) != 2 || !strings.Contains(n.Text, "\n300\n") {
		t.Fatalf("monitor checkpoint %q: %v", got, err)
	}
	if _, err := c.Checkpoint(context.Background(), "example.com/other"); !errors.Is(err, ErrNoCheckpoint) || !errors.Is(err, ErrUnknownLog) {
		t.Fatalf("unknown log: %v", err)
	}
	// The fork left evidence that verifies under the log's key.
	ev, _ := w.Evidence()
	if len(ev) != 2 {
		t.Fatalf("%d evidence files, want 2 (same size, larger)", len(ev))
	}
	for _, p := range ev {
		b, _ := os.ReadFile(p)
		if _, err := tlog.VerifyEvidence(l.vkey, b); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
}

// renamed returns a signer of l's key under another name.
func renamed(t *testing.T, l *testLog, name string) note.Signer {
	skey, _, err := tlog.NewNodeKey(seedRand(l.signer.Name()), name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStateSurvivesRestart reopens the witness: its size and checkpoint
// are what it last cosigned.
func TestStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 40)
	dir := t.TempDir()
	w := openWitness(t, dir, "w", l)
	if _, err := w.AddCheckpoint(ctx, 0, nil, h.checkpointAt(t, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddCheckpoint(ctx, 10, h.proof(t, 10, 40), h.checkpointAt(t, 40)); err != nil {
		t.Fatal(err)
	}
	want := w.Checkpoint("example.com/log")
	w.Close()
	w2 := openWitness(t, dir, "w", l)
	if !bytes.Equal(w2.Checkpoint("example.com/log"), want) {
		t.Fatal("checkpoint changed across a restart")
	}
	var conflict *ConflictError
	if _, err := w2.AddCheckpoint(ctx, 10, nil, h.checkpointAt(t, 10)); !errors.As(err, &conflict) || conflict.Size != 40 {
		t.Fatalf("after restart: %v, want conflict at 40", err)
	}
}

// TestStateInUse: two witnesses on one data directory would each cosign
// from its own view of the state (and write over each other's records), so
// one key could cosign two inconsistent checkpoints. The second Open is
// refused while the first holds the directory, and allowed once it closed.
func TestStateInUse(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	a, b := l.newHistory(t, "a", 0, 10), l.newHistory(t, "b", 0, 10)
	dir := t.TempDir()
	w := openWitness(t, dir, "w", l)
	if _, err := w.AddCheckpoint(ctx, 0, nil, a.checkpointAt(t, 5)); err != nil {
		t.Fatal(err)
	}
	w2, err := Open(Config{Dir: dir, Cosigner: newCosigner(t, "w"), Logs: []string{l.vkey}})
	if err == nil {
		_, ferr := w2.AddCheckpoint(ctx, 0, nil, b.checkpointAt(t, 5))
		w2.Close()
		t.Fatalf("a second witness opened the same state (and cosigned another history: %v)", ferr)
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v", err)
	}
	w.Close()
	w3 := openWitness(t, dir, "w", l)
	if n := w3.Checkpoint("example.com/log"); n == nil {
		t.Fatal("state lost")
	}
}

// TestJournalV1TornTail cuts the records of a version 1 journal (records
// from the first byte, no batch framing: what witnesses wrote before
// version 2) at every length, and ends each cut both with the end of the
// file (a journal written before preallocation) and with the preallocated
// zeros (what a crash leaves when the disk never got a write's last
// bytes): the witness opens with the last whole record, never with a
// corrupt one, as it did before version 2.
func TestJournalV1TornTail(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 3)
	w := openWitness(t, t.TempDir(), "w", l)
	w.AddCheckpoint(ctx, 0, nil, h.checkpointAt(t, 1))
	first := w.Checkpoint("example.com/log")
	w.AddCheckpoint(ctx, 1, h.proof(t, 1, 3), h.checkpointAt(t, 3))
	second := w.Checkpoint("example.com/log")
	w.Close()
	full := v1Journal(0, first, second)
	// Both records appended into the zeros of an empty journal's
	// compaction (journalZeros bytes): a version 1 file that holds no
	// record at its start is never longer (its compaction's records
	// start it), and a longer one is a damaged version 2 journal.
	file := v1Journal(journalZeros-len(full), first, second)
	if c := readJournal(file); !c.v1 || c.records != 2 || c.end != len(full) || !c.clean || c.damage != "" {
		t.Fatalf("the version 1 journal reads as %+v", c)
	}
	// Every cut near a record boundary, and every 17th byte elsewhere.
	for cut := 0; cut <= len(full); cut++ {
		if cut%17 != 0 && cut != len(full) && !nearBoundary(full, cut) {
			continue
		}
		for _, zeros := range []bool{false, true} {
			b := bytes.Clone(full[:cut])
			if zeros {
				b = append(b, make([]byte, len(file)-cut)...)
			}
			d := t.TempDir()
			os.MkdirAll(filepath.Join(d, "state"), 0o700)
			os.WriteFile(filepath.Join(d, "state", journalFile), b, 0o600)
			w, err := Open(Config{Dir: d, Cosigner: newCosigner(t, "w"), Logs: []string{l.vkey}})
			if err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
			got := w.Checkpoint("example.com/log")
			w.Close()
			switch {
			case got == nil:
			case bytes.Contains(got, []byte("\n1\n")), bytes.Contains(got, []byte("\n3\n")):
				if _, err := tlog.OpenCheckpoint(got, mustV(t, l.vkey)); err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
			default:
				t.Fatalf("cut %d: state %q", cut, got)
			}
			if cut == len(full) && !bytes.Contains(got, []byte("\n3\n")) {
				t.Fatal("the whole file lost the last record")
			}
		}
	}
}

// nearBoundary reports whether cut is within 2 bytes of a record boundary.
func nearBoundary(b []byte, cut int) bool {
	for off := 0; off+frameHeader <= len(b); {
		if cut >= off-2 && cut <= off+frameHeader+2 {
			return true
		}
		off += frameHeader + int(uint32(b[off])<<24|uint32(b[off+1])<<16|uint32(b[off+2])<<8|uint32(b[off+3]))
		if cut >= off-2 && cut <= off+2 {
			return true
		}
	}
	return false
}

func mustV(t testing.TB, vkey string) note.Verifier {
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestJournalCompacts appends many checkpoints of one log: the file stays
// small and the last checkpoint survives.
func TestJournalCompacts(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 1)
	dir := t.TempDir()
	w := openWitness(t, dir, "w", l)
	w.j.slack = 20
	cp := h.checkpointAt(t, 1)
	w.AddCheckpoint(ctx, 0, nil, cp)
	for i := 0; i < 100; i++ {
		if _, err := w.AddCheckpoint(ctx, 1, nil, cp); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "state", journalFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "state", journalFile))
	if err != nil {
		t.Fatal(err)
	}
	// The records stay few; the file is the records and the zeros
	// preallocated after them.
	if c := readJournal(b); c.records > 25 || c.end > len(journalMagic)+26*(len(w.Checkpoint("example.com/log"))+frameHeader+batchHeader) || fi.Size() > int64(c.end)+2*journalZeros {
		t.Fatalf("journal of %d bytes, %d records in %d bytes, after 100 records of one log", fi.Size(), c.records, c.end)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode %v", fi.Mode())
	}
	w.Close()
	w2 := openWitness(t, dir, "w", l)
	if w2.Checkpoint("example.com/log") == nil {
		t.Fatal("state lost after compaction")
	}
}

// TestSplitViewTwoWitnesses shows each of two witnesses one fork of the
// same size; a monitor reading both witnesses (monitor retrieval) gets two
// checkpoints signed by the log that make evidence.
func TestSplitViewTwoWitnesses(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	a := l.newHistory(t, "a", 10, 20)
	b := l.newHistory(t, "b", 10, 20)
	w1 := openWitness(t, t.TempDir(), "w1", l)
	w2 := openWitness(t, t.TempDir(), "w2", l)
	s1, s2 := httptest.NewServer(w1.Handler()), httptest.NewServer(w2.Handler())
	defer s1.Close()
	defer s2.Close()
	for _, x := range []struct {
		url string
		h   *history
	}{{s1.URL, a}, {s2.URL, b}} {
		c := &Client{URL: x.url}
		prove := func(ctx context.Context, from, to uint64) ([]tlog.Hash, error) { return x.h.proof(t, from, to), nil }
		if _, err := c.Submit(ctx, x.h.checkpointAt(t, 10), prove); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Submit(ctx, x.h.checkpointAt(t, 20), prove); err != nil {
			t.Fatal(err)
		}
	}
	n1, err := (&Client{URL: s1.URL}).Checkpoint(ctx, "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	n2, err := (&Client{URL: s2.URL}).Checkpoint(ctx, "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tlog.NewEvidence(l.vkey, n1, n2, tlog.Hash{}, nil, "monitor", "")
	if err != nil {
		t.Fatal(err)
	}
	sv, err := tlog.VerifyEvidence(l.vkey, ev)
	if err != nil || sv.A.Size != 20 {
		t.Fatalf("%+v %v", sv, err)
	}
	// Each witness, shown the other's fork, refuses it and keeps evidence.
	if _, err := w1.AddCheckpoint(ctx, 20, nil, b.checkpointAt(t, 20)); !errors.Is(err, ErrFork) {
		t.Fatalf("w1 took the other fork: %v", err)
	}
	if ev, _ := w1.Evidence(); len(ev) != 1 {
		t.Fatalf("w1 kept %d evidence files", len(ev))
	}
}

func FuzzParseAddCheckpoint(f *testing.F) {
	l := newTestLog(f, "example.com/log")
	h := l.newHistory(f, "a", 0, 9)
	f.Add(MarshalAddCheckpoint(5, h.proof(f, 5, 9), h.checkpointAt(f, 9)))
	f.Add(MarshalAddCheckpoint(0, nil, h.checkpointAt(f, 9)))
	f.Add([]byte("old 1\n\n"))
	f.Add([]byte(specExampleBody))
	w := openWitness(f, f.TempDir(), "w", l)
	f.Fuzz(func(t *testing.T, body []byte) {
		old, proof, signed, err := ParseAddCheckpoint(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v isn't ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(MarshalAddCheckpoint(old, proof, signed), body) {
			t.Fatalf("doesn't re-encode to the same bytes")
		}
		// Whatever the request, the witness answers with one of the
		// protocol's outcomes and never panics.
		_, err = w.AddCheckpoint(context.Background(), old, proof, signed)
		var conflict *ConflictError
		if err != nil && !errors.As(err, &conflict) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSignature) && !errors.Is(err, ErrUnknownLog) && !errors.Is(err, ErrInconsistent) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

// TestJournalConcurrentAppends appends from many goroutines at once (the
// group commit path): every append returns after its record is written,
// and a reopened journal has each origin's last record.
func TestJournalConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	j, _, _, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	const origins, per = 32, 20
	parallel(origins, func(g int) {
		for i := 0; i < per; i++ {
			if err := j.append(fmt.Sprintf("o%d", g), fmt.Appendf(nil, "o%d\n%d\n", g, i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	j.close()
	_, got, _, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != origins {
		t.Fatalf("%d origins after reopening, want %d", len(got), origins)
	}
	for g := 0; g < origins; g++ {
		if want := fmt.Sprintf("o%d\n%d\n", g, per-1); string(got[fmt.Sprintf("o%d", g)]) != want {
			t.Fatalf("origin %d: %q, want %q", g, got[fmt.Sprintf("o%d", g)], want)
		}
	}
}

// TestEvidenceBounded: a log that forked can sign any number of
// conflicting checkpoints; the witness refuses each (422) but keeps at most
// MaxEvidencePerLog evidence files of it, says so once, and still keeps
// evidence of another log's fork. The bound holds whatever the data
// directory is called: with filepath.Glob, a directory with '[' in its
// path kept no evidence (a bad pattern) or any number of files (a
// pattern matching other paths).
func TestEvidenceBounded(t *testing.T) {
	for _, name := range []string{"w", "w[1]", "w["} {
		t.Run(name, func(t *testing.T) { testEvidenceBounded(t, filepath.Join(t.TempDir(), name)) })
	}
}

func testEvidenceBounded(t *testing.T, dir string) {
	l := newTestLog(t, "example.com/log")
	other := newTestLog(t, "example.com/other")
	var logged bytes.Buffer
	w, err := Open(Config{Dir: dir, Cosigner: newCosigner(t, "witness.example/w1"), Logs: []string{l.vkey, other.vkey},
		Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	root := func(i int) tlog.Hash { return tlog.LeafHash([]byte(fmt.Sprint(i))) }
	for _, lg := range []*testLog{l, other} {
		cp, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: lg.signer.Name(), Size: 5, Hash: root(0)}, lg.signer)
		if code, _, body := post(t, srv.URL, MarshalAddCheckpoint(0, nil, cp)); code != 200 {
			t.Fatalf("first checkpoint: %d %s", code, body)
		}
	}
	for i := 1; i <= MaxEvidencePerLog+10; i++ {
		fork, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "example.com/log", Size: 5, Hash: root(i)}, l.signer)
		if code, _, body := post(t, srv.URL, MarshalAddCheckpoint(5, nil, fork)); code != 422 {
			t.Fatalf("fork %d: %d %s, want 422", i, code, body)
		}
	}
	ev, _ := w.Evidence()
	if len(ev) != MaxEvidencePerLog {
		t.Fatalf("%d evidence files, want %d", len(ev), MaxEvidencePerLog)
	}
	if n := strings.Count(logged.String(), "no more evidence of this log is kept"); n != 1 {
		t.Fatalf("said %d times that no more evidence is kept:\n%s", n, logged.String())
	}
	fork, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "example.com/other", Size: 5, Hash: root(1)}, other.signer)
	if code, _, body := post(t, srv.URL, MarshalAddCheckpoint(5, nil, fork)); code != 422 {
		t.Fatalf("other log's fork: %d %s", code, body)
	}
	if ev, _ := w.Evidence(); len(ev) != MaxEvidencePerLog+1 {
		t.Fatalf("%d evidence files after another log's fork, want %d", len(ev), MaxEvidencePerLog+1)
	}
}

// TestRecosignWritesNothing: the checkpoint the witness holds, submitted
// again (old size = its size, no proof) or found unchanged by a pull, is
// cosigned again with the current time (C2SP tlog-witness), which monitor
// retrieval then serves, and nothing is written to the journal but a
// time reservation when the time is past the last one (at most one per
// TimeReservation, whatever the number of logs:
// TestReservationWritesOncePerInterval): a quiet log re-submitted every
// minute, or pulled every poll, doesn't grow it by a checkpoint each time.
// After a restart the witness holds the checkpoint from disk, with its
// first cosignature, and goes on from it.
func TestRecosignWritesNothing(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 40)
	srv := newTileServer(t, h, "secret")
	dir := t.TempDir()
	skey, vkey, err := tlog.NewCosignerKey(seedRand("w"), "w")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0).UTC()
	now := t0
	cs, err := tlog.ParseCosignerKey(skey, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	w, err := Open(Config{Dir: dir, Cosigner: cs, Logs: []string{l.vkey}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pol, err := tlog.NewWitnessPolicy([]string{vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	served := func() time.Time {
		t.Helper()
		cos, err := tlog.CheckQuorum(pol, w.Checkpoint("example.com/log"))
		if err != nil {
			t.Fatal(err)
		}
		return cos[0].Time
	}
	journal := func() []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "state", "journal"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cp := h.checkpointAt(t, 40)
	if _, err := w.AddCheckpoint(ctx, 0, nil, cp); err != nil {
		t.Fatal(err)
	}
	first := w.Checkpoint("example.com/log")
	before := journal()
	now = t0.Add(time.Hour)
	line, err := w.AddCheckpoint(ctx, 40, nil, cp)
	if err != nil {
		t.Fatal(err)
	}
	cos, err := tlog.CheckQuorum(pol, append(bytes.Clone(cp), line...))
	if err != nil || !cos[0].Time.Equal(now) {
		t.Fatalf("re-submission: %v, %v; want a cosignature at %v", cos, err, now)
	}
	if got := served(); !got.Equal(now) {
		t.Fatalf("monitor retrieval serves the cosignature of %v, want %v", got, now)
	}
	now = t0.Add(2 * time.Hour)
	if size, err := w.PullOnce(ctx, l.vkey, &tlog.Client{URL: srv.URL, Token: "secret"}); size != 40 || err != nil {
		t.Fatalf("pull of the unchanged log: %d, %v", size, err)
	}
	if got := served(); !got.Equal(now) {
		t.Fatalf("after a pull of the unchanged log, monitor retrieval serves the cosignature of %v, want %v", got, now)
	}
	// An hour apart, each re-cosignature's time is past the reservation
	// of the one before: a reservation each, and nothing else.
	was, is := readJournal(before), readJournal(journal())
	if !bytes.Equal(is.latest["example.com/log"], was.latest["example.com/log"]) || is.records != was.records+2 {
		t.Fatalf("cosigning the same checkpoint again wrote %d records, want 2 time reservations", is.records-was.records)
	}
	if r, err := parseReservation(is.latest[reservationOrigin]); err != nil || r != now.Add(TimeReservation).Unix() {
		t.Fatalf("reservation %d, %v; want %d", r, err, now.Add(TimeReservation).Unix())
	}
	w.Close()
	w2 := openWitness(t, dir, "w", l)
	if !bytes.Equal(w2.Checkpoint("example.com/log"), first) {
		t.Fatal("after a restart the witness doesn't hold the checkpoint on disk")
	}
	if _, err := w2.AddCheckpoint(ctx, 40, nil, cp); err != nil {
		t.Fatalf("re-submission after a restart: %v", err)
	}
	h.grow(t, 5)
	if _, err := w2.AddCheckpoint(ctx, 40, h.proof(t, 40, 45), h.checkpointAt(t, 45)); err != nil {
		t.Fatalf("growing after re-submissions: %v", err)
	}
}

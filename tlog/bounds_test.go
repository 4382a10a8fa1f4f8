package tlog

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// hostileNotes builds, for a log and a policy of witnesses, checkpoint
// notes a hostile node, witness or file writer could hand a reader: the
// honest note (the log's line and each witness's first and latest
// cosignature) with junk signature lines under a policy witness's name
// and key ID added.
type hostileNotes struct {
	l      *cosignedLog
	ws     []*testWitness
	pol    *Policy
	text   []byte
	honest []byte
}

func newHostileNotes(t *testing.T, witnesses int) *hostileNotes {
	t.Helper()
	h := &hostileNotes{l: &cosignedLog{testLog: newTestLog(t, 2)}}
	var keys []string
	for i := range witnesses {
		w := newTestWitness(t, fmt.Sprintf("witness.example/w%d", i), 100+i)
		h.ws = append(h.ws, w)
		keys = append(keys, w.vkey)
	}
	var err error
	if h.pol, err = NewWitnessPolicy(keys, witnesses); err != nil {
		t.Fatal(err)
	}
	if h.text, err = SplitNote(h.l.checkpoint(t)); err != nil {
		t.Fatal(err)
	}
	// The log's line, then each witness's first and latest cosignature
	// (a checkpoint cosigned again while the log was quiet).
	signers := []note.Signer{h.l.signer}
	for _, w := range h.ws {
		signers = append(signers, w.cosigner)
	}
	for _, w := range h.ws {
		w.now = testT0
	}
	first, err := note.Sign(&note.Note{Text: string(h.text)}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range h.ws {
		w.now = testT0.Add(time.Hour)
	}
	latest, err := note.Sign(&note.Note{Text: string(h.text)}, signers[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	h.honest = append(first, latest[len(h.text)+1:]...)
	return h
}

// junk returns n distinct well-formed lines under the first witness's
// name and key ID whose signatures don't verify.
func (h *hostileNotes) junk(n int) string {
	name := h.ws[0].cosigner.Name()
	var b strings.Builder
	for i := range n {
		sig := binary.BigEndian.AppendUint32(nil, h.ws[0].cosigner.KeyHash())
		sig = binary.BigEndian.AppendUint64(sig, uint64(testT0.Unix())+uint64(i))
		sig = append(sig, bytes.Repeat([]byte{byte(i)}, 64)...)
		fmt.Fprintf(&b, "— %s %s\n", name, base64.StdEncoding.EncodeToString(sig))
	}
	return b.String()
}

// with returns the note's text and blank line, then the given lines.
func (h *hostileNotes) with(lines ...string) []byte {
	return []byte(string(h.text) + "\n" + strings.Join(lines, ""))
}

// signatureBlock is the honest note's signature lines, each with its newline.
func (h *hostileNotes) signatureBlock() []string {
	l := strings.SplitAfter(string(h.honest[len(h.text)+1:]), "\n")
	return l[:len(l)-1]
}

// TestHostileNoteBoundedWork: every reader of a checkpoint note (the
// log's signature, a witness policy's quorum and times, the lines kept
// of a note anyone could have added to, a bundle's witnessed
// checkpoints, a seen file's) refuses a note over MaxCheckpointNote or
// over 100 signature lines before checking any signature, and of a note
// within the bounds that is full of junk lines under a policy witness's
// name and key ID checks a bounded number. Counted: the signatures
// checked, not the time.
func TestHostileNoteBoundedWork(t *testing.T) {
	h := newHostileNotes(t, 3)
	lines := h.signatureBlock()
	// Within every bound, 90 junk lines under witness 0's name before
	// the honest lines.
	mostlyJunk := h.with(append([]string{lines[0], h.junk(90)}, lines[1:]...)...)
	if checkNoteBounds(mostlyJunk) != nil {
		t.Fatal("the junk-laden note should be within the bounds")
	}
	tests := []struct {
		name string
		n    []byte
		// max signatures checked by any one reader; 0: none, and the
		// reader refuses the note.
		max int
	}{
		{name: "over 1 MiB", n: h.with(lines[0], h.junk(MaxCheckpointNote/100))},
		{name: "over 100 lines (all honest but junk)", n: h.with(append([]string{h.junk(200)}, lines...)...)},
		{name: "101 lines", n: h.with(append([]string{h.junk(101 - len(lines))}, lines...)...)},
		// Verified twice over (CosignedTimes, then on the lines kept),
		// each time the log line, each honest witness line and at most
		// maxKeyLines of witness 0: not one per junk line.
		{name: "junk within the bounds", n: mostlyJunk, max: 2 * (1 + 2*len(h.ws) + maxKeyLines)},
	}
	readers := []struct {
		name string
		read func(n []byte, v note.Verifier) error
	}{
		{"OpenCheckpoint", func(n []byte, v note.Verifier) error { _, err := OpenCheckpoint(n, v); return err }},
		{"CheckQuorum", func(n []byte, v note.Verifier) error { _, err := CheckQuorum(h.pol, n); return err }},
		{"CosignedTimes", func(n []byte, v note.Verifier) error { _, err := CosignedTimes(n, v, h.pol); return err }},
		{"seenCosignedTimes", func(n []byte, v note.Verifier) error { _, err := seenCosignedTimes(n, v, h.pol); return err }},
		{"VerifiedLines", func(n []byte, v note.Verifier) error {
			if VerifiedLines(n, v, h.pol) == nil {
				return fmt.Errorf("nothing kept")
			}
			return nil
		}},
		{"BundleResult.CheckWitnessed", func(n []byte, v note.Verifier) error {
			return BundleResult{LogKey: h.l.vkey, Witnessed: [][]byte{n}}.CheckWitnessed(h.pol)
		}},
		{"WitnessedCheckpoint.Open", func(n []byte, v note.Verifier) error {
			// A bundle's or a receipt's witnessed checkpoint.
			cp, err := ParseCheckpoint(h.text)
			if err != nil {
				t.Fatal(err)
			}
			_, err = WitnessedCheckpoint{Checkpoint: string(n)}.Open(v, cp)
			return err
		}},
		{"VerifyEvidence", func(n []byte, v note.Verifier) error {
			doc, err := json.Marshal(Evidence{Type: EvidenceType, LogKey: h.l.vkey, Checkpoints: []string{string(n), string(n)}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = VerifyEvidence("", doc)
			if err != nil && strings.Contains(err.Error(), "same checkpoint") {
				return nil // both opened
			}
			return err
		}},
		{"SeenCheckpoints.Faults", func(n []byte, v note.Verifier) error {
			if f := (&SeenCheckpoints{Notes: []string{string(n)}}).Faults(v); len(f.Forged) > 0 {
				return fmt.Errorf("reported as forged")
			}
			return nil
		}},
	}
	for _, tc := range tests {
		for _, r := range readers {
			t.Run(tc.name+"/"+r.name, func(t *testing.T) {
				v := &countingVerifier{Verifier: h.l.verifier}
				before := cosignatureChecks.Load()
				err := r.read(tc.n, v)
				checked := v.n + int(cosignatureChecks.Load()-before)
				if tc.max == 0 && (err == nil || checked != 0) {
					t.Fatalf("%d signatures checked, err %v; want the note refused unchecked", checked, err)
				}
				if checked > tc.max {
					t.Fatalf("%d signatures checked, want at most %d", checked, tc.max)
				}
			})
		}
	}
	// What a junk-laden note within the bounds keeps: the honest lines.
	if got := VerifiedLines(mostlyJunk, h.l.verifier, h.pol); got != nil && bytes.Contains(got, []byte(h.junk(1))) {
		t.Fatalf("VerifiedLines kept a junk line:\n%s", got)
	}
}

// TestVerifiedLinesJunkBeforeHonest: a forged line or two of a witness
// merged in before its honest first and latest cosignatures leave both
// kept; past maxKeyLines lines of one key the rest go unchecked.
func TestVerifiedLinesJunkBeforeHonest(t *testing.T) {
	h := newHostileNotes(t, 2)
	lines := h.signatureBlock()
	// lines: log, w0, w1 (first), w0, w1 (latest).
	n := h.with(lines[0], h.junk(2), lines[1], lines[2], lines[3], lines[4])
	if got := VerifiedLines(n, h.l.verifier, h.pol); !bytes.Equal(got, h.honest) {
		t.Fatalf("VerifiedLines =\n%s\nwant\n%s", got, h.honest)
	}
	before := cosignatureChecks.Load()
	n = h.with(lines[0], h.junk(50), lines[1], lines[2], lines[3], lines[4])
	VerifiedLines(n, h.l.verifier, h.pol)
	if checked := cosignatureChecks.Load() - before; checked > maxKeyLines+2 {
		t.Fatalf("%d cosignatures checked for 50 junk lines, want at most %d", checked, maxKeyLines+2)
	}
}

// TestHonestNoteManyCosignatures: a checkpoint cosigned by 40 witnesses,
// each with its first and latest cosignature (81 lines, as many as a
// node keeps), verifies with every reader, and VerifiedLines keeps it
// whole.
func TestHonestNoteManyCosignatures(t *testing.T) {
	h := newHostileNotes(t, 40)
	if got := strings.Count(string(h.honest[len(h.text)+1:]), "\n"); got != 81 {
		t.Fatalf("%d signature lines, want 81", got)
	}
	v := h.l.verifier
	if _, err := OpenCheckpoint(h.honest, v); err != nil {
		t.Errorf("OpenCheckpoint: %v", err)
	}
	if cos, err := CheckQuorum(h.pol, h.honest); err != nil || len(cos) != 40 {
		t.Errorf("CheckQuorum: %d cosignatures, %v", len(cos), err)
	}
	w, err := CosignedTimes(h.honest, v, h.pol)
	if err != nil || !w.Earliest.Time.Equal(testT0) || !w.Latest.Time.Equal(testT0.Add(time.Hour)) {
		t.Errorf("CosignedTimes: %+v, %v", w, err)
	}
	if got := VerifiedLines(h.honest, v, h.pol); !bytes.Equal(got, h.honest) {
		t.Errorf("VerifiedLines dropped lines:\n%s", got)
	}
	if err := (BundleResult{LogKey: h.l.vkey, Witnessed: [][]byte{h.honest}}).CheckWitnessed(h.pol); err != nil {
		t.Errorf("CheckWitnessed: %v", err)
	}
}

// writeSeenNotes writes a seen file of the given notes.
func writeSeenNotes(t *testing.T, notes []string) string {
	t.Helper()
	b, err := json.Marshal(&SeenCheckpoints{Notes: notes})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seen.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadSeenTooManyNotes: a seen file of more than twice MaxSeenNotes
// notes is refused, saying so, before any of them is read further (every
// reader verifies each note: a doctored file of a million would cost a
// minute of CPU), and left as it is; one of that many loads.
func TestLoadSeenTooManyNotes(t *testing.T) {
	old := MaxSeenNotes
	MaxSeenNotes = 16
	defer func() { MaxSeenNotes = old }()
	l := newTestLog(t, 1)
	n := string(l.notes[len(l.notes)-1])
	notes := make([]string, maxSeenRead())
	for i := range notes {
		notes[i] = n
	}
	if s, err := LoadSeen(writeSeenNotes(t, notes)); err != nil || len(s.Notes) != maxSeenRead() {
		t.Fatalf("a file of %d notes: %v", maxSeenRead(), err)
	}
	path := writeSeenNotes(t, append(notes, n))
	before, _ := os.ReadFile(path)
	_, err := LoadSeen(path)
	if err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("a file of %d notes: %v, want refused", maxSeenRead()+1, err)
	}
	if _, _, err := LoadSeenOrCheckpoint(path); err == nil {
		t.Fatal("LoadSeenOrCheckpoint read it")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the file was changed")
	}
}

// TestSeenForkEvidenceStaysReadable: a node that shows a new fork at
// every audit fills the seen file with evidence, which plain thinning
// keeps; the file is thinned further rather than grown past what
// LoadSeen reads, keeping the evidence of the first fork and the latest
// checkpoint.
func TestSeenForkEvidenceStaysReadable(t *testing.T) {
	old := MaxSeenNotes
	MaxSeenNotes = 16
	defer func() { MaxSeenNotes = old }()
	l := newTestLog(t, 1)
	sign := func(size uint64, root byte) []byte {
		n, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: size, Hash: Hash{root}}, l.signer)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	s := &SeenCheckpoints{path: filepath.Join(t.TempDir(), "seen.json")}
	const sizes = 200
	for size := uint64(1); size <= sizes; size++ {
		s.Add(sign(size, 1))
		s.Add(sign(size, 2))
		if len(s.Notes) > maxSeenKept() {
			t.Fatalf("after size %d: %d notes, over %d", size, len(s.Notes), maxSeenKept())
		}
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSeen(s.path)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range got.Notes {
		have[n] = true
	}
	for _, n := range [][]byte{sign(1, 1), sign(1, 2), sign(sizes, 2)} {
		if !have[string(n)] {
			cp, _ := peekCheckpoint(string(n))
			t.Errorf("the checkpoint of size %d, root %x, was dropped", cp.Size, cp.Hash[:1])
		}
	}
}

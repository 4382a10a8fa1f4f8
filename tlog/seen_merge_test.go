package tlog

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"
)

// junkSignatures returns n signature lines of keys no one knows, each
// shaped as a cosignature (key ID, timestamp, 64 bytes), named
// prefix-i: a note.Open with the log's key skips them, so a checkpoint
// that carries them opens as well as without them.
func junkSignatures(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		name := fmt.Sprintf("%s-%d.example", prefix, i)
		raw := make([]byte, 4+8+64)
		h := sha256.Sum256([]byte(name))
		copy(raw, h[:4])
		binary.BigEndian.PutUint64(raw[4:], uint64(1_700_000_000+i))
		fmt.Fprintf(&b, "— %s %s\n", name, base64.StdEncoding.EncodeToString(raw))
	}
	return b.String()
}

// TestSeenMergeKeepsCheckpointReadable: a seen checkpoint that comes
// again with other signature lines is merged into the note kept, every
// line of other keys kept. A node (or whoever serves the audit the
// checkpoint) that adds 60 lines of unknown keys each time, each note
// under note.Open's 100 signatures, made the merged note one that no
// verifier opens: the checkpoint seen was then skipped as "another
// log's" by every later audit (its fork check and the received-time
// bounds of its cosignatures), so that a fork of that size went unseen.
// Now a merge that would pass the limit keeps the note as it was and
// records the new one beside it.
func TestSeenMergeKeepsCheckpointReadable(t *testing.T) {
	w := newTestWitness(t, "w1.example", 1)
	t0 := time.Unix(1_700_000_000, 0)
	l := &cosignedLog{testLog: newTestLog(t, 1)}
	first := l.cosign(t, w, t0)
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := &SeenCheckpoints{}
	seen.Add(first)
	for round := range 3 {
		padded := string(first) + junkSignatures(fmt.Sprintf("junk%d", round), 60)
		cp, err := OpenCheckpoint([]byte(padded), l.verifier)
		if err != nil {
			t.Fatalf("round %d: the padded checkpoint doesn't open: %v", round, err)
		}
		seen.Add([]byte(padded))
		opened, timed := 0, 0
		for _, n := range seen.Notes {
			if c, err := OpenCheckpoint([]byte(n), l.verifier); err == nil && c.Size == cp.Size && c.Hash == cp.Hash {
				opened++
				if wa, err := CosignedTimes([]byte(n), l.verifier, pol); err == nil && wa.Earliest.Time.Equal(t0) {
					timed++
				}
			}
		}
		if opened == 0 || timed == 0 {
			t.Fatalf("round %d: %d seen notes of the checkpoint open with the log's key, %d give its witness's cosignature; want one of each at least", round, opened, timed)
		}
	}
}

// TestSeenMergeStaysUnderNoteLimit: two notes of one checkpoint, each
// under MaxCheckpointNote with a long line of a key no one knows (a node
// may serve one: the log's key opens it), are not merged into one over
// it: every reader would refuse that note, and report it as forged (a
// line of the log's key that doesn't verify), blaming whoever audits for
// what the node served. The second is recorded beside the first.
func TestSeenMergeStaysUnderNoteLimit(t *testing.T) {
	l := newTestLog(t, 1)
	n := string(l.notes[len(l.notes)-1])
	long := func(name string) []byte {
		raw := make([]byte, 600<<10)
		h := sha256.Sum256([]byte(name))
		copy(raw, h[:4])
		return []byte(n + "— " + name + " " + base64.StdEncoding.EncodeToString(raw) + "\n")
	}
	seen := &SeenCheckpoints{}
	for _, name := range []string{"junk-a.example", "junk-b.example"} {
		p := long(name)
		if _, err := OpenCheckpoint(p, l.verifier); err != nil {
			t.Fatalf("the padded checkpoint doesn't open: %v", err)
		}
		seen.Add(p)
	}
	for i, have := range seen.Notes {
		if _, err := OpenCheckpoint([]byte(have), l.verifier); err != nil {
			t.Errorf("seen note %d (%d bytes) doesn't open: %v", i, len(have), err)
		}
	}
	if f := seen.Faults(l.verifier); len(f.Forged) != 0 {
		t.Errorf("%d seen notes reported as forged", len(f.Forged))
	}
}

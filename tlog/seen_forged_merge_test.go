package tlog

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestSeenMergeKeepsHonestCosignatures: a hostile node serves its
// checkpoint with two forged lines of a policy witness (its name and key
// ID, a signature that doesn't verify), claiming the earliest and the
// latest time there is. A client that checked it against the seen file
// recorded it as served (pull without a policy, or before the quorum is
// checked). When the same checkpoint later came with the witness's honest
// cosignature (the node's, at an audit; the witness's own, from monitor
// retrieval), the merge kept each signer's first and latest line by the
// time the line claims: the forged lines took both places, the honest
// one was dropped, and the witness's cosignature bounded no received time
// again. Now the lines of the policy's witnesses are verified, in both
// notes, before they are merged.
func TestSeenMergeKeepsHonestCosignatures(t *testing.T) {
	w := newTestWitness(t, "witness.example/w1", 7)
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	cosignedAt := testT0.Add(10 * time.Minute)
	l := &cosignedLog{testLog: newTestLog(t, 2)}
	honest := l.cosign(t, w, cosignedAt)
	text, err := SplitNote(honest)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := note.Sign(&note.Note{Text: string(text)}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	var hash uint32
	for _, line := range strings.Split(strings.TrimSuffix(strings.SplitN(string(honest), "\n\n", 2)[1], "\n"), "\n") {
		if n, h, _, ok := SignatureLine(line); ok && strings.HasPrefix(n, "witness.example/") {
			name, hash = n, h
		}
	}
	if name == "" {
		t.Fatalf("no witness line in %q", honest)
	}
	forged := func(at int64) string {
		raw := binary.BigEndian.AppendUint32(nil, hash)
		raw = binary.BigEndian.AppendUint64(raw, uint64(at))
		sig := make([]byte, 64)
		rand.Read(sig)
		return fmt.Sprintf("— %s %s\n", name, base64.StdEncoding.EncodeToString(append(raw, sig...)))
	}
	hostile := []byte(string(plain) + forged(1) + forged(1<<40))
	// kept checks that the seen file's note of the checkpoint still
	// carries the witness's honest cosignature: read as every audit
	// reads a seen note, it bounds times with it.
	kept := func(t *testing.T, seen *SeenCheckpoints) {
		t.Helper()
		found := false
		for _, n := range seen.Notes {
			if !strings.HasPrefix(n, string(text)+"\n") {
				continue
			}
			found = true
			got, err := seenCosignedTimes([]byte(n), l.verifier, pol)
			if err != nil {
				t.Fatalf("the seen note bounds no time: %v\n%s", err, n)
			}
			if !got.Earliest.Time.Equal(cosignedAt) || !got.Latest.Time.Equal(cosignedAt) {
				t.Fatalf("the seen note's cosignatures are from %v to %v, want the honest one at %v\n%s", got.Earliest.Time, got.Latest.Time, cosignedAt, n)
			}
		}
		if !found {
			t.Fatalf("no seen note of the checkpoint in %q", seen.Notes)
		}
	}
	t.Run("audited after", func(t *testing.T) {
		seen := &SeenCheckpoints{}
		if err := seen.CheckConsistent(context.Background(), hostile, l.verifier, nil); err != nil {
			t.Fatal(err)
		}
		rep, err := Audit(context.Background(), l, AuditOptions{Verifier: l.verifier, Policy: pol, Tiles: l.tiles, Seen: seen})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("audit: %v", rep.Problems)
		}
		kept(t, seen)
	})
	t.Run("witness's checkpoint added after", func(t *testing.T) {
		seen := &SeenCheckpoints{}
		if err := seen.CheckConsistent(context.Background(), hostile, l.verifier, nil); err != nil {
			t.Fatal(err)
		}
		seen.Policy = pol
		seen.Add(VerifiedLines(honest, l.verifier, pol))
		kept(t, seen)
	})
	t.Run("checked under the policy", func(t *testing.T) {
		// As pull records the node's checkpoint before it checks the
		// quorum: the forged lines aren't recorded at all.
		seen := &SeenCheckpoints{Policy: pol}
		if err := seen.CheckConsistent(context.Background(), hostile, l.verifier, nil); err != nil {
			t.Fatal(err)
		}
		if len(seen.Notes) != 1 || seen.Notes[0] != string(plain) {
			t.Fatalf("recorded %q, want the note without its forged lines", seen.Notes)
		}
		seen.Add(honest)
		kept(t, seen)
	})
}

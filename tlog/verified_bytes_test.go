package tlog

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// TestVerifiedLinesLongText: a note whose checkpoint text is nearly
// MaxCheckpointNote long (an extension line), with a forged line of each
// of 99 policy witnesses, had each line checked over the whole text:
// about 100 MiB hashed, a third of a second, for every such note of a
// seen file at every audit (a minute and more for a file of them), and at
// every note recorded. The bytes checked in one note are bounded now.
func TestVerifiedLinesLongText(t *testing.T) {
	l := newTestLog(t, 1)
	var keys []string
	for i := range 99 {
		keys = append(keys, newTestWitness(t, fmt.Sprintf("w%d.example", i), 100+i).vkey)
	}
	pol, err := NewWitnessPolicy(keys, 1)
	if err != nil {
		t.Fatal(err)
	}
	n, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: 1, Hash: Hash{1}, Extensions: []string{strings.Repeat("x", 1000<<10)}}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.Write(n)
	for _, w := range pol.Witnesses {
		raw := binary.BigEndian.AppendUint32(nil, w.v.KeyHash())
		raw = binary.BigEndian.AppendUint64(raw, uint64(testT0.Unix()))
		raw = append(raw, make([]byte, 64)...)
		fmt.Fprintf(&b, "— %s %s\n", w.Name, base64.StdEncoding.EncodeToString(raw))
	}
	hostile := []byte(b.String())
	if err := checkNoteBounds(hostile); err != nil {
		t.Fatal(err)
	}
	const most = 16 // signatures over about 1 MiB each
	for _, tc := range []struct {
		name string
		read func()
	}{
		{"VerifiedLines", func() {
			if got := VerifiedLines(hostile, l.verifier, pol); string(got) != string(n) {
				t.Errorf("VerifiedLines kept\n%.300s", got)
			}
		}},
		{"recorded in a seen file", func() { (&SeenCheckpoints{Policy: pol}).Add(hostile) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := cosignatureChecks.Load()
			tc.read()
			if c := cosignatureChecks.Load() - before; c > most {
				t.Errorf("%d cosignatures checked over the long text, want at most %d", c, most)
			}
		})
	}
}

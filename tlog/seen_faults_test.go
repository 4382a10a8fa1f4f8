package tlog

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestSeenFaults: the seen checkpoints that don't verify with the log's
// key are sorted by what their signature lines claim. A line of the
// key's name and key ID that doesn't verify is forged; a line of the
// key's name under another key ID (the near-forgery, which was counted
// with the others) is named with that key ID; a note without a line of
// the key's name is another's. Notes that verify, and key indexes, are
// none of them.
func TestSeenFaults(t *testing.T) {
	newSigner := func(name string) (note.Signer, note.Verifier) {
		skey, vkey, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		v, err := note.NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		return s, v
	}
	logS, logV := newSigner(testOrigin)
	sameName, sameNameV := newSigner(testOrigin) // another key, the log's name
	otherS, _ := newSigner("old.example/log")
	sign := func(size uint64, s note.Signer) string {
		t.Helper()
		n, err := note.Sign(&note.Note{Text: string(Checkpoint{Origin: testOrigin, Size: size}.Marshal())}, s)
		if err != nil {
			t.Fatal(err)
		}
		return string(n)
	}
	good := sign(1, logS)
	text, sigs, _ := strings.Cut(good, "\n\n")
	forged := strings.Replace(text, "\n1\n", "\n2\n", 1) + "\n\n" + sigs
	// The log's name and key ID with a truncated signature: forged too.
	id := make([]byte, 4)
	binary.BigEndian.PutUint32(id, logV.KeyHash())
	short := sign(3, otherS) + "— " + testOrigin + " " + base64.StdEncoding.EncodeToString(id) + "\n"
	near := sign(4, sameName)
	other := sign(5, otherS)
	s := &SeenCheckpoints{Notes: []string{good, forged, short, near, other, "parley-key-index-all-v1\nnot a checkpoint\n"}}
	f := s.Faults(logV)
	sizes := func(cps []Checkpoint) []uint64 {
		var out []uint64
		for _, c := range cps {
			out = append(out, c.Size)
		}
		return out
	}
	if got := sizes(f.Forged); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Errorf("forged: sizes %v, want [2 3]", got)
	}
	if len(f.Near) != 1 || f.Near[0].Size != 4 || len(f.Near[0].KeyIDs) != 1 || f.Near[0].KeyIDs[0] != sameNameV.KeyHash() {
		t.Errorf("near: %+v, want size 4 under key ID %08x", f.Near, sameNameV.KeyHash())
	}
	if got := sizes(f.Others); len(got) != 1 || got[0] != 5 {
		t.Errorf("others: sizes %v, want [5]", got)
	}
	// Unverified keeps its contract: the near-forgeries among the others.
	fo, ot := s.Unverified(logV)
	if len(fo) != 2 || len(ot) != 2 {
		t.Errorf("Unverified: %d forged, %d others; want 2 and 2", len(fo), len(ot))
	}
}

// TestSeenFaultsUnreadableLine: a checkpoint of the log changed, with its
// log signature line made unreadable (base64 that doesn't decode, or
// shorter than a key ID), was sorted with the others (documented as
// having no line of the log key's name) and passed over in silence by
// every reader, though no parley writes such a line: note.Open refuses
// the whole note for it. It is forged.
func TestSeenFaultsUnreadableLine(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	n, err := note.Sign(&note.Note{Text: string(Checkpoint{Origin: testOrigin, Size: 1}.Marshal())}, s)
	if err != nil {
		t.Fatal(err)
	}
	text, sig, _ := strings.Cut(string(n), "\n\n")
	changed := strings.Replace(text, "\n1\n", "\n2\n", 1) + "\n\n"
	b64 := strings.TrimSuffix(strings.TrimPrefix(sig, "— "+testOrigin+" "), "\n")
	for name, line := range map[string]string{
		"not base64":     "— " + testOrigin + " " + b64[:len(b64)-1] + "!\n",
		"no padding":     "— " + testOrigin + " " + strings.TrimRight(b64, "=") + "\n",
		"shorter than 4": "— " + testOrigin + " AAA=\n",
	} {
		f := (&SeenCheckpoints{Notes: []string{changed + line}}).Faults(v)
		if len(f.Forged) != 1 || f.Forged[0].Size != 2 || len(f.Near) != 0 || len(f.Others) != 0 {
			t.Errorf("%s: forged %d, near %d, others %d; want it forged", name, len(f.Forged), len(f.Near), len(f.Others))
		}
	}
}

package tlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	fnote "github.com/transparency-dev/formats/note"
	fwitness "github.com/transparency-dev/formats/witness"
	"golang.org/x/mod/sumdb/note"
)

// detRand is a deterministic reader for key generation in tests.
type detRand byte

func (r detRand) Read(p []byte) (int, error) {
	h := sha256.Sum256([]byte{byte(r)})
	for i := range p {
		p[i] = h[i%len(h)]
	}
	return len(p), nil
}

// testLogKey returns a log signer and verifier key for origin.
func testLogKey(t testing.TB, origin string, seed byte) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := NewNodeKey(detRand(seed), origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

// testTree is a tree of leaves "<prefix>-<i>" with its tiles.
func testTree(prefix string, n int) *memTiles {
	leaves := make([][]byte, n)
	for i := range leaves {
		leaves[i] = fmt.Appendf(nil, "%s-%d", prefix, i)
	}
	return newMemTiles(leaves)
}

func treeRoot(t testing.TB, m *memTiles, size uint64) Hash {
	t.Helper()
	h, err := TreeRoot(context.Background(), size, m.reader(size))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func signedCheckpoint(t testing.TB, s note.Signer, size uint64, root Hash) []byte {
	t.Helper()
	b, err := SignCheckpoint(Checkpoint{Origin: s.Name(), Size: size, Hash: root}, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var fixedNow = func() time.Time { return time.Unix(1700000000, 0) }

// TestCosignatureAgainstFormats checks our cosignature/v1 signer and
// verifier against transparency-dev/formats, an independent implementation:
// each verifies the other's signatures, the key IDs and verifier keys
// agree, and formats reads our signer key file format.
func TestCosignatureAgainstFormats(t *testing.T) {
	skey, vkey, err := NewCosignerKey(detRand(7), "witness.example/w1")
	if err != nil {
		t.Fatal(err)
	}
	ours, err := ParseCosignerKey(skey, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if ours.VerifierKey() != vkey {
		t.Fatalf("verifier key %q, want %q", ours.VerifierKey(), vkey)
	}
	theirs, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatalf("formats can't read our signer key: %v", err)
	}
	if theirs.KeyHash() != ours.KeyHash() {
		t.Fatalf("key hash %08x, formats says %08x", ours.KeyHash(), theirs.KeyHash())
	}
	theirV, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	ourV, err := NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	logSigner, _ := testLogKey(t, "example.com/log", 1)
	cp := signedCheckpoint(t, logSigner, 5, testTree("a", 5).root(t, 5))
	n, err := note.Open(cp, note.VerifierList(mustVerifier(t, logSigner)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		signer note.Signer
		v      note.Verifier
	}{
		{"ours verified by formats", ours, theirV},
		{"formats verified by ours", theirs, ourV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed, err := note.Sign(&note.Note{Text: n.Text, Sigs: n.Sigs}, tc.signer)
			if err != nil {
				t.Fatal(err)
			}
			got, err := note.Open(signed, note.VerifierList(tc.v))
			if err != nil {
				t.Fatalf("cosignature doesn't verify: %v\n%s", err, signed)
			}
			ts, err := CosignatureTime(got.Sigs[0].Base64)
			if err != nil {
				t.Fatal(err)
			}
			fts, err := fnote.CoSigV1Timestamp(got.Sigs[0])
			if err != nil || !fts.Equal(ts) {
				t.Fatalf("timestamp %v, formats reads %v (%v)", ts, fts, err)
			}
			// A changed checkpoint doesn't verify.
			bad := bytes.Replace(signed, []byte("\n5\n"), []byte("\n6\n"), 1)
			if _, err := note.Open(bad, note.VerifierList(tc.v)); err == nil {
				t.Fatal("cosignature verifies over a changed checkpoint")
			}
		})
	}
	// Our timestamp is the clock's.
	sig, _ := ours.Sign([]byte(n.Text))
	if !bytes.Equal(sig[:8], []byte{0, 0, 0, 0, 0x65, 0x53, 0xf1, 0}) {
		t.Fatalf("timestamp bytes %x, want 1700000000", sig[:8])
	}
	// formats converts a plain Ed25519 vkey the way we read one.
	plain, err := note.NewEd25519VerifierKey("witness.example/w1", ourV.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	conv, err := fnote.VKeyToCosignatureV1(plain)
	if err != nil || conv != vkey {
		t.Fatalf("formats converts %q to %q (%v), want %q", plain, conv, err, vkey)
	}
	fromPlain, err := NewCosignatureVerifier(plain)
	if err != nil || fromPlain.KeyHash() != ourV.KeyHash() {
		t.Fatalf("plain key read as %v (%v)", fromPlain, err)
	}
}

func (m *memTiles) root(t testing.TB, size uint64) Hash { return treeRoot(t, m, size) }

func mustVerifier(t testing.TB, s note.Signer) note.Verifier {
	t.Helper()
	// Rebuild the vkey from the signer's key: the test keys come from
	// NewNodeKey with a fixed seed.
	for seed := byte(0); seed < 16; seed++ {
		_, vkey := testLogKey(t, s.Name(), seed)
		v, err := NewVerifier(vkey)
		if err == nil && v.KeyHash() == s.KeyHash() {
			return v
		}
	}
	t.Fatal("no verifier for signer")
	return nil
}

func TestCosignatureVerifierKeys(t *testing.T) {
	_, vkey, _ := NewCosignerKey(detRand(3), "w.example/a")
	good, _ := NewCosignatureVerifier(vkey)
	name, _, key, _ := splitVerifierKey(vkey)
	for _, tc := range []struct {
		name, vkey string
	}{
		{"no parts", "w.example"},
		{"bad id", strings.Replace(vkey, fmt.Sprintf("%08x", good.KeyHash()), "00000000", 1)},
		{"short id", name + "+abc+" + strings.SplitN(vkey, "+", 3)[2]},
		{"ml-dsa type", fmt.Sprintf("%s+%08x+%s", name, good.KeyHash(), "Bg==")},
		{"unknown type", strings.Replace(vkey, "+B", "+C", 1)},
		{"space in name", "a b+00000000+BA=="},
		{"short key", fmt.Sprintf("%s+%08x+BAAA", name, good.KeyHash())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewCosignatureVerifier(tc.vkey); !errors.Is(err, ErrMalformedKey) {
				t.Fatalf("got %v, want ErrMalformedKey", err)
			}
		})
	}
	_ = key
	// Zero and huge timestamps are rejected even with a valid signature
	// over them.
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	v := &CosignatureVerifier{name: "x", typ: CosignatureType, pub: priv.Public().(ed25519.PublicKey)}
	msg := []byte("o\n1\n" + EmptyRoot().String() + "\n")
	for _, ts := range []uint64{0, 1 << 63} {
		sig := make([]byte, 8)
		for i := range 8 {
			sig[i] = byte(ts >> (56 - 8*i))
		}
		sig = append(sig, ed25519.Sign(priv, cosignedMessage(ts, msg))...)
		if v.Verify(msg, sig) {
			t.Errorf("timestamp %d accepted", ts)
		}
	}
}

// policyFixture makes witnesses that cosign a checkpoint.
type policyFixture struct {
	logSigner note.Signer
	logKey    string
	cosigners map[string]*Cosigner // by letter
	vkeys     map[string]string
}

func newPolicyFixture(t *testing.T, names ...string) *policyFixture {
	f := &policyFixture{cosigners: map[string]*Cosigner{}, vkeys: map[string]string{}}
	f.logSigner, f.logKey = testLogKey(t, "example.com/log", 1)
	for i, n := range names {
		skey, vkey, err := NewCosignerKey(detRand(100+i), "witness.example/"+n)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseCosignerKey(skey, func() time.Time { return time.Unix(int64(1700000000+i), 0) })
		if err != nil {
			t.Fatal(err)
		}
		f.cosigners[n], f.vkeys[n] = c, vkey
	}
	return f
}

// checkpoint returns a log-signed checkpoint cosigned by the named witnesses.
func (f *policyFixture) checkpoint(t *testing.T, by ...string) []byte {
	signers := []note.Signer{f.logSigner}
	for _, n := range by {
		signers = append(signers, f.cosigners[n])
	}
	b, err := note.Sign(&note.Note{Text: string(Checkpoint{Origin: "example.com/log", Size: 3, Hash: EmptyRoot()}.Marshal())}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expand replaces $X with witness X's vkey and $LOG with the log key.
func (f *policyFixture) expand(s string) string {
	s = strings.ReplaceAll(s, "$LOG", f.logKey)
	for n, k := range f.vkeys {
		s = strings.ReplaceAll(s, "$"+n, k)
	}
	return s
}

// TestPolicyQuorum runs the C2SP tlog-policy example (two groups of three
// witnesses, 2 of X and any of Y) and simpler policies against checkpoints
// cosigned by different subsets.
func TestPolicyQuorum(t *testing.T) {
	f := newPolicyFixture(t, "X1", "X2", "X3", "Y1", "Y2", "Y3")
	specExample := `log $LOG

witness X1 $X1
witness X2 $X2
witness X3 $X3
group X-witnesses 2 X1 X2 X3

witness Y1 $Y1
witness Y2 $Y2
witness Y3 $Y3
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
`
	for _, tc := range []struct {
		name   string
		policy string
		by     []string
		ok     bool
	}{
		{"spec example met", specExample, []string{"X1", "X3", "Y2"}, true},
		{"spec example, all", specExample, []string{"X1", "X2", "X3", "Y1", "Y2", "Y3"}, true},
		{"spec example, one X", specExample, []string{"X1", "Y1", "Y2"}, false},
		{"spec example, no Y", specExample, []string{"X1", "X2", "X3"}, false},
		{"spec example, none", specExample, nil, false},
		{"single witness", "witness A $X1\nquorum A\n", []string{"X1"}, true},
		{"single witness missing", "witness A $X1\nquorum A\n", []string{"X2"}, false},
		{"quorum none", "quorum none\n", nil, true},
		{"quorum none with witnesses", "witness A $X1\nquorum none\n", nil, true},
		{"tabs, comments, no final newline", "  # c\n\twitness\tA \t$X1 https://w.example/\n\n# x\n  quorum   A  ", []string{"X1"}, true},
		{"log mismatch", "log " + strings.Replace(witnessTestKey(t, 9), "", "", 1) + "\nquorum none\n", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(f.expand(tc.policy)))
			if err != nil {
				t.Fatal(err)
			}
			cos, err := CheckQuorum(p, f.checkpoint(t, tc.by...))
			if tc.ok != (err == nil) {
				t.Fatalf("CheckQuorum: %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrQuorum) {
				t.Fatalf("error %v isn't ErrQuorum", err)
			}
			// Every cosignature from a policy witness comes back with its time.
			want := 0
			for _, w := range p.Witnesses {
				for _, b := range tc.by {
					if f.vkeys[b] == w.Key {
						want++
					}
				}
			}
			if len(cos) != want {
				t.Fatalf("%d cosignatures returned, want %d", len(cos), want)
			}
			for _, c := range cos {
				if c.Time.Unix() < 1700000000 || c.Time.Unix() > 1700000005 {
					t.Fatalf("cosignature time %v", c.Time)
				}
			}
		})
	}
}

func witnessTestKey(t *testing.T, seed byte) string {
	_, vkey := testLogKey(t, "other.example/log", seed)
	return vkey
}

func TestCheckQuorumRejectsBadCosignature(t *testing.T) {
	f := newPolicyFixture(t, "A", "B")
	p, err := ParsePolicy([]byte(f.expand("log $LOG\nwitness A $A\nwitness B $B\ngroup g any A B\nquorum g\n")))
	if err != nil {
		t.Fatal(err)
	}
	cp := f.checkpoint(t, "A", "B")
	// Corrupt B's signature: the note is rejected even though A's is fine.
	lines := strings.Split(strings.TrimSuffix(string(cp), "\n"), "\n")
	last := lines[len(lines)-1]
	sp := strings.LastIndexByte(last, ' ')
	sig := []byte(last[sp+1:])
	sig[20] ^= 1
	if sig[20] == '+' || sig[20] == '/' {
		sig[20] = 'A'
	}
	lines[len(lines)-1] = last[:sp+1] + string(sig)
	bad := strings.Join(lines, "\n") + "\n"
	if _, err := CheckQuorum(p, []byte(bad)); err == nil {
		t.Fatal("a note with a bad cosignature from a policy witness passed")
	}
	// A plain Ed25519 note signature by a witness's key carries no time
	// and doesn't count as its cosignature.
	skey, _, err := note.GenerateKey(detRand(50), "witness.example/P")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	cos, err := NewCosigner("witness.example/P", ed25519.NewKeyFromSeed(func() []byte { b := make([]byte, 32); detRand(50).Read(b); return b }()), nil)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := ParsePolicy([]byte("witness P " + cos.VerifierKey() + "\nquorum P\n"))
	if err != nil {
		t.Fatal(err)
	}
	text := Checkpoint{Origin: "example.com/log", Size: 3, Hash: EmptyRoot()}.Marshal()
	withPlain, _ := note.Sign(&note.Note{Text: string(text)}, f.logSigner, plain)
	if _, err := CheckQuorum(p2, withPlain); !errors.Is(err, ErrQuorum) {
		t.Fatalf("a plain signature met the quorum: %v", err)
	}
	withCosig, _ := note.Sign(&note.Note{Text: string(text)}, f.logSigner, cos)
	if _, err := CheckQuorum(p2, withCosig); err != nil {
		t.Fatalf("the same key's cosignature didn't: %v", err)
	}
}

func TestParsePolicyRejects(t *testing.T) {
	f := newPolicyFixture(t, "A", "B")
	for _, tc := range []struct{ name, policy, want string }{
		{"no quorum", "witness A $A\n", "no quorum"},
		{"two quorums", "witness A $A\nquorum A\nquorum A\n", "second quorum"},
		{"undefined quorum", "quorum A\nwitness A $A\n", "isn't defined"},
		{"undefined member", "group g any A\nwitness A $A\nquorum g\n", "isn't defined"},
		{"duplicate member", "witness A $A\ngroup g any A A\nquorum g\n", "twice"},
		{"none member", "witness A $A\ngroup g any A none\nquorum g\n", "none"},
		{"define none", "witness none $A\nquorum none\n", "reserved"},
		{"duplicate name", "witness A $A\nwitness A $B\nquorum A\n", "defined twice"},
		{"group name clash", "witness A $A\ngroup A any A\nquorum A\n", "defined twice"},
		{"duplicate key", "witness A $A\nwitness B $A\nquorum A\n", "already"},
		{"k zero", "witness A $A\ngroup g 0 A\nquorum g\n", "threshold"},
		{"k too big", "witness A $A\ngroup g 2 A\nquorum g\n", "threshold"},
		{"k leading zero", "witness A $A\ngroup g 01 A\nquorum g\n", "threshold"},
		{"group without members", "witness A $A\ngroup g any\nquorum g\n", "want"},
		{"unknown keyword", "witnes A $A\nquorum none\n", "unknown keyword"},
		{"control char", "witness A $A\r\nquorum none\n", "control"},
		{"witness with a log's (type 0x01) key", "log $LOG\nwitness A $LOG\nquorum A\n", "0x01"},
		{"too many fields", "witness A $A https://x #comment\nquorum A\n", "want"},
		{"bad log key", "log nope\nquorum none\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(f.expand(tc.policy)))
			if !errors.Is(err, ErrMalformedPolicy) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrMalformedPolicy with %q", err, tc.want)
			}
		})
	}
}

func TestNewWitnessPolicy(t *testing.T) {
	f := newPolicyFixture(t, "A", "B", "C")
	keys := []string{f.vkeys["A"], f.vkeys["B"], f.vkeys["C"]}
	p, err := NewWitnessPolicy(keys, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckQuorum(p, f.checkpoint(t, "C", "A")); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckQuorum(p, f.checkpoint(t, "B")); !errors.Is(err, ErrQuorum) {
		t.Fatalf("one of three passed a quorum of 2: %v", err)
	}
	for _, k := range []int{-1, 4} {
		if _, err := NewWitnessPolicy(keys, k); err == nil {
			t.Fatalf("quorum %d accepted", k)
		}
	}
	if p, err := NewWitnessPolicy(nil, 0); err != nil || p.Quorum != "none" {
		t.Fatalf("no witnesses: %v %v", p, err)
	}
}

func FuzzParsePolicy(f *testing.F) {
	fx := newPolicyFixture(&testing.T{}, "A", "B")
	f.Add([]byte(fx.expand("log $LOG https://log.example/\nwitness A $A https://a.example/\nwitness B $B\ngroup g 1 A B\ngroup h all g\nquorum h\n")))
	f.Add([]byte("quorum none\n"))
	f.Add([]byte(fx.expand("# c\n\twitness A\t$A\n group g any A\nquorum g")))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			return
		}
		// The canonical text parses to the same policy.
		s := p.String()
		p2, err := ParsePolicy([]byte(s))
		if err != nil {
			t.Fatalf("canonical text doesn't parse: %v\n%s", err, s)
		}
		if p2.String() != s {
			t.Fatalf("canonical text changed:\n%s\n%s", s, p2.String())
		}
		CheckQuorum(p, fx.checkpoint(t, "A"))
	})
}

// evidenceFixture is a log that forked: tree "a" and tree "b" share the
// first `common` leaves.
func forkedTrees(common, na, nb int) (*memTiles, *memTiles) {
	la := make([][]byte, na)
	lb := make([][]byte, nb)
	for i := range la {
		la[i] = fmt.Appendf(nil, "leaf-%d", i)
		if i >= common {
			la[i] = fmt.Appendf(nil, "a-%d", i)
		}
	}
	for i := range lb {
		lb[i] = fmt.Appendf(nil, "leaf-%d", i)
		if i >= common {
			lb[i] = fmt.Appendf(nil, "b-%d", i)
		}
	}
	return newMemTiles(la), newMemTiles(lb)
}

func TestEvidence(t *testing.T) {
	ctx := context.Background()
	s, vkey := testLogKey(t, "example.com/log", 1)
	_, otherKey := testLogKey(t, "example.com/log", 2)
	for _, tc := range []struct {
		name         string
		common       int
		sizeA, sizeB uint64
		fork         bool
	}{
		{"same size", 3, 7, 7, true},
		{"grown, odd size", 3, 7, 20, true},
		{"grown, power of two", 3, 8, 300, true},
		{"fork after the smaller size", 10, 7, 20, false},
		{"equal", 10, 7, 7, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := forkedTrees(tc.common, int(tc.sizeA), int(tc.sizeB))
			na := signedCheckpoint(t, s, tc.sizeA, a.root(t, tc.sizeA))
			nb := signedCheckpoint(t, s, tc.sizeB, b.root(t, tc.sizeB))
			var prefix Hash
			var proof []Hash
			if tc.sizeA != tc.sizeB {
				var err error
				proof, err = ConsistencyProof(ctx, tc.sizeA, tc.sizeB, b.reader(tc.sizeB))
				if err != nil {
					t.Fatal(err)
				}
				prefix = b.root(t, tc.sizeA)
			}
			ev, err := NewEvidence(vkey, nb, na, prefix, proof, "test", "2026-01-01T00:00:00Z")
			if !tc.fork {
				if !errors.Is(err, ErrEvidence) {
					t.Fatalf("consistent checkpoints made evidence: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sv, err := VerifyEvidence(vkey, ev)
			if err != nil {
				t.Fatal(err)
			}
			if sv.A.Size != tc.sizeA || sv.B.Size != tc.sizeB || !strings.Contains(sv.String(), "example.com/log") {
				t.Fatalf("split view %+v", sv)
			}
			if _, err := VerifyEvidence(otherKey, ev); !errors.Is(err, ErrEvidence) {
				t.Fatalf("evidence verified under another key: %v", err)
			}
			if !IsEvidence(ev) {
				t.Fatal("IsEvidence is false")
			}
			// The push path: a witness holding checkpoint A derives the
			// prefix root from the proof alone (not for powers of two).
			if tc.sizeA != tc.sizeB {
				r1, r2, ok := ConsistencyRoots(tc.sizeA, tc.sizeB, proof)
				pow2 := tc.sizeA&(tc.sizeA-1) == 0
				if ok == pow2 {
					t.Fatalf("ConsistencyRoots ok=%v for size %d", ok, tc.sizeA)
				}
				if ok && (r1 != prefix || r2 != b.root(t, tc.sizeB)) {
					t.Fatal("ConsistencyRoots gave the wrong roots")
				}
			}
			// Any change to the evidence breaks it.
			var e Evidence
			json.Unmarshal(ev, &e)
			if e.Proof != nil {
				e2 := e
				p2 := *e.Proof
				p2.PrefixRoot = a.root(t, tc.sizeA)
				e2.Proof = &p2
				evidenceMustFail(t, vkey, e2)
				if len(p2.Consistency) > 0 {
					p3 := *e.Proof
					p3.Consistency = append([]Hash(nil), p3.Consistency...)
					p3.Consistency[0][0] ^= 1
					e3 := e
					e3.Proof = &p3
					evidenceMustFail(t, vkey, e3)
				}
				e4 := e
				e4.Proof = nil
				evidenceMustFail(t, vkey, e4)
			}
			e5 := e
			e5.Checkpoints = []string{e.Checkpoints[0], strings.Replace(e.Checkpoints[1], "\n"+fmt.Sprint(tc.sizeB)+"\n", "\n"+fmt.Sprint(tc.sizeB+1)+"\n", 1)}
			evidenceMustFail(t, vkey, e5)
		})
	}
}

func evidenceMustFail(t *testing.T, vkey string, e Evidence) {
	t.Helper()
	b, _ := json.Marshal(e)
	if _, err := VerifyEvidence(vkey, b); !errors.Is(err, ErrEvidence) {
		t.Fatalf("changed evidence verified: %v\n%s", err, b)
	}
}

func TestParseEvidenceRejects(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		err       error
	}{
		{"not json", "nope", ErrNotEvidence},
		{"a bundle", `{"type":"bundle"}`, ErrNotEvidence},
		{"unknown field", `{"type":"parley-split-view-evidence-v1","checkpoints":["",""],"x":1}`, ErrEvidence},
		{"one checkpoint", `{"type":"parley-split-view-evidence-v1","checkpoints":[""]}`, ErrEvidence},
		{"trailing data", `{"type":"parley-split-view-evidence-v1","checkpoints":["",""]} {}`, ErrNotEvidence},
		{"bad checkpoints", `{"type":"parley-split-view-evidence-v1","log_key":"x","checkpoints":["",""]}`, ErrEvidence},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := VerifyEvidence("", []byte(tc.doc)); !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
		})
	}
}

// TestConsistencyRootsMatchesVerifier checks ConsistencyRoots against the
// merkle library's verifier for every pair of sizes up to 40.
func TestConsistencyRootsMatchesVerifier(t *testing.T) {
	ctx := context.Background()
	m := testTree("x", 40)
	for n := uint64(2); n <= 40; n++ {
		for k := uint64(1); k < n; k++ {
			p, err := ConsistencyProof(ctx, k, n, m.reader(n))
			if err != nil {
				t.Fatal(err)
			}
			r1, r2, ok := ConsistencyRoots(k, n, p)
			if k&(k-1) == 0 {
				if ok {
					t.Fatalf("%d→%d: ok for a power of two", k, n)
				}
				continue
			}
			if !ok || r1 != m.root(t, k) || r2 != m.root(t, n) {
				t.Fatalf("%d→%d: wrong roots (ok=%v)", k, n, ok)
			}
			if len(p) > 1 {
				if _, _, ok := ConsistencyRoots(k, n, p[:len(p)-1]); ok {
					t.Fatalf("%d→%d: truncated proof ran", k, n)
				}
			}
		}
	}
}

func FuzzVerifyEvidence(f *testing.F) {
	s, vkey := testLogKey(f, "example.com/log", 1)
	a, b := forkedTrees(3, 7, 20)
	t := &testing.T{}
	na := signedCheckpoint(t, s, 7, a.root(t, 7))
	nb := signedCheckpoint(t, s, 20, b.root(t, 20))
	proof, _ := ConsistencyProof(context.Background(), 7, 20, b.reader(20))
	ev, err := NewEvidence(vkey, na, nb, b.root(t, 7), proof, "", "")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ev)
	same, _ := NewEvidence(vkey, na, signedCheckpoint(t, s, 7, b.root(t, 7)), Hash{}, nil, "", "")
	f.Add(same)
	for _, s := range hostileSeeds(ev, "checkpoints") {
		f.Add(s)
	}
	for _, s := range hostileSeeds(ev, "consistency") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sv SplitView
		var err error
		allocBounded(t, len(data), func() { sv, err = VerifyEvidence(vkey, data) })
		if err != nil {
			return
		}
		if !utf8.Valid(data) || bytes.HasPrefix(data, []byte("\ufeff")) {
			t.Fatal("verified evidence of invalid UTF-8, or after a byte order mark")
		}
		// Whatever verifies parses, and re-encodes to evidence that
		// still verifies.
		e, err := ParseEvidence(data)
		if err != nil {
			t.Fatalf("verified evidence doesn't parse: %v", err)
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		sv2, err := VerifyEvidence(vkey, out)
		if err != nil || sv2.String() != sv.String() {
			t.Fatalf("re-encoded evidence: %v", err)
		}
	})
}

// TestQuorumAgainstFormats evaluates the C2SP tlog-policy example (with
// witness URLs, which transparency-dev/formats requires) on every subset
// of its six witnesses with our CheckQuorum and with formats' independent
// policy evaluator: they agree on all 64.
func TestQuorumAgainstFormats(t *testing.T) {
	names := []string{"X1", "X2", "X3", "Y1", "Y2", "Y3"}
	f := newPolicyFixture(t, names...)
	policy := f.expand(`log $LOG
witness X1 $X1 https://x1.example/
witness X2 $X2 https://x2.example/
witness X3 $X3 https://x3.example/
group X-witnesses 2 X1 X2 X3
witness Y1 $Y1 https://y1.example/
witness Y2 $Y2 https://y2.example/
witness Y3 $Y3 https://y3.example/
group Y-witnesses any Y1 Y2 Y3
group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
`)
	ours, err := ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := fwitness.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	met := 0
	for mask := 0; mask < 64; mask++ {
		var by []string
		for i, n := range names {
			if mask&(1<<i) != 0 {
				by = append(by, n)
			}
		}
		cp := f.checkpoint(t, by...)
		_, err := CheckQuorum(ours, cp)
		if (err == nil) != theirs.Satisfied(cp) {
			t.Fatalf("cosigned by %v: ours %v, formats %v", by, err, theirs.Satisfied(cp))
		}
		if err == nil {
			met++
		}
	}
	// 2 of X: 4 subsets of X; any of Y: 7 subsets of Y.
	if met != 4*7 {
		t.Fatalf("quorum met by %d subsets, want 28", met)
	}
}

var updateEvidence = flag.Bool("update-evidence", false, "rewrite testdata/evidence/*.json")

// TestEvidenceGolden pins the evidence wire format with two vectors made
// from fixed keys (Ed25519 signatures are deterministic): other
// implementations can check they accept them, and a change to the format
// shows up here. The expected one-line meaning is checked too.
func TestEvidenceGolden(t *testing.T) {
	ctx := context.Background()
	s, vkey := testLogKey(t, "example.com/log", 1)
	a, b := forkedTrees(3, 7, 20)
	proof, err := ConsistencyProof(ctx, 7, 20, b.reader(20))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file, means string
		a, b        []byte
		prefix      Hash
		proof       []Hash
	}{
		{"fork-v1.json", "log example.com/log signed size 7 with root " + a.root(t, 7).String() + " and size 20 whose tree has root " + b.root(t, 7).String() + " at size 7",
			signedCheckpoint(t, s, 7, a.root(t, 7)), signedCheckpoint(t, s, 20, b.root(t, 20)), b.root(t, 7), proof},
		{"same-size-v1.json", "log example.com/log signed two checkpoints of size 7 with roots " + a.root(t, 7).String() + " and " + b.root(t, 7).String(),
			signedCheckpoint(t, s, 7, a.root(t, 7)), signedCheckpoint(t, s, 7, b.root(t, 7)), Hash{}, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := NewEvidence(vkey, tc.a, tc.b, tc.prefix, tc.proof, "test", "2026-01-01T00:00:00Z")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "evidence", tc.file)
			if *updateEvidence {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("evidence changed (run with -update-evidence if on purpose):\n%s", got)
			}
			sv, err := VerifyEvidence(vkey, want)
			if err != nil || sv.String() != tc.means {
				t.Fatalf("%q, %v; want %q", sv, err, tc.means)
			}
		})
	}
}

func TestCompareCheckpoints(t *testing.T) {
	ctx := context.Background()
	s, vkey := testLogKey(t, "example.com/log", 1)
	for _, tc := range []struct {
		name           string
		common, sa, sb int
		fork           bool
		liar           bool // the reader serves a third tree
	}{
		{"consistent growth", 30, 7, 20, false, false},
		{"equal", 30, 7, 7, false, false},
		{"fork, larger", 3, 7, 20, true, false},
		{"fork, same size", 3, 7, 7, true, false},
		{"fork, power of two", 3, 8, 20, true, false},
		{"reader of another tree", 3, 7, 20, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := forkedTrees(tc.common, tc.sa, tc.sb)
			na := signedCheckpoint(t, s, uint64(tc.sa), a.root(t, uint64(tc.sa)))
			nb := signedCheckpoint(t, s, uint64(tc.sb), b.root(t, uint64(tc.sb)))
			reader := b.reader(uint64(tc.sb))
			if tc.liar {
				reader = testTree("third", tc.sb).reader(uint64(tc.sb))
			}
			// Either order.
			for _, pair := range [][2][]byte{{na, nb}, {nb, na}} {
				ev, err := CompareCheckpoints(ctx, vkey, pair[0], pair[1], reader)
				switch {
				case tc.liar:
					if err == nil || errors.Is(err, ErrSplitView) {
						t.Fatalf("a lying reader gave %v", err)
					}
				case !tc.fork:
					if err != nil || ev != nil {
						t.Fatalf("consistent checkpoints: %v", err)
					}
				default:
					if !errors.Is(err, ErrSplitView) {
						t.Fatalf("fork not found: %v", err)
					}
					if _, err := VerifyEvidence(vkey, ev); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// TestCosignerAt: a signer from Cosigner.At signs with the cosigner's key
// and name, carries the time given instead of the clock's, and leaves
// the cosigner's own clock as it was.
func TestCosignerAt(t *testing.T) {
	skey, vkey, err := NewCosignerKey(detRand(9), "witness.example/at")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCosignerKey(skey, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_700_000_123, 0)
	logSigner, _ := testLogKey(t, "example.com/log", 1)
	cp := signedCheckpoint(t, logSigner, 5, testTree("a", 5).root(t, 5))
	n, err := note.Open(cp, note.VerifierList(mustVerifier(t, logSigner)))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(n, c.At(at))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("the signature of At doesn't verify under the cosigner's key: %v", err)
	}
	if ts, err := CosignatureTime(got.Sigs[0].Base64); err != nil || !ts.Equal(at) {
		t.Fatalf("time %v (%v), want %v", ts, err, at)
	}
	if !c.Now().Equal(fixedNow()) {
		t.Fatalf("the cosigner's clock says %v, want %v", c.Now(), fixedNow())
	}
}

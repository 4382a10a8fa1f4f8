package private

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// vectorFile is RFC 9497 Appendix A as shipped by circl (see
// testdata/oprf/README.md).
var vectorFile = filepath.Join("..", "testdata", "oprf", "rfc9497.json")

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

// hexList is a comma-separated list of hex values (batched vectors).
type hexList [][]byte

func (h *hexList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, part := range strings.Split(s, ",") {
		v, err := hex.DecodeString(part)
		if err != nil {
			return err
		}
		*h = append(*h, v)
	}
	return nil
}

type vectorBlock struct {
	Identifier string    `json:"identifier"`
	Mode       oprf.Mode `json:"mode"`
	Seed       hexBytes  `json:"seed"`
	KeyInfo    hexBytes  `json:"keyInfo"`
	SkSm       hexBytes  `json:"skSm"`
	PkSm       hexBytes  `json:"pkSm"`
	Vectors    []struct {
		Batch             int      `json:"Batch"`
		Input             hexList  `json:"Input"`
		Info              hexBytes `json:"Info"`
		Blind             hexList  `json:"Blind"`
		BlindedElement    hexList  `json:"BlindedElement"`
		EvaluationElement hexList  `json:"EvaluationElement"`
		Output            hexList  `json:"Output"`
		Proof             struct {
			Proof hexBytes `json:"proof"`
			R     hexBytes `json:"r"`
		} `json:"Proof"`
	} `json:"vectors"`
}

func loadVectors(t *testing.T) []vectorBlock {
	t.Helper()
	b, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []vectorBlock
	if err := json.Unmarshal(b, &blocks); err != nil {
		t.Fatalf("couldn't parse %s: %v", vectorFile, err)
	}
	return blocks
}

func marshalAll(t *testing.T, es []group.Element) [][]byte {
	t.Helper()
	out := make([][]byte, len(es))
	for i, e := range es {
		b, err := e.MarshalBinaryCompress()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func equalLists(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestRFC9497Vectors checks every suite circl implements in all three
// modes: key derivation, blinding, evaluation, the batched DLEQ proof
// (reproduced byte for byte from the vector's randomness) and Finalize.
func TestRFC9497Vectors(t *testing.T) {
	blocks := loadVectors(t)
	checked := 0
	for _, blk := range blocks {
		s, err := oprf.GetSuite(blk.Identifier)
		if err != nil {
			t.Logf("suite %s not provided by circl/oprf; skipped", blk.Identifier)
			continue
		}
		name := blk.Identifier + "/mode" + string('0'+rune(blk.Mode))
		t.Run(name, func(t *testing.T) {
			g := s.Group()
			sk, err := oprf.DeriveKey(s, blk.Mode, blk.Seed, blk.KeyInfo)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := sk.MarshalBinary(); !bytes.Equal(b, blk.SkSm) {
				t.Fatalf("skSm = %x, want %x", b, blk.SkSm)
			}
			pk := sk.Public()
			if blk.Mode != oprf.BaseMode {
				if b, _ := pk.MarshalBinary(); !bytes.Equal(b, blk.PkSm) {
					t.Fatalf("pkSm = %x, want %x", b, blk.PkSm)
				}
			}
			dst := append([]byte("OPRFV1-"), blk.Mode, '-')
			dst = append(dst, blk.Identifier...)
			params := dleq.Params{G: g, H: s.Hash(), DST: dst}
			kScalar := g.NewScalar()
			if err := kScalar.UnmarshalBinary(blk.SkSm); err != nil {
				t.Fatal(err)
			}
			for i, v := range blk.Vectors {
				blinds := make([]oprf.Blind, len(v.Blind))
				for j, bb := range v.Blind {
					blinds[j] = g.NewScalar()
					if err := blinds[j].UnmarshalBinary(bb); err != nil {
						t.Fatal(err)
					}
				}
				var (
					fin  *oprf.FinalizeData
					req  *oprf.EvaluationRequest
					eval *oprf.Evaluation
					outs [][]byte
				)
				proof := new(dleq.Proof)
				if blk.Mode != oprf.BaseMode {
					if err := proof.UnmarshalBinary(g, v.Proof.Proof); err != nil {
						t.Fatal(err)
					}
				}
				r := g.NewScalar()
				switch blk.Mode {
				case oprf.BaseMode:
					c := oprf.NewClient(s)
					if fin, req, err = c.DeterministicBlind(v.Input, blinds); err != nil {
						t.Fatal(err)
					}
					if eval, err = oprf.NewServer(s, sk).Evaluate(req); err != nil {
						t.Fatal(err)
					}
					outs, err = c.Finalize(fin, eval)
				case oprf.VerifiableMode:
					c := oprf.NewVerifiableClient(s, pk)
					if fin, req, err = c.DeterministicBlind(v.Input, blinds); err != nil {
						t.Fatal(err)
					}
					if eval, err = oprf.NewVerifiableServer(s, sk).Evaluate(req); err != nil {
						t.Fatal(err)
					}
					// The proof from the vector's randomness must be the vector's proof.
					if err := r.UnmarshalBinary(v.Proof.R); err != nil {
						t.Fatal(err)
					}
					pkE := g.NewElement().MulGen(kScalar)
					p, err := dleq.Prover{Params: params}.ProveBatchWithRandomnessRFC9497(kScalar, pkE, req.Elements, eval.Elements, r)
					if err != nil {
						t.Fatal(err)
					}
					if pb, _ := p.MarshalBinary(); !bytes.Equal(pb, v.Proof.Proof) {
						t.Fatalf("vector %d: proof = %x, want %x", i, pb, v.Proof.Proof)
					}
					eval.Proof = proof
					outs, err = c.Finalize(fin, eval)
				case oprf.PartialObliviousMode:
					c := oprf.NewPartialObliviousClient(s, pk)
					if fin, req, err = c.DeterministicBlind(v.Input, blinds); err != nil {
						t.Fatal(err)
					}
					if eval, err = oprf.NewPartialObliviousServer(s, sk).Evaluate(req, v.Info); err != nil {
						t.Fatal(err)
					}
					eval.Proof = proof
					outs, err = c.Finalize(fin, eval, v.Info)
				}
				if err != nil {
					t.Fatalf("vector %d: finalize with the vector's proof: %v", i, err)
				}
				if got := marshalAll(t, req.Elements); !equalLists(got, v.BlindedElement) {
					t.Errorf("vector %d: blinded elements differ", i)
				}
				if got := marshalAll(t, eval.Elements); !equalLists(got, v.EvaluationElement) {
					t.Errorf("vector %d: evaluation elements differ", i)
				}
				if !equalLists(outs, v.Output) {
					t.Errorf("vector %d: outputs differ", i)
				}
			}
			checked++
		})
	}
	if checked == 0 {
		t.Fatal("no vector block was checked")
	}
}

// TestProviderVectors runs this package's own key parsing, evaluation,
// proof and tag code on the ristretto255-SHA512 VOPRF vectors.
func TestProviderVectors(t *testing.T) {
	for _, blk := range loadVectors(t) {
		if blk.Identifier != SuiteID || blk.Mode != oprf.VerifiableMode {
			continue
		}
		key, err := ParsePrivateKey(blk.SkSm)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(key.Public().Bytes(), blk.PkSm) {
			t.Fatalf("public key = %x, want %x", key.Public().Bytes(), blk.PkSm)
		}
		p := NewProvider(key, nil)
		for i, v := range blk.Vectors {
			in, err := parseElements(v.BlindedElement)
			if err != nil {
				t.Fatal(err)
			}
			r := grp.NewScalar()
			if err := r.UnmarshalBinary(v.Proof.R); err != nil {
				t.Fatal(err)
			}
			resp, err := p.evaluate(in, r)
			if err != nil {
				t.Fatal(err)
			}
			if !equalLists(resp.Elements, v.EvaluationElement) {
				t.Errorf("vector %d: evaluations differ", i)
			}
			if !bytes.Equal(resp.Proof, v.Proof.Proof) {
				t.Errorf("vector %d: proof = %x, want %x", i, resp.Proof, v.Proof.Proof)
			}
			for j, input := range v.Input {
				tag, err := p.TagCanonical(string(input))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(tag[:], v.Output[j][:TagSize]) {
					t.Errorf("vector %d input %d: tag %s, want prefix of %x", i, j, tag, v.Output[j])
				}
			}
		}
		return
	}
	t.Fatal("no ristretto255-SHA512 VOPRF block in the vectors")
}

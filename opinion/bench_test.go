package opinion

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// benchOpinions returns n signed opinion versions on reportID from
// members members (each member's opinions are successive versions and
// new ids, so most are superseded), their keys and the members.
func benchOpinions(b *testing.B, n, members int) ([][]byte, Keys, []member) {
	b.Helper()
	ms := make([]member, members)
	for i := range ms {
		ms[i] = newMember(i + 1)
	}
	raws := make([][]byte, n)
	for i := range raws {
		m := ms[i%members]
		raws[i] = m.signed(b, spec{id: i / 3, minute: i, value: Values[i%len(Values)], confidence: i % 101})
	}
	return raws, keysOf(ms...), ms
}

// BenchmarkCompute tallies 1,000 verified opinion versions of 100 members.
func BenchmarkCompute(b *testing.B) {
	raws, keys, _ := benchOpinions(b, 1000, 100)
	ops := verifyAll(b, keys, raws...)
	b.ResetTimer()
	for b.Loop() {
		if t := Compute(reportID, ops); t.Voices() != 100 {
			b.Fatalf("%d voices", t.Voices())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/opinion")
}

// BenchmarkVerify is the per-opinion cost of Verify (parse, validate,
// canonicalize, Ed25519) beside a bare Ed25519 verification of the same
// message size: the ratio is the overhead of doing it properly.
func BenchmarkVerify(b *testing.B) {
	raws, keys, ms := benchOpinions(b, 1, 1)
	b.Run("opinion.Verify", func(b *testing.B) {
		for b.Loop() {
			if _, err := Verify(raws[0], keys); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ed25519.Verify", func(b *testing.B) {
		msg, _ := stix.StripSignature(raws[0])
		sig := ed25519.Sign(ms[0].key, msg)
		for b.Loop() {
			if !ed25519.Verify(ms[0].pub(), msg, sig) {
				b.Fatal("bad")
			}
		}
	})
}

// BenchmarkVerifyConcurrence checks a node's answer with 300 opinion
// versions in its evidence (log proofs, signatures, tally).
func BenchmarkVerifyConcurrence(b *testing.B) {
	for _, n := range []int{30, 300} {
		b.Run(fmt.Sprint(n, "-versions"), func(b *testing.B) {
			raws, _, ms := benchOpinions(b, n, 10)
			c, vkey := honestConcurrence(b, ms, raws...)
			b.ResetTimer()
			for b.Loop() {
				if _, err := VerifyConcurrence(c, vkey); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/version")
		})
	}
}

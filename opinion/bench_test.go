package opinion

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

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

// ed25519Bound returns a bare Ed25519 verification of a message the size
// of one canonical opinion: the floor of what checking an opinion costs.
func ed25519Bound(b *testing.B, m member, raw []byte) func() {
	msg, err := stix.StripSignature(raw)
	if err != nil {
		b.Fatal(err)
	}
	sig := ed25519.Sign(m.key, msg)
	return func() {
		if !ed25519.Verify(m.pub(), msg, sig) {
			b.Fatal("bad signature")
		}
	}
}

// interleave runs op and bound alternately and reports op's time per unit
// and its ratio to the bound, each side's fastest iteration: both sides
// see the same machine, whose load drifts on a shared box, and the
// fastest iteration is the one least disturbed by it.
func interleave(b *testing.B, units int, op, bound func()) {
	tOp, tBound := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		s := time.Now()
		op()
		tOp = min(tOp, time.Since(s))
		s = time.Now()
		for range units {
			bound()
		}
		tBound = min(tBound, time.Since(s))
	}
	b.ReportMetric(float64(tOp.Nanoseconds())/float64(units), "ns/opinion")
	b.ReportMetric(float64(tOp)/float64(tBound), "x-ed25519")
}

// BenchmarkVerify is the cost of Verify (parse, validate, canonicalize,
// Ed25519) against a bare Ed25519 verification: the overhead of doing it
// properly. Goal: at most 3x.
func BenchmarkVerify(b *testing.B) {
	raws, keys, ms := benchOpinions(b, 1, 1)
	interleave(b, 1, func() {
		if _, err := Verify(raws[0], keys); err != nil {
			b.Fatal(err)
		}
	}, ed25519Bound(b, ms[0], raws[0]))
}

// BenchmarkVerifyConcurrence checks a node's answer (log proofs,
// signatures, tally) per opinion version in its evidence, against bare
// Ed25519 verifications of as many opinions. Goal: at most 3x.
func BenchmarkVerifyConcurrence(b *testing.B) {
	for _, n := range []int{30, 300} {
		b.Run(fmt.Sprint(n, "-versions"), func(b *testing.B) {
			raws, _, ms := benchOpinions(b, n, 10)
			c, vkey := honestConcurrence(b, ms, raws...)
			interleave(b, n, func() {
				if _, err := VerifyConcurrence(c, vkey); err != nil {
					b.Fatal(err)
				}
			}, ed25519Bound(b, ms[0], raws[0]))
		})
	}
}

package private

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/cloudflare/circl/oprf"
)

// benchLines returns n distinct canonical lines.
func benchLines(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("ipv4-addr:10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	}
	return lines
}

// BenchmarkCirclEvaluate1000 is the bound: circl's own VerifiableServer
// evaluating a batch of 1,000 blinded elements with one proof.
func BenchmarkCirclEvaluate1000(b *testing.B) {
	sk, err := oprf.GenerateKey(oprf.SuiteRistretto255, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	srv := oprf.NewVerifiableServer(oprf.SuiteRistretto255, sk)
	c := oprf.NewVerifiableClient(oprf.SuiteRistretto255, sk.Public())
	in := make([][]byte, 1000)
	for i, l := range benchLines(1000) {
		in[i] = []byte(l)
	}
	_, req, err := c.Blind(in)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := srv.Evaluate(req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "elements/s")
}

// BenchmarkProviderEvaluate1000 is Provider.Evaluate on the wire form
// (decoding, evaluation, proof, encoding) of a batch of 1,000.
func BenchmarkProviderEvaluate1000(b *testing.B) {
	p := newTestProvider(b, 1)
	q := NewQuerier(p.PublicKey(), rand.Reader)
	_, req, err := q.Blind(benchLines(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Evaluate(req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "elements/s")
}

// BenchmarkQuerier1000 is the querier's side of a batch of 1,000: blind,
// then verify and finalize.
func BenchmarkQuerier1000(b *testing.B) {
	p := newTestProvider(b, 1)
	q := NewQuerier(p.PublicKey(), rand.Reader)
	lines := benchLines(1000)
	for b.Loop() {
		query, req, err := q.Blind(lines)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		resp, err := p.Evaluate(req)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := q.Finalize(query, resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildSet1M builds a set of 1M distinct values on all CPUs
// (run with -benchtime=1x).
func BenchmarkBuildSet1M(b *testing.B) {
	p := newTestProvider(b, 1)
	lines := benchLines(1 << 20)
	b.ResetTimer()
	for b.Loop() {
		s, err := p.BuildSet(context.Background(), lines)
		if err != nil {
			b.Fatal(err)
		}
		if s.Len() != len(lines) {
			b.Fatalf("set has %d tags, want %d", s.Len(), len(lines))
		}
	}
}

// BenchmarkTag is the provider's cost of one value's tag on one CPU
// (hash to the group, one scalar multiplication, the Finalize hash).
func BenchmarkTag(b *testing.B) {
	p := newTestProvider(b, 1)
	lines := benchLines(4096)
	i := 0
	for b.Loop() {
		if _, err := p.TagCanonical(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

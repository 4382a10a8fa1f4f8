package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/circl/oprf"

	"github.com/parley-exchange/parley/private"
)

// BenchmarkPrivateHTTPEvaluate1000 measures, in the same run, the node's
// POST /private/sets/{id}/evaluate with batches of 1,000 blinded elements
// (over loopback HTTP: authentication, the durable budget charge, JSON,
// decoding, evaluation, the batched proof, encoding) and circl's raw
// VerifiableServer.Evaluate on a batch of 1,000 already-decoded elements,
// alternating the two so that both see the same machine load. It reports
// both rates and their ratio (goal: at least 0.8). Blinding and proof
// verification happen on the querier's machine and are not counted: the
// batches are blinded before the timer starts.
func BenchmarkPrivateHTTPEvaluate1000(b *testing.B) {
	ctx := context.Background()
	n, _ := initNode(b, Options{})
	b.Cleanup(func() { n.Close() })
	n.privateAPI().setConfig(PrivateConfig{QueryBudget: 1 << 40, MaxBatch: 1000, RefreshInterval: Duration(time.Hour)})
	am, err := n.AddMember(ctx, "alice", nil)
	if err != nil {
		b.Fatal(err)
	}
	bm, err := n.AddMember(ctx, "bob", nil)
	if err != nil {
		b.Fatal(err)
	}
	coll, err := n.AddCollection(ctx, "shared", "", []string{"alice", "bob"}, []string{"alice"}, "")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(n.Handler(nil))
	b.Cleanup(srv.Close)
	alice := &private.Client{BaseURL: srv.URL, Token: am.Token}
	bob := &private.Client{BaseURL: srv.URL, Token: bm.Token}
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: coll, Values: []string{"domain-name:evil.example"}})
	if err != nil {
		b.Fatal(err)
	}
	key, err := private.ParsePublicKey(set.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	lines := make([]string, 1000)
	inputs := make([][]byte, 1000)
	for i := range lines {
		lines[i] = fmt.Sprintf("ipv4-addr:10.0.%d.%d", i/256, i%256)
		inputs[i] = []byte(lines[i])
	}
	_, req, err := private.NewQuerier(key, rand.Reader).Blind(lines)
	if err != nil {
		b.Fatal(err)
	}

	sk, err := oprf.GenerateKey(oprf.SuiteRistretto255, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	raw := oprf.NewVerifiableServer(oprf.SuiteRistretto255, sk)
	_, rawReq, err := oprf.NewVerifiableClient(oprf.SuiteRistretto255, sk.Public()).Blind(inputs)
	if err != nil {
		b.Fatal(err)
	}

	var httpTime, rawTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := bob.Evaluate(ctx, set.ID, req); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := raw.Evaluate(rawReq); err != nil {
			b.Fatal(err)
		}
		httpTime += mid.Sub(start)
		rawTime += time.Since(mid)
	}
	httpRate := float64(b.N*1000) / httpTime.Seconds()
	rawRate := float64(b.N*1000) / rawTime.Seconds()
	b.ReportMetric(httpRate, "http-elements/s")
	b.ReportMetric(rawRate, "circl-elements/s")
	b.ReportMetric(httpRate/rawRate, "ratio")
}

// BenchmarkPrivatePublishMemory measures the node's Go heap while one
// member publishes a body of about 1 MiB of values (POST /private/sets over
// loopback HTTP: decoding, normalisation, the tags on every CPU, storing),
// against what the publication reserved: the heap must stay under twice
// the idle live heap (GOGC=100) plus the reservation as the budget counts
// it (gcFactor × publishReservation), peak/bound ≤ 1. Two kinds of values:
// the shortest valid lines ("url:a:N", the most values a byte), domain
// names of typical length, and URLs of non-ASCII text (the longest
// canonical form a byte: each byte becomes %XX), of 1 KiB and one of
// 1 MiB. docs/benchmarks.md has the numbers.
func BenchmarkPrivatePublishMemory(b *testing.B) {
	ctx := context.Background()
	n, _ := initNode(b, Options{})
	b.Cleanup(func() { n.Close() })
	n.privateAPI().setConfig(PrivateConfig{RefreshInterval: Duration(time.Hour)})
	am, err := n.AddMember(ctx, "alice", nil)
	if err != nil {
		b.Fatal(err)
	}
	coll, err := n.AddCollection(ctx, "shared", "", []string{"alice"}, []string{"alice"}, "")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(n.Handler(nil))
	b.Cleanup(srv.Close)
	alice := &private.Client{BaseURL: srv.URL, Token: am.Token}
	for _, bc := range []struct {
		name   string
		format string
	}{
		{"short", "url:a:%d"}, {"domains", "domain-name:host-%d.some-company.example"},
		{"urls-1KiB", "url:http://a.example/%d/" + strings.Repeat("é", 500)}, {"one-url", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var values []string
			size := 0
			for i := 0; size < 1<<20; i++ {
				if bc.format == "" { // one value of 1 MiB, all of it escaped
					values = append(values, "url:http://a.example/"+strings.Repeat("é", 1<<19))
				} else {
					values = append(values, fmt.Sprintf(bc.format, i))
				}
				size += len(values[i]) + 3
			}
			body, _ := json.Marshal(private.PublishRequest{Collection: coll, Values: values})
			bound := func(idle int64) int64 {
				return 2*idle + gcFactor*publishReservation(int64(len(body)), DefaultPrivateMaxValues)
			}
			worst, worstIdle := 0.0, int64(0)
			var worstPeak int64
			for b.Loop() {
				runtime.GC()
				_, idle := readHeap()
				h := startHeapSampler()
				if _, err := alice.Publish(ctx, private.PublishRequest{Collection: coll, Values: values}); err != nil {
					b.Fatal(err)
				}
				peak, _ := h.peaks()
				if r := float64(peak) / float64(bound(idle)); r > worst {
					worst, worstIdle, worstPeak = r, idle, peak
				}
			}
			b.ReportMetric(float64(len(values)), "values")
			b.ReportMetric(mib(int64(len(body))), "body-MiB")
			b.ReportMetric(mib(worstPeak), "peak-MiB")
			b.ReportMetric(mib(bound(worstIdle)), "bound-MiB")
			b.ReportMetric(mib(worstPeak-2*worstIdle), "peak-2idle-MiB")
			b.ReportMetric(worst, "peak/bound")
		})
	}
}

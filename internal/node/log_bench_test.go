package node

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

// logBenchNode makes a node (not serving) with one member and collection and
// n sequenced, not yet integrated, entries; it returns the node, the
// member's token and the ids of the objects.
func logBenchNode(b *testing.B, n int) (*Node, string, []string) {
	b.Helper()
	ctx := context.Background()
	nd, _ := initNode(b, Options{})
	b.Cleanup(func() { nd.Close() })
	m, key, coll := addAliceShared(b, nd)
	c, _ := nd.store.Collection(ctx, coll)
	var ids []string
	for done := 0; done < n; {
		var objs []json.RawMessage
		for j := 0; j < 1000 && done < n; j, done = j+1, done+1 {
			id := stix.NewIdentifier("indicator")
			raw, _ := json.Marshal(map[string]any{
				"type": "indicator", "spec_version": "2.1", "id": id,
				"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
				"created_by_ref": m.ID, "name": fmt.Sprintf("bench %d", done),
				"pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
			})
			s, err := stix.Sign(raw, key)
			if err != nil {
				b.Fatal(err)
			}
			objs = append(objs, s)
			ids = append(ids, id)
		}
		st, err := nd.Submit(ctx, m.ID, c, objs)
		if err != nil || len(st.Failures) > 0 {
			b.Fatalf("submit: %v %v", err, st.Failures)
		}
	}
	return nd, m.Token, ids
}

// logRate runs op on every core for about d; operations per second.
func logRate(d time.Duration, op func()) float64 {
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d {
				for range 64 {
					op()
				}
				total.Add(64)
			}
		}()
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds()
}

func benchEntries() int {
	if s := os.Getenv("PARLEY_LOG_BENCH_ENTRIES"); s != "" {
		if v, err := strconv.Atoi(s); err == nil {
			return v
		}
	}
	return 20000
}

// BenchmarkIntegrate integrates PARLEY_LOG_BENCH_ENTRIES (default 20,000)
// sequenced entries, signing and durably storing a checkpoint (and the
// changed tiles) every N entries, and reports entries/s next to the
// machine's SHA-256 (leaf hash) and Ed25519 (sign) rates measured in the
// same run. Run with -benchtime=1x.
func BenchmarkIntegrate(b *testing.B) {
	for _, every := range []int{64, 1024, 4096} {
		b.Run(fmt.Sprintf("checkpoint-every-%d", every), func(b *testing.B) {
			n := benchEntries()
			var elapsed time.Duration
			for range b.N {
				b.StopTimer()
				nd, _, _ := logBenchNode(b, n)
				li, err := NewLogIntegrator(nd, LogIntegratorOptions{MaxBatch: every})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				size, err := li.Integrate(context.Background())
				elapsed += time.Since(start)
				if err != nil || size != int64(n) {
					b.Fatalf("integrated %d: %v", size, err)
				}
			}
			b.StopTimer()
			leaf := make([]byte, 330)
			shaRate := logRate(time.Second, func() { sha256.Sum256(leaf) })
			_, key, _ := ed25519.GenerateKey(crand.Reader)
			msg := make([]byte, 100)
			signRate := logRate(time.Second, func() { ed25519.Sign(key, msg) })
			// Per entry: a leaf hash and (amortized) one interior hash; per
			// checkpoint one signature.
			bound := 1 / (2/shaRate + 1/(signRate*float64(every)))
			got := float64(n*b.N) / elapsed.Seconds()
			b.ReportMetric(got, "entries/s")
			b.ReportMetric(shaRate, "sha256/s")
			b.ReportMetric(signRate, "ed25519-sign/s")
			b.ReportMetric(bound, "crypto-bound-entries/s")
		})
	}
}

// BenchmarkReceipts serves GET /log/receipt over HTTP (keep-alive, one
// client per core) for random object versions of an integrated log of
// PARLEY_LOG_BENCH_ENTRIES entries, next to the SHA-256 rate of the same
// run (a receipt costs a token hash and the proof's interior hashes,
// rebuilt from tiles).
func BenchmarkReceipts(b *testing.B) {
	n := benchEntries()
	nd, token, ids := logBenchNode(b, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	li, _ := NewLogIntegrator(nd, LogIntegratorOptions{})
	if _, err := li.Integrate(ctx); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go nd.Serve(ctx, ln, nil)
	url := "http://" + ln.Addr().String() + "/log/receipt?version=2026-01-01T00:00:00.000Z&object="
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(7919)) % len(ids)
			req, _ := http.NewRequest(http.MethodGet, url+ids[i], nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var rc tlog.Receipt
			err = json.NewDecoder(resp.Body).Decode(&rc)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				b.Errorf("receipt: %d %v", resp.StatusCode, err)
				return
			}
		}
	})
	got := float64(b.N) / time.Since(start).Seconds()
	b.StopTimer()
	node := make([]byte, 65)
	shaRate := logRate(time.Second, func() { sha256.Sum256(node) })
	b.ReportMetric(got, "receipts/s")
	b.ReportMetric(shaRate, "sha256/s")
	_ = store.ErrNotFound
}

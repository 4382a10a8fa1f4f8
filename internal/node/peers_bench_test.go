package node

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// replicationObjects is the size of the collection BenchmarkReplication
// replicates: PARLEY_REPLICATION_BENCH_OBJECTS, default 100,000 (5,000
// with -short).
func replicationObjects() int {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_REPLICATION_BENCH_OBJECTS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 5_000
	}
	return 100_000
}

// BenchmarkReplication measures federation (docs/federation.md): node B
// holds replicationObjects() signed indicators in one collection; in each
// iteration a fresh node A, following B with `parley peer add`, is served
// and its peer worker replicates the whole collection (checkpoint,
// every entry's inclusion, every object's commitment and signature against
// B's key history, storing each object with an entry of A's own log) while
// A's integrator runs; the time is from Serve until A's recorded position
// is B's size. In the same run, in rotating order: the same objects'
// signatures checked with stix.Verify on GOMAXPROCS goroutines (the
// two-core verification rate of these objects) and bare ed25519.Verify of
// their signed messages. Goal: "ratio" (replication / stix.Verify) >= 0.5.
func BenchmarkReplication(b *testing.B) {
	count := replicationObjects()
	ctx := context.Background()
	bn, tokenFile, coll, set := replicationOrigin(b, count)
	defer bn.stop()
	hc := &http.Client{}
	lc := &tlog.Client{URL: bn.url, Token: bn.token, HTTP: hc}
	v, err := tlog.NewVerifier(bn.n.VerifierKey())
	if err != nil {
		b.Fatal(err)
	}
	waitSettled(b, lc, v, uint64(count))
	size, err := bn.n.store.LogSize(ctx)
	if err != nil {
		b.Fatal(err)
	}
	plain := &taxii.Client{BaseURL: bn.url, Token: bn.token, HTTP: hc}
	served, _, _ := pull(b, plain, coll)
	if len(served) != count {
		b.Fatalf("pulled %d objects, want %d", len(served), count)
	}

	replicate := func() time.Duration {
		dir := b.TempDir()
		if _, err := Init(ctx, dir, Config{PeerInterval: Duration(10 * time.Millisecond)}, nil); err != nil {
			b.Fatal(err)
		}
		a, err := Open(ctx, dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.AddPeer(ctx, PeerSpec{Name: "b", URL: bn.url, TokenFile: tokenFile, LogKey: bn.n.VerifierKey(), Remote: coll, Into: "from-b"}); err != nil {
			b.Fatal(err)
		}
		st := a.Store()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		start := time.Now()
		go func() { a.Serve(sctx, ln, nil); close(done) }()
		var p store.Peer
		for {
			ps, err := st.Peers(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p = ps[0]
			if p.State.Next >= size || p.State.LastError != "" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		d := time.Since(start)
		cancel()
		<-done
		a.Close()
		if p.State.LastError != "" || p.State.Objects != int64(count) {
			b.Fatalf("replicated %d objects, want %d: %s", p.State.Objects, count, p.State.LastError)
		}
		return d
	}

	// The wall-clock rates follow the shared machine's load; the process's
	// CPU time per object (A, B and the benchmark together, as all run
	// here) does not.
	var repl, stixVerify, bare time.Duration
	var cpuRepl, cpuStix time.Duration
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for k := range 3 {
			cpu := cpuTime()
			switch (it + k) % 3 {
			case 0:
				repl += replicate()
				cpuRepl += cpuTime() - cpu
			case 1:
				stixVerify += stixVerifyTime(b, served, set.pub)
				cpuStix += cpuTime() - cpu
			case 2:
				bare += verifyTime(b, set, 0, count)
			}
		}
	}
	n := float64(b.N * count)
	rr, sv, ev := n/repl.Seconds(), n/stixVerify.Seconds(), n/bare.Seconds()
	b.ReportMetric(rr, "replicated/s")
	b.ReportMetric(sv, "stixverify/s")
	b.ReportMetric(ev, "ed25519/s")
	b.ReportMetric(rr/sv, "ratio")
	b.ReportMetric(rr/ev, "ratio_ed25519")
	if cpuRepl > 0 && cpuStix > 0 {
		b.ReportMetric(cpuRepl.Seconds()*1e6/n, "replication-cpu-µs/object")
		b.ReportMetric(cpuStix.Seconds()*1e6/n, "stixverify-cpu-µs/object")
		b.ReportMetric(cpuStix.Seconds()/cpuRepl.Seconds(), "cpu-ratio")
	}
	b.ReportMetric(0, "ns/op")
}

// replicationOrigin starts node B for the replication benchmarks: count
// signed objects in collection "intel", which the member "follower" may
// read; it returns B, the follower's token file, the collection and the
// objects.
func replicationOrigin(b *testing.B, count int) (*benchNode, string, string, *signedSet) {
	ctx := context.Background()
	bn := newBenchNode(b, b.TempDir())
	fm, err := bn.n.AddMember(ctx, "follower", nil)
	if err != nil {
		bn.stop()
		b.Fatal(err)
	}
	tokenFile := filepath.Join(b.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(fm.Token), 0o600); err != nil {
		bn.stop()
		b.Fatal(err)
	}
	coll, err := bn.n.AddCollection(ctx, "intel", "", []string{"bench", "follower"}, []string{"bench"}, "")
	if err != nil {
		bn.stop()
		b.Fatal(err)
	}
	set := makeSigned(b, count, bn.member, bn.key)
	ingestTime(b, bn, coll, set, 0, count, 1000)
	return bn, tokenFile, coll, set
}

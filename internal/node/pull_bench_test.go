package node

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// pullObjects is the size of the collection BenchmarkPullVerified pulls:
// PARLEY_PULL_BENCH_OBJECTS, default 10,000 (2,000 with -short).
func pullObjects() int {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_PULL_BENCH_OBJECTS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 2_000
	}
	return 10_000
}

// pull reads every object of coll through c (as `parley pull` does:
// ObjectPages in pages of 1,000) and returns the objects, how many
// the client refused, and how long it took.
func pull(b *testing.B, c *taxii.Client, coll string) ([]json.RawMessage, int, time.Duration) {
	start := time.Now()
	var objects []json.RawMessage
	refused := 0
	for env, err := range c.ObjectPages(context.Background(), coll, taxii.Query{Limit: 1000}) {
		if err != nil {
			b.Fatal(err)
		}
		refused += len(env.Refused)
		objects = append(objects, env.Objects...)
	}
	return objects, refused, time.Since(start)
}

// stixVerifyTime checks the objects' signatures with stix.Verify (parse,
// canonicalize, Ed25519) on GOMAXPROCS goroutines and returns how long it
// took.
func stixVerifyTime(b *testing.B, objects []json.RawMessage, pub ed25519.PublicKey) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(objects); i += workers {
				k, err := stix.Verify(objects[i])
				if err != nil || !k.Equal(pub) {
					b.Errorf("object %d doesn't verify: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// waitSettled waits until the node's signed checkpoint covers at least
// size entries and has stopped growing, so that no measured pull waits
// for the integrator.
func waitSettled(b *testing.B, lc *tlog.Client, v note.Verifier, size uint64) {
	deadline := time.Now().Add(30 * time.Second)
	var last uint64
	for {
		n, err := lc.Checkpoint(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		cp, err := tlog.OpenCheckpoint(n, v)
		if err != nil {
			b.Fatal(err)
		}
		if cp.Size >= size && cp.Size == last {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the checkpoint covers %d entries after 30 s, want at least %d", cp.Size, size)
		}
		last = cp.Size
		time.Sleep(300 * time.Millisecond)
	}
}

// BenchmarkPullVerified measures `parley pull` with verification (issue
// 11): a node holds pullObjects() signed indicators in one collection; a
// taxii.Client with a tlog.ObjectVerifier (fresh each iteration, as each
// `parley pull` starts with no cache: it reads the checkpoint, the member
// keys and their proofs, and every entry bundle) pulls the whole
// collection and checks each object's commitment and signature against
// the log. In the same run, in rotating order: the same objects' signatures
// checked with stix.Verify on GOMAXPROCS goroutines (the two-core
// verification rate of these objects), bare ed25519.Verify of their signed
// messages on GOMAXPROCS goroutines, and the same pull without a Verifier
// (what HTTP, paging and JSON cost alone). Goal: the "ratio" metric
// (verified pull / stix.Verify) >= 0.5; "ratio_ed25519" is the same
// against bare Ed25519; "cpu-ratio" compares the CPU time per object of
// the verified pull (node and client, as both run in this process) with
// that of stix.Verify.
func BenchmarkPullVerified(b *testing.B) {
	count := pullObjects()
	bn := newBenchNode(b, b.TempDir())
	defer bn.stop()
	ctx := context.Background()
	coll, err := bn.n.AddCollection(ctx, "pull", "", []string{"bench"}, []string{"bench"}, "")
	if err != nil {
		b.Fatal(err)
	}
	set := makeSigned(b, count, bn.member, bn.key)
	ingestTime(b, bn, coll, set, 0, count, 1000)

	hc := &http.Client{}
	lc := &tlog.Client{URL: bn.url, Token: bn.token, HTTP: hc}
	v, err := tlog.NewVerifier(bn.n.VerifierKey())
	if err != nil {
		b.Fatal(err)
	}
	waitSettled(b, lc, v, uint64(count))
	plain := &taxii.Client{BaseURL: bn.url, Token: bn.token, HTTP: hc}
	served, _, _ := pull(b, plain, coll)
	if len(served) != count {
		b.Fatalf("pulled %d objects, want %d", len(served), count)
	}

	// The wall-clock rates follow the shared machine's load; the process's
	// CPU time per object (node and client together, as both run here)
	// does not.
	var pullVerified, pullPlain, stixVerify, bare time.Duration
	var cpuVerified, cpuStix time.Duration
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for k := range 4 {
			cpu := cpuTime()
			switch (it + k) % 4 {
			case 0:
				c := &taxii.Client{BaseURL: bn.url, Token: bn.token, HTTP: hc,
					Verifier: &tlog.ObjectVerifier{Log: &tlog.Client{URL: bn.url, Token: bn.token, HTTP: hc}, Key: v}}
				got, refused, d := pull(b, c, coll)
				if len(got) != count || refused != 0 {
					b.Fatalf("verified pull: %d objects and %d refused, want %d and 0", len(got), refused, count)
				}
				pullVerified += d
				cpuVerified += cpuTime() - cpu
			case 1:
				got, _, d := pull(b, plain, coll)
				if len(got) != count {
					b.Fatalf("pull: %d objects, want %d", len(got), count)
				}
				pullPlain += d
			case 2:
				stixVerify += stixVerifyTime(b, served, set.pub)
				cpuStix += cpuTime() - cpu
			case 3:
				bare += verifyTime(b, set, 0, count)
			}
		}
	}
	n := float64(b.N * count)
	pv, pp, sv, ev := n/pullVerified.Seconds(), n/pullPlain.Seconds(), n/stixVerify.Seconds(), n/bare.Seconds()
	b.ReportMetric(pv, "pullverified/s")
	b.ReportMetric(pp, "pull/s")
	b.ReportMetric(sv, "stixverify/s")
	b.ReportMetric(ev, "ed25519/s")
	b.ReportMetric(pv/sv, "ratio")
	b.ReportMetric(pv/ev, "ratio_ed25519")
	if cpuVerified > 0 && cpuStix > 0 {
		b.ReportMetric(cpuVerified.Seconds()*1e6/n, "pullverified-cpu-µs/object")
		b.ReportMetric(cpuStix.Seconds()*1e6/n, "stixverify-cpu-µs/object")
		b.ReportMetric(cpuStix.Seconds()/cpuVerified.Seconds(), "cpu-ratio")
	}
	b.ReportMetric(0, "ns/op")
}

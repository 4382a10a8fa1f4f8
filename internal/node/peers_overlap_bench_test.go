package node

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// storingTime is a node's store that adds up the wall time spent in
// Submit and AdvancePeer: the follower's storing, one step after the
// other on the store's single writer.
type storingTime struct {
	store.Store
	ns atomic.Int64
}

func (s *storingTime) Submit(ctx context.Context, sub store.Submission) (store.Status, error) {
	t := time.Now()
	defer func() { s.ns.Add(int64(time.Since(t))) }()
	return s.Store.Submit(ctx, sub)
}

func (s *storingTime) AdvancePeer(ctx context.Context, st store.PeerStep) error {
	t := time.Now()
	defer func() { s.ns.Add(int64(time.Since(t))) }()
	return s.Store.AdvancePeer(ctx, st)
}

// BenchmarkFollowerOverlap replicates B's replicationObjects() signed
// indicators with one [peer.Follower] Round on a fresh node A (not
// served: no integrator beside it), and splits the Round's wall time into
// the time spent storing (Submit and AdvancePeer) and the rest (reading
// B's entries and objects, the inclusion proofs, verifying, whatever of
// those isn't hidden behind the storing). "storing-share" is storing /
// wall: 1 when everything else overlaps the storing. Being a share of one
// process's wall time, it depends less on a shared machine's load than
// the rates do.
func BenchmarkFollowerOverlap(b *testing.B) {
	count := replicationObjects()
	ctx := context.Background()
	bn, tokenFile, coll, _ := replicationOrigin(b, count)
	defer bn.stop()
	v, err := tlog.NewVerifier(bn.n.VerifierKey())
	if err != nil {
		b.Fatal(err)
	}
	waitSettled(b, &tlog.Client{URL: bn.url, Token: bn.token, HTTP: &http.Client{}}, v, uint64(count))
	size, err := bn.n.store.LogSize(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var wall, storing, cpu time.Duration
	b.ResetTimer()
	for range b.N {
		dir := b.TempDir()
		if _, err := Init(ctx, dir, Config{}, nil); err != nil {
			b.Fatal(err)
		}
		a, err := Open(ctx, dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		p, err := a.AddPeer(ctx, PeerSpec{Name: "b", URL: bn.url, TokenFile: tokenFile, LogKey: bn.n.VerifierKey(), Remote: coll, Into: "from-b"})
		if err != nil {
			b.Fatal(err)
		}
		st := &storingTime{Store: a.Store()}
		f, err := peer.New(peer.Config{Store: st, Dir: dir}, p)
		if err != nil {
			b.Fatal(err)
		}
		c0, t0 := cpuTime(), time.Now()
		res, err := f.Round(ctx)
		wall += time.Since(t0)
		cpu += cpuTime() - c0
		storing += time.Duration(st.ns.Load())
		a.Close()
		if err != nil || res.Next != size || res.Objects != int64(count) {
			b.Fatalf("replicated %+v: %v; want %d objects up to %d", res, err, count, size)
		}
	}
	n := float64(b.N * count)
	b.ReportMetric(wall.Seconds()*1e6/n, "wall-µs/object")
	b.ReportMetric(storing.Seconds()*1e6/n, "storing-µs/object")
	b.ReportMetric((wall-storing).Seconds()*1e6/n, "not-storing-µs/object")
	b.ReportMetric(storing.Seconds()/wall.Seconds(), "storing-share")
	b.ReportMetric(cpu.Seconds()*1e6/n, "cpu-µs/object")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores-busy")
	b.ReportMetric(0, "ns/op")
}

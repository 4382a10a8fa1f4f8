package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// TestIntegratorFenced: two integrators share a store; the second takes
// the lease when the first's expires (by the store's clock), and the
// first, which still believes it holds it, is refused by its stale fence,
// stops, and stands by; the log stays one tree that the audit checks.
func TestIntegratorFenced(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	n, _ := initNode(t, Options{Now: clock})
	defer n.Close()
	m, key, cid := addAliceShared(t, n)
	c, err := n.store.Collection(ctx, cid)
	if err != nil {
		t.Fatal(err)
	}
	push := func(i int) {
		t.Helper()
		if st, err := n.Submit(ctx, m.ID, c, []json.RawMessage{indicatorFor(t, m.ID, key, fmt.Sprint("fenced ", i))}); err != nil || len(st.Failures) > 0 {
			t.Fatalf("submit: %v %+v", err, st)
		}
	}
	first, err := NewLogIntegrator(n, LogIntegratorOptions{LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	second, err := NewLogIntegrator(n, LogIntegratorOptions{LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	push(0)
	if _, err := first.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	push(1)
	if _, err := second.Integrate(ctx); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("second while the first holds the lease: %v", err)
	}
	// The first pauses past its lease's expiry; the second takes over.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	size, err := second.Integrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	push(2)
	// The first wakes up, believing (by its own clock) that it holds the
	// lease: the store refuses its integration.
	if _, err := first.Integrate(ctx); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("first after losing its lease: %v, want store.ErrFenced", err)
	}
	if got, _, _ := n.store.LatestCheckpoint(ctx); got != size {
		t.Fatalf("a fenced integrator moved the checkpoint from %d to %d", size, got)
	}
	if _, err := first.Integrate(ctx); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("first afterwards: %v, want ErrLeaseHeld", err)
	}
	if size, err = second.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	// A release lets the first take over at once.
	second.release(ctx)
	push(3)
	end, err := first.Integrate(ctx)
	if err != nil || end != size+1 {
		t.Fatalf("first after the release: %d, %v; want %d", end, err, size+1)
	}
	v, _ := tlog.NewVerifier(n.VerifierKey())
	src := NewStoreAuditSource(n.Store())
	if rep, err := tlog.Audit(ctx, src, tlog.AuditOptions{Verifier: v, Tiles: src, AllObjects: true}); err != nil || !rep.OK() || rep.Objects != 4 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}

package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// testLeases: one holder at a time until expiry (by the store's clock);
// the fence grows when the holder changes; a stale fence can't renew,
// release or integrate; a release frees the lease at once.
func testLeases(t *testing.T, open Opener) {
	now := base
	s := open(t, Options{Now: func() time.Time { return now }})
	defer s.Close()
	const ttl = 10 * time.Second
	tile := func(n int) map[tlog.Tile][]byte {
		var b []byte
		for i := range n {
			b = append(b, hash(byte(i+1))...)
		}
		return map[tlog.Tile][]byte{{Level: 0, N: 0, Width: n}: b}
	}
	// Integrate without ever holding the lease is fenced.
	if err := s.Integrate(ctx, 1, 0, 1, tile(1), []byte("note 1")); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("integrate without a lease: %v, want ErrFenced", err)
	}
	for _, tc := range []struct {
		name, holder string
		ttl          time.Duration
	}{{"", "a", ttl}, {store.IntegratorLease, "", ttl}, {store.IntegratorLease, "a", 0}} {
		if _, _, err := s.AcquireLease(ctx, tc.name, tc.holder, tc.ttl); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AcquireLease(%q, %q, %v): %v, want ErrInvalid", tc.name, tc.holder, tc.ttl, err)
		}
	}
	acquire := func(holder string) (int64, bool) {
		t.Helper()
		fence, ok, err := s.AcquireLease(ctx, store.IntegratorLease, holder, ttl)
		must(t, err)
		return fence, ok
	}
	fa, ok := acquire("a")
	if !ok || fa < 1 {
		t.Fatalf("a's first acquire: fence %d, ok %v", fa, ok)
	}
	if _, ok := acquire("b"); ok {
		t.Fatal("b acquired a lease a holds")
	}
	now = now.Add(ttl / 2)
	if f, ok := acquire("a"); !ok || f != fa {
		t.Fatalf("a again: fence %d, ok %v; want its fence %d", f, ok, fa)
	}
	must(t, s.RenewLease(ctx, store.IntegratorLease, "a", fa, ttl))
	if err := s.RenewLease(ctx, store.IntegratorLease, "b", fa, ttl); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("b renews a's lease: %v", err)
	}
	must(t, s.Integrate(ctx, fa, 0, 1, tile(1), []byte("note 1")))
	// Renewed at ttl/2 for ttl: still held just before ttl*3/2.
	now = now.Add(ttl - time.Millisecond)
	if _, ok := acquire("b"); ok {
		t.Fatal("b acquired a renewed lease before it expired")
	}
	// Expired: b takes it with a larger fence, and a is fenced out.
	now = now.Add(time.Millisecond)
	fb, ok := acquire("b")
	if !ok || fb <= fa {
		t.Fatalf("b after the expiry: fence %d, ok %v; want more than %d", fb, ok, fa)
	}
	if err := s.RenewLease(ctx, store.IntegratorLease, "a", fa, ttl); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a renews after losing the lease: %v", err)
	}
	if err := s.ReleaseLease(ctx, store.IntegratorLease, "a", fa); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a releases after losing the lease: %v", err)
	}
	if err := s.Integrate(ctx, fa, 1, 2, tile(2), []byte("note 2 by a")); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a integrates after losing the lease: %v, want ErrFenced", err)
	}
	if size, note, err := s.LatestCheckpoint(ctx); err != nil || size != 1 || string(note) != "note 1" {
		t.Fatalf("a fenced integration changed the checkpoint: %d %q %v", size, note, err)
	}
	must(t, s.Integrate(ctx, fb, 1, 2, tile(2), []byte("note 2")))
	// A release frees it at once; a takes it with a larger fence still.
	must(t, s.ReleaseLease(ctx, store.IntegratorLease, "b", fb))
	fa2, ok := acquire("a")
	if !ok || fa2 <= fb {
		t.Fatalf("a after b's release: fence %d, ok %v; want more than %d", fa2, ok, fb)
	}
	if err := s.Integrate(ctx, fb, 2, 3, tile(3), []byte("note 3 by b")); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("b integrates after releasing: %v", err)
	}
	// Expired but taken by no one: a's fence is still current.
	now = now.Add(time.Hour)
	must(t, s.Integrate(ctx, fa2, 2, 3, tile(3), []byte("note 3")))
	must(t, s.RenewLease(ctx, store.IntegratorLease, "a", fa2, ttl))
	if f, ok := acquire("a"); !ok || f != fa2 {
		t.Fatalf("a after an expiry no one used: fence %d, ok %v; want %d", f, ok, fa2)
	}
	// Leases by other names are independent.
	if f, ok, err := s.AcquireLease(ctx, "other", "b", ttl); err != nil || !ok || f < 1 {
		t.Fatalf("another lease: %d %v %v", f, ok, err)
	}
	if size, _, err := s.LatestCheckpoint(ctx); err != nil || size != 3 {
		t.Fatalf("checkpoint %d, %v; want 3", size, err)
	}
}

// testLeaseRace: of holders acquiring a free lease at once, exactly one
// gets it.
func testLeaseRace(t *testing.T, s store.Store) {
	const holders = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	for i := range holders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := s.AcquireLease(ctx, store.IntegratorLease, fmt.Sprint("holder-", i), time.Hour)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				won = append(won, fmt.Sprint("holder-", i))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("holders %v acquired the lease, want exactly one", won)
	}
}

package node

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestMemoryBudget checks the weighted semaphore: reservations cost
// gcFactor times what they ask, beyond the capacity they are clipped (and
// run alone), waiters are served in order of arrival (a large one is not
// starved by small ones behind it), and a waiter whose context ends holds
// nothing and unblocks those behind it.
func TestMemoryBudget(t *testing.T) {
	ctx := context.Background()
	b := newMemoryBudget(100)
	if err := b.Acquire(ctx, 30); err != nil { // costs 60
		t.Fatal(err)
	}
	if got := b.inUse(); got != 60 {
		t.Fatalf("in use %d, want 60", got)
	}
	granted := make(chan string, 3)
	acquire := func(name string, n int64) {
		if err := b.Acquire(ctx, n); err != nil {
			t.Error(err)
			return
		}
		granted <- name
	}
	go acquire("big", 25) // costs 50: waits for the first
	waitWaiters(t, b, 1)
	go acquire("small", 1) // would fit, but comes after big
	waitWaiters(t, b, 2)
	select {
	case g := <-granted:
		t.Fatalf("%s granted while the budget was full", g)
	default:
	}
	// small fits (60 + 2 ≤ 100) but waits behind big.
	if got := b.inUse(); got != 60 {
		t.Fatalf("in use %d while big waits, want 60: small went ahead", got)
	}
	b.Release(30)
	if g1, g2 := <-granted, <-granted; g1+g2 != "bigsmall" && g1+g2 != "smallbig" {
		t.Fatalf("granted %s and %s", g1, g2)
	}
	b.Release(25)
	b.Release(1)
	if got := b.inUse(); got != 0 {
		t.Fatalf("in use %d after releasing everything", got)
	}

	// More than the capacity: clipped, runs alone.
	if err := b.Acquire(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	if got := b.inUse(); got != 100 {
		t.Fatalf("in use %d, want the capacity", got)
	}
	// A waiter that gives up holds nothing and doesn't block others.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	go acquire("after", 10)
	if err := b.Acquire(cctx, 40); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire past its deadline: %v", err)
	}
	b.Release(1000)
	if g := <-granted; g != "after" {
		t.Fatalf("%s granted, want after", g)
	}
	b.Release(10)
	if got := b.inUse(); got != 0 {
		t.Fatalf("in use %d at the end", got)
	}
}

// waitWaiters waits until n requests are queued.
func waitWaiters(t *testing.T, b *memoryBudget, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		b.mu.Lock()
		got := b.waiters.Len()
		b.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPrivateTagsPaged runs the private-set end-to-end test with the tags
// sent one per page, so that every client check reads a list assembled
// from several pages.
func TestPrivateTagsPaged(t *testing.T) {
	defer func(n int) { tagsPage = n }(tagsPage)
	tagsPage = 1
	TestPrivateSetsEndToEnd(t)
}

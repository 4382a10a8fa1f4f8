package node

import (
	"context"
	"testing"
	"time"
)

// TestMemoryBudget checks the weighted semaphore: reservations cost
// gcFactor times what they ask, beyond a share they are clipped to it, the
// waiter served next is not overtaken by smaller ones behind it (so a
// large one is not starved), and a waiter whose context ends holds nothing
// and unblocks those behind it.
func TestMemoryBudget(t *testing.T) {
	ctx := context.Background()
	b := newMemoryBudget(200) // a share of 100
	// Each reservation costs twice what it asks.
	if err := b.Acquire(ctx, "x", 50); err != nil {
		t.Fatal(err)
	}
	if err := b.Acquire(ctx, "y", 40); err != nil { // 80
		t.Fatal(err)
	}
	if got := b.inUse(); got != 180 {
		t.Fatalf("in use %d, want 180", got)
	}
	granted := make(chan string, 3)
	acquire := func(ctx context.Context, holder string, n int64) {
		if err := b.Acquire(ctx, holder, n); err != nil {
			granted <- holder + " " + err.Error()
			return
		}
		granted <- holder
	}
	go acquire(ctx, "big", 45) // costs 90: waits for x
	waitWaiters(t, b, 1)
	go acquire(ctx, "small", 1) // would fit, but comes after big, which holds as little
	waitWaiters(t, b, 2)
	select {
	case g := <-granted:
		t.Fatalf("%s granted while the budget was full", g)
	default:
	}
	if got := b.inUse(); got != 180 {
		t.Fatalf("in use %d while big waits, want 180: small went ahead", got)
	}
	b.Release("x", 50)
	if g1, g2 := <-granted, <-granted; g1+g2 != "bigsmall" && g1+g2 != "smallbig" {
		t.Fatalf("granted %s and %s", g1, g2)
	}
	b.Release("big", 45)
	b.Release("small", 1)
	b.Release("y", 40)
	if got := b.inUse(); got != 0 {
		t.Fatalf("in use %d after releasing everything", got)
	}

	// More than a share: clipped to it.
	if err := b.Acquire(ctx, "x", 1000); err != nil {
		t.Fatal(err)
	}
	if got := b.inUse(); got != 100 {
		t.Fatalf("in use %d, want a share", got)
	}
	if err := b.Acquire(ctx, "y", 30); err != nil { // 160
		t.Fatal(err)
	}
	// A waiter that gives up holds nothing and doesn't block others.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go acquire(cctx, "gives up", 30) // 60: doesn't fit
	waitWaiters(t, b, 1)
	go acquire(ctx, "after", 10) // 20 would fit, but comes after
	waitWaiters(t, b, 2)
	if got := b.inUse(); got != 160 {
		t.Fatalf("in use %d while gives up waits, want 160: after went ahead", got)
	}
	cancel()
	if g1, g2 := <-granted, <-granted; g1+"|"+g2 != "after|gives up context canceled" && g2+"|"+g1 != "after|gives up context canceled" {
		t.Fatalf("answers %q and %q, want after granted and gives up cancelled", g1, g2)
	}
	b.Release("x", 1000)
	b.Release("y", 30)
	b.Release("after", 10)
	if got := b.inUse(); got != 0 {
		t.Fatalf("in use %d at the end", got)
	}
}

// TestMemoryBudgetShares checks how a budget is shared out between
// holders who don't trust each other: one holder holds at most half of
// it (so requests it keeps open on purpose leave the other half to
// others), a reservation larger than that still gets in, and the holder
// that holds least is served first.
func TestMemoryBudgetShares(t *testing.T) {
	ctx := context.Background()
	b := newMemoryBudget(100) // a share of 50
	granted := make(chan string, 8)
	acquire := func(b *memoryBudget, holder string, n int64) {
		if err := b.Acquire(ctx, holder, n); err != nil {
			t.Error(err)
			return
		}
		granted <- holder
	}
	noneGranted := func() {
		t.Helper()
		select {
		case g := <-granted:
			t.Fatalf("%s granted", g)
		default:
		}
	}
	if err := b.Acquire(ctx, "m", 20); err != nil { // 40
		t.Fatal(err)
	}
	go acquire(b, "m", 10) // 40 + 20 is over m's share, though the budget has room
	waitWaiters(t, b, 1)
	noneGranted()
	// Another holder gets in beside it.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.Acquire(cctx, "o", 25); err != nil { // 50: 90 in use
		t.Fatalf("another holder beside one at its share: %v", err)
	}
	b.Release("o", 25)
	noneGranted() // m still holds 40
	b.Release("m", 20)
	if g := <-granted; g != "m" {
		t.Fatalf("%s granted", g)
	}
	b.Release("m", 10)

	// Reservations larger than a share are clipped to it: two holders
	// asking for more than the whole budget both get in.
	if err := b.Acquire(ctx, "m", 1000); err != nil { // 50
		t.Fatal(err)
	}
	go acquire(b, "m", 1)
	waitWaiters(t, b, 1)
	noneGranted()
	if err := b.Acquire(cctx, "o", 1000); err != nil { // 100
		t.Fatalf("another holder beside a large reservation: %v", err)
	}
	b.Release("m", 1000)
	if g := <-granted; g != "m" {
		t.Fatalf("%s granted", g)
	}
	b.Release("m", 1)
	b.Release("o", 1000)

	// A holder waiting for its own reservations to come back (its share
	// is full) holds no one else back, though it holds least.
	if err := b.Acquire(ctx, "m", 1); err != nil { // 2
		t.Fatal(err)
	}
	if err := b.Acquire(ctx, "o", 5); err != nil { // 10
		t.Fatal(err)
	}
	go acquire(b, "m", 1000) // 50: 52 is over m's share
	waitWaiters(t, b, 1)
	if err := b.Acquire(cctx, "o", 1); err != nil {
		t.Fatalf("o behind m, who waits for itself: %v", err)
	}
	noneGranted()
	b.Release("m", 1)
	if g := <-granted; g != "m" {
		t.Fatalf("%s granted", g)
	}
	b.Release("m", 1000)
	b.Release("o", 5)
	b.Release("o", 1)

	// The holder that holds least goes first; each holder's requests
	// keep their order.
	w := newWorkerGate(2)
	if err := w.Acquire(ctx, "m", 2); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		go acquire(w, "m", 1)
		waitWaiters(t, w, i+1)
	}
	go acquire(w, "o", 1) // last to come
	waitWaiters(t, w, 4)
	w.Release("m", 1) // m holds 1, o nothing
	if g := <-granted; g != "o" {
		t.Fatalf("%s granted first, want o, who held nothing", g)
	}
	w.Release("m", 1) // m holds nothing, o 1
	if g := <-granted; g != "m" {
		t.Fatalf("%s granted", g)
	}
	w.Release("o", 1)
	if g := <-granted; g != "m" {
		t.Fatalf("%s granted", g)
	}
	noneGranted()
	if w.waiting != 1 || w.inUse() != 2 {
		t.Fatalf("%d waiting, %d in use; want 1 and 2", w.waiting, w.inUse())
	}
	w.Release("m", 1)
	<-granted
	w.Release("m", 1)
	w.Release("m", 1)
	if w.inUse() != 0 || len(w.held) != 0 || len(w.queues) != 0 {
		t.Fatalf("left: %d in use, held %v, queues %v", w.inUse(), w.held, w.queues)
	}

	// Giving back what another holder reserved is a bug.
	if err := b.Acquire(ctx, "m", 1); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("o released m's reservation")
		}
	}()
	b.Release("o", 1)
}

// waitWaiters waits until n requests are queued.
func waitWaiters(t *testing.T, b *memoryBudget, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		b.mu.Lock()
		got := b.waiting
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

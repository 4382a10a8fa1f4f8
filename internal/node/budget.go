package node

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/taxii"
)

// memoryBudget is the node-wide budget of memory for responses that carry
// objects (Config.ResponseMemory): a weighted semaphore in bytes. A
// response reserves what it may hold at once before it reads anything
// from the store and gives it back when it is written, so the memory of
// all responses in flight stays under the budget however many clients ask
// at once and however large the objects are; the rest wait their turn, in
// order of arrival.
//
// It implements [taxii.Gate]. The same semaphore, counted in CPUs with a
// unit cost of 1 ([newWorkerGate]), bounds the node's private-set work
// (PrivateConfig.Workers).
type memoryBudget struct {
	mu       sync.Mutex
	capacity int64
	unit     int64 // what one unit asked costs: gcFactor for memory
	used     int64
	waiters  list.List // of *budgetWaiter, oldest first
}

var (
	_ taxii.Gate   = (*memoryBudget)(nil)
	_ private.Gate = (*memoryBudget)(nil)
)

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

func newMemoryBudget(capacity int64) *memoryBudget {
	return &memoryBudget{capacity: capacity, unit: gcFactor}
}

// newWorkerGate returns a semaphore of n CPUs: Acquire(ctx, k) takes k of
// them, waiting in order of arrival as a memoryBudget does.
func newWorkerGate(n int) *memoryBudget {
	return &memoryBudget{capacity: int64(max(n, 1)), unit: 1}
}

// gcFactor is how much of the budget a byte held by a response costs: Go's
// collector (GOGC=100) lets garbage grow as large as the live heap before
// it runs, and what a response held becomes garbage when it is written,
// so a response that holds n bytes can raise the heap by twice that.
const gcFactor = 2

// clip returns what a request for n bytes takes from the budget: n ×
// gcFactor (the unit cost), bounded by the capacity, so that a
// reservation larger than the whole budget still runs (alone) rather than
// never.
func (b *memoryBudget) clip(n int64) int64 { return min(max(n, 0)*b.unit, b.capacity) }

// Acquire reserves n bytes (at most the capacity), waiting until they are
// free or ctx is done (then it returns ctx's error and holds nothing).
// Every successful Acquire must be matched by Release(n) with the same n.
func (b *memoryBudget) Acquire(ctx context.Context, n int64) error {
	n = b.clip(n)
	b.mu.Lock()
	if b.used+n <= b.capacity && b.waiters.Len() == 0 {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	e := b.waiters.PushBack(w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready:
			// Granted while giving up: hand it back.
			b.used -= n
			b.grant()
		default:
			b.waiters.Remove(e)
			// The first waiter may have been blocking smaller ones.
			b.grant()
		}
		b.mu.Unlock()
		return ctx.Err()
	}
}

// Release gives back n bytes reserved by Acquire(ctx, n).
func (b *memoryBudget) Release(n int64) {
	n = b.clip(n)
	b.mu.Lock()
	b.used -= n
	if b.used < 0 {
		b.mu.Unlock()
		panic("node: memory budget released more than it reserved")
	}
	b.grant()
	b.mu.Unlock()
}

// grant wakes waiters in order while the oldest fits; called with mu held.
func (b *memoryBudget) grant() {
	for e := b.waiters.Front(); e != nil; e = b.waiters.Front() {
		w := e.Value.(*budgetWaiter)
		if b.used+w.n > b.capacity {
			return
		}
		b.used += w.n
		b.waiters.Remove(e)
		close(w.ready)
	}
}

// inUse returns the bytes reserved now (for tests and status).
func (b *memoryBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// The memory of responses that carry objects. Every such response
// reserves, from the node's budget (Config.ResponseMemory), what it may
// hold at once, before it reads anything from the store, and gives it back
// when it is written; each byte reserved costs gcFactor (2) bytes of the
// budget, for the garbage it leaves until the collector runs. With M =
// Config.MaxObjectSize, a response holds at most:
//
//	TAXII objects / object page   MaxPageBytes + 2·M + 64 KiB (the page, and
//	                              the row that ends it, as read and as copied)
//	GET /log/objects              store.LogObjectsBatch + 2·M + 64 KiB (one
//	                              batch read ahead, and its last row twice)
//	GET /log/bundle               4 × its objects' size + 64 KiB (the bundle
//	                              and its JSON encoding, which grows by
//	                              doubling); at most MaxBundleBytes of objects
//
// Objects are written to the client as they come, never gathered into one
// response buffer. TAXII manifests and version lists read no objects and
// reserve nothing.
const (
	// MaxPageBytes bounds the objects of one TAXII page (a page always
	// holds at least one object).
	MaxPageBytes = 4 << 20
	// WriteTimeout bounds the time to write one object (or one chunk of a
	// response) to a client, so that a client that stops reading gives
	// its reservation back.
	WriteTimeout = 30 * time.Second
	// budgetWait is how long a request waits for its reservation before
	// it is answered 503 with Retry-After.
	budgetWait = 30 * time.Second
	// reserveSlack covers the small allocations of a response (headers,
	// item framing, the encoder's buffers).
	reserveSlack = 64 << 10
)

// logObjectsReservation is what one GET /log/objects reserves.
func (n *Node) logObjectsReservation() int64 {
	return store.LogObjectsBatch + 2*n.cfg.MaxObjectSize + reserveSlack
}

// errBusy: the response budget stayed spent for budgetWait (503 with
// Retry-After).
var errBusy = errors.New("the node is busy sending other objects")

// reserve takes n bytes of the response budget for a request, waiting up
// to budgetWait; on failure it answers 503 with Retry-After (or nothing,
// if the client is gone) and returns false. The caller releases n with
// n.memory.Release when it returns true.
func (nd *Node) reserve(w http.ResponseWriter, r *http.Request, n int64) bool {
	ctx, cancel := context.WithTimeout(r.Context(), budgetWait)
	defer cancel()
	if err := nd.memory.Acquire(ctx, n); err != nil {
		respondError(w, r, errBusy)
		return false
	}
	return true
}

// MaxBundleBytes is the most bytes of objects one GET /log/bundle may
// hold (413 beyond: ask for fewer objects).
const MaxBundleBytes = 8 << 20

// bundleTooLarge refuses a bundle over MaxBundleBytes.
type bundleTooLarge struct{ size int64 }

func (e *bundleTooLarge) Error() string {
	return fmt.Sprintf("the bundle would hold %d bytes of objects; at most %d are sent in one bundle: ask for fewer objects", e.size, MaxBundleBytes)
}

// bundleReservation returns what a proof bundle of ids for m reserves:
// four times the size of the readable versions (the bundle, and its JSON
// encoding, which grows by doubling) plus slack. Sizes of
// collections m may not read are not looked at, so the answer doesn't
// depend on them.
func (n *Node) bundleReservation(ctx context.Context, m store.Member, ids []string) (int64, error) {
	cs, err := n.store.Collections(ctx)
	if err != nil {
		return 0, err
	}
	var size int64
	for _, c := range cs {
		if !c.CanRead(m.ID) {
			continue
		}
		_, b, err := n.store.ObjectsSize(ctx, c.ID, ids)
		if err != nil {
			return 0, err
		}
		size += b
	}
	if size > MaxBundleBytes {
		return 0, &bundleTooLarge{size}
	}
	return 4*size + reserveSlack, nil
}

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
	"github.com/parley-exchange/parley/tlog"
)

// memoryBudget is the node-wide budget of memory for responses that carry
// objects (Config.ResponseMemory): a weighted semaphore in bytes. A
// response reserves what it may hold at once before it reads anything
// from the store and gives it back when it is written, so the memory of
// all responses in flight stays under the budget however many clients ask
// at once and however large the objects are; the rest wait their turn.
//
// Reservations are made for a holder (the member asking) and shared out
// between holders, because members don't trust each other and one of
// them may hold its reservations on purpose, for as long as the node's
// timeouts let it (a body sent a byte at a time, a response read
// slowly):
//
//   - a holder holds at most the budget's share: half of a memory
//     budget. One reservation larger than that is clipped to the share,
//     so that it still runs, beside others rather than alone;
//   - when reservations wait, the next one served is the oldest of the
//     holder that holds least, among the holders its share lets in (one
//     waiting for its own reservations to come back holds no one else
//     back). Within a holder, and among holders that hold the same, they
//     are served in order of arrival; while the one chosen waits for room
//     smaller ones behind it don't go ahead, so a large one isn't starved
//     (a holder that comes to hold less may still go first).
//
// So however many requests one member keeps open, and however large they
// say they are, the others' are served from the other half of the
// budget, and ahead of that member's next.
//
// It implements [taxii.Gate]. The same semaphore, counted in CPUs with a
// unit cost of 1 and a share of all of them ([newWorkerGate]), bounds the
// node's private-set work (PrivateConfig.Workers), and serves the holder
// that keeps fewest CPUs busy first.
type memoryBudget struct {
	mu       sync.Mutex
	capacity int64
	unit     int64 // what one unit asked costs: gcFactor for memory
	share    int64 // the most one holder may hold: no more than the capacity
	used     int64
	held     map[string]int64      // by holder; holders holding nothing are absent
	queues   map[string]*list.List // of *budgetWaiter by holder, oldest first; no empty lists
	waiting  int                   // the waiters in queues
	arrivals uint64                // the number of waiters ever queued: their order
}

var (
	_ taxii.Gate = (*memoryBudget)(nil)
	_ sharedGate = (*memoryBudget)(nil)
)

type budgetWaiter struct {
	holder string
	n      int64
	seq    uint64
	ready  chan struct{}
}

// newMemoryBudget returns a budget of capacity bytes, each byte reserved
// costing gcFactor, of which one holder may hold half.
func newMemoryBudget(capacity int64) *memoryBudget {
	capacity = max(capacity, 1)
	return &memoryBudget{capacity: capacity, unit: gcFactor, share: max(capacity/2, 1)}
}

// newWorkerGate returns a semaphore of n CPUs: Acquire(ctx, holder, k)
// takes k of them. Work holds CPUs for a chunk at a time, so a holder may
// hold them all: the gate only serves the holder that keeps fewest busy
// first.
func newWorkerGate(n int) *memoryBudget {
	n = max(n, 1)
	return &memoryBudget{capacity: int64(n), unit: 1, share: int64(n)}
}

// gcFactor is how much of the budget a byte held by a response costs: Go's
// collector (GOGC=100) lets garbage grow as large as the live heap before
// it runs, and what a response held becomes garbage when it is written,
// so a response that holds n bytes can raise the heap by twice that.
const gcFactor = 2

// clip returns what a request for n bytes takes from the budget: n ×
// gcFactor (the unit cost), bounded by the share, so that a reservation
// larger than a share still runs rather than never. The memory of such a
// request may go beyond what it took; the share's bound on what one
// holder takes is what matters more between rivals.
func (b *memoryBudget) clip(n int64) int64 { return min(max(n, 0)*b.unit, b.share) }

// Acquire reserves n bytes (at most a share) for holder, waiting
// until they are free and its turn comes, or until ctx is done (then it
// returns ctx's error and holds nothing). Every successful Acquire must be
// matched by Release(holder, n) with the same holder and n.
func (b *memoryBudget) Acquire(ctx context.Context, holder string, n int64) error {
	n = b.clip(n)
	b.mu.Lock()
	if b.held == nil {
		b.held, b.queues = map[string]int64{}, map[string]*list.List{}
	}
	b.arrivals++
	w := &budgetWaiter{holder: holder, n: n, seq: b.arrivals, ready: make(chan struct{})}
	q := b.queues[holder]
	if q == nil {
		q = list.New()
		b.queues[holder] = q
	}
	e := q.PushBack(w)
	b.waiting++
	b.grant()
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready:
			// Granted while giving up: hand it back.
			b.take(holder, -n)
		default:
			b.dequeue(holder, q, e)
		}
		// The waiter may have been blocking others.
		b.grant()
		b.mu.Unlock()
		return ctx.Err()
	}
}

// Release gives back n bytes reserved by Acquire(ctx, holder, n).
func (b *memoryBudget) Release(holder string, n int64) {
	n = b.clip(n)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held[holder] < n {
		panic("node: memory budget released more than its holder reserved")
	}
	b.take(holder, -n)
	b.grant()
}

// take adds n (negative: gives back) to what holder holds; called with mu
// held.
func (b *memoryBudget) take(holder string, n int64) {
	b.used += n
	if h := b.held[holder] + n; h != 0 {
		b.held[holder] = h
	} else {
		delete(b.held, holder)
	}
}

// dequeue removes a waiter of holder's queue q; called with mu held.
func (b *memoryBudget) dequeue(holder string, q *list.List, e *list.Element) {
	q.Remove(e)
	b.waiting--
	if q.Len() == 0 {
		delete(b.queues, holder)
	}
}

// grant serves waiters while the next one (see memoryBudget) may take
// what it asks; called with mu held.
func (b *memoryBudget) grant() {
	for {
		var next *budgetWaiter
		var nextQueue *list.List
		for holder, q := range b.queues {
			w := q.Front().Value.(*budgetWaiter)
			if b.held[holder]+w.n > b.share {
				// Over its share: only its own releases let it in, so
				// it holds no one else back.
				continue
			}
			if next == nil || b.held[holder] < b.held[next.holder] ||
				b.held[holder] == b.held[next.holder] && w.seq < next.seq {
				next, nextQueue = w, q
			}
		}
		if next == nil {
			return
		}
		if b.used+next.n > b.capacity {
			return
		}
		b.dequeue(next.holder, nextQueue, nextQueue.Front())
		b.take(next.holder, next.n)
		close(next.ready)
	}
}

// sharedGate is a budget whose reservations are made for holders, as a
// memoryBudget's are.
type sharedGate interface {
	Acquire(ctx context.Context, holder string, n int64) error
	Release(holder string, n int64)
}

// heldBy returns g as a [private.Gate] whose reservations are holder's.
func heldBy(g sharedGate, holder string) private.Gate { return heldGate{g, holder} }

// heldGate is a sharedGate's reservations for one holder.
type heldGate struct {
	g      sharedGate
	holder string
}

func (h heldGate) Acquire(ctx context.Context, n int64) error { return h.g.Acquire(ctx, h.holder, n) }
func (h heldGate) Release(n int64)                            { h.g.Release(h.holder, n) }

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
//	GET /log/bundle               what bundleReservation counts for the
//	GET /peers/bundle             versions, their proofs' tiles and the ids
//	                              looked for, measured first (every byte
//	                              allocated); at most MaxBundleBytes of objects
//	GET /concurrence              what concurrenceReservation counts for the
//	                              opinion versions it reads, measured first
//	                              (every byte allocated, garbage included)
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

// reserve takes n bytes of the response budget for member m's request,
// waiting up to budgetWait; on failure it answers 503 with Retry-After (or
// nothing, if the client is gone) and returns false. After a true, the
// caller gives the bytes back with release.
func (nd *Node) reserve(w http.ResponseWriter, r *http.Request, m store.Member, n int64) (release func(), ok bool) {
	release, err := nd.reservePage(r.Context(), m, n)
	if err != nil {
		respondError(w, r, err)
		return nil, false
	}
	return release, true
}

// reservePage takes n bytes of the response budget for member m, waiting
// up to budgetWait, or returns errBusy (or errUnauthorized, at once, when
// the request's token no longer authenticates m); release gives them back. The web
// UI's pages reserve with it (the UI answers 503 itself), the API's
// responses through reserve.
func (nd *Node) reservePage(ctx context.Context, m store.Member, n int64) (release func(), err error) {
	ctx, cancel := context.WithTimeout(ctx, budgetWait)
	defer cancel()
	// A request of a member revoked while it waits ends at once (401),
	// not after the wait (held.go).
	err = watchHeld(ctx, reauthenticate, func(ctx context.Context) error { return nd.memory.Acquire(ctx, m.ID, n) })
	if refused(err) {
		return nil, err
	}
	if err != nil {
		return nil, errBusy
	}
	return func() { nd.memory.Release(m.ID, n) }, nil
}

// MaxBundleBytes is the most bytes of objects, with bundleItemBytes a
// version for its proofs, one GET /log/bundle or GET /peers/bundle may
// hold (413 beyond: ask for fewer objects).
const MaxBundleBytes = 8 << 20

// bundleItemBytes is what a bundle holds for one version beside the
// object: its entry, opening and inclusion proof (under 4 KiB of JSON
// for a tree of up to 2^64 entries). A bundle's size counts it for every
// version, so many small versions are bounded as a few large ones are.
const bundleItemBytes = 4 << 10

// The memory of a proof bundle, measured (TestBundleReservationByShape
// and TestPeerBundleReservationByShape check both endpoints against it
// with one large object, many small ones, many versions of one, objects
// in several collections, in trees of one and two tile levels); counted
// as the tally's is, every byte allocated, garbage included:
//
//   - bundleFactor: bytes per byte of the versions' JSON: the store's read,
//     and the JSON encoding of the bundle, whose buffer grows by doubling
//     (about 3 measured for one object of 1 MiB, up to 5 for several of
//     60 KiB, whose sum ends just past a doubling). The bundle is encoded
//     without HTML escaping (writeBundle): escaped, an object of < cost
//     34 bytes a byte;
//   - bundleVersionBytes: bytes per version beside its JSON and its proof's
//     tiles: its log entry, opening, the JSON of its proof, its witnessed
//     checkpoints (12 to 14 KiB measured for small versions since the proofs of a bundle share its partial tiles and their inner hashes; 17 to 22 KiB before);
//   - bundleHashBytes, bundleFullTileBytes: what a version's inclusion
//     proof reads of the tree's hash tiles (bundleTileBytes): at each tile
//     level, the partial tile at the tree's right edge, read once for
//     the bundle (about 115 bytes a hash of it measured), and the
//     version's full tile where the level has full tiles (about 35 KiB
//     measured, read and hashed). The node's tile cache holds full tiles,
//     so a log bundle reads each at most once (and none the cache holds);
//     a peer's tiles are not cached, so a peer bundle reads one for every
//     version;
//   - bundleLookupBytes: bytes per object id and collection the member may
//     read: the bundle looks for every id in every such collection, found
//     or not (about 3.1 KiB measured, with 32 readable collections).
//
// Every figure is on SQLite; docs/benchmarks.md has them.
const (
	bundleFactor        = 6
	bundleVersionBytes  = 20 << 10
	bundleHashBytes     = 128
	bundleFullTileBytes = 40 << 10
	bundleLookupBytes   = 4 << 10
)

// bundleTree is the tree a bundle's proofs are in: its size when the
// bundle is reserved (the checkpoint the proofs are against is at most
// that, or a few entries more when some are integrated meanwhile), and
// whether its full tiles go through the node's tile cache.
type bundleTree struct {
	size   int64
	cached bool
}

// bundleReservation returns what a proof bundle of the versions of ids in
// the collections of cs that m may read, proved in tree, reserves:
// bundleFactor times their JSON, bundleVersionBytes a version, the tiles
// their proofs read (bundleTileBytes), bundleLookupBytes for each id in
// each collection m may read, plus slack. Beyond MaxBundleBytes of
// objects, with bundleItemBytes a version, it is a 413 request error.
// Sizes of collections m may not read are not looked at, so the answer
// doesn't depend on them.
func (n *Node) bundleReservation(ctx context.Context, cs []store.Collection, m store.Member, ids []string, tree bundleTree) (int64, error) {
	var size, bytes, versions, lookups int64
	for _, c := range cs {
		if !c.CanRead(m.ID) {
			continue
		}
		v, b, err := n.store.ObjectsSize(ctx, c.ID, ids)
		if err != nil {
			return 0, err
		}
		size += b + v*bundleItemBytes
		bytes += b
		versions += v
		lookups += int64(len(ids))
	}
	if size > MaxBundleBytes {
		return 0, requestErrorf(store.ErrTooLarge, fmt.Sprintf("the bundle would hold %d bytes of objects and proofs; at most %d are sent in one bundle: ask for fewer objects", size, MaxBundleBytes))
	}
	return bundleFactor*bytes + versions*bundleVersionBytes + bundleTileBytes(tree, versions) + lookups*bundleLookupBytes + reserveSlack, nil
}

// bundleTileBytes is what the inclusion proofs of versions versions in
// tree read of its hash tiles, at most: at each tile level, the partial
// tile of the level's row once (bundleHashBytes a hash of it: a bundle's
// proofs share one hash reader, which reads each partial tile once), and
// where the row has full tiles, a full one (bundleFullTileBytes) for
// every proof, or, through the cache, for every full tile the proofs may
// need, whichever is fewer. Entries integrated after the size was
// read widen a proof's partial tiles by as many hashes (and a new tile
// level adds one of a hash or two): a few hundred bytes a version, within
// the margin the measured figures leave.
func bundleTileBytes(tree bundleTree, versions int64) int64 {
	var b int64
	for row := tree.size; row > 0; row >>= tlog.TileHeight { // row: the hashes at the bottom of a tile level
		if versions > 0 {
			b += (row % tlog.TileWidth) * bundleHashBytes
		}
		if full := row / tlog.TileWidth; full > 0 {
			if !tree.cached || versions < full {
				full = versions
			}
			b += full * bundleFullTileBytes
		}
	}
	return b
}

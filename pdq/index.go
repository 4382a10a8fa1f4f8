package pdq

import (
	"cmp"
	"math/bits"
	"slices"
	"sync"
)

// DefaultRadius is the Hamming distance at or under which two PDQ hashes
// are considered to show the same image (ThreatExchange's recommended
// threshold).
const DefaultRadius = 31

// Match is one indexed hash found by a radius search.
type Match struct {
	// ID is the number that Add returned for the hash.
	ID int
	// Distance is the Hamming distance from the query, 0..radius.
	Distance int
}

// Searcher is what [Flat] and [Index] have in common: hashes are added one
// at a time, numbered from 0 in the order added, and a search returns
// every hash within the radius (distance <= radius), ordered by ID.
type Searcher interface {
	Add(h Hash) int
	Search(q Hash, radius int) []Match
	Len() int
}

var (
	_ Searcher = (*Flat)(nil)
	_ Searcher = (*Index)(nil)
)

// Flat is a linear scan over packed hashes: the exact baseline, and the
// fastest choice for a few thousand hashes. It is safe for concurrent use;
// a hash is searchable as soon as Add returns.
type Flat struct {
	mu     sync.RWMutex
	hashes []Hash
}

// Add appends h and returns its ID.
func (f *Flat) Add(h Hash) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hashes = append(f.hashes, h)
	return len(f.hashes) - 1
}

// Len returns the number of hashes added.
func (f *Flat) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.hashes)
}

// Hash returns the hash with the given ID; it panics if id is out of
// range.
func (f *Flat) Hash(id int) Hash {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.hashes[id]
}

// Search returns every hash within radius of q, ordered by ID. A negative
// radius matches nothing.
func (f *Flat) Search(q Hash, radius int) []Match {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return scan(f.hashes, 0, q, radius, nil)
}

// scan appends to out the hashes of hs within radius of q, numbering them
// from base. It uses the POPCNT instruction directly where the CPU has it
// (see scan_amd64.go) and [scanGo] elsewhere.
func scan(hs []Hash, base int, q Hash, radius int, out []Match) []Match {
	if scanFast == nil {
		return scanGo(hs, base, q, radius, out)
	}
	var ids [1024]uint32
	for len(hs) > 0 {
		blk := hs[:min(len(hs), len(ids))]
		n := scanFast(&blk[0], len(blk), &q, radius, &ids[0])
		for _, id := range ids[:n] {
			out = append(out, Match{ID: base + int(id), Distance: Distance(blk[id], q)})
		}
		hs, base = hs[len(blk):], base+len(blk)
	}
	return out
}

// scanFast, where the platform has one, writes to ids the indexes of the
// first n hashes at hs that are within radius of q, and returns how many it
// wrote.
var scanFast func(hs *Hash, n int, q *Hash, radius int, ids *uint32) int

// scanGo is the portable scan.
func scanGo(hs []Hash, base int, q Hash, radius int, out []Match) []Match {
	q0, q1, q2, q3 := q[0], q[1], q[2], q[3]
	for i := range hs {
		h := &hs[i]
		// Most hashes are unrelated to the query: about 64 of the first
		// 128 bits differ, far over any useful radius, so the second half
		// is counted only for the few that pass the first.
		d := bits.OnesCount64(h[0]^q0) + bits.OnesCount64(h[1]^q1)
		if d > radius {
			continue
		}
		d += bits.OnesCount64(h[2]^q2) + bits.OnesCount64(h[3]^q3)
		if d <= radius {
			out = append(out, Match{ID: base + i, Distance: d})
		}
	}
	return out
}

// Multi-index hashing parameters. The 256 bits are cut into mihTables
// substrings of 16 bits. If two hashes are within distance r, then by the
// pigeonhole principle at least one of their substrings is within r/16 of
// the other's, so a search looks up, in each table, the buckets of every
// 16-bit value within r/16 of the query's substring and checks the full
// distance of what it finds there. For the default radius 31 that is 17
// buckets per table: 272 of the 1,048,576.
const (
	mihTables = 16
	mihBits   = 16
	// flatThreshold is the size under which an Index only scans: the
	// tables cost 25 MB of bucket headers, worth it only for larger sets.
	flatThreshold = 4096
	// maxSubRadius is the largest per-substring radius enumerated (137
	// buckets per table); larger radii scan, since they match a large
	// fraction of the space anyway.
	maxSubRadius = 2
)

// subMasks lists the 16-bit masks of weight 0, then 1, then 2: XOR-ing a
// substring with the first subMaskCount[s] of them enumerates every value
// within distance s.
var subMasks, subMaskCount = func() ([]uint16, [maxSubRadius + 1]int) {
	m := []uint16{0}
	var n [maxSubRadius + 1]int
	n[0] = 1
	for i := range mihBits {
		m = append(m, 1<<i)
	}
	n[1] = len(m)
	for i := range mihBits {
		for j := i + 1; j < mihBits; j++ {
			m = append(m, 1<<i|1<<j)
		}
	}
	n[2] = len(m)
	return m, n
}()

// sub returns substring t (0..15) of h.
func sub(h *Hash, t int) uint16 {
	return uint16(h[t>>2] >> (48 - 16*(t&3)))
}

// Index is an exact radius-search index over PDQ hashes using multi-index
// hashing. Search returns exactly what [Flat.Search] returns for the same
// hashes, much faster for large sets: at the default radius it inspects
// the hashes in 272 of its 1,048,576 buckets, about 0.4% of them, instead
// of all of them.
//
// Memory: 32 bytes per hash for the hashes themselves plus 4 bytes per hash
// in each of the 16 tables, 96 bytes per hash in all (960 MB for 10
// million), plus 25 MB of fixed bucket headers once the index holds more
// than 4096 hashes. [Index.AddAll] sizes buckets exactly; single Adds grow
// their buckets like append does.
//
// An Index is safe for concurrent use; a hash is searchable as soon as Add
// returns, and nothing is ever rebuilt.
type Index struct {
	mu     sync.RWMutex
	hashes []Hash
	// tables[t][v] lists the IDs of the hashes whose substring t is v; nil
	// until the index holds flatThreshold hashes.
	tables *[mihTables][1 << mihBits][]uint32
}

// NewIndex returns an empty index.
func NewIndex() *Index { return &Index{} }

// Len returns the number of hashes added.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.hashes)
}

// Hash returns the hash with the given ID; it panics if id is out of
// range.
func (x *Index) Hash(id int) Hash {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.hashes[id]
}

// Add adds h and returns its ID (the number of hashes added before it).
func (x *Index) Add(h Hash) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	id := len(x.hashes)
	if id >= 1<<32-1 {
		panic("pdq: index full")
	}
	x.hashes = append(x.hashes, h)
	if x.tables != nil {
		for t := range mihTables {
			b := &x.tables[t][sub(&h, t)]
			*b = append(*b, uint32(id))
		}
	} else if len(x.hashes) >= flatThreshold {
		x.build()
	}
	return id
}

// AddAll adds hs in order and returns the ID of the first one; the others
// follow consecutively. It is faster than calling Add for each and sizes
// the buckets exactly.
func (x *Index) AddAll(hs []Hash) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	first := len(x.hashes)
	if first+len(hs) >= 1<<32-1 {
		panic("pdq: index full")
	}
	x.hashes = append(x.hashes, hs...)
	if x.tables == nil {
		if len(x.hashes) >= flatThreshold {
			x.build()
		}
		return first
	}
	x.insert(first)
	return first
}

// build creates the tables for all hashes; the caller holds the lock.
func (x *Index) build() {
	x.tables = new([mihTables][1 << mihBits][]uint32)
	x.insert(0)
}

// insert puts hashes[from:] into the tables, growing each bucket once to
// its final size.
func (x *Index) insert(from int) {
	hs := x.hashes[from:]
	var counts [1 << mihBits]int32
	for t := range mihTables {
		clear(counts[:])
		for i := range hs {
			counts[sub(&hs[i], t)]++
		}
		tab := &x.tables[t]
		for v, n := range counts {
			if n == 0 {
				continue
			}
			b := &tab[v]
			if cap(*b)-len(*b) < int(n) {
				grown := make([]uint32, len(*b), len(*b)+int(n))
				copy(grown, *b)
				*b = grown
			}
		}
		for i := range hs {
			b := &tab[sub(&hs[i], t)]
			*b = append(*b, uint32(from+i))
		}
	}
}

// Search returns every hash within radius of q, ordered by ID: exactly
// the result of a linear scan. A negative radius matches nothing.
func (x *Index) Search(q Hash, radius int) []Match {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if radius < 0 {
		return nil
	}
	s := radius / mihTables
	if x.tables == nil || s > maxSubRadius {
		return scan(x.hashes, 0, q, radius, nil)
	}
	var qs [mihTables]uint16
	for t := range qs {
		qs[t] = sub(&q, t)
	}
	// Per table: pass over the probed buckets keeping the IDs of the hashes
	// within radius (the hashes are read in random order: the pass
	// prefetches ahead so that the loads overlap, since waiting for each in
	// turn would dominate), then report them unless an earlier table found
	// them already.
	bufp := candidates.Get().(*[]uint32)
	defer candidates.Put(bufp)
	var out []Match
	masks := subMasks[:subMaskCount[s]]
	for t := range mihTables {
		tab := &x.tables[t]
		c := (*bufp)[:0]
		for _, m := range masks {
			b := tab[qs[t]^m]
			if len(b) == 0 {
				continue
			}
			c = slices.Grow(c, len(b))
			c = c[:len(c)+filter(x.hashes, b, &q, radius, c[len(c):len(c)+len(b)])]
		}
		*bufp = c
		for _, id := range c {
			h := &x.hashes[id]
			if !foundEarlier(h, &qs, t, s) {
				out = append(out, Match{ID: int(id), Distance: Distance(*h, q)})
			}
		}
	}
	slices.SortFunc(out, func(a, b Match) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// candidates recycles the match buffers of searches.
var candidates = sync.Pool{New: func() any { return new([]uint32) }}

// filter writes to out, in order, the IDs in ids of the hashes within
// radius of q, and returns how many it wrote. out must be as long as ids
// (it may be ids itself), and every ID must index hs.
func filter(hs []Hash, ids []uint32, q *Hash, radius int, out []uint32) int {
	if len(ids) == 0 {
		return 0
	}
	if len(out) < len(ids) {
		panic("pdq: filter output too short")
	}
	if filterFast != nil {
		return filterFast(&hs[0], &ids[0], len(ids), q, radius, &out[0])
	}
	return filterGo(hs, ids, q, radius, out)
}

// filterFast, where the platform has one, is filter over raw pointers; the
// caller guarantees the IDs are in range and out is long enough.
var filterFast func(hs *Hash, ids *uint32, n int, q *Hash, radius int, out *uint32) int

// filterGo is the portable filter.
func filterGo(hs []Hash, ids []uint32, q *Hash, radius int, out []uint32) int {
	k := 0
	for _, id := range ids {
		h := &hs[id]
		d := bits.OnesCount64(h[0]^q[0]) + bits.OnesCount64(h[1]^q[1])
		if d > radius {
			continue
		}
		if d+bits.OnesCount64(h[2]^q[2])+bits.OnesCount64(h[3]^q[3]) <= radius {
			out[k] = id
			k++
		}
	}
	return k
}

// foundEarlier reports whether a match seen in table t was already found in
// an earlier table (its substring there is within s of the query's), so
// that each match is reported once without a visited set.
func foundEarlier(h *Hash, qs *[mihTables]uint16, t, s int) bool {
	for u := range t {
		if bits.OnesCount16(sub(h, u)^qs[u]) <= s {
			return true
		}
	}
	return false
}

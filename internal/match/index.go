package match

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
)

// eqIndex is a hash index from (Attr, normalised value) to postings
// (uint32s naming a leaf or an indicator). It is built for millions of
// keys: open addressing over one []uint64 slot array and flat arenas, so
// the garbage collector sees a handful of pointer-free slices rather than
// millions of strings, and a key costs its bytes plus about 24 bytes
// (slot, offset, first posting). Keys with more than one posting, which
// are rare, chain the others through a small side table.
type eqIndex struct {
	seed  maphash.Seed
	slots []uint64 // 0: empty; else hash<<32 | entry+1
	keys  []byte   // entry keys back to back: attr byte, then the value
	offs  []uint32 // entry i's key is keys[offs[i]:offs[i+1]]
	first []uint32 // entry i's first posting
	// more[i] is the 1-based index in pVal/pNext of entry i's further
	// postings.
	more  map[uint32]uint32
	pVal  []uint32
	pNext []uint32
	n     int
	// filter is a blocked Bloom filter of the keys (two bits in one
	// 64-bit word per key, about 16 bits per key): nearly every lookup in
	// a log stream misses, and the filter answers those from a structure a
	// fifth the size of the slots, without touching the keys.
	filter []uint64
	// filterCap is the number of keys the filter was sized for; keys are
	// added to it as they come until then.
	filterCap int
	// has marks the attributes with at least one key, so that a stream of
	// addresses costs nothing against an index of domain names.
	has [numAttrs]bool
}

var indexSeed = maphash.MakeSeed()

func newEqIndex() *eqIndex {
	return &eqIndex{seed: indexSeed, slots: make([]uint64, 16), offs: []uint32{0}, more: map[uint32]uint32{}, pVal: []uint32{0}, pNext: []uint32{0}}
}

// reserve sizes the index for about n keys totalling keyBytes bytes, so
// that building a large index does not leave append's slack behind.
func (x *eqIndex) reserve(n, keyBytes int) {
	size := len(x.slots)
	for size*3 < n*4 {
		size *= 2
	}
	if size > len(x.slots) && x.n == 0 {
		x.slots = make([]uint64, size)
	}
	if x.n == 0 {
		x.filter = make([]uint64, filterWords(n))
		x.filterCap = n
	}
	x.keys = append(make([]byte, 0, keyBytes), x.keys...)
	x.offs = append(make([]uint32, 0, n+1), x.offs...)
	x.first = append(make([]uint32, 0, n), x.first...)
}

func filterWords(n int) int {
	words := 1
	for words*4 < n {
		words *= 2
	}
	return words
}

// buildFilter builds the Bloom filter unless it is up to date; lookups
// use it once built.
func (x *eqIndex) buildFilter() {
	if x.filter != nil {
		return
	}
	x.filter = make([]uint64, filterWords(x.n))
	x.filterCap = x.n
	for e := 0; e < x.n; e++ {
		k := x.key(uint32(e))
		w, m := x.filterBits(x.hash(Attr(k[0]), k[1:]))
		x.filter[w] |= m
	}
}

func (x *eqIndex) filterBits(h uint32) (int, uint64) {
	return filterWord(h, len(x.filter)), 1<<(h&63) | 1<<((h>>26)&63)
}

// filterWord is the word of a filter of n words (a power of two) that
// holds the bits of hash h.
func filterWord(h uint32, n int) int {
	return int(h*0x85EBCA6B>>7) & (n - 1)
}

// compact drops the slack that appending left in the arenas.
func (x *eqIndex) compact() {
	if cap(x.keys) > len(x.keys)+len(x.keys)/16 {
		x.keys = append([]byte(nil), x.keys...)
	}
	if cap(x.offs) > len(x.offs)+len(x.offs)/16 {
		x.offs = append([]uint32(nil), x.offs...)
	}
	if cap(x.first) > len(x.first)+len(x.first)/16 {
		x.first = append([]uint32(nil), x.first...)
	}
}

// hash hashes a key; the attribute is mixed in cheaply because keys of
// different attributes rarely share a value.
func (x *eqIndex) hash(a Attr, v []byte) uint32 {
	return uint32(maphash.Bytes(x.seed, v)) ^ uint32(a)*0x9E3779B1
}

// eqHash is the hash every eqIndex gives (a, v): they all use indexSeed,
// so a decoder can hash a value once, before it knows the engine.
func eqHash(a Attr, v []byte) uint32 {
	return uint32(maphash.Bytes(indexSeed, v)) ^ uint32(a)*0x9E3779B1
}

func (x *eqIndex) key(i uint32) []byte { return x.keys[x.offs[i]:x.offs[i+1]] }

func (x *eqIndex) find(a Attr, v []byte, h uint32) (slot int, entry uint32, found bool) {
	mask := len(x.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return i, 0, false
		}
		if uint32(s>>32) == h {
			e := uint32(s) - 1
			k := x.key(e)
			if len(k) == len(v)+1 && k[0] == byte(a) && string(k[1:]) == string(v) {
				return i, e, true
			}
		}
	}
}

// add records posting p under (a, v).
func (x *eqIndex) add(a Attr, v []byte, p uint32) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	h := x.hash(a, v)
	slot, e, found := x.find(a, v, h)
	if !found {
		if x.filter != nil && x.n < x.filterCap {
			w, m := x.filterBits(h)
			x.filter[w] |= m
		} else {
			x.filter = nil // stale; rebuilt by buildFilter
		}
		x.has[a] = true
		e = uint32(len(x.offs) - 1)
		x.keys = append(x.keys, byte(a))
		x.keys = append(x.keys, v...)
		x.offs = append(x.offs, uint32(len(x.keys)))
		x.first = append(x.first, p)
		x.slots[slot] = uint64(h)<<32 | uint64(e+1)
		x.n++
		return
	}
	x.pVal = append(x.pVal, p)
	x.pNext = append(x.pNext, x.more[e])
	x.more[e] = uint32(len(x.pVal) - 1)
}

func (x *eqIndex) grow() {
	old := x.slots
	x.slots = make([]uint64, len(old)*2)
	mask := len(x.slots) - 1
	for _, s := range old {
		if s == 0 {
			continue
		}
		for i := int(uint32(s>>32)) & mask; ; i = (i + 1) & mask {
			if x.slots[i] == 0 {
				x.slots[i] = s
				break
			}
		}
	}
}

// lookup calls fn for every posting recorded under (a, v).
func (x *eqIndex) lookup(a Attr, v []byte, fn func(p uint32)) {
	if !x.has[a] {
		return
	}
	x.lookupHashed(a, v, x.hash(a, v), fn)
}

// lookupHashed is lookup with the hash of (a, v) already computed.
func (x *eqIndex) lookupHashed(a Attr, v []byte, h uint32, fn func(p uint32)) {
	if !x.has[a] {
		return
	}
	if x.filter != nil {
		if w, m := x.filterBits(h); x.filter[w]&m != m {
			return
		}
	}
	_, e, ok := x.find(a, v, h)
	if !ok {
		return
	}
	fn(x.first[e])
	if len(x.more) > 0 {
		for p := x.more[e]; p != 0; p = x.pNext[p] {
			fn(x.pVal[p])
		}
	}
}

// bytes is the memory the index holds.
func (x *eqIndex) bytes() int {
	return 8*cap(x.slots) + 8*cap(x.filter) + cap(x.keys) + 4*(cap(x.offs)+cap(x.first)+cap(x.pVal)+cap(x.pNext)) + 16*len(x.more)
}

// prefixIndex finds the CIDR ranges (ISSUBSET 'a.b.c.d/n') that contain
// an address: one exact-match table per prefix length in use, probed
// longest first, so a lookup costs at most one probe per distinct length
// (a handful in practice) whatever the number of ranges.
type prefixIndex struct {
	v4   map[int]map[uint32][]uint32
	v6   map[int]map[[16]byte][]uint32
	len4 []int
	len6 []int
}

func newPrefixIndex() *prefixIndex {
	return &prefixIndex{v4: map[int]map[uint32][]uint32{}, v6: map[int]map[[16]byte][]uint32{}}
}

func (x *prefixIndex) add(p netip.Prefix, leaf uint32) {
	p = p.Masked()
	bits := p.Bits()
	if p.Addr().Is4() {
		m := x.v4[bits]
		if m == nil {
			m = map[uint32][]uint32{}
			x.v4[bits] = m
			x.len4 = append(x.len4, bits)
		}
		k := binary.BigEndian.Uint32(p.Addr().AsSlice())
		m[k] = append(m[k], leaf)
		return
	}
	m := x.v6[bits]
	if m == nil {
		m = map[[16]byte][]uint32{}
		x.v6[bits] = m
		x.len6 = append(x.len6, bits)
	}
	k := p.Addr().As16()
	m[k] = append(m[k], leaf)
}

func (x *prefixIndex) lookup(a netip.Addr, fn func(leaf uint32)) {
	if a.Is4() {
		if len(x.len4) == 0 {
			return
		}
		v := binary.BigEndian.Uint32(a.AsSlice())
		for _, bits := range x.len4 {
			k := v
			if bits < 32 {
				k = v &^ (1<<(32-bits) - 1)
			}
			for _, l := range x.v4[bits][k] {
				fn(l)
			}
		}
		return
	}
	for _, bits := range x.len6 {
		p, _ := a.Prefix(bits)
		for _, l := range x.v6[bits][p.Addr().As16()] {
			fn(l)
		}
	}
}

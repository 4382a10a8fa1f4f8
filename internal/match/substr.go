package match

import "encoding/binary"

// substrKey is the length of the literal prefix substrIndex hashes;
// shorter literals make an attribute-presence atom instead.
const substrKey = 4

// substrIndex finds, in one pass over a value, every registered literal it
// contains: LIKE and MATCHES patterns of one attribute are grouped so that
// thousands of them cost one scan, not thousands of regex runs. Each
// literal is keyed by its first four bytes; a 64 Kbit filter rejects
// almost every position before the table is consulted.
//
// Literals are ASCII, and a value that is not ASCII fires every literal:
// the evaluator compares NFC-normalised text, and NFC can turn non-ASCII
// text into ASCII (U+212A KELVIN SIGN is K), so only ASCII values are
// safe to filter.
type substrIndex struct {
	filter [1 << 10]uint64
	byKey  map[uint32][]substrLit
	all    []uint32 // every leaf, for non-ASCII values
}

type substrLit struct {
	lit  string
	leaf uint32
}

func newSubstrIndex() *substrIndex { return &substrIndex{byKey: map[uint32][]substrLit{}} }

func substrHash(k uint32) uint32 { return (k * 0x9E3779B1) >> 16 }

func (x *substrIndex) add(lit string, leaf uint32) {
	k := binary.LittleEndian.Uint32([]byte(lit[:substrKey]))
	h := substrHash(k)
	x.filter[h>>6] |= 1 << (h & 63)
	x.byKey[k] = append(x.byKey[k], substrLit{lit, leaf})
	x.all = append(x.all, leaf)
}

func (x *substrIndex) lookup(v []byte, fn func(leaf uint32)) {
	for _, c := range v {
		if c >= 0x80 {
			for _, l := range x.all {
				fn(l)
			}
			return
		}
	}
	for i := 0; i+substrKey <= len(v); i++ {
		k := binary.LittleEndian.Uint32(v[i:])
		h := substrHash(k)
		if x.filter[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, l := range x.byKey[k] {
			if len(v)-i >= len(l.lit) && string(v[i:i+len(l.lit)]) == l.lit {
				fn(l.leaf)
			}
		}
	}
}

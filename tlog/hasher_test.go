package tlog

import (
	"bytes"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
)

// TestTreeHasherIsRFC6962: the proofs are checked with treeHasher, which
// must hash exactly as rfc6962.DefaultHasher does.
func TestTreeHasherIsRFC6962(t *testing.T) {
	var h treeHasher
	if !bytes.Equal(h.EmptyRoot(), rfc6962.DefaultHasher.EmptyRoot()) {
		t.Error("EmptyRoot differs")
	}
	if h.Size() != rfc6962.DefaultHasher.Size() {
		t.Error("Size differs")
	}
	for _, leaf := range [][]byte{nil, {}, {0}, []byte("leaf"), bytes.Repeat([]byte{0xff}, 1000)} {
		if !bytes.Equal(h.HashLeaf(leaf), rfc6962.DefaultHasher.HashLeaf(leaf)) {
			t.Errorf("HashLeaf(%q) differs", leaf)
		}
	}
	l, r := LeafHash([]byte("l")), LeafHash([]byte("r"))
	for _, c := range [][2][]byte{{l[:], r[:]}, {r[:], l[:]}, {l[:], l[:]}} {
		if !bytes.Equal(h.HashChildren(c[0], c[1]), rfc6962.DefaultHasher.HashChildren(c[0], c[1])) {
			t.Errorf("HashChildren(%x, %x) differs", c[0], c[1])
		}
	}
	// Each call returns its own slice.
	a := h.HashChildren(l[:], r[:])
	b := h.HashChildren(r[:], l[:])
	if bytes.Equal(a, b) {
		t.Error("two different nodes hash the same")
	}
}

// TestVerifyConsistencyAllocs: checking a consistency proof allocates
// little more than the proof's hashes (no hash state per node).
func TestVerifyConsistencyAllocs(t *testing.T) {
	const size1, size2 = 1000, 5000
	leaves := make([]Hash, size2)
	for i := range leaves {
		leaves[i] = LeafHash([]byte{byte(i), byte(i >> 8)})
	}
	root := func(n int) Hash { return merkleRoot(leaves[:n]) }
	p := consistencyPath(leaves, size1, size2)
	r1, r2 := root(size1), root(size2)
	if err := VerifyConsistency(size1, size2, p, r1, r2); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := VerifyConsistency(size1, size2, p, r1, r2); err != nil {
			t.Fatal(err)
		}
	})
	// The slice of slices and one 32-byte result per node hashed.
	if max := float64(2 + 2*len(p)); allocs > max {
		t.Errorf("%v allocations to check a proof of %d hashes, want at most %v", allocs, len(p), max)
	}
}

// merkleRoot is RFC 6962's MTH over leaf hashes.
func merkleRoot(leaves []Hash) Hash {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return NodeHash(merkleRoot(leaves[:k]), merkleRoot(leaves[k:]))
}

// consistencyPath is RFC 6962's PROOF(m, D[n]).
func consistencyPath(leaves []Hash, m, n int) []Hash {
	var sub func(m int, d []Hash, b bool) []Hash
	sub = func(m int, d []Hash, b bool) []Hash {
		if m == len(d) {
			if b {
				return nil
			}
			return []Hash{merkleRoot(d)}
		}
		k := 1
		for k*2 < len(d) {
			k *= 2
		}
		if m <= k {
			return append(sub(m, d[:k], b), merkleRoot(d[k:]))
		}
		return append(sub(m-k, d[k:], false), merkleRoot(d[:k]))
	}
	return sub(m, leaves[:n], true)
}

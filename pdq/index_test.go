package pdq

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func readHashList(t *testing.T, name string) []Hash {
	var hs []Hash
	sc := bufio.NewScanner(bytes.NewReader(readShared(t, name)))
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			hs = append(hs, mustParse(t, string(line)))
		}
	}
	if len(hs) == 0 {
		t.Fatalf("%s has no hashes", name)
	}
	return hs
}

// bruteForce is the definition of a radius search, written independently
// of scan.
func bruteForce(hs []Hash, q Hash, r int) []Match {
	var out []Match
	for i, h := range hs {
		if d := Distance(h, q); d <= r {
			out = append(out, Match{ID: i, Distance: d})
		}
	}
	return out
}

// randomHashes returns n reproducible hashes: clusters of near-duplicates
// (a random centre plus copies with up to maxFlip bits flipped), like
// re-encoded or lightly edited copies of the same pictures.
func randomHashes(rng *rand.Rand, n, clusterSize, maxFlip int) []Hash {
	hs := make([]Hash, 0, n)
	for len(hs) < n {
		c := Hash{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
		hs = append(hs, c)
		for k := 1; k < clusterSize && len(hs) < n; k++ {
			hs = append(hs, flipBits(rng, c, rng.IntN(maxFlip+1)))
		}
	}
	return hs
}

func flipBits(rng *rand.Rand, h Hash, n int) Hash {
	for range n {
		k := rng.IntN(256)
		h[3-k/64] ^= 1 << (k % 64)
	}
	return h
}

func equalMatches(a, b []Match) bool {
	return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b))
}

// TestIndexHaystack: radius search over the reference MIH input equals
// brute force, at every radius around the default.
func TestIndexHaystack(t *testing.T) {
	hay := readHashList(t, "haystack.txt")
	needles := readHashList(t, "needles.txt")
	var x Index
	var f Flat
	for _, h := range hay {
		x.Add(h)
		f.Add(h)
	}
	// Force the multi-index tables although the haystack is small.
	x.mu.Lock()
	x.build()
	x.mu.Unlock()
	found := 0
	for _, r := range []int{0, 1, 10, 15, 16, 31, 32, 40, 47, 48, 64, 256} {
		for _, q := range append(slices.Clone(needles), hay[:50]...) {
			want := bruteForce(hay, q, r)
			if got := x.Search(q, r); !equalMatches(got, want) {
				t.Fatalf("Index.Search(%s, %d) = %v, brute force %v", q, r, got, want)
			}
			if got := f.Search(q, r); !equalMatches(got, want) {
				t.Fatalf("Flat.Search(%s, %d) = %v, brute force %v", q, r, got, want)
			}
			if r == DefaultRadius {
				found += len(want)
			}
		}
	}
	if found == 0 {
		t.Fatal("no needle matched at the default radius: the test proves nothing")
	}
	t.Logf("%d matches at radius %d", found, DefaultRadius)
}

// TestIndexRandom compares Index with brute force on clustered random data
// big enough to use the tables, growing it with Add and AddAll.
func TestIndexRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	n := 20000
	if testing.Short() {
		n = 10000 // still more than twice flatThreshold
	}
	hs := randomHashes(rng, n, 8, 40)
	var x Index
	half := n / 2
	first := max(half/2, flatThreshold+1)
	for _, h := range hs[:first] {
		x.Add(h) // crosses flatThreshold: tables are built on the way
	}
	if x.tables == nil {
		t.Fatal("tables not built")
	}
	x.AddAll(hs[first:half])
	check := func(stored []Hash, rounds int) {
		for range rounds {
			q := flipBits(rng, stored[rng.IntN(len(stored))], rng.IntN(40))
			for _, r := range []int{0, 5, 16, 31, 35, 47} {
				want := bruteForce(stored, q, r)
				if got := x.Search(q, r); !equalMatches(got, want) {
					t.Fatalf("n=%d r=%d: Index %v, brute force %v", len(stored), r, got, want)
				}
			}
		}
	}
	check(hs[:half], 100)
	// New hashes are matchable as soon as they are added.
	for i, h := range hs[half:] {
		id := x.Add(h)
		if id != half+i {
			t.Fatalf("Add returned %d, want %d", id, half+i)
		}
		if i%97 == 0 {
			ms := x.Search(h, 0)
			if !slices.ContainsFunc(ms, func(m Match) bool { return m.ID == id }) {
				t.Fatalf("hash %d not found right after Add", id)
			}
		}
	}
	check(hs, 100)
	if x.Len() != n || x.Hash(5) != hs[5] {
		t.Fatal("Len or Hash wrong")
	}
	if x.Search(hs[0], -1) != nil {
		t.Error("negative radius matched")
	}
}

func TestIndexSmallUsesScan(t *testing.T) {
	x := NewIndex()
	h := Hash{1, 2, 3, 4}
	x.Add(h)
	if x.tables != nil {
		t.Fatal("small index built tables")
	}
	if ms := x.Search(Hash{1, 2, 3, 5}, 1); len(ms) != 1 || ms[0] != (Match{ID: 0, Distance: 1}) {
		t.Errorf("Search = %v", ms)
	}
	if ms := x.Search(Hash{1, 2, 3, 7}, 0); len(ms) != 0 {
		t.Errorf("Search = %v", ms)
	}
}

// TestIndexConcurrent adds and searches at once (run with -race).
func TestIndexConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	hs := randomHashes(rng, 8000, 4, 10)
	x := NewIndex()
	x.AddAll(hs[:5000])
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, h := range hs[5000:] {
			x.Add(h)
		}
	})
	for g := range 2 {
		wg.Go(func() {
			for i := range 300 {
				q := hs[(i*13+g)%5000]
				if len(x.Search(q, DefaultRadius)) == 0 {
					t.Error("stored hash not found")
					return
				}
			}
		})
	}
	wg.Wait()
	if x.Len() != len(hs) {
		t.Fatalf("Len %d", x.Len())
	}
}

func TestSubMasks(t *testing.T) {
	if subMaskCount != [3]int{1, 17, 137} {
		t.Fatalf("subMaskCount = %v", subMaskCount)
	}
	seen := map[uint16]bool{}
	for _, m := range subMasks {
		if seen[m] {
			t.Fatalf("duplicate mask %x", m)
		}
		seen[m] = true
	}
	var h Hash
	h.setBit(255)
	h.setBit(0)
	if sub(&h, 0) != 0x8000 || sub(&h, 15) != 1 {
		t.Errorf("sub: %x %x", sub(&h, 0), sub(&h, 15))
	}
}

// TestScanImplementations: the assembly scan (where the CPU has POPCNT)
// and the portable one agree with brute force, across block boundaries and
// at edge radii.
func TestScanImplementations(t *testing.T) {
	t.Logf("assembly scan in use: %v", scanFast != nil)
	rng := rand.New(rand.NewPCG(11, 12))
	hs := randomHashes(rng, 5000, 50, 60)
	for _, r := range []int{-1, 0, 1, 20, 31, 64, 127, 128, 129, 200, 255, 256} {
		for k := range 5 {
			q := flipBits(rng, hs[rng.IntN(len(hs))], k*8)
			want := bruteForce(hs, q, r)
			for _, base := range []int{0, 1000} {
				got := scan(hs, base, q, r, nil)
				for i := range got {
					got[i].ID -= base
				}
				if !equalMatches(got, want) {
					t.Fatalf("scan r=%d base=%d: %d matches, want %d", r, base, len(got), len(want))
				}
			}
			if got := scanGo(hs, 0, q, r, nil); !equalMatches(got, want) {
				t.Fatalf("scanGo r=%d: %d matches, want %d", r, len(got), len(want))
			}
		}
	}
}

// TestFilterImplementations: the assembly gather filter and the portable
// one keep exactly the IDs within radius, in order, in place or not.
func TestFilterImplementations(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	hs := randomHashes(rng, 3000, 30, 50)
	for _, r := range []int{-1, 0, 7, 31, 100, 256} {
		q := flipBits(rng, hs[rng.IntN(len(hs))], 12)
		ids := make([]uint32, 500)
		for i := range ids {
			ids[i] = uint32(rng.IntN(len(hs)))
		}
		var want []uint32
		for _, id := range ids {
			if Distance(hs[id], q) <= r {
				want = append(want, id)
			}
		}
		out := make([]uint32, len(ids))
		n := filter(hs, ids, &q, r, out)
		if !slices.Equal(out[:n], want) {
			t.Fatalf("filter r=%d: %v, want %v", r, out[:n], want)
		}
		out2 := make([]uint32, len(ids))
		if n := filterGo(hs, ids, &q, r, out2); !slices.Equal(out2[:n], want) {
			t.Fatalf("filterGo r=%d: %v, want %v", r, out2[:n], want)
		}
		inPlace := slices.Clone(ids)
		if n := filter(hs, inPlace, &q, r, inPlace); !slices.Equal(inPlace[:n], want) {
			t.Fatalf("in-place filter r=%d differs", r)
		}
	}
}

package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestTilePaths(t *testing.T) {
	for _, c := range []struct {
		t    Tile
		path string
	}{
		{Tile{Level: 0, N: 0, Width: 256}, "tile/0/000"},
		{Tile{Level: 0, N: 1234067, Width: 256}, "tile/0/x001/x234/067"},
		{Tile{Level: 1, N: 0, Width: 17}, "tile/1/000.p/17"},
		{Tile{Level: 2, N: 1000, Width: 1}, "tile/2/x001/000.p/1"},
		{Tile{Level: 63, N: 999, Width: 256}, "tile/63/999"},
		{Tile{Entries: true, N: 5, Width: 256}, "tile/entries/005"},
		{Tile{Entries: true, N: 273, Width: 112}, "tile/entries/273.p/112"},
	} {
		if got := c.t.Path(); got != c.path {
			t.Errorf("%+v.Path() = %q, want %q", c.t, got, c.path)
		}
		got, err := ParseTilePath(c.path)
		if err != nil || got != c.t {
			t.Errorf("ParseTilePath(%q) = %+v, %v", c.path, got, err)
		}
	}
	for _, bad := range []string{
		"", "tile/", "tile/0", "tile/0/1", "tile/0/0000", "tile/00/000", "tile/64/000", "tile/-1/000",
		"tile/0/001/002", "tile/0/x000/001", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/07",
		"tile/0/000.p/", "tiles/0/000", "tile/entries/x1/000", "tile/0/x001", "tile/0/00a",
		"tile/0/x018/x446/x744/x073/x709/x551/616",
	} {
		if _, err := ParseTilePath(bad); !errors.Is(err, ErrMalformedTile) {
			t.Errorf("ParseTilePath(%q) err = %v", bad, err)
		}
	}
}

func TestTilesForSize(t *testing.T) {
	// The C2SP example: a tree of 70000 entries has 273 full and one
	// partial (112) level-0 tiles, one full and one partial (17) level-1
	// tile and one partial (1) level-2 tile.
	l0 := TilesForSize(0, false, 0, 70000)
	if len(l0) != 274 || l0[272].Width != 256 || l0[273].Width != 112 {
		t.Errorf("level 0: %d tiles, last %+v", len(l0), l0[len(l0)-1])
	}
	l1 := TilesForSize(1, false, 0, 70000)
	if len(l1) != 2 || l1[0].Width != 256 || l1[1].Width != 17 {
		t.Errorf("level 1: %+v", l1)
	}
	l2 := TilesForSize(2, false, 0, 70000)
	if len(l2) != 1 || l2[0].Width != 1 {
		t.Errorf("level 2: %+v", l2)
	}
	if l3 := TilesForSize(3, false, 0, 70000); len(l3) != 0 {
		t.Errorf("level 3: %+v", l3)
	}
	e := TilesForSize(0, true, 69999, 70000)
	if len(e) != 1 || e[0] != (Tile{N: 273, Width: 112, Entries: true}) {
		t.Errorf("entries from 69999: %+v", e)
	}
}

func TestEntryBundle(t *testing.T) {
	entries := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("z"), 300)}
	b, err := MarshalEntryBundle(entries)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0, 1, 'a', 0, 0, 1, 44}) {
		t.Fatalf("encoding: % x", b[:8])
	}
	got, err := ParseEntryBundle(b)
	if err != nil || len(got) != 3 || !bytes.Equal(got[2], entries[2]) {
		t.Fatalf("ParseEntryBundle = %q, %v", got, err)
	}
	for _, bad := range [][]byte{{0}, {0, 2, 'a'}, {1, 0}} {
		if _, err := ParseEntryBundle(bad); !errors.Is(err, ErrMalformedTile) {
			t.Errorf("ParseEntryBundle(% x) err = %v", bad, err)
		}
	}
	if _, err := MarshalEntryBundle([][]byte{make([]byte, 1<<16)}); err == nil {
		t.Error("oversized entry accepted")
	}
	var many [][]byte
	for range 257 {
		many = append(many, []byte("x"))
	}
	mb, _ := MarshalEntryBundle(many)
	if _, err := ParseEntryBundle(mb); err == nil {
		t.Error("257-entry bundle accepted")
	}
}

// TestTileBuilder builds a tree past two tile levels, resuming the builder
// from stored tiles at odd sizes, and checks every root and some proofs
// against a plain compact-range tree.
func TestTileBuilder(t *testing.T) {
	ctx := context.Background()
	n := 256*256 + 300
	if testing.Short() {
		n = 256*3 + 7
	}
	m := &memTiles{tiles: map[[2]uint64][]byte{}}
	cache := NewTileCache(3)
	ref := NewTree()
	b, err := NewTileBuilder(ctx, 0, m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		lh := LeafHash(fmt.Appendf(nil, "leaf %d", i))
		ref.Append(lh)
		b.Append(lh)
		if i%997 == 0 || i == n-1 || i == 255 || i == 256*256-1 {
			m.store(b.Flush())
			if b.Root() != ref.Root() {
				t.Fatalf("size %d: builder root differs", i+1)
			}
			size := uint64(i + 1)
			if root, err := TreeRoot(ctx, size, m.reader(size)); err != nil || root != ref.Root() {
				t.Fatalf("size %d: root from tiles %v, %v", size, root, err)
			}
			p, err := InclusionProof(ctx, size/2, size, m.reader(size))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(size/2, size, LeafHash(fmt.Appendf(nil, "leaf %d", size/2)), p, ref.Root()); err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			// The cache (shared across sizes: full tiles never change)
			// gives the same proofs and roots.
			for _, idx := range []uint64{0, size / 3, size - 1} {
				want, _ := InclusionProof(ctx, idx, size, m.reader(size))
				got, err := InclusionProof(ctx, idx, size, CachedTileHashReader(size, m, cache))
				if err != nil || !equalHashes(got, want) {
					t.Fatalf("size %d index %d: cached proof differs (%v)", size, idx, err)
				}
			}
			if root, err := TreeRoot(ctx, size, CachedTileHashReader(size, m, cache)); err != nil || root != ref.Root() {
				t.Fatalf("size %d: cached root %v, %v", size, root, err)
			}
			// Resume from storage, as an integrator does after a restart.
			if b, err = NewTileBuilder(ctx, size, m); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/1/x001/x234/067.p/17", "tile/entries/005", "tile/63/999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tile, err := ParseTilePath(p)
		if err != nil {
			return
		}
		if got := tile.Path(); got != p {
			t.Fatalf("ParseTilePath(%q).Path() = %q", p, got)
		}
	})
}

func FuzzParseEntryBundle(f *testing.F) {
	b, _ := MarshalEntryBundle([][]byte{[]byte("a"), []byte(`{"x":1}`)})
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseEntryBundle(data)
		if err != nil {
			return
		}
		again, err := MarshalEntryBundle(entries)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("round trip: %x → %x, %v", data, again, err)
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"))
	f.Add([]byte("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCheckpoint(data)
		if err != nil {
			return
		}
		if got := c.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("round trip: %q → %q", data, got)
		}
	})
}

// TestParseHashCanonical: a hash has one text, the standard padded base64
// of its 32 bytes: encoding/base64's Strict decoder still skips '\r' and
// '\n' anywhere, which ParseHash must not (a witness's add-checkpoint
// parser took "…\r…=" for a hash: FuzzParseAddCheckpoint's finding).
func TestParseHashCanonical(t *testing.T) {
	var h Hash
	for i := range h {
		h[i] = byte(i * 7)
	}
	s := h.String()
	if got, err := ParseHash(s); err != nil || got != h {
		t.Fatalf("ParseHash(%q) = %x, %v", s, got, err)
	}
	for _, bad := range []string{s[:10] + "\r" + s[10:], s[:10] + "\n" + s[10:], s + "\n", "\r" + s, s[:43] + "\r\n" + s[43:]} {
		if _, err := ParseHash(bad); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("ParseHash(%q) = %v, want ErrMalformedHash", bad, err)
		}
	}
}

// countingTiles counts the reads of each tile.
type countingTiles struct {
	*memTiles
	reads map[Tile]int
}

func (c *countingTiles) ReadTile(ctx context.Context, t Tile) ([]byte, error) {
	c.reads[t]++
	return c.memTiles.ReadTile(ctx, t)
}

// TestClientTileCache: proofs of every entry of a tree of 23 leaves (one
// partial tile) against one checkpoint read that tile once with a client
// cache, and give the same proofs as reading it each time; a server's
// cache keeps only full tiles.
func TestClientTileCache(t *testing.T) {
	ctx := context.Background()
	var leaves [][]byte
	for i := range 23 {
		leaves = append(leaves, fmt.Appendf(nil, "leaf %d", i))
	}
	m := &countingTiles{memTiles: newMemTiles(leaves), reads: map[Tile]int{}}
	const size = 23
	for _, tc := range []struct {
		name  string
		cache *TileCache
		reads int
	}{
		{"client", NewClientTileCache(4), 1},
		{"server", NewTileCache(4), size},
	} {
		clear(m.reads)
		for i := range uint64(size) {
			want, err := InclusionProof(ctx, i, size, m.memTiles.reader(size))
			if err != nil {
				t.Fatal(err)
			}
			got, err := InclusionProof(ctx, i, size, CachedTileHashReader(size, m, tc.cache))
			if err != nil || !equalHashes(got, want) {
				t.Fatalf("%s: entry %d: cached proof differs (%v)", tc.name, i, err)
			}
		}
		if n := m.reads[Tile{Level: 0, N: 0, Width: size}]; n != tc.reads {
			t.Errorf("%s cache: the partial tile read %d times for %d proofs, want %d", tc.name, n, size, tc.reads)
		}
	}
}

// TestReaderReadsEdgeOnce: one reader proving every entry of a tree with
// partial tiles on two levels (a node's bundle or concurrence answer)
// reads each partial tile once, with or without a server's cache of full
// tiles, and gives the proofs that a fresh reader a proof gives.
func TestReaderReadsEdgeOnce(t *testing.T) {
	ctx := context.Background()
	const size = 2*TileWidth + 37 // level-0 tiles 0 and 1 full, 2 partial; level 1 partial
	var leaves [][]byte
	for i := range size {
		leaves = append(leaves, fmt.Appendf(nil, "leaf %d", i))
	}
	m := &countingTiles{memTiles: newMemTiles(leaves), reads: map[Tile]int{}}
	edge := []Tile{{Level: 0, N: 2, Width: size - 2*TileWidth}, {Level: 1, N: 0, Width: size / TileWidth}}
	for _, tc := range []struct {
		name   string
		reader HashReader
	}{
		{"uncached", TileHashReader(size, m)},
		{"server cache", CachedTileHashReader(size, m, NewTileCache(4))},
	} {
		clear(m.reads)
		for i := uint64(0); i < size; i += 7 {
			got, err := InclusionProof(ctx, i, size, tc.reader)
			if err != nil {
				t.Fatal(err)
			}
			want, err := InclusionProof(ctx, i, size, m.memTiles.reader(size))
			if err != nil || !equalHashes(got, want) {
				t.Fatalf("%s: entry %d: proof differs from a fresh reader's (%v)", tc.name, i, err)
			}
		}
		for _, e := range edge {
			if n := m.reads[e]; n != 1 {
				t.Errorf("%s: partial tile %s read %d times through one reader, want once", tc.name, e.Path(), n)
			}
		}
	}
}

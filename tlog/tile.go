package tlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/transparency-dev/merkle/compact"
)

// TileHeight is the C2SP tlog-tiles tile height: a tile holds up to
// 2^8 = 256 hashes or entries.
const TileHeight = 8

// TileWidth is the number of hashes or entries in a full tile.
const TileWidth = 1 << TileHeight

// MaxTileLevel is the highest hash tile level C2SP tlog-tiles allows.
const MaxTileLevel = 63

// ErrMalformedTile is returned (wrapped) for a tile path, hash tile or
// entry bundle that is not valid C2SP tlog-tiles.
var ErrMalformedTile = errors.New("malformed tile")

// Tile names one C2SP tlog-tiles resource: a hash tile at Level (0–63) or,
// if Entries, an entry bundle; N is the tile index within its level and
// Width the number of hashes or entries (1–256, 256 meaning a full tile).
//
// Hash tile N at level L holds the hashes of the level-8·L tree nodes
// [N·256, N·256+Width); entry bundle N holds entries [N·256, N·256+Width).
type Tile struct {
	Level   int
	N       uint64
	Width   int
	Entries bool
}

// Path returns the tile's path relative to the log prefix, such as
// "tile/0/x001/x234/067", "tile/1/000.p/17" or "tile/entries/005".
func (t Tile) Path() string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.Entries {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(t.Level))
	}
	b.WriteByte('/')
	b.WriteString(tileIndexPath(t.N))
	if t.Width < TileWidth {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.Width))
	}
	return b.String()
}

// tileIndexPath splits n into zero-padded 3-digit elements, all but the last
// prefixed with "x": 1234067 → "x001/x234/067".
func tileIndexPath(n uint64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// ParseTilePath parses a path produced by [Tile.Path] (without the log
// prefix). Every accepted path re-encodes to the same bytes.
func ParseTilePath(p string) (Tile, error) {
	bad := func(why string) (Tile, error) {
		return Tile{}, fmt.Errorf("%w: path %.80q: %s", ErrMalformedTile, p, why)
	}
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return bad("doesn't start with tile/")
	}
	var t Tile
	level, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("no index")
	}
	if level == "entries" {
		t.Entries = true
	} else {
		l, err := strconv.Atoi(level)
		if err != nil || l < 0 || l > MaxTileLevel || strconv.Itoa(l) != level {
			return bad("bad level")
		}
		t.Level = l
	}
	t.Width = TileWidth
	if idx, w, ok := strings.Cut(rest, ".p/"); ok {
		width, err := strconv.Atoi(w)
		if err != nil || width < 1 || width >= TileWidth || strconv.Itoa(width) != w {
			return bad("bad partial width")
		}
		t.Width, rest = width, idx
	}
	elems := strings.Split(rest, "/")
	var n uint64
	for i, e := range elems {
		last := i == len(elems)-1
		if !last {
			var ok bool
			if e, ok = strings.CutPrefix(e, "x"); !ok {
				return bad("inner index element without x")
			}
		}
		if len(e) != 3 || e[0] < '0' || e[0] > '9' || e[1] < '0' || e[1] > '9' || e[2] < '0' || e[2] > '9' {
			return bad("index element isn't 3 digits")
		}
		d := uint64(e[0]-'0')*100 + uint64(e[1]-'0')*10 + uint64(e[2]-'0')
		if n > (^uint64(0)-d)/1000 {
			return bad("index overflows")
		}
		n = n*1000 + d
	}
	t.N = n
	if tileIndexPath(n) != rest {
		// Leading "x000/" elements: non-canonical.
		return bad("non-canonical index")
	}
	return t, nil
}

// TilesForSize lists the hash tiles (or, with entries, entry bundles) of
// the tree of the given size that end after leaf index start: the tiles a
// client fetches to read leaves [start, size). Partial tiles are named
// with their width at that size.
func TilesForSize(level int, entries bool, start, size uint64) []Tile {
	// Level l's row has size >> (8·l) hashes.
	rowLen := size
	first := start
	for i := 0; i < level; i++ {
		rowLen >>= TileHeight
		first >>= TileHeight
	}
	var out []Tile
	for n := first / TileWidth; n*TileWidth < rowLen; n++ {
		w := rowLen - n*TileWidth
		if w > TileWidth {
			w = TileWidth
		}
		out = append(out, Tile{Level: level, N: n, Width: int(w), Entries: entries})
	}
	return out
}

// ParseHashTile splits a hash tile's bytes into its hashes; the length
// must be exactly t.Width hashes.
func ParseHashTile(t Tile, data []byte) ([]Hash, error) {
	if t.Entries || len(data) != t.Width*HashSize {
		return nil, fmt.Errorf("%w: %s has %d bytes, want %d", ErrMalformedTile, t.Path(), len(data), t.Width*HashSize)
	}
	out := make([]Hash, t.Width)
	for i := range out {
		copy(out[i][:], data[i*HashSize:])
	}
	return out, nil
}

// MarshalHashTile concatenates hashes: the encoding of a hash tile.
func MarshalHashTile(hashes []Hash) []byte {
	out := make([]byte, 0, len(hashes)*HashSize)
	for _, h := range hashes {
		out = append(out, h[:]...)
	}
	return out
}

// MaxEntrySize is the largest entry an entry bundle can hold.
const MaxEntrySize = 1<<16 - 1

// MarshalEntryBundle encodes entries as a C2SP tlog-tiles entry bundle:
// each entry prefixed with its length as a big-endian uint16.
func MarshalEntryBundle(entries [][]byte) ([]byte, error) {
	var n int
	for _, e := range entries {
		if len(e) > MaxEntrySize {
			return nil, fmt.Errorf("%w: entry of %d bytes is too large for a bundle", ErrMalformedTile, len(e))
		}
		n += 2 + len(e)
	}
	out := make([]byte, 0, n)
	for _, e := range entries {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	return out, nil
}

// ParseEntryBundle splits an entry bundle into its entries. It fails with
// [ErrMalformedTile] on a truncated bundle or more than [TileWidth]
// entries.
func ParseEntryBundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: truncated entry length", ErrMalformedTile)
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, fmt.Errorf("%w: truncated entry", ErrMalformedTile)
		}
		if len(out) == TileWidth {
			return nil, fmt.Errorf("%w: more than %d entries in a bundle", ErrMalformedTile, TileWidth)
		}
		out = append(out, b[2:2+n:2+n])
		b = b[2+n:]
	}
	return out, nil
}

// TileReader reads hash tiles. ReadTile returns the bytes of the hash tile
// t (exactly t.Width hashes); a store may hold a wider version of a
// partial tile and return its prefix.
type TileReader interface {
	ReadTile(ctx context.Context, t Tile) ([]byte, error)
}

// TileHashReader adapts a [TileReader] for the tree of the given size into
// a [HashReader]: the hash of node (level, index) is computed from the
// hashes of the tile row at level 8·⌊level/8⌋ beneath it.
func TileHashReader(size uint64, tr TileReader) HashReader {
	return tileHashReader{size: size, tr: tr, edge: &edgeTiles{m: map[Tile][][]Hash{}}}
}

// CachedTileHashReader is [TileHashReader] with a cache of full tiles and
// their inner node hashes: full tiles never change, so a server building
// many proofs reads and hashes each one once.
func CachedTileHashReader(size uint64, tr TileReader, c *TileCache) HashReader {
	return tileHashReader{size: size, tr: tr, cache: c, edge: &edgeTiles{m: map[Tile][][]Hash{}}}
}

type tileHashReader struct {
	size  uint64
	tr    TileReader
	cache *TileCache
	edge  *edgeTiles
}

// edgeTiles holds the partial tiles a reader read, with their inner node
// hashes, for all its calls: a node proving many entries against one tree
// (a bundle, a concurrence answer) reads and hashes each once, not once a
// proof. The tree's size fixes them, at most one a level, so they are few
// and never change.
type edgeTiles struct {
	mu sync.Mutex
	m  map[Tile][][]Hash
}

// edgeLevels returns the hashes of partial tile t and of its complete
// inner nodes ([tileLevels]), read once per reader.
func (r tileHashReader) edgeLevels(ctx context.Context, t Tile) ([][]Hash, error) {
	r.edge.mu.Lock()
	levels, ok := r.edge.m[t]
	r.edge.mu.Unlock()
	if ok {
		return levels, nil
	}
	row, err := readHashTile(ctx, r.tr, t)
	if err != nil {
		return nil, err
	}
	levels = tileLevels(row)
	r.edge.mu.Lock()
	r.edge.m[t] = levels
	r.edge.mu.Unlock()
	return levels, nil
}

// readHashTile reads tile t through tr and parses its hashes; a read error
// names the tile's path, a parse error is [ParseHashTile]'s.
func readHashTile(ctx context.Context, tr TileReader, t Tile) ([]Hash, error) {
	data, err := tr.ReadTile(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("couldn't read %s: %w", t.Path(), err)
	}
	return ParseHashTile(t, data)
}

// ReadHashes implements [HashReader]; full tiles are read once per call
// (or once while cached), partial ones once per reader.
func (r tileHashReader) ReadHashes(ctx context.Context, nodes []compact.NodeID) ([]Hash, error) {
	local := map[Tile][][]Hash{}
	out := make([]Hash, len(nodes))
	for i, id := range nodes {
		if id.Level >= 64 || (id.Index+1) > r.size>>id.Level {
			return nil, fmt.Errorf("node (%d, %d) isn't complete in tree of size %d", id.Level, id.Index, r.size)
		}
		tl := int(id.Level / TileHeight)
		sub := id.Level % TileHeight
		// The node covers row indexes [first, first+count) of tile level tl.
		first := id.Index << sub
		count := uint64(1) << sub
		rowLen := r.size >> (uint(tl) * TileHeight)
		n := first / TileWidth
		w := rowLen - n*TileWidth
		if w > TileWidth {
			w = TileWidth
		}
		t := Tile{Level: tl, N: n, Width: int(w)}
		off := first - n*TileWidth
		if r.cache != nil && (t.Width == TileWidth || r.cache.partial) {
			levels, ok := r.cache.get(t)
			if !ok {
				row, err := readHashTile(ctx, r.tr, t)
				if err != nil {
					return nil, err
				}
				levels = tileLevels(row)
				r.cache.put(t, levels)
			}
			out[i] = levels[sub][off>>sub]
			continue
		}
		if t.Width < TileWidth && r.edge != nil {
			levels, err := r.edgeLevels(ctx, t)
			if err != nil {
				return nil, err
			}
			out[i] = levels[sub][off>>sub]
			continue
		}
		levels, ok := local[t]
		if !ok {
			row, err := readHashTile(ctx, r.tr, t)
			if err != nil {
				return nil, err
			}
			levels = [][]Hash{row}
			local[t] = levels
		}
		out[i] = subtreeHash(levels[0][off : off+count])
	}
	return out, nil
}

// tileLevels hashes a full tile's row up to its root: levels[k][j] is the
// root of row[j·2^k, (j+1)·2^k).
func tileLevels(row []Hash) [][]Hash {
	levels := [][]Hash{row}
	for cur := row; len(cur) > 1; {
		next := make([]Hash, len(cur)/2)
		for j := range next {
			next[j] = NodeHash(cur[2*j], cur[2*j+1])
		}
		levels = append(levels, next)
		cur = next
	}
	return levels
}

// TileCache holds full hash tiles with their inner node hashes (about
// 16 KiB each) for [CachedTileHashReader]. It is safe for concurrent use
// and evicts the oldest tile beyond its capacity.
type TileCache struct {
	mu      sync.Mutex
	max     int
	m       map[Tile][][]Hash
	order   []Tile
	partial bool
}

// NewTileCache returns a cache of at most max full tiles.
func NewTileCache(max int) *TileCache {
	return &TileCache{max: max, m: map[Tile][][]Hash{}}
}

// NewClientTileCache returns a cache of at most max tiles, partial ones
// (the right edge of a tree smaller than a full tile's multiple) too: a
// client proving many entries against one checkpoint reads each partial
// tile once, not once an entry. (A partial tile, named with its width,
// is as fixed as a full one; a server's come and go as its log grows, so
// its cache keeps full tiles only.) It evicts the least recently used
// tile, so that a small one keeps the tiles every proof needs.
func NewClientTileCache(max int) *TileCache {
	return &TileCache{max: max, m: map[Tile][][]Hash{}, partial: true}
}

func (c *TileCache) get(t Tile) ([][]Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[t]
	if ok && c.partial {
		// A client's cache is small (see NewClientTileCache): keep
		// the tiles every proof uses (the upper levels', the right
		// edge's), evicting the least recently used.
		last := len(c.order) - 1
		for j := last; j >= 0; j-- {
			if c.order[j] == t {
				copy(c.order[j:], c.order[j+1:])
				c.order[last] = t
				break
			}
		}
	}
	return l, ok
}

// len returns the number of tiles c holds.
func (c *TileCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func (c *TileCache) put(t Tile, levels [][]Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[t]; ok || c.max <= 0 {
		return
	}
	if len(c.order) >= c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[t] = levels
	c.order = append(c.order, t)
}

// subtreeHash is the root of a perfect subtree given its bottom row (a
// power-of-two number of hashes).
func subtreeHash(row []Hash) Hash {
	if len(row) == 1 {
		return row[0]
	}
	buf := append([]Hash(nil), row...)
	for len(buf) > 1 {
		for i := 0; i < len(buf)/2; i++ {
			buf[i] = NodeHash(buf[2*i], buf[2*i+1])
		}
		buf = buf[:len(buf)/2]
	}
	return buf[0]
}

// TileBuilder extends a tiled tree leaf by leaf and reports the hash tiles
// that changed, so that an integrator can persist them with the new
// checkpoint. It keeps the last (partial) tile of each level in memory.
type TileBuilder struct {
	tree  *compact.Range
	rows  [][]Hash // rows[l]: hashes of the current, unfilled tile at level l
	index []uint64 // index[l]: that tile's index N
	dirty map[Tile][]byte
}

// NewTileBuilder resumes building the tree of the given size, reading the
// partial tiles and compact range it needs through tr.
func NewTileBuilder(ctx context.Context, size uint64, tr TileReader) (*TileBuilder, error) {
	b := &TileBuilder{dirty: map[Tile][]byte{}}
	hr := TileHashReader(size, tr)
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := hr.ReadHashes(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("couldn't resume tree: %w", err)
	}
	if b.tree, err = rangeFactory.NewRange(0, size, toSlices(hashes)); err != nil {
		return nil, fmt.Errorf("couldn't resume tree: %w", err)
	}
	for l, rowLen := 0, size; rowLen > 0; l, rowLen = l+1, rowLen>>TileHeight {
		n, w := rowLen/TileWidth, rowLen%TileWidth
		b.index = append(b.index, n)
		if w == 0 {
			b.rows = append(b.rows, nil)
			continue
		}
		t := Tile{Level: l, N: n, Width: int(w)}
		data, err := tr.ReadTile(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("couldn't resume tree: read %s: %w", t.Path(), err)
		}
		hs, err := ParseHashTile(t, data)
		if err != nil {
			return nil, fmt.Errorf("couldn't resume tree: %w", err)
		}
		b.rows = append(b.rows, hs)
	}
	return b, nil
}

// Append adds one leaf hash.
func (b *TileBuilder) Append(leafHash Hash) {
	if err := b.tree.Append(leafHash[:], nil); err != nil {
		panic(err) // cannot happen: one hash, range starts at 0
	}
	h := leafHash
	for l := 0; ; l++ {
		if l == len(b.rows) {
			b.rows = append(b.rows, nil)
			b.index = append(b.index, 0)
		}
		b.rows[l] = append(b.rows[l], h)
		if len(b.rows[l]) < TileWidth {
			return
		}
		full := Tile{Level: l, N: b.index[l], Width: TileWidth}
		b.dirty[full] = MarshalHashTile(b.rows[l])
		h = subtreeHash(b.rows[l])
		b.rows[l] = nil
		b.index[l]++
	}
}

// Size returns the tree size.
func (b *TileBuilder) Size() uint64 { return b.tree.End() }

// Root returns the current root hash.
func (b *TileBuilder) Root() Hash {
	if b.tree.End() == 0 {
		return EmptyRoot()
	}
	r, err := b.tree.GetRootHash(nil)
	if err != nil {
		panic(err)
	}
	var h Hash
	copy(h[:], r)
	return h
}

// Flush returns the hash tiles completed since the last Flush plus the
// current partial tile of each level, keyed by tile (with its width).
// Writing them all makes the stored tiles describe the tree of Size().
func (b *TileBuilder) Flush() map[Tile][]byte {
	out := b.dirty
	for l, row := range b.rows {
		if len(row) > 0 {
			out[Tile{Level: l, N: b.index[l], Width: len(row)}] = MarshalHashTile(row)
		}
	}
	b.dirty = map[Tile][]byte{}
	return out
}

package tlog

import (
	"context"
	"fmt"
)

// memTiles stores the tiles of a tree built with TileBuilder, keeping only
// the widest version of each tile as a real store would.
type memTiles struct {
	tiles map[[2]uint64][]byte // (level, n) → widest data
}

func newMemTiles(leaves [][]byte) *memTiles {
	m := &memTiles{tiles: map[[2]uint64][]byte{}}
	b, err := NewTileBuilder(context.Background(), 0, m)
	if err != nil {
		panic(err)
	}
	for _, l := range leaves {
		b.Append(LeafHash(l))
		m.store(b.Flush())
	}
	return m
}

func (m *memTiles) store(tiles map[Tile][]byte) {
	for t, d := range tiles {
		k := [2]uint64{uint64(t.Level), t.N}
		if len(d) > len(m.tiles[k]) {
			m.tiles[k] = d
		}
	}
}

func (m *memTiles) ReadTile(_ context.Context, t Tile) ([]byte, error) {
	d := m.tiles[[2]uint64{uint64(t.Level), t.N}]
	if len(d) < t.Width*HashSize {
		return nil, fmt.Errorf("tile %s not stored", t.Path())
	}
	return d[:t.Width*HashSize], nil
}

func (m *memTiles) reader(size uint64) HashReader { return TileHashReader(size, m) }

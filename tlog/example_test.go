package tlog_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// memTiles keeps hash tiles in memory at their widest.
type memTiles map[[2]uint64][]byte

func (m memTiles) ReadTile(_ context.Context, t tlog.Tile) ([]byte, error) {
	d := m[[2]uint64{uint64(t.Level), t.N}]
	if len(d) < t.Width*tlog.HashSize {
		return nil, fmt.Errorf("no tile %s", t.Path())
	}
	return d[:t.Width*tlog.HashSize], nil
}

// A log signs a checkpoint of its tree; a member holding the log's
// verifier key checks an entry's inclusion proof against it.
func Example() {
	ctx := context.Background()
	skey, vkey, _ := tlog.NewNodeKey(strings.NewReader(strings.Repeat("x", 64)), "parley.example/log")
	signer, _ := note.NewSigner(skey)

	// The log: three entries, tiles, a signed checkpoint.
	tiles := memTiles{}
	b, _ := tlog.NewTileBuilder(ctx, 0, tiles)
	leaves := [][]byte{[]byte("entry 0"), []byte("entry 1"), []byte("entry 2")}
	for _, l := range leaves {
		b.Append(tlog.LeafHash(l))
	}
	for t, data := range b.Flush() {
		tiles[[2]uint64{uint64(t.Level), t.N}] = data
	}
	signed, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "parley.example/log", Size: b.Size(), Hash: b.Root()}, signer)
	proof, _ := tlog.InclusionProof(ctx, 1, b.Size(), tlog.TileHashReader(b.Size(), tiles))

	// The member: pin vkey, open the checkpoint, verify the proof.
	v, _ := tlog.NewVerifier(vkey)
	cp, err := tlog.OpenCheckpoint(signed, v)
	if err != nil {
		panic(err)
	}
	err = tlog.VerifyInclusion(1, cp.Size, tlog.LeafHash([]byte("entry 1")), proof, cp.Hash)
	fmt.Println(cp.Origin, cp.Size, err)
	err = tlog.VerifyInclusion(1, cp.Size, tlog.LeafHash([]byte("entry X")), proof, cp.Hash)
	fmt.Println(err != nil)
	// Output:
	// parley.example/log 3 <nil>
	// true
}

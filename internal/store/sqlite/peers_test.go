package sqlite

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// TestPeers: a peer and its state survive a reopen; a step is recorded
// only from the stored position and not after a stop; tiles serve
// prefixes of wider stored versions; key entries, checkpoints and
// provenance read back as written.
func TestPeers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, store.Member{ID: "identity--p", Name: "peer:b", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "c1", Title: "from b", Relay: true}); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := tlog.NewNodeKey(rand.Reader, "b.example/log")
	if err != nil {
		t.Fatal(err)
	}
	p := store.Peer{Name: "b", URL: "https://b.example", TokenFile: "/t", LogKey: vkey, Remote: "r", Into: "c1", Member: "identity--p",
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, tc := range []struct {
		name string
		p    store.Peer
		want error
	}{
		{"new", p, nil},
		{"taken name", p, store.ErrConflict},
		{"no url", store.Peer{Name: "c", TokenFile: "/t", LogKey: vkey, Remote: "r", Into: "c1", Member: "identity--p"}, store.ErrInvalid},
	} {
		if err := s.AddPeer(ctx, tc.p); !errors.Is(err, tc.want) {
			t.Errorf("%s: AddPeer = %v, want %v", tc.name, err, tc.want)
		}
	}

	// A checkpoint of size 2 over two leaves.
	leaves := [][]byte{[]byte("key entry"), []byte("object entry")}
	b, _ := tlog.NewTileBuilder(ctx, 0, nil)
	for _, l := range leaves {
		b.Append(tlog.LeafHash(l))
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "b.example/log", Size: 2, Hash: b.Root()}, signer)
	if err != nil {
		t.Fatal(err)
	}
	step := store.PeerStep{Peer: "b", From: 0, To: 2, Checkpoint: cp, Tiles: b.Flush(),
		Keys:       []store.PeerKey{{Index: 0, Leaf: leaves[0]}},
		Objects:    []store.PeerObject{{Index: 1, Leaf: leaves[1], Opening: tlog.Opening{Salt: make([]byte, 32), Collection: "r", ObjectID: "indicator--1", Version: "2026-01-01T00:00:00.000Z", Member: "identity--m"}, Version: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}},
		RemoteSize: 5, At: time.Now()}
	if err := s.AdvancePeer(ctx, step); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvancePeer(ctx, step); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the same step twice: %v", err)
	}
	if err := s.AdvancePeer(ctx, store.PeerStep{Peer: "nope", From: 0, To: 1, Checkpoint: cp}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown peer: %v", err)
	}
	s.Close()
	if s, err = Open(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps, err := s.Peers(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("Peers: %v %v", ps, err)
	}
	got := ps[0]
	if got.URL != p.URL || !got.Created.Equal(p.Created) || got.State.Next != 2 || got.State.Objects != 1 || got.State.Keys != 1 ||
		got.State.RemoteSize != 5 || !bytes.Equal(got.State.Checkpoint, cp) {
		t.Fatalf("peer after reopen: %+v", got)
	}
	if tile, err := s.PeerTile(ctx, "b", tlog.Tile{Level: 0, N: 0, Width: 1}); err != nil || len(tile) != tlog.HashSize {
		t.Fatalf("prefix tile: %d bytes, %v", len(tile), err)
	}
	if _, err := s.PeerTile(ctx, "b", tlog.Tile{Level: 0, N: 0, Width: 3}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tile beyond the tree: %v", err)
	}
	if ks, err := s.PeerKeys(ctx, "b", 2); err != nil || len(ks) != 1 || !bytes.Equal(ks[0].Leaf, leaves[0]) {
		t.Fatalf("PeerKeys: %v %v", ks, err)
	}
	if cps, err := s.PeerCheckpoints(ctx, "b"); err != nil || len(cps) != 1 {
		t.Fatalf("PeerCheckpoints: %d %v", len(cps), err)
	}
	if os, err := s.PeerObjects(ctx, "b", "indicator--1"); err != nil || len(os) != 1 || os[0].Index != 1 || os[0].Opening.Member != "identity--m" {
		t.Fatalf("PeerObjects: %+v %v", os, err)
	}

	if err := s.StopPeer(ctx, "b", "forked", "/ev.json", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvancePeer(ctx, store.PeerStep{Peer: "b", From: 2, To: 2, Checkpoint: cp}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a step after the stop: %v", err)
	}
	if err := s.RecordPeerRound(ctx, "nope", time.Now(), 0, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RecordPeerRound of an unknown peer: %v", err)
	}
}

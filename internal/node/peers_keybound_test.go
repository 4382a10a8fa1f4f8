package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/parley-exchange/parley/internal/peer"
)

// TestPeerKeyEntriesBounded: B logs member key entries without end
// (alice rotating her key); A's follower, bounded to 4 key entries
// (peer.Config.MaxKeyEntries), or to the bytes of 4
// (peer.Config.MaxKeyBytes: an entry may be 64 KiB), replicates B's log up
// to the fifth and no further, failing each round with peer.ErrTooManyKeys, so that its key
// history, held in memory and replayed at each round, stays bounded.
func TestPeerKeyEntriesBounded(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	b.share(t, b.intel, 2)
	for range 3 {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		if err := b.RotateKey(ctx, b.alice.ID, pub, nil); err != nil {
			t.Fatal(err)
		}
		b.alice.Key = priv
		b.share(t, b.intel, 1)
	}
	size := waitIntegratedNode(t, b.Node)
	keys, err := b.store.KeyEntries(ctx, size)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 5 {
		t.Fatalf("B logged %d key entries, want 5", len(keys))
	}
	fifth := keys[4].Index

	var four int64
	for _, k := range keys[:4] {
		four += int64(len(k.Leaf))
	}
	for _, cfg := range []peer.Config{{MaxKeyEntries: 4}, {MaxKeyBytes: four}} {
		a, dir := initNode(t, Options{})
		p, err := a.AddPeer(ctx, PeerSpec{Name: "a", URL: b.URL, TokenFile: b.followers["a"], LogKey: b.VerifierKey(), Remote: b.intel, Into: "from-b"})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store, cfg.Dir, cfg.Step = a.store, dir, 1
		f, err := peer.New(cfg, p)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second round starts anew from the store
			if _, err := f.Round(ctx); !errors.Is(err, peer.ErrTooManyKeys) {
				t.Fatalf("%+v: round: %v, want ErrTooManyKeys", cfg, err)
			}
			ps, err := a.store.Peers(ctx)
			if err != nil || len(ps) != 1 {
				t.Fatal(ps, err)
			}
			if st := ps[0]; st.State.Next != fifth {
				t.Fatalf("%+v: replicated up to %d; want %d, B's fifth key entry", cfg, st.State.Next, fifth)
			}
		}
		stored, err := a.store.PeerKeys(ctx, "a", fifth+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 4 {
			t.Fatalf("%+v: A holds %d of B's key entries, want 4", cfg, len(stored))
		}
	}
}

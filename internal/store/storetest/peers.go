package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// testPeers: peers read back exactly, by name; a taken name is a
// conflict, a peer missing a field is invalid and one naming an unknown
// collection is refused, changing nothing. A step is recorded only from
// the stored position, not after a stop, and of two concurrent steps from
// the same position exactly one is; a refused step changes nothing. Tiles
// serve prefixes of wider stored versions and a narrower version never
// replaces a wider one; key entries, checkpoints and provenance read back
// as written; a round with an unknown size keeps the last one; a round
// in progress is marked with its start and position, and cleared. A key
// index is recorded only with the step that reaches its checkpoint's
// size, or at the stored position, with that checkpoint; a step without
// one keeps it; why none was stored is recorded beside it.
func testPeers(t *testing.T, s store.Store) {
	pm := member("peer:b")
	pm.PublicKey = nil
	must(t, s.AddMember(ctx, pm))
	must(t, s.AddCollection(ctx, store.Collection{ID: "c1", Title: "from b", Relay: true, Signatures: store.SignaturesOptional}))
	if ps, err := s.Peers(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("Peers of a fresh store = %+v, %v", ps, err)
	}
	skey, vkey, err := tlog.NewNodeKey(rand.Reader, "b.example/log")
	must(t, err)
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	p := store.Peer{Name: "b", URL: "https://b.example", TokenFile: "/t", CAFile: "/ca.pem", LogKey: vkey, Policy: "quorum none\n",
		Remote: "r", Into: "c1", Member: pm.ID, Created: created}
	a := p
	a.Name, a.CAFile, a.Policy = "a", "", ""
	for _, tc := range []struct {
		name string
		p    store.Peer
		want error
	}{
		{"new", p, nil},
		{"another", a, nil},
		{"taken name", p, store.ErrConflict},
		{"no url", store.Peer{Name: "c", TokenFile: "/t", LogKey: vkey, Remote: "r", Into: "c1", Member: pm.ID}, store.ErrInvalid},
		{"no name", store.Peer{URL: "https://c.example", TokenFile: "/t", LogKey: vkey, Remote: "r", Into: "c1", Member: pm.ID}, store.ErrInvalid},
		{"unknown collection", store.Peer{Name: "d", URL: "https://d.example", TokenFile: "/t", LogKey: vkey, Remote: "r", Into: "nope", Member: pm.ID}, store.ErrNotFound},
		{"unknown member", store.Peer{Name: "e", URL: "https://e.example", TokenFile: "/t", LogKey: vkey, Remote: "r", Into: "c1", Member: "identity--nobody"}, store.ErrNotFound},
	} {
		err := s.AddPeer(ctx, tc.p)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: AddPeer = %v, want %v", tc.name, err, tc.want)
		}
	}
	ps, err := s.Peers(ctx)
	if err != nil || len(ps) != 2 || ps[0].Name != "a" || ps[1].Name != "b" {
		t.Fatalf("Peers = %+v, %v; want a and b", ps, err)
	}
	if got := ps[1]; got.URL != p.URL || got.TokenFile != p.TokenFile || got.CAFile != p.CAFile || got.LogKey != p.LogKey ||
		got.Policy != p.Policy || got.Remote != p.Remote || got.Into != p.Into || got.Member != p.Member ||
		!got.Created.Equal(created) || got.State.Next != 0 || got.State.Checkpoint != nil || !got.State.LastRound.IsZero() {
		t.Fatalf("new peer read back as %+v", got)
	}

	// Checkpoints of sizes 2 and 3 over three leaves.
	leaves := [][]byte{[]byte("key entry"), []byte("object entry"), []byte("another object entry")}
	signer, err := note.NewSigner(skey)
	must(t, err)
	b, err := tlog.NewTileBuilder(ctx, 0, nil)
	must(t, err)
	sign := func(size uint64) []byte {
		cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "b.example/log", Size: size, Hash: b.Root()}, signer)
		must(t, err)
		return cp
	}
	b.Append(tlog.LeafHash(leaves[0]))
	b.Append(tlog.LeafHash(leaves[1]))
	cp2, tiles2 := sign(2), b.Flush()
	b.Append(tlog.LeafHash(leaves[2]))
	cp3, tiles3 := sign(3), b.Flush()

	v1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	obj := store.PeerObject{Index: 1, Leaf: leaves[1], Version: v1,
		Opening: tlog.Opening{Salt: make([]byte, 32), Collection: "r", ObjectID: "indicator--1", Version: store.FormatTime(v1), Member: "identity--m"}}
	step := store.PeerStep{Peer: "b", From: 0, To: 2, Checkpoint: cp2, Tiles: tiles2,
		Keys: []store.PeerKey{{Index: 0, Leaf: leaves[0]}}, Objects: []store.PeerObject{obj}, RemoteSize: 5, At: created.Add(time.Hour)}

	// Two concurrent attempts at the same step: exactly one is recorded.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.AdvancePeer(ctx, step)
		}()
	}
	wg.Wait()
	if ok := (errs[0] == nil) != (errs[1] == nil); !ok || !errors.Is(errors.Join(errs...), store.ErrConflict) {
		t.Fatalf("two concurrent identical steps: %v; want one recorded and one conflict", errs)
	}
	for _, tc := range []struct {
		name string
		s    store.PeerStep
		want error
	}{
		{"the same step again", step, store.ErrConflict},
		{"a step from elsewhere", store.PeerStep{Peer: "b", From: 1, To: 3, Checkpoint: cp3}, store.ErrConflict},
		{"an unknown peer", store.PeerStep{Peer: "nope", From: 0, To: 1, Checkpoint: cp2}, store.ErrNotFound},
		{"backwards", store.PeerStep{Peer: "b", From: 2, To: 1, Checkpoint: cp2}, store.ErrInvalid},
		{"no checkpoint", store.PeerStep{Peer: "b", From: 2, To: 3}, store.ErrInvalid},
		{"a bad tile", store.PeerStep{Peer: "b", From: 2, To: 3, Checkpoint: cp3, Tiles: map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 2}: {1}}}, store.ErrInvalid},
		{"a key index of another tree than the step's end", store.PeerStep{Peer: "b", From: 2, To: 3, Checkpoint: cp2, KeyIndex: []byte("index of 2")}, store.ErrInvalid},
	} {
		if err := s.AdvancePeer(ctx, tc.s); !errors.Is(err, tc.want) {
			t.Errorf("%s: AdvancePeer = %v, want %v", tc.name, err, tc.want)
		}
	}

	got := peerNamed(t, s, "b")
	if st := got.State; st.Next != 2 || st.Objects != 1 || st.Keys != 1 || st.RemoteSize != 5 || !bytes.Equal(st.Checkpoint, cp2) ||
		!st.LastRound.Equal(step.At) || st.LastError != "" || st.Stopped != "" || st.Refused != 0 || st.LastRefused != "" {
		t.Fatalf("peer after a step: %+v", st)
	}
	if got := peerNamed(t, s, "a"); got.State.Next != 0 {
		t.Fatalf("the other peer moved: %+v", got.State)
	}
	if st := got.State; st.KeyIndex != nil || st.KeyIndexCheckpoint != nil || st.KeyIndexSize != 0 || st.KeyIndexMissing != "" {
		t.Fatalf("a key index after a step without one: %+v", st)
	}
	tile2, err := s.PeerTile(ctx, "b", tlog.Tile{Level: 0, N: 0, Width: 2})
	if err != nil || len(tile2) != 2*tlog.HashSize {
		t.Fatalf("tile of width 2: %d bytes, %v", len(tile2), err)
	}
	if tile, err := s.PeerTile(ctx, "b", tlog.Tile{Level: 0, N: 0, Width: 1}); err != nil || !bytes.Equal(tile, tile2[:tlog.HashSize]) {
		t.Fatalf("prefix tile: %x, %v", tile, err)
	}
	for _, tc := range []struct {
		name string
		peer string
		t    tlog.Tile
		want error
	}{
		{"beyond the tree", "b", tlog.Tile{Level: 0, N: 0, Width: 3}, store.ErrNotFound},
		{"another peer's", "a", tlog.Tile{Level: 0, N: 0, Width: 1}, store.ErrNotFound},
		{"entries", "b", tlog.Tile{Level: -1, N: 0, Width: 1, Entries: true}, store.ErrInvalid},
		{"width 0", "b", tlog.Tile{Level: 0, N: 0, Width: 0}, store.ErrInvalid},
	} {
		if _, err := s.PeerTile(ctx, "b", tc.t); tc.peer == "b" && !errors.Is(err, tc.want) {
			t.Errorf("tile %s: %v, want %v", tc.name, err, tc.want)
		}
		if _, err := s.PeerTile(ctx, tc.peer, tc.t); !errors.Is(err, tc.want) {
			t.Errorf("tile %s: %v, want %v", tc.name, err, tc.want)
		}
	}

	// The next step: the tile grows to width 3; a stale narrower version
	// offered again doesn't shrink it.
	for tl, data := range tiles2 {
		tiles3[tl] = data
	}
	obj2 := obj
	obj2.Index, obj2.Leaf = 2, leaves[2]
	obj2.Version = v1.Add(time.Nanosecond)
	obj2.Opening.Version = store.FormatTime(obj2.Version)
	must(t, s.RecordPeerKeyIndex(ctx, "b", 0, nil, nil, "the peer serves no key index"))
	if st := peerNamed(t, s, "b").State; st.KeyIndexMissing != "the peer serves no key index" || st.KeyIndex != nil {
		t.Fatalf("after a missing key index: %+v", st)
	}
	idx3 := []byte("key index of 3")
	must(t, s.AdvancePeer(ctx, store.PeerStep{Peer: "b", From: 2, To: 3, Checkpoint: cp3, Tiles: tiles3,
		Objects: []store.PeerObject{obj2}, RemoteSize: 3, At: created.Add(2 * time.Hour), KeyIndex: idx3,
		Refused: []store.PeerRefusal{{Index: 2, Reason: "first refusal"}, {Index: 2, Reason: "refused object x at entry 2"}}}))
	if st := peerNamed(t, s, "b").State; !bytes.Equal(st.KeyIndex, idx3) || !bytes.Equal(st.KeyIndexCheckpoint, cp3) || st.KeyIndexSize != 3 || st.KeyIndexMissing != "" {
		t.Fatalf("after a step with a key index: %+v", st)
	}
	// The step's refused objects are counted, the last one's reason kept.
	if st := peerNamed(t, s, "b").State; st.Refused != 2 || st.LastRefused != "refused object x at entry 2" || st.Objects != 2 {
		t.Fatalf("after a step with refused objects: refused %d (%q), objects %d", st.Refused, st.LastRefused, st.Objects)
	}
	// A missing index is recorded beside the one stored, which stays;
	// one of another size than the position, or with a checkpoint of
	// another size, is refused, changing nothing.
	must(t, s.RecordPeerKeyIndex(ctx, "b", 0, nil, nil, "couldn't read it"))
	for _, tc := range []struct {
		name string
		peer string
		size int64
		cp   []byte
		want error
	}{
		{"behind the position", "b", 2, cp2, store.ErrConflict},
		{"a checkpoint of another size", "b", 3, cp2, store.ErrInvalid},
		{"an unknown peer", "nope", 3, cp3, store.ErrNotFound},
		{"ahead of the position", "a", 3, cp3, store.ErrConflict},
	} {
		if err := s.RecordPeerKeyIndex(ctx, tc.peer, tc.size, tc.cp, []byte("another"), ""); !errors.Is(err, tc.want) {
			t.Errorf("RecordPeerKeyIndex %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := s.RecordPeerKeyIndex(ctx, "nope", 0, nil, nil, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordPeerKeyIndex of an unknown peer's missing index: %v", err)
	}
	if st := peerNamed(t, s, "b").State; !bytes.Equal(st.KeyIndex, idx3) || !bytes.Equal(st.KeyIndexCheckpoint, cp3) || st.KeyIndexSize != 3 || st.KeyIndexMissing != "couldn't read it" {
		t.Fatalf("after refused key indexes: %+v", st)
	}
	if st := peerNamed(t, s, "a").State; st.KeyIndex != nil || st.KeyIndexMissing != "" {
		t.Fatalf("another peer's key index: %+v", st)
	}
	idx3b := []byte("key index of 3, again")
	must(t, s.RecordPeerKeyIndex(ctx, "b", 3, cp3, idx3b, ""))
	if st := peerNamed(t, s, "b").State; !bytes.Equal(st.KeyIndex, idx3b) || !bytes.Equal(st.KeyIndexCheckpoint, cp3) || st.KeyIndexSize != 3 || st.KeyIndexMissing != "" {
		t.Fatalf("after a key index at the position: %+v", st)
	}
	if tile, err := s.PeerTile(ctx, "b", tlog.Tile{Level: 0, N: 0, Width: 3}); err != nil || !bytes.Equal(tile[:2*tlog.HashSize], tile2) {
		t.Fatalf("tile of width 3: %x, %v", tile, err)
	}
	if ks, err := s.PeerKeys(ctx, "b", 3); err != nil || len(ks) != 1 || ks[0].Index != 0 || !bytes.Equal(ks[0].Leaf, leaves[0]) {
		t.Fatalf("PeerKeys: %+v %v", ks, err)
	}
	if ks, err := s.PeerKeys(ctx, "b", 0); err != nil || len(ks) != 0 {
		t.Fatalf("PeerKeys below the first: %+v %v", ks, err)
	}
	for _, c := range []struct {
		size int64
		want []byte // nil: ErrNotFound
	}{{1, nil}, {2, cp2}, {3, cp3}, {1 << 40, cp3}} {
		cp, err := s.PeerCheckpoint(ctx, "b", c.size)
		if c.want == nil {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("PeerCheckpoint below the first: %q, %v", cp, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(cp, c.want) {
			t.Fatalf("PeerCheckpoint(%d): %q, %v; want %q", c.size, cp, err, c.want)
		}
	}
	if _, err := s.PeerCheckpoint(ctx, "nobody", 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PeerCheckpoint of an unknown peer: %v", err)
	}
	os, err := s.PeerObjects(ctx, "b", "indicator--1")
	if err != nil || len(os) != 2 {
		t.Fatalf("PeerObjects: %+v %v", os, err)
	}
	for i, want := range []store.PeerObject{obj, obj2} {
		got := os[i]
		if got.Index != want.Index || !bytes.Equal(got.Leaf, want.Leaf) || !got.Version.Equal(want.Version) ||
			!bytes.Equal(got.Opening.Salt, want.Opening.Salt) || got.Opening.Collection != want.Opening.Collection ||
			got.Opening.ObjectID != want.Opening.ObjectID || got.Opening.Version != want.Opening.Version || got.Opening.Member != want.Opening.Member {
			t.Errorf("provenance %d = %+v, want %+v", i, got, want)
		}
	}
	if os, err := s.PeerObjects(ctx, "a", "indicator--1"); err != nil || len(os) != 0 {
		t.Fatalf("PeerObjects of another peer: %+v %v", os, err)
	}

	// Rounds that store nothing, then the stop.
	at := created.Add(3 * time.Hour)
	must(t, s.RecordPeerRound(ctx, "b", at, -1, "unreachable"))
	if st := peerNamed(t, s, "b").State; st.RemoteSize != 3 || st.LastError != "unreachable" || !st.LastRound.Equal(at) || st.Next != 3 {
		t.Fatalf("after a failed round: %+v", st)
	}
	must(t, s.RecordPeerRound(ctx, "b", at, 7, ""))
	if st := peerNamed(t, s, "b").State; st.RemoteSize != 7 || st.LastError != "" {
		t.Fatalf("after a round: %+v", st)
	}
	// Failed rounds in a row are counted (the node backs off by them),
	// for that peer alone, until a round without error or a step.
	if st := peerNamed(t, s, "b").State; st.Failures != 0 {
		t.Fatalf("failures after a round without error: %+v", st)
	}
	must(t, s.RecordPeerRound(ctx, "b", at, -1, "unreachable"))
	must(t, s.RecordPeerRound(ctx, "b", at, -1, "unreachable"))
	if st := peerNamed(t, s, "b").State; st.Failures != 2 {
		t.Fatalf("failures after two failed rounds: %+v", st)
	}
	if st := peerNamed(t, s, "a").State; st.Failures != 0 {
		t.Fatalf("another peer's failures: %+v", st)
	}
	must(t, s.RecordPeerRound(ctx, "b", at, -1, ""))
	if st := peerNamed(t, s, "b").State; st.Failures != 0 {
		t.Fatalf("failures after a round without error: %+v", st)
	}
	must(t, s.RecordPeerRound(ctx, "b", at, -1, "unreachable"))
	// A step of a round that is not the one marked (its lease expired and
	// another process took the peer over) is refused, whatever the
	// position; one of the round marked is recorded.
	mine := store.RoundLease{Owner: "fe1", Started: at, Expires: at.Add(time.Minute)}
	if err := s.AdvancePeer(ctx, store.PeerStep{Peer: "b", From: 3, To: 3, Checkpoint: cp3, RemoteSize: 7, At: at, Round: mine}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("AdvancePeer of a round not marked: %v", err)
	}
	theirs := store.RoundLease{Owner: "fe2", Started: at.Add(time.Second), Expires: at.Add(time.Minute)}
	if ok, err := s.ClaimPeerRound(ctx, "b", theirs); !ok || err != nil {
		t.Fatalf("ClaimPeerRound: %v %v", ok, err)
	}
	if err := s.AdvancePeer(ctx, store.PeerStep{Peer: "b", From: 3, To: 3, Checkpoint: cp3, RemoteSize: 7, At: at, Round: mine}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("AdvancePeer of a round taken over: %v", err)
	}
	if st := peerNamed(t, s, "b").State; st.Failures != 1 || st.LastError != "unreachable" {
		t.Fatalf("a fenced step changed the peer: %+v", st)
	}
	must(t, s.AdvancePeer(ctx, store.PeerStep{Peer: "b", From: 3, To: 3, Checkpoint: cp3, RemoteSize: 7, At: at, Round: theirs}))
	if ok, err := s.EndPeerRound(ctx, "b", theirs); !ok || err != nil {
		t.Fatalf("EndPeerRound: %v %v", ok, err)
	}
	must(t, s.RecordPeerRound(ctx, "b", at, -1, "unreachable"))
	must(t, s.AdvancePeer(ctx, store.PeerStep{Peer: "b", From: 3, To: 3, Checkpoint: cp3, RemoteSize: 7, At: at}))
	if st := peerNamed(t, s, "b").State; st.Failures != 0 || st.LastError != "" || st.Next != 3 || !bytes.Equal(st.KeyIndex, idx3b) {
		t.Fatalf("failures (and the key index kept) after a step without a key index: %+v", st)
	}
	if err := s.RecordPeerRound(ctx, "nope", at, 0, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RecordPeerRound of an unknown peer: %v", err)
	}
	// A round in progress: its start and the position then, read back
	// until its end clears them; other peers' rows are untouched.
	started := created.Add(4 * time.Hour)
	must(t, s.MarkPeerRound(ctx, "b", started))
	if st := peerNamed(t, s, "b").State; !st.RoundStarted.Equal(started) || st.RoundFrom != 3 || st.Next != 3 || st.LastError != "" {
		t.Fatalf("a round in progress: %+v", st)
	}
	if st := peerNamed(t, s, "a").State; !st.RoundStarted.IsZero() || st.RoundFrom != 0 {
		t.Fatalf("another peer marked running: %+v", st)
	}
	must(t, s.MarkPeerRound(ctx, "b", time.Time{}))
	if st := peerNamed(t, s, "b").State; !st.RoundStarted.IsZero() || st.RoundFrom != 0 || st.Next != 3 {
		t.Fatalf("after the round: %+v", st)
	}
	if err := s.MarkPeerRound(ctx, "nope", started); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("MarkPeerRound of an unknown peer: %v", err)
	}
	// The transfer of a round in progress (BeatPeerRound) is recorded for
	// that round only, and cleared with its mark; a round whose node
	// stopped during it (InterruptPeerRound) counts as a failed round,
	// the position kept, for that round only.
	must(t, s.BeatPeerRound(ctx, "b", started, started.Add(time.Second), 10))
	if st := peerNamed(t, s, "b").State; !st.RoundActive.IsZero() || st.RoundBytes != 0 {
		t.Fatalf("the transfer of a round that isn't marked recorded: %+v", st)
	}
	must(t, s.MarkPeerRound(ctx, "b", started))
	must(t, s.BeatPeerRound(ctx, "b", started, started.Add(time.Second), 10))
	must(t, s.BeatPeerRound(ctx, "b", started, started.Add(2*time.Second+7), 4096))
	must(t, s.BeatPeerRound(ctx, "b", started.Add(time.Minute), started.Add(3*time.Second), 1))
	if st := peerNamed(t, s, "b").State; !st.RoundActive.Equal(started.Add(2*time.Second+7)) || st.RoundBytes != 4096 || !st.RoundStarted.Equal(started) {
		t.Fatalf("the transfer of a round in progress: %+v", st)
	}
	if st := peerNamed(t, s, "a").State; !st.RoundActive.IsZero() || st.RoundBytes != 0 {
		t.Fatalf("another peer's transfer: %+v", st)
	}
	if err := s.BeatPeerRound(ctx, "nope", started, started, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("BeatPeerRound of an unknown peer: %v", err)
	}
	if ok, err := s.InterruptPeerRound(ctx, "b", started.Add(time.Minute), at, "interrupted"); ok || err != nil {
		t.Fatalf("InterruptPeerRound of another round: %v %v", ok, err)
	}
	before := peerNamed(t, s, "b").State
	ok, err := s.InterruptPeerRound(ctx, "b", started, at.Add(time.Minute), "interrupted")
	if !ok || err != nil {
		t.Fatalf("InterruptPeerRound: %v %v", ok, err)
	}
	if st := peerNamed(t, s, "b").State; st.Failures != before.Failures+1 || st.LastError != "interrupted" || !st.LastRound.Equal(at.Add(time.Minute)) ||
		!st.RoundStarted.IsZero() || st.RoundFrom != 0 || !st.RoundActive.IsZero() || st.RoundBytes != 0 || st.Next != before.Next || st.Objects != before.Objects {
		t.Fatalf("after InterruptPeerRound: %+v (before %+v)", st, before)
	}
	if ok, err := s.InterruptPeerRound(ctx, "b", started, at, "interrupted"); ok || err != nil {
		t.Fatalf("InterruptPeerRound of a round already counted: %v %v", ok, err)
	}
	if st := peerNamed(t, s, "b").State; st.Failures != before.Failures+1 {
		t.Fatalf("counted twice: %+v", st)
	}
	if _, err := s.InterruptPeerRound(ctx, "nope", started, at, "interrupted"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("InterruptPeerRound of an unknown peer: %v", err)
	}
	// A new mark starts with no transfer.
	must(t, s.MarkPeerRound(ctx, "b", started.Add(time.Hour)))
	if st := peerNamed(t, s, "b").State; !st.RoundActive.IsZero() || st.RoundBytes != 0 {
		t.Fatalf("a new round's transfer: %+v", st)
	}
	must(t, s.MarkPeerRound(ctx, "b", time.Time{}))
	must(t, s.StopPeer(ctx, "b", "forked", "/ev.json", at))
	if err := s.StopPeer(ctx, "nope", "forked", "/ev.json", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("StopPeer of an unknown peer: %v", err)
	}
	if err := s.AdvancePeer(ctx, store.PeerStep{Peer: "b", From: 3, To: 3, Checkpoint: cp3}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a step after the stop: %v", err)
	}
	if err := s.RecordPeerKeyIndex(ctx, "b", 3, cp3, idx3, ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a key index after the stop: %v", err)
	}
	if st := peerNamed(t, s, "b").State; st.Stopped != "forked" || st.Evidence != "/ev.json" || st.Next != 3 || st.Objects != 2 {
		t.Fatalf("after the stop: %+v", st)
	}
}

func peerNamed(t *testing.T, s store.Store, name string) store.Peer {
	t.Helper()
	ps, err := s.Peers(ctx)
	must(t, err)
	for _, p := range ps {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no peer %s", name)
	return store.Peer{}
}

// testPeerCopyNoClaim: a peer's copy (an unowned item stored under the
// member of a peer, in the peer's collection) of an id and version claims
// neither: a member who then shares that id and version with other content
// in another collection is stored, as the owner of the id (before, a peer
// that logged a member's id and version first, edited, kept the member
// from sharing it). Between members' objects the rule stays: the same id
// and version with other content elsewhere is a conflict.
func testPeerCopyNoClaim(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	pm := member("peer:b")
	pm.PublicKey = nil
	must(t, s.AddMember(ctx, pm))
	must(t, s.AddCollection(ctx, store.Collection{ID: "c1", Title: "from b", Relay: true, Signatures: store.SignaturesOptional}))
	_, vkey, err := tlog.NewNodeKey(rand.Reader, "b.example/log")
	must(t, err)
	must(t, s.AddPeer(ctx, store.Peer{Name: "b", URL: "https://b.example", TokenFile: "/t", LogKey: vkey, Remote: "r", Into: "c1", Member: pm.ID, Created: base}))
	peerCopy := func(o store.Object) {
		t.Helper()
		it := item(o)
		it.Owned = false
		st, err := s.Submit(ctx, store.Submission{StatusID: "peer-" + o.ID, Collection: "c1", Member: pm.ID, Received: base, Items: []store.Item{it}})
		must(t, err)
		if len(st.Failures) != 0 {
			t.Fatalf("the peer's copy: %+v", st.Failures)
		}
	}
	peerCopy(obj("indicator--p1", base, 1))
	if st := submit(t, s, coll, alice, obj("indicator--p1", base, 2)); len(st.Failures) != 0 || len(st.Successes) != 1 {
		t.Fatalf("alice's version whose id and version a peer's copy holds: %+v", st)
	}
	if st := submit(t, s, coll, bob, obj("indicator--p1", base.Add(time.Second), 3)); len(st.Failures) != 1 {
		t.Fatalf("bob's version of alice's id: %+v", st)
	}
	// Members' objects still conflict across collections.
	must(t, s.AddCollection(ctx, store.Collection{ID: "c2", Title: "other", Readers: []string{alice.ID}, Writers: []string{alice.ID}}))
	if st := submit(t, s, "c2", alice, obj("indicator--p1", base, 4)); len(st.Failures) != 1 || st.Failures[0].Message != store.VersionConflictMessage {
		t.Fatalf("alice's other content for her own id and version: %+v", st)
	}
	// The peer's copy of a version alice shared first is stored beside it
	// (unowned items aren't compared), and hers stays hers.
	submit(t, s, coll, alice, obj("indicator--p2", base, 5))
	peerCopy(obj("indicator--p2", base, 6))
	got, err := s.Objects(ctx, store.Query{Collection: coll, IDs: []string{"indicator--p2"}, Versions: []store.VersionSelector{{Kind: store.VersionAll}}, Limit: 10})
	must(t, err)
	if len(got.Objects) != 1 || !bytes.Equal(got.Objects[0].Raw, obj("indicator--p2", base, 5).Raw) {
		t.Fatalf("alice's collection holds %+v", got.Objects)
	}
}

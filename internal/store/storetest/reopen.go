package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// testReopen: what a store acknowledged is there, exactly, when its
// database is opened again (a new process, as far as the database knows):
// members, objects, the member's usage (the sum of the bytes it stored),
// feeds with their positions, and the log's tiles (read back as prefixes,
// never replaced by a narrower write) and checkpoints.
func testReopen(t *testing.T, open Opener) {
	s := open(t, Options{})
	alice, bob, coll := fixture(t, s)
	raws := [][]byte{sized("indicator--1", 300), sized("indicator--2", 120), sized("indicator--3", 77)}
	_, err := submitRaw(s, alice.ID, coll, raws...)
	must(t, err)
	var stored int64
	for _, r := range raws {
		stored += int64(len(r))
	}
	logSize, err := s.LogSize(ctx)
	must(t, err)

	created := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	f := store.Feed{Name: "ics", URL: "https://attack-taxii.mitre.org/api/v21/", Collection: "x", Into: coll, Member: bob.ID,
		Auth: "basic", User: "u", SecretFile: "/etc/pw", Interval: time.Hour, Reread: 7 * time.Hour, Overlap: 3 * time.Minute, Created: created}
	must(t, s.AddFeed(ctx, f))
	f.FeedPosition = store.FeedPosition{AddedAfter: created, Next: "17", HighWater: created.Add(time.Second), FullRead: created.Add(-time.Minute), ReadTo: created.Add(-time.Second + 7), LastPoll: created.Add(time.Minute),
		LastError: "boom", Added: 5, Existing: 2, Failed: 1, Pages: 3, LastFailure: "attack-pattern--x 2026-01-01T00:00:00.000Z: conflict",
		Failures: 4, NotBefore: created.Add(time.Hour + 9), RoundStarted: created.Add(2*time.Minute + 11), RoundFrom: 2}
	must(t, s.RecordPoll(ctx, "ics", f.FeedPosition))

	fence := integratorLease(t, s, "integrator")
	must(t, s.Integrate(ctx, fence, 0, 3, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 3}: bytes.Join([][]byte{hash(1), hash(2), hash(3)}, nil)}, []byte("note 3")))
	must(t, s.Integrate(ctx, fence, 3, 5, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 5}: bytes.Join([][]byte{hash(1), hash(2), hash(3), hash(4), hash(5)}, nil)}, []byte("note 5")))
	must(t, s.Integrate(ctx, fence, 5, 5, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 2}: append(hash(7), hash(7)...)}, []byte("same size")))
	must(t, s.Close())

	s = open(t, Options{Reopen: s})
	defer s.Close()
	if m, err := s.MemberByName(ctx, "alice"); err != nil || m.ID != alice.ID || !bytes.Equal(m.PublicKey, alice.PublicKey) {
		t.Errorf("alice after reopening: %+v, %v", m, err)
	}
	if got := ids(all(t, s, store.Query{Collection: coll})); len(got) != 3 || !strings.HasPrefix(got[0], "indicator--1@") || !strings.HasPrefix(got[2], "indicator--3@") {
		t.Errorf("objects after reopening: %v", got)
	}
	if u, err := s.Usage(ctx, alice.ID); err != nil || u != stored {
		t.Errorf("usage after reopening = %d, %v; want the %d bytes stored", u, err, stored)
	}
	if n, err := s.LogSize(ctx); err != nil || n != logSize {
		t.Errorf("log size after reopening = %d, %v; want %d", n, err, logSize)
	}
	fs, err := s.Feeds(ctx)
	if err != nil || len(fs) != 1 || !equalFeed(fs[0], f) {
		t.Errorf("feeds after reopening:\n%+v (%v)\nwant\n%+v", fs, err, f)
	}
	got, err := s.ReadTile(ctx, tlog.Tile{Level: 0, N: 0, Width: 2})
	if err != nil || !bytes.Equal(got, append(hash(1), hash(2)...)) {
		t.Errorf("prefix of the stored tile after reopening: %x %v", got, err)
	}
	if _, err := s.ReadTile(ctx, tlog.Tile{Level: 0, N: 0, Width: 6}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("wider than stored after reopening: %v", err)
	}
	size, note, err := s.LatestCheckpoint(ctx)
	if err != nil || size != 5 || string(note) != "note 5" {
		t.Errorf("latest checkpoint after reopening: %d %q %v", size, note, err)
	}
	if cps, err := s.Checkpoints(ctx); err != nil || len(cps) != 2 || string(cps[0]) != "note 3" {
		t.Errorf("checkpoints after reopening: %q %v", cps, err)
	}
}

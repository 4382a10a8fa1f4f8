package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// fixture opens a store in a fresh schema with member alice and a
// collection she reads and writes.
func fixture(t *testing.T) (*Store, store.Member, string) {
	t.Helper()
	return fixtureAt(t, testURL(t))
}

// fixtureAt is [fixture] in the schema of url.
func fixtureAt(t *testing.T, url string) (*Store, store.Member, string) {
	t.Helper()
	ctx := context.Background()
	s := openTest(t, url, Options{})
	alice := store.Member{ID: "identity--a", Name: "alice", Identity: []byte("{}")}
	if err := s.AddMember(ctx, alice); err != nil {
		t.Fatal(err)
	}
	c := store.Collection{ID: "c", Title: "c", Readers: []string{alice.ID}, Writers: []string{alice.ID}}
	if err := s.AddCollection(ctx, c); err != nil {
		t.Fatal(err)
	}
	return s, alice, c.ID
}

// TestLogStore checks the integrator's storage contract: tiles kept at
// their widest and served as prefixes, checkpoints by size, and Integrate
// refusing to interleave with another integrator.
func TestLogStore(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	s := openTest(t, u, Options{})
	fence, ok, err := s.AcquireLease(ctx, store.IntegratorLease, "test", time.Hour)
	if err != nil || !ok {
		t.Fatal(err)
	}
	if _, _, err := s.LatestCheckpoint(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("fresh store checkpoint: %v", err)
	}
	h := func(b byte) []byte { return bytes.Repeat([]byte{b}, tlog.HashSize) }
	t3 := tlog.Tile{Level: 0, N: 0, Width: 3}
	if err := s.Integrate(ctx, fence, 0, 3, map[tlog.Tile][]byte{t3: append(append(h(1), h(2)...), h(3)...)}, []byte("note 3")); err != nil {
		t.Fatal(err)
	}
	// Another integrator that still thinks the log is empty is refused,
	// and changes nothing.
	if err := s.Integrate(ctx, fence, 0, 2, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 2}: append(h(9), h(9)...)}, []byte("note 2")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("interleaved integration: %v", err)
	}
	t5 := tlog.Tile{Level: 0, N: 0, Width: 5}
	if err := s.Integrate(ctx, fence, 3, 5, map[tlog.Tile][]byte{t5: bytes.Join([][]byte{h(1), h(2), h(3), h(4), h(5)}, nil)}, []byte("note 5")); err != nil {
		t.Fatal(err)
	}
	// A narrower write never replaces a wider tile.
	if err := s.Integrate(ctx, fence, 5, 5, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 2}: append(h(7), h(7)...)}, []byte("same size")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, u, Options{})
	got, err := s.ReadTile(ctx, tlog.Tile{Level: 0, N: 0, Width: 2})
	if err != nil || !bytes.Equal(got, append(h(1), h(2)...)) {
		t.Fatalf("prefix of the stored tile: %x %v", got, err)
	}
	if _, err := s.ReadTile(ctx, tlog.Tile{Level: 0, N: 0, Width: 6}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("wider than stored: %v", err)
	}
	if _, err := s.ReadTile(ctx, tlog.Tile{Level: 1, N: 0, Width: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing level: %v", err)
	}
	size, note, err := s.LatestCheckpoint(ctx)
	if err != nil || size != 5 || string(note) != "note 5" {
		t.Fatalf("latest %d %q %v", size, note, err)
	}
	all, err := s.Checkpoints(ctx)
	if err != nil || len(all) != 2 || string(all[0]) != "note 3" {
		t.Fatalf("checkpoints %q %v", all, err)
	}
	if err := s.Integrate(ctx, fence, 5, 6, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 6}: h(1)}, []byte("x")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("tile of the wrong length: %v", err)
	}
	if size, _, _ := s.LatestCheckpoint(ctx); size != 5 {
		t.Fatalf("a refused integration changed the checkpoint: %d", size)
	}
}

// TestBoundedReads is the SQLite store's test of the same name.
func TestBoundedReads(t *testing.T) {
	ctx := context.Background()
	s, alice, coll := fixture(t)
	version := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sizes := []int{100, 5000, 10, 3000, 3000, 20, 7000, 1}
	sub := store.Submission{StatusID: "s", Collection: coll, Member: alice.ID, Received: version}
	var want [][]byte
	for i, n := range sizes {
		id := fmt.Sprintf("indicator--%d", i)
		raw := fmt.Appendf(nil, `{"id":%q,"pad":%q}`, id, strings.Repeat("x", n))
		want = append(want, raw)
		sub.Items = append(sub.Items, store.Item{
			Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: version, Raw: raw},
			Salt:   []byte{byte(i)},
			Entry:  func(o store.Object) ([]byte, error) { return fmt.Appendf(nil, `{"idx":%d}`, o.LogIndex), nil },
		})
	}
	// The member's registration is entry 0: object i is entry off+i.
	off, err := s.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(ctx, sub); err != nil {
		t.Fatal(err)
	}

	defer func(b, r int) { logObjectsBatch, logObjectsBatchRows = b, r }(logObjectsBatch, logObjectsBatchRows)
	for _, tc := range []struct{ batch, rows int }{{1, 256}, {4000, 256}, {1 << 20, 3}, {1 << 20, 256}} {
		logObjectsBatch, logObjectsBatchRows = tc.batch, tc.rows
		for _, span := range [][2]int64{{0, 8}, {2, 7}, {7, 100}} {
			var got [][]byte
			next := span[0]
			err := s.LogObjects(ctx, span[0]+off, span[1]+off, func(i int64, op tlog.Opening, raw []byte) error {
				i -= off
				c, salt := op.Collection, op.Salt
				if i != next || c != coll || len(salt) != 1 || salt[0] != byte(i) {
					return fmt.Errorf("got entry %d (collection %s, salt %x), want %d", i, c, salt, next)
				}
				next++
				got = append(got, raw)
				return nil
			})
			if err != nil {
				t.Fatalf("batch %+v, span %v: %v", tc, span, err)
			}
			end := min(span[1], int64(len(want)))
			if next != end {
				t.Errorf("batch %+v, span %v: stopped at %d, want %d", tc, span, next, end)
			}
			for j, raw := range got {
				if !bytes.Equal(raw, want[span[0]+int64(j)]) {
					t.Errorf("batch %+v, span %v: object %d changed after fn kept it", tc, span, span[0]+int64(j))
				}
			}
		}
	}

	q := store.Query{Collection: coll, Limit: 100, MaxBytes: 6000}
	var pages [][]int
	for {
		p, err := s.Objects(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var page []int
		var total int
		for _, o := range p.Objects {
			var i int
			fmt.Sscanf(o.ID, "indicator--%d", &i)
			page = append(page, i)
			total += len(o.Raw)
		}
		if len(page) == 0 || len(page) > 1 && int64(total) > q.MaxBytes {
			t.Fatalf("page %v of %d bytes breaks MaxBytes %d", page, total, q.MaxBytes)
		}
		pages = append(pages, page)
		if !p.More {
			break
		}
		q.After = p.Objects[len(p.Objects)-1].Seq
	}
	// Objects are their pad plus 30 bytes; object 6 (7030 bytes) alone
	// exceeds MaxBytes but still makes a page.
	if got := fmt.Sprint(pages); got != "[[0 1 2] [3] [4 5] [6] [7]]" {
		t.Errorf("pages %s, want [[0 1 2] [3] [4 5] [6] [7]]", got)
	}
	var flat []int
	for _, p := range pages {
		flat = append(flat, p...)
	}
	if fmt.Sprint(flat) != "[0 1 2 3 4 5 6 7]" {
		t.Errorf("paging by bytes returned %v, want every object once in order", flat)
	}

	p, err := s.Objects(ctx, store.Query{Collection: coll, Limit: 100, OmitRaw: true, MaxBytes: 1})
	if err != nil || len(p.Objects) != len(sizes) || p.More {
		t.Fatalf("OmitRaw: %d objects, more %v, %v", len(p.Objects), p.More, err)
	}
	for _, o := range p.Objects {
		if len(o.Raw) != 0 {
			t.Errorf("OmitRaw returned %d bytes of %s", len(o.Raw), o.ID)
		}
	}
}

// TestIntegratorsTakeTurns: integrators on two pools (two nodes) that
// both start from an empty tree, at once, never both succeed.
func TestIntegratorsTakeTurns(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	stores := []*Store{openTest(t, u, Options{}), openTest(t, u, Options{})}
	h := bytes.Repeat([]byte{1}, tlog.HashSize)
	// Both integrate under one fence (as a front end that lost the lease
	// without knowing it would, until the fence changes): the row lock
	// alone must keep them from both succeeding.
	fence, ok, err := stores[0].AcquireLease(ctx, store.IntegratorLease, "t", time.Hour)
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	for round := range 5 {
		from := int64(round * 2)
		errs := make(chan error, 2)
		for i, s := range stores {
			go func() {
				size := from + 1 + int64(i)
				tile := tlog.Tile{Level: 0, N: 0, Width: int(size)}
				errs <- s.Integrate(ctx, fence, from, size, map[tlog.Tile][]byte{tile: bytes.Repeat(h, int(size))}, fmt.Appendf(nil, "note %d", size))
			}()
		}
		var ok, conflicts int
		for range stores {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Fatal(err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d integrations succeeded and %d conflicted, want 1 and 1", round, ok, conflicts)
		}
		// The next round starts from whichever won.
		size, _, err := stores[0].LatestCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if size != from+1 && size != from+2 {
			t.Fatalf("round %d: checkpoint %d", round, size)
		}
		if size == from+1 {
			// Bring the tree to from+2 for the next round.
			tile := tlog.Tile{Level: 0, N: 0, Width: int(from + 2)}
			if err := stores[0].Integrate(ctx, fence, size, from+2, map[tlog.Tile][]byte{tile: bytes.Repeat(h, int(from+2))}, []byte("catch up")); err != nil {
				t.Fatal(err)
			}
		}
	}
}

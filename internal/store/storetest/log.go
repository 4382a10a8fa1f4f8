package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// put stores one object version with raw as its JSON and its log entry's
// leaf, and returns it as stored.
func put(t *testing.T, s store.Store, coll string, m store.Member, id, typ string, version time.Time, raw string) store.Object {
	t.Helper()
	sub := store.Submission{StatusID: fmt.Sprintf("status-%d-%d", statusN.Add(1), time.Now().UnixNano()), Collection: coll, Member: m.ID, Received: version,
		Items: []store.Item{{
			Object: store.Object{ID: id, Type: typ, SpecVersion: "2.1", Version: version, Signed: true, Raw: []byte(raw)},
			Salt:   bytes.Repeat([]byte{3}, 32),
			Entry:  func(store.Object) ([]byte, error) { return []byte(raw), nil },
		}}}
	st, err := s.Submit(ctx, sub)
	must(t, err)
	if len(st.Successes) != 1 {
		t.Fatalf("put %s: %+v", id, st)
	}
	got := all(t, s, store.Query{Collection: coll, IDs: []string{id}, Versions: []store.VersionSelector{{Kind: store.VersionAt, At: version}}})
	if len(got) != 1 {
		t.Fatalf("put %s: read back %d versions", id, len(got))
	}
	return got[0]
}

// integratorLease acquires the integrator's lease for holder and returns
// its fence.
func integratorLease(t *testing.T, s store.Store, holder string) int64 {
	t.Helper()
	fence, ok, err := s.AcquireLease(ctx, store.IntegratorLease, holder, time.Hour)
	if err != nil || !ok {
		t.Fatalf("AcquireLease: %v, ok %v", err, ok)
	}
	return fence
}

func hash(b byte) []byte { return bytes.Repeat([]byte{b}, tlog.HashSize) }

// testLogStore: tiles kept at their widest and served as prefixes,
// checkpoints by size, Integrate refusing to interleave with another
// integrator and refusing a malformed tile, changing nothing.
func testLogStore(t *testing.T, s store.Store) {
	fence := integratorLease(t, s, "integrator")
	if _, _, err := s.LatestCheckpoint(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("fresh store checkpoint: %v", err)
	}
	if cs, err := s.Checkpoints(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("fresh store checkpoints: %q %v", cs, err)
	}
	if _, err := s.ReadTile(ctx, tlog.Tile{Level: 0, N: 0, Width: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tile of a fresh store: %v", err)
	}
	t3 := tlog.Tile{Level: 0, N: 0, Width: 3}
	must(t, s.Integrate(ctx, fence, 0, 3, map[tlog.Tile][]byte{t3: bytes.Join([][]byte{hash(1), hash(2), hash(3)}, nil)}, []byte("note 3")))
	// Another integrator that still thinks the log is empty is refused,
	// and changes nothing.
	if err := s.Integrate(ctx, fence, 0, 2, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 2}: append(hash(9), hash(9)...)}, []byte("note 2")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("interleaved integration: %v", err)
	}
	// So is one that thinks the log is further along.
	if err := s.Integrate(ctx, fence, 4, 5, nil, []byte("note 5")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("integration from beyond the checkpoint: %v", err)
	}
	got, err := s.ReadTile(ctx, t3)
	if err != nil || !bytes.Equal(got, bytes.Join([][]byte{hash(1), hash(2), hash(3)}, nil)) {
		t.Fatalf("tile after refused integrations: %x %v", got, err)
	}
	t5 := tlog.Tile{Level: 0, N: 0, Width: 5}
	must(t, s.Integrate(ctx, fence, 3, 5, map[tlog.Tile][]byte{t5: bytes.Join([][]byte{hash(1), hash(2), hash(3), hash(4), hash(5)}, nil)}, []byte("note 5")))
	// A narrower write never replaces a wider tile.
	must(t, s.Integrate(ctx, fence, 5, 5, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 2}: append(hash(7), hash(7)...)}, []byte("same size")))
	got, err = s.ReadTile(ctx, tlog.Tile{Level: 0, N: 0, Width: 2})
	if err != nil || !bytes.Equal(got, append(hash(1), hash(2)...)) {
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
	cps, err := s.Checkpoints(ctx)
	if err != nil || len(cps) != 2 || string(cps[0]) != "note 3" || string(cps[1]) != "note 5" {
		t.Fatalf("checkpoints %q %v", cps, err)
	}
	if err := s.Integrate(ctx, fence, 5, 6, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 6}: hash(1)}, []byte("x")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("tile of the wrong length: %v", err)
	}
	if size, _, _ := s.LatestCheckpoint(ctx); size != 5 {
		t.Fatalf("a refused integration changed the checkpoint: %d", size)
	}
}

// testLogObjects: every object version of a span once, in index order,
// with its entry's opening, the object exactly as stored, slices fn may
// keep; member key entries are skipped; an error from fn stops the walk
// and is returned; with collections, only theirs are read.
func testLogObjects(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	off, err := s.LogSize(ctx)
	must(t, err)
	var want []store.Object
	for i := range 5 {
		m := alice
		if i%2 == 1 {
			m = bob
		}
		id := fmt.Sprintf("indicator--%d", i)
		want = append(want, put(t, s, coll, m, id, "indicator", base.Add(time.Duration(i)*time.Minute),
			fmt.Sprintf(`{"id":%q,"pad":%q}`, id, strings.Repeat("x", 1000*i))))
	}
	for _, span := range [][2]int64{{0, off + 5}, {off + 1, off + 4}, {off + 4, off + 100}, {off + 5, off + 6}} {
		var got []store.Object
		var kept [][]byte
		err := s.LogObjects(ctx, span[0], span[1], nil, func(i int64, op tlog.Opening, raw []byte) error {
			got = append(got, store.Object{LogIndex: i, Collection: op.Collection, ID: op.ObjectID, Member: op.Member, Salt: op.Salt, Raw: raw})
			if op.Version != store.FormatTime(want[i-off].Version) {
				t.Errorf("entry %d: version %s, want %s", i, op.Version, store.FormatTime(want[i-off].Version))
			}
			kept = append(kept, raw)
			return nil
		})
		must(t, err)
		var exp []store.Object
		for _, o := range want {
			if o.LogIndex >= span[0] && o.LogIndex < span[1] {
				exp = append(exp, o)
			}
		}
		if len(got) != len(exp) {
			t.Fatalf("span %v: %d objects, want %d", span, len(got), len(exp))
		}
		for j, g := range got {
			e := exp[j]
			if g.LogIndex != e.LogIndex || g.Collection != coll || g.ID != e.ID || g.Member != e.Member || !bytes.Equal(g.Salt, e.Salt) || !bytes.Equal(kept[j], e.Raw) {
				t.Errorf("span %v: object %d = %+v, want %+v", span, j, g, e)
			}
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := s.LogObjects(ctx, 0, off+5, nil, func(int64, tlog.Opening, []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("fn's error: %v after %d calls", err, n)
	}
	// With collections, only theirs; none with an empty list.
	other := "5d0c3c1e-2a84-4f0e-9d55-2a6a0b9c1f11"
	must(t, s.AddCollection(ctx, store.Collection{ID: other, Title: "other", Readers: []string{bob.ID}, Writers: []string{bob.ID}}))
	put(t, s, other, bob, "indicator--other", "indicator", base, `{"id":"indicator--other"}`)
	end, err := s.LogSize(ctx)
	must(t, err)
	for _, tc := range []struct {
		collections []string
		want        map[string]int
	}{
		{nil, map[string]int{coll: 5, other: 1}},
		{[]string{coll}, map[string]int{coll: 5}},
		{[]string{other}, map[string]int{other: 1}},
		{[]string{other, coll}, map[string]int{coll: 5, other: 1}},
		{[]string{"00000000-0000-4000-8000-000000000000"}, map[string]int{}},
		{[]string{}, map[string]int{}},
	} {
		got := map[string]int{}
		must(t, s.LogObjects(ctx, 0, end, tc.collections, func(_ int64, op tlog.Opening, _ []byte) error {
			got[op.Collection]++
			return nil
		}))
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("collections %q: objects per collection %v, want %v", tc.collections, got, tc.want)
		}
	}
}

// submitPadded stores, in one submission by m, eight objects
// indicator--0 … indicator--7 of 31 to 7031 bytes ({"id":…,"pad":"xx…"},
// the pads 100, 5000, 10, 3000, 3000, 20, 7000 and 1 bytes), object i with
// the one-byte salt i, and returns them in order.
func submitPadded(t *testing.T, s store.Store, coll string, m store.Member) [][]byte {
	t.Helper()
	sub := store.Submission{StatusID: "s", Collection: coll, Member: m.ID, Received: base}
	var raws [][]byte
	for i, n := range []int{100, 5000, 10, 3000, 3000, 20, 7000, 1} {
		id := fmt.Sprintf("indicator--%d", i)
		raw := fmt.Appendf(nil, `{"id":%q,"pad":%q}`, id, strings.Repeat("x", n))
		raws = append(raws, raw)
		sub.Items = append(sub.Items, store.Item{
			Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: base, Raw: raw},
			Salt:   []byte{byte(i)},
			Entry:  func(o store.Object) ([]byte, error) { return fmt.Appendf(nil, `{"idx":%d}`, o.LogIndex), nil },
		})
	}
	_, err := s.Submit(ctx, sub)
	must(t, err)
	return raws
}

// testBoundedReads: Objects pages cut by MaxBytes (at least one object,
// More set, paging continues without loss), and OmitRaw reads no object.
func testBoundedReads(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	stored := submitPadded(t, s, coll, alice)
	q := store.Query{Collection: coll, Limit: 100, MaxBytes: 6000}
	var pages [][]int
	for {
		p, err := s.Objects(ctx, q)
		must(t, err)
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
	p, err := s.Objects(ctx, store.Query{Collection: coll, Limit: 100, OmitRaw: true, MaxBytes: 1})
	if err != nil || len(p.Objects) != len(stored) || p.More {
		t.Fatalf("OmitRaw: %d objects, more %v, %v", len(p.Objects), p.More, err)
	}
	for _, o := range p.Objects {
		if len(o.Raw) != 0 {
			t.Errorf("OmitRaw returned %d bytes of %s", len(o.Raw), o.ID)
		}
	}
}

// testCosigned: cosigned checkpoints are kept beside the plain ones, only
// for a size the log has a checkpoint of, replaced by a later note of the
// same size, and never change the plain checkpoints.
func testCosigned(t *testing.T, s store.Store) {
	fence := integratorLease(t, s, "integrator")
	if err := s.PutCosignedCheckpoint(ctx, 3, []byte("note 3\n— w1 x\n")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("cosigned note of a size with no checkpoint: %v", err)
	}
	if _, err := s.CosignedCheckpoint(ctx, 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("nothing stored: %v", err)
	}
	must(t, s.Integrate(ctx, fence, 0, 1, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 1}: hash(1)}, []byte("note 1")))
	must(t, s.Integrate(ctx, fence, 1, 2, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 2}: append(hash(1), hash(2)...)}, []byte("note 2")))
	for _, n := range []string{"note 1\n— w1 a\n", "note 1\n— w1 a\n— w2 b\n"} {
		must(t, s.PutCosignedCheckpoint(ctx, 1, []byte(n)))
		got, err := s.CosignedCheckpoint(ctx, 1)
		if err != nil || string(got) != n {
			t.Fatalf("cosigned note %q, %v; want %q", got, err, n)
		}
	}
	if _, err := s.CosignedCheckpoint(ctx, 2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("size 2 was never cosigned: %v", err)
	}
	if _, note, err := s.LatestCheckpoint(ctx); err != nil || string(note) != "note 2" {
		t.Fatalf("the plain checkpoint changed: %q %v", note, err)
	}
	if cps, err := s.Checkpoints(ctx); err != nil || len(cps) != 2 || string(cps[0]) != "note 1" {
		t.Fatalf("the plain checkpoints changed: %q %v", cps, err)
	}

	// Listing: sizes in [start, end), in order, at most limit; and the
	// latest at or below a size.
	for i := int64(3); i <= 8; i++ {
		leaves := []byte{}
		for j := int64(1); j <= i; j++ {
			leaves = append(leaves, hash(byte(j))...)
		}
		must(t, s.Integrate(ctx, fence, i-1, i, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: int(i)}: leaves}, []byte(fmt.Sprintf("note %d", i))))
		if i%2 == 0 {
			must(t, s.PutCosignedCheckpoint(ctx, i, []byte(fmt.Sprintf("note %d\n— w1 c\n", i))))
		}
	}
	list := func(start, end int64, limit int) []int64 {
		t.Helper()
		var got []int64
		err := s.CosignedCheckpoints(ctx, start, end, limit, func(size int64, note []byte) error {
			if want := fmt.Sprintf("note %d\n", size); !strings.HasPrefix(string(note), want) {
				t.Errorf("size %d has note %q", size, note)
			}
			got = append(got, size)
			return nil
		})
		must(t, err)
		return got
	}
	for _, tc := range []struct {
		start, end int64
		limit      int
		want       []int64
	}{
		{0, 100, 0, []int64{1, 4, 6, 8}},
		{2, 8, 0, []int64{4, 6}},
		{4, 100, 2, []int64{4, 6}},
		{9, 100, 0, nil},
		{0, 100, -1, []int64{1, 4, 6, 8}},
	} {
		if got := list(tc.start, tc.end, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("CosignedCheckpoints(%d, %d, %d) = %v, want %v", tc.start, tc.end, tc.limit, got, tc.want)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := s.CosignedCheckpoints(ctx, 0, 100, 0, func(int64, []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: %v after %d calls", err, n)
	}
	for _, tc := range []struct{ at, want int64 }{{1, 1}, {3, 1}, {5, 4}, {8, 8}, {100, 8}} {
		size, note, err := s.CosignedCheckpointAtMost(ctx, tc.at)
		if err != nil || size != tc.want || !strings.HasPrefix(string(note), fmt.Sprintf("note %d\n", tc.want)) {
			t.Errorf("CosignedCheckpointAtMost(%d) = %d %q %v, want %d", tc.at, size, note, err, tc.want)
		}
	}
	if _, _, err := s.CosignedCheckpointAtMost(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CosignedCheckpointAtMost(0): %v", err)
	}
}

// testCheckpointTime: LatestCheckpointTime says the size of the newest
// checkpoint and when (by the store's clock) it was stored.
func testCheckpointTime(t *testing.T, open Opener) {
	now := base
	s := open(t, Options{Now: func() time.Time { return now }})
	defer s.Close()
	fence := integratorLease(t, s, "integrator")
	if _, _, err := s.LatestCheckpointTime(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before the first checkpoint: %v", err)
	}
	must(t, s.Integrate(ctx, fence, 0, 1, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 1}: hash(1)}, []byte("note 1")))
	now = base.Add(90 * time.Second)
	must(t, s.Integrate(ctx, fence, 1, 2, map[tlog.Tile][]byte{{Level: 0, N: 0, Width: 2}: append(hash(1), hash(2)...)}, []byte("note 2")))
	size, at, err := s.LatestCheckpointTime(ctx)
	if err != nil || size != 2 || !at.Equal(now) {
		t.Fatalf("LatestCheckpointTime = %d, %v, %v; want 2, %v", size, at, err, now)
	}
}

// testLogObjectsBatches: LogObjects read in batches of every size (one
// object, a few, one per byte bound, all) gives every object of a span
// once, in order, with its opening, and fn may keep the bytes it got.
func testLogObjectsBatches(t *testing.T, open Opener) {
	for _, tc := range []struct{ bytes, rows int }{{1, 256}, {4000, 256}, {1 << 20, 3}, {1 << 20, 256}} {
		t.Run(fmt.Sprintf("%d bytes, %d rows", tc.bytes, tc.rows), func(t *testing.T) {
			s := open(t, Options{LogObjectsBatch: tc.bytes, LogObjectsBatchRows: tc.rows})
			defer s.Close()
			alice, _, coll := fixture(t, s)
			// The members' registrations come first: object i is entry off+i.
			off, err := s.LogSize(ctx)
			must(t, err)
			want := submitPadded(t, s, coll, alice)
			for _, span := range [][2]int64{{0, 8}, {2, 7}, {7, 100}} {
				var got [][]byte
				next := span[0]
				err := s.LogObjects(ctx, span[0]+off, span[1]+off, nil, func(i int64, op tlog.Opening, raw []byte) error {
					i -= off
					if i != next || op.Collection != coll || len(op.Salt) != 1 || op.Salt[0] != byte(i) {
						return fmt.Errorf("got entry %d (collection %s, salt %x), want %d", i, op.Collection, op.Salt, next)
					}
					next++
					got = append(got, raw)
					return nil
				})
				if err != nil {
					t.Fatalf("span %v: %v", span, err)
				}
				if end := min(span[1], int64(len(want))); next != end {
					t.Errorf("span %v: stopped at %d, want %d", span, next, end)
				}
				for j, raw := range got {
					if !bytes.Equal(raw, want[span[0]+int64(j)]) {
						t.Errorf("span %v: object %d changed after fn kept it", span, span[0]+int64(j))
					}
				}
			}
		})
	}
}

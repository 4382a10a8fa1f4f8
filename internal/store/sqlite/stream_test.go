package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// TestBoundedReads checks the two reads whose memory is bounded by bytes:
// LogObjects in batches (every object once, in order, whatever the batch
// size, and fn may keep what it got) and Objects pages cut by MaxBytes
// (at least one object, More set, paging continues without loss), and
// that OmitRaw reads no object.
func TestBoundedReads(t *testing.T) {
	ctx := context.Background()
	s, alice, coll := groupStore(t)
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

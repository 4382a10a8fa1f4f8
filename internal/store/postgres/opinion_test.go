package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

func TestOpinionVersions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, testURL(t), Options{})
	if err := s.AddMember(ctx, store.Member{ID: "identity--a", Name: "a", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"c1", "c2", "c3"} {
		if err := s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{"identity--a"}, Writers: []string{"identity--a"}}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	const x, y = "report--x", "report--y"
	type obj struct {
		coll, typ, id string
		minute        int
		refs          string // JSON array
	}
	objs := []obj{
		{"c1", "opinion", "opinion--1", 0, `["report--x"]`},
		{"c1", "opinion", "opinion--1", 1, `["report--y"]`}, // a later version about y only: still returned for x
		{"c1", "opinion", "opinion--2", 0, `["report--y","report--x"]`},
		{"c1", "opinion", "opinion--3", 0, `["report--y"]`},
		{"c2", "opinion", "opinion--4", 0, `["report--x"]`},
		{"c3", "opinion", "opinion--5", 0, `["report--x"]`},
		{"c1", "note", "note--6", 0, `["report--x"]`}, // not an opinion
		{"c1", "opinion", "opinion--7", 0, `["report--xx"]`},
		{"c1", "opinion", "opinion--8", 0, `["report--x",7]`}, // a non-string ref is skipped, the rest indexed
		{"c1", "opinion", "opinion--9", 0, `"report--x"`},     // not an array: nothing indexed
	}
	for i, o := range objs {
		v := t0.Add(time.Duration(o.minute) * time.Minute)
		raw := fmt.Sprintf(`{"id":%q,"modified":%q,"object_refs":%s,"type":%q}`, o.id, v.Format(time.RFC3339), o.refs, o.typ)
		_, err := s.Submit(ctx, store.Submission{
			StatusID: fmt.Sprint("status-", i), Collection: o.coll, Member: "identity--a", Received: t0,
			Items: []store.Item{{
				Object: store.Object{ID: o.id, Type: o.typ, SpecVersion: "2.1", Version: v, Signed: true, Raw: []byte(raw)},
				Salt:   make([]byte, 32),
				Entry:  func(store.Object) ([]byte, error) { return []byte(raw), nil },
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A stored "opinion" whose bytes aren't JSON doesn't make Submit fail.
	if _, err := s.Submit(ctx, store.Submission{StatusID: "bad", Collection: "c1", Member: "identity--a", Received: t0,
		Items: []store.Item{{Object: store.Object{ID: "opinion--bad", Type: "opinion", SpecVersion: "2.1", Version: t0, Signed: true, Raw: []byte("not JSON")},
			Salt: make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return []byte("{}"), nil }}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		colls  []string
		object string
		want   []string // id@minute in seq order
	}{
		{[]string{"c1", "c2"}, x, []string{"opinion--1@0", "opinion--1@1", "opinion--2@0", "opinion--4@0", "opinion--8@0"}},
		{[]string{"c1"}, y, []string{"opinion--1@0", "opinion--1@1", "opinion--2@0", "opinion--3@0"}},
		{[]string{"c3"}, x, []string{"opinion--5@0"}},
		{[]string{"c2", "c3"}, y, nil},
		{nil, x, nil},
		{[]string{"nope"}, x, nil},
		{[]string{"c1"}, "report--", nil},
		{[]string{"c1"}, "", nil},
	} {
		got, err := s.OpinionVersions(ctx, tc.colls, tc.object)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i, o := range got {
			ids = append(ids, fmt.Sprintf("%s@%d", o.ID, int(o.Version.Sub(t0).Minutes())))
			if i > 0 && got[i-1].Seq >= o.Seq {
				t.Errorf("not in seq order")
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("OpinionVersions(%v, %s) = %v, want %v", tc.colls, tc.object, ids, tc.want)
		}
	}
}

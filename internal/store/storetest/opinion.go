package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// testOpinionVersions: every version, in the given collections, of every
// opinion some version of which lists the object; in Seq order. (Per
// member within a bound: testOpinionVersionsPerMember.)
func testOpinionVersions(t *testing.T, s store.Store) {
	alice := member("alice")
	must(t, s.AddMember(ctx, alice))
	for _, c := range []string{"c1", "c2", "c3"} {
		must(t, s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{alice.ID}, Writers: []string{alice.ID}}))
	}
	const x, y = "report--x", "report--y"
	for _, o := range []struct {
		coll, typ, id string
		minute        int
		refs          string // JSON array
	}{
		{"c1", "opinion", "opinion--1", 0, `["report--x"]`},
		{"c1", "opinion", "opinion--1", 1, `["report--y"]`}, // a later version about y only: still returned for x
		{"c1", "opinion", "opinion--2", 0, `["report--y","report--x"]`},
		{"c1", "opinion", "opinion--3", 0, `["report--y"]`},
		{"c2", "opinion", "opinion--4", 0, `["report--x"]`},
		{"c3", "opinion", "opinion--5", 0, `["report--x"]`},
		{"c1", "note", "note--6", 0, `["report--x"]`}, // not an opinion
		{"c1", "opinion", "opinion--7", 0, `["report--xx"]`},
		{"c2", "opinion", "opinion--8", 0, `["report--x",7]`}, // a ref that isn't a string is skipped, the rest indexed
		{"c1", "opinion", "opinion--9", 0, `"report--x"`},     // not an array: nothing indexed
	} {
		v := base.Add(time.Duration(o.minute) * time.Minute)
		put(t, s, o.coll, alice, o.id, o.typ, v, fmt.Sprintf(`{"id":%q,"modified":%q,"object_refs":%s,"type":%q}`, o.id, store.FormatTime(v), o.refs, o.typ))
	}
	// A stored "opinion" whose bytes aren't JSON doesn't make Submit fail.
	put(t, s, "c1", alice, "opinion--bad", "opinion", base, "not JSON")
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
		got, err := s.OpinionVersions(ctx, tc.colls, tc.object, store.Bound{})
		must(t, err)
		var ids []string
		for i, o := range got {
			ids = append(ids, fmt.Sprintf("%s@%d", o.ID, int(o.Version.Sub(base).Minutes())))
			if i > 0 && got[i-1].Seq >= o.Seq {
				t.Errorf("not in seq order")
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("OpinionVersions(%v, %s) = %v, want %v", tc.colls, tc.object, ids, tc.want)
		}
	}
}

// testOpinionVersionsPerMember: of each member's opinion versions on an
// object, the newest within the bound, always at least one, still in Seq
// order; the versions of other members don't count against it.
func testOpinionVersionsPerMember(t *testing.T, s store.Store) {
	alice, bob := member("alice"), member("bob")
	must(t, s.AddMember(ctx, alice))
	must(t, s.AddMember(ctx, bob))
	must(t, s.AddCollection(ctx, store.Collection{ID: "c", Title: "c", Readers: []string{alice.ID, bob.ID}, Writers: []string{alice.ID, bob.ID}}))
	const x = "report--x"
	pad := strings.Repeat("x", 1000)
	// In the order stored: alice's versions are out of time order, so
	// "newest" is by version, not by arrival.
	for _, o := range []struct {
		m      store.Member
		id     string
		minute int
	}{
		{alice, "opinion--a1", 5}, {bob, "opinion--b1", 0}, {alice, "opinion--a1", 1}, {alice, "opinion--a2", 3},
		{alice, "opinion--a3", 4}, {bob, "opinion--b1", 2}, {alice, "opinion--a2", 0},
	} {
		v := base.Add(time.Duration(o.minute) * time.Minute)
		put(t, s, "c", o.m, o.id, "opinion", v, fmt.Sprintf(`{"explanation":%q,"id":%q,"modified":%q,"object_refs":[%q],"type":"opinion"}`, pad, o.id, store.FormatTime(v), x))
	}
	for _, tc := range []struct {
		bound store.Bound
		want  []string // id@minute in seq order
	}{
		{store.Bound{}, []string{"opinion--a1@5", "opinion--b1@0", "opinion--a1@1", "opinion--a2@3", "opinion--a3@4", "opinion--b1@2", "opinion--a2@0"}},
		{store.Bound{Rows: 2}, []string{"opinion--a1@5", "opinion--b1@0", "opinion--a3@4", "opinion--b1@2"}},
		{store.Bound{Rows: 1}, []string{"opinion--a1@5", "opinion--b1@2"}},
		// Room for two versions of about 1,100 bytes, not three.
		{store.Bound{Bytes: 2500}, []string{"opinion--a1@5", "opinion--b1@0", "opinion--a3@4", "opinion--b1@2"}},
		{store.Bound{Rows: 10, Bytes: 1}, []string{"opinion--a1@5", "opinion--b1@2"}},
		{store.Bound{Rows: 3, Bytes: 1 << 20}, []string{"opinion--a1@5", "opinion--b1@0", "opinion--a2@3", "opinion--a3@4", "opinion--b1@2"}},
	} {
		got, err := s.OpinionVersions(ctx, []string{"c"}, x, tc.bound)
		must(t, err)
		var ids []string
		for _, o := range got {
			ids = append(ids, fmt.Sprintf("%s@%d", o.ID, int(o.Version.Sub(base).Minutes())))
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("OpinionVersions within %+v = %v, want %v", tc.bound, ids, tc.want)
		}
	}
}

// testOpinionSizes: OpinionSizes chooses, without reading them, the
// versions OpinionVersions returns with the same arguments (their Seqs in
// order, and the sum of their sizes), whatever the bound; reading those
// Seqs with ObjectsAt returns the same versions, and a version stored
// after the sizes were read is not among them.
func testOpinionSizes(t *testing.T, s store.Store) {
	alice, bob := member("alice"), member("bob")
	must(t, s.AddMember(ctx, alice))
	must(t, s.AddMember(ctx, bob))
	for _, c := range []string{"c", "d"} {
		must(t, s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{alice.ID, bob.ID}, Writers: []string{alice.ID, bob.ID}}))
	}
	const x = "report--x"
	opinionOf := func(id string, v time.Time, pad int) string {
		return fmt.Sprintf(`{"explanation":%q,"id":%q,"modified":%q,"object_refs":[%q],"type":"opinion"}`, strings.Repeat("x", pad), id, store.FormatTime(v), x)
	}
	// Sizes that differ, so that a wrong choice shows in the sum; bob's
	// newest is large.
	for i, o := range []struct {
		coll, id string
		m        store.Member
		minute   int
		pad      int
	}{
		{"c", "opinion--a1", alice, 5, 100}, {"c", "opinion--b1", bob, 0, 300}, {"c", "opinion--a1", alice, 1, 700},
		{"c", "opinion--a2", alice, 3, 1500}, {"d", "opinion--a3", alice, 4, 200}, {"c", "opinion--b1", bob, 2, 5000},
		{"c", "opinion--a2", alice, 0, 50}, {"d", "opinion--b2", bob, 1, 20}, {"c", "opinion--a4", alice, 2, 900},
	} {
		v := base.Add(time.Duration(o.minute) * time.Minute)
		put(t, s, o.coll, o.m, o.id, "opinion", v, opinionOf(o.id, v, o.pad+i))
	}
	put(t, s, "c", alice, "note--n", "note", base, fmt.Sprintf(`{"id":"note--n","object_refs":[%q],"type":"note"}`, x))
	for _, colls := range [][]string{{"c"}, {"c", "d"}, {"d"}, {"nope"}, nil} {
		for _, b := range []store.Bound{{}, {Rows: 1}, {Rows: 2}, {Rows: 3}, {Bytes: 1000}, {Bytes: 3000}, {Rows: 2, Bytes: 1200}, {Rows: 10, Bytes: 1}} {
			want, err := s.OpinionVersions(ctx, colls, x, b)
			must(t, err)
			seqs, bytes, err := s.OpinionSizes(ctx, colls, x, b)
			must(t, err)
			var wantSeqs []int64
			var wantBytes int64
			perMember := map[string]int{}
			for _, o := range want {
				wantSeqs = append(wantSeqs, o.Seq)
				wantBytes += int64(len(o.Raw))
				perMember[o.Member]++
			}
			if fmt.Sprint(seqs) != fmt.Sprint(wantSeqs) || bytes != wantBytes {
				t.Errorf("OpinionSizes(%v) within %+v = %v, %d bytes; want %v, %d bytes (OpinionVersions)", colls, b, seqs, bytes, wantSeqs, wantBytes)
			}
			for m, n := range perMember {
				if b.Rows > 0 && n > b.Rows {
					t.Errorf("within %+v: %d versions of %s", b, n, m)
				}
			}
			if len(colls) == 2 && b == (store.Bound{}) && len(seqs) != 9 {
				t.Errorf("OpinionSizes(%v) with no bound: %d versions, want all 9", colls, len(seqs))
			}
			got, more, err := s.ObjectsAt(ctx, colls, seqs, store.Bound{Bytes: bytes})
			must(t, err)
			if more || len(got) != len(want) {
				t.Fatalf("ObjectsAt(OpinionSizes) = %d versions (more %v), want %d", len(got), more, len(want))
			}
			for i := range got {
				if got[i].Seq != want[i].Seq || string(got[i].Raw) != string(want[i].Raw) {
					t.Errorf("ObjectsAt(OpinionSizes)[%d] = seq %d, want seq %d", i, got[i].Seq, want[i].Seq)
				}
			}
		}
	}
	// A newer, larger version stored after the sizes were read: OpinionSizes
	// now chooses it, the Seqs read before don't.
	seqs, bytes, err := s.OpinionSizes(ctx, []string{"c"}, x, store.Bound{Rows: 1})
	must(t, err)
	v := base.Add(time.Hour)
	put(t, s, "c", bob, "opinion--b1", "opinion", v, opinionOf("opinion--b1", v, 20000))
	got, _, err := s.ObjectsAt(ctx, []string{"c"}, seqs, store.Bound{})
	must(t, err)
	var total int64
	for _, o := range got {
		total += int64(len(o.Raw))
	}
	if len(got) != len(seqs) || total != bytes {
		t.Errorf("the versions chosen before a newer one: %d versions, %d bytes; want %d, %d", len(got), total, len(seqs), bytes)
	}
	seqs2, bytes2, err := s.OpinionSizes(ctx, []string{"c"}, x, store.Bound{Rows: 1})
	must(t, err)
	if len(seqs2) != len(seqs) || bytes2 < bytes+14000 {
		t.Errorf("after bob's larger version: %v, %d bytes; want bob's newest counted (was %v, %d)", seqs2, bytes2, seqs, bytes)
	}
	if _, _, err := s.OpinionSizes(ctx, []string{"c"}, "", store.Bound{}); err != nil {
		t.Errorf("OpinionSizes of no object: %v", err)
	}
}

// testLatestRevoked: LatestRevoked finds, in the given collections only,
// the latest version of the object (the newest of each collection's
// latest, a revoked one among equals), without its JSON, and whether its
// top-level "revoked" is true; none is ErrNotFound.
func testLatestRevoked(t *testing.T, s store.Store) {
	alice := member("alice")
	must(t, s.AddMember(ctx, alice))
	for _, c := range []string{"c1", "c2", "c3", "c4", "c5"} {
		must(t, s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{alice.ID}, Writers: []string{alice.ID}}))
	}
	const x, y = "indicator--x", "indicator--y"
	for _, o := range []struct {
		coll, id string
		minute   int
		extra    string
	}{
		{"c1", x, 1, `"revoked":true,`}, // stored before the older version: latest by version, not arrival
		{"c1", x, 0, ``},
		{"c2", x, 0, ``},
		{"c3", x, 2, `"revoked":false,`},
		{"c4", x, 1, ``},                              // as new as c1's, not revoked: c1's revoked one wins the tie
		{"c5", x, 3, `"x_note":{"revoked":true},`},    // nested: not the object's
		{"c5", y, 0, `"name":"\"revoked\":true",`},    // in a string: not the object's
		{"c2", "indicator--xx", 5, `"revoked":true,`}, // another id
	} {
		v := base.Add(time.Duration(o.minute) * time.Minute)
		put(t, s, o.coll, alice, o.id, "indicator", v, fmt.Sprintf(`{"id":%q,"modified":%q,%s"type":"indicator"}`, o.id, store.FormatTime(v), o.extra))
	}
	for _, tc := range []struct {
		colls   []string
		object  string
		coll    string // "" for ErrNotFound
		minute  int
		revoked bool
	}{
		{[]string{"c1"}, x, "c1", 1, true},
		{[]string{"c2"}, x, "c2", 0, false},
		{[]string{"c1", "c2"}, x, "c1", 1, true},
		{[]string{"c2", "c1", "nope"}, x, "c1", 1, true},
		{[]string{"c1", "c3"}, x, "c3", 2, false},
		{[]string{"c4", "c1"}, x, "c1", 1, true},
		{[]string{"c4"}, x, "c4", 1, false},
		{[]string{"c5", "c1"}, x, "c5", 3, false},
		{[]string{"c5"}, y, "c5", 0, false},
		{[]string{"c3", "c4"}, "indicator--xx", "", 0, false},
		{[]string{"nope"}, x, "", 0, false},
		{nil, x, "", 0, false},
		{[]string{"c1"}, "", "", 0, false},
	} {
		got, revoked, err := s.LatestRevoked(ctx, tc.colls, tc.object)
		if tc.coll == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("LatestRevoked(%v, %q) = %+v, %v, %v; want ErrNotFound", tc.colls, tc.object, got, revoked, err)
			}
			continue
		}
		must(t, err)
		if got.Collection != tc.coll || got.ID != tc.object || !got.Version.Equal(base.Add(time.Duration(tc.minute)*time.Minute)) || revoked != tc.revoked {
			t.Errorf("LatestRevoked(%v, %q) = %s@%s in %s, revoked %v; want @%d in %s, revoked %v", tc.colls, tc.object, got.ID, store.FormatTime(got.Version), got.Collection, revoked, tc.minute, tc.coll, tc.revoked)
		}
		if got.Raw != nil || got.Member != alice.ID || got.LogIndex < 0 || got.Seq == 0 {
			t.Errorf("LatestRevoked(%v, %q) = %+v: want the version's columns, no JSON", tc.colls, tc.object, got)
		}
	}
}

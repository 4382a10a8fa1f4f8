package storetest

import (
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

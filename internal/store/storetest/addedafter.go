package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// FillForAddedAfter stores, in new and empty s, versions in two
// collections "m1" and "m2" submitted alternately, so that each
// collection's additions fall between the other's; one object of "m1"
// gets a second version. A store opened with the migrations before the
// one that finds added_after's bound by collection, then opened again
// with all of them, must answer [CheckAddedAfter] as if it had had them
// from the start.
func FillForAddedAfter(t *testing.T, s store.Store) {
	m := member("m")
	must(t, s.AddMember(ctx, m))
	for _, c := range []string{"m1", "m2"} {
		must(t, s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{m.ID}, Writers: []string{m.ID}}))
	}
	for i := range 7 {
		c := []string{"m1", "m2"}[i%2]
		id := c + "-" + string(rune('a'+i))
		if i == 6 {
			id = "m1-a" // a second version of m1's first object
		}
		submit(t, s, c, m, obj("indicator--"+id, base.Add(time.Duration(i)*time.Second), i))
	}
}

// CheckAddedAfter checks TAXII's added_after over what
// [FillForAddedAfter] stored: for the time each version was added, and
// for a time before all of them, each collection's pages hold exactly its
// versions added after it (all versions, and the last ones), in stored
// order.
func CheckAddedAfter(t *testing.T, s store.Store) {
	every := slices.Concat(
		all(t, s, store.Query{Collection: "m1", Versions: []store.VersionSelector{{Kind: store.VersionAll}}}),
		all(t, s, store.Query{Collection: "m2", Versions: []store.VersionSelector{{Kind: store.VersionAll}}}))
	if len(every) != 7 {
		t.Fatalf("%d versions stored, want 7", len(every))
	}
	times := []time.Time{every[0].DateAdded.Add(-time.Microsecond)}
	for _, o := range every {
		times = append(times, o.DateAdded)
	}
	for _, at := range times {
		for _, c := range []string{"m1", "m2"} {
			for _, kind := range []string{store.VersionAll, store.VersionLast} {
				var want []store.Object
				for _, o := range every {
					if o.Collection == c && o.DateAdded.After(at) && (kind == store.VersionAll || o.ID != "indicator--m1-a" || o.Version.Equal(base.Add(6*time.Second))) {
						want = append(want, o)
					}
				}
				slices.SortFunc(want, func(a, b store.Object) int { return int(a.Seq - b.Seq) })
				// A page of two, so that the cursor and the bound meet.
				got := all(t, s, store.Query{Collection: c, AddedAfter: at, Versions: []store.VersionSelector{{Kind: kind}}, Limit: 2})
				if g, w := strings.Join(ids(got), " "), strings.Join(ids(want), " "); g != w {
					t.Errorf("%s versions of %s added after %s: %s, want %s", kind, c, store.FormatTime(at), g, w)
				}
			}
		}
	}
}

package storetest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// Unreadable checks that what a member's queries cost does not depend on
// what the collections it may not read hold, so that their timing tells
// it nothing of them. Each query of the web UI and of TAXII's pages runs
// for a member who reads collection "a" only, after collection "b" has
// received sizes[0] objects of each kind made to weigh on it, then
// after sizes[1] more:
// versions of the same id, the same words, relationships and opinions on
// the same object, PDQ hashes, the most recent additions, private sets. work(fn) runs
// fn and returns what it cost the database, as a count (pages or buffers
// or rows read, not a time), which may grow by four at most.
//
// A B-tree that "b" makes a level deeper costs every lookup a page more,
// whichever collection it reads: no leak of substance, but a count of
// pages grows. sizes must leave every tree as deep as it was; the same
// queries also run over the control collection "c", which holds what "a"
// holds with another word and other ids, none of which "b" holds, so
// that a failure says whether "c" grew too (a deeper tree, or a query
// that reads everything whatever it looks for). Since "c" holds what "a"
// holds, a query over "c" must also cost what the same query over "a"
// costs, within four: "b" is stored after both, so a query that walks
// every collection's rows in the order they were stored and stops at
// its page reads "a"'s before reaching "c"'s, and never gets to "b"'s.
// With one full-text index for all
// collections, a search read every posting of its word in "b"; with
// references keyed by the referenced id, an object page read every
// relationship to it in "b"; with added_after's bound the first addition
// after it in any collection, a TAXII page walked every collection's
// additions in stored order up to it ("a"'s for a page of "c").
//
// s must be new and empty. The test is separate from [Run]: each store
// measures work its own way.
func Unreadable(t *testing.T, s store.Store, sizes [2]int, work func(fn func() error) int64) {
	ctx := context.Background()
	for _, m := range []string{"identity--a", "identity--b", "identity--c"} {
		if err := s.AddMember(ctx, store.Member{ID: m, Name: m, Identity: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"a", "b", "c"} {
		if err := s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{"identity--" + c}, Writers: []string{"identity--" + c}}); err != nil {
			t.Fatal(err)
		}
	}
	// x_padding, indexed nowhere, makes the tables deep.
	pad := strings.Repeat("p", 1500)
	t0 := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	n := 0
	// fill stores count objects of every weighing kind in collection c:
	// versions of shared, objects named word, relationships to shared,
	// opinions on it, PDQ hashes.
	fill := func(c, word, shared string, count int) {
		var items []store.Item
		add := func(id, typ string, v time.Time, raw string) {
			items = append(items, store.Item{
				Object: store.Object{ID: id, Type: typ, SpecVersion: "2.1", Version: v, Raw: []byte(raw)},
				Salt:   make([]byte, 32),
				Entry:  func(store.Object) ([]byte, error) { return []byte(raw), nil },
			})
		}
		flush := func() {
			if _, err := s.Submit(ctx, store.Submission{StatusID: fmt.Sprint("st-", n), Collection: c, Member: "identity--" + c, Received: t0, Items: items}); err != nil {
				t.Fatal(err)
			}
			items = nil
		}
		for range count {
			n++
			v := t0.Add(time.Duration(n) * time.Second)
			add(shared, "indicator", v, fmt.Sprintf(`{"id":%q,"modified":%q,"name":"%s crossing %d","x_padding":%q,"pattern":"[ipv4-addr:value = '10.0.0.1']","type":"indicator"}`, shared, v.Format(time.RFC3339), word, n, pad))
			add(fmt.Sprintf("indicator--z%07d", n), "indicator", t0, fmt.Sprintf(`{"id":"indicator--z%07d","name":"%s %d","x_padding":%q,"object_marking_refs":["marking-definition--m"],"type":"indicator"}`, n, word, n, pad))
			add(fmt.Sprintf("relationship--r%07d", n), "relationship", t0, fmt.Sprintf(`{"id":"relationship--r%07d","relationship_type":"indicates","x_padding":%q,"source_ref":%q,"target_ref":"malware--m","type":"relationship"}`, n, pad, shared))
			add(fmt.Sprintf("opinion--o%07d", n), "opinion", t0, fmt.Sprintf(`{"id":"opinion--o%07d","x_padding":%q,"object_refs":[%q],"opinion":"agree","type":"opinion"}`, n, pad, shared))
			add(fmt.Sprintf("file--f%07d", n), "file", t0, fmt.Sprintf(`{"hashes":{"PDQ":"%064x"},"id":"file--f%07d","x_padding":%q,"type":"file"}`, n, n, pad))
			if len(items) >= 400 {
				flush()
			}
		}
		if len(items) > 0 {
			flush()
		}
	}
	// sets makes count private sets of member m in collection c, of
	// tags tags each.
	sets := 0
	makeSets := func(c, m string, count, tags int) {
		for range count {
			sets++
			n := valuesSet(fmt.Sprintf("set-%d", sets), store.Member{ID: m}, c)
			for i := range tags {
				n.Tags = append(n.Tags, store.PrivateTag{Tag: binary.BigEndian.AppendUint64(nil, uint64(i))})
			}
			if _, err := s.CreatePrivateSet(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	bound := store.Bound{Rows: 20, Bytes: 1 << 20}
	opinions := store.Bound{Rows: 16, Bytes: 64 << 10}
	// queries are the queries over collection c, of objects named word
	// and related to shared; first is one of c's relationships; mid is
	// when c's 75th object was added, halfway through c, and late when
	// "b"'s first object was, after all of c.
	queries := func(c, word, shared, first string, mid, late time.Time) []struct {
		name string
		run  func() error
	} {
		in := []string{c}
		return []struct {
			name string
			run  func() error
		}{
			{"browse", func() error { _, err := s.BrowseObjects(ctx, store.Browse{Collection: c, Limit: 20}); return err }},
			{"browse pages", func() error {
				// The second page, after the first's last object and with
				// the probe for an earlier one, and back to the first.
				p, err := s.BrowseObjects(ctx, store.Browse{Collection: c, Limit: 10})
				if err != nil || len(p.Objects) < 10 {
					return fmt.Errorf("the first page of %s: %d objects, %v", c, len(p.Objects), err)
				}
				if p, err = s.BrowseObjects(ctx, store.Browse{Collection: c, Limit: 10, After: p.Objects[9].Seq}); err != nil || len(p.Objects) == 0 {
					return fmt.Errorf("the second page of %s: %d objects, %v", c, len(p.Objects), err)
				}
				_, err = s.BrowseObjects(ctx, store.Browse{Collection: c, Limit: 10, Before: p.Objects[0].Seq})
				return err
			}},
			{"browse dates", func() error {
				// Every object was added in the period.
				_, err := s.BrowseObjects(ctx, store.Browse{Collection: c, From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 20})
				return err
			}},
			{"browse since", func() error {
				// The second half of c: a period open at its end, which
				// an index led by the collection and date_added serves
				// from c's mid through every later collection's
				// additions unless the range ends with c.
				_, err := s.BrowseObjects(ctx, store.Browse{Collection: c, From: mid, Limit: 20})
				return err
			}},
			{"browse text", func() error {
				_, err := s.BrowseObjects(ctx, store.Browse{Collection: c, Text: word, Limit: 20})
				return err
			}},
			{"browse markings", func() error {
				_, err := s.BrowseObjects(ctx, store.Browse{Collection: c, Markings: []string{"marking-definition--m"}, Limit: 20})
				return err
			}},
			{"text", func() error { _, _, err := s.TextObjects(ctx, in, word, bound); return err }},
			{"value", func() error { _, _, err := s.ValueObjects(ctx, in, "10.0.0.1", bound); return err }},
			{"recent", func() error { _, err := s.RecentObjects(ctx, in, bound); return err }},
			{"versions", func() error { _, _, err := s.ObjectVersions(ctx, in, shared, bound); return err }},
			{"latest", func() error { _, _, err := s.LatestObjects(ctx, in, []string{shared, first}, bound); return err }},
			{"referencing", func() error { _, _, err := s.Referencing(ctx, in, shared, bound); return err }},
			{"pdq", func() error { _, _, err := s.PDQHashes(ctx, in, 1000); return err }},
			{"opinions", func() error { _, err := s.OpinionVersions(ctx, in, shared, opinions); return err }},
			{"opinion sizes", func() error { _, _, err := s.OpinionSizes(ctx, in, shared, opinions); return err }},
			{"latest revoked", func() error { _, _, err := s.LatestRevoked(ctx, in, shared); return err }},
			{"stats", func() error { _, err := s.CollectionStats(ctx, in); return err }},
			{"private sets", func() error { _, err := s.PrivateSetsFor(ctx, in, "identity--"+c); return err }},
			{"taxii page", func() error { _, err := s.Objects(ctx, store.Query{Collection: c, Limit: 20}); return err }},
			// added_after halfway through c: a page of c's second half.
			// A bound found among every collection's additions reads the
			// ones after it (all of "b"'s), or walks every collection's
			// objects in the order they were added up to it (over "c",
			// "a"'s too).
			{"taxii added_after", func() error {
				p, err := s.Objects(ctx, store.Query{Collection: c, AddedAfter: mid, Limit: 20})
				if err == nil && len(p.Objects) == 0 {
					err = fmt.Errorf("no objects of %s added after its 75th", c)
				}
				return err
			}},
			// added_after past c's objects, within "b"'s: an empty page,
			// without the objects, as for the manifest.
			{"taxii added_after late", func() error {
				p, err := s.Objects(ctx, store.Query{Collection: c, AddedAfter: late, Limit: 20, OmitRaw: true})
				if err == nil && len(p.Objects) > 0 {
					err = fmt.Errorf("%d objects of %s added after \"b\"'s first", len(p.Objects), c)
				}
				return err
			}},
			{"taxii object", func() error {
				_, err := s.Objects(ctx, store.Query{Collection: c, IDs: []string{shared}, Versions: []store.VersionSelector{{Kind: "all"}}, Limit: 20})
				return err
			}},
		}
	}
	fill("a", "zebra", "indicator--shared", 30)
	makeSets("a", "identity--a", 2, 100)
	firstA := fmt.Sprintf("relationship--r%07d", 1)
	fill("c", "okapi", "indicator--other", 30)
	makeSets("c", "identity--c", 2, 100)
	firstC := fmt.Sprintf("relationship--r%07d", 31)
	fill("b", "zebra", "indicator--shared", sizes[0])
	makeSets("b", "identity--b", 5, 2000)
	// added returns when the i-th object (from 0) of collection c was
	// added.
	added := func(c string, i int) time.Time {
		p, err := s.Objects(ctx, store.Query{Collection: c, Versions: []store.VersionSelector{{Kind: store.VersionAll}}, Limit: i + 1, OmitRaw: true})
		if err != nil || len(p.Objects) <= i {
			t.Fatalf("the objects of %s: %d, %v", c, len(p.Objects), err)
		}
		return p.Objects[i].DateAdded
	}
	late := added("b", 0)
	qa := queries("a", "zebra", "indicator--shared", firstA, added("a", 74), late)
	qc := queries("c", "okapi", "indicator--other", firstC, added("c", 74), late)
	// Each query runs six times before it is measured: a database that
	// caches a query's plan may change it after five runs (PostgreSQL's
	// generic plans of prepared statements).
	warm := func(run func() error) func() error {
		for range 6 {
			if err := run(); err != nil {
				t.Fatal(err)
			}
		}
		return run
	}
	before := map[string][2]int64{}
	for i := range qa {
		before[qa[i].name] = [2]int64{work(warm(qa[i].run)), work(warm(qc[i].run))}
	}
	fill("b", "zebra", "indicator--shared", sizes[1])
	makeSets("b", "identity--b", 10, 2000)
	for i := range qa {
		a, c := work(warm(qa[i].run)), work(warm(qc[i].run))
		b := before[qa[i].name]
		switch {
		case a > b[0]+4 && c > b[1]+4:
			t.Errorf("%s: work %d, then %d, and the control's %d, then %d: a B-tree grew a level deeper (then choose other sizes) or the query reads what it shouldn't", qa[i].name, b[0], a, b[1], c)
		case a > b[0]+4:
			t.Errorf("%s: work %d with %d objects of each kind in the unreadable collection, %d with %d (the control: %d, then %d)", qa[i].name, b[0], sizes[0], a, sizes[0]+sizes[1], b[1], c)
		case c > a+4 || a > c+4:
			t.Errorf("%s: work %d over \"a\", %d over the control \"c\", which holds as much: the query over \"c\" reads \"a\"'s rows, stored before its own, or the one over \"a\" reads something of \"b\"", qa[i].name, a, c)
		default:
			t.Logf("%s: work %d, then %d (the control: %d, then %d)", qa[i].name, b[0], a, b[1], c)
		}
	}
}

// FillForUIMigration stores, in new and empty s, what the web UI's
// indexes hold for two collections "m1" and "m2": objects with words, a
// relationship and PDQ hashes in each. A store opened with the migrations
// before those that key the indexes by collection, then opened again with
// all of them, must answer [CheckAfterUIMigration]'s queries as if it had
// had them from the start.
func FillForUIMigration(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.AddMember(ctx, store.Member{ID: "identity--m", Name: "m", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	for _, c := range []string{"m1", "m2"} {
		if err := s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{"identity--m"}, Writers: []string{"identity--m"}}); err != nil {
			t.Fatal(err)
		}
		var items []store.Item
		for i, raw := range []string{
			fmt.Sprintf(`{"id":"indicator--%s","name":"okapi in %s","type":"indicator"}`, c, c),
			fmt.Sprintf(`{"id":"relationship--%s","relationship_type":"indicates","source_ref":"indicator--%s","target_ref":"malware--shared","type":"relationship"}`, c, c),
			fmt.Sprintf(`{"hashes":{"PDQ":"%064x"},"id":"file--%s","type":"file"}`, len(c)+int(c[1]), c),
		} {
			var o struct{ ID, Type string }
			if err := json.Unmarshal([]byte(raw), &o); err != nil {
				t.Fatal(err)
			}
			items = append(items, store.Item{
				Object: store.Object{ID: o.ID, Type: o.Type, SpecVersion: "2.1", Version: t0.Add(time.Duration(i) * time.Second), Raw: []byte(raw)},
				Salt:   make([]byte, 32),
				Entry:  func(store.Object) ([]byte, error) { return []byte(raw), nil },
			})
		}
		if _, err := s.Submit(ctx, store.Submission{StatusID: "migrate-" + c, Collection: c, Member: "identity--m", Received: t0, Items: items}); err != nil {
			t.Fatal(err)
		}
	}
}

// CheckAfterUIMigration checks the web UI's queries over what
// [FillForUIMigration] stored, collection by collection.
func CheckAfterUIMigration(t *testing.T, s store.Store) {
	ctx := context.Background()
	ids := func(objs []store.Object) string {
		var out []string
		for _, o := range objs {
			out = append(out, o.ID)
		}
		return strings.Join(out, " ")
	}
	all := store.Bound{Rows: 10}
	for _, c := range []string{"m1", "m2"} {
		got, _, err := s.TextObjects(ctx, []string{c}, "okapi", all)
		if err != nil || ids(got) != "indicator--"+c {
			t.Errorf("search for okapi in %s: %s, %v", c, ids(got), err)
		}
		p, err := s.BrowseObjects(ctx, store.Browse{Collection: c, Text: "okapi", Limit: 10})
		if err != nil || ids(p.Objects) != "indicator--"+c {
			t.Errorf("browsing %s for okapi: %s, %v", c, ids(p.Objects), err)
		}
		got, _, err = s.Referencing(ctx, []string{c}, "malware--shared", all)
		if err != nil || ids(got) != "relationship--"+c {
			t.Errorf("references in %s: %s, %v", c, ids(got), err)
		}
		hashes, _, err := s.PDQHashes(ctx, []string{c}, 10)
		if err != nil || len(hashes) != 1 {
			t.Errorf("PDQ hashes in %s: %v, %v", c, hashes, err)
		}
	}
	got, _, err := s.TextObjects(ctx, []string{"m1", "m2"}, "okapi", all)
	if err != nil || ids(got) != "indicator--m1 indicator--m2" {
		t.Errorf("search for okapi in both: %s, %v", ids(got), err)
	}
	got, _, err = s.TextObjects(ctx, []string{"m2"}, "m1", all)
	if err != nil || len(got) != 0 {
		t.Errorf("search for m1 in m2: %s, %v", ids(got), err)
	}
}

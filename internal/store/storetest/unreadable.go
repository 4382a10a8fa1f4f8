package storetest

import (
	"context"
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
// for a member who reads collection "a" only, before and after collection
// "b" receives 2,000 more objects of each kind made to weigh on it:
// versions of the same id, the same words, relationships to the same
// object, PDQ hashes, the most recent additions. work(fn) runs fn and
// returns what it cost the database, as a count (pages or buffers
// fetched, not a time); it must stay the same, within four. With one
// full-text index for all collections, a search read every posting of its
// word in "b"; with references keyed by the referenced id, an object page
// read every relationship to it in "b".
//
// s must be new and empty. The test is separate from [Run]: each store
// measures work its own way.
func Unreadable(t *testing.T, s store.Store, work func(fn func() error) int64) {
	ctx := context.Background()
	for _, m := range []string{"identity--a", "identity--b"} {
		if err := s.AddMember(ctx, store.Member{ID: m, Name: m, Identity: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"a", "b"} {
		if err := s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{"identity--" + c}, Writers: []string{"identity--" + c}}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	// Large objects make the tables as deep with 1,000 objects of each
	// kind as with 3,000, so a level more in a B-tree (a page a lookup,
	// no leak of substance) doesn't count; x_padding is indexed nowhere.
	pad := strings.Repeat("p", 1500)
	t0 := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	// fill stores count objects of every weighing kind in collection c.
	fill := func(c string, count int) {
		var items []store.Item
		add := func(id, typ string, v time.Time, raw string) {
			items = append(items, store.Item{
				Object: store.Object{ID: id, Type: typ, SpecVersion: "2.1", Version: v, Raw: []byte(raw)},
				Salt:   make([]byte, 32),
				Entry:  func(store.Object) ([]byte, error) { return []byte(raw), nil },
			})
		}
		for range count {
			n++
			v := t0.Add(time.Duration(n) * time.Second)
			add("indicator--shared", "indicator", v, fmt.Sprintf(`{"id":"indicator--shared","modified":%q,"name":"zebra crossing %d","x_padding":%q,"pattern":"[ipv4-addr:value = '10.0.0.1']","type":"indicator"}`, v.Format(time.RFC3339), n, pad))
			add(fmt.Sprintf("indicator--z%07d", n), "indicator", t0, fmt.Sprintf(`{"id":"indicator--z%07d","name":"zebra %d","x_padding":%q,"object_marking_refs":["marking-definition--m"],"type":"indicator"}`, n, n, pad))
			add(fmt.Sprintf("relationship--r%07d", n), "relationship", t0, fmt.Sprintf(`{"id":"relationship--r%07d","relationship_type":"indicates","x_padding":%q,"source_ref":"indicator--shared","target_ref":"malware--m","type":"relationship"}`, n, pad))
			add(fmt.Sprintf("file--f%07d", n), "file", t0, fmt.Sprintf(`{"hashes":{"PDQ":"%064x"},"id":"file--f%07d","x_padding":%q,"type":"file"}`, n, n, pad))
			if len(items) >= 400 {
				if _, err := s.Submit(ctx, store.Submission{StatusID: fmt.Sprint("st-", n), Collection: c, Member: "identity--" + c, Received: t0, Items: items}); err != nil {
					t.Fatal(err)
				}
				items = nil
			}
		}
		if len(items) > 0 {
			if _, err := s.Submit(ctx, store.Submission{StatusID: fmt.Sprint("st-", n), Collection: c, Member: "identity--" + c, Received: t0, Items: items}); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := []string{"a"}
	bound := store.Bound{Rows: 20, Bytes: 1 << 20}
	queries := []struct {
		name string
		run  func() error
	}{
		{"browse", func() error { _, err := s.BrowseObjects(ctx, store.Browse{Collection: "a", Limit: 20}); return err }},
		{"browse text", func() error {
			_, err := s.BrowseObjects(ctx, store.Browse{Collection: "a", Text: "zebra", Limit: 20})
			return err
		}},
		{"browse markings", func() error {
			_, err := s.BrowseObjects(ctx, store.Browse{Collection: "a", Markings: []string{"marking-definition--m"}, Limit: 20})
			return err
		}},
		{"text", func() error { _, _, err := s.TextObjects(ctx, a, "zebra", bound); return err }},
		{"recent", func() error { _, err := s.RecentObjects(ctx, a, bound); return err }},
		{"versions", func() error { _, _, err := s.ObjectVersions(ctx, a, "indicator--shared", bound); return err }},
		{"latest", func() error {
			_, _, err := s.LatestObjects(ctx, a, []string{"indicator--shared", "relationship--r0000001"}, bound)
			return err
		}},
		{"referencing", func() error { _, _, err := s.Referencing(ctx, a, "indicator--shared", bound); return err }},
		{"pdq", func() error { _, _, err := s.PDQHashes(ctx, a, 1000); return err }},
		{"stats", func() error { _, err := s.CollectionStats(ctx, a); return err }},
		{"taxii page", func() error { _, err := s.Objects(ctx, store.Query{Collection: "a", Limit: 20}); return err }},
		{"taxii object", func() error {
			_, err := s.Objects(ctx, store.Query{Collection: "a", IDs: []string{"indicator--shared"}, Versions: []store.VersionSelector{{Kind: "all"}}, Limit: 20})
			return err
		}},
	}
	fill("a", 30)
	fill("b", 1000)
	before := map[string]int64{}
	for _, q := range queries {
		before[q.name] = work(q.run)
	}
	fill("b", 2000)
	for _, q := range queries {
		after := work(q.run)
		if after > before[q.name]+4 {
			t.Errorf("%s: work %d with 1,000 objects of each kind in the unreadable collection, %d with 3,000", q.name, before[q.name], after)
		} else {
			t.Logf("%s: work %d, then %d", q.name, before[q.name], after)
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

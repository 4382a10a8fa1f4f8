package storetest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// uiFixture is a store with members a and b, collections c1 (both read
// and write) and c2 (b only), n numbered indicators in c1 (b's, marked
// red when their number is a multiple of 3, green otherwise), a
// relationship, a file and an indicator with PDQ hashes (a's), and in c2
// a secret indicator.
type uiFixture struct {
	a, b   store.Member
	c1, c2 string
	// added is when each batch went in, by the store's clock.
	before, after time.Time
}

const (
	red   = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
	green = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
)

func newUIFixture(t *testing.T, s store.Store, n int) uiFixture {
	t.Helper()
	f := uiFixture{a: member("a"), b: member("b"), c1: "c1", c2: "c2"}
	must(t, s.AddMember(ctx, f.a))
	must(t, s.AddMember(ctx, f.b))
	must(t, s.AddCollection(ctx, store.Collection{ID: f.c1, Title: "c1", Readers: []string{f.a.ID, f.b.ID}, Writers: []string{f.a.ID, f.b.ID}}))
	must(t, s.AddCollection(ctx, store.Collection{ID: f.c2, Title: "c2", Readers: []string{f.b.ID}, Writers: []string{f.b.ID}}))
	var items []store.Item
	flush := func(coll string, m store.Member) {
		t.Helper()
		if len(items) == 0 {
			return
		}
		_, err := s.Submit(ctx, store.Submission{StatusID: fmt.Sprint("st-", statusN.Add(1)), Collection: coll, Member: m.ID, Received: base, Items: items})
		must(t, err)
		items = nil
	}
	add := func(id, typ, raw string) {
		items = append(items, store.Item{
			Object: store.Object{ID: id, Type: typ, SpecVersion: "2.1", Version: base, Signed: true, Raw: []byte(raw)},
			Salt:   make([]byte, 32),
			Entry:  func(store.Object) ([]byte, error) { return []byte(raw), nil },
		})
	}
	f.before = time.Now().Add(-time.Hour)
	for i := range n {
		marking := green
		if i%3 == 0 {
			marking = red
		}
		id := fmt.Sprintf("indicator--%08d", i)
		add(id, "indicator", fmt.Sprintf(`{"id":%q,"name":"number %d","object_marking_refs":[%q],"pattern":"[ipv4-addr:value = '10.0.%d.%d']","type":"indicator"}`, id, i, marking, i/256, i%256))
	}
	flush(f.c1, f.b)
	add("relationship--r", "relationship", `{"id":"relationship--r","relationship_type":"indicates","source_ref":"indicator--00000001","target_ref":"malware--m","type":"relationship"}`)
	add("sighting--s", "sighting", `{"id":"sighting--s","sighting_of_ref":"indicator--00000001","type":"sighting"}`)
	add("file--f", "file", `{"hashes":{"PDQ":"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"},"id":"file--f","type":"file"}`)
	add("indicator--pdq", "indicator", `{"id":"indicator--pdq","pattern":"0000f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22","pattern_type":"pdq","type":"indicator"}`)
	flush(f.c1, f.a)
	add("indicator--secret", "indicator", `{"id":"indicator--secret","name":"hidden secret","pattern":"[ipv4-addr:value = '10.0.0.1']","type":"indicator"}`)
	flush(f.c2, f.b)
	f.after = time.Now().Add(time.Hour)
	return f
}

func seqIDs(objs []store.Object) []string {
	var out []string
	for i, o := range objs {
		out = append(out, o.ID)
		if i > 0 && objs[i-1].Seq >= o.Seq {
			out = append(out, "(out of Seq order)")
		}
	}
	return out
}

// browseForward pages through b from its start to the page without
// HasNext; it returns the objects' ids in order and the pages.
func browseForward(t *testing.T, s store.Store, b store.Browse) (seen []string, pages []store.BrowsePage) {
	t.Helper()
	for {
		p, err := s.BrowseObjects(ctx, b)
		must(t, err)
		pages = append(pages, p)
		seen = append(seen, seqIDs(p.Objects)...)
		if !p.HasNext {
			return seen, pages
		}
		b.After = p.Objects[len(p.Objects)-1].Seq
	}
}

// testBrowsePaging: keyset pages forward and back, with HasNext and
// HasPrev, every object once.
func testBrowsePaging(t *testing.T, s store.Store) {
	f := newUIFixture(t, s, 25)
	seen, pages := browseForward(t, s, store.Browse{Collection: f.c1, Types: []string{"indicator"}, Limit: 10})
	// 25 numbered indicators and the PDQ one.
	if len(seen) != 26 || len(pages) != 3 || pages[0].HasPrev || !pages[1].HasPrev || !pages[2].HasPrev || len(pages[2].Objects) != 6 {
		t.Fatalf("got %d objects in %d pages (%v)", len(seen), len(pages), seen)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 26 {
		t.Fatalf("an object was seen twice: %v", seen)
	}
	// Back from the last page: the middle page again.
	p, err := s.BrowseObjects(ctx, store.Browse{Collection: f.c1, Types: []string{"indicator"}, Limit: 10, Before: pages[2].Objects[0].Seq})
	must(t, err)
	if fmt.Sprint(seqIDs(p.Objects)) != fmt.Sprint(seqIDs(pages[1].Objects)) || !p.HasPrev || !p.HasNext {
		t.Fatalf("prev page: %v, prev %v next %v; want %v", seqIDs(p.Objects), p.HasPrev, p.HasNext, seqIDs(pages[1].Objects))
	}
	// Back from the middle page: the first, without HasPrev.
	p, err = s.BrowseObjects(ctx, store.Browse{Collection: f.c1, Types: []string{"indicator"}, Limit: 10, Before: pages[1].Objects[0].Seq})
	must(t, err)
	if fmt.Sprint(seqIDs(p.Objects)) != fmt.Sprint(seqIDs(pages[0].Objects)) || p.HasPrev || !p.HasNext {
		t.Fatalf("first page again: %v, prev %v next %v", seqIDs(p.Objects), p.HasPrev, p.HasNext)
	}
	// Only latest versions: a new version of indicator 0 moves it to the
	// end; an older version arriving later changes nothing.
	v2 := obj("indicator--00000000", base.Add(time.Hour), 2)
	old := obj("indicator--00000000", base.Add(-time.Hour), 3)
	submit(t, s, f.c1, f.b, v2)
	submit(t, s, f.c1, f.b, old)
	p, err = s.BrowseObjects(ctx, store.Browse{Collection: f.c1, Types: []string{"indicator"}, Limit: 100})
	must(t, err)
	got := seqIDs(p.Objects)
	if len(got) != 26 || got[25] != "indicator--00000000" || got[0] != "indicator--00000001" || !p.Objects[25].Version.Equal(v2.Version) {
		t.Fatalf("after new versions: %v", got)
	}
	if p, err := s.BrowseObjects(ctx, store.Browse{Collection: "nope", Limit: 10}); err != nil || len(p.Objects) != 0 || p.HasNext || p.HasPrev {
		t.Fatalf("unknown collection: %+v %v", p, err)
	}
}

// testBrowseFilters: types, creators, markings and time filters.
func testBrowseFilters(t *testing.T, s store.Store) {
	f := newUIFixture(t, s, 30)
	for _, tc := range []struct {
		name string
		b    store.Browse
		want int
	}{
		{"all", store.Browse{Collection: f.c1}, 34},
		{"type", store.Browse{Collection: f.c1, Types: []string{"relationship", "file"}}, 2},
		{"creator b", store.Browse{Collection: f.c1, Creators: []string{f.b.ID}}, 30},
		{"creator a", store.Browse{Collection: f.c1, Creators: []string{f.a.ID}}, 4},
		{"both creators", store.Browse{Collection: f.c1, Creators: []string{f.a.ID, f.b.ID}}, 34},
		{"red", store.Browse{Collection: f.c1, Markings: []string{red}}, 10},
		{"red or green", store.Browse{Collection: f.c1, Markings: []string{red, green}}, 30},
		{"red indicators of a", store.Browse{Collection: f.c1, Markings: []string{red}, Creators: []string{f.a.ID}}, 0},
		{"other collection", store.Browse{Collection: f.c2}, 1},
		{"from the future", store.Browse{Collection: f.c1, From: f.after}, 0},
		{"until the past", store.Browse{Collection: f.c1, To: f.before}, 0},
		{"in the window", store.Browse{Collection: f.c1, From: f.before, To: f.after}, 34},
	} {
		checkBrowse(t, s, tc.name, tc.b, tc.want)
	}
}

// checkBrowse browses b on one page of up to 100 and wants want objects
// and no page before or after.
func checkBrowse(t *testing.T, s store.Store, name string, b store.Browse, want int) {
	t.Helper()
	b.Limit = 100
	p, err := s.BrowseObjects(ctx, b)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if len(p.Objects) != want || p.HasNext || p.HasPrev {
		t.Errorf("%s: %d objects %v (next %v, prev %v), want %d", name, len(p.Objects), seqIDs(p.Objects), p.HasNext, p.HasPrev, want)
	}
}

// testBrowseText: browsing with text, alone and with other filters: every
// word, any case, in any string the object holds (the numbered
// indicators' names and patterns), query syntax taken as words; and keyset
// pages through the full-text index like those by type.
func testBrowseText(t *testing.T, s store.Store) {
	f := newUIFixture(t, s, 30)
	for _, tc := range []struct {
		name string
		b    store.Browse
		want int
	}{
		{"text", store.Browse{Collection: f.c1, Text: "number 7"}, 1},
		{"text any case", store.Browse{Collection: f.c1, Text: "NUMBER 7"}, 1},
		{"every word must occur", store.Browse{Collection: f.c1, Text: "number 7 nothing"}, 0},
		{"address in a pattern", store.Browse{Collection: f.c1, Text: "10.0.0.17"}, 1},
		{"hash in an object", store.Browse{Collection: f.c1, Text: "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"}, 1},
		{"text of another collection", store.Browse{Collection: f.c1, Text: "secret"}, 0},
		{"text in the other collection", store.Browse{Collection: f.c2, Text: "10.0.0.1"}, 1},
		{"query syntax", store.Browse{Collection: f.c1, Text: `" OR * NEAR(`}, 0},
		{"operators are words", store.Browse{Collection: f.c1, Text: `number & !7 | 8`}, 0},
		{"no word", store.Browse{Collection: f.c1, Text: `* ( )`}, 0},
		{"nul", store.Browse{Collection: f.c1, Text: "number\x007"}, 1},
		{"text and marking", store.Browse{Collection: f.c1, Text: "ipv4-addr", Markings: []string{green}}, 20},
	} {
		checkBrowse(t, s, tc.name, tc.b, tc.want)
	}
	// Pages through the full-text index, alone and with a marking.
	for _, b := range []store.Browse{
		{Collection: f.c1, Text: "number", Limit: 10},
		{Collection: f.c1, Text: "ipv4-addr", Markings: []string{green}, Limit: 4},
	} {
		seen, pages := browseForward(t, s, b)
		want := map[string]int{"number": 30, "ipv4-addr": 20}[b.Text]
		if len(seen) != want || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != want || len(pages) != (want+b.Limit-1)/b.Limit || pages[0].HasPrev {
			t.Fatalf("text %q: %d objects in %d pages (%v), want %d", b.Text, len(seen), len(pages), seen, want)
		}
		for i, p := range pages[1:] {
			if !p.HasPrev {
				t.Errorf("text %q: page %d without HasPrev", b.Text, i+1)
			}
		}
		last, prev := pages[len(pages)-1], pages[len(pages)-2]
		b.After, b.Before = 0, last.Objects[0].Seq
		p, err := s.BrowseObjects(ctx, b)
		must(t, err)
		if fmt.Sprint(seqIDs(p.Objects)) != fmt.Sprint(seqIDs(prev.Objects)) || p.HasPrev != (len(pages) > 2) || !p.HasNext {
			t.Fatalf("text %q: back from the last page: %v, prev %v next %v; want %v", b.Text, seqIDs(p.Objects), p.HasPrev, p.HasNext, seqIDs(prev.Objects))
		}
	}
}

// testBrowseInvalid: a limit outside 1..MaxBrowseLimit, or both cursors,
// is ErrInvalid.
func testBrowseInvalid(t *testing.T, s store.Store) {
	for _, b := range []store.Browse{
		{Collection: "c1", Limit: 0},
		{Collection: "c1", Limit: store.MaxBrowseLimit + 1},
		{Collection: "c1", Limit: 10, After: 1, Before: 5},
	} {
		if _, err := s.BrowseObjects(ctx, b); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", b, err)
		}
	}
	if _, err := s.BrowseObjects(ctx, store.Browse{Collection: "c1", Limit: store.MaxBrowseLimit}); err != nil {
		t.Errorf("the largest limit: %v", err)
	}
}

// testUIText: every word of the text must occur (case-insensitive), in
// names and descriptions, latest versions only, within the collections
// given; text with no word matches nothing and is not an error.
func testUIText(t *testing.T, s store.Store) {
	f := newUIFixture(t, s, 3)
	for _, o := range []struct{ coll, id, name, desc string }{
		{f.c1, "indicator--t1", "Phishing campaign against harbour authority", "Spear phishing emails carrying invoices"},
		{f.c1, "indicator--t2", "Harbour ransomware", "Ransomware seen at the harbour"},
		{f.c1, "malware--t3", "Invoice stealer", "Steals payment details from accountants"},
		{f.c2, "indicator--t4", "Harbour phishing", "Confidential"},
	} {
		m := f.a
		if o.coll == f.c2 {
			m = f.b
		}
		put(t, s, o.coll, m, o.id, "indicator", base, fmt.Sprintf(`{"description":%q,"id":%q,"name":%q,"type":"indicator"}`, o.desc, o.id, o.name))
	}
	c1, both := []string{f.c1}, []string{f.c1, f.c2}
	for _, tc := range []struct {
		colls []string
		text  string
		limit int
		want  []string
	}{
		{c1, "harbour", 10, []string{"indicator--t1", "indicator--t2"}},
		{c1, "HARBOUR Phishing", 10, []string{"indicator--t1"}},
		{c1, "phishing ransomware", 10, nil},
		{c1, "accountants", 10, []string{"malware--t3"}},
		{both, "phishing", 10, []string{"indicator--t1", "indicator--t4"}},
		{c1, "confidential", 10, nil},
		{c1, "harbour", 1, []string{"indicator--t1"}},
		{c1, "submarine", 10, nil},
		{c1, "", 10, nil},
		{c1, `" OR * NEAR( :`, 10, nil},
		// Operators of either engine's query language are words too.
		{c1, `harbour & !phishing | ransomware`, 10, nil},
		{c1, `harbour -phishing`, 10, []string{"indicator--t1"}},
		{c1, "harbour\x00phishing", 10, []string{"indicator--t1"}},
		{nil, "harbour", 10, nil},
		{[]string{"nope"}, "harbour", 10, nil},
	} {
		got, more, err := s.TextObjects(ctx, tc.colls, tc.text, store.Bound{Rows: tc.limit})
		if err != nil {
			t.Errorf("TextObjects(%v, %q): %v", tc.colls, tc.text, err)
			continue
		}
		if fmt.Sprint(seqIDs(got)) != fmt.Sprint(tc.want) {
			t.Errorf("TextObjects(%v, %q, %d) = %v, want %v", tc.colls, tc.text, tc.limit, seqIDs(got), tc.want)
		}
		if wantMore := tc.limit == 1 && tc.text == "harbour"; more != wantMore {
			t.Errorf("TextObjects(%v, %q, %d): more %v", tc.colls, tc.text, tc.limit, more)
		}
	}
	p, err := s.BrowseObjects(ctx, store.Browse{Collection: f.c1, Text: "harbour", Limit: 10})
	if err != nil || fmt.Sprint(seqIDs(p.Objects)) != "[indicator--t1 indicator--t2]" {
		t.Errorf("browse with text: %v, %v", seqIDs(p.Objects), err)
	}
	p, err = s.BrowseObjects(ctx, store.Browse{Collection: f.c1, Text: "harbour", Types: []string{"malware"}, Limit: 10})
	if err != nil || len(p.Objects) != 0 {
		t.Errorf("browse with text and type: %v, %v", seqIDs(p.Objects), err)
	}
	if p, err = s.BrowseObjects(ctx, store.Browse{Collection: f.c1, Text: `" OR * NEAR(`, Limit: 10}); err != nil || len(p.Objects) != 0 {
		t.Errorf("browse with punctuation: %v, %v", seqIDs(p.Objects), err)
	}
	// A new version without the word: the object no longer matches.
	put(t, s, f.c1, f.a, "indicator--t2", "indicator", base.Add(time.Hour), `{"id":"indicator--t2","name":"Ransomware at the port","type":"indicator"}`)
	if got, _, err := s.TextObjects(ctx, c1, "harbour", store.Bound{Rows: 10}); err != nil || fmt.Sprint(seqIDs(got)) != "[indicator--t1]" {
		t.Errorf("after a new version of t2: %v, %v", seqIDs(got), err)
	}
	if got, _, err := s.TextObjects(ctx, c1, "port", store.Bound{Rows: 10}); err != nil || fmt.Sprint(seqIDs(got)) != "[indicator--t2]" || !got[0].Version.Equal(base.Add(time.Hour)) {
		t.Errorf("the new version's words: %v, %v", seqIDs(got), err)
	}
}

// testUILookups: stats, recent, versions, latest and referencing, each
// within the given collections only.
func testUILookups(t *testing.T, s store.Store) {
	f := newUIFixture(t, s, 3)
	refs, more, err := s.Referencing(ctx, []string{f.c1}, "indicator--00000001", store.Bound{Rows: 10})
	if err != nil || fmt.Sprint(seqIDs(refs)) != "[relationship--r sighting--s]" || more {
		t.Fatalf("Referencing: %v %v %v", seqIDs(refs), more, err)
	}
	if refs, more, err = s.Referencing(ctx, []string{f.c1}, "indicator--00000001", store.Bound{Rows: 1}); err != nil || len(refs) != 1 || !more {
		t.Fatalf("Referencing with limit 1: %v %v %v", seqIDs(refs), more, err)
	}
	if refs, _, err = s.Referencing(ctx, []string{f.c1}, "malware--m", store.Bound{Rows: 10}); err != nil || fmt.Sprint(seqIDs(refs)) != "[relationship--r]" {
		t.Fatalf("Referencing the target: %v %v", seqIDs(refs), err)
	}
	if refs, _, err = s.Referencing(ctx, []string{f.c2}, "indicator--00000001", store.Bound{Rows: 10}); err != nil || len(refs) != 0 {
		t.Fatalf("Referencing in c2: %v %v", seqIDs(refs), err)
	}
	st, err := s.CollectionStats(ctx, []string{f.c1, f.c2, "nope"})
	if err != nil || len(st) != 2 {
		t.Fatalf("CollectionStats: %+v %v", st, err)
	}
	slices.SortFunc(st, func(a, b store.CollectionStats) int { return strings.Compare(a.Collection, b.Collection) })
	if st[0].Collection != f.c1 || st[0].Objects != 7 || st[0].Versions != 7 || st[1].Objects != 1 ||
		st[0].LastAdded.Before(f.before) || st[0].LastAdded.After(f.after) {
		t.Fatalf("CollectionStats: %+v", st)
	}
	rec, err := s.RecentObjects(ctx, []string{f.c1}, store.Bound{Rows: 2})
	if err != nil || len(rec) != 2 || rec[0].ID != "indicator--pdq" || rec[1].ID != "file--f" {
		t.Fatalf("RecentObjects: %v, %v", seqIDs(rec), err)
	}
	// Versions, oldest first, also when they arrive out of order; stats
	// count them.
	v3 := obj("indicator--00000002", base.Add(2*time.Hour), 3)
	v2 := obj("indicator--00000002", base.Add(time.Hour), 2)
	submit(t, s, f.c1, f.b, v3)
	submit(t, s, f.c1, f.b, v2)
	vs, more, err := s.ObjectVersions(ctx, []string{f.c1}, "indicator--00000002", store.Bound{})
	if err != nil || len(vs) != 3 || more || !vs[0].Version.Equal(base) || !vs[1].Version.Equal(v2.Version) || !vs[2].Version.Equal(v3.Version) {
		t.Fatalf("ObjectVersions: %+v %v", vs, err)
	}
	// The newest two, still oldest first, and word of the one left out.
	if two, more, err := s.ObjectVersions(ctx, []string{f.c1}, "indicator--00000002", store.Bound{Rows: 2}); err != nil || len(two) != 2 || !more ||
		!two[0].Version.Equal(v2.Version) || !two[1].Version.Equal(v3.Version) {
		t.Fatalf("ObjectVersions, newest two: %+v %v %v", two, more, err)
	}
	if none, _, err := s.ObjectVersions(ctx, []string{f.c2}, "indicator--00000002", store.Bound{}); err != nil || len(none) != 0 {
		t.Fatalf("ObjectVersions in c2: %+v %v", none, err)
	}
	rec, err = s.RecentObjects(ctx, []string{f.c1, f.c2}, store.Bound{Rows: 3})
	if err != nil || len(rec) != 3 || !rec[0].Version.Equal(v2.Version) || !rec[1].Version.Equal(v3.Version) || rec[2].ID != "indicator--secret" {
		t.Fatalf("RecentObjects, newest first: %v, %v", seqIDs(rec), err)
	}
	if st, err = s.CollectionStats(ctx, []string{f.c1}); err != nil || len(st) != 1 || st[0].Objects != 7 || st[0].Versions != 9 {
		t.Fatalf("CollectionStats after new versions: %+v %v", st, err)
	}
	lo, more, err := s.LatestObjects(ctx, []string{f.c1, f.c2}, []string{"indicator--00000002", "file--f", "indicator--secret", "indicator--nope"}, store.Bound{})
	if err != nil || more || fmt.Sprint(seqIDs(lo)) != "[file--f indicator--secret indicator--00000002]" || !lo[2].Version.Equal(v3.Version) {
		t.Fatalf("LatestObjects: %v %v", seqIDs(lo), err)
	}
	if lo, _, err = s.LatestObjects(ctx, []string{f.c1}, []string{"indicator--secret"}, store.Bound{}); err != nil || len(lo) != 0 {
		t.Fatalf("LatestObjects of c2's object in c1: %v %v", seqIDs(lo), err)
	}
	// An object in two collections is one per collection (the copy, of
	// the first version, is the same bytes: ids are owned across
	// collections).
	put(t, s, f.c2, f.b, vs[0].ID, vs[0].Type, vs[0].Version, string(vs[0].Raw))
	if lo, _, err = s.LatestObjects(ctx, []string{f.c1, f.c2}, []string{"indicator--00000002"}, store.Bound{}); err != nil || len(lo) != 2 || lo[0].Collection == lo[1].Collection {
		t.Fatalf("LatestObjects in two collections: %+v %v", lo, err)
	}
}

// testUIPDQ: the PDQ hashes of files and PDQ indicators, latest versions,
// within the collections given, newest first: a limit keeps the newest
// (a look-up finds a hash just shared, however many came before).
func testUIPDQ(t *testing.T, s store.Store) {
	f := newUIFixture(t, s, 3)
	hashes, more, err := s.PDQHashes(ctx, []string{f.c1}, 10)
	if err != nil || len(hashes) != 2 || more || hashes[0].Seq <= hashes[1].Seq ||
		hashes[1].Hash != "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22" || hashes[0].Hash != "0000f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22" {
		t.Fatalf("PDQHashes: %v %v %v", hashes, more, err)
	}
	if one, more, err := s.PDQHashes(ctx, []string{f.c1}, 1); err != nil || len(one) != 1 || !more || one[0] != hashes[0] {
		t.Fatalf("PDQHashes, at most one: %v %v %v", one, more, err)
	}
	// In the order asked for, each once.
	objs, more, err := s.ObjectsAt(ctx, []string{f.c1}, []int64{hashes[0].Seq, hashes[1].Seq, hashes[0].Seq}, store.Bound{})
	if err != nil || more || len(objs) != 2 || objs[0].ID != "indicator--pdq" || objs[1].ID != "file--f" || objs[1].Seq != hashes[1].Seq {
		t.Fatalf("ObjectsAt the hashes' seqs: %v %v %v", seqIDs(objs), more, err)
	}
	if objs, _, err = s.ObjectsAt(ctx, []string{f.c2}, []int64{hashes[0].Seq}, store.Bound{}); err != nil || len(objs) != 0 {
		t.Fatalf("ObjectsAt in a collection not holding it: %v %v", seqIDs(objs), err)
	}
	if hashes, _, err = s.PDQHashes(ctx, []string{f.c2}, 10); err != nil || len(hashes) != 0 {
		t.Fatalf("PDQHashes in c2: %v %v", hashes, err)
	}
	// A pattern comparing file:hashes.PDQ counts too.
	const h = "1111f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
	put(t, s, f.c2, f.b, "indicator--pat", "indicator", base, `{"id":"indicator--pat","pattern":"[file:hashes.PDQ = '`+h+`']","pattern_type":"stix","type":"indicator"}`)
	if hashes, _, err = s.PDQHashes(ctx, []string{f.c2}, 10); err != nil || len(hashes) != 1 || hashes[0].Hash != h {
		t.Fatalf("PDQHashes of a pattern: %v %v", hashes, err)
	}
}

// testUIBounds: every UI query that returns objects stops at its Bound's
// bytes (at least one object, then only what fits) and says so, in the
// order it returns; a browse page cut by MaxBytes pages on from there.
func testUIBounds(t *testing.T, s store.Store) {
	f, ids := newBulkyFixture(t, s)
	c1 := []string{f.c1}
	two := store.Bound{Bytes: 2500}
	objs, more, err := s.LatestObjects(ctx, c1, ids, two)
	checkBound(t, "LatestObjects", two, objs, more, err, 2, true)
	if err == nil && fmt.Sprint(seqIDs(objs)) != "[indicator--b0 indicator--b1]" {
		t.Errorf("LatestObjects within bytes: %v, want the first two in seq order", seqIDs(objs))
	}
	for _, tc := range []struct {
		b        store.Bound
		n        int
		wantMore bool
	}{
		{store.Bound{Bytes: 1}, 1, true},
		{store.Bound{Bytes: 1 << 20}, 5, false},
		{store.Bound{Rows: 4, Bytes: 1 << 20}, 4, true},
		{store.Bound{Rows: 1, Bytes: 2500}, 1, true},
		{store.Bound{Rows: 5}, 5, false},
	} {
		objs, more, err := s.LatestObjects(ctx, c1, ids, tc.b)
		checkBound(t, fmt.Sprintf("LatestObjects within %+v", tc.b), tc.b, objs, more, err, tc.n, tc.wantMore)
	}
	objs, more, err = s.Referencing(ctx, c1, "malware--anchor", two)
	checkBound(t, "Referencing", two, objs, more, err, 2, true)
	objs, more, err = s.ObjectVersions(ctx, c1, "malware--anchor", two)
	checkBound(t, "ObjectVersions", two, objs, more, err, 2, true)
	if err == nil && len(objs) == 2 && (!objs[0].Version.Equal(base.Add(3*time.Hour)) || !objs[1].Version.Equal(base.Add(4*time.Hour))) {
		t.Errorf("ObjectVersions within bytes: %v, %v; want the newest two, oldest first", objs[0].Version, objs[1].Version)
	}
	// RecentObjects doesn't say whether there are more: its list is the
	// newest, which there always may be.
	objs, err = s.RecentObjects(ctx, c1, store.Bound{Rows: 10, Bytes: 2500})
	checkBound(t, "RecentObjects", two, objs, false, err, 2, false)
	var seqs []int64
	for _, id := range ids {
		o, _, err := s.LatestObjects(ctx, c1, []string{id}, store.Bound{})
		must(t, err)
		seqs = append(seqs, o[0].Seq)
	}
	slices.Reverse(seqs)
	objs, more, err = s.ObjectsAt(ctx, c1, seqs, two)
	checkBound(t, "ObjectsAt", two, objs, more, err, 2, true)
	if err == nil && len(objs) == 2 && (objs[0].ID != "indicator--b4" || objs[1].ID != "indicator--b3") {
		t.Errorf("ObjectsAt within bytes: %v, want the first two asked for, in that order", []string{objs[0].ID, objs[1].ID})
	}

	// Browsing pages within the bytes, forward to the end and back again
	// (the fixture's small PDQ indicator comes first).
	b := store.Browse{Collection: f.c1, Types: []string{"indicator"}, Limit: 100, MaxBytes: 2500}
	seen, pages := browseForward(t, s, b)
	if fmt.Sprint(seen) != fmt.Sprint(append([]string{"indicator--pdq"}, ids...)) || len(pages) != 3 || !pages[1].HasPrev {
		t.Fatalf("browsing by bytes: %v in %d pages", seen, len(pages))
	}
	b.Before = pages[2].Objects[0].Seq
	p, err := s.BrowseObjects(ctx, b)
	if err != nil || fmt.Sprint(seqIDs(p.Objects)) != "[indicator--b2 indicator--b3]" || !p.HasPrev || !p.HasNext {
		t.Errorf("browsing back by bytes: %v %+v %v", seqIDs(p.Objects), p, err)
	}
}

// testUITextBounds: TextObjects stops at its Bound as the other queries
// do (apart, as it needs full-text search).
func testUITextBounds(t *testing.T, s store.Store) {
	f, _ := newBulkyFixture(t, s)
	two := store.Bound{Bytes: 2500}
	objs, more, err := s.TextObjects(ctx, []string{f.c1}, "bulky", two)
	checkBound(t, "TextObjects", two, objs, more, err, 2, true)
	if err == nil && fmt.Sprint(seqIDs(objs)) != "[indicator--b0 indicator--b1]" {
		t.Errorf("TextObjects within bytes: %v, want the first two in seq order", seqIDs(objs))
	}
	all := store.Bound{Rows: 5, Bytes: 1 << 20}
	objs, more, err = s.TextObjects(ctx, []string{f.c1}, "bulky", all)
	checkBound(t, "TextObjects within enough", all, objs, more, err, 5, false)
}

// newBulkyFixture adds to a UI fixture without numbered indicators five
// indicators of about 1,100 bytes of raw JSON, each with the word "bulky"
// and a relationship of about the same size to malware--anchor, which
// has five versions of about the same size.
func newBulkyFixture(t *testing.T, s store.Store) (uiFixture, []string) {
	f := newUIFixture(t, s, 0)
	pad := strings.Repeat("x", 1000)
	var ids []string
	for i := range 5 {
		id := fmt.Sprintf("indicator--b%d", i)
		ids = append(ids, id)
		put(t, s, f.c1, f.a, id, "indicator", base, fmt.Sprintf(`{"description":"bulky %s","id":%q,"name":"bulky","type":"indicator"}`, pad, id))
		rid := fmt.Sprintf("relationship--b%d", i)
		put(t, s, f.c1, f.a, rid, "relationship", base, fmt.Sprintf(`{"description":%q,"id":%q,"relationship_type":"indicates","source_ref":%q,"target_ref":"malware--anchor","type":"relationship"}`, pad, rid, id))
		put(t, s, f.c1, f.a, "malware--anchor", "malware", base.Add(time.Duration(i)*time.Hour), fmt.Sprintf(`{"description":%q,"id":"malware--anchor","modified":"%d","type":"malware"}`, pad, i))
	}
	return f, ids
}

// checkBound checks what a query within b returned: n objects, within
// b.Bytes when more than one, and more as wanted.
func checkBound(t *testing.T, name string, b store.Bound, objs []store.Object, more bool, err error, n int, wantMore bool) {
	t.Helper()
	var total int64
	for _, o := range objs {
		total += int64(len(o.Raw))
	}
	if err != nil || len(objs) != n || more != wantMore || n > 1 && b.Bytes > 0 && total > b.Bytes {
		t.Errorf("%s: %d objects of %d bytes, more %v, err %v; want %d, more %v", name, len(objs), total, more, err, n, wantMore)
	}
}

// testUIValues: an exact value is found through the value index however
// many objects mention its words, in the given collections only, in its
// latest version only, as a whole value (not a part of a longer one),
// whatever its case.
func testUIValues(t *testing.T, s store.Store) {
	f := newUIFixture(t, s, 3)
	var items []store.Item
	for i := range 40 {
		id := fmt.Sprintf("indicator--w%07d", i)
		raw := fmt.Sprintf(`{"description":"buried example %d","id":%q,"type":"indicator"}`, i, id)
		items = append(items, store.Item{Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: base, Signed: true, Raw: []byte(raw)},
			Salt: make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return []byte(raw), nil }})
	}
	_, err := s.Submit(ctx, store.Submission{StatusID: fmt.Sprint("st-", statusN.Add(1)), Collection: f.c1, Member: f.a.ID, Received: base, Items: items})
	must(t, err)
	put(t, s, f.c1, f.a, "indicator--v1", "indicator", base, `{"id":"indicator--v1","pattern":"[domain-name:value = 'Buried.Example']","type":"indicator"}`)
	put(t, s, f.c1, f.a, "indicator--v2", "indicator", base, `{"id":"indicator--v2","pattern":"[domain-name:value = 'sub.buried.example'] OR [url:value = 'https://buried.example/x']","type":"indicator"}`)
	put(t, s, f.c2, f.b, "indicator--v3", "indicator", base, `{"id":"indicator--v3","name":"buried.example","pattern":"[ipv4-addr:value = '198.51.100.7']","type":"indicator"}`)
	put(t, s, f.c1, f.a, "indicator--v4", "indicator", base, `{"id":"indicator--v4","pattern":"[ipv4-addr:value = '198.51.100.7']","type":"indicator"}`)
	put(t, s, f.c1, f.a, "indicator--v4", "indicator", base.Add(time.Hour), `{"id":"indicator--v4","pattern":"[ipv4-addr:value = '198.51.100.8']","type":"indicator"}`)
	c1, both := []string{f.c1}, []string{f.c1, f.c2}
	for _, tc := range []struct {
		colls []string
		value string
		limit int
		want  []string
	}{
		{c1, "buried.example", 10, []string{"indicator--v1"}},
		{both, "buried.example", 10, []string{"indicator--v1", "indicator--v3"}},
		{c1, "sub.buried.example", 10, []string{"indicator--v2"}},
		{c1, "https://buried.example/x", 10, []string{"indicator--v2"}},
		{c1, "uried.example", 10, nil},
		{c1, "example", 10, nil},      // not an exact value
		{c1, "198.51.100.7", 10, nil}, // in an older version only; c2 not given
		{both, "198.51.100.7", 10, []string{"indicator--v3"}},
		{c1, "198.51.100.8", 10, []string{"indicator--v4"}},
		{c1, "10.0.0.1", 10, []string{"indicator--00000001"}},
		{c1, "10.0.0.1", 0, []string{"indicator--00000001"}},
		{both, "buried.example", 1, []string{"indicator--v1"}},
		{nil, "buried.example", 10, nil},
		{[]string{"nope"}, "buried.example", 10, nil},
	} {
		got, more, err := s.ValueObjects(ctx, tc.colls, tc.value, store.Bound{Rows: tc.limit})
		if err != nil {
			t.Errorf("ValueObjects(%v, %q): %v", tc.colls, tc.value, err)
			continue
		}
		if fmt.Sprint(seqIDs(got)) != fmt.Sprint(tc.want) {
			t.Errorf("ValueObjects(%v, %q, %d) = %v, want %v", tc.colls, tc.value, tc.limit, seqIDs(got), tc.want)
		}
		if wantMore := tc.limit == 1; more != wantMore {
			t.Errorf("ValueObjects(%v, %q, %d): more %v", tc.colls, tc.value, tc.limit, more)
		}
	}
}

// testUITextOrder: TextObjects over several collections gives the latest
// versions of the matches in seq order, interleaving the collections,
// and for any row limit the first of those and whether more are left; a
// superseded version is no match, and a new version takes its place in
// seq order.
func testUITextOrder(t *testing.T, s store.Store) {
	m := member("tides")
	must(t, s.AddMember(ctx, m))
	colls := []string{"tide-a", "tide-b", "tide-c"}
	for _, c := range colls {
		must(t, s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{m.ID}, Writers: []string{m.ID}}))
	}
	version := func(id string, v time.Time, words string) store.Object {
		return store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: v, Signed: true,
			Raw: fmt.Appendf(nil, `{"id":%q,"modified":%q,"name":%q,"type":"indicator"}`, id, store.FormatTime(v), words)}
	}
	// 12 matches and 4 others, in turn over the collections; then new
	// versions of two matches (one no longer matching) and of one other
	// (now matching).
	for i := range 16 {
		words := "spring tide"
		if i%4 == 3 {
			words = "neap"
		}
		submit(t, s, colls[i%3], m, version(fmt.Sprintf("indicator--tide-%02d", i), base, words))
	}
	submit(t, s, colls[0], m, version("indicator--tide-00", base.Add(time.Hour), "spring tide again"))
	submit(t, s, colls[1], m, version("indicator--tide-01", base.Add(time.Hour), "calm"))
	submit(t, s, colls[2], m, version("indicator--tide-11", base.Add(time.Hour), "king tide"))
	want := []string{"indicator--tide-02", "indicator--tide-04", "indicator--tide-05", "indicator--tide-06", "indicator--tide-08",
		"indicator--tide-09", "indicator--tide-10", "indicator--tide-12", "indicator--tide-13", "indicator--tide-14",
		"indicator--tide-00", "indicator--tide-11"}
	for rows := 1; rows <= len(want)+1; rows++ {
		got, more, err := s.TextObjects(ctx, colls, "tide", store.Bound{Rows: rows})
		if err != nil {
			t.Fatalf("TextObjects(%d rows): %v", rows, err)
		}
		n := min(rows, len(want))
		if fmt.Sprint(seqIDs(got)) != fmt.Sprint(want[:n]) || more != (rows < len(want)) {
			t.Errorf("TextObjects(%d rows) = %v, more %v; want %v, more %v", rows, seqIDs(got), more, want[:n], rows < len(want))
		}
		for i := 1; i < len(got); i++ {
			if got[i].Seq <= got[i-1].Seq {
				t.Errorf("TextObjects(%d rows): seq %d after %d", rows, got[i].Seq, got[i-1].Seq)
			}
		}
	}
	// One collection, and a word only some hold.
	got, more, err := s.TextObjects(ctx, colls[1:2], "spring", store.Bound{Rows: 2})
	if err != nil || fmt.Sprint(seqIDs(got)) != "[indicator--tide-04 indicator--tide-10]" || !more {
		t.Errorf("TextObjects(%s, spring, 2 rows) = %v, more %v, %v", colls[1], seqIDs(got), more, err)
	}
}

// testBrowsePositions: AddedAfter and AddedBefore, cursors by the
// date_added of a page's last or first object, page exactly as After
// and Before by its Seq, with the same HasNext and HasPrev; a position
// past the collection's last addition is an empty page after the others,
// one before its first the first page.
func testBrowsePositions(t *testing.T, s store.Store) {
	f := newUIFixture(t, s, 25)
	b := store.Browse{Collection: f.c1, Types: []string{"indicator"}, Limit: 10}
	_, bySeq := browseForward(t, s, b)
	if len(bySeq) != 3 {
		t.Fatalf("%d pages, want 3", len(bySeq))
	}
	page := func(b store.Browse) store.BrowsePage {
		t.Helper()
		p, err := s.BrowseObjects(ctx, b)
		must(t, err)
		return p
	}
	same := func(what string, got, want store.BrowsePage) {
		t.Helper()
		if fmt.Sprint(seqIDs(got.Objects)) != fmt.Sprint(seqIDs(want.Objects)) || got.HasNext != want.HasNext || got.HasPrev != want.HasPrev {
			t.Errorf("%s: %v next %v prev %v; want %v next %v prev %v", what, seqIDs(got.Objects), got.HasNext, got.HasPrev,
				seqIDs(want.Objects), want.HasNext, want.HasPrev)
		}
	}
	for i := range len(bySeq) - 1 {
		fwd, back := b, b
		fwd.AddedAfter = bySeq[i].Objects[len(bySeq[i].Objects)-1].DateAdded
		same(fmt.Sprintf("after page %d", i), page(fwd), bySeq[i+1])
		back.AddedBefore = bySeq[i+1].Objects[0].DateAdded
		want := bySeq[i]
		want.HasNext = true
		same(fmt.Sprintf("before page %d", i+1), page(back), want)
	}
	all := page(store.Browse{Collection: f.c1, Limit: 100})
	first, last := all.Objects[0].DateAdded, all.Objects[len(all.Objects)-1].DateAdded
	past := b
	past.AddedAfter = last
	if p := page(past); len(p.Objects) != 0 || p.HasNext || !p.HasPrev {
		t.Errorf("after the last addition: %v next %v prev %v; want nothing, prev", seqIDs(p.Objects), p.HasNext, p.HasPrev)
	}
	past.AddedAfter = last.Add(time.Hour)
	if p := page(past); len(p.Objects) != 0 || p.HasNext || !p.HasPrev {
		t.Errorf("an hour after the last addition: %v next %v prev %v; want nothing, prev", seqIDs(p.Objects), p.HasNext, p.HasPrev)
	}
	before := b
	before.AddedAfter = first.Add(-time.Hour)
	same("after an hour before the first addition", page(before), bySeq[0])
	before.AddedAfter, before.AddedBefore = time.Time{}, first
	if p := page(before); len(p.Objects) != 0 || p.HasPrev {
		t.Errorf("before the first addition: %v prev %v; want nothing", seqIDs(p.Objects), p.HasPrev)
	}
	// Before a position past the last addition: the last Limit objects.
	before.AddedBefore = last.Add(time.Hour)
	back := b
	back.Before = math.MaxInt64
	same("before an hour after the last addition", page(before), page(back))
	if p := page(before); len(p.Objects) != 10 || p.Objects[9].ID != bySeq[2].Objects[len(bySeq[2].Objects)-1].ID {
		t.Errorf("before an hour after the last addition: %v, want the last 10", seqIDs(p.Objects))
	}
	for _, bad := range []store.Browse{
		{Collection: f.c1, Limit: 10, After: 1, AddedAfter: first},
		{Collection: f.c1, Limit: 10, Before: 5, AddedBefore: first},
		{Collection: f.c1, Limit: 10, AddedAfter: first, AddedBefore: last},
	} {
		if _, err := s.BrowseObjects(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("two cursors: %v, want ErrInvalid", err)
		}
	}
}

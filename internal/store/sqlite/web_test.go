package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// webStore is a store with members a and b, collections c1 (both) and c2
// (b only), and n indicators in c1 whose names number them.
func webStore(t testing.TB, n int) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, m := range []string{"identity--a", "identity--b"} {
		if err := s.AddMember(ctx, store.Member{ID: m, Name: m, Identity: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []store.Collection{
		{ID: "c1", Title: "c1", Readers: []string{"identity--a", "identity--b"}, Writers: []string{"identity--a", "identity--b"}},
		{ID: "c2", Title: "c2", Readers: []string{"identity--b"}, Writers: []string{"identity--b"}},
	} {
		if err := s.AddCollection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	var items []store.Item
	flush := func(coll, member string) {
		if len(items) == 0 {
			return
		}
		if _, err := s.Submit(ctx, store.Submission{StatusID: fmt.Sprint("st-", coll, len(items), items[0].Object.ID), Collection: coll, Member: member, Received: t0, Items: items}); err != nil {
			t.Fatal(err)
		}
		items = nil
	}
	add := func(id, typ, raw string) {
		items = append(items, store.Item{
			Object: store.Object{ID: id, Type: typ, SpecVersion: "2.1", Version: t0, Signed: true, Raw: []byte(raw)},
			Salt:   make([]byte, 32),
			Entry:  func(store.Object) ([]byte, error) { return []byte(raw), nil },
		})
	}
	for i := range n {
		member := "identity--a"
		if i%2 == 1 {
			member = "identity--b"
		}
		marking := `"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"`
		if i%3 == 0 {
			marking = `"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"`
		}
		id := fmt.Sprintf("indicator--%08d", i)
		add(id, "indicator", fmt.Sprintf(`{"id":%q,"name":"number %d","object_marking_refs":[%s],"pattern":"[ipv4-addr:value = '10.0.%d.%d']","type":"indicator"}`, id, i, marking, i/256, i%256))
		if len(items) == 500 || i == n-1 {
			flush("c1", member)
		}
	}
	add("relationship--r", "relationship", `{"id":"relationship--r","relationship_type":"indicates","source_ref":"indicator--00000001","target_ref":"malware--m","type":"relationship"}`)
	add("file--f", "file", `{"hashes":{"PDQ":"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"},"id":"file--f","type":"file"}`)
	add("indicator--pdq", "indicator", `{"id":"indicator--pdq","pattern":"0000f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22","pattern_type":"pdq","type":"indicator"}`)
	flush("c1", "identity--a")
	add("indicator--secret", "indicator", `{"id":"indicator--secret","name":"hidden secret","pattern":"[ipv4-addr:value = '10.0.0.1']","type":"indicator"}`)
	flush("c2", "identity--b")
	return s
}

func TestFTSQuery(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"evil.example":   `"evil.example"`,
		`a"b c`:          `"a""b" "c"`,
		"* ( )":          "",
		"  NEAR  OR x  ": `"NEAR" "OR" "x"`,
	} {
		if got := FTSQuery(in); got != want {
			t.Errorf("FTSQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzFTSQuery: whatever an analyst types, the full-text query built
// from it is valid FTS5 syntax (the browse never fails on it).
func FuzzFTSQuery(f *testing.F) {
	for _, s := range []string{"evil.example", `" OR * NEAR(`, "a\"b", "^x", "col:val", "-x +y", "AND OR NOT", "\x00"} {
		f.Add(s)
	}
	s := webStore(f, 3)
	f.Fuzz(func(t *testing.T, text string) {
		if _, err := s.BrowseObjects(context.Background(), store.Browse{Collection: "c1", Text: text, Limit: 5}); err != nil {
			t.Fatalf("%q (FTS %q): %v", text, FTSQuery(text), err)
		}
	})
}

// TestWebIndexesFollowDeletes: rows deleted behind the node's back (an
// operator rewriting history) leave no index rows that a reused seq
// would collide with.
func TestWebIndexesFollowDeletes(t *testing.T) {
	ctx := context.Background()
	s := webStore(t, 3)
	w, _ := s.DB()
	if _, err := w.Exec(`DELETE FROM objects WHERE seq = (SELECT max(seq) FROM objects)`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"c1", "c2"} {
		var n int
		if err := w.QueryRow(`SELECT count(*) FROM ` + uiTextTable(c) + ` WHERE rowid > (SELECT max(seq) FROM objects)`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s's full-text table keeps %d deleted rows (%v)", c, n, err)
		}
	}
	raw := `{"id":"indicator--new","name":"replacement","type":"indicator"}`
	if _, err := s.Submit(ctx, store.Submission{StatusID: "again", Collection: "c2", Member: "identity--b", Received: time.Now(),
		Items: []store.Item{{Object: store.Object{ID: "indicator--new", Type: "indicator", SpecVersion: "2.1", Version: time.Now(), Raw: []byte(raw)},
			Salt: make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return []byte(raw), nil }}}}); err != nil {
		t.Fatalf("a submission reusing the deleted seq: %v", err)
	}
}

// TestUITextRowsAsTrigger: the words Submit indexes (migration 313) are
// the rows the trigger of migration 310 made: one per object version whose
// raw JSON is valid, rowid its seq, body the same expression over its raw
// JSON (strings, arrays and objects, numbers, non-ASCII text); none for
// invalid JSON nor for a version already stored.
func TestUITextRowsAsTrigger(t *testing.T) {
	ctx := context.Background()
	s := webStore(t, 20)
	if !s.uiText {
		t.Fatal("the pure-Go driver's store doesn't index words in Submit")
	}
	raws := map[string]string{
		"indicator--u1": `{"aliases":["x","y z"],"description":"désinformation \"quoted\" \u00e9","hashes":{"MD5":"abc","SHA-256":"def"},"id":"indicator--u1","labels":["l1"],"name":"n","pattern":"[file:name = 'a']","type":"indicator","value":12.5}`,
		"note--u2":      `{"explanation":"because","id":"note--u2","opinion":"agree","type":"note"}`,
		"indicator--u3": `{"id":"indicator--u3","name":"broken"`,
		"indicator--u4": `{"id":"indicator--u4","type":"indicator"}`,
	}
	submit := func(status string) {
		var items []store.Item
		for _, id := range []string{"indicator--u1", "note--u2", "indicator--u3", "indicator--u4"} {
			raw := raws[id]
			items = append(items, store.Item{
				Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: time.Date(2026, 9, 16, 0, 0, 0, 0, time.UTC), Raw: []byte(raw)},
				Salt:   make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return []byte(raw), nil },
			})
		}
		if _, err := s.Submit(ctx, store.Submission{StatusID: status, Collection: "c1", Member: "identity--a", Received: time.Now(), Items: items}); err != nil {
			t.Fatal(err)
		}
	}
	submit("u-1")
	submit("u-2") // already stored: no new rows
	w, _ := s.DB()
	var objects, texts, same int
	if err := w.QueryRow(`SELECT count(*) FROM objects WHERE collection = 'c1' AND json_valid(CAST(raw AS TEXT))`).Scan(&objects); err != nil {
		t.Fatal(err)
	}
	text := uiTextTable("c1")
	if err := w.QueryRow(`SELECT count(*) FROM ` + text).Scan(&texts); err != nil {
		t.Fatal(err)
	}
	if err := w.QueryRow(`SELECT count(*) FROM ` + text + ` t JOIN objects o ON o.seq = t.rowid WHERE o.collection = 'c1' AND t.body IS ` + fmt.Sprintf(uiTextBody, "o.raw")).Scan(&same); err != nil {
		t.Fatal(err)
	}
	var all int
	if err := w.QueryRow(`SELECT count(*) FROM objects WHERE json_valid(CAST(raw AS TEXT))`).Scan(&all); err != nil {
		t.Fatal(err)
	}
	// webStore's 20+3 in c1 and 1 in c2; here 3 more with valid JSON in c1.
	if objects != 20+3+3 || all != objects+1 || texts != objects || same != objects {
		t.Fatalf("%d objects with valid JSON in c1 (%d in all), %d rows in its full-text table, %d of them as the trigger made them", objects, all, texts, same)
	}
	var body string
	if err := w.QueryRow(`SELECT t.body FROM ` + text + ` t JOIN objects o ON o.seq = t.rowid WHERE o.object_id = 'indicator--u1'`).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if want := `n désinformation "quoted" é [file:name = 'a'] 12.5 {"MD5":"abc","SHA-256":"def"} ["x","y z"] ["l1"]`; body != want {
		t.Errorf("body %q, want %q", body, want)
	}
	p, err := s.BrowseObjects(ctx, store.Browse{Collection: "c1", Text: "because", Limit: 10})
	if err != nil || len(p.Objects) != 1 || p.Objects[0].ID != "note--u2" {
		t.Fatalf("search: %v %v", p.Objects, err)
	}
}

// TestUITextRepairedAtOpen: object versions stored without their rows in
// their collection's full-text table (by an old build, from before
// migration 313, that opened an upgraded database) are indexed when the
// store is opened again, and a search finds them.
func TestUITextRepairedAtOpen(t *testing.T) {
	ctx := context.Background()
	s := webStore(t, 20)
	w, _ := s.DB()
	var path string
	if err := w.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	text := uiTextTable("c1")
	if _, err := w.Exec(`DELETE FROM ` + text + ` WHERE rowid IN (SELECT seq FROM objects WHERE collection = 'c1' AND object_id IN ('indicator--00000007', 'indicator--00000011'))`); err != nil {
		t.Fatal(err)
	}
	if p, err := s.BrowseObjects(ctx, store.Browse{Collection: "c1", Text: "number 7", Limit: 10}); err != nil || len(p.Objects) != 0 {
		t.Fatalf("before the repair, search found %v (%v)", p.Objects, err)
	}
	s.Close()
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	w2, _ := s2.DB()
	var objects, texts int
	if err := w2.QueryRow(`SELECT count(*) FROM objects WHERE collection = 'c1' AND json_valid(CAST(raw AS TEXT))`).Scan(&objects); err != nil {
		t.Fatal(err)
	}
	if err := w2.QueryRow(`SELECT count(*) FROM ` + text).Scan(&texts); err != nil {
		t.Fatal(err)
	}
	if texts != objects {
		t.Fatalf("after reopening, %d rows in c1's full-text table for %d object versions", texts, objects)
	}
	for _, q := range []string{"number 7", "number 11"} {
		p, err := s2.BrowseObjects(ctx, store.Browse{Collection: "c1", Text: q, Limit: 10})
		if err != nil || len(p.Objects) != 1 {
			t.Errorf("search %q after the repair: %v (%v)", q, p.Objects, err)
		}
	}
}

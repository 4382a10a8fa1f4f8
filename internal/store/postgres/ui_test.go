package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// webStore is a store with members a and b, collections c1 (both) and c2
// (b only), and n indicators in c1 whose names number them.
func webStore(t testing.TB, n int) *Store {
	t.Helper()
	ctx := context.Background()
	s := openTest(t, testURL(t), Options{})
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

func TestExtractIndex(t *testing.T) {
	for _, tc := range []struct {
		name, typ, raw string
		ok             bool
		want           uiIndex
	}{
		{"not json", "indicator", `not JSON`, false, uiIndex{}},
		{"not an object", "indicator", `[1]`, false, uiIndex{}},
		{"text fields in order", "indicator", `{"description":"d","labels":["x","y"],"name":"n","pattern":"p","hashes":{"MD5":"ab"}}`, true,
			uiIndex{text: `n d p {"MD5":"ab"} ["x","y"]`}},
		{"control characters", "note", `{"name":"a\u0000b\tc"}`, true, uiIndex{text: "a b c"}},
		{"markings", "indicator", `{"object_marking_refs":["m1",7,"m2"]}`, true, uiIndex{markings: []string{"m1", "m2"}}},
		{"pdq file", "file", `{"hashes":{"PDQ":"abc"}}`, true, uiIndex{text: `{"PDQ":"abc"}`, pdq: "abc"}},
		{"pdq indicator", "indicator", `{"pattern":"00ff","pattern_type":"pdq"}`, true, uiIndex{text: "00ff", pdq: "00ff"}},
		{"pdq in a pattern", "indicator", `{"pattern":"[file:hashes.PDQ = '` + strings.Repeat("a", 64) + `']"}`, true,
			uiIndex{text: "[file:hashes.PDQ = '" + strings.Repeat("a", 64) + "']", pdq: strings.Repeat("a", 64)}},
		{"no pdq for other types", "note", `{"hashes":{"PDQ":"abc"}}`, true, uiIndex{text: `{"PDQ":"abc"}`}},
		{"relationship", "relationship", `{"source_ref":"a","target_ref":"b","x_ref":"c"}`, true, uiIndex{refs: []string{"a", "b"}}},
		{"sighting", "sighting", `{"sighting_of_ref":"a"}`, true, uiIndex{refs: []string{"a"}}},
		{"opinion", "opinion", `{"opinion":"agree","object_refs":["a",1,"b"]}`, true, uiIndex{text: "agree", opinions: []string{"a", "b"}}},
	} {
		got, ok := extractIndex(store.Object{Type: tc.typ, Raw: []byte(tc.raw)})
		if ok != tc.ok || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
			t.Errorf("%s: extractIndex = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	long := `{"description":"` + strings.Repeat("é", maxIndexedText) + `"}`
	if got, _ := extractIndex(store.Object{Type: "note", Raw: []byte(long)}); len(got.text) > maxIndexedText || !strings.HasPrefix(got.text, "éé") || strings.ContainsRune(got.text, '\uFFFD') {
		t.Errorf("long text: %d bytes", len(got.text))
	}
}

// FuzzSearchText: whatever an analyst types, the browse never fails.
func FuzzSearchText(f *testing.F) {
	for _, s := range []string{"evil.example", `" OR * NEAR(`, "a\"b", "^x", "col:val", "-x +y", "AND OR NOT", "\x00", "a & !b | c <-> d", "'x':*", "\xff\xfe"} {
		f.Add(s)
	}
	s := webStore(f, 3)
	f.Fuzz(func(t *testing.T, text string) {
		if _, err := s.BrowseObjects(context.Background(), store.Browse{Collection: "c1", Text: text, Limit: 5}); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if _, _, err := s.TextObjects(context.Background(), []string{"c1"}, text, store.Bound{Rows: 5}); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
	})
}

// TestSearchLargeText: an object whose text is far over what a tsvector
// holds is stored, and the words of its first maxIndexedText bytes are
// found.
func TestSearchLargeText(t *testing.T) {
	ctx := context.Background()
	s := webStore(t, 0)
	// Distinct three-character words: the largest tsvector per byte.
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b strings.Builder
	b.WriteString("firstword ")
	for i := 0; b.Len() < 2*maxIndexedText; i++ {
		b.WriteString(string([]byte{alnum[i/1296%36], alnum[i/36%36], alnum[i%36], ' '}))
	}
	b.WriteString("lastword")
	raw := fmt.Sprintf(`{"description":%q,"id":"note--big","type":"note"}`, b.String())
	t0 := time.Date(2026, 9, 16, 12, 0, 0, 0, time.UTC)
	if _, err := s.Submit(ctx, store.Submission{StatusID: "big", Collection: "c1", Member: "identity--a", Received: t0,
		Items: []store.Item{{Object: store.Object{ID: "note--big", Type: "note", SpecVersion: "2.1", Version: t0, Signed: true, Raw: []byte(raw)},
			Salt: make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return []byte("{}"), nil }}}}); err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]int{"firstword": 1, "firstword aaa": 1, "lastword": 0} {
		if got, _, err := s.TextObjects(ctx, []string{"c1"}, text, store.Bound{Rows: 10}); err != nil || len(got) != want {
			t.Errorf("TextObjects(%q) = %d objects (%v), want %d", text, len(got), err, want)
		}
	}
}

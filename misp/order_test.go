package misp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// reordered returns ev with its attributes, objects, galaxies and event
// reports in the reverse order, as another MISP instance may list them
// (each stores them in the order it received them).
func reordered(ev *Event) *Event {
	r := *ev
	r.Attribute = slices.Clone(ev.Attribute)
	slices.Reverse(r.Attribute)
	r.Object = slices.Clone(ev.Object)
	slices.Reverse(r.Object)
	r.Galaxy = slices.Clone(ev.Galaxy)
	slices.Reverse(r.Galaxy)
	r.EventReport = slices.Clone(ev.EventReport)
	slices.Reverse(r.EventReport)
	r.Tag = slices.Clone(ev.Tag)
	slices.Reverse(r.Tag)
	return &r
}

// TestReorderedEventSameBytes: each of MISP's test events (misp-stix's and
// PyMISP's, CIRCL's OSINT events among them) with its attributes,
// objects, galaxies, event reports and tags in the reverse order, as
// another MISP instance may list them, converts to the same objects,
// byte for byte, observables included: a re-import of the mirror's copy
// adds nothing. (misp-stix's test event writes circl.lu from a
// domain-ip, resolving to its address, and from other objects without:
// the first written was the event's; the report's labels followed the
// order of the event's tags.)
func TestReorderedEventSameBytes(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := ParseEvents(b)
		if err != nil {
			continue // a mapping document, not events
		}
		for _, ev := range evs {
			n++
			want := map[string]string{}
			for _, raw := range NewConverter(Options{}).Convert(ev).Objects {
				want[idOf(t, raw)] = string(raw)
			}
			got := NewConverter(Options{}).Convert(reordered(ev)).Objects
			if len(got) != len(want) {
				t.Errorf("%s: %d objects, reordered %d", f, len(want), len(got))
			}
			for _, raw := range got {
				if id := idOf(t, raw); want[id] != string(raw) {
					t.Errorf("%s: reordered, %s is\n%s\nnot\n%s", f, id, raw, want[id])
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("%d test events", n)
	}
}

func idOf(t *testing.T, raw []byte) string {
	t.Helper()
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.ID == "" {
		t.Fatalf("no id in %s", raw)
	}
	return v.ID
}

// TestContainerRefsSorted: misp-stix's test event with its attributes,
// objects and galaxies in the reverse order makes the same report, byte
// for byte (its object_refs sorted, a version 4 ms after the event's
// timestamp: imports before wrote the event's order at it), and the same
// SDOs and SROs (TestReorderedEventSameBytes compares the observables
// too).
func TestContainerRefsSorted(t *testing.T) {
	for _, published := range []bool{true, false} {
		ev := testEvent(t)
		ev.Published = Bool(published)
		a := NewConverter(Options{}).Convert(ev)
		b := NewConverter(Options{}).Convert(reordered(ev))
		ga, _ := convertOne(t, ev, Options{})
		c := ga["report--"+ev.UUID]
		if !published {
			c = ga["grouping--"+ev.UUID]
		}
		if c == nil {
			t.Fatal("no report or grouping")
		}
		refs := stringList(c["object_refs"])
		if len(refs) < 10 || !slices.IsSorted(refs) {
			t.Errorf("object_refs %v, want them sorted", refs)
		}
		if !strings.HasSuffix(c["modified"].(string), ".004Z") {
			t.Errorf("modified %v, want 4 ms after the event's timestamp", c["modified"])
		}
		sa, sb := slices.Clone(asStrings(a)), slices.Clone(asStrings(b))
		slices.Sort(sa)
		slices.Sort(sb)
		for _, s := range sa {
			if _, ok := slices.BinarySearch(sb, s); !ok {
				t.Errorf("published %v: reordered, the conversion lacks %s", published, s)
			}
		}
		if len(sa) != len(sb) {
			t.Errorf("published %v: %d objects, reordered %d", published, len(sa), len(sb))
		}
	}
}

func asStrings(r *Result) []string {
	var out []string
	for _, raw := range r.Objects {
		o, err := stix.Parse(raw)
		if err == nil && stix.IsObservable(o.Type) {
			continue
		}
		out = append(out, string(raw))
	}
	return out
}

// TestRelationshipFromPartAndWhole: misp-stix's documented file with its
// pe, both referencing its mutex ("drops"), make one relationship from
// the file (the pe is its extension): the latest dated reference decides
// its description and version, and of equally dated ones the file's own,
// in whatever order MISP lists the objects and references. Equally dated
// with other descriptions, it is a version 3 ms after their date:
// imports before wrote the first listed at it.
func TestRelationshipFromPartAndWhole(t *testing.T) {
	mutex, _ := docObject(t, "mutex")
	for _, tc := range []struct {
		name             string
		fileAt, peAt     Timestamp
		want, wantModify string
	}{
		{"equally dated", 1603642920, 1603642920, "the file's", "2020-10-25T16:22:00.003Z"},
		{"the pe's later", 1603642920, 1603642990, "the pe's", "2020-10-25T16:23:10.000Z"},
		{"the file's later", 1603642990, 1603642920, "the file's", "2020-10-25T16:23:10.000Z"},
	} {
		for _, reverse := range []bool{false, true} {
			ev := peEvent(t, "file with references to pe & pe-section(s)", false)
			ev.Object = append(ev.Object, mutex)
			var file string
			for i := range ev.Object {
				o := &ev.Object[i]
				switch o.Name {
				case "file":
					file = o.UUID
					o.ObjectReference = append(o.ObjectReference, ObjectReference{UUID: "ffffffff-0000-4000-8000-000000000001", ReferencedUUID: mutex.UUID, RelationshipType: "drops", Timestamp: tc.fileAt, Comment: "the file's"})
				case "pe":
					o.ObjectReference = append(o.ObjectReference, ObjectReference{UUID: "00000000-0000-4000-8000-000000000002", ReferencedUUID: mutex.UUID, RelationshipType: "drops", Timestamp: tc.peAt, Comment: "the pe's"})
				}
			}
			if reverse {
				ev = reordered(ev)
			}
			objs, _ := convertOne(t, ev, Options{})
			src := "indicator--" + file
			rel := objs[referenceID(src, "drops", "indicator--"+mutex.UUID)]
			if rel == nil {
				t.Fatalf("%s: no relationship from %s to the mutex", tc.name, src)
			}
			if rel["description"] != tc.want || rel["modified"] != tc.wantModify {
				t.Errorf("%s, reversed %v: description %q modified %v, want %q %s", tc.name, reverse, rel["description"], rel["modified"], tc.want, tc.wantModify)
			}
			if want := ts(max(tc.fileAt, tc.peAt)); rel["created"] != want {
				t.Errorf("%s, reversed %v: created %v, want %s", tc.name, reverse, rel["created"], want)
			}
		}
	}
}

// TestNoteCitesOneObject: misp-stix's event report event, its domain-ip
// copied under another uuid with the same attribute uuids (MISP gives
// each attribute its own, a feed may not): the note cites the attribute
// as the same object in either order of the two.
func TestNoteCitesOneObject(t *testing.T) {
	b, err := os.ReadFile("testdata/misp_stix_event_report.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ParseEvents(b)
	if err != nil || len(evs) != 1 {
		t.Fatal(err)
	}
	ev := evs[0]
	copied := ev.Object[0]
	copied.UUID = "0a0b0c0d-1e2f-4a5b-8c6d-7e8f9a0b1c2d"
	ev.Object = append(ev.Object, copied)
	var notes []string
	for _, e := range []*Event{ev, reordered(ev)} {
		objs, _ := convertOne(t, e, Options{})
		for id, m := range objs {
			if typeOf(id) == "note" {
				notes = append(notes, jsonText(m))
			}
		}
	}
	if len(notes) != 2 || notes[0] != notes[1] {
		t.Errorf("the notes differ with the objects' order:\n%s", strings.Join(notes, "\n"))
	}
	// Imports before cited the last listed of the two (the copy, or
	// reordered the original) at the report's timestamp: the note is a
	// version after theirs, never other content under one of them.
	objs, _ := convertOne(t, ev, Options{})
	want := stix.FormatTimestamp(ev.EventReport[0].Timestamp.Time().Add(laterRevision))
	if n := objs["note--"+ev.EventReport[0].UUID]; n == nil || n["modified"] != want {
		t.Errorf("note %v, want modified %s", n, want)
	}
}

// TestTiedReferencesNeverRewriteAVersion: two references that make one
// relationship, equally dated with other comments (two of one object to
// the same target, or a pe's and its file's), in either order: imports
// before wrote the first listed at their date, so the relationship is
// never at that date with another description, and both orders make the
// same bytes. Equal comments keep the date.
func TestTiedReferencesNeverRewriteAVersion(t *testing.T) {
	mutex, _ := docObject(t, "mutex")
	for _, comments := range [][2]string{{"zzz", "aaa"}, {"aaa", "zzz"}, {"", "x"}, {"same", "same"}} {
		for _, pe := range []bool{false, true} {
			var got []string
			for _, reverse := range []bool{false, true} {
				ev := peEvent(t, "file with references to pe & pe-section(s)", false)
				ev.Object = append(ev.Object, mutex)
				var file string
				for i := range ev.Object {
					o := &ev.Object[i]
					switch {
					case o.Name == "file":
						file = o.UUID
						o.ObjectReference = append(o.ObjectReference, ObjectReference{UUID: "ffffffff-0000-4000-8000-000000000001", ReferencedUUID: mutex.UUID, RelationshipType: "drops", Timestamp: 1603642920, Comment: comments[0]})
						if !pe {
							o.ObjectReference = append(o.ObjectReference, ObjectReference{UUID: "00000000-0000-4000-8000-000000000002", ReferencedUUID: mutex.UUID, RelationshipType: "drops", Timestamp: 1603642920, Comment: comments[1]})
						}
					case o.Name == "pe" && pe:
						o.ObjectReference = append(o.ObjectReference, ObjectReference{UUID: "00000000-0000-4000-8000-000000000002", ReferencedUUID: mutex.UUID, RelationshipType: "drops", Timestamp: 1603642920, Comment: comments[1]})
					}
				}
				if reverse {
					ev = reordered(ev)
					for i := range ev.Object {
						ev.Object[i].ObjectReference = slices.Clone(ev.Object[i].ObjectReference)
						slices.Reverse(ev.Object[i].ObjectReference)
					}
				}
				objs, _ := convertOne(t, ev, Options{})
				rel := objs[referenceID("indicator--"+file, "drops", "indicator--"+mutex.UUID)]
				if rel == nil {
					t.Fatalf("%v, pe %v: no relationship", comments, pe)
				}
				desc, _ := rel["description"].(string)
				if rel["modified"] == "2020-10-25T16:22:00.000Z" && comments[0] != comments[1] {
					t.Errorf("%v, pe %v, reversed %v: %q at the references' date, where an import before may have written the other", comments, pe, reverse, desc)
				}
				if comments[0] == comments[1] && rel["modified"] != "2020-10-25T16:22:00.000Z" {
					t.Errorf("%v, pe %v: modified %v, want the references' date", comments, pe, rel["modified"])
				}
				got = append(got, jsonText(rel))
			}
			if got[0] != got[1] {
				t.Errorf("%v, pe %v: the order changes the relationship:\n%s\n%s", comments, pe, got[0], got[1])
			}
		}
	}
}

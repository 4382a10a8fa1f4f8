package misp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/stix"
)

// mergedDoc is one of misp-stix's documented examples of objects written
// in another's observable.
type mergedDoc struct {
	name   string // in misp_objects_to_stix21.json
	golden string // testdata/golden/object_<golden>.json
	root   string // the observable's type
	// feed is the objects a feed export writes, each with its references.
	feed string
	// fix turns misp-stix's observable, and pattern, into Parley's.
	fix        func(map[string]any)
	fixPattern func(string) string
}

// mergedDocs: a file with its pe and section, a pe with its section
// alone, a registry-key with its values, a registry-key-value alone.
var mergedDocs = []mergedDoc{
	{name: "file with references to pe & pe-section(s)", golden: "pe_file", root: "file", feed: "file includes pe,pe includes pe-section,pe-section",
		fix: func(m map[string]any) {
			// The compilation time is misp-stix's, with milliseconds, as
			// every STIX timestamp here.
			ext := m["extensions"].(map[string]any)["windows-pebinary-ext"].(map[string]any)
			ext["x_misp_compilation_timestamp"] = "2019-03-16T12:31:22.000Z"
		}},
	{name: "pe & pe-sections", golden: "pe_pe", root: "file", feed: "pe includes pe-section,pe-section",
		fix: func(m map[string]any) {
			ext := m["extensions"].(map[string]any)["windows-pebinary-ext"].(map[string]any)
			ext["x_misp_compilation_timestamp"] = "2019-03-16T12:31:22.000Z"
		}},
	{name: "registry-key with references to registry-key-value(s)", golden: "registry_key_values", root: "windows-registry-key",
		feed: "registry-key contains registry-key-value contains registry-key-value,registry-key-value,registry-key-value",
		fix: func(m map[string]any) {
			// The key keeps its mapping (TestRegistryKeyKeepsItsMapping).
			delete(m, "modified_time")
			m["x_misp_last_modified"] = "2020-10-25T16:22:00+00:00"
		},
		fixPattern: func(p string) string {
			return strings.Replace(p, "windows-registry-key:modified_time = '2020-10-25 16:22:00+00:00'", "windows-registry-key:x_misp_last_modified = '2020-10-25T16:22:00+00:00'", 1)
		}},
	{name: "registry-key-value", golden: "registry_key_value", root: "windows-registry-key", feed: "registry-key-value"},
}

// docObjects returns the MISP objects misp-stix documents under name,
// with its STIX 2.1 form.
func docObjects(t *testing.T, name string) ([]Object, mispStixDoc) {
	t.Helper()
	d, ok := loadDoc(t, "misp_objects_to_stix21.json")[name]
	if !ok {
		t.Fatalf("no %s in misp-stix's mapping", name)
	}
	var objs []Object
	if err := json.Unmarshal(d.MISP, &objs); err != nil {
		var o Object
		if err := json.Unmarshal(d.MISP, &o); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		objs = []Object{o}
	}
	return objs, d
}

// peEvent is the event of misp-stix's documented objects under name, as
// testdata/golden/before_pe.jsonl converted it: with their to_ids, or
// with none and uuids of their own (references following them).
func peEvent(t *testing.T, name string, none bool) *Event {
	t.Helper()
	objs, _ := docObjects(t, name)
	for i := range objs {
		o := &objs[i]
		o.Attribute = append([]Attribute(nil), o.Attribute...)
		o.ObjectReference = append([]ObjectReference(nil), o.ObjectReference...)
		if !none {
			continue
		}
		for j := range o.Attribute {
			o.Attribute[j].ToIDs = false
		}
		o.UUID = uuidV5("observed " + o.UUID)
		for k := range o.ObjectReference {
			o.ObjectReference[k].ReferencedUUID = uuidV5("observed " + o.ObjectReference[k].ReferencedUUID)
		}
	}
	ev := event(nil, objs)
	ev.UUID = uuidV5(name + " " + map[bool]string{false: "ids", true: "none"}[none])
	return ev
}

// TestMergedAgainstMispStix converts misp-stix's documented file with
// its pe and section, pe with its section, registry-key with its values
// and registry-key-value: the indicator compares what misp-stix's
// pattern compares (sections[0] of the file's windows-pebinary-ext, a
// key's values[1]), the observable is misp-stix's (but for its id and
// the deviations of mergedDocs), and nothing is unsupported.
func TestMergedAgainstMispStix(t *testing.T) {
	for _, doc := range mergedDocs {
		name, root := doc.name, doc.root
		objs, d := docObjects(t, name)
		ind, sco := d.first("indicator"), d.first(root)
		ev := peEvent(t, name, false)
		got, unsupp := convertOne(t, ev, Options{})
		for _, u := range unsupp {
			t.Errorf("%s: unsupported %v", name, u)
		}
		gi := got["indicator--"+objs[0].UUID]
		if gi == nil {
			t.Fatalf("%s: no indicator of the %s", name, root)
		}
		for _, o := range objs[1:] {
			if got["indicator--"+o.UUID] != nil || got["observed-data--"+o.UUID] != nil {
				t.Errorf("%s: the %s is written on its own", name, o.Name)
			}
		}
		comparisons := func(p string) string {
			c := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "["), "]"), " AND ")
			sort.Strings(c)
			return strings.Join(c, "\n")
		}
		wantPattern := ind["pattern"].(string)
		if doc.fixPattern != nil {
			wantPattern = doc.fixPattern(wantPattern)
		}
		if g, w := comparisons(gi["pattern"].(string)), comparisons(wantPattern); g != w {
			t.Errorf("%s: pattern\n got  %s\n want %s (misp-stix)", name, gi["pattern"], ind["pattern"])
		}
		if err := validator.Validate(mustParse(t, gi)); err != nil {
			t.Errorf("%s: %v", name, err)
		}

		none := peEvent(t, name, true)
		got, unsupp = convertOne(t, none, Options{})
		for _, u := range unsupp {
			t.Errorf("%s: unsupported %v", name, u)
		}
		file := observableOf(t, got, "observed-data--"+none.Object[0].UUID, root)
		if file == nil {
			t.Fatalf("%s: no %s observable", name, root)
		}
		id, _ := file["id"].(string)
		if want, err := stix.DeterministicID(root, file); err != nil || id != want {
			t.Errorf("%s: id %s, want %s (%v)", name, id, want, err)
		}
		want := map[string]any{}
		for k, v := range sco {
			want[k] = v
		}
		delete(want, "id")
		delete(file, "id")
		if doc.fix != nil {
			doc.fix(want)
		}
		if g, w := jsonText(file), jsonText(want); g != w {
			t.Errorf("%s: observable\n got  %s\n want %s (misp-stix)", name, g, w)
		}
	}
}

// TestMergedGolden writes the conversions of mergedDocs (with their
// to_ids, then none) and compares them with
// testdata/golden/object_<golden>.json (-update rewrites them); a second
// conversion gives the same objects and versions.
func TestMergedGolden(t *testing.T) {
	for _, doc := range mergedDocs {
		name := doc.name
		var out bytes.Buffer
		for _, none := range []bool{false, true} {
			ev := peEvent(t, name, none)
			first := NewConverter(Options{}).Convert(ev)
			again := NewConverter(Options{}).Convert(peEvent(t, name, none))
			if jsonText(first.Objects) != jsonText(again.Objects) || strings.Join(first.Keys, ",") != strings.Join(again.Keys, ",") {
				t.Errorf("%s: a second conversion differs", name)
			}
			for _, raw := range first.Objects {
				o, err := stix.Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				if err := validator.Validate(o); err != nil {
					t.Errorf("%s: invalid %s: %v", name, raw, err)
				}
				out.Write(raw)
				out.WriteByte('\n')
			}
		}
		file := "testdata/golden/object_" + doc.golden + ".json"
		if *update {
			if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (go test -run TestMergedGolden -update writes it)", err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s: the conversion differs from %s:\n%s", name, file, out.Bytes())
		}
	}
}

// TestMergedReimport: importing again the documented events of
// mergedDocs, imported before pe and registry-key-value objects were
// mapped (testdata/golden/before_pe.jsonl and before_registry.jsonl, by
// commit cab594e), conflicts with nothing a node holds: an object of the
// same id and version has the same bytes; the file's and key's indicator
// and observed-data, now with their pe or values, are new versions 2 ms
// after the MISP timestamp, and so is a grouping that now refers to a pe
// or registry-key-value written alone.
func TestMergedReimport(t *testing.T) {
	reimport(t, "testdata/golden/before_pe.jsonl", mergedDocs[:2], "grouping ,grouping ,grouping ,grouping ,indicator file,observed-data file")
	reimport(t, "testdata/golden/before_registry.jsonl", mergedDocs[2:], "grouping ,grouping ,grouping ,grouping ,indicator registry-key,observed-data registry-key")
}

func reimport(t *testing.T, before string, docs []mergedDoc, wantRevised string) {
	t.Helper()
	f, err := os.Open(before)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	held := map[string]string{}
	version := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		id, _ := m["id"].(string)
		v, _ := m["modified"].(string)
		held[id], version[id] = sc.Text(), v
	}
	var revised []string
	for _, doc := range docs {
		for _, none := range []bool{false, true} {
			res := NewConverter(Options{}).Convert(peEvent(t, doc.name, none))
			for i, raw := range res.Objects {
				o, err := stix.Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				old, ok := held[o.ID]
				if !ok || old == string(raw) {
					continue // new (a pe, a file with its pe), or the same
				}
				after := mappingRevision
				if o.Type == "grouping" {
					after = containerRevision // its object_refs, labels and markings sorted
				}
				if o.Type == "observed-data" && (label(o, "name") == "file" || label(o, "name") == "pe") {
					after = laterRevision // its pe's compilation time a STIX timestamp
				}
				if !stix.IsObservable(o.Type) && (stix.FormatTimestamp(o.Modified) <= version[o.ID] || o.Modified.Sub(o.Created) != after) {
					t.Errorf("%s: not a version %v after %s", res.Keys[i], after, version[o.ID])
				}
				if stix.IsObservable(o.Type) {
					t.Errorf("%s: other content under the same id", o.ID)
				}
				revised = append(revised, o.Type+" "+label(o, "name"))
			}
		}
	}
	sort.Strings(revised)
	if got := strings.Join(revised, ","); got != wantRevised {
		t.Errorf("%s: new versions %q, want %q", before, got, wantRevised)
	}
}

// TestMergedExportImportBack: a feed export writes a file with its pe as
// the file, pe and pe-section objects MISP has (the file including the
// pe, the pe its sections), and a registry key with its values as the
// registry-key containing registry-key-values, which import back as the
// same indicators and observed-data; each indicator matches its
// observation (a section or value by its place, sections[0], as
// misp-stix compares it).
func TestMergedExportImportBack(t *testing.T) {
	for _, doc := range mergedDocs {
		name := doc.name
		for _, none := range []bool{false, true} {
			ev := peEvent(t, name, none)
			objs, _ := stixOf(t, Options{}, ev)
			dir := t.TempDir()
			feed := FeedFromSTIX(objs, EventFor("test"))
			for _, u := range feed.Unsupported {
				t.Errorf("%s: no MISP form: %v", name, u)
			}
			if err := WriteFeed(dir, feed); err != nil {
				t.Fatal(err)
			}
			back := loadFeedEvent(t, dir, ev.UUID)
			var names []string
			for _, o := range back.Object {
				refs := ""
				for _, r := range o.ObjectReference {
					for _, to := range back.Object {
						if to.UUID == r.ReferencedUUID {
							refs += " " + r.RelationshipType + " " + to.Name
						}
					}
				}
				names = append(names, o.Name+refs)
			}
			if got, want := strings.Join(names, ","), doc.feed; got != want {
				t.Errorf("%s: the feed's objects %q, want %q", name, got, want)
			}
			again, _ := stixOf(t, Options{}, back)
			first := map[string]*stix.Object{}
			for _, o := range objs {
				first[o.ID] = o
			}
			n := 0
			for _, b := range again {
				if b.Type != "indicator" && b.Type != "observed-data" {
					continue
				}
				o := first[b.ID]
				if o == nil {
					t.Errorf("%s: %s is new", name, b.ID)
					continue
				}
				n++
				if !SameInMISP(o, b, again...) || !o.Modified.Equal(b.Modified) {
					t.Errorf("%s: %s is not the same:\n%s\n%s", name, b.ID, o.Raw, b.Raw)
				}
			}
			if n != 1 {
				t.Errorf("%s: %d indicators and observed-data back, want 1", name, n)
			}
		}
		ind, _ := convertOne(t, peEvent(t, name, false), Options{})
		objs, _ := docObjects(t, name)
		p, _ := ind["indicator--"+objs[0].UUID]["pattern"].(string)
		res := NewConverter(Options{}).Convert(peEvent(t, name, true))
		data := []byte("[" + string(bytes.Join(asBytes(res.Objects), []byte(","))) + "]")
		if r, err := pattern.MatchJSON(p, data); err != nil || !r.Matched {
			t.Errorf("%s: %s does not match its observation (%v):\n%s", name, p, err, data)
		}
	}
}

// peObject is a MISP object of template name with attributes of
// relation=value (each to_ids) and "includes" references to refs.
func peObject(name, uuid string, attrs []string, refs ...string) Object {
	o := Object{UUID: uuid, Name: name, MetaCategory: "file", Timestamp: 1603642920}
	for i, a := range attrs {
		rel, v, _ := strings.Cut(a, "=")
		typ := "text"
		switch rel {
		case "md5", "sha1", "sha256", "imphash":
			typ = rel
		case "filename", "original-filename":
			typ = "filename"
		}
		o.Attribute = append(o.Attribute, Attribute{UUID: uuidV5(fmt.Sprint(uuid, i)), ObjectRelation: rel, Type: typ, Value: v, ToIDs: true})
	}
	for _, r := range refs {
		o.ObjectReference = append(o.ObjectReference, ObjectReference{UUID: uuidV5(uuid + r), ObjectUUID: uuid, ReferencedUUID: r, RelationshipType: "includes"})
	}
	return o
}

// TestMergeReferences: how references between files, pe and pe-section
// objects, and registry keys and values, are read, hostile ones too:
// each ends, costs what its references do, and writes valid STIX.
func TestMergeReferences(t *testing.T) {
	const (
		f1 = "11111111-1111-4111-8111-111111111111"
		f2 = "22222222-2222-4222-8222-222222222222"
		pe = "33333333-3333-4333-8333-333333333333"
		p2 = "44444444-4444-4444-8444-444444444444"
		s1 = "55555555-5555-4555-8555-555555555555"
		s2 = "66666666-6666-4666-8666-666666666666"
	)
	sec1 := peObject("pe-section", s1, []string{"name=.text", "md5=8a2a5fc2ce56b3b04d58539a95390600"})
	sec2 := peObject("pe-section", s2, []string{"name=.data", "entropy=NaN"})
	many := peObject("pe", p2, []string{"type=dll"})
	var manySections []Object
	for i := 0; i < 600; i++ {
		u := uuidV5(fmt.Sprint("section ", i))
		manySections = append(manySections, peObject("pe-section", u, []string{"name=s", fmt.Sprint("size-in-bytes=", i)}))
		many.ObjectReference = append(many.ObjectReference, ObjectReference{ReferencedUUID: u, RelationshipType: "includes"})
	}
	cases := []struct {
		name    string
		objs    []Object
		pattern map[string]string // indicator uuid: its pattern
		unsupp  []string          // "uuid: reason" parts
		rels    []string          // the relationships written
	}{
		{"a pe two files include is in both",
			[]Object{peObject("file", f1, []string{"filename=a.exe"}, pe), peObject("file", f2, []string{"filename=b.exe"}, pe),
				peObject("pe", pe, []string{"imphash=23ea835ab4b9017c74dfb023d2301c99"}, s1), sec1},
			map[string]string{
				f1: "[file:name = 'a.exe' AND file:extensions.'windows-pebinary-ext'.imphash = '23ea835ab4b9017c74dfb023d2301c99' AND file:extensions.'windows-pebinary-ext'.sections[0].name = '.text' AND file:extensions.'windows-pebinary-ext'.sections[0].hashes.MD5 = '8a2a5fc2ce56b3b04d58539a95390600']",
				f2: "[file:name = 'b.exe' AND file:extensions.'windows-pebinary-ext'.imphash = '23ea835ab4b9017c74dfb023d2301c99' AND file:extensions.'windows-pebinary-ext'.sections[0].name = '.text' AND file:extensions.'windows-pebinary-ext'.sections[0].hashes.MD5 = '8a2a5fc2ce56b3b04d58539a95390600']",
			}, nil, nil},
		{"a file that includes two pe merges neither",
			[]Object{peObject("file", f1, []string{"filename=a.exe"}, pe, p2), peObject("pe", pe, []string{"type=exe"}), peObject("pe", p2, []string{"type=dll"})},
			map[string]string{
				f1: "[file:name = 'a.exe']",
				pe: "[file:extensions.'windows-pebinary-ext'.pe_type = 'exe']",
				p2: "[file:extensions.'windows-pebinary-ext'.pe_type = 'dll']",
			}, []string{f1 + ": the file includes 2 pe objects"},
			[]string{"indicator--" + f1 + " includes indicator--" + pe, "indicator--" + f1 + " includes indicator--" + p2}},
		{"cycles end: files, pe and sections including each other",
			[]Object{peObject("file", f1, []string{"filename=a.exe"}, f1, pe, s1), peObject("pe", pe, []string{"type=exe"}, pe, f1, s1, s2, s1),
				peObject("pe-section", s1, []string{"name=.text"}, pe, s2, s1), peObject("pe-section", s2, []string{"name=.data"}, s1, f1)},
			map[string]string{
				f1: "[file:name = 'a.exe' AND file:extensions.'windows-pebinary-ext'.pe_type = 'exe' AND file:extensions.'windows-pebinary-ext'.sections[0].name = '.text' AND file:extensions.'windows-pebinary-ext'.sections[1].name = '.data']",
			}, nil, []string{"indicator--" + f1 + " includes indicator--" + f1}},
		{"a section's references are not followed; a lone section is listed",
			[]Object{peObject("pe", pe, []string{"type=exe"}, s1), peObject("pe-section", s1, []string{"name=.text"}, s2), sec2},
			map[string]string{
				pe: "[file:extensions.'windows-pebinary-ext'.pe_type = 'exe' AND file:extensions.'windows-pebinary-ext'.sections[0].name = '.text']",
			}, []string{s2 + ": no pe object of the event includes it"}, nil},
		{"a number that is not one is x_misp_",
			[]Object{peObject("pe", pe, []string{"type=exe", "number-sections=many"}, s2), sec2},
			map[string]string{
				pe: "[file:extensions.'windows-pebinary-ext'.pe_type = 'exe' AND file:extensions.'windows-pebinary-ext'.x_misp_number_sections = 'many' AND file:extensions.'windows-pebinary-ext'.sections[0].name = '.data' AND file:extensions.'windows-pebinary-ext'.sections[0].x_misp_entropy = 'NaN']",
			}, nil, nil},
		{"a key's values: contains only, each once, cycles ending",
			[]Object{func() Object {
				k := peObject("registry-key", f1, []string{`key=HKLM\Software\x`}, f1, s1)
				k.ObjectReference = append(k.ObjectReference, ObjectReference{ReferencedUUID: s1, RelationshipType: "contains"},
					ObjectReference{ReferencedUUID: s2, RelationshipType: "contains", Deleted: true},
					ObjectReference{ReferencedUUID: p2, RelationshipType: "contains"}, ObjectReference{ReferencedUUID: s1, RelationshipType: "contains"},
					ObjectReference{ReferencedUUID: f1, RelationshipType: "contains"})
				return k
			}(), peObject("registry-key-value", s1, []string{"name=Run", "data-type=REG_NOPE"}, f1),
				peObject("registry-key-value", s2, []string{"name=Gone"}), peObject("registry-key-value", p2, []string{"data=42"})},
			map[string]string{
				f1: `[windows-registry-key:key = 'HKLM\\Software\\x' AND windows-registry-key:values[0].name = 'Run' AND windows-registry-key:values[0].x_misp_data_type = 'REG_NOPE' AND windows-registry-key:values[1].data = '42']`,
				s2: "[windows-registry-key:values[0].name = 'Gone']",
			}, nil, []string{"indicator--" + f1 + " contains indicator--" + f1, "indicator--" + f1 + " includes indicator--" + f1}},
		// Refused whole, the file an import before pe objects were
		// merged wrote would leave the report at the same version.
		{"a file whose pe and sections pass the attribute limit is written without them, as before they were merged",
			append([]Object{peObject("file", f1, []string{"filename=a.exe"}, p2), many}, manySections...),
			map[string]string{f1: "[file:name = 'a.exe']", p2: "[file:extensions.'windows-pebinary-ext'.pe_type = 'dll']"},
			[]string{": no pe object of the event includes it"}, []string{"indicator--" + f1 + " includes indicator--" + p2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := NewConverter(Options{}).Convert(event(nil, tc.objs))
			got := objsOf(t, res)
			n := 0
			for id, o := range got {
				if err := validator.Validate(mustParse(t, o)); err != nil {
					t.Errorf("%s: %v", id, err)
				}
				if o["type"] == "indicator" || o["type"] == "observed-data" {
					n++
				}
			}
			for u, want := range tc.pattern {
				if p, _ := got["indicator--"+u]["pattern"].(string); p != want {
					t.Errorf("%s: pattern\n got  %s\n want %s", u, p, want)
				}
				if p, _ := got["indicator--"+u]["pattern"].(string); p != "" {
					if err := pattern.Validate(p); err != nil {
						t.Errorf("%s: %v", u, err)
					}
				}
			}
			if n != len(tc.pattern) {
				t.Errorf("%d indicators and observed-data, want %d", n, len(tc.pattern))
			}
			// A reference within one observable (a file including its
			// pe, the second file including the pe written in the first
			// too) is no relationship; one of an object to itself is.
			var rels []string
			for _, o := range got {
				if o["type"] == "relationship" {
					rels = append(rels, fmt.Sprint(o["source_ref"], " ", o["relationship_type"], " ", o["target_ref"]))
				}
			}
			sort.Strings(rels)
			if g, w := strings.Join(rels, ","), strings.Join(tc.rels, ","); g != w {
				t.Errorf("relationships %q, want %q", g, w)
			}
			var all []string
			for _, u := range res.Unsupported {
				all = append(all, u.UUID+": "+u.Reason)
				if u.Kind == "object-reference" {
					all = append(all, "object-reference")
				}
			}
			for _, w := range tc.unsupp {
				found := false
				for _, a := range all {
					found = found || strings.Contains(a, w)
				}
				if !found {
					t.Errorf("no unsupported %q in %d: %.2000q", w, len(all), all)
				}
			}
			if len(tc.unsupp) == 0 && len(res.Unsupported) > 0 {
				t.Errorf("unsupported %q", all)
			}
		})
	}
}

// TestMergedVersionFollowsParts: MISP moves the timestamp of the pe,
// section or value it edits or deletes, not the file's or key's: the
// indicator of the whole is a version 2 ms after the latest of them, so
// that an edit of a part is a new version of the whole, not other
// content under the version a node holds.
func TestMergedVersionFollowsParts(t *testing.T) {
	for _, doc := range []mergedDoc{mergedDocs[0], mergedDocs[2]} {
		ev := peEvent(t, doc.name, false)
		host := ev.Object[0].UUID
		version := func(ev *Event) (string, string) {
			objs, _ := convertOne(t, ev, Options{})
			ind := objs["indicator--"+host]
			if ind == nil {
				t.Fatalf("%s: no indicator", doc.name)
			}
			return ind["modified"].(string), ind["pattern"].(string)
		}
		v0, p0 := version(ev)
		if v0 != "2020-10-25T16:22:00.002Z" {
			t.Errorf("%s: version %s", doc.name, v0)
		}
		last := &ev.Object[len(ev.Object)-1] // a section, a value
		last.Timestamp += 100
		last.Attribute[0].Value += "x"
		v1, p1 := version(ev)
		if v1 != "2020-10-25T16:23:40.002Z" || p1 == p0 {
			t.Errorf("%s: an edited part gives version %s (%s), want 100 s later", doc.name, v1, p1)
		}
		last.Deleted, last.Timestamp = true, last.Timestamp+100
		v2, p2 := version(ev)
		if v2 != "2020-10-25T16:25:20.002Z" || p2 == p1 || strings.Contains(p2, last.Attribute[0].Value) {
			t.Errorf("%s: a deleted part gives version %s (%s), want 200 s later, without it", doc.name, v2, p2)
		}
	}
}

// TestPEWithoutType: a pe without its type attribute makes no
// windows-pebinary-ext (STIX requires pe_type). The file that includes it
// was written before pe objects were merged, and still is, without it;
// the pe is listed as unsupported, never the file.
func TestPEWithoutType(t *testing.T) {
	ev := &Event{UUID: "0c7a3b1e-4d5f-4a6b-8c7d-9e0f1a2b3c4d", Info: "pe without type", Timestamp: 1600000000, Published: true,
		Object: []Object{
			{UUID: "1d8b4c2f-5e6a-4b7c-9d8e-0f1a2b3c4d5e", Name: "file", Timestamp: 1600000000,
				Attribute:       []Attribute{{UUID: "2e9c5d3a-6f7b-4c8d-8e9f-1a2b3c4d5e6f", Type: "filename", ObjectRelation: "filename", Value: "putty.exe"}},
				ObjectReference: []ObjectReference{{UUID: "3fad6e4b-7a8c-4d9e-9fa0-2b3c4d5e6f7a", ReferencedUUID: "4abe7f5c-8b9d-4eaf-8ab1-3c4d5e6f7a8b", RelationshipType: "includes"}}},
			{UUID: "4abe7f5c-8b9d-4eaf-8ab1-3c4d5e6f7a8b", Name: "pe", Timestamp: 1600000000,
				Attribute: []Attribute{{UUID: "5bcf806d-9cae-4fb0-9bc2-4d5e6f7a8b9c", Type: "imphash", ObjectRelation: "imphash", Value: "b2a6b0ff1dd0d2f1e0f2f7e3a4b5c6d7"}}},
		}}
	res := NewConverter(Options{}).Convert(ev)
	written := false
	for _, raw := range res.Objects {
		o, err := stix.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if o.ID == "observed-data--1d8b4c2f-5e6a-4b7c-9d8e-0f1a2b3c4d5e" {
			written = true
		}
	}
	if !written {
		t.Errorf("the file is not written: %+v", res.Unsupported)
	}
	for _, u := range res.Unsupported {
		if u.UUID == "1d8b4c2f-5e6a-4b7c-9d8e-0f1a2b3c4d5e" {
			t.Errorf("the file is listed: %+v", u)
		}
	}
}

// TestMergeTooMany: a registry-key whose values make more attributes
// than MaxObjectAttributes was written, alone, before values were
// merged; it still is (each value a key of its own), not refused whole,
// which would drop it from the report at the same version (a conflict
// with the earlier import).
func TestMergeTooMany(t *testing.T) {
	key := Object{UUID: "6cd0917e-adbf-4a01-8cd3-5e6f7a8b9cad", Name: "registry-key", Timestamp: 1600000000,
		Attribute: []Attribute{{UUID: "7de1a28f-becf-4b12-9de4-6f7a8b9cadbe", Type: "regkey", ObjectRelation: "key", Value: `HKEY_LOCAL_MACHINE\Software\Parley`}}}
	objs := []Object{key}
	for i := range MaxObjectAttributes/2 + 1 {
		v := Object{UUID: fmt.Sprintf("8ef2b390-cfd0-4c23-8ef5-%012d", i), Name: "registry-key-value", Timestamp: 1600000000,
			Attribute: []Attribute{
				{UUID: fmt.Sprintf("9f03c4a1-d0e1-4d34-9f06-%012d", i), Type: "text", ObjectRelation: "name", Value: fmt.Sprint("v", i)},
				{UUID: fmt.Sprintf("a014d5b2-e1f2-4e45-a017-%012d", i), Type: "text", ObjectRelation: "data", Value: "d"}}}
		objs[0].ObjectReference = append(objs[0].ObjectReference, ObjectReference{UUID: fmt.Sprintf("b125e6c3-f203-4f56-b128-%012d", i), ReferencedUUID: v.UUID, RelationshipType: "contains"})
		objs = append(objs, v)
	}
	ev := &Event{UUID: "c236f7d4-0314-4067-8239-7a8b9cadbecf", Info: "many values", Timestamp: 1600000000, Published: true, Object: objs}
	res := NewConverter(Options{}).Convert(ev)
	written := false
	for _, raw := range res.Objects {
		o, err := stix.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if o.ID == "observed-data--"+key.UUID {
			written = true
		}
	}
	if !written {
		t.Errorf("the key is not written")
	}
	for _, u := range res.Unsupported {
		if u.UUID == key.UUID {
			t.Errorf("the key is listed: %s", u.Reason)
		}
	}
}

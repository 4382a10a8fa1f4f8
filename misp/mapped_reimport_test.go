package misp

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// TestMappedTemplatesReimport imports again an event that the conversion
// before the templates of 6 December 2026 were mapped (android-app, the
// social accounts, network-socket, ..., then pe, pe-section and
// registry-key-value) wrote: testdata/golden/before_mispmap.jsonl, that
// conversion of testdata/golden/before_mispmap_event.json. Its report and its
// event report's note now refer to objects that conversion listed as
// unsupported: each must be the same object or a later version, never the
// same version with other content, which a node refuses as a conflict.
func TestMappedTemplatesReimport(t *testing.T) {
	held := map[string]map[string]any{}
	f, err := os.Open("testdata/golden/before_mispmap.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		held[m["id"].(string)] = m
	}
	b, err := os.ReadFile("testdata/golden/before_mispmap_event.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Event Event }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	// The conversion before listed every object as unsupported: it
	// wrote the same of the event without pe, pe-section and
	// registry-key-value objects, whose report refers to no object of a
	// template mapped on the day of this merge.
	earlier := doc.Event
	earlier.Object = nil
	for _, o := range doc.Event.Object {
		switch o.Name {
		case "pe", "pe-section", "registry-key-value":
		default:
			earlier.Object = append(earlier.Object, o)
		}
	}
	for _, ev := range []*Event{&doc.Event, &earlier} {
		reimported(t, held, ev)
	}
}

func reimported(t *testing.T, held map[string]map[string]any, ev *Event) {
	t.Helper()
	res := NewConverter(Options{}).Convert(ev)
	compared := map[string]bool{}
	for _, raw := range res.Objects {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		id := m["id"].(string)
		old, ok := held[id]
		if !ok {
			continue
		}
		compared[typeOf(id)] = true
		if reflect.DeepEqual(old, m) {
			continue
		}
		was, _ := old["modified"].(string)
		now, _ := m["modified"].(string)
		if now <= was {
			t.Errorf("%s: version %s with other content than the earlier import's %s (a conflict)\n  was %v\n  now %v", id, now, was, old["object_refs"], m["object_refs"])
			continue
		}
		after := mappingRevision
		if typ := typeOf(id); typ == "report" || typ == "grouping" {
			after = containerRevision // its object_refs, labels and markings sorted
		}
		if created, _ := stix.ParseTimestamp(m["created"].(string)); stix.FormatTimestamp(created.Add(after)) != now {
			t.Errorf("%s: version %s, not %v after %s", id, now, after, m["created"])
		}
	}
	for _, typ := range []string{"report", "note", "indicator"} {
		if !compared[typ] {
			t.Errorf("no %s of the earlier conversion compared", typ)
		}
	}
}

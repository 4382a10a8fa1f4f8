package misp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/stix"
)

// listEvent is misp-stix's test event with every object attribute
// to_ids, and misp-stix's documented objects of the new templates, all
// to_ids: the event testdata/golden/before_list_patterns.jsonl is the
// conversion of, by the converter before list patterns (commit 743b4b0).
func listEvent(t *testing.T) *Event {
	t.Helper()
	ev := testEvent(t)
	for i := range ev.Object {
		for j := range ev.Object[i].Attribute {
			ev.Object[i].Attribute[j].ToIDs = true
		}
	}
	yes := true
	for _, name := range newTemplates {
		o, _ := docObject(t, name)
		ev.Object = append(ev.Object, withToIDs(o, &yes))
	}
	return ev
}

// TestListPatternsMatchTheirObservation: the indicator of every object
// of misp-stix's test event and of the new templates' documented objects
// (a network-connection's three protocols, an asn's two announced
// subnets, a telegram account's two phones) matches, under the pattern
// package's matcher, the observed-data of the same object. Before, a
// list property (protocols, a repeated x_misp_ relation) was compared
// with "=", which matches no list.
func TestListPatternsMatchTheirObservation(t *testing.T) {
	no := false
	ev := listEvent(t)
	ind, _ := convertOne(t, ev, Options{})
	checked := 0
	for _, o := range ev.Object {
		p, _ := ind["indicator--"+o.UUID]["pattern"].(string)
		if p == "" {
			continue // a template without a mapping
		}
		res := NewConverter(Options{}).Convert(event(nil, []Object{withToIDs(o, &no)}))
		data := []byte("[" + string(bytes.Join(asBytes(res.Objects), []byte(","))) + "]")
		r, err := pattern.MatchJSON(p, data)
		if err != nil || !r.Matched {
			t.Errorf("%s %s: %s does not match its observation (%v):\n%s", o.Name, o.UUID, p, err, data)
		}
		checked++
	}
	if checked < 15 {
		t.Fatalf("only %d indicators checked", checked)
	}
}

// TestListPatternsSomeToIDs: an indicator that compares one value of a
// relation the object repeats (the other without to_ids) compares it
// element by element too: the observable holds both, as a list.
func TestListPatternsSomeToIDs(t *testing.T) {
	o := Object{UUID: "5e2a0f4c-1b7d-4e57-9a3f-0c1e5d6b7a80", Name: "telegram-account", Attribute: []Attribute{
		{UUID: "5e2a0f4c-1b7d-4e57-9a3f-0c1e5d6b7a81", ObjectRelation: "id", Type: "text", Value: "1234567890", ToIDs: true},
		{UUID: "5e2a0f4c-1b7d-4e57-9a3f-0c1e5d6b7a82", ObjectRelation: "phone", Type: "phone-number", Value: "0112233445", ToIDs: true},
		{UUID: "5e2a0f4c-1b7d-4e57-9a3f-0c1e5d6b7a83", ObjectRelation: "phone", Type: "phone-number", Value: "0556677889"},
	}}
	ind, _ := convertOne(t, event(nil, []Object{o}), Options{})
	p, _ := ind["indicator--"+o.UUID]["pattern"].(string)
	if want := "[user-account:account_type = 'telegram' AND user-account:user_id = '1234567890' AND user-account:x_misp_phone[*] = '0112233445']"; p != want {
		t.Errorf("pattern %s, want %s", p, want)
	}
	no := false
	res := NewConverter(Options{}).Convert(event(nil, []Object{withToIDs(o, &no)}))
	data := []byte("[" + string(bytes.Join(asBytes(res.Objects), []byte(","))) + "]")
	if r, err := pattern.MatchJSON(p, data); err != nil || !r.Matched {
		t.Errorf("%s does not match its observation (%v):\n%s", p, err, data)
	}
	// A repeated identical value is one comparison.
	o.Attribute[2].Value, o.Attribute[2].ToIDs = "0112233445", true
	ind, _ = convertOne(t, event(nil, []Object{o}), Options{})
	if p, _ := ind["indicator--"+o.UUID]["pattern"].(string); strings.Count(p, "x_misp_phone") != 1 {
		t.Errorf("pattern %s compares the phone twice", p)
	}
}

// TestListPatternsReimport: importing again an event imported by the
// conversion before list patterns (testdata/golden/before_list_patterns.jsonl,
// written by commit 743b4b0) conflicts with nothing the node holds: an
// object of the same id and version has the same bytes, and an indicator
// whose pattern changed (a network-connection's protocols, the relations
// an asn, e-mail, user-account and telegram-account object repeat) is a
// new version, a millisecond after the one the node holds, that a feed
// export and import back keeps.
func TestListPatternsReimport(t *testing.T) {
	f, err := os.Open("testdata/golden/before_list_patterns.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	held := map[string]string{}    // id: bytes, as a node holds them
	version := map[string]string{} // id: version
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		id, _ := m["id"].(string)
		v, _ := m["modified"].(string)
		if v == "" {
			v, _ = m["created"].(string)
		}
		held[id], version[id] = sc.Text(), v
	}
	if len(held) == 0 {
		t.Fatal("no objects in the earlier conversion")
	}
	ev := listEvent(t)
	res := NewConverter(Options{}).Convert(ev)
	var revised []string
	for i, raw := range res.Objects {
		o, err := stix.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		key := res.Keys[i]
		old, ok := held[o.ID]
		if !ok && newlyMapped[label(o, "name")] {
			continue // a pe, lnk or image, not written before they were mapped
		}
		if !ok {
			t.Errorf("%s: not in the earlier conversion", key)
			continue
		}
		if old == string(raw) {
			continue // the same object
		}
		prev := version[o.ID]
		if !strings.HasSuffix(key, " "+stix.FormatTimestamp(o.Modified)) || stix.FormatTimestamp(o.Modified) <= prev {
			t.Errorf("%s: not a later version than %s", key, prev)
		}
		if o.Type == "report" && o.Modified.Sub(o.Created) == containerRevision {
			continue // its object_refs sorted, and it refers to the pe too
		}
		if o.Type == "indicator" && label(o, "name") == "network-socket" && o.Modified.Sub(o.Created) == mappingRevision {
			revised = append(revised, label(o, "name"))
			continue // its state is is_listening, which was x_misp_state
		}
		if o.Type != "indicator" || o.Modified.Sub(o.Created).Milliseconds() != 1 {
			t.Errorf("%s: a new version other than an indicator's pattern a millisecond later (created %s)", key, stix.FormatTimestamp(o.Created))
		}
		revised = append(revised, label(o, "name"))
	}
	sort.Strings(revised)
	if got, want := strings.Join(revised, " "), "asn email network-connection network-socket telegram-account user-account"; got != want {
		t.Errorf("new versions of %q, want those of %q", got, want)
	}
	// A second conversion is the same; a feed export imports back as the
	// same versions.
	again := NewConverter(Options{}).Convert(ev)
	if strings.Join(again.Keys, ",") != strings.Join(res.Keys, ",") {
		t.Error("a second conversion gives other versions")
	}
	objs, _ := stixOf(t, Options{}, ev)
	dir := t.TempDir()
	if err := WriteFeed(dir, FeedFromSTIX(objs, EventFor("test"))); err != nil {
		t.Fatal(err)
	}
	back := NewConverter(Options{}).Convert(loadFeedEvent(t, dir, ev.UUID))
	keys := map[string]bool{}
	for _, k := range back.Keys {
		keys[k] = true
	}
	for i, raw := range res.Objects {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m["type"] == "indicator" && m["modified"] != m["created"] && !keys[res.Keys[i]] {
			t.Errorf("%s: not the version a feed export imports back as", res.Keys[i])
		}
	}
}

package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/stix"
)

func TestReadEventsForms(t *testing.T) {
	const ev = `{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"x","timestamp":1465681801,"published":"1","Attribute":[{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83867","type":"ip-dst","value":"198.51.100.1","to_ids":"1","timestamp":"1465681801"}]}`
	for _, tc := range []struct {
		name, doc string
		events    int
		err       bool
	}{
		{"event", `{"Event":` + ev + `}`, 1, false},
		{"search response", `{"response":[{"Event":` + ev + `},{"Event":` + ev + `}]}`, 2, false},
		{"response object", `{"response":{"Event":` + ev + `}}`, 1, false},
		{"array", `[{"Event":` + ev + `}]`, 1, false},
		{"bare event", ev, 1, false},
		{"empty response", `{"response":[]}`, 0, false},
		{"not json", `{"Event":`, 0, true},
		{"a number", `42`, 0, true},
		{"no uuid", `{"info":"x"}`, 0, true},
		{"bad uuid", `{"Event":{"uuid":"../../etc/passwd"}}`, 0, true},
		{"trailing text", `{"Event":` + ev + `} x`, 0, true},
		{"response of numbers", `{"response":[1]}`, 0, true},
		{"bad timestamp", `{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","timestamp":"soon"}}`, 0, true},
		// Documents with a uuid that are no events: a galaxy (PyMISP's
		// tests/mispevent_testfiles/galaxy.json) and an object template
		// (its test_object_template/definition.json, trimmed).
		{"galaxy", `{"uuid":"c5f2dfb4-21a1-42d8-a452-1d3c36a204ff","name":"Tea Matrix","type":"tea-matrix","description":"Tea Matrix","namespace":"tea-matrix","GalaxyCluster":[{"collection_uuid":"7eacd736-b093-4cc0-a56c-5f84de725dfb","type":"tea-matrix","value":"Milk in tea","tag_name":"misp-galaxy:tea-matrix=\"Milk in tea\"","uuid":"24430dc6-9c27-4b3c-a5e7-6dda478fffa0"}]}`, 0, true},
		{"object template", `{"requiredOneOf":["member1","member2"],"required":["member3"],"attributes":{"member1":{"description":"FirstMember","misp-attribute":"text"}},"version":1,"description":"test template","meta-category":"file","uuid":"4ec55cc6-9e49-4c64-b794-03c25c1a6589","name":"test_object_template"}`, 0, true},
		// MISP's /objects/restSearch: objects without their event
		{"object search", `{"response":[{"Object":{"name":"domain-ip","uuid":"5ac337df-e078-4e99-8b17-02550a00020f","Attribute":[{"uuid":"518b4bcb-a86b-4783-9457-391d548b605b","type":"ip-dst","object_relation":"ip","value":"149.13.33.14"}]}}]}`, 0, true},
		// PyMISP's event_obj_attr_tag.json: an event without uuid or info
		{"objects of an event", `{"Object":[{"name":"url","uuid":"b","Attribute":[{"object_relation":"url","type":"url","value":"https://www.circl.lu"}]}]}`, 0, true},
		{"stix bundle", `{"type":"bundle","id":"bundle--5758ebf5-c898-48e6-9fe9-5665c0a83866","objects":[]}`, 0, true},
		// MISP's /events/index (PyMISP's search_index_result.json,
		// trimmed) or a restSearch with metadata: events without their
		// attributes, whose reports would hold the events' versions with
		// nothing in them.
		{"event index", `[{"id":"3","org":"","date":"2016-12-01","info":"Another random Event","published":false,"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","attribute_count":"2","analysis":"0","orgc":"","timestamp":"1465681801","distribution":"3","Org":{"id":"1","name":"ORGNAME"},"Orgc":{"id":"1","name":"ORGNAME"}}]`, 0, true},
		{"event index wrapped", `{"response":[{"Event":{"info":"Another random Event","uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","attribute_count":"2","timestamp":"1465681801","Orgc":{"id":"1","name":"ORGNAME"}}}]}`, 0, true},
		{"empty event", `{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"x","attribute_count":"0","Attribute":[]}}`, 1, false},
		// MISP's /attributes/restSearch: attributes without their event
		{"attribute search", `{"response":{"Attribute":[{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83867","type":"ip-dst","value":"198.51.100.1","Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866"}}]}}`, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := ParseEvents([]byte(tc.doc))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err != nil {
				if !errors.Is(err, ErrFormat) {
					t.Errorf("%v does not wrap ErrFormat", err)
				}
				for name, says := range map[string]string{"attribute search": "/attributes/restSearch", "object search": "/objects/restSearch", "galaxy": "a galaxy", "object template": "an object template", "objects of an event": "no \"Event\"", "stix bundle": "parley push", "event index": "/events/index", "event index wrapped": "/events/index"} {
					if tc.name == name && !strings.Contains(err.Error(), says) {
						t.Errorf("%v does not say what the document is (%s)", err, says)
					}
				}
				return
			}
			if len(evs) != tc.events {
				t.Fatalf("%d events, want %d", len(evs), tc.events)
			}
			if tc.events > 0 && tc.name != "empty event" {
				e := evs[0]
				if !e.Published || e.Timestamp != 1465681801 || len(e.Attribute) != 1 || !e.Attribute[0].ToIDs {
					t.Errorf("decoded %+v", e)
				}
			}
		})
	}
}

// realEvents are the MISP events of testdata (see SOURCES.md).
func realEvents(t testing.TB) map[string][]*Event {
	t.Helper()
	names, _ := filepath.Glob("testdata/*.json")
	out := map[string][]*Event{}
	for _, n := range names {
		if strings.Contains(n, "_to_stix21") {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := ParseEvents(b)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out[filepath.Base(n)] = evs
	}
	if len(out) < 4 {
		t.Fatalf("only %d event files in testdata", len(out))
	}
	return out
}

var validator = &stix.Validator{Patterns: map[string]func(string) error{"stix": pattern.Validate}}

// TestRealEvents converts MISP's own published events: every object is
// valid STIX, every reference of a report or observed-data resolves in
// the output, a second conversion gives the same bytes, and what is not
// mapped is listed.
func TestRealEvents(t *testing.T) {
	wantUnsupported := map[string][]string{
		"pymisp_57c4445b-c548-4654-af0b-4be3950d210f.json": {"comment link"},
		"pymisp_long_event_email.json":                     {"attribute pdb"},
		"pymisp_galaxy_1.json":                             {"attachment attachment", "comment attachment", "galaxy guidelines", "galaxy guidelines", "galaxy guidelines", "galaxy guidelines", "object virustotal-report", "object-reference analysed-with"},
		"pymisp_mainly_objects_1.json":                     {"object original-imported-file", "object pe-section", "object pe-section", "object-reference header-of", "object-reference header-of"},
		"misp_stix_test_event.json":                        {"object-reference includes", "sighting sighting", "sighting sighting", "sighting sighting", "sighting sighting"},
		"misp_stix_objects_collection.json":                nil,
		"misp_stix_analyst_data.json":                      {"analyst-data note", "analyst-data note", "analyst-data note", "analyst-data opinion", "analyst-data opinion", "analyst-data opinion"},
		"misp_stix_event_report.json":                      nil,
		// Profile images and an artifact's payload: the attachments.
		"misp_stix_new_templates.json": {"attachment attachment", "attachment attachment", "attachment attachment", "attachment attachment", "attachment attachment", "attachment attachment"},
	}
	for name, evs := range realEvents(t) {
		t.Run(name, func(t *testing.T) {
			var first [][]byte
			for round := range 2 {
				c := NewConverter(Options{})
				var all []json.RawMessage
				var unsupp []string
				for _, ev := range evs {
					r := c.Convert(ev)
					all = append(all, r.Objects...)
					for _, u := range r.Unsupported {
						unsupp = append(unsupp, u.Kind+" "+u.Name)
						if u.UUID == "" || u.Event == "" || u.Reason == "" {
							t.Errorf("unsupported without uuid, event or reason: %+v", u)
						}
					}
				}
				sort.Strings(unsupp)
				if round == 0 && !slices.Equal(unsupp, wantUnsupported[name]) {
					t.Errorf("unsupported = %q, want %q", unsupp, wantUnsupported[name])
				}
				ids := map[string]bool{}
				for _, raw := range all {
					o, err := stix.Parse(raw)
					if err != nil {
						t.Fatal(err)
					}
					if err := validator.Validate(o); err != nil {
						t.Errorf("invalid: %v", err)
					}
					if ids[o.ID] {
						t.Errorf("%s twice", o.ID)
					}
					ids[o.ID] = true
				}
				for _, raw := range all {
					o, _ := stix.Parse(raw)
					for _, k := range []string{"object_refs", "where_sighted_refs", "observed_data_refs"} {
						for _, r := range stringList(o.Props[k]) {
							if !ids[r] {
								t.Errorf("%s: %s names %s, which is not in the output", o.ID, k, r)
							}
						}
					}
					for _, k := range []string{"source_ref", "target_ref", "sighting_of_ref", "created_by_ref"} {
						if r := str(o, k); r != "" && !ids[r] {
							t.Errorf("%s: %s names %s, which is not in the output", o.ID, k, r)
						}
					}
				}
				var b [][]byte
				for _, r := range all {
					b = append(b, r)
				}
				if round == 0 {
					first = b
				} else if !slices.EqualFunc(first, b, bytes.Equal) {
					t.Error("a second conversion gives other bytes")
				}
			}
		})
	}
}

// convertOne converts an event and returns its objects by id.
func convertOne(t *testing.T, ev *Event, opt Options) (map[string]map[string]any, []Unsupported) {
	t.Helper()
	r := NewConverter(opt).Convert(ev)
	out := map[string]map[string]any{}
	for _, raw := range r.Objects {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		out[m["id"].(string)] = m
	}
	return out, r.Unsupported
}

// observableOf returns the observable of type typ that the observed-data
// od references, checking that its id is the deterministic one a node
// requires (nil if od or the observable is missing).
func observableOf(t *testing.T, objs map[string]map[string]any, od, typ string) map[string]any {
	t.Helper()
	if objs[od] == nil {
		return nil
	}
	for _, r := range stringList(objs[od]["object_refs"]) {
		m := objs[r]
		if m == nil || m["type"] != typ {
			continue
		}
		o, err := stix.Parse([]byte(jsonText(m)))
		if err != nil {
			t.Fatal(err)
		}
		if err := stix.CheckDeterministicID(o); err != nil {
			t.Errorf("%s: %v", r, err)
		}
		return m
	}
	return nil
}

func testEvent(t *testing.T) *Event {
	t.Helper()
	b, err := os.ReadFile("testdata/misp_stix_test_event.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ParseEvents(b)
	if err != nil || len(evs) != 1 {
		t.Fatal(err)
	}
	return evs[0]
}

// TestEventRules checks the event-level rules one by one.
func TestEventRules(t *testing.T) {
	const (
		evID  = "a6ef17d6-91cb-4a05-b10b-2f045daf874c"
		orgc  = "identity--a0c22599-9e58-4da4-96ac-7051603fa951"
		attr  = "518b4bcb-a86b-4783-9457-391d548b605b"
		attr2 = "91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f"
		me    = "identity--11111111-2222-4333-8444-555555555555"
	)
	base := func() *Event {
		return &Event{UUID: evID, Info: "test event", Timestamp: 1603642920, Date: "2020-10-25",
			Orgc: Org{UUID: strings.TrimPrefix(orgc, "identity--"), Name: "MISP"},
			Attribute: []Attribute{
				{UUID: attr, Type: "domain", Category: "Network activity", Value: "circl.lu", ToIDs: true, Timestamp: 1603642920},
				{UUID: attr2, Type: "ip-src", Category: "Network activity", Value: "1.2.3.4", Timestamp: 1603642920},
			}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Event)
		opt   Options
		check func(t *testing.T, objs map[string]map[string]any, unsupp []Unsupported)
	}{
		{"unpublished event is a grouping", nil, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			g := objs["grouping--"+evID]
			if g == nil || g["context"] != "suspicious-activity" || g["name"] != "test event" {
				t.Fatalf("grouping: %v", g)
			}
			if refs := jsonText(g["object_refs"]); !strings.Contains(refs, "indicator--"+attr) || !strings.Contains(refs, "observed-data--"+attr2) {
				t.Errorf("object_refs %s", refs)
			}
		}},
		{"published event is a report", func(e *Event) { e.Published, e.PublishTimestamp = true, 1603642950 }, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			r := objs["report--"+evID]
			if r == nil || r["published"] != "2020-10-25T16:22:30.000Z" {
				t.Fatalf("report: %v", r)
			}
			if objs["grouping--"+evID] != nil {
				t.Error("a grouping too")
			}
		}},
		{"to_ids attribute is an indicator", nil, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			i := objs["indicator--"+attr]
			if i == nil || i["pattern"] != "[domain-name:value = 'circl.lu']" || i["pattern_type"] != "stix" || i["valid_from"] != "2020-10-25T16:22:00.000Z" {
				t.Fatalf("indicator: %v", i)
			}
			if jsonText(i["kill_chain_phases"]) != `[{"kill_chain_name":"misp-category","phase_name":"Network activity"}]` {
				t.Errorf("kill_chain_phases %s", jsonText(i["kill_chain_phases"]))
			}
		}},
		{"other attribute is observed-data", nil, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			od := objs["observed-data--"+attr2]
			nt := observableOf(t, objs, "observed-data--"+attr2, "network-traffic")
			ip := observableOf(t, objs, "observed-data--"+attr2, "ipv4-addr")
			if od == nil || nt == nil || ip == nil || nt["src_ref"] != ip["id"] || ip["value"] != "1.2.3.4" || od["number_observed"] != float64(1) {
				t.Fatalf("observed: %v %v %v", od, nt, ip)
			}
		}},
		{"provenance", nil, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			for _, id := range []string{"indicator--" + attr, "observed-data--" + attr2, "grouping--" + evID} {
				o := objs[id]
				if o["created_by_ref"] != orgc || o["x_misp_event_uuid"] != evID || o["x_misp_orgc_name"] != "MISP" || o["x_misp_orgc_uuid"] != strings.TrimPrefix(orgc, "identity--") {
					t.Errorf("%s provenance: %v", id, o)
				}
			}
			if objs[orgc] == nil || objs[orgc]["name"] != "MISP" {
				t.Errorf("no identity for the creator org")
			}
			if jsonText(objs["grouping--"+evID]["external_references"]) != `[{"external_id":"`+evID+`","source_name":"misp"}]` {
				t.Errorf("external_references %s", jsonText(objs["grouping--"+evID]["external_references"]))
			}
		}},
		{"member as creator", nil, Options{CreatedBy: me}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			if objs[orgc] != nil {
				t.Error("the org's identity is written although the member creates the objects")
			}
			for id, o := range objs {
				if _, sdo := o["created"]; sdo && o["created_by_ref"] != me {
					t.Errorf("%s created_by_ref %v", id, o["created_by_ref"])
				}
			}
			if objs["indicator--"+attr]["x_misp_orgc_name"] != "MISP" {
				t.Error("the MISP org is lost")
			}
		}},
		{"tlp tags are TLP 2.0 markings, inherited", func(e *Event) {
			e.Tag = []Tag{{Name: "tlp:amber"}, {Name: "osint:source-type=\"blog-post\""}}
			e.Attribute[1].Tag = []Tag{{Name: "TLP:RED"}, {Name: "kill-chain:Delivery"}}
		}, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			g := objs["grouping--"+evID]
			if jsonText(g["object_marking_refs"]) != `["`+stix.TLP2AmberID+`"]` || !strings.Contains(jsonText(g["labels"]), "blog-post") {
				t.Errorf("grouping markings %s labels %s", jsonText(g["object_marking_refs"]), jsonText(g["labels"]))
			}
			if jsonText(objs["indicator--"+attr]["object_marking_refs"]) != `["`+stix.TLP2AmberID+`"]` {
				t.Errorf("inherited: %s", jsonText(objs["indicator--"+attr]["object_marking_refs"]))
			}
			od := objs["observed-data--"+attr2]
			if jsonText(od["object_marking_refs"]) != `["`+stix.TLP2RedID+`"]` || !strings.Contains(jsonText(od["labels"]), "kill-chain:Delivery") {
				t.Errorf("own: %s %s", jsonText(od["object_marking_refs"]), jsonText(od["labels"]))
			}
			if objs[stix.TLP2AmberID] == nil || objs[stix.TLP2RedID] == nil {
				t.Error("marking definitions missing")
			}
		}},
		{"no marking objects for a node", func(e *Event) { e.Tag = []Tag{{Name: "tlp:green"}} }, Options{CreatedBy: me, NoMarkingObjects: true}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			if objs[stix.TLP2GreenID] != nil {
				t.Error("marking definition written")
			}
			if jsonText(objs["indicator--"+attr]["object_marking_refs"]) != `["`+stix.TLP2GreenID+`"]` {
				t.Error("marking not referenced")
			}
		}},
		// MISP moves a deleted attribute's timestamp: the indicator (or
		// observed-data) a node holds gets a revoked version, outside the
		// grouping, so readers and matchers drop it.
		{"a deleted attribute is a revoked version", func(e *Event) {
			e.Attribute[0].Deleted, e.Attribute[0].Timestamp = true, 1603650000
			e.Attribute[1].Deleted, e.Attribute[1].Timestamp = true, 1603650000
		}, Options{}, func(t *testing.T, objs map[string]map[string]any, unsupp []Unsupported) {
			for _, id := range []string{"indicator--" + attr, "observed-data--" + attr2} {
				o := objs[id]
				if o == nil || o["revoked"] != true || o["modified"] != "2020-10-25T18:20:00.000Z" {
					t.Errorf("%s: %v", id, o)
				}
				if strings.Contains(jsonText(objs["grouping--"+evID]["object_refs"]), id) {
					t.Errorf("the grouping references the deleted %s", id)
				}
			}
			if len(unsupp) != 0 {
				t.Errorf("unsupported %v", unsupp)
			}
		}},
		{"a deleted object is revoked with the id it had", func(e *Event) {
			e.Object = []Object{{UUID: "0f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10", Name: "domain-ip", Timestamp: 1603650000, Deleted: true, Attribute: []Attribute{
				{UUID: "1f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10", ObjectRelation: "domain", Type: "domain", Value: "evil.example", ToIDs: true, Deleted: true},
				{UUID: "2f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10", ObjectRelation: "ip", Type: "ip-dst", Value: "203.0.113.5", Deleted: true},
			}}}
		}, Options{}, func(t *testing.T, objs map[string]map[string]any, unsupp []Unsupported) {
			o := objs["indicator--0f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10"]
			if o == nil || o["revoked"] != true || !strings.Contains(jsonText(o["pattern"]), "evil.example") {
				t.Errorf("object: %v", o)
			}
			if len(unsupp) != 0 {
				t.Errorf("unsupported %v", unsupp)
			}
		}},
		// MISP's distribution: "0" (your organisation only) and "4" (a
		// sharing group) stay out, as MISP's synchronisation keeps them,
		// also when deleted (a revoked version would carry the value); an
		// attribute inherits ("5") its object's level and the event's caps
		// both.
		{"restricted attributes and objects are left out", func(e *Event) {
			e.Distribution = "1"
			e.Attribute[0].Distribution = "0"
			e.Attribute[1].Distribution, e.Attribute[1].Deleted = "4", true
			e.Attribute = append(e.Attribute, Attribute{UUID: "3f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10", Type: "domain", Value: "shared.example", ToIDs: true, Timestamp: 1603642920, Distribution: "5"})
			e.Object = []Object{
				{UUID: "0f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10", Name: "domain-ip", Timestamp: 1603650000, Distribution: "0", Attribute: []Attribute{
					{UUID: "1f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10", ObjectRelation: "domain", Type: "domain", Value: "inside.example", ToIDs: true, Distribution: "5"}}},
				{UUID: "4f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10", Name: "domain-ip", Timestamp: 1603650000, Distribution: "3", Attribute: []Attribute{
					{UUID: "5f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10", ObjectRelation: "domain", Type: "domain", Value: "out.example", ToIDs: true, Distribution: "5"},
					{UUID: "6f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10", ObjectRelation: "ip", Type: "ip-dst", Value: "192.0.2.77", ToIDs: true, Distribution: "4"}}},
			}
		}, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			all := ""
			for _, o := range objs {
				all += jsonText(o)
			}
			for _, v := range []string{"circl.lu", "1.2.3.4", "inside.example", "192.0.2.77"} {
				if strings.Contains(all, v) {
					t.Errorf("%s (restricted) was written", v)
				}
			}
			if objs["indicator--3f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10"] == nil || !strings.Contains(jsonText(objs["indicator--4f7d7c0e-5d3c-4b8a-9c51-6a7a3f4e2b10"]["pattern"]), "out.example") {
				t.Errorf("the shared attribute or object is missing")
			}
		}},
		{"a restricted event is left out whole", func(e *Event) { e.Distribution = "0" }, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			if len(objs) != 0 {
				t.Errorf("%d objects written", len(objs))
			}
		}},
		{"KeepRestricted maps them", func(e *Event) { e.Distribution, e.Attribute[0].Distribution = "4", "0" }, Options{KeepRestricted: true}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			if objs["indicator--"+attr] == nil {
				t.Errorf("indicator missing")
			}
		}},
		{"an attribute without a timestamp has the event's", func(e *Event) { e.Attribute[0].Timestamp = 0 }, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			if o := objs["indicator--"+attr]; o == nil || o["modified"] != "2020-10-25T16:22:00.000Z" || o["valid_from"] != "2020-10-25T16:22:00.000Z" {
				t.Errorf("indicator %v", o)
			}
		}},
		{"a deleted attribute of no mapping is not reported", func(e *Event) {
			e.Attribute = append(e.Attribute, Attribute{UUID: "5e384ae7-672c-4250-9cda-3b4da964451a", Type: "btc", Value: "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", Deleted: true})
		}, Options{}, func(t *testing.T, objs map[string]map[string]any, unsupp []Unsupported) {
			if len(unsupp) != 0 {
				t.Errorf("unsupported %v", unsupp)
			}
		}},
		// MISP before collection_uuid gave each cluster its collection's
		// uuid (PyMISP's tests/mispevent_testfiles/existing_event.json):
		// each value is its own object, not the first of the collection.
		{"clusters that share their collection's uuid stay apart", func(e *Event) {
			tools := Galaxy{Type: "tool", Name: "Tool", GalaxyCluster: []Cluster{
				{UUID: "0d821b68-9d82-4c6d-86a6-1071a9e0f79f", Value: "GAMEFISH"},
				{UUID: "0d821b68-9d82-4c6d-86a6-1071a9e0f79f", Value: "X-Tunnel"}}}
			private := Galaxy{Type: "mitre-malware", Name: "Malware", GalaxyCluster: []Cluster{
				{UUID: "7ab1b6a4-2b9c-4d8e-9f60-1c2d3e4f5a6b", Value: "One"},
				{UUID: "7ab1b6a4-2b9c-4d8e-9f60-1c2d3e4f5a6b", Value: "Two"}}}
			own := Galaxy{Type: "threat-actor", Name: "Threat Actor", GalaxyCluster: []Cluster{
				{UUID: "5b4ee3ea-eee3-4c8e-8323-85ae32658754", Value: "Sofacy"}}}
			// the collection uuid alone, on one attribute: still not a cluster's
			e.Attribute[0].Galaxy = []Galaxy{{Type: "tool", Name: "Tool", GalaxyCluster: []Cluster{{UUID: "0d821b68-9d82-4c6d-86a6-1071a9e0f79f", Value: "X-Agent"}}}}
			e.Galaxy = []Galaxy{tools, private, own}
		}, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			names := map[string]string{}
			for id, o := range objs {
				if n, ok := o["name"].(string); ok && typeOf(id) != "grouping" && typeOf(id) != "identity" {
					names[n] = id
				}
			}
			for _, n := range []string{"GAMEFISH", "X-Tunnel", "X-Agent", "One", "Two", "Sofacy"} {
				if names[n] == "" {
					t.Errorf("no object named %s (have %v)", n, names)
				}
			}
			if names["Sofacy"] != "threat-actor--5b4ee3ea-eee3-4c8e-8323-85ae32658754" {
				t.Errorf("a cluster's own uuid is not kept: %s", names["Sofacy"])
			}
			if names["GAMEFISH"] != "tool--"+uuidV5("cluster tool GAMEFISH") {
				t.Errorf("GAMEFISH: %s", names["GAMEFISH"])
			}
			if !strings.Contains(jsonText(objs["grouping--"+evID]["object_refs"]), names["X-Agent"]) {
				t.Error("the grouping does not reference X-Agent")
			}
		}},
		{"unsupported types are listed", func(e *Event) {
			e.Attribute = append(e.Attribute, Attribute{UUID: "5e384ae7-672c-4250-9cda-3b4da964451a", Type: "btc", Value: "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"})
		}, Options{}, func(t *testing.T, _ map[string]map[string]any, unsupp []Unsupported) {
			if len(unsupp) != 1 || unsupp[0].Name != "btc" || unsupp[0].Kind != "attribute" {
				t.Errorf("unsupported %v", unsupp)
			}
		}},
		{"bad values are listed", func(e *Event) { e.Attribute[0].Type, e.Attribute[0].Value = "md5", "not a hash" }, Options{}, func(t *testing.T, objs map[string]map[string]any, unsupp []Unsupported) {
			if len(unsupp) != 1 || unsupp[0].UUID != attr || !strings.Contains(unsupp[0].Reason, "invalid") {
				t.Errorf("unsupported %v", unsupp)
			}
			if strings.Contains(jsonText(objs["grouping--"+evID]["object_refs"]), attr) {
				t.Error("the grouping references the dropped indicator")
			}
		}},
		{"empty event", func(e *Event) { e.Attribute = nil }, Options{}, func(t *testing.T, objs map[string]map[string]any, _ []Unsupported) {
			if jsonText(objs["grouping--"+evID]["object_refs"]) != `["`+orgc+`"]` {
				t.Errorf("object_refs %s", jsonText(objs["grouping--"+evID]["object_refs"]))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := base()
			if tc.edit != nil {
				tc.edit(ev)
			}
			objs, unsupp := convertOne(t, ev, tc.opt)
			tc.check(t, objs, unsupp)
		})
	}
}

// TestGalaxiesAndSightings checks clusters, relationships and sightings
// on misp-stix's test event.
func TestGalaxiesAndSightings(t *testing.T) {
	ev := testEvent(t)
	// The domain attribute carries a malware cluster; its indicator indicates it.
	ev.Attribute[1].Galaxy = []Galaxy{{Type: "mitre-malware", Name: "Malware", GalaxyCluster: []Cluster{{UUID: "b8eb28e4-48a6-40ae-951a-328714f75eda", Value: "BISCUIT - S0017"}}}}
	objs, _ := convertOne(t, ev, Options{})
	for _, tc := range []struct{ id, typ string }{
		{"threat-actor--11e17436-6ede-4733-8547-4ce0254ea19e", "threat-actor"},
		{"intrusion-set--d6e88e18-81e8-4709-82d8-973095da1e70", "intrusion-set"},
		{"malware--b8eb28e4-48a6-40ae-951a-328714f75eda", "malware"},
		{"tool--bba595da-b73a-4354-aa6c-224d4de7cb4e", "tool"},
		{"attack-pattern--e042a41b-5ecf-4f3a-8f1f-1b528c534772", "attack-pattern"},
		{"course-of-action--2497ac92-e751-4391-82c6-1b86e34d0294", "course-of-action"},
		{"vulnerability--a1640081-aa8d-4070-84b2-d23e2ae82799", "vulnerability"},
	} {
		o := objs[tc.id]
		if o == nil {
			var have []string
			for id := range objs {
				if strings.HasPrefix(id, tc.typ+"--") {
					have = append(have, id)
				}
			}
			t.Errorf("no %s (have %v)", tc.id, have)
			continue
		}
		if !strings.Contains(jsonText(objs["report--"+ev.UUID]["object_refs"]), tc.id) {
			t.Errorf("the report does not reference %s", tc.id)
		}
	}
	rels := map[string]bool{}
	for _, o := range objs {
		if o["type"] == "relationship" {
			rels[typeOf(o["source_ref"].(string))+" "+o["relationship_type"].(string)+" "+o["target_ref"].(string)] = true
		}
	}
	for _, want := range []string{
		"indicator indicates malware--b8eb28e4-48a6-40ae-951a-328714f75eda",
		"threat-actor uses tool--bba595da-b73a-4354-aa6c-224d4de7cb4e",
		"intrusion-set uses attack-pattern--e042a41b-5ecf-4f3a-8f1f-1b528c534772",
		"malware uses attack-pattern--e042a41b-5ecf-4f3a-8f1f-1b528c534772",
	} {
		if !rels[want] {
			t.Errorf("no relationship %q in %v", want, rels)
		}
	}
	// Sightings of type 0 are STIX sightings where the org is.
	s := objs["sighting--5125aa81-ab95-4cdf-83f9-3c467207307d"]
	if s == nil || s["sighting_of_ref"] != "observed-data--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f" || jsonText(s["where_sighted_refs"]) != `["identity--55f6ea5e-2c60-40e5-964f-47a8950d210f"]` || s["created"] != "2020-10-25T16:22:05.000Z" {
		t.Errorf("sighting %v", s)
	}
	if s := objs["sighting--5533d0db-b952-4609-b82d-59017f2454fc"]; s == nil || s["sighting_of_ref"] != "indicator--518b4bcb-a86b-4783-9457-391d548b605b" {
		t.Errorf("sighting of the indicator: %v", s)
	}
	if objs["identity--55f6ea5e-2c60-40e5-964f-47a8950d210f"]["name"] != "CIRCL" {
		t.Error("no identity for the sighting org")
	}
	if objs["sighting--ec85cc8c-205f-4b19-8f96-73ef80d24d13"] != nil {
		t.Error("a false positive became a sighting")
	}
}

// TestObjectTemplates checks the pattern each supported template makes
// of misp-stix's test objects.
func TestObjectTemplates(t *testing.T) {
	ev := testEvent(t)
	want := map[string]string{
		"file":               "[file:name = 'oui' AND file:hashes.MD5 = '8764605c6f388c89096b534d33565802' AND file:hashes.'SHA-1' = '46aba99aa7158e4609aaa72b50990842fd22ae86' AND file:hashes.'SHA-256' = 'ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b' AND file:size = 35 AND file:x_misp_path = '/var/www/MISP/app/files/scripts/tmp' AND file:x_misp_file_encoding = 'UTF-8' AND file:x_misp_creation_time = '2021-10-25T16:22:00Z' AND file:x_misp_modification_time = '2022-10-25T16:22:00Z']",
		"domain-ip":          "[domain-name:value = 'circl.lu' AND domain-name:resolves_to_refs[*].value = '149.13.33.14']",
		"ip-port":            "[((network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '149.13.33.14') OR (network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'circl.lu')) AND network-traffic:dst_port = 443 AND network-traffic:x_misp_first_seen = '2020-10-25T16:22:00Z']",
		"network-connection": "[(network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '1.2.3.4') AND ((network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '5.6.7.8') OR (network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'circl.lu')) AND network-traffic:src_port = 8080 AND network-traffic:dst_port = 8080 AND network-traffic:protocols[*] = 'ip' AND network-traffic:protocols[*] = 'tcp' AND network-traffic:protocols[*] = 'http']",
		"url":                "[url:value = 'https://www.circl.lu/team' AND url:x_misp_domain = 'circl.lu' AND url:x_misp_host = 'www.circl.lu' AND url:x_misp_ip = '149.13.33.14' AND url:x_misp_port = '443']",
		"mutex":              "[mutex:name = 'MutexTest' AND mutex:x_misp_description = 'Test mutex on unix' AND mutex:x_misp_operating_system = 'Unix']",
		"asn":                "[autonomous-system:number = 66642 AND autonomous-system:x_misp_description = 'AS name' AND autonomous-system:x_misp_subnet_announced[*] = '1.2.3.4' AND autonomous-system:x_misp_subnet_announced[*] = '8.8.8.8']",
	}
	for i := range ev.Object {
		for j := range ev.Object[i].Attribute {
			ev.Object[i].Attribute[j].ToIDs = true
		}
	}
	objs, _ := convertOne(t, ev, Options{})
	for i := range ev.Object {
		o := &ev.Object[i]
		ind := objs["indicator--"+o.UUID]
		if _, known := templates[o.Name]; !known {
			if ind != nil {
				t.Errorf("%s: unknown template made an indicator", o.Name)
			}
			continue
		}
		if ind == nil {
			t.Errorf("%s: no indicator", o.Name)
			continue
		}
		if !strings.Contains(jsonText(ind["labels"]), `misp:name=\"`+o.Name+`\"`) {
			t.Errorf("%s: labels %s", o.Name, jsonText(ind["labels"]))
		}
		if w, ok := want[o.Name]; ok && ind["pattern"] != w {
			t.Errorf("%s:\n got %s\nwant %s", o.Name, ind["pattern"], w)
		}
	}
	// Without to_ids: observed-data with observables that reference
	// each other as the pattern says.
	objs, _ = convertOne(t, testEvent(t), Options{})
	nc := observableOf(t, objs, "observed-data--5afacc53-c0b0-4825-a6ee-03c80a00020f", "network-traffic")
	if nc == nil || !strings.HasPrefix(nc["src_ref"].(string), "ipv4-addr--") || nc["src_port"] != float64(8080) || jsonText(nc["protocols"]) != `["ip","tcp","http"]` {
		t.Errorf("network-connection observable %v", nc)
	}
	email := observableOf(t, objs, "observed-data--5e396622-2a54-4c8d-b61d-159da964451a", "email-message")
	if email == nil || email["subject"] != "Email test subject" || len(email["to_refs"].([]any)) != 1 || len(email["cc_refs"].([]any)) != 2 {
		t.Errorf("email observable %v", email)
	}
}

// TestObjectsAgainstMispStix converts misp-stix's documented objects:
// each known template makes a valid indicator and valid observed-data,
// each other one is listed.
func TestObjectsAgainstMispStix(t *testing.T) {
	doc := loadDoc(t, "misp_objects_to_stix21.json")
	for _, name := range keys(doc) {
		var objs []Object
		raw := doc[name].MISP
		if raw[0] == '[' {
			if err := json.Unmarshal(raw, &objs); err != nil {
				t.Fatal(err)
			}
		} else {
			var o Object
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			objs = []Object{o}
		}
		for _, toIDs := range []bool{true, false} {
			for i := range objs {
				for j := range objs[i].Attribute {
					objs[i].Attribute[j].ToIDs = Bool(toIDs)
				}
			}
			res := NewConverter(Options{}).Convert(event(nil, objs))
			unsupp := map[string]bool{}
			for _, u := range res.Unsupported {
				// A value the observed-data cannot hold is reported, the
				// object written (TestRepeatedRelationObservedIsReported).
				if !strings.Contains(u.Reason, " not written: ") {
					unsupp[u.UUID] = true
				}
			}
			for _, o := range objs {
				tpl, known := templates[o.Name]
				for _, a := range o.Attribute {
					// A relation the template cannot place lists the
					// object (a process's parent-image).
					if _, refused := tpl.refused[a.ObjectRelation]; refused {
						known = false
					}
				}
				if known == unsupp[o.UUID] {
					t.Errorf("%s (%s, to_ids %v): known %v, listed unsupported %v: %v", name, o.Name, toIDs, known, unsupp[o.UUID], res.Unsupported)
				}
			}
		}
	}
}

func TestRelationshipName(t *testing.T) {
	for in, want := range map[string]string{"analysed-with": "analysed-with", "Drops": "drops", "connected to": "connected-to", "  ": "related-to", "a__b": "a-b"} {
		if got := relationshipName(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func FuzzReadEvents(f *testing.F) {
	names, _ := filepath.Glob("testdata/*.json")
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"response":[{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","Attribute":[{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83867","type":"domain|ip","value":"a.b|1.2.3.4","to_ids":true}]}}]}`))
	for _, s := range hostileTemplateSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := ParseEvents(data)
		if err != nil {
			return
		}
		c := NewConverter(Options{})
		for _, ev := range evs {
			res := c.Convert(ev)
			for _, u := range res.Unsupported {
				// What a crafted event makes of an error is bounded and
				// cannot drive a terminal.
				if s := u.String(); len(s) > 1400 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }) {
					t.Fatalf("unsupported (%d bytes): %.300q", len(s), s)
				}
			}
			for _, raw := range res.Objects {
				o, err := stix.Parse(raw)
				if err != nil {
					t.Fatalf("unparsable output %s: %v", raw, err)
				}
				if err := validator.Validate(o); err != nil {
					t.Fatalf("invalid output %s: %v", raw, err)
				}
			}
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"57c4445b-c548-4654-af0b-4be3950d210f":{"info":"x","timestamp":"1472541011","Orgc":{"name":"CIRCL"}}}`))
	f.Add([]byte(`{"../x":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		for id := range m {
			if !validUUID(id) || strings.ContainsAny(id, "/\\.") {
				t.Fatalf("accepted %q as an event uuid", id)
			}
		}
	})
}

// TestObservablesOnce checks that observables, whose ids are the
// deterministic ones of STIX 2.1 section 2.9, are written once per
// converter however many attributes and objects hold their value (of
// the forms one event gives, the shortest, in whatever order the event
// lists them; an earlier event's stays), and that every reference still
// resolves.
func TestObservablesOnce(t *testing.T) {
	attr := func(u, typ, v string) Attribute {
		return Attribute{UUID: u, Type: typ, Category: "Network activity", Value: v, Timestamp: 1603642920}
	}
	obj := func(u, name string, attrs ...Attribute) Object {
		for i := range attrs {
			attrs[i].ObjectRelation, attrs[i].Type = attrs[i].Type, map[string]string{"domain": "domain", "ip": "ip-dst", "ip-src": "ip-src", "ip-dst": "ip-dst"}[attrs[i].Type]
		}
		return Object{UUID: u, Name: name, Timestamp: 1603642920, Attribute: attrs}
	}
	ipID, err := stix.DeterministicID("ipv4-addr", map[string]any{"value": "1.2.3.4"})
	if err != nil {
		t.Fatal(err)
	}
	domainID, _ := stix.DeterministicID("domain-name", map[string]any{"value": "circl.lu"})
	first := event([]Attribute{
		attr("11111111-1111-4111-8111-111111111111", "ip-dst", "1.2.3.4"),
		attr("22222222-2222-4222-8222-222222222222", "ip-src", "1.2.3.4"),
		attr("33333333-3333-4333-8333-333333333333", "domain", "circl.lu"),
	}, []Object{
		// The same domain-name id with resolves_to_refs: the attribute's
		// domain-name, shorter, stays (TestReorderedEventSameBytes reverses
		// such an event).
		obj("44444444-4444-4444-8444-444444444444", "domain-ip",
			attr("55555555-5555-4555-8555-555555555555", "domain", "circl.lu"),
			attr("66666666-6666-4666-8666-666666666666", "ip", "1.2.3.4")),
		// Source and destination the same address: one ipv4-addr.
		obj("77777777-7777-4777-8777-777777777777", "network-connection",
			attr("88888888-8888-4888-8888-888888888888", "ip-src", "1.2.3.4"),
			attr("99999999-9999-4999-8999-999999999999", "ip-dst", "1.2.3.4")),
	})
	second := event([]Attribute{attr("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "ip-dst", "1.2.3.4")}, nil)
	second.UUID = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	c := NewConverter(Options{})
	byID := map[string]map[string]any{}
	count := map[string]int{}
	var results [][]map[string]any
	for _, ev := range []*Event{first, second} {
		res := c.Convert(ev)
		if len(res.Unsupported) > 0 {
			t.Fatalf("unsupported: %v", res.Unsupported)
		}
		var objs []map[string]any
		for _, raw := range res.Objects {
			o, err := stix.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := stix.CheckDeterministicID(o); err != nil {
				t.Error(err)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			count[o.ID]++
			byID[o.ID] = m
			objs = append(objs, m)
		}
		results = append(results, objs)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("%s written %d times", id, n)
		}
	}
	if count[ipID] != 1 || count[domainID] != 1 {
		t.Fatalf("ipv4-addr written %d times, domain-name %d times, want once", count[ipID], count[domainID])
	}
	if _, ok := byID[domainID]["resolves_to_refs"]; ok {
		t.Errorf("the domain-name is domain-ip's, not the first one written: %v", byID[domainID])
	}
	for _, objs := range results {
		for _, m := range objs {
			for _, k := range []string{"object_refs", "src_ref", "dst_ref", "resolves_to_refs", "sighting_of_ref"} {
				refs := stringList(m[k])
				if s, ok := m[k].(string); ok {
					refs = []string{s}
				}
				for _, r := range refs {
					if byID[r] == nil {
						t.Errorf("%s %s: %s does not resolve", m["id"], k, r)
					}
				}
				if len(dedupe(refs)) != len(refs) {
					t.Errorf("%s %s repeats an id: %v", m["id"], k, refs)
				}
			}
		}
	}
	// Each attribute keeps its observed-data, named by its uuid, which
	// references the one ipv4-addr.
	for _, u := range []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"} {
		od := byID["observed-data--"+u]
		if od == nil || !slices.Contains(stringList(od["object_refs"]), ipID) {
			t.Errorf("observed-data--%s: %v", u, od)
		}
	}
	nc := observableOf(t, byID, "observed-data--77777777-7777-4777-8777-777777777777", "network-traffic")
	if nc == nil || nc["src_ref"] != ipID || nc["dst_ref"] != ipID {
		t.Errorf("network-connection: %v", nc)
	}
	dip := byID["observed-data--44444444-4444-4444-8444-444444444444"]
	if dip == nil || !slices.Equal(stringList(dip["object_refs"]), []string{domainID, ipID}) {
		t.Errorf("domain-ip observed-data: %v", dip)
	}
	// The feed export still gives the domain-ip object its address, which
	// the shared domain-name does not reference.
	var all []*stix.Object
	for _, m := range results[0] {
		o, err := stix.Parse([]byte(jsonText(m)))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, o)
	}
	f := FeedFromSTIX(all, EventFor("test"))
	var got []string
	for _, ev := range f.Events {
		for _, o := range ev.Object {
			if o.UUID == "44444444-4444-4444-8444-444444444444" {
				for _, a := range o.Attribute {
					got = append(got, a.ObjectRelation+" "+a.Type+" "+a.Value)
				}
			}
		}
	}
	sort.Strings(got)
	if want := []string{"domain domain circl.lu", "ip ip-dst 1.2.3.4"}; !slices.Equal(got, want) {
		t.Errorf("domain-ip in the feed: %q, want %q", got, want)
	}
}

// TestReadEventsNamesTheBadEvent: a malformed event among many is named
// by its place in the list and its byte offset, and an error of the
// callback comes back as it was, without a position or ErrFormat.
func TestReadEventsNamesTheBadEvent(t *testing.T) {
	const good = `{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"x","timestamp":"1465681801"}}`
	bad := `{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","Attribute":"oops"}}`
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"response", `{"response":[` + good + `,` + good + `,` + bad + `]}`, fmt.Sprintf("event 3 of the list (at byte %d): not MISP JSON: Event:", len(`{"response":[`+good+`,`+good+`,`))},
		{"array", `[` + good + `, ` + bad + `]`, fmt.Sprintf("event 2 of the list (at byte %d): not MISP JSON", len(`[`+good+`, `))},
		{"not an object", `[` + good + `,7]`, fmt.Sprintf("event 2 of the list (at byte %d): not MISP JSON: not an object", len(`[`+good+`,`))},
		{"bad uuid", `{"response":[` + good + `,{"Event":{"uuid":"nope"}}]}`, fmt.Sprintf(`event 2 of the list (at byte %d): not MISP JSON: event uuid "nope" is not a UUID`, len(`{"response":[`+good+`,`))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := ReadEvents(strings.NewReader(tc.doc), func(*Event) error { n++; return nil })
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one with %q", err, tc.want)
			}
		})
	}
	stop := errors.New("stop")
	err := ReadEvents(strings.NewReader(`{"response":[`+good+`,`+good+`]}`), func(*Event) error { return stop })
	if err != stop {
		t.Errorf("the callback's error came back as %v", err)
	}
}

// TestOldClusterUUIDs: in PyMISP's existing_event.json (MISP before
// collection_uuid) every cluster's uuid is its collection's: 14 clusters
// under 4 uuids. Each becomes its own object; none is lost.
func TestOldClusterUUIDs(t *testing.T) {
	b, err := os.ReadFile("testdata/pymisp_existing_event_galaxies.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ParseEvents(b)
	if err != nil || len(evs) != 1 {
		t.Fatal(err)
	}
	c := NewConverter(Options{})
	r := c.Convert(evs[0])
	if len(r.Unsupported) != 0 {
		t.Errorf("unsupported %v", r.Unsupported)
	}
	want := map[string]string{ // value -> STIX type, as galaxyKind maps the galaxy
		"Sofacy": "threat-actor", "Sednit EK": "malware", "DealersChoice": "malware",
		"GAMEFISH": "tool", "X-Tunnel": "tool", "EVILTOSS": "tool", "X-Agent": "tool",
		"JHUHUGIT": "malware", "XTunnel": "malware", "ADVSTORESHELL": "malware", "USBStealer": "malware",
		"XAgentOSX": "malware", "CHOPSTICK": "malware", "Downdelph": "malware",
	}
	got := map[string]string{}
	for _, raw := range r.Objects {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		typ, _ := m["type"].(string)
		if typ == "threat-actor" || typ == "malware" || typ == "tool" {
			got[m["name"].(string)] = typ
			if _, ok := galaxyCollections[strings.TrimPrefix(m["id"].(string), typ+"--")]; ok {
				t.Errorf("%s has its collection's uuid: %s", m["name"], m["id"])
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("clusters %v, want %v", got, want)
	}
	if c.Stats.Clusters != 14 {
		t.Errorf("%d clusters counted", c.Stats.Clusters)
	}
}

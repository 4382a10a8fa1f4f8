package misp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

func parseAll(t *testing.T, raws ...string) []*stix.Object {
	t.Helper()
	var out []*stix.Object
	for _, r := range raws {
		o, err := stix.Parse([]byte(r))
		if err != nil {
			t.Fatalf("%v: %s", err, r)
		}
		out = append(out, o)
	}
	return out
}

// TestFeedSightings: the STIX sightings of exported indicators are MISP
// sightings on their attributes (one per counted instance, the first
// keeping the sighting's uuid and dated first_seen, the others last_seen;
// the organisation where it was sighted); a sighting of an indicator the
// input does not hold, of one without MISP form, or of count 0 is not
// written, and a MISP object's sightings go on its first attribute.
func TestFeedSightings(t *testing.T) {
	const (
		ind  = "indicator--5758ebf5-c898-48e6-9fe9-5665c0a83867"
		obj  = "indicator--5758ebf5-c898-48e6-9fe9-5665c0a83872"
		org  = "identity--55f6ea5e-2c60-40e5-964f-47a8950d210f"
		s1   = "sighting--6758ebf5-c898-48e6-9fe9-5665c0a83867"
		s3   = "sighting--6758ebf5-c898-48e6-9fe9-5665c0a83868"
		sObj = "sighting--6758ebf5-c898-48e6-9fe9-5665c0a83869"
	)
	objs := parseAll(t,
		`{"type":"indicator","spec_version":"2.1","id":"`+ind+`","created":"2016-06-11T21:50:01Z","modified":"2016-06-11T21:50:01Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2016-06-11T21:50:01Z","labels":["misp:type=\"domain\""]}`,
		`{"type":"indicator","spec_version":"2.1","id":"`+obj+`","created":"2016-06-11T21:50:01Z","modified":"2016-06-11T21:50:01Z","pattern":"[domain-name:value = 'c2.evil.example' AND domain-name:resolves_to_refs[*].value = '203.0.113.5']","pattern_type":"stix","valid_from":"2016-06-11T21:50:01Z","labels":["misp:name=\"domain-ip\"","misp:meta-category=\"network\""]}`,
		`{"type":"identity","spec_version":"2.1","id":"`+org+`","created":"2016-01-01T00:00:00Z","modified":"2016-01-01T00:00:00Z","name":"CIRCL","identity_class":"organization"}`,
		`{"type":"sighting","spec_version":"2.1","id":"`+s1+`","created":"2016-06-11T21:50:50Z","modified":"2016-06-11T21:50:50Z","first_seen":"2016-06-11T21:50:50Z","last_seen":"2016-06-11T21:50:50Z","count":1,"sighting_of_ref":"`+ind+`","where_sighted_refs":["`+org+`"]}`,
		`{"type":"sighting","spec_version":"2.1","id":"`+s3+`","created":"2026-01-03T00:00:00Z","modified":"2026-01-03T00:00:00Z","first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-02T00:00:00Z","count":3,"sighting_of_ref":"`+ind+`"}`,
		`{"type":"sighting","spec_version":"2.1","id":"`+sObj+`","created":"2026-01-03T00:00:00Z","modified":"2026-01-03T00:00:00Z","sighting_of_ref":"`+obj+`"}`,
		// count 0, a sighting of an indicator not in the input, of a
		// malware: none written
		`{"type":"sighting","spec_version":"2.1","id":"sighting--00000000-0000-4000-8000-000000000001","created":"2026-01-03T00:00:00Z","modified":"2026-01-03T00:00:00Z","count":0,"sighting_of_ref":"`+ind+`"}`,
		`{"type":"sighting","spec_version":"2.1","id":"sighting--00000000-0000-4000-8000-000000000002","created":"2026-01-03T00:00:00Z","modified":"2026-01-03T00:00:00Z","sighting_of_ref":"indicator--00000000-0000-4000-8000-0000000000ff"}`,
	)
	f := FeedFromSTIX(objs, EventFor("test"))
	if len(f.Events) != 1 {
		t.Fatalf("%d events", len(f.Events))
	}
	ev := f.Events[0]
	var a *Attribute
	for i := range ev.Attribute {
		if ev.Attribute[i].UUID == "5758ebf5-c898-48e6-9fe9-5665c0a83867" {
			a = &ev.Attribute[i]
		}
	}
	if a == nil {
		t.Fatalf("no attribute for the indicator: %+v", ev.Attribute)
	}
	if len(a.Sighting) != 4 {
		t.Fatalf("%d sightings on the attribute, want 4 (1 + count 3): %+v", len(a.Sighting), a.Sighting)
	}
	first := a.Sighting[0]
	if first.UUID != "6758ebf5-c898-48e6-9fe9-5665c0a83867" || first.DateSighting != 1465681850 || first.Type != "0" ||
		first.AttributeUUID != a.UUID || first.Organisation == nil || first.Organisation.Name != "CIRCL" ||
		first.Organisation.UUID != "55f6ea5e-2c60-40e5-964f-47a8950d210f" {
		t.Errorf("first sighting %+v %+v", first, first.Organisation)
	}
	var dates []Timestamp
	kept := 0
	for _, s := range a.Sighting[1:] {
		dates = append(dates, s.DateSighting)
		if s.UUID == "6758ebf5-c898-48e6-9fe9-5665c0a83868" {
			kept++
		}
		if s.Organisation != nil {
			t.Errorf("anonymous sighting has an organisation: %+v", s)
		}
	}
	jan1, jan2, jan3 := Timestamp(1767225600), Timestamp(1767312000), Timestamp(1767398400)
	if kept != 1 || dates[0] != jan1 || dates[1] != jan2 || dates[2] != jan3 || a.Sighting[3].UUID != "6758ebf5-c898-48e6-9fe9-5665c0a83868" {
		t.Errorf("count 3: %d keep the uuid, dates %v; want 1, [first_seen last_seen created], the last the first instance", kept, dates)
	}
	if len(ev.Object) != 1 || len(ev.Object[0].Attribute[0].Sighting) != 1 || ev.Object[0].Attribute[0].Sighting[0].UUID != "6758ebf5-c898-48e6-9fe9-5665c0a83869" {
		t.Errorf("the object's sighting is not on its first attribute: %+v", ev.Object)
	}
	for _, at := range ev.Object[0].Attribute[1:] {
		if len(at.Sighting) > 0 {
			t.Errorf("a later attribute of the object has sightings: %+v", at)
		}
	}
	// Written and read back: the import makes the same sighting ids.
	dir := t.TempDir()
	if err := WriteFeed(dir, f); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ev.UUID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"Sighting":[{"uuid":"6758ebf5-c898-48e6-9fe9-5665c0a83867","attribute_uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83867","date_sighting":"1465681850","type":"0","Organisation":{"uuid":"55f6ea5e-2c60-40e5-964f-47a8950d210f","name":"CIRCL"}}`) {
		t.Errorf("feed event lacks the sighting in MISP's form:\n%s", data)
	}
	evs, err := ParseEvents(data)
	if err != nil {
		t.Fatal(err)
	}
	r := NewConverter(Options{}).Convert(evs[0])
	ids := map[string]map[string]any{}
	for _, raw := range r.Objects {
		var m map[string]any
		json.Unmarshal(raw, &m)
		ids[m["id"].(string)] = m
	}
	if s := ids[s1]; s == nil || s["sighting_of_ref"] != ind || s["first_seen"] != "2016-06-11T21:50:50.000Z" {
		t.Errorf("imported back: %v", s)
	}
	// The three instances of s3 fold back into one sighting of count 3.
	if s := ids[s3]; s == nil || s["count"] != float64(3) || s["first_seen"] != "2026-01-01T00:00:00.000Z" ||
		s["last_seen"] != "2026-01-02T00:00:00.000Z" || s["created"] != "2026-01-03T00:00:00.000Z" {
		t.Errorf("count 3 imported back: %v", s)
	}
	// The event the export made of the objects no report held is no
	// one's report: importing it back writes no grouping.
	if n := len(r.Objects); n != 7 {
		t.Errorf("imported back %d objects, want 7 (2 indicators, 2 identities, 3 sightings; no grouping)", n)
		for _, raw := range r.Objects {
			t.Logf("%s", raw)
		}
	}
	if s := ids[sObj]; s == nil || s["sighting_of_ref"] != obj {
		t.Errorf("the object's sighting imported back: %v", s)
	}
}

// TestFeedSightingsCapped: a sighting counted more often than
// maxSightings is that many MISP sightings, and listed.
func TestFeedSightingsCapped(t *testing.T) {
	objs := parseAll(t,
		`{"type":"indicator","spec_version":"2.1","id":"indicator--5758ebf5-c898-48e6-9fe9-5665c0a83867","created":"2016-06-11T21:50:01Z","modified":"2016-06-11T21:50:01Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2016-06-11T21:50:01Z"}`,
		`{"type":"sighting","spec_version":"2.1","id":"sighting--6758ebf5-c898-48e6-9fe9-5665c0a83868","created":"2026-01-03T00:00:00Z","modified":"2026-01-03T00:00:00Z","count":999999999,"sighting_of_ref":"indicator--5758ebf5-c898-48e6-9fe9-5665c0a83867"}`)
	f := FeedFromSTIX(objs, EventFor("test"))
	if n := len(f.Events[0].Attribute[0].Sighting); n != maxSightings {
		t.Errorf("%d MISP sightings, want %d", n, maxSightings)
	}
	if len(f.Unsupported) != 1 || !strings.Contains(f.Unsupported[0].Reason, "count 999999999") {
		t.Errorf("unsupported %+v", f.Unsupported)
	}
}

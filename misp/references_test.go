package misp

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// loadEvent reads the one event of a testdata file.
func loadEvent(t *testing.T, name string) *Event {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ParseEvents(b)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%s: %d events, %v", name, len(evs), err)
	}
	return evs[0]
}

// stixOf converts events and parses what the converter wrote.
func stixOf(t *testing.T, opt Options, evs ...*Event) ([]*stix.Object, []Unsupported) {
	t.Helper()
	c := NewConverter(opt)
	var objs []*stix.Object
	var unsupp []Unsupported
	for _, ev := range evs {
		r := c.Convert(ev)
		unsupp = append(unsupp, r.Unsupported...)
		for _, raw := range r.Objects {
			o, err := stix.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			objs = append(objs, o)
		}
	}
	return objs, unsupp
}

func relationshipsOf(objs []*stix.Object) []string {
	var out []string
	for _, o := range objs {
		if o.Type == "relationship" {
			out = append(out, o.ID+" "+str(o, "source_ref")+" "+str(o, "relationship_type")+" "+str(o, "target_ref"))
		}
	}
	sort.Strings(out)
	return out
}

// TestFeedObjectReferences: the object references of a CIRCL event (18
// file objects that "communicates-with" domain-ip objects and domain
// attributes) become relationships, go back into the feed as the
// objects' ObjectReference, and import again as the same relationships.
// The export used to drop every one of them without a word.
func TestFeedObjectReferences(t *testing.T) {
	ev := loadEvent(t, "pymisp_existing_event_objects.json")
	// A comment on one reference (the event's have none) is the
	// relationship's description, and the reference's comment again.
	ev.Object[0].ObjectReference[0].Comment = "C2 of the dropper"
	var want []string
	for _, o := range ev.Object {
		for _, r := range o.ObjectReference {
			want = append(want, o.UUID+" "+r.RelationshipType+" "+r.ReferencedUUID)
		}
	}
	sort.Strings(want)
	if len(want) != 20 {
		t.Fatalf("%d references in the test event, want 20", len(want))
	}
	objs, unsupp := stixOf(t, Options{}, ev)
	if len(unsupp) > 0 {
		t.Fatalf("unsupported: %v", unsupp)
	}
	rels := relationshipsOf(objs)
	if len(rels) != 20 {
		t.Fatalf("%d relationships, want 20: %q", len(rels), rels)
	}
	feed := FeedFromSTIX(objs, EventFor("test"))
	if len(feed.Unsupported) > 0 {
		t.Errorf("no MISP form: %v", feed.Unsupported)
	}
	dir := t.TempDir()
	if err := WriteFeed(dir, feed); err != nil {
		t.Fatal(err)
	}
	back := loadFeedEvent(t, dir, ev.UUID)
	var got []string
	for _, o := range back.Object {
		for _, r := range o.ObjectReference {
			got = append(got, o.UUID+" "+r.RelationshipType+" "+r.ReferencedUUID)
			if r.ObjectUUID != o.UUID || r.UUID == "" {
				t.Errorf("reference %+v of object %s", r, o.UUID)
			}
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("references in the feed:\n%q\nwant\n%q", got, want)
	}
	if r := back.Object[slices.IndexFunc(back.Object, func(o Object) bool { return o.UUID == ev.Object[0].UUID })].ObjectReference; r[0].Comment != "C2 of the dropper" {
		t.Errorf("reference %+v", r[0])
	}
	again, _ := stixOf(t, Options{}, back)
	if g := relationshipsOf(again); !slices.Equal(g, rels) {
		t.Errorf("imported again:\n%q\nwant\n%q", g, rels)
	}
}

// TestFeedRelationshipWithoutMISPForm: a relationship that no MISP
// object reference can hold (its source is an attribute, or it leaves
// the feed) is listed, not dropped silently; those the import makes of
// galaxies (a cluster on an attribute, "uses" among an event's clusters)
// are not.
func TestFeedRelationshipWithoutMISPForm(t *testing.T) {
	gal, _ := stixOf(t, Options{}, loadEvent(t, "pymisp_existing_event_galaxies.json"))
	if len(relationshipsOf(gal)) == 0 {
		t.Fatal("no relationships of galaxies")
	}
	if f := FeedFromSTIX(gal, EventFor("test")); len(f.Unsupported) > 0 {
		t.Fatalf("the import's own relationships listed: %v", f.Unsupported)
	}
	ev := loadEvent(t, "pymisp_existing_event_objects.json")
	objs, _ := stixOf(t, Options{}, ev)
	// Two attributes of the event (not objects): no object references them.
	var ind []*stix.Object
	for _, o := range objs {
		if o.ID == "indicator--"+ev.Attribute[0].UUID || o.ID == "indicator--"+ev.Attribute[1].UUID {
			ind = append(ind, o)
		}
	}
	if len(ind) != 2 {
		t.Fatalf("%d indicators of attributes", len(ind))
	}
	// A file object (the source of the event's first reference).
	file := "indicator--" + ev.Object[0].UUID
	rel := func(id, src, dst string) string {
		return `{"type":"relationship","spec_version":"2.1","id":"` + id + `","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"related-to","source_ref":"` + src + `","target_ref":"` + dst + `"}`
	}
	missing := "indicator--0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
	for _, r := range []string{
		rel(referenceID(ind[0].ID, "related-to", ind[1].ID), ind[0].ID, ind[1].ID), // from an attribute
		rel(referenceID(file, "related-to", missing), file, missing),               // out of the input
		rel("relationship--7f0c2a43-5d0e-4c1b-9a55-0f6a8d1e2b31", file, ind[1].ID), // made in STIX
	} {
		o, err := stix.Parse(json.RawMessage(r))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	f := FeedFromSTIX(objs, EventFor("test"))
	var got []string
	for _, u := range f.Unsupported {
		got = append(got, u.Reason)
	}
	if len(got) != 3 || !strings.Contains(got[0], "link a MISP object") || !strings.Contains(got[1], "not in the input") ||
		!strings.Contains(got[2], "made outside MISP") {
		t.Errorf("unsupported: %q", got)
	}
}

func loadFeedEvent(t *testing.T, dir, id string) *Event {
	t.Helper()
	b, err := os.ReadFile(dir + "/" + id + ".json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ParseEvents(b)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%s.json: %v", id, err)
	}
	return evs[0]
}

// TestProposalsListed: the proposals (ShadowAttribute) another
// organisation made on a CIRCL event, on an attribute and on an object's
// attribute, are listed, not dropped silently and not imported as the
// event's own. The event's distribution is 0: without KeepRestricted it
// is left out whole, proposals and all.
func TestProposalsListed(t *testing.T) {
	ev := loadEvent(t, "pymisp_shadow.json")
	if _, u := stixOf(t, Options{}, ev); len(u) != 0 {
		t.Errorf("restricted event: unsupported %v", u)
	}
	objs, unsupp := stixOf(t, Options{KeepRestricted: true}, loadEvent(t, "pymisp_shadow.json"))
	var got []string
	for _, u := range unsupp {
		got = append(got, u.Kind+" "+u.UUID+" "+u.Reason)
	}
	want := []string{
		"proposal 5a4cb1c7-fa84-45fa-8d27-4822950d210f a proposal by CIRCL (on attribute 5a4cb1c7-fa84-45fa-8d27-4822950d210f) to change it to a filename attribute, not accepted into the event",
		"proposal 5a4cb2b8-4748-4c72-96e6-4588950d210f a proposal by CIRCL (on attribute 5a4cb2b8-4748-4c72-96e6-4588950d210f) to change it to a filename attribute, not accepted into the event",
	}
	if !slices.Equal(got, want) {
		t.Errorf("unsupported:\n%q\nwant\n%q", got, want)
	}
	for _, o := range objs {
		if b, _ := json.Marshal(o); strings.Contains(string(b), "blah.exe.jpg") || strings.Contains(string(b), "baz.png.exe") {
			t.Errorf("a proposed value was written: %s", b)
		}
	}
}

// TestSightingSource: a MISP sighting's source (where it came from)
// travels both ways: imported as x_misp_source, exported back as the
// source; a sighting of Parley's matcher names its stream
// (x_parley_stream) as the MISP sighting's source, and its stream
// sequences, which MISP has no place for, are listed. Both used to be
// dropped without a word.
func TestSightingSource(t *testing.T) {
	ev := testEvent(t)
	var a *Attribute
	for i := range ev.Attribute {
		if len(ev.Attribute[i].Sighting) > 0 {
			a = &ev.Attribute[i]
			break
		}
	}
	if a == nil {
		t.Fatal("no sighting in misp-stix's test event")
	}
	a.Sighting[0].Source = "honeypot-7"
	objs, _ := stixOf(t, Options{}, ev)
	var imported, target *stix.Object
	for _, o := range objs {
		if o.ID == "sighting--"+a.Sighting[0].UUID {
			imported = o
		}
	}
	if imported == nil || str(imported, "x_misp_source") != "honeypot-7" {
		t.Fatalf("imported sighting %v", imported)
	}
	for _, o := range objs {
		if o.ID == str(imported, "sighting_of_ref") {
			target = o
		}
	}
	matched := parseAll(t, `{"type":"sighting","spec_version":"2.1","id":"sighting--1b7e39a4-6c55-4c0e-8f4b-3c3f5e0c9a21","created":"2026-01-03T00:00:00Z","modified":"2026-01-03T00:00:00Z","count":1,"sighting_of_ref":"`+target.ID+`","x_parley_stream":"zeek-conn","x_parley_stream_sequences":[[4,4]]}`)
	f := FeedFromSTIX(append(objs, matched...), EventFor("test"))
	sources := map[string]string{}
	for _, e := range f.Events {
		for _, at := range e.Attribute {
			for _, s := range at.Sighting {
				sources[s.UUID] = s.Source
			}
		}
		for _, o := range e.Object {
			for _, s := range o.Attribute[0].Sighting {
				sources[s.UUID] = s.Source
			}
		}
	}
	if sources[a.Sighting[0].UUID] != "honeypot-7" || sources["1b7e39a4-6c55-4c0e-8f4b-3c3f5e0c9a21"] != "zeek-conn" {
		t.Errorf("sources in the feed: %v", sources)
	}
	var listed []string
	for _, u := range f.Unsupported {
		listed = append(listed, u.UUID+": "+u.Reason)
	}
	if len(listed) != 1 || !strings.HasPrefix(listed[0], matched[0].ID+": its stream sequences") {
		t.Errorf("unsupported: %q", listed)
	}
	// Imported back, the matcher's sighting keeps its stream's name (as
	// x_misp_source: a MISP sighting's source says no more than where it
	// came from) and is the same in MISP's terms as the node's copy.
	dir := t.TempDir()
	if err := WriteFeed(dir, f); err != nil {
		t.Fatal(err)
	}
	var back *stix.Object
	for _, e := range f.Events {
		objs, _ := stixOf(t, Options{}, loadFeedEvent(t, dir, e.UUID))
		for _, o := range objs {
			if o.ID == matched[0].ID {
				back = o
			}
		}
	}
	if back == nil || str(back, "x_misp_source") != "zeek-conn" || !SameInMISP(matched[0], back) {
		t.Errorf("the matcher's sighting imported back: %v", back)
	}
}

// TestObjectSeen: a MISP object's first_seen and last_seen (MISP 2.4.128
// and later) are its observed-data's first_observed and last_observed
// (as misp-stix writes them) and its indicator's valid_from, as an
// attribute's are; the feed export writes them back on the object. An
// indicator has no time it was last seen: that last_seen is listed.
// Both were dropped without a word.
func TestObjectSeen(t *testing.T) {
	const first, last = "2020-10-20T08:00:00.000000+00:00", "2020-10-24T18:30:00.000000+00:00"
	for _, toIDs := range []bool{false, true} {
		ev := testEvent(t)
		var o *Object
		for i := range ev.Object {
			if ev.Object[i].Name == "domain-ip" {
				o = &ev.Object[i]
			}
		}
		o.FirstSeen, o.LastSeen = first, last
		for i := range o.Attribute {
			o.Attribute[i].ToIDs = Bool(toIDs)
		}
		ev.Object = []Object{*o}
		ev.Attribute, ev.Galaxy = nil, nil
		objs, unsupp := stixOf(t, Options{}, ev)
		var m *stix.Object
		for _, x := range objs {
			if strings.HasSuffix(x.ID, "--"+o.UUID) {
				m = x
			}
		}
		if toIDs {
			if str(m, "valid_from") != "2020-10-20T08:00:00.000Z" {
				t.Errorf("indicator %v", m.Props)
			}
			if len(unsupp) != 1 || unsupp[0].Kind != "last-seen" || unsupp[0].UUID != o.UUID {
				t.Errorf("unsupported %v", unsupp)
			}
		} else if str(m, "first_observed") != "2020-10-20T08:00:00.000Z" || str(m, "last_observed") != "2020-10-24T18:30:00.000Z" || len(unsupp) != 0 {
			t.Errorf("observed-data %v, unsupported %v", m.Props, unsupp)
		}
		f := FeedFromSTIX(objs, EventFor("test"))
		var back *Object
		for _, e := range f.Events {
			for i := range e.Object {
				if e.Object[i].UUID == o.UUID {
					back = &e.Object[i]
				}
			}
		}
		wantLast := "2020-10-24T18:30:00.000000+00:00"
		if toIDs {
			wantLast = ""
		}
		if back == nil || back.FirstSeen != first || back.LastSeen != wantLast {
			t.Errorf("to_ids %v: exported %+v", toIDs, back)
		}
	}
}

// TestAttributeLastSeenOfIndicator: an attribute with to_ids is an
// indicator, which has no time it was last seen: its last_seen is listed
// (its first_seen is the valid_from).
func TestAttributeLastSeenOfIndicator(t *testing.T) {
	ev := testEvent(t)
	a := ev.Attribute[0]
	a.ToIDs, a.FirstSeen, a.LastSeen, a.Sighting = true, "2020-10-20T08:00:00.000000+00:00", "2020-10-24T18:30:00.000000+00:00", nil
	ev.Attribute, ev.Object, ev.Galaxy = []Attribute{a}, nil, nil
	objs, unsupp := stixOf(t, Options{}, ev)
	if len(unsupp) != 1 || unsupp[0].Kind != "last-seen" || unsupp[0].UUID != a.UUID {
		t.Errorf("unsupported %v", unsupp)
	}
	for _, o := range objs {
		if o.ID == "indicator--"+a.UUID && str(o, "valid_from") != "2020-10-20T08:00:00.000Z" {
			t.Errorf("valid_from %v", o.Props["valid_from"])
		}
	}
}

// TestDecayScoreListed: the decay scores a REST search adds
// (includeDecayingScore) are listed, not dropped silently.
func TestDecayScoreListed(t *testing.T) {
	ev := testEvent(t)
	a := ev.Attribute[0]
	// As MISP writes it (app/Model/DecayingModel.php, attachScoresToAttribute).
	if err := json.Unmarshal([]byte(`[{"score":12.5,"decayed":true,"DecayingModel":{"id":"1","name":"NIDS Simple Decaying Model"}}]`), &a.DecayScore); err != nil {
		t.Fatal(err)
	}
	a.Sighting = nil
	ev.Attribute, ev.Object, ev.Galaxy = []Attribute{a}, nil, nil
	_, unsupp := stixOf(t, Options{}, ev)
	if len(unsupp) != 1 || unsupp[0].Kind != "decay-score" || !strings.Contains(unsupp[0].Reason, `"NIDS Simple Decaying Model"'s score 12.50 (decayed)`) {
		t.Errorf("unsupported %v", unsupp)
	}
}

// TestFeedRoundTripPlacesSectorsCampaigns: the clusters of misp-stix's
// documented Country, Regions UN M49, Sector, STIX 2.1 Location and STIX
// 2.1 Campaign galaxies (listed as unsupported before) become
// locations, an identity of class "class" and a campaign, go back into
// the feed as the same galaxies, and import again as the same objects;
// on an attribute, a location is related to its indicator, not
// "indicated".
func TestFeedRoundTripPlacesSectorsCampaigns(t *testing.T) {
	b, err := os.ReadFile("testdata/misp_galaxies_to_stix21.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]struct{ MISP Galaxy }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	ev := testEvent(t)
	ev.Object, ev.Galaxy = nil, nil
	ev.Attribute = ev.Attribute[:1]
	ev.Attribute[0].ToIDs, ev.Attribute[0].Sighting = true, nil
	for _, name := range []string{"Country", "Regions UN M49", "Sector", "STIX 2.1 Location", "STIX 2.1 Campaign"} {
		g := doc[name].MISP
		g.GalaxyCluster[0].Distribution = "" // the document's "0" would leave it out
		if name == "Country" {
			ev.Attribute[0].Galaxy = append(ev.Attribute[0].Galaxy, g)
			continue
		}
		ev.Galaxy = append(ev.Galaxy, g)
	}
	objs, unsupp := stixOf(t, Options{}, ev)
	if len(unsupp) > 0 {
		t.Fatalf("unsupported: %v", unsupp)
	}
	clusters := map[string]string{}
	for _, o := range objs {
		if isCluster(o) {
			j, _ := json.Marshal(o)
			clusters[o.ID] = string(j)
		}
	}
	if len(clusters) != 5 {
		t.Fatalf("%d clusters: %v", len(clusters), clusters)
	}
	for _, r := range relationshipsOf(objs) {
		if strings.Contains(r, "location--84668357-5a8c-4bdd-9f0f-6b50b2535745") && !strings.Contains(r, " related-to ") {
			t.Errorf("relationship %s", r)
		}
	}
	feed := FeedFromSTIX(objs, EventFor("test"))
	if len(feed.Unsupported) > 0 {
		t.Errorf("no MISP form: %v", feed.Unsupported)
	}
	dir := t.TempDir()
	if err := WriteFeed(dir, feed); err != nil {
		t.Fatal(err)
	}
	again, unsupp := stixOf(t, Options{}, loadFeedEvent(t, dir, ev.UUID))
	if len(unsupp) > 0 {
		t.Errorf("imported again, unsupported: %v", unsupp)
	}
	n := 0
	for _, o := range again {
		if want, ok := clusters[o.ID]; ok {
			n++
			if j, _ := json.Marshal(o); string(j) != want {
				t.Errorf("imported again:\n%s\nwant\n%s", j, want)
			}
		}
	}
	if n != 5 {
		t.Errorf("%d of the 5 clusters imported again", n)
	}
	if g, w := relationshipsOf(again), relationshipsOf(objs); !slices.Equal(g, w) {
		t.Errorf("relationships imported again:\n%q\nwant\n%q", g, w)
	}
}

// TestExtendedEventListed: an event that extends another (MISP's
// extended events, extends_uuid) is written as an event of its own, and
// the link is listed, not dropped silently.
func TestExtendedEventListed(t *testing.T) {
	ev := loadEvent(t, "pymisp_57c4445b-c548-4654-af0b-4be3950d210f.json")
	ev.ExtendsUUID = "5a3c2fcd-8328-42bb-a95e-4f4402de0b81"
	_, unsupp := stixOf(t, Options{}, ev)
	for _, u := range unsupp {
		if u.Kind == "event" && u.Name == "extends" && strings.Contains(u.Reason, ev.ExtendsUUID) {
			return
		}
	}
	t.Errorf("unsupported %v", unsupp)
}

// TestObjectReferencesGone: a deleted object reference is not imported,
// and the export writes no reference of an object that was revoked (MISP
// deletes an object's references with it).
func TestObjectReferencesGone(t *testing.T) {
	ev := loadEvent(t, "pymisp_existing_event_objects.json")
	ev.Object[0].ObjectReference[0].Deleted = true
	gone := ev.Object[0].UUID + " " + ev.Object[0].ObjectReference[0].RelationshipType + " " + ev.Object[0].ObjectReference[0].ReferencedUUID
	objs, _ := stixOf(t, Options{}, ev)
	if rels := relationshipsOf(objs); len(rels) != 19 {
		t.Fatalf("%d relationships with one reference deleted, want 19: %q", len(rels), rels)
	}
	ev = loadEvent(t, "pymisp_existing_event_objects.json")
	objs, _ = stixOf(t, Options{}, ev)
	for _, o := range objs {
		if o.ID == "indicator--"+ev.Object[0].UUID || o.ID == "observed-data--"+ev.Object[0].UUID {
			o.Props["revoked"] = true
		}
	}
	dir := t.TempDir()
	if err := WriteFeed(dir, FeedFromSTIX(objs, EventFor("test"))); err != nil {
		t.Fatal(err)
	}
	back := loadFeedEvent(t, dir, ev.UUID)
	for _, o := range back.Object {
		for _, r := range o.ObjectReference {
			if r.ObjectUUID == ev.Object[0].UUID || r.ReferencedUUID == ev.Object[0].UUID {
				t.Errorf("a reference of the revoked object %s in the feed: %+v (was %s)", ev.Object[0].UUID, r, gone)
			}
		}
	}
}

// TestObjectReferenceVersions: a relationship made of an object
// reference is dated by the reference (the CIRCL event's references have
// their own timestamps), not by the event, whose timestamp MISP moves at
// every edit of the event: an event edited elsewhere (an attribute
// changed) imports again with the same relationships, byte for byte (no
// new version, its created unchanged); a reference edited (its comment,
// its timestamp moved) is a new version of its relationship, dated by
// it. Every edit of the event used to make a new version of each of its
// relationships, with another created.
func TestObjectReferenceVersions(t *testing.T) {
	ev := loadEvent(t, "pymisp_existing_event_objects.json")
	rels := func(ev *Event) map[string]string {
		objs, unsupp := stixOf(t, Options{}, ev)
		if len(unsupp) > 0 {
			t.Fatalf("unsupported: %v", unsupp)
		}
		out := map[string]string{}
		for _, o := range objs {
			if o.Type == "relationship" {
				out[o.ID] = string(o.Raw)
			}
		}
		return out
	}
	before := rels(ev)
	if len(before) != 20 {
		t.Fatalf("%d relationships, want 20", len(before))
	}
	r0 := &ev.Object[0].ObjectReference[0]
	edited := referenceID("indicator--"+ev.Object[0].UUID, relationshipName(r0.RelationshipType), "indicator--"+r0.ReferencedUUID)
	if !strings.Contains(before[edited], `"modified":"`+ts(r0.Timestamp)+`"`) {
		t.Fatalf("relationship of reference %s: %s, want it dated %s", r0.UUID, before[edited], ts(r0.Timestamp))
	}
	// Edited elsewhere: an attribute's value and the event's timestamp.
	ev.Timestamp += 3600
	ev.Attribute[0].Value += "x"
	ev.Attribute[0].Timestamp = ev.Timestamp
	after := rels(ev)
	for id, raw := range before {
		if after[id] != raw {
			t.Errorf("relationship %s changed by an edit elsewhere in the event:\n%s\nwas\n%s", id, after[id], raw)
		}
	}
	// The reference edited: a new version, dated by it.
	r0.Comment, r0.Timestamp = "C2 of the dropper", ev.Timestamp
	after = rels(ev)
	if v := after[edited]; v == before[edited] || !strings.Contains(v, `"modified":"`+ts(ev.Timestamp)+`"`) || !strings.Contains(v, `"description":"C2 of the dropper"`) {
		t.Errorf("edited reference's relationship: %s", v)
	}
}

// TestClusterRelationshipVersions: the relationships from an object's or
// attribute's indicator or observed-data to the galaxy clusters of its
// attributes (PyMISP's galaxy test event) are dated by the object or
// attribute, not by the event: an event edited elsewhere imports again
// with the same ones, byte for byte. (Those among the event's own
// clusters, "uses", are still dated by the event.)
func TestClusterRelationshipVersions(t *testing.T) {
	ev := loadEvent(t, "pymisp_galaxy_1.json")
	rels := func(ev *Event) map[string]string {
		objs, _ := stixOf(t, Options{}, ev)
		out := map[string]string{}
		for _, o := range objs {
			if s := str(o, "source_ref"); o.Type == "relationship" && (strings.HasPrefix(s, "indicator--") || strings.HasPrefix(s, "observed-data--")) {
				out[o.ID] = string(o.Raw)
			}
		}
		return out
	}
	before := rels(ev)
	if len(before) == 0 {
		t.Fatal("no relationship to a cluster in the test event")
	}
	ev.Timestamp += 3600
	after := rels(ev)
	for id, raw := range before {
		if after[id] != raw {
			t.Errorf("relationship %s changed by an edit elsewhere in the event:\n%s\nwas\n%s", id, after[id], raw)
		}
	}
}

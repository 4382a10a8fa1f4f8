package misp

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// TestSightingOrgsRoundTrip: a STIX sighting sighted at several
// organisations is exported with each of them named (one MISP sighting
// names one organisation: the instances name them in turn, and a sighting
// with more organisations than its count is one instance per
// organisation), and importing Parley's own export back gives a sighting
// that [SameInMISP] calls the node's copy, while one sighted elsewhere,
// at fewer places or more often is still a conflict. Before, the export
// named only the first organisation, so the re-import was a conflict.
func TestSightingOrgsRoundTrip(t *testing.T) {
	const (
		ind  = "indicator--5758ebf5-c898-48e6-9fe9-5665c0a83867"
		orgA = "identity--55f6ea5e-2c60-40e5-964f-47a8950d210f"
		orgB = "identity--65f6ea5e-2c60-40e5-964f-47a8950d2110"
		orgC = "identity--75f6ea5e-2c60-40e5-964f-47a8950d2111"
		s3   = "sighting--6758ebf5-c898-48e6-9fe9-5665c0a83867"
		s1   = "sighting--6758ebf5-c898-48e6-9fe9-5665c0a83868"
	)
	sighting := func(id, count, where string) string {
		return `{"type":"sighting","spec_version":"2.1","id":"` + id + `","created":"2026-01-03T00:00:00Z","modified":"2026-01-03T00:00:00Z","first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-02T00:00:00Z","count":` + count + `,"sighting_of_ref":"` + ind + `","where_sighted_refs":` + where + `}`
	}
	identity := func(id, name string) string {
		return `{"type":"identity","spec_version":"2.1","id":"` + id + `","created":"2016-01-01T00:00:00Z","modified":"2016-01-01T00:00:00Z","name":"` + name + `","identity_class":"organization"}`
	}
	held := parseAll(t,
		`{"type":"indicator","spec_version":"2.1","id":"`+ind+`","created":"2016-06-11T21:50:01Z","modified":"2016-06-11T21:50:01Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2016-06-11T21:50:01Z"}`,
		identity(orgA, "A"), identity(orgB, "B"), identity(orgC, "C"),
		// count 3 at two organisations (and a location, which MISP
		// cannot name); count 1 at three.
		sighting(s3, "3", `["`+orgA+`","location--85f6ea5e-2c60-40e5-964f-47a8950d2112","`+orgB+`"]`),
		sighting(s1, "1", `["`+orgA+`","`+orgB+`","`+orgC+`"]`),
	)
	byID := map[string]*stix.Object{}
	for _, o := range held {
		byID[o.ID] = o
	}
	f := FeedFromSTIX(held, EventFor("test"))
	a := f.Events[0].Attribute[0]
	named := map[string][]string{}
	for _, s := range a.Sighting {
		uuid := s.UUID
		for _, id := range []string{s3, s1} {
			for k := int64(1); k < 5; k++ {
				if uuid == SightingInstanceUUID(id, k) {
					uuid = uuidOf(id)
				}
			}
		}
		if s.Organisation == nil {
			t.Errorf("MISP sighting %s names no organisation", s.UUID)
			continue
		}
		named[uuid] = append(named[uuid], s.Organisation.Name)
	}
	slices.Sort(named[uuidOf(s3)])
	slices.Sort(named[uuidOf(s1)])
	if !slices.Equal(named[uuidOf(s3)], []string{"A", "A", "B"}) || !slices.Equal(named[uuidOf(s1)], []string{"A", "B", "C"}) {
		t.Errorf("MISP sightings by organisation: %v; want count 3 as A, A, B and count 1 as A, B, C", named)
	}

	dir := t.TempDir()
	if err := WriteFeed(dir, f); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, f.Events[0].UUID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	back := importOf(t, string(data))
	for _, id := range []string{s3, s1} {
		b := back[id]
		if b == nil {
			t.Fatalf("%s not imported back", id)
		}
		if !SameInMISP(byID[id], b) {
			t.Errorf("%s: the import of Parley's own export is a conflict:\nheld     %v\nimported %v", id, byID[id].Props, b.Props)
		}
	}
	if got := stringList(back[s3].Props["where_sighted_refs"]); !slices.Equal(got, []string{orgA, orgB}) {
		t.Errorf("count 3 imported back sighted at %v, want [%s %s]", got, orgA, orgB)
	}
	if got := stringList(back[s1].Props["where_sighted_refs"]); !slices.Equal(got, []string{orgA, orgB, orgC}) {
		t.Errorf("count 1 imported back sighted at %v, want all three", got)
	}
	// Real differences stay conflicts.
	for name, other := range map[string]string{
		"elsewhere":  sighting(s3, "3", `["`+orgA+`","`+orgC+`"]`),
		"fewer":      sighting(s3, "3", `["`+orgA+`"]`),
		"reordered":  sighting(s3, "3", `["`+orgB+`","`+orgA+`"]`),
		"more often": sighting(s3, "4", `["`+orgA+`","`+orgB+`"]`),
		"less often": sighting(s3, "2", `["`+orgA+`","`+orgB+`"]`),
	} {
		if SameInMISP(parseAll(t, other)[0], back[s3]) {
			t.Errorf("%s: SameInMISP calls a different sighting the node's copy", name)
		}
	}
}

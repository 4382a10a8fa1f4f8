package misp

import "testing"

// TestExportImportsBackAsSame: what an import of Parley's own feed
// export makes of real MISP events says the same, in MISP's terms, as
// what the first import made (so a node counts it as already there):
// reports, indicators, observed-data, notes, sightings and object
// references. The observed-data of misp-stix's email and
// network-connection objects came back with their observables in
// another order and conflicted.
func TestExportImportsBackAsSame(t *testing.T) {
	for _, name := range []string{"misp_stix_test_event.json", "pymisp_existing_event_objects.json", "pymisp_galaxy_1.json",
		"pymisp_mainly_objects_1.json", "misp_stix_objects_collection.json", "misp_stix_event_report.json", "misp_stix_new_templates.json"} {
		ev := loadEvent(t, name)
		objs, _ := stixOf(t, Options{}, ev)
		dir := t.TempDir()
		if err := WriteFeed(dir, FeedFromSTIX(objs, EventFor("test"))); err != nil {
			t.Fatal(err)
		}
		again, _ := stixOf(t, Options{}, loadFeedEvent(t, dir, ev.UUID))
		first := map[string]int{}
		for i, o := range objs {
			first[o.ID] = i
		}
		n := 0
		for _, b := range again {
			i, ok := first[b.ID]
			switch b.Type {
			case "indicator", "observed-data", "note", "report", "grouping", "sighting", "relationship":
			default:
				continue
			}
			if !ok {
				t.Errorf("%s: %s is new", name, b.ID)
				continue
			}
			n++
			if !SameInMISP(objs[i], b, again...) {
				t.Errorf("%s: %s is not the same", name, b.ID)
			}
		}
		if n == 0 {
			t.Errorf("%s: nothing compared", name)
		}
	}
}

package misp

import (
	"strings"
	"testing"
)

// TestSameInMISP: the node's copy and what an import of Parley's own feed
// export makes of it are the same in MISP's terms despite the mapping's
// additions; another value, another set of objects or another count is
// not.
func TestSameInMISP(t *testing.T) {
	const ind = `{"type":"indicator","spec_version":"2.1","id":"indicator--ab5191c1-1eda-56c2-85b5-cdddf62a29f4","created":"2026-01-02T03:04:05.000Z","modified":"2026-01-02T03:04:05.000Z","pattern":"[domain-name:value = 'evil3.example']","pattern_type":"stix","valid_from":"2026-01-02T03:04:05.000Z",`
	const rep = `{"type":"report","spec_version":"2.1","id":"report--5758ebf5-c898-48e6-9fe9-5665c0a83866","created":"2016-06-11T21:50:01.000Z","modified":"2016-06-11T21:50:01.000Z","name":"e","published":"2016-06-11T21:51:41.000Z","x_misp_orgc_name":"ORGNAME",`
	const sig = `{"type":"sighting","spec_version":"2.1","id":"sighting--9758ebf5-c898-48e6-9fe9-5665c0a83867","created":"2026-01-03T00:00:00.000Z","modified":"2026-01-03T00:00:00.000Z","sighting_of_ref":"indicator--ab5191c1-1eda-56c2-85b5-cdddf62a29f4",`
	// One of the 20 object references of CIRCL's Sednit event
	// (pymisp_existing_event_objects.json), as the import makes it; the
	// feed export's catch-all event holds it where the node had no report.
	const rel = `{"type":"relationship","spec_version":"2.1","id":"relationship--feb8b3cb-8a2e-5d50-90b4-88dcde2ed7a3","created":"2017-12-22T13:17:22.000Z","modified":"2017-12-22T13:17:22.000Z","relationship_type":"communicates-with","source_ref":"indicator--5a3cdbc7-dbec-4b8c-8ba3-4c5a950d210f","target_ref":"indicator--5a3c3045-61dc-495c-ae8a-471e02de0b81",`
	for _, tc := range []struct {
		name, a, b string
		same       bool
	}{
		{"indicator with the mapping's labels", ind + `"labels":["misp:type=\"domain\""]}`,
			ind + `"labels":["misp:type=\"domain\"","misp:category=\"Network activity\""],"kill_chain_phases":[{"kill_chain_name":"misp-category","phase_name":"Network activity"}],"x_misp_event_uuid":"15b70516-2682-577d-9fe2-f6b8531a717d","x_misp_orgc_name":"Parley"}`, true},
		{"indicator of another value", ind + `"labels":["misp:type=\"domain\""]}`,
			strings.Replace(ind, "evil3.example", "evil4.example", 1) + `"labels":["misp:type=\"domain\""]}`, false},
		{"indicator with another tag", ind + `"labels":["misp:type=\"domain\""]}`, ind + `"labels":["misp:type=\"domain\"","phishing"]}`, false},
		{"report with galaxy tags and default analysis", rep + `"object_refs":["indicator--ab5191c1-1eda-56c2-85b5-cdddf62a29f4","sighting--9758ebf5-c898-48e6-9fe9-5665c0a83867","malware--7758ebf5-c898-48e6-9fe9-5665c0a83866"]}`,
			rep + `"object_refs":["malware--7758ebf5-c898-48e6-9fe9-5665c0a83866","indicator--ab5191c1-1eda-56c2-85b5-cdddf62a29f4"],"labels":["misp-galaxy:mitre-malware=\"BISCUIT - S0017\""],"x_misp_analysis":"2","x_misp_threat_level_id":"4"}`, true},
		{"report holding less", rep + `"object_refs":["indicator--ab5191c1-1eda-56c2-85b5-cdddf62a29f4","malware--7758ebf5-c898-48e6-9fe9-5665c0a83866"]}`,
			rep + `"object_refs":["indicator--ab5191c1-1eda-56c2-85b5-cdddf62a29f4"]}`, false},
		{"report of another name", rep + `"object_refs":["indicator--ab5191c1-1eda-56c2-85b5-cdddf62a29f4"]}`,
			strings.Replace(rep, `"name":"e"`, `"name":"f"`, 1) + `"object_refs":["indicator--ab5191c1-1eda-56c2-85b5-cdddf62a29f4"]}`, false},
		{"sighting with other instants", sig + `"count":2,"first_seen":"2026-01-01T00:00:00.000Z","last_seen":"2026-01-02T00:00:00.000Z"}`,
			sig + `"count":2,"first_seen":"2026-01-02T00:00:00.000Z","last_seen":"2026-01-02T00:00:00.000Z","x_misp_event_uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866"}`, true},
		{"sighting of another count", sig + `"count":2}`, sig + `"count":3}`, false},
		// the export writes 1,000 MISP sightings of a count above that,
		// which the import folds back into a count of 1,000
		{"sighting of a count the export caps", sig + `"count":5000}`, sig + `"count":1000}`, true},
		{"sighting of a count below the cap", sig + `"count":999}`, sig + `"count":1000}`, false},
		{"object reference from another event", rel + `"created_by_ref":"identity--55f6ea5e-2c60-40e5-964f-47a8950d210f","x_misp_event_uuid":"5a3c2fcd-8328-42bb-a95e-4f4402de0b81"}`,
			rel + `"created_by_ref":"identity--d3219aed-6c7c-5321-8f5c-c2d69496e4bd","x_misp_event_uuid":"c02ebe7f-f043-5c08-a222-e4701ee27dea"}`, true},
		{"object reference with another description", rel + `"x_misp_event_uuid":"5a3c2fcd-8328-42bb-a95e-4f4402de0b81"}`,
			rel + `"description":"C2","x_misp_event_uuid":"5a3c2fcd-8328-42bb-a95e-4f4402de0b81"}`, false},
	} {
		objs := parseAll(t, tc.a, tc.b)
		if got := SameInMISP(objs[0], objs[1]); got != tc.same {
			t.Errorf("%s: same %v, want %v", tc.name, got, tc.same)
		}
	}
}

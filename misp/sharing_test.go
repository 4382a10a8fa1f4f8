package misp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// sharingEvent is a MISP event as MISP's JSON export writes it, with
// places for the tags and galaxies each case sets: EVTAGS, EVGALAXY
// (the event's), ATAGS, AGALAXY (its domain attribute's) and OTAGS (the
// domain attribute of its domain-ip object).
const sharingEvent = `{"Event":{"id":"1207","orgc_id":"1","org_id":"1","uuid":"6a1f0c3e-8d4b-4f2a-9c7e-1b2d3e4f5a60",
"info":"intrusion of case 2024-17","date":"2024-05-02","timestamp":"1714650000","published":true,"publish_timestamp":"1714650100",
"analysis":"2","threat_level_id":"1","distribution":"1","sharing_group_id":"0",
"Orgc":{"id":"1","name":"ORGNAME","uuid":"5c6983c8-3af8-4304-869c-4800d6c1883c","local":true},
"Tag":[EVTAGS],
"Galaxy":[EVGALAXY],
"Attribute":[
 {"id":"90","type":"domain","category":"Network activity","to_ids":true,"uuid":"6a1f0c3e-8d4b-4f2a-9c7e-1b2d3e4f5a61","event_id":"1207","distribution":"5","sharing_group_id":"0","timestamp":"1714650000","comment":"","deleted":false,"disable_correlation":false,"object_id":"0","object_relation":null,"first_seen":null,"last_seen":null,"value":"evil.example","Galaxy":[AGALAXY],"Tag":[ATAGS]},
 {"id":"91","type":"ip-dst","category":"Network activity","to_ids":false,"uuid":"6a1f0c3e-8d4b-4f2a-9c7e-1b2d3e4f5a62","event_id":"1207","distribution":"5","sharing_group_id":"0","timestamp":"1714650000","comment":"","deleted":false,"object_id":"0","value":"198.51.100.9"}],
"Object":[{"id":"12","name":"domain-ip","meta-category":"network","description":"A domain and its IP addresses","template_uuid":"43b3b146-77eb-4931-b4cc-b66c60f28734","template_version":"9","event_id":"1207","uuid":"6a1f0c3e-8d4b-4f2a-9c7e-1b2d3e4f5a63","timestamp":"1714650000","distribution":"5","sharing_group_id":"0","comment":"","deleted":false,
 "Attribute":[{"id":"92","type":"domain","category":"Network activity","to_ids":true,"uuid":"6a1f0c3e-8d4b-4f2a-9c7e-1b2d3e4f5a64","event_id":"1207","distribution":"5","sharing_group_id":"0","timestamp":"1714650000","object_id":"12","object_relation":"domain","value":"obj.example","Galaxy":[],"Tag":[OTAGS]}]}]}}`

// MISP's galaxies, as the export writes them. A custom cluster's
// tag_name names its uuid; misp-galaxy's default clusters have
// distribution 3 and name their value.
const (
	quietHeron = `{"id":"9001","uuid":"0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e","collection_uuid":"","type":"threat-actor","value":"Quiet Heron",` +
		`"tag_name":"misp-galaxy:threat-actor=\"0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e\"","description":"Our name for the intruder of case 2024-17",` +
		`"galaxy_id":"31","source":"","authors":null,"version":"1714640000","distribution":"0","sharing_group_id":null,"org_id":"1","orgc_id":"1",` +
		`"default":false,"locked":false,"extends_uuid":"","extends_version":"0","published":false,"deleted":false,` +
		`"meta":{"synonyms":["HERON-17"]},"tag_id":"77","event_tag_id":"501","local":false,"relationship_type":false}`
	sofacy = `{"id":"2210","uuid":"5b4ee3ea-eee3-4c8e-8323-85ae32658754","collection_uuid":"7cdff317-a673-4474-84ec-4f1754947823","type":"threat-actor","value":"Sofacy",` +
		`"tag_name":"misp-galaxy:threat-actor=\"Sofacy\"","description":"The Sofacy Group is a cyber espionage group.","galaxy_id":"31","source":"MISP Project",` +
		`"authors":["Alexandre Dulaunoy"],"version":"300","distribution":"3","sharing_group_id":null,"org_id":"0","orgc_id":"0","default":true,"locked":false,` +
		`"extends_uuid":"","extends_version":"0","published":false,"deleted":false,"meta":{"synonyms":["APT 28","Fancy Bear"]},"tag_id":"78","local":false}`
	threatActors = `{"id":"31","uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","name":"Threat Actor","type":"threat-actor","description":"Threat actors.",` +
		`"version":"3","icon":"user-secret","namespace":"misp","enabled":true,"local_only":false,"GalaxyCluster":[` + quietHeron + `,` + sofacy + `]}`
	plugX = `{"id":"56","uuid":"84e4a9bb-4ab8-42a7-a1a9-08a0cb4b5a2f","name":"Malware","type":"malpedia","description":"Malware.","version":"1","namespace":"misp",` +
		`"GalaxyCluster":[{"uuid":"2c0c4a6c-8f65-4b7e-b5b6-2f0b1d6e3c5a","type":"malpedia","value":"PlugX","tag_name":"misp-galaxy:malpedia=\"PlugX\"",` +
		`"description":"RAT.","distribution":"3","sharing_group_id":null,"default":true,"meta":{},"local":false}]}`
	// heronLoader is kept in a sharing group; its distribution is a
	// number here (older exports).
	heronLoader = `{"id":"57","uuid":"84e4a9bb-4ab8-42a7-a1a9-08a0cb4b5a2f","name":"Malware","type":"malpedia","description":"Malware.","version":"1","namespace":"misp",` +
		`"GalaxyCluster":[{"uuid":"2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f","type":"malpedia","value":"HeronLoader",` +
		`"tag_name":"misp-galaxy:malpedia=\"2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f\"","description":"Loader our sharing group saw",` +
		`"distribution":4,"sharing_group_id":"3","default":false,"meta":{"synonyms":["HLDR"]},"local":0}]}`
	// sectors is an organisation's own sector cluster naming a client, kept in the organisation.
	sectors = `{"id":"40","uuid":"e1bb134c-ae4d-11e7-8aa9-f78a37325439","name":"Sector","type":"sector","version":"2","namespace":"misp",` +
		`"GalaxyCluster":[{"uuid":"4e1a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c","type":"sector","value":"Our Client Ltd","tag_name":"misp-galaxy:sector=\"Our Client Ltd\"",` +
		`"description":"","distribution":"0","sharing_group_id":null,"default":false,"meta":{},"local":false}]}`
)

const (
	sharingEv   = "6a1f0c3e-8d4b-4f2a-9c7e-1b2d3e4f5a60"
	sharingAttr = "indicator--6a1f0c3e-8d4b-4f2a-9c7e-1b2d3e4f5a61"
	sharingIP   = "observed-data--6a1f0c3e-8d4b-4f2a-9c7e-1b2d3e4f5a62"
	sharingObj  = "indicator--6a1f0c3e-8d4b-4f2a-9c7e-1b2d3e4f5a63"
)

// sharingCase is one event made of sharingEvent and what it converts to.
type sharingCase struct {
	name                                    string
	evTags, evGalaxy, aTags, aGalaxy, oTags string
	opt                                     Options
	// absent are strings no written object may contain.
	absent []string
	check  func(t *testing.T, c *sharingResult)
}

type sharingResult struct {
	objs   map[string]map[string]any
	all    string // every object's JSON
	unsupp []Unsupported
	stats  Stats
}

func (r *sharingResult) labels(id string) []string { return stringList(r.objs[id]["labels"]) }

func (r *sharingResult) marks(id string) []string {
	return stringList(r.objs[id]["object_marking_refs"])
}

// rels returns the relationships as "<source> <type> <target>".
func (r *sharingResult) rels() []string {
	var out []string
	for _, o := range r.objs {
		if o["type"] == "relationship" {
			out = append(out, o["source_ref"].(string)+" "+o["relationship_type"].(string)+" "+o["target_ref"].(string))
		}
	}
	return out
}

func runSharing(t *testing.T, tc sharingCase) {
	t.Helper()
	doc := strings.NewReplacer("EVTAGS", tc.evTags, "EVGALAXY", tc.evGalaxy, "ATAGS", tc.aTags, "AGALAXY", tc.aGalaxy, "OTAGS", tc.oTags).Replace(sharingEvent)
	evs, err := ParseEvents([]byte(doc))
	if err != nil || len(evs) != 1 {
		t.Fatalf("ParseEvents: %v (%d events)", err, len(evs))
	}
	c := NewConverter(tc.opt)
	res := c.Convert(evs[0])
	r := &sharingResult{objs: map[string]map[string]any{}, unsupp: res.Unsupported, stats: c.Stats}
	v := stix.Validator{}
	for _, raw := range res.Objects {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		r.objs[m["id"].(string)] = m
		r.all += string(raw) + "\n"
		o, err := stix.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Validate(o); err != nil {
			t.Errorf("%s: %v", m["id"], err)
		}
	}
	for _, u := range res.Unsupported {
		r.all += u.String() + "\n"
	}
	for _, s := range tc.absent {
		if strings.Contains(strings.ToLower(r.all), strings.ToLower(s)) {
			t.Errorf("%q was written:\n%s", s, r.all)
		}
	}
	// Whatever is referenced was written (nothing names a left-out object).
	for id, o := range r.objs {
		for _, k := range []string{"source_ref", "target_ref"} {
			if ref, _ := o[k].(string); ref != "" && r.objs[ref] == nil && !stix.IsObservable(typeOf(ref)) {
				t.Errorf("%s %s %s was not written", id, k, ref)
			}
		}
		if typeOf(id) == "report" {
			for _, ref := range stringList(o["object_refs"]) {
				if r.objs[ref] == nil && ref != o["created_by_ref"] {
					t.Errorf("the report references %s, which was not written", ref)
				}
			}
		}
	}
	if tc.check != nil {
		tc.check(t, r)
	}
}

// TestRestrictedClusters checks that a galaxy cluster whose own MISP
// distribution is 0 (your organisation only) or 4 (a sharing group) is
// left out like a restricted attribute: no object, no relationship, no
// label naming it, counted in Stats.Restricted; KeepRestricted keeps it.
func TestRestrictedClusters(t *testing.T) {
	heronTags := `{"id":"77","name":"misp-galaxy:threat-actor=\"0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e\"","colour":"#0088cc","exportable":true,"user_id":"0","hide_tag":false,"numerical_value":null,"is_galaxy":true,"is_custom_galaxy":true,"local_only":false,"local":false,"relationship_type":null},` +
		`{"id":"79","name":"misp-galaxy:threat-actor=\"Quiet Heron\"","colour":"#0088cc","exportable":true,"is_galaxy":true,"local":0},` +
		`{"id":"78","name":"misp-galaxy:threat-actor=\"Sofacy\"","colour":"#0088cc","exportable":true,"is_galaxy":true,"local":false},` +
		`{"id":"80","name":"misp-galaxy:malpedia=\"PlugX\"","colour":"#0088cc","exportable":true,"is_galaxy":true,"local":false}`
	heron := []string{"Quiet Heron", "HERON-17", "intruder of case", "0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e"}
	loader := []string{"HeronLoader", "HLDR", "our sharing group", "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"}
	const (
		sofacyID = "threat-actor--5b4ee3ea-eee3-4c8e-8323-85ae32658754"
		plugXID  = "malware--2c0c4a6c-8f65-4b7e-b5b6-2f0b1d6e3c5a"
		heronID  = "threat-actor--0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
		loaderID = "malware--2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
	)
	for _, tc := range []sharingCase{
		{name: "an organisation-only cluster of the event", evTags: heronTags, evGalaxy: threatActors + "," + plugX, absent: heron,
			check: func(t *testing.T, r *sharingResult) {
				if r.objs[sofacyID] == nil || r.objs[plugXID] == nil {
					t.Fatalf("the shared clusters are missing:\n%s", r.all)
				}
				if !slices.Contains(r.rels(), sofacyID+" uses "+plugXID) {
					t.Errorf("relationships %v", r.rels())
				}
				l := r.labels("report--" + sharingEv)
				if !slices.Contains(l, `misp-galaxy:threat-actor="Sofacy"`) || !slices.Contains(l, `misp-galaxy:malpedia="PlugX"`) {
					t.Errorf("report labels %v", l)
				}
				if r.stats.Restricted != 1 || r.stats.Clusters != 2 {
					t.Errorf("stats %+v", r.stats)
				}
			}},
		{name: "a sharing-group cluster of an attribute", aTags: `{"id":"81","name":"misp-galaxy:malpedia=\"2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f\"","exportable":true,"is_galaxy":true,"local":false}`,
			aGalaxy: heronLoader, absent: loader,
			check: func(t *testing.T, r *sharingResult) {
				if r.objs[sharingAttr] == nil {
					t.Fatal("the attribute's indicator is missing")
				}
				if len(r.rels()) != 0 {
					t.Errorf("relationships %v", r.rels())
				}
				if r.stats.Restricted != 1 || r.stats.Clusters != 0 {
					t.Errorf("stats %+v", r.stats)
				}
			}},
		{name: "the tag of a restricted cluster is left out on every attribute", evGalaxy: threatActors,
			aTags: `{"name":"misp-galaxy:threat-actor=\"Quiet Heron\"","local":false}`, oTags: `{"name":"misp-galaxy:threat-actor=\"0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e\"","local":false}`,
			absent: heron},
		{name: "a restricted sector cluster (a client's name) is neither written nor reported", evGalaxy: sectors, evTags: `{"name":"misp-galaxy:sector=\"Our Client Ltd\"","local":false}`,
			absent: []string{"Our Client Ltd"},
			check: func(t *testing.T, r *sharingResult) {
				if len(r.unsupp) != 0 || r.stats.Restricted != 1 {
					t.Errorf("unsupported %v, stats %+v", r.unsupp, r.stats)
				}
			}},
		// MISP's synchronisation sends a default cluster's tag with the
		// event, and every instance has misp-galaxy's clusters.
		{name: "a misp-galaxy default cluster is written whatever its level",
			evGalaxy: strings.Replace(strings.Replace(threatActors, quietHeron+",", "", 1), `"distribution":"3"`, `"distribution":"0"`, 1),
			evTags:   `{"name":"misp-galaxy:threat-actor=\"Sofacy\"","local":false}`,
			check: func(t *testing.T, r *sharingResult) {
				if r.objs[sofacyID] == nil || !slices.Contains(r.labels("report--"+sharingEv), `misp-galaxy:threat-actor="Sofacy"`) || r.stats.Restricted != 0 {
					t.Errorf("Sofacy left out: %+v\n%s", r.stats, r.all)
				}
			}},
		// An organisation's own cluster named as a misp-galaxy cluster of
		// the event is: the public cluster's tag stays, the private
		// cluster's (its uuid) doesn't.
		{name: "a restricted cluster of a public cluster's value hides only its own tag",
			evTags:   `{"name":"misp-galaxy:threat-actor=\"Sofacy\"","local":false},{"name":"misp-galaxy:threat-actor=\"0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e\"","local":false}`,
			evGalaxy: strings.Replace(threatActors, `"value":"Quiet Heron"`, `"value":"Sofacy"`, 1), absent: []string{"HERON-17", "intruder of case", "0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e"},
			check: func(t *testing.T, r *sharingResult) {
				if !slices.Contains(r.labels("report--"+sharingEv), `misp-galaxy:threat-actor="Sofacy"`) || r.objs[sofacyID] == nil {
					t.Errorf("the public Sofacy cluster's tag or SDO is missing: labels %v\n%s", r.labels("report--"+sharingEv), r.all)
				}
			}},
		{name: "KeepRestricted writes them", evTags: heronTags, evGalaxy: threatActors, aGalaxy: heronLoader, opt: Options{KeepRestricted: true},
			check: func(t *testing.T, r *sharingResult) {
				if r.objs[heronID] == nil || r.objs[loaderID] == nil || !slices.Contains(r.rels(), sharingAttr+" indicates "+loaderID) {
					t.Errorf("restricted clusters missing:\n%s", r.all)
				}
				if !slices.Contains(r.labels("report--"+sharingEv), `misp-galaxy:threat-actor="Quiet Heron"`) {
					t.Errorf("report labels %v", r.labels("report--"+sharingEv))
				}
				if r.stats.Restricted != 0 {
					t.Errorf("stats %+v", r.stats)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) { runSharing(t, tc) })
	}
}

// TestLocalTags checks that MISP's local tags ("local": true, 1 or "1"),
// which MISP's synchronisation never sends, are never written, with
// KeepRestricted too; that a local tlp: tag may tighten a marking but
// never loosen one; and that a cluster a local tag attaches is left out.
func TestLocalTags(t *testing.T) {
	const (
		red         = stix.TLP2RedID
		amber       = stix.TLP2AmberID
		amberStrict = stix.TLP2AmberStrictID
	)
	mixed := sharingCase{
		evTags: `{"id":"5","name":"circl:incident-classification=\"malware\"","colour":"#3d7a00","exportable":true,"local":false},` +
			`{"id":"6","name":"case:2024-17","colour":"#ff0000","exportable":true,"local":true}`,
		aTags:  `{"id":"7","name":"our-watchlist","exportable":true,"local":1},{"id":"8","name":"kill-chain:Delivery","exportable":true,"local":0}`,
		oTags:  `{"id":"9","name":"analyst:bob","exportable":true,"local":"1"},{"id":"10","name":"osint:source-type=\"blog-post\"","exportable":true,"local":"0"}`,
		absent: []string{"case:2024-17", "our-watchlist", "analyst:bob"},
		check: func(t *testing.T, r *sharingResult) {
			if !slices.Contains(r.labels("report--"+sharingEv), `circl:incident-classification="malware"`) ||
				!slices.Contains(r.labels(sharingAttr), "kill-chain:Delivery") ||
				!slices.Contains(r.labels(sharingObj), `osint:source-type="blog-post"`) {
				t.Errorf("shared tags missing:\n%s", r.all)
			}
			if r.stats.Local != 3 {
				t.Errorf("stats %+v", r.stats)
			}
		},
	}
	keep := mixed
	keep.opt = Options{KeepRestricted: true}
	marked := func(want map[string][]string) func(t *testing.T, r *sharingResult) {
		return func(t *testing.T, r *sharingResult) {
			for id, w := range want {
				if got := r.marks(id); !slices.Equal(got, w) {
					t.Errorf("%s object_marking_refs %v, want %v", id, got, w)
				}
			}
			for _, id := range []string{"report--" + sharingEv, sharingAttr, sharingIP, sharingObj} {
				for _, l := range r.labels(id) {
					if strings.HasPrefix(l, "tlp:") {
						t.Errorf("%s has the label %s", id, l)
					}
				}
			}
			for _, w := range want {
				for _, m := range w {
					if r.objs[m] == nil {
						t.Errorf("the marking definition %s is missing", m)
					}
				}
			}
		}
	}
	// Sofacy as MISP exports it where a local tag attaches it.
	localSofacy := strings.Replace(strings.Replace(threatActors, quietHeron+",", "", 1), `"local":false}`, `"local":true}`, 1)
	for _, tc := range []sharingCase{
		func() sharingCase { c := mixed; c.name = "local tags are left out, shared ones kept"; return c }(),
		func() sharingCase { c := keep; c.name = "with KeepRestricted too"; return c }(),
		{name: "a local tlp tag of the event tightens every marking",
			evTags: `{"name":"tlp:green","local":false},{"name":"tlp:red","local":true}`,
			aTags:  `{"name":"tlp:clear","local":false}`,
			check:  marked(map[string][]string{"report--" + sharingEv: {red}, sharingAttr: {red}, sharingIP: {red}, sharingObj: {red}})},
		{name: "a local tlp tag never loosens",
			evTags: `{"name":"tlp:amber","local":false}`,
			aTags:  `{"name":"tlp:clear","local":true}`,
			oTags:  `{"name":"tlp:white","local":"1"}`,
			absent: []string{stix.TLP2ClearID},
			check:  marked(map[string][]string{"report--" + sharingEv: {amber}, sharingAttr: {amber}, sharingIP: {amber}, sharingObj: {amber}})},
		{name: "a local tlp:clear adds no marking",
			evTags: `{"name":"tlp:clear","local":true}`,
			aTags:  `{"name":"tlp:white","local":true}`,
			absent: []string{stix.TLP2ClearID},
			check:  marked(map[string][]string{"report--" + sharingEv: nil, sharingAttr: nil, sharingIP: nil, sharingObj: nil})},
		{name: "a local tlp tag of an attribute marks its object only",
			aTags: `{"name":"tlp:amber+strict","local":true}`,
			check: marked(map[string][]string{"report--" + sharingEv: nil, sharingAttr: {amberStrict}, sharingIP: nil, sharingObj: nil})},
		{name: "a local tlp tag of an object's attribute marks the object",
			evTags: `{"name":"tlp:green","local":false}`,
			oTags:  `{"name":"tlp:amber","local":true}`,
			check:  marked(map[string][]string{"report--" + sharingEv: {stix.TLP2GreenID}, sharingAttr: {stix.TLP2GreenID}, sharingObj: {amber}})},
		{name: "a cluster attached by a local tag is left out",
			aTags:    `{"id":"78","name":"misp-galaxy:threat-actor=\"Sofacy\"","is_galaxy":true,"local":true}`,
			aGalaxy:  localSofacy,
			evTags:   `{"id":"78","name":"misp-galaxy:threat-actor=\"Sofacy\"","is_galaxy":true,"local":"1"}`,
			evGalaxy: localSofacy,
			absent:   []string{"Sofacy", "Fancy Bear"},
			check: func(t *testing.T, r *sharingResult) {
				if len(r.rels()) != 0 || r.objs[sharingAttr] == nil {
					t.Errorf("relationships %v", r.rels())
				}
				if r.stats.Local != 4 || r.stats.Clusters != 0 {
					t.Errorf("stats %+v", r.stats)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) { runSharing(t, tc) })
	}
}

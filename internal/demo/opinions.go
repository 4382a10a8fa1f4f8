package demo

import (
	"encoding/json"
	"fmt"
)

// The demo's disagreement: CERT-Aurelia's report attributes Ballot Phish
// 2026 to GREY LANTERN; CERT-Borovia, which saw the same lure, doesn't buy
// the attribution. Both say so with signed opinions, and `parley
// concurrence` shows the split as a checkable fact.
const (
	// Report is the demo's attribution report (in [Scenario]).
	Report = "report--7a1e0c52-4b3d-4e0f-9a21-00000000000a"
	// Attribution is the demo's "campaign attributed-to intrusion
	// set" relationship (in [Scenario]).
	Attribution = "relationship--7a1e0c52-4b3d-4e0f-9a21-000000000101"
)

// Opinions returns the demo members' opinions on [Report] and
// [Attribution], to push after [Scenario] (unsigned JSON, like
// it). CERT-Borovia first posts a neutral opinion and later a new version
// of it that disagrees, so the tally shows that only the latest version
// counts.
func Opinions(aurelia, borovia string) []Batch {
	const (
		t4 = "2026-09-17T09:10:00.000Z"
		t5 = "2026-09-17T14:20:00.000Z"
	)
	op := func(suffix, creator, created, modified, value string, confidence int, explanation string) json.RawMessage {
		b, err := json.Marshal(map[string]any{
			"type": "opinion", "spec_version": "2.1", "id": "opinion--7a1e0c52-4b3d-4e0f-9a21-" + suffix,
			"created_by_ref": creator, "created": created, "modified": modified,
			"opinion": value, "confidence": confidence, "explanation": explanation,
			"object_refs": []string{Report, Attribution},
		})
		if err != nil {
			panic(fmt.Sprintf("demo opinion %s: %v", suffix, err)) // static data: a programming error
		}
		return b
	}
	return []Batch{
		{Member: Aurelia, Collection: Shared, Objects: []json.RawMessage{
			op("000000000201", aurelia, t4, t4, "strongly-agree", 85,
				"The lure kit, the LanternLoader builds and the hosting overlap with GREY LANTERN's 2024 operations."),
		}},
		{Member: Borovia, Collection: Shared, Objects: []json.RawMessage{
			op("000000000202", borovia, t4, t4, "neutral", 40,
				"Still analysing the Borovian samples."),
			op("000000000202", borovia, t4, t5, "disagree", 70,
				"The relay 203.0.113.45 is shared hosting and the kit is sold openly; the attribution to GREY LANTERN is premature."),
		}},
	}
}

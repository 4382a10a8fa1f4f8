// Package demo holds the fixtures of `parley demo`: a fictional scenario
// of two national CERTs who share intelligence on a campaign while
// neither trusts the other, and their opinions on it. It is data only
// (unsigned STIX objects with fixed ids and times); the CLI signs and
// pushes them through a node's TAXII API.
package demo

import (
	"encoding/json"
	"fmt"
)

// The demo scenario: a joint election-security cell of two fictional
// national CERTs, CERT-Aurelia and CERT-Borovia, who share intelligence on
// a spear-phishing campaign against election officials while neither
// trusts the other. All names, domains and addresses are fictional or
// reserved for documentation (RFC 2606, RFC 5737).
const (
	Aurelia = "cert-aurelia"
	Borovia = "cert-borovia"
	// Shared and Private name the demo's collections.
	Shared  = "Joint election security"
	Private = "CERT-Borovia internal"
)

// Batch is one envelope of the demo: objects (unsigned JSON) that a
// member pushes to a collection; the caller signs them with that member's
// key and sends them through the node's TAXII API.
type Batch struct {
	Member     string // Aurelia or Borovia
	Collection string // Shared or Private
	Objects    []json.RawMessage
}

// Scenario returns the demo's objects, created by the members with the
// given identity ids. Ids and timestamps are fixed, so pushing the
// scenario twice adds nothing the second time.
func Scenario(aurelia, borovia string) []Batch {
	const (
		t1 = "2026-09-14T08:30:00.000Z"
		t2 = "2026-09-15T11:05:00.000Z"
		t3 = "2026-09-16T16:45:00.000Z"
	)
	id := func(typ, suffix string) string { return typ + "--" + "7a1e0c52-4b3d-4e0f-9a21-" + suffix }
	var (
		intrusionSet = id("intrusion-set", "000000000001")
		campaign     = id("campaign", "000000000002")
		malware      = id("malware", "000000000003")
		infra        = id("infrastructure", "000000000004")
		attackPat    = id("attack-pattern", "000000000005")
		indDomain    = id("indicator", "000000000006")
		indURL       = id("indicator", "000000000007")
		indEmail     = id("indicator", "000000000008")
		indHash      = id("indicator", "000000000009")
		report       = id("report", "00000000000a")
		indIP        = id("indicator", "00000000000b")
		sighting     = id("sighting", "00000000000c")
		note         = id("note", "00000000000d")
		indPrivate   = id("indicator", "00000000000e")
	)
	common := func(typ, oid, creator, created string, props map[string]any) json.RawMessage {
		m := map[string]any{
			"type": typ, "spec_version": "2.1", "id": oid, "created_by_ref": creator,
			"created": created, "modified": created,
		}
		for k, v := range props {
			m[k] = v
		}
		b, err := json.Marshal(m)
		if err != nil {
			panic(fmt.Sprintf("demo object %s: %v", oid, err)) // static data: a programming error
		}
		return b
	}
	tlpAmber := []string{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"} // TLP 2.0 AMBER
	indicator := func(oid, creator, created, name, pattern string, types []string) json.RawMessage {
		return common("indicator", oid, creator, created, map[string]any{
			"name": name, "pattern": pattern, "pattern_type": "stix", "valid_from": created,
			"indicator_types": types, "object_marking_refs": tlpAmber,
		})
	}
	rel := func(n int, src, typ, dst, creator string) json.RawMessage {
		return common("relationship", id("relationship", fmt.Sprintf("0000000001%02x", n)), creator, t2, map[string]any{
			"relationship_type": typ, "source_ref": src, "target_ref": dst,
		})
	}
	aureliaObjects := []json.RawMessage{
		common("intrusion-set", intrusionSet, aurelia, t1, map[string]any{
			"name": "GREY LANTERN", "description": "State-aligned actor targeting electoral administrations in the region since 2024.",
			"aliases": []string{"Lantern Team"}, "goals": []string{"obtain credentials of election officials", "undermine trust in the count"},
			"resource_level": "government", "primary_motivation": "ideology", "object_marking_refs": tlpAmber,
		}),
		common("campaign", campaign, aurelia, t1, map[string]any{
			"name": "Ballot Phish 2026", "objective": "harvest the webmail credentials of municipal election officials",
			"description": "Spear-phishing e-mails posing as the Aurelian Electoral Commission ask officials to re-validate their accounts before the vote.",
			"first_seen":  "2026-09-01T00:00:00Z", "object_marking_refs": tlpAmber,
		}),
		common("malware", malware, aurelia, t1, map[string]any{
			"name": "LanternLoader", "is_family": true, "malware_types": []string{"downloader", "remote-access-trojan"},
			"description": "Loader dropped by macro documents attached to the phishing e-mails.", "object_marking_refs": tlpAmber,
		}),
		common("infrastructure", infra, aurelia, t1, map[string]any{
			"name": "GREY LANTERN phishing kit hosting", "infrastructure_types": []string{"phishing", "hosting-malware"},
			"object_marking_refs": tlpAmber,
		}),
		common("attack-pattern", attackPat, aurelia, t1, map[string]any{
			"name":                "Spearphishing Link",
			"external_references": []map[string]any{{"source_name": "mitre-attack", "external_id": "T1566.002", "url": "https://attack.mitre.org/techniques/T1566/002/"}},
		}),
		indicator(indDomain, aurelia, t1, "Look-alike election portal domain",
			"[domain-name:value = 'aurelia-elections-portal.example']", []string{"malicious-activity"}),
		indicator(indURL, aurelia, t1, "Credential harvesting page",
			"[url:value = 'https://secure-login.aurelia-elections-portal.example/reset']", []string{"malicious-activity"}),
		indicator(indEmail, aurelia, t2, "Phishing e-mail posing as the Electoral Commission",
			"[email-message:from_ref.value = 'it-support@electoral-commission-aurelia.example' AND email-message:subject = 'Urgent: re-validate your voter roll account']",
			[]string{"malicious-activity", "attribution"}),
		indicator(indHash, aurelia, t2, "LanternLoader macro document",
			"[file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877']", []string{"malicious-activity"}),
		rel(1, campaign, "attributed-to", intrusionSet, aurelia),
		rel(2, intrusionSet, "uses", malware, aurelia),
		rel(3, campaign, "uses", attackPat, aurelia),
		rel(4, intrusionSet, "uses", infra, aurelia),
		rel(5, indDomain, "indicates", campaign, aurelia),
		rel(6, indURL, "indicates", campaign, aurelia),
		rel(7, indEmail, "indicates", campaign, aurelia),
		rel(8, indHash, "indicates", malware, aurelia),
		common("report", report, aurelia, t2, map[string]any{
			"name":         "Spear-phishing of election officials ahead of the 2026 vote",
			"description":  "CERT-Aurelia's assessment of Ballot Phish 2026, shared with the joint cell.",
			"report_types": []string{"campaign", "threat-actor"}, "published": t2,
			"object_refs":         []string{intrusionSet, campaign, malware, infra, attackPat, indDomain, indURL, indEmail, indHash},
			"object_marking_refs": tlpAmber,
		}),
	}
	boroviaShared := []json.RawMessage{
		indicator(indIP, borovia, t3, "Mail relay used by Ballot Phish 2026 in Borovia",
			"[ipv4-addr:value = '203.0.113.45']", []string{"malicious-activity"}),
		common("sighting", sighting, borovia, t3, map[string]any{
			"sighting_of_ref": indDomain, "count": 14,
			"first_seen": "2026-09-15T07:00:00Z", "last_seen": "2026-09-16T15:00:00Z",
			"description": "Borovian municipal mail gateways received look-alike portal links.",
		}),
		rel(9, indIP, "indicates", campaign, borovia),
	}
	boroviaPrivate := []json.RawMessage{
		common("note", note, borovia, t3, map[string]any{
			"abstract":    "Internal: do not share yet",
			"content":     "Two of the 14 recipients clicked; credentials reset. Waiting for the interior ministry before telling the cell.",
			"object_refs": []string{sighting},
		}),
		indicator(indPrivate, borovia, t3, "Borovian mailbox used to test the lure",
			"[email-addr:value = 'lure-test@borovia-mail.example']", []string{"malicious-activity"}),
	}
	return []Batch{
		{Member: Aurelia, Collection: Shared, Objects: aureliaObjects},
		{Member: Borovia, Collection: Shared, Objects: boroviaShared},
		{Member: Borovia, Collection: Private, Objects: boroviaPrivate},
	}
}

package misp

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/parley-exchange/parley/stix"
)

// SameInMISP reports whether a and b, two STIX objects with one id (the
// node's copy of a version and what an import made of a MISP document
// under that version), say the same thing in MISP's terms: what the feed
// export ([FeedFromSTIX]) writes of them is the same. It is how an import
// of Parley's own feed export recognises what the node already holds,
// although the objects differ in what the mapping adds (misp:category
// labels and kill_chain_phases, x_misp_* provenance, a report's galaxy
// tags and default analysis and threat level, the instants of a sighting
// between first_seen and last_seen).
//
// Relationships compare their ends, type and description, what the
// export writes of an object reference.
//
// Reports and groupings compare their event (uuid, info, date, published,
// timestamps, creator organisation and tags other than galaxy clusters',
// which are compared as objects of their own) and what they hold, in any
// order, sightings aside (the export writes every sighting of an
// attribute the member reads, also those other members made outside the
// event); indicators, observed-data,
// notes, vulnerabilities and campaigns the attributes or MISP object they
// become (and observed-data their observables' ids, in any order); sightings what they
// sight, where (the identities of where_sighted_refs, each once, in
// order) and how often (the MISP sightings the export writes: the count,
// but at least one per organisation and at most 1,000), not their source
// (x_misp_source or x_parley_stream: a node's copy imported before
// sources were read has none). Other objects are never the same unless
// equal.
//
// An observed-data's attribute is made of its observables: scos are
// those of b (what the import sent with it), given to both a and b,
// whose object_refs must be the same ids. Without them only those ids are
// compared, not the tags, category or first_seen and last_seen of the
// attribute.
func SameInMISP(a, b *stix.Object, scos ...*stix.Object) bool {
	if a.ID != b.ID || a.Type != b.Type || revoked(a) != revoked(b) || !a.Modified.Equal(b.Modified) {
		return false
	}
	switch a.Type {
	case "report", "grouping":
		if !sameRefs(a, b) {
			return false
		}
		ea, eb := eventOf(a, nil), eventOf(b, nil)
		ea.Tag, eb.Tag = withoutClusterTags(ea.Tag), withoutClusterTags(eb.Tag)
		return reflect.DeepEqual(ea, eb)
	case "indicator", "observed-data", "note", "vulnerability", "campaign":
		if a.Type == "observed-data" {
			// The same observables in another order are the same MISP
			// object: the import lists them in the order of the object's
			// attributes, which a feed export and its import change.
			ra, rb := slices.Sorted(slices.Values(stringList(a.Props["object_refs"]))), slices.Sorted(slices.Values(stringList(b.Props["object_refs"])))
			if !slices.Equal(ra, rb) {
				return false
			}
			a, b = withRefs(a, ra), withRefs(b, rb)
		}
		fa, fb := FeedFromSTIX(append([]*stix.Object{a}, scos...), Event{}), FeedFromSTIX(append([]*stix.Object{b}, scos...), Event{})
		ja, err1 := json.Marshal(fa.Events)
		jb, err2 := json.Marshal(fb.Events)
		return err1 == nil && err2 == nil && len(fa.Unsupported) == len(fb.Unsupported) && string(ja) == string(jb)
	case "relationship":
		// The export writes an object reference of it: its ends, type
		// and description (as the comment); the event it came from
		// (x_misp_event_uuid) is the one the feed holds it in, which is
		// the export's catch-all event where the node had no report.
		for _, k := range []string{"source_ref", "target_ref", "relationship_type", "description"} {
			if str(a, k) != str(b, k) {
				return false
			}
		}
		return true
	case "sighting":
		// The export writes one MISP sighting per instance (at least
		// one per organisation, at most maxSightings), each naming one of
		// its organisations in turn, which the import gathers back.
		return str(a, "sighting_of_ref") == str(b, "sighting_of_ref") &&
			sightingInstances(a) == sightingInstances(b) && slices.Equal(exportedOrgs(a), exportedOrgs(b))
	}
	return false
}

// withRefs is a copy of o whose object_refs are refs.
func withRefs(o *stix.Object, refs []string) *stix.Object {
	c := *o
	c.Props = maps.Clone(o.Props)
	l := make([]any, len(refs))
	for i, r := range refs {
		l[i] = r
	}
	c.Props["object_refs"] = l
	return &c
}

// exportedOrgs are the organisations the export names in a sighting's
// MISP instances.
func exportedOrgs(s *stix.Object) []string {
	orgs := sightingOrgs(s)
	return orgs[:min(int64(len(orgs)), sightingInstances(s))]
}

func withoutClusterTags(tags []Tag) []Tag {
	var out []Tag
	for _, t := range tags {
		if !strings.HasPrefix(t.Name, "misp-galaxy:") {
			out = append(out, t)
		}
	}
	return out
}

// sameRefs reports whether two reports or groupings hold the same objects,
// in any order, sightings aside.
func sameRefs(a, b *stix.Object) bool {
	set := func(o *stix.Object) []string {
		var out []string
		for _, r := range stringList(o.Props["object_refs"]) {
			if !strings.HasPrefix(r, "sighting--") {
				out = append(out, r)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(set(a), set(b))
}

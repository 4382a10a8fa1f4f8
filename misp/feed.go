package misp

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/stix"
)

// ManifestEntry is one event of a feed's manifest.json (PyMISP's feed
// generator writes Orgc, Tag, info, date, analysis, threat_level_id and
// timestamp).
type ManifestEntry struct {
	Info          string    `json:"info"`
	Date          string    `json:"date"`
	Timestamp     Timestamp `json:"timestamp"`
	Orgc          Org       `json:"Orgc"`
	Tag           []Tag     `json:"Tag"`
	Analysis      Text      `json:"analysis"`
	ThreatLevelID Text      `json:"threat_level_id"`
}

// ParseManifest parses a feed's manifest.json: an object from event uuid
// to [ManifestEntry]. Keys that are not UUIDs are an error (they would
// name files outside the feed).
func ParseManifest(data []byte) (map[string]ManifestEntry, error) {
	if len(data) > MaxDocument {
		return nil, fmt.Errorf("%w: the manifest is larger than %d MiB", ErrFormat, MaxDocument>>20)
	}
	var m map[string]ManifestEntry
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrFormat, err)
	}
	for k := range m {
		if !validUUID(k) {
			return nil, fmt.Errorf("%w: manifest.json: %q is not an event uuid", ErrFormat, untrusted.Text(k, maxShown))
		}
	}
	return m, nil
}

// Changed returns, sorted, the uuids of the manifest's events that are
// newer than the timestamps in seen (those absent from seen included).
func Changed(manifest map[string]ManifestEntry, seen map[string]Timestamp) []string {
	var out []string
	for id, e := range manifest {
		if t, ok := seen[id]; !ok || e.Timestamp > t {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// --- export ---

// Feed is a MISP feed ready to be written: its events, by uuid.
type Feed struct {
	Events []*Event
	// Unsupported lists the STIX objects that have no MISP form.
	Unsupported []Unsupported
	// attached holds, per indicator or observed-data id, the galaxy
	// clusters the import linked from it (see attachedClusters).
	attached map[string][]*stix.Object
	// onObservation is the set of those clusters' ids.
	onObservation map[string]bool
}

// attachedClusters returns the galaxy clusters that an "indicates" or
// "related-to" relationship links from an indicator or observed-data,
// as the import links the clusters of an attribute or of an object's
// attributes (Converter.attached). They go back onto that attribute,
// or the object's first attribute, not onto the event: a cluster of the
// event is related to the event's other clusters ("uses"), so the
// event-level cluster an attribute's became would, imported again, say
// that the event's threat actors and malware use it.
func attachedClusters(objects []*stix.Object, byID map[string]*stix.Object) map[string][]*stix.Object {
	out := map[string][]*stix.Object{}
	for _, r := range objects {
		if r.Type != "relationship" || revoked(r) {
			continue
		}
		if rt := str(r, "relationship_type"); rt != "indicates" && rt != "related-to" {
			continue
		}
		src, dst := byID[str(r, "source_ref")], byID[str(r, "target_ref")]
		if src == nil || dst == nil || (src.Type != "indicator" && src.Type != "observed-data") || !isCluster(dst) {
			continue
		}
		if !slices.Contains(out[src.ID], dst) {
			out[src.ID] = append(out[src.ID], dst)
		}
	}
	return out
}

// isCluster reports whether o is a galaxy cluster's STIX form.
func isCluster(o *stix.Object) bool {
	switch o.Type {
	case "threat-actor", "intrusion-set", "malware", "tool", "attack-pattern", "course-of-action":
		return true
	case "vulnerability", "campaign", "identity", "location":
		// Galaxy clusters only with their galaxy's label: a sighting's
		// organisation is an identity too.
		return label(o, "galaxy-type") != ""
	}
	return false
}

// attachedOnly reports whether o is a cluster that an indicator or
// observed-data links (it is written there, not on the event).
func (f *Feed) attachedOnly(o *stix.Object) bool {
	if f.onObservation == nil {
		f.onObservation = map[string]bool{}
		for _, cs := range f.attached {
			for _, c := range cs {
				f.onObservation[c.ID] = true
			}
		}
	}
	return f.onObservation[o.ID]
}

// FeedFromSTIX maps STIX objects back to MISP events, the reverse of
// [Converter]: every report or grouping is an event holding the
// indicators, observed-data, notes, vulnerabilities, campaigns and
// galaxy objects it references; objects no report or grouping references
// go to one more event, rest (its uuid, info and Orgc are taken from
// rest; it is left out when empty). Indicators and observed-data labelled
// misp:name="..." become MISP objects of that template, the others
// attributes whose type is their misp:type label or, without one, the
// type their pattern or observable implies. Labels other than the
// mapping's own misp: ones and TLP markings become tags (an object's on
// its first attribute); a cluster linked from an indicator or
// observed-data goes on that attribute, the other clusters on the event.
func FeedFromSTIX(objects []*stix.Object, rest Event) *Feed {
	byID := map[string]*stix.Object{}
	for _, o := range objects {
		byID[o.ID] = o
	}
	f := &Feed{}
	used := map[string]bool{}
	var containers []*stix.Object
	for _, o := range objects {
		if o.Type == "report" || o.Type == "grouping" {
			containers = append(containers, o)
		}
	}
	sort.Slice(containers, func(i, j int) bool { return containers[i].ID < containers[j].ID })
	f.attached = attachedClusters(objects, byID)
	events := map[string]*Event{}
	for _, c := range containers {
		ev := eventOf(c, byID)
		events[ev.UUID] = ev
		for _, r := range stringList(c.Props["object_refs"]) {
			if o := byID[r]; o != nil {
				used[r] = true
				if f.attachedOnly(o) && !slices.Contains(stringList(c.Props["labels"]), clusterTag(o)) {
					// On the attribute or object it was on; a cluster
					// also on the event has its tag in the event's labels.
					continue
				}
				f.add(ev, o, byID)
			}
		}
		f.Events = append(f.Events, ev)
	}
	extra := rest
	extra.Attribute, extra.Object, extra.Galaxy, extra.EventReport = nil, nil, nil, nil
	for _, o := range objects {
		if used[o.ID] || o.Type == "report" || o.Type == "grouping" || f.attachedOnly(o) {
			continue
		}
		if revoked(o) {
			// A revoked attribute left its event's report: it goes back
			// to that event as a deleted attribute, or nowhere.
			if ev := events[str(o, "x_misp_event_uuid")]; ev != nil {
				f.add(ev, o, byID)
			}
			continue
		}
		f.add(&extra, o, byID)
	}
	if len(extra.Attribute)+len(extra.Object)+len(extra.Galaxy)+len(extra.EventReport) > 0 {
		if extra.Timestamp == 0 {
			// The newest content dates the event, so that an unchanged
			// export keeps its timestamp and MISP does not fetch it again.
			for _, a := range extra.Attribute {
				extra.Timestamp = max(extra.Timestamp, a.Timestamp)
			}
			for _, o := range extra.Object {
				extra.Timestamp = max(extra.Timestamp, o.Timestamp)
			}
		}
		f.Events = append(f.Events, &extra)
	}
	f.references(objects, byID)
	f.sightings(objects, byID)
	return f
}

// references writes the relationships between what the feed holds as
// MISP object references, as the import reads them (an object
// reference is a relationship of its type from the object's STIX form
// to the referenced object's or attribute's): a relationship whose
// source became a MISP object of an event that also holds its target is
// an ObjectReference of that object (uuid the relationship's), in every
// such event. The relationships the import makes of MISP's galaxies
// come back without one: a cluster linked from an indicator or
// observed-data ([attachedClusters]) and the "uses" among an event's
// clusters. Every other relationship is listed in f.Unsupported: MISP
// references start at an object and stay within its event, and only a
// relationship the import made of one (its id that of its ends and
// type, [referenceID]) is written, since one made in STIX would import
// back under another id.
func (f *Feed) references(objects []*stix.Object, byID map[string]*stix.Object) {
	// Where each live MISP object is, and what each event holds, indexed
	// once: a collection has thousands of events and references.
	type place struct {
		ev *Event
		i  int
	}
	objectsAt := map[string][]place{}
	holds := map[*Event]map[string]bool{}
	for _, ev := range f.Events {
		h := map[string]bool{}
		for _, a := range ev.Attribute {
			if !a.Deleted {
				h[a.UUID] = true
			}
		}
		for i, o := range ev.Object {
			if o.Deleted {
				continue
			}
			objectsAt[o.UUID] = append(objectsAt[o.UUID], place{ev, i})
			h[o.UUID] = true
			for _, a := range o.Attribute {
				h[a.UUID] = true
			}
		}
		holds[ev] = h
	}
	for _, r := range objects {
		if r.Type != "relationship" || revoked(r) {
			continue
		}
		rt := str(r, "relationship_type")
		src, dst := byID[str(r, "source_ref")], byID[str(r, "target_ref")]
		if src != nil && dst != nil {
			if revoked(src) || revoked(dst) {
				continue // MISP deletes an object's references with it
			}
			if (rt == "indicates" || rt == "related-to") && slices.Contains(f.attached[src.ID], dst) {
				continue
			}
			if rt == "uses" && isCluster(src) && isCluster(dst) && clustersUse(src.Type, dst.Type) {
				continue
			}
		}
		written, why := false, "MISP object references link a MISP object to an object or attribute of its event"
		switch {
		case src == nil || dst == nil:
			why = "its source or target is not in the input"
		case r.ID != referenceID(src.ID, rt, dst.ID):
			// A MISP reference has no STIX id: the import names the
			// relationship after its ends and type, so this one would
			// come back as another relationship beside it.
			why = "made outside MISP: a MISP object reference of it would import back as another relationship (ids of MISP references are made of their ends)"
		default:
			from, to := uuidOf(src.ID), uuidOf(dst.ID)
			for _, p := range objectsAt[from] {
				if !holds[p.ev][to] {
					continue
				}
				o := &p.ev.Object[p.i]
				ref := ObjectReference{UUID: uuidOf(r.ID), ObjectUUID: from, ReferencedUUID: to, RelationshipType: rt,
					Timestamp: Timestamp(r.Modified.Unix()), Comment: str(r, "description")}
				if !slices.ContainsFunc(o.ObjectReference, func(x ObjectReference) bool { return x.UUID == ref.UUID }) {
					o.ObjectReference = append(o.ObjectReference, ref)
				}
				written = true
			}
		}
		if !written {
			f.Unsupported = append(f.Unsupported, Unsupported{Kind: "relationship", UUID: r.ID, Name: rt, Reason: why})
		}
	}
}

// SightingInstanceUUID is the uuid of the i-th (from 1) further MISP
// sighting that the feed export makes of a STIX sighting of count > 1.
func SightingInstanceUUID(sightingID string, i int64) string {
	return uuidV5("sighting " + sightingID + " " + strconv.FormatInt(i, 10))
}

// maxSightings bounds the MISP sightings one STIX sighting becomes.
const maxSightings = 1000

// sightings puts the STIX sightings among objects onto the attributes
// made of the indicators and observed-data they sight (for a MISP object,
// its first attribute, where its tags and clusters go too). Only a
// sighting in objects of an indicator or observed-data this feed exports
// is written: a sighting of anything else, or of an object not in
// objects, is left out, so that nothing the caller could not read is
// written. A MISP sighting is one instance (MISP core format, "Sighting":
// "each element describes one singular instance of a sighting", and MISP
// counts sightings by counting them), so a STIX sighting of count n is n
// MISP sightings (at most maxSightings; more are listed in
// f.Unsupported): the first, dated when the sighting was made (created),
// keeps the STIX sighting's uuid, so that a sighting Parley imported from
// MISP goes back as it came; the others, dated first_seen (the second)
// and last_seen (STIX says nothing of the times between), have uuids
// derived from it ([SightingInstanceUUID]), by which Parley's import
// folds them back into one sighting of that count. A count of 0 is no
// sighting.
//
// A MISP sighting names one organisation, a STIX sighting any number
// (where_sighted_refs): the instances name its identities in turn, the
// i-th instance the (i mod k)-th of k, so that each organisation is named
// and Parley's import gathers them back, in order. A sighting sighted at
// more organisations than its count is one instance per organisation
// ([sightingInstances]), so MISP counts it that many times: the STIX
// count says how often it was seen, not by whom, and MISP cannot say one
// instance was seen at two places.
func (f *Feed) sightings(objects []*stix.Object, byID map[string]*stix.Object) {
	attrs := map[string]*Attribute{}
	for _, ev := range f.Events {
		for i := range ev.Attribute {
			if a := &ev.Attribute[i]; attrs[a.UUID] == nil && !a.Deleted {
				attrs[a.UUID] = a
			}
		}
		for i := range ev.Object {
			if o := &ev.Object[i]; attrs[o.UUID] == nil && !o.Deleted && len(o.Attribute) > 0 {
				attrs[o.UUID] = &o.Attribute[0]
			}
		}
	}
	touched := map[*Attribute]bool{}
	for _, s := range objects {
		if s.Type != "sighting" || revoked(s) {
			continue
		}
		target := byID[str(s, "sighting_of_ref")]
		if target == nil || (target.Type != "indicator" && target.Type != "observed-data") || revoked(target) {
			continue
		}
		a := attrs[uuidOf(target.ID)]
		if a == nil {
			continue // its indicator has no MISP form here
		}
		where := sightingOrgs(s)
		n := sightingInstances(s)
		if n <= 0 {
			continue
		}
		if c := sightingCount(s); c > maxSightings {
			f.Unsupported = append(f.Unsupported, Unsupported{Kind: "sighting", UUID: s.ID, Name: "sighting",
				Reason: fmt.Sprintf("count %d: written as %d MISP sightings, one per instance", c, maxSightings)})
		} else if int64(len(where)) > maxSightings {
			f.Unsupported = append(f.Unsupported, Unsupported{Kind: "sighting", UUID: s.ID, Name: "sighting",
				Reason: fmt.Sprintf("sighted at %d organisations: written as %d MISP sightings, one per organisation", len(where), maxSightings)})
		}
		// The first instance is dated when the sighting was made
		// (created: where Parley's import puts date_sighting, so that
		// importing it back gives the same version); the others span
		// first_seen to last_seen.
		first, last := s.Created, s.Created
		if t, err := stix.ParseTimestamp(str(s, "first_seen")); err == nil {
			first, last = t, t
		}
		if t, err := stix.ParseTimestamp(str(s, "last_seen")); err == nil {
			last = t
		}
		// A MISP sighting's source says where it came from: the stream
		// Parley's matcher counted it in (x_parley_stream), or the source
		// of the MISP sighting it was imported from. The stream's
		// sequences, which tell a recount, have no place in MISP.
		source := str(s, "x_parley_stream")
		if source == "" {
			source = str(s, "x_misp_source")
		}
		if _, ok := s.Props["x_parley_stream_sequences"]; ok {
			f.Unsupported = append(f.Unsupported, Unsupported{Kind: "sighting", UUID: s.ID, Name: "sighting",
				Reason: "its stream sequences (x_parley_stream_sequences) are not written: a MISP sighting has no place for them (its source names the stream)"})
		}
		orgs := make([]*Org, len(where))
		for i, w := range where {
			orgs[i] = &Org{UUID: uuidOf(w)}
			if id := byID[w]; id != nil {
				orgs[i].Name = str(id, "name")
			}
		}
		for i := range n {
			m := Sighting{UUID: uuidOf(s.ID), AttributeUUID: a.UUID, DateSighting: Timestamp(s.Created.Unix()), Type: "0", Source: source}
			if len(orgs) > 0 {
				m.Organisation = orgs[i%int64(len(orgs))]
			}
			if i > 0 {
				m.UUID = SightingInstanceUUID(s.ID, i)
				m.DateSighting = Timestamp(last.Unix())
				if i == 1 && n > 2 {
					m.DateSighting = Timestamp(first.Unix())
				}
			}
			a.Sighting = append(a.Sighting, m)
		}
		touched[a] = true
	}
	for a := range touched {
		sort.SliceStable(a.Sighting, func(i, j int) bool {
			if a.Sighting[i].DateSighting != a.Sighting[j].DateSighting {
				return a.Sighting[i].DateSighting < a.Sighting[j].DateSighting
			}
			return a.Sighting[i].UUID < a.Sighting[j].UUID
		})
	}
}

// sightingCount is a STIX sighting's count (1 when it has none).
func sightingCount(s *stix.Object) int64 {
	c, ok := s.Props["count"]
	if !ok {
		return 1
	}
	switch v := c.(type) {
	case float64:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	case int64:
		return v
	case int:
		return int64(v)
	}
	return 1
}

// sightingOrgs are the organisations a STIX sighting was sighted at, as
// MISP can name them: its where_sighted_refs that are identities, each
// once, in order (a location is no MISP organisation).
func sightingOrgs(s *stix.Object) []string {
	var out []string
	for _, w := range stringList(s.Props["where_sighted_refs"]) {
		if strings.HasPrefix(w, "identity--") && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// sightingInstances is how many MISP sightings the feed export writes of
// a STIX sighting: its count, but at least one per organisation it was
// sighted at (a MISP sighting is one instance by one organisation, so
// that each is named), and at most maxSightings; 0 for a count of 0 or
// less.
func sightingInstances(s *stix.Object) int64 {
	n := sightingCount(s)
	if n <= 0 {
		return 0
	}
	return min(max(n, int64(len(sightingOrgs(s)))), maxSightings)
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func str(o *stix.Object, k string) string {
	s, _ := o.Props[k].(string)
	return s
}

func uuidOf(id string) string {
	_, u, _ := strings.Cut(id, "--")
	return u
}

// eventOf makes the event of a report or grouping.
func eventOf(c *stix.Object, byID map[string]*stix.Object) *Event {
	ev := &Event{UUID: uuidOf(c.ID), Info: str(c, "name"), Timestamp: Timestamp(c.Modified.Unix()),
		Date: str(c, "x_misp_date"), Analysis: Text(str(c, "x_misp_analysis")), ThreatLevelID: Text(str(c, "x_misp_threat_level_id"))}
	if ev.Date == "" {
		ev.Date = c.Created.UTC().Format("2006-01-02")
	}
	if ev.Analysis == "" {
		ev.Analysis = "2"
	}
	if ev.ThreatLevelID == "" {
		ev.ThreatLevelID = "4"
	}
	if c.Type == "report" {
		ev.Published = true
		if t, err := stix.ParseTimestamp(str(c, "published")); err == nil {
			ev.PublishTimestamp = Timestamp(t.Unix())
		}
	}
	ev.Orgc = Org{UUID: str(c, "x_misp_orgc_uuid"), Name: str(c, "x_misp_orgc_name")}
	if ev.Orgc.Name == "" {
		if id := byID[c.CreatedByRef]; id != nil {
			ev.Orgc = Org{UUID: uuidOf(id.ID), Name: str(id, "name")}
		}
	}
	ev.Tag = tagsOf(c)
	return ev
}

// tagsOf turns labels (except misp-stix's mapping ones) and TLP
// markings back into tags.
func tagsOf(o *stix.Object) []Tag {
	var tags []Tag
	for _, m := range stringList(o.Props["object_marking_refs"]) {
		if l, ok := stix.LookupTLP(m); ok {
			name := "tlp:" + l.Level
			if l.Level == "clear" {
				name = "tlp:white" // what most MISP instances have
			}
			tags = append(tags, Tag{Name: name})
		}
	}
	for _, l := range stringList(o.Props["labels"]) {
		if m := labelRE.FindStringSubmatch(l); m != nil && mappingLabels[m[1]] {
			continue
		}
		tags = append(tags, Tag{Name: l})
	}
	return tags
}

// mappingLabels are the keys of the misp:<key>="..." labels that the
// import writes for the mapping itself (see Converter). Other misp:
// labels are tags of MISP's own "misp" taxonomy (misp:tool="...",
// misp:confidence-level="...") and go back as tags.
var mappingLabels = map[string]bool{"type": true, "category": true, "name": true, "meta-category": true, "galaxy-name": true, "galaxy-type": true, "data-layer": true}

// ownTags is tagsOf(o) without the TLP tags o inherits from its event
// (the import marks every object with its event's TLP; MISP keeps it once).
func ownTags(ev *Event, o *stix.Object) []Tag {
	var out []Tag
	for _, t := range tagsOf(o) {
		if strings.HasPrefix(t.Name, "tlp:") && slices.ContainsFunc(ev.Tag, func(e Tag) bool { return e.Name == t.Name }) {
			continue
		}
		out = append(out, t)
	}
	return out
}

var labelRE = regexp.MustCompile(`^misp:([a-z-]+)="(.*)"$`)

func label(o *stix.Object, key string) string {
	for _, l := range stringList(o.Props["labels"]) {
		if m := labelRE.FindStringSubmatch(l); m != nil && m[1] == key {
			return m[2]
		}
	}
	return ""
}

// add maps one STIX object into ev.
func revoked(o *stix.Object) bool {
	r, _ := o.Props["revoked"].(bool)
	return r
}

// add maps o into ev. A revoked object is a deleted attribute or object.
func (f *Feed) add(ev *Event, o *stix.Object, byID map[string]*stix.Object) {
	na, no := len(ev.Attribute), len(ev.Object)
	if revoked(o) {
		defer func() {
			for i := na; i < len(ev.Attribute); i++ {
				ev.Attribute[i].Deleted = true
			}
			for i := no; i < len(ev.Object); i++ {
				ev.Object[i].Deleted = true
				for j := range ev.Object[i].Attribute {
					ev.Object[i].Attribute[j].Deleted = true
				}
			}
		}()
	}
	skip := func(format string, args ...any) {
		f.Unsupported = append(f.Unsupported, Unsupported{Event: ev.UUID, Kind: o.Type, UUID: o.ID, Name: o.Type, Reason: fmt.Sprintf(format, args...)})
	}
	ts := Timestamp(o.Modified.Unix())
	switch o.Type {
	case "indicator":
		pt := str(o, "pattern_type")
		if pt != "stix" {
			if _, ok := ruleTypes[pt]; !ok {
				skip("pattern_type %q has no MISP attribute type", pt)
				return
			}
			ev.Attribute = append(ev.Attribute, Attribute{UUID: uuidOf(o.ID), Type: pt, Category: categoryOf(o, pt),
				Value: str(o, "pattern"), ToIDs: true, Timestamp: ts, Comment: str(o, "description"), Tag: ownTags(ev, o)})
			return
		}
		cmps, err := patternComparisons(str(o, "pattern"))
		if err != nil {
			skip("%v", err)
			return
		}
		f.observation(ev, o, cmps, true, skip)
		f.attach(ev, o, na, no)
	case "observed-data":
		var scos []*stix.Object
		for _, r := range stringList(o.Props["object_refs"]) {
			if s := byID[r]; s != nil {
				scos = append(scos, s)
			}
		}
		cmps := flatten(scos)
		if len(cmps) == 0 {
			skip("its observables are not in the input")
			return
		}
		f.observation(ev, o, cmps, false, skip)
		f.attach(ev, o, na, no)
	case "note":
		if label(o, "data-layer") == "Event Report" {
			ev.EventReport = append(ev.EventReport, EventReport{UUID: uuidOf(o.ID), Name: str(o, "abstract"),
				Content: str(o, "content"), Timestamp: ts, Deleted: Bool(revoked(o))})
			return
		}
		t := label(o, "type")
		if t == "" {
			t = "text"
		}
		ev.Attribute = append(ev.Attribute, Attribute{UUID: uuidOf(o.ID), Type: t, Category: categoryOf(o, t), Value: str(o, "content"), Timestamp: ts, Tag: ownTags(ev, o)})
	case "vulnerability", "campaign":
		t := map[string]string{"vulnerability": "vulnerability", "campaign": "campaign-name"}[o.Type]
		if label(o, "galaxy-type") != "" {
			f.cluster(ev, o)
			return
		}
		ev.Attribute = append(ev.Attribute, Attribute{UUID: uuidOf(o.ID), Type: t, Category: categoryOf(o, t), Value: str(o, "name"), Timestamp: ts, Comment: str(o, "description"), Tag: ownTags(ev, o)})
	case "threat-actor", "intrusion-set", "malware", "tool", "attack-pattern", "course-of-action":
		f.cluster(ev, o)
	case "sighting":
		// On the attribute it sights: see Feed.sightings.
	case "identity", "location":
		if isCluster(o) {
			f.cluster(ev, o)
			return
		}
		if o.Type == "location" {
			skip("no MISP form for locations outside a galaxy")
		}
		// An identity: context that MISP feeds do not carry.
	case "marking-definition", "relationship", "extension-definition":
		// Context that MISP feeds do not carry.
	default:
		if isSCO(o) {
			return // observables travel with their observed-data
		}
		skip("no MISP form for %s objects", o.Type)
	}
}

func isSCO(o *stix.Object) bool {
	_, hasCreated := o.Props["created"]
	return !hasCreated && o.Type != "marking-definition"
}

// attach puts the clusters linked from o (see attachedClusters) on the
// attribute or object that f.add made of it: the attribute ev.Attribute[na]
// or the first attribute of the object ev.Object[no], where the import
// reads them back from.
func (f *Feed) attach(ev *Event, o *stix.Object, na, no int) {
	cs := f.attached[o.ID]
	if len(cs) == 0 {
		return
	}
	var a *Attribute
	switch {
	case len(ev.Attribute) > na:
		a = &ev.Attribute[na]
	case len(ev.Object) > no && len(ev.Object[no].Attribute) > 0:
		a = &ev.Object[no].Attribute[0]
	default:
		// o has no MISP form (listed in f.Unsupported): its clusters
		// stay with the event rather than vanish.
		for _, c := range cs {
			if !slices.ContainsFunc(ev.Galaxy, func(g Galaxy) bool {
				return slices.ContainsFunc(g.GalaxyCluster, func(x Cluster) bool { return x.UUID == uuidOf(c.ID) })
			}) {
				f.cluster(ev, c)
			}
		}
		return
	}
	for _, c := range cs {
		typ, name, cl := clusterOf(c)
		tag := fmt.Sprintf("misp-galaxy:%s=%q", typ, cl.Value)
		if !slices.ContainsFunc(a.Tag, func(t Tag) bool { return t.Name == tag }) {
			a.Tag = append(a.Tag, Tag{Name: tag})
		}
		a.Galaxy = addCluster(a.Galaxy, typ, name, cl)
	}
}

// addCluster adds cl to the galaxy of type typ in gs.
func addCluster(gs []Galaxy, typ, name string, cl Cluster) []Galaxy {
	for i := range gs {
		if gs[i].Type == typ {
			gs[i].GalaxyCluster = append(gs[i].GalaxyCluster, cl)
			return gs
		}
	}
	return append(gs, Galaxy{Name: name, Type: typ, GalaxyCluster: []Cluster{cl}})
}

// clusterTag is the tag that attaches o, a cluster's STIX form, in MISP.
func clusterTag(o *stix.Object) string {
	typ, _, cl := clusterOf(o)
	return fmt.Sprintf("misp-galaxy:%s=%q", typ, cl.Value)
}

// cluster adds a galaxy cluster to the event.
func (f *Feed) cluster(ev *Event, o *stix.Object) {
	typ, name, cl := clusterOf(o)
	ev.Galaxy = addCluster(ev.Galaxy, typ, name, cl)
	// The event's labels hold the tag already when it came from MISP.
	tag := fmt.Sprintf("misp-galaxy:%s=%q", typ, cl.Value)
	if !slices.ContainsFunc(ev.Tag, func(t Tag) bool { return t.Name == tag }) {
		ev.Tag = append(ev.Tag, Tag{Name: tag})
	}
}

// clusterOf is the MISP galaxy type and name and the cluster of o, a
// cluster's STIX form.
func clusterOf(o *stix.Object) (typ, name string, cl Cluster) {
	typ = label(o, "galaxy-type")
	name = label(o, "galaxy-name")
	if typ == "" {
		typ = o.Type
	}
	if name == "" {
		name = typ
	}
	cl = Cluster{UUID: uuidOf(o.ID), Type: typ, Value: str(o, "name"), Description: str(o, "description")}
	// The meta the import read aliases and external references from
	// (see Converter.clusters), so that MISP, and a node taking the feed
	// back, keep them.
	meta := map[string]any{}
	if al := stringList(o.Props["aliases"]); len(al) > 0 {
		meta["synonyms"] = al
	}
	var ext, urls, phases []string
	refs, _ := o.Props["external_references"].([]any)
	for _, r := range refs {
		r, _ := r.(map[string]any)
		id, _ := r["external_id"].(string)
		switch r["source_name"] {
		case "mitre-attack", "capec", "cve":
			if id != "" {
				ext = append(ext, id)
			}
		case "url":
			if u, _ := r["url"].(string); u != "" {
				urls = append(urls, u)
			}
		}
	}
	if len(ext) > 0 {
		meta["external_id"] = ext
	}
	if len(urls) > 0 {
		meta["refs"] = urls
	}
	kcs, _ := o.Props["kill_chain_phases"].([]any)
	for _, k := range kcs {
		k, _ := k.(map[string]any)
		chain, _ := k["kill_chain_name"].(string)
		phase, _ := k["phase_name"].(string)
		if chain != "" && phase != "" {
			phases = append(phases, chain+":"+phase)
		}
	}
	if len(phases) > 0 {
		meta["kill_chain"] = phases
	}
	if o.Type == "location" {
		// What the import reads a location's place from (locationOf).
		if c := str(o, "country"); c != "" {
			meta["country"] = c
			if strings.ToLower(typ) == "country" {
				meta["ISO"] = c
			}
		}
		for _, k := range []string{"region", "administrative_area", "city"} {
			if v := str(o, k); v != "" && !(k == "region" && strings.ToLower(typ) == "region") {
				meta[k] = v
			}
		}
	}
	if len(meta) > 0 {
		cl.Meta = meta
	}
	return typ, name, cl
}

// comparison is one "path = value" of a pattern or an observable, the
// path written as [term.patternPath] writes it.
type comparison struct {
	path, value string
}

// patternComparisons returns the equality comparisons of a pattern that
// ANDs them in one observation, the "<ref>.type" ones left out.
func patternComparisons(p string) ([]comparison, error) {
	in, err := pattern.Inspect(p)
	if err != nil {
		return nil, err
	}
	if len(in.ObservationOps) > 0 || len(in.Qualifiers) > 0 {
		return nil, fmt.Errorf("a pattern with several observations or qualifiers has no MISP form")
	}
	var out []comparison
	for _, c := range in.Comparisons {
		// ISSUBSET of a CIDR block is how an address attribute with a
		// block is written (term.operator); MISP keeps the block as the
		// value.
		subnet := c.Op == pattern.OpIsSubset && c.Comparison.Value.Kind == pattern.LitString && strings.Contains(c.Comparison.Value.Str, "/")
		if c.Op != pattern.OpEqual && !subnet || c.Negated {
			return nil, fmt.Errorf("only equality comparisons have a MISP form, not %s", c.Operator)
		}
		keys := make([]string, 0, len(c.Path))
		var b strings.Builder
		b.WriteString(c.ObjectType + ":")
		for i, k := range c.Path {
			switch k := k.(type) {
			case string:
				if k == "*" {
					b.WriteString("[*]")
					continue
				}
				if i > 0 {
					b.WriteByte('.')
				}
				if plainKey(k) {
					b.WriteString(k)
				} else {
					b.WriteString(quote(k))
				}
				keys = append(keys, k)
			case int:
				fmt.Fprintf(&b, "[%d]", k) // a pe-section's place in its file
			}
		}
		if len(keys) > 0 && keys[len(keys)-1] == "type" && len(keys) > 1 && strings.HasSuffix(keys[len(keys)-2], "_ref") {
			continue
		}
		v := c.Comparison.Value
		val := v.Str
		switch {
		case v.Kind == pattern.LitHex:
			val = hex.EncodeToString(v.Bytes) // tcp-ext's flags, as the observable holds them
		case v.Kind == pattern.LitTimestamp && v.TimeErr == nil:
			// A MISP datetime (a directory's creation-time) is the
			// timestamp, not the t'...' literal.
			val = stix.FormatTimestamp(v.Time)
		case v.Kind != pattern.LitString:
			val = strings.TrimPrefix(v.String(), "+")
		}
		out = append(out, comparison{path: b.String(), value: val})
	}
	return out, nil
}

// flatten turns observables into comparisons: the properties of the
// observables no other one references, following their references.
func flatten(scos []*stix.Object) []comparison {
	byID := map[string]*stix.Object{}
	referenced := map[string]bool{}
	for _, s := range scos {
		byID[s.ID] = s
	}
	for _, s := range scos {
		for k, v := range s.Props {
			if strings.HasSuffix(k, "_ref") {
				if r, ok := v.(string); ok {
					referenced[r] = true
				}
			}
			if strings.HasSuffix(k, "_refs") {
				for _, r := range stringList(v) {
					referenced[r] = true
				}
			}
		}
	}
	// An observable an earlier root reached is not followed again from a
	// later one: observables are written once per id, so the domain-name
	// beside an ip-port's address may carry the resolves_to_refs of
	// another object's, which are not this observation's.
	var out []comparison
	earlier := map[string]bool{}
	for _, s := range scos {
		if referenced[s.ID] {
			continue
		}
		reached := map[string]bool{}
		out = append(out, flattenOne(s.Type+":", s.Props, byID, 0, earlier, reached)...)
		for id := range reached {
			earlier[id] = true
		}
	}
	return out
}

// flattenOne writes the comparisons of props under prefix, following
// references into byID except to what earlier holds; reached gets the
// ids it followed.
func flattenOne(prefix string, props map[string]any, byID map[string]*stix.Object, depth int, earlier, reached map[string]bool) []comparison {
	var out []comparison
	sep := func(k string) string {
		if !plainKey(k) {
			k = quote(k)
		}
		if strings.HasSuffix(prefix, ":") {
			return prefix + k
		}
		return prefix + "." + k
	}
	for _, k := range sortedKeys(props) {
		v := props[k]
		switch k {
		case "type", "id", "spec_version", "defanged", "object_marking_refs", "granular_markings", "is_multipart":
			continue
		case "extensions":
			// STIX's predefined extensions (a socket's socket-ext) hold
			// MISP data; those an extension definition defines (a
			// node's signature) do not.
			ext, _ := v.(map[string]any)
			predefined := map[string]any{}
			for name, e := range ext {
				if !strings.HasPrefix(name, "extension-definition--") {
					predefined[name] = e
				}
			}
			v = predefined
		}
		switch v := v.(type) {
		case string:
			if strings.HasSuffix(k, "_ref") {
				if r := byID[v]; r != nil && depth < 3 && !earlier[v] {
					reached[v] = true
					out = append(out, flattenOne(sep(k), r.Props, byID, depth+1, earlier, reached)...)
				}
				continue
			}
			out = append(out, comparison{sep(k), v})
		case json.Number:
			out = append(out, comparison{sep(k), v.String()})
		case bool:
			out = append(out, comparison{sep(k), strconv.FormatBool(v)}) // a socket's is_listening
		case map[string]any:
			out = append(out, flattenOne(sep(k), v, byID, depth+1, earlier, reached)...)
		case []any:
			for i, e := range v {
				switch e := e.(type) {
				case map[string]any:
					// An object of a list: a pe-section of a file.
					if depth < 4 {
						out = append(out, flattenOne(sep(k)+"["+strconv.Itoa(i)+"]", e, byID, depth+1, earlier, reached)...)
					}
				case string:
					if strings.HasSuffix(k, "_refs") {
						if r := byID[e]; r != nil && depth < 3 && !earlier[e] {
							reached[e] = true
							out = append(out, flattenOne(sep(k)+"[*]", r.Props, byID, depth+1, earlier, reached)...)
						}
						continue
					}
					out = append(out, comparison{sep(k), e})
				}
			}
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// observation adds an indicator's or observed-data's comparisons as an
// object (labelled misp:name) or an attribute.
func (f *Feed) observation(ev *Event, o *stix.Object, cmps []comparison, toIDs bool, skip func(string, ...any)) {
	ts := Timestamp(o.Modified.Unix())
	if name := label(o, "name"); name != "" {
		if name == "file" || name == "pe" {
			if f.peObjects(ev, o, name, cmps, toIDs) {
				return
			}
		}
		if name == "registry-key" || name == "registry-key-value" {
			if f.valueObjects(ev, o, name, cmps, toIDs) {
				return
			}
		}
		first, last := seenOf(o, toIDs)
		obj := Object{UUID: uuidOf(o.ID), Name: name, MetaCategory: label(o, "meta-category"), Timestamp: ts, Comment: str(o, "description"),
			FirstSeen: first, LastSeen: last}
		protocols := false // the template has a relation for them
		for _, s := range templates[name].slots {
			protocols = protocols || slices.Equal(s.prop, []string{"protocols"})
		}
		for i, c := range cmps {
			if isProtocols(c.path) && !protocols {
				continue // the default observed-data needs, not MISP data
			}
			if fixedComparison(name, c) {
				continue // the template's, as a twitter-account's account_type
			}
			rel, typ := relationOf(name, c)
			obj.Attribute = append(obj.Attribute, Attribute{UUID: attrUUID(o.ID, i, c), Type: typ, Category: categoryFor(typ),
				Value: mispValue(name, rel, c), ToIDs: Bool(toIDs), Timestamp: ts, ObjectRelation: rel})
		}
		if len(obj.Attribute) > 0 {
			// MISP objects have no tags: the import gives an object's
			// STIX form the tags of all its attributes (and the
			// strictest TLP among them), so they go back on the first.
			obj.Attribute[0].Tag = ownTags(ev, o)
		}
		ev.Object = append(ev.Object, obj)
		return
	}
	typ := label(o, "type")
	if typ == "" {
		if len(cmps) != 1 {
			skip("a pattern of %d comparisons without a misp:type label has no MISP attribute form", len(cmps))
			return
		}
		typ = typeOfPath(cmps[0])
		if typ == "" {
			skip("no MISP attribute type for %s", cmps[0].path)
			return
		}
	}
	v, ok := valueOf(typ, cmps)
	if !ok {
		skip("its comparisons do not make a %s value", typ)
		return
	}
	first, last := seenOf(o, toIDs)
	ev.Attribute = append(ev.Attribute, Attribute{UUID: uuidOf(o.ID), Type: typ, Category: categoryOf(o, typ), Value: v,
		ToIDs: Bool(toIDs), Timestamp: ts, Comment: str(o, "description"), Tag: ownTags(ev, o), FirstSeen: first, LastSeen: last})
}

// peComparisons is the start of the path of what a file's pe gives it.
const peComparisons = "file:extensions.'windows-pebinary-ext'."

// peObjects writes the comparisons of a file with a windows-pebinary-ext
// (an import's file and its pe, or a pe alone) as MISP made them: the
// file object (name "file"), which includes a pe object, which includes
// a pe-section object for each of the extension's sections, in their
// order. It reports false where o has no extension (a plain file).
//
// The pe and its sections get uuids made of o's; a pe alone keeps o's,
// and its file's name (its original or internal file name, which the
// import gives the file) is not an attribute.
func (f *Feed) peObjects(ev *Event, o *stix.Object, name string, cmps []comparison, toIDs bool) bool {
	var own, pe []comparison
	var at, peAt []int
	sections := map[int][]comparison{}
	sectionAt := map[int][]int{}
	for i, c := range cmps {
		rest, ok := strings.CutPrefix(c.path, peComparisons)
		if !ok {
			own, at = append(own, c), append(at, i)
			continue
		}
		if n, tail, ok := sectionPath(rest); ok {
			sections[n] = append(sections[n], comparison{"file:" + tail, c.value})
			sectionAt[n] = append(sectionAt[n], i)
			continue
		}
		pe, peAt = append(pe, comparison{"file:" + rest, c.value}), append(peAt, i)
	}
	if len(pe) == 0 && len(sections) == 0 {
		return false
	}
	object, refer := partObjects(o, toIDs)
	include := func(from *Object, to string) { refer(from, "includes", to) }
	var out []Object
	peUUID := uuidOf(o.ID)
	if name == "file" {
		peUUID = uuidV5("pe of " + uuidOf(o.ID))
		file := object(uuidOf(o.ID), "file", own, at)
		file.Comment = str(o, "description")
		include(&file, peUUID)
		out = append(out, file)
	}
	peObj := object(peUUID, "pe", pe, peAt)
	if name == "pe" {
		peObj.Comment = str(o, "description")
	}
	var order []int
	for n := range sections {
		order = append(order, n)
	}
	sort.Ints(order)
	var secs []Object
	for _, n := range order {
		s := object(uuidV5("pe-section "+strconv.Itoa(n)+" of "+peUUID), "pe-section", sections[n], sectionAt[n])
		include(&peObj, s.UUID)
		secs = append(secs, s)
	}
	out = append(append(out, peObj), secs...)
	addParts(ev, o, out)
	return true
}

// partObjects returns the makers of the MISP objects that one indicator
// or observed-data o is made of (see peObjects): object makes one of
// template name from comparisons (at: their places in o's), refer adds a
// reference.
func partObjects(o *stix.Object, toIDs bool) (object func(uuid, name string, cmps []comparison, at []int) Object, refer func(from *Object, typ, to string)) {
	ts := Timestamp(o.Modified.Unix())
	first, last := seenOf(o, toIDs)
	object = func(uuid, name string, cmps []comparison, at []int) Object {
		obj := Object{UUID: uuid, Name: name, MetaCategory: label(o, "meta-category"), Timestamp: ts, FirstSeen: first, LastSeen: last}
		for j, c := range cmps {
			rel, typ := relationOf(name, c)
			obj.Attribute = append(obj.Attribute, Attribute{UUID: attrUUID(o.ID, at[j], cmps[j]), Type: typ, Category: categoryFor(typ),
				Value: mispValue(name, rel, c), ToIDs: Bool(toIDs), Timestamp: ts, ObjectRelation: rel})
		}
		return obj
	}
	refer = func(from *Object, typ, to string) {
		from.ObjectReference = append(from.ObjectReference, ObjectReference{UUID: uuidV5(typ + " " + from.UUID + " " + to),
			ObjectUUID: from.UUID, ReferencedUUID: to, RelationshipType: typ, Timestamp: ts})
	}
	return object, refer
}

// addParts adds the objects made of o to ev, o's tags on the first
// attribute: the import gives o the tags of all its objects' attributes.
func addParts(ev *Event, o *stix.Object, out []Object) {
	for i := range out {
		if len(out[i].Attribute) > 0 {
			out[i].Attribute[0].Tag = ownTags(ev, o)
			break
		}
	}
	ev.Object = append(ev.Object, out...)
}

// valueObjects writes the comparisons of a registry key with values (an
// import's registry-key and the registry-key-values it contains, or a
// registry-key-value alone) as MISP made them: the registry-key (name
// "registry-key"), which contains a registry-key-value for each of its
// values, in their order. It reports false where o has no values.
func (f *Feed) valueObjects(ev *Event, o *stix.Object, name string, cmps []comparison, toIDs bool) bool {
	var own []comparison
	var at []int
	values := map[int][]comparison{}
	valueAt := map[int][]int{}
	for i, c := range cmps {
		if rest, ok := strings.CutPrefix(c.path, "windows-registry-key:values["); ok {
			num, tail, ok := strings.Cut(rest, "].")
			if n, err := strconv.Atoi(num); ok && err == nil && n >= 0 && n <= MaxObjectAttributes {
				values[n] = append(values[n], comparison{"windows-registry-key:" + tail, c.value})
				valueAt[n] = append(valueAt[n], i)
				continue
			}
		}
		own, at = append(own, c), append(at, i)
	}
	if len(values) == 0 || name == "registry-key-value" && (len(own) > 0 || len(values) != 1 || values[0] == nil) {
		return false
	}
	object, refer := partObjects(o, toIDs)
	if name == "registry-key-value" {
		v := object(uuidOf(o.ID), name, values[0], valueAt[0])
		v.Comment = str(o, "description")
		addParts(ev, o, []Object{v})
		return true
	}
	key := object(uuidOf(o.ID), name, own, at)
	key.Comment = str(o, "description")
	var order []int
	for n := range values {
		order = append(order, n)
	}
	sort.Ints(order)
	out := []Object{key}
	for _, n := range order {
		v := object(uuidV5("registry-key-value "+strconv.Itoa(n)+" of "+key.UUID), "registry-key-value", values[n], valueAt[n])
		refer(&out[0], "contains", v.UUID)
		out = append(out, v)
	}
	addParts(ev, o, out)
	return true
}

// sectionPath splits "sections[n].tail", the path of a property of a
// pe-section in its file's windows-pebinary-ext.
func sectionPath(p string) (n int, tail string, ok bool) {
	rest, ok := strings.CutPrefix(p, "sections[")
	if !ok {
		return 0, "", false
	}
	num, tail, ok := strings.Cut(rest, "].")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > MaxObjectAttributes {
		return 0, "", false
	}
	return n, tail, true
}

// seenOf gives an attribute's first_seen and last_seen, where the import
// reads an indicator's valid_from (toIDs) or an observed-data's
// first_observed and last_observed: each only where it is not the
// attribute's timestamp (o's modified in seconds), which the import
// reads when they are absent. Without them a re-import could not tell a
// node's indicator valid since 2020 from a MISP attribute's valid since
// 2026, and MISP users would not see when it was seen.
func seenOf(o *stix.Object, toIDs bool) (first, last string) {
	at := time.Unix(o.Modified.Unix(), 0)
	form := func(k string) string {
		t, err := stix.ParseTimestamp(str(o, k))
		if err != nil || t.Equal(at) {
			return ""
		}
		return t.UTC().Format("2006-01-02T15:04:05.000000-07:00")
	}
	if toIDs {
		return form("valid_from"), ""
	}
	return form("first_observed"), form("last_observed")
}

// isProtocols reports whether a comparison's path is a network-traffic's
// protocols, as an observable holds them or as a pattern compares them
// (protocols[*]; protocols, as an earlier conversion wrote it).
func isProtocols(path string) bool {
	return strings.HasSuffix(path, ":protocols") || strings.HasSuffix(path, ":protocols[*]")
}

// valueOf rebuilds an attribute value of type typ from its comparisons:
// the one comparison (protocols and account types aside) or, for a
// composite type (a|b), the name, value, key or address as a and the
// other as b, in the order of [attributeTerms].
func valueOf(typ string, cmps []comparison) (string, bool) {
	var rest []comparison
	for _, c := range cmps {
		if isProtocols(c.path) || strings.HasSuffix(c.path, ":account_type") {
			continue
		}
		rest = append(rest, c)
	}
	if !strings.Contains(typ, "|") && typ != "malware-sample" {
		if len(rest) != 1 {
			return "", false
		}
		return rest[0].value, true
	}
	if len(rest) != 2 {
		return "", false
	}
	first := func(c comparison) bool {
		return strings.HasSuffix(c.path, ":name") || strings.HasSuffix(c.path, ":value") ||
			strings.HasSuffix(c.path, ":key") || strings.HasSuffix(c.path, "_ref.value")
	}
	a, b := rest[0], rest[1]
	if !first(a) && first(b) {
		a, b = b, a
	}
	return a.value + "|" + b.value, true
}

// attrUUID gives an object's attribute a stable uuid: the observables
// carry no attribute uuid (their ids are the deterministic ones of STIX
// 2.1 section 2.9), so it comes from the object's id, the attribute's
// place and its comparison.
func attrUUID(objID string, i int, c comparison) string {
	return uuidV5("attribute " + objID + " " + strconv.Itoa(i) + " " + c.path + "=" + c.value)
}

// typeOfPath infers the MISP attribute type of one comparison.
func typeOfPath(c comparison) string {
	t, path, _ := strings.Cut(c.path, ":")
	switch {
	case path == "value":
		switch t {
		case "domain-name":
			return "domain"
		case "url":
			return "url"
		case "email-addr":
			return "email"
		case "ipv4-addr", "ipv6-addr":
			return "ip-dst"
		case "mac-addr":
			return "mac-address"
		}
	case t == "network-traffic" && (path == "dst_ref.value" || path == "src_ref.value"):
		if _, err := netip.ParseAddr(c.value); err == nil {
			return "ip-" + path[:3]
		}
		if _, err := netip.ParsePrefix(c.value); err == nil {
			return "ip-" + path[:3]
		}
		return "hostname"
	case strings.HasPrefix(path, "hashes."):
		alg := strings.Trim(strings.TrimPrefix(path, "hashes."), "'")
		best := ""
		for typ, key := range hashKeys {
			if key == alg && (best == "" || typ < best) {
				best = typ
			}
		}
		if t == "x509-certificate" && best != "" {
			return "x509-fingerprint-" + best
		}
		if t == "file" {
			return best
		}
	case t == "file" && path == "name":
		return "filename"
	case t == "mutex" && path == "name":
		return "mutex"
	case t == "windows-registry-key" && path == "key":
		return "regkey"
	case t == "autonomous-system" && path == "number":
		return "AS"
	case t == "email-message" && path == "from_ref.value":
		return "email-src"
	case t == "email-message" && path == "to_refs[*].value":
		return "email-dst"
	case t == "email-message" && path == "subject":
		return "email-subject"
	}
	return ""
}

// relationOf maps a comparison of an object of template name back to its
// relation and attribute type.
func relationOf(name string, c comparison) (string, string) {
	tpl, ok := templates[name]
	if ok {
		_, path, _ := strings.Cut(c.path, ":")
		isIP := false
		if _, err := netip.ParseAddr(c.value); err == nil {
			isIP = true
		}
		var cands []string
		ctype, _, _ := strings.Cut(c.path, ":")
		for rel, s := range tpl.slots {
			if flagOf(s, c) != "" {
				cands = append(cands, rel)
				continue
			}
			t := term{typ: tpl.root, prop: s.prop, ref: s.ref, each: s.each}
			// An observable a single reference could not hold stands
			// alone (a host name beside the address of dst_ref), and so
			// does one another object's reference held: observables are
			// written once per id (the first domain-name of a value may
			// lack a domain-ip's resolves_to_refs).
			alone := s.ref != nil && ctype != tpl.root && path == strings.Join(s.ref.key, ".") &&
				(ctype == s.ref.typ || s.ref.typ == "ip" && (ctype == "ipv4-addr" || ctype == "ipv6-addr"))
			// A list compares element by element in a pattern
			// (protocols[*]); an observable holds the list (protocols).
			same := t.patternPath() == c.path || s.each && strings.TrimSuffix(t.patternPath(), "[*]") == c.path
			if !same && !alone {
				continue
			}
			if s.ref != nil && (s.ref.typ == "ip") != isIP {
				continue
			}
			cands = append(cands, rel)
		}
		sort.Strings(cands)
		if len(cands) > 1 && slices.Contains(cands, "layer3-protocol") {
			// A network-connection's protocols are one list: each goes
			// back to the relation of its layer.
			rel := protocolLayer(c.value)
			return rel, tpl.slots[rel].mispType
		}
		if len(cands) > 0 {
			return cands[0], tpl.slots[cands[0]].mispType
		}
		// A relation the object repeats compares as x_misp_<relation>[*].
		if rel, ok := strings.CutPrefix(strings.TrimSuffix(path, "[*]"), "x_misp_"); ok {
			rel = strings.ReplaceAll(rel, "_", "-")
			if s, ok := tpl.slots[rel]; ok {
				return rel, s.mispType // kept aside, as a MIME description
			}
			return rel, "text"
		}
	}
	_, path, _ := strings.Cut(c.path, ":")
	return strings.ReplaceAll(strings.Trim(path, "'"), "_", "-"), "text"
}

// protocolLayer is the network-connection relation of a protocol: the
// network layer's (layer3-protocol) and the transport layer's
// (layer4-protocol) as the template's suggestions and IANA's protocol
// numbers name them, any other an application's (layer7-protocol).
func protocolLayer(p string) string {
	switch strings.ToLower(p) {
	case "ip", "ipv4", "ipv6", "icmp", "icmpv6", "ipv6-icmp", "arp", "rarp", "igmp", "ipsec", "esp", "ah", "gre", "ipip", "ospf", "ipx", "x.25", "ppp":
		return "layer3-protocol"
	case "tcp", "udp", "sctp", "dccp", "udplite", "udp-lite", "rdp", "spx":
		return "layer4-protocol"
	}
	return "layer7-protocol"
}

// flagOf is the value of slot s that comparison c says (a socket's
// "listening", of is_listening = true), or "".
func flagOf(s slot, c comparison) string {
	if c.value != "true" {
		return ""
	}
	_, path, _ := strings.Cut(c.path, ":")
	for v, prop := range s.flags {
		if (term{prop: prop}).pathForm(false) == ":"+path {
			return v
		}
	}
	return ""
}

// mispValue is the MISP value of comparison c of relation rel of an
// object of template name: c's, or the value a flag stands for.
func mispValue(name, rel string, c comparison) string {
	if v := flagOf(templates[name].slots[rel], c); v != "" {
		return v
	}
	return c.value
}

// categoryOf is the MISP category of an attribute: misp-stix's
// kill-chain phase or label, else the usual one for its type.
func categoryOf(o *stix.Object, typ string) string {
	if c := label(o, "category"); c != "" {
		return c
	}
	if kc, ok := o.Props["kill_chain_phases"].([]any); ok {
		for _, p := range kc {
			if m, ok := p.(map[string]any); ok && m["kill_chain_name"] == "misp-category" {
				if s, ok := m["phase_name"].(string); ok {
					return s
				}
			}
		}
	}
	return categoryFor(typ)
}

func categoryFor(typ string) string {
	switch {
	case hashKeys[typ] != "" || strings.HasPrefix(typ, "filename") || typ == "attachment" || typ == "malware-sample" || typ == "size-in-bytes" || strings.HasPrefix(typ, "email"):
		return "Payload delivery"
	case strings.HasPrefix(typ, "ip-") || strings.HasPrefix(typ, "domain") || strings.HasPrefix(typ, "hostname") ||
		typ == "url" || typ == "uri" || typ == "port" || typ == "AS" || typ == "mac-address" || typ == "user-agent" ||
		strings.HasPrefix(typ, "x509") || typ == "snort" || typ == "suricata":
		return "Network activity"
	case strings.HasPrefix(typ, "regkey"):
		return "Persistence mechanism"
	case typ == "mutex":
		return "Artifacts dropped"
	case typ == "link" || typ == "vulnerability":
		return "External analysis"
	case typ == "yara" || typ == "sigma":
		return "Payload installation"
	case typ == "campaign-name":
		return "Attribution"
	case typ == "github-username":
		return "Social network"
	}
	return "Other"
}

// feedEvent is the JSON of an event in a feed: the fields PyMISP's feed
// generator keeps.
type feedEvent struct {
	UUID             string        `json:"uuid"`
	Info             string        `json:"info"`
	Date             string        `json:"date"`
	Timestamp        Timestamp     `json:"timestamp"`
	Published        bool          `json:"published"`
	PublishTimestamp Timestamp     `json:"publish_timestamp"`
	Analysis         Text          `json:"analysis"`
	ThreatLevelID    Text          `json:"threat_level_id"`
	Orgc             Org           `json:"Orgc"`
	Tag              []Tag         `json:"Tag,omitempty"`
	Attribute        []Attribute   `json:"Attribute"`
	Object           []Object      `json:"Object,omitempty"`
	Galaxy           []Galaxy      `json:"Galaxy,omitempty"`
	EventReport      []EventReport `json:"EventReport,omitempty"`
}

// WriteFeed writes f into dir as a MISP feed ([FeedFiles]): manifest.json,
// <uuid>.json per event ({"Event": ...}) and hashes.csv, as PyMISP's
// feed generator does. dir is created (0755 less the umask) if needed; existing files
// of the same names are replaced, each keeping its mode, and a new file is
// 0600: a feed holds intel that may be TLP:RED, which other users of the
// machine must not read. (The files were 0644, whatever the umask.)
func WriteFeed(dir string, f *Feed) error {
	files, err := FeedFiles(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("couldn't create %s: %w", dir, err)
	}
	for _, ff := range files {
		if err := writeFile(filepath.Join(dir, ff.Name), ff.Data); err != nil {
			return err
		}
	}
	return nil
}

// FeedFile is one file of a MISP feed: its name in the feed's folder and
// its content.
type FeedFile struct {
	Name string
	Data []byte
}

// FeedFiles returns the files of f as a MISP feed: <uuid>.json per event
// ({"Event": ...}), hashes.csv (the MD5 of each attribute value, each part
// of a composite value on its own line, with its event uuid) and
// manifest.json, in that order, which is the order to write them in: the
// manifest, which names the events, comes last, so that a MISP instance
// polling the feed meanwhile finds no event it names missing.
func FeedFiles(f *Feed) ([]FeedFile, error) {
	var files []FeedFile
	manifest := map[string]ManifestEntry{}
	var hashes strings.Builder
	for _, ev := range f.Events {
		if ev.Orgc.Name == "" {
			ev.Orgc.Name = "unknown"
		}
		if ev.Date == "" {
			ev.Date = ev.Timestamp.Time().Format("2006-01-02")
		}
		fe := feedEvent{UUID: ev.UUID, Info: ev.Info, Date: ev.Date, Timestamp: ev.Timestamp, Published: bool(ev.Published),
			PublishTimestamp: ev.PublishTimestamp, Analysis: ev.Analysis, ThreatLevelID: ev.ThreatLevelID, Orgc: ev.Orgc,
			Tag: ev.Tag, Attribute: ev.Attribute, Object: ev.Object, Galaxy: ev.Galaxy, EventReport: ev.EventReport}
		if fe.Attribute == nil {
			fe.Attribute = []Attribute{}
		}
		b, err := json.Marshal(map[string]any{"Event": fe})
		if err != nil {
			return nil, err
		}
		files = append(files, FeedFile{Name: ev.UUID + ".json", Data: b})
		manifest[ev.UUID] = ManifestEntry{Info: ev.Info, Date: ev.Date, Timestamp: ev.Timestamp, Orgc: ev.Orgc,
			Tag: ev.Tag, Analysis: ev.Analysis, ThreatLevelID: ev.ThreatLevelID}
		all := append([]Attribute{}, ev.Attribute...)
		for _, o := range ev.Object {
			all = append(all, o.Attribute...)
		}
		for _, a := range all {
			if a.Deleted {
				continue // hashes.csv lists what the feed holds now
			}
			parts := []string{a.Value}
			if strings.Contains(a.Type, "|") || a.Type == "malware-sample" {
				parts = strings.SplitN(a.Value, "|", 2)
			}
			for _, p := range parts {
				sum := md5.Sum([]byte(p))
				fmt.Fprintf(&hashes, "%s,%s\n", hex.EncodeToString(sum[:]), ev.UUID)
			}
		}
	}
	b, err := json.Marshal(manifest)
	if err != nil {
		return nil, err
	}
	return append(files, FeedFile{Name: "hashes.csv", Data: []byte(hashes.String())}, FeedFile{Name: "manifest.json", Data: b}), nil
}

// writeFile writes through a temporary file and a rename, so that a MISP
// instance polling the feed never reads half a file. The temporary file
// has a random name, made anew (never a file or link found there), and is
// 0600 whatever the umask; it takes the mode of the file it replaces.
func writeFile(name string, data []byte) error {
	old, statErr := os.Stat(name)
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("couldn't write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil && statErr == nil && old.Mode().IsRegular() {
		err = f.Chmod(old.Mode().Perm())
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("couldn't write %s: %w", name, err)
	}
	return nil
}

const exportInfo = "Parley export of "

// EventFor returns the event that [FeedFromSTIX] fills with objects no
// report references: its uuid is derived from name (a collection id or a
// file name), so that exporting the same source twice updates one event;
// its timestamp is its newest content's.
func EventFor(name string) Event {
	return Event{UUID: uuidV5("export " + name), Info: exportInfo + name, Analysis: "2", ThreatLevelID: "4", Orgc: Org{Name: "Parley"}}
}

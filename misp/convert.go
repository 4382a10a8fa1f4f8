package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/stix"
)

// sharedCreated is the created and modified time of the objects events
// share (galaxy clusters, organisations' identities): MISP gives them no
// timestamp of their own, and a fixed one keeps a single version of each
// however many events use it.
const sharedCreated = "2016-01-01T00:00:00.000Z"

// SharedVersion is the version of the objects events share. Each event
// carries its own copy of them (misp-galaxy updates a cluster's
// description and synonyms, an organisation is renamed), so a node that
// took an earlier event may hold another copy under the same id and
// version: importers keep the node's copy rather than fail.
const SharedVersion = sharedCreated

// relationshipNamespace is the UUIDv5 namespace of relationship ids.
var relationshipNamespace = uuid.MustParse("c3a4f1e2-5d9b-4a43-9e7a-2f0f0c6d7b15")

// Options says how [Converter] writes objects.
type Options struct {
	// CreatedBy is the identity every object names in created_by_ref. When
	// empty, objects name the event's creator organisation
	// (identity--<Orgc uuid>), whose identity object is then written too.
	CreatedBy string
	// NoMarkingObjects leaves out the TLP marking-definition objects (a
	// node knows them already); objects still reference them.
	NoMarkingObjects bool
	// KeepRestricted maps what MISP's distribution keeps inside the
	// organisation ("0", your organisation only) or a sharing group ("4"),
	// which are otherwise left out and counted in Stats.Restricted (see
	// Restricted): events, attributes, objects and galaxy clusters (a
	// cluster by its own level, and then also the tags that name it). A
	// feed's events are published: their importer sets it. It does not
	// keep local tags, which are never written (see [Tag.Local]).
	KeepRestricted bool
}

// Restricted reports whether MISP's distribution levels keep an attribute
// from leaving its organisation or sharing group: its own level, or, where
// it inherits ("5", or none given), its object's, and the event's, which
// caps both (MISP never shares an attribute further than its event). "0" is
// your organisation only, "4" a sharing group; "1" to "3" (community,
// connected communities, all) are shared as MISP's synchronisation would.
func Restricted(levels ...Text) bool {
	for _, l := range levels {
		switch strings.TrimSpace(string(l)) {
		case "0", "4":
			return true
		}
	}
	return false
}

// Unsupported is one piece of MISP data that produced no STIX object.
type Unsupported struct {
	Event  string // the event's uuid
	Kind   string // "attribute", "object", "galaxy" or "sighting"
	UUID   string
	Name   string // the attribute type, object template or galaxy type
	Reason string
}

func (u Unsupported) String() string {
	return fmt.Sprintf("event %s: %s %s (%s): %s", u.Event, u.Kind, u.UUID, u.Name, u.Reason)
}

// Stats counts what a [Converter] did.
type Stats struct {
	Events, Attributes, Objects, Clusters, Sightings int
	// Deleted counts attributes and objects marked deleted; Revoked
	// those of them written as revoked versions (see Converter.revoke).
	Deleted, Revoked int
	// Restricted counts the events, attributes, objects and galaxy
	// clusters left out because MISP's distribution keeps them in the
	// organisation or a sharing group (see Options.KeepRestricted).
	// Clusters counts the clusters written or tried, not these.
	Restricted int
	// Local counts the local tags left out, and the clusters that local
	// tags attach (see [Tag.Local]).
	Local int
	// STIX counts the objects written.
	STIX int
	// CreatorsLeftOut counts the identities of the events' creator
	// organisations not written because Options.CreatedBy names the
	// creator instead (each once), and MarkingsLeftOut the TLP marking
	// definitions not written for Options.NoMarkingObjects (each once):
	// without those options, STIX would count them too.
	CreatorsLeftOut, MarkingsLeftOut int
}

// Converter maps MISP events to STIX 2.1. It remembers the ids of the
// shared objects it wrote (identities, markings, galaxy clusters), so
// that a run over many events writes each once. Not safe for concurrent
// use.
type Converter struct {
	opt       Options
	validator stix.Validator
	seen      map[string]bool
	// observables are the cyber-observables written, by id: their ids are
	// deterministic (STIX 2.1 section 2.9), so the same value in two
	// attributes names one object, written once.
	observables map[string]bool
	// leftOut are the ids of the shared objects the options left out
	// (Stats.CreatorsLeftOut, Stats.MarkingsLeftOut), counted once.
	leftOut map[string]bool
	// hidden are the tags (lower case) that name galaxy clusters left
	// out as restricted, in this event or an earlier one.
	hidden map[string]bool
	Stats  Stats
}

// NewConverter returns a converter with the given options.
func NewConverter(opt Options) *Converter {
	return &Converter{
		opt:       opt,
		validator: stix.Validator{Patterns: map[string]func(string) error{"stix": pattern.Validate}},
		seen:      map[string]bool{},

		observables: map[string]bool{},
		hidden:      map[string]bool{},
		leftOut:     map[string]bool{},
	}
}

// Result is the conversion of one event.
type Result struct {
	// Objects are the STIX objects, each JSON with sorted keys, valid
	// per [stix.Validator] with the pattern package's validator.
	Objects []json.RawMessage
	// Keys are the objects' "<id> <version>", in the same order.
	Keys        []string
	Unsupported []Unsupported
}

// eventCtx is what the objects of one event share.
type eventCtx struct {
	ev        *Event
	createdBy string
	container string // the report or grouping id
	markings  []string
	// floor is the strictest TLP marking of the event's local tags, or
	// "": every object of the event is marked at least that strictly.
	floor    string
	res      *Result
	refs     []string          // the container's object_refs
	byMISP   map[string]string // MISP attribute/object uuid -> its SDO id
	clusters map[string]*unit  // cluster uuid -> its SDO
	// revoking: the attribute or object being mapped is deleted (see
	// revoke).
	revoking bool
	// collectionUUIDs are the uuids the event gives to clusters of
	// different values (see clusterID).
	collectionUUIDs map[string]bool
	// public holds the tags (lower case) that name clusters of this event
	// MISP doesn't restrict: such a tag stays though a restricted cluster
	// of the same value hid it (see hideRestrictedClusters).
	public map[string]bool
	// merges are the objects written in another's observable.
	merges merges
	// newly holds the uuids of the MISP objects of a template newly
	// mapped (or written as parts of another's observable) that were
	// written: an event report's note that cites one is a new version.
	newly map[string]bool
	// observables holds, for each observable this event wrote first,
	// its place in res.Objects: of the forms the event's attributes and
	// objects give one id, the shortest stays (see emit).
	observables map[string]int
}

// revoke runs convert (the mapping of a deleted attribute or object)
// in revoking mode: its indicator, observed-data, note, vulnerability or
// campaign is written with "revoked": true, as the version of the
// deleted attribute's timestamp (MISP moves it on deletion), so that a
// node or a reader holding the live version learns that it is
// withdrawn. Nothing else is written for it: it stays out of the report
// or grouping, gets no relationships or sightings, and one that cannot
// be mapped is not reported (it was never imported).
func (c *Converter) revoke(x *eventCtx, convert func()) {
	x.revoking = true
	defer func() { x.revoking = false }()
	convert()
}

// unit is a group of objects that stand or fall together (an indicator;
// an observed-data with its observables).
type unit struct {
	main string // the id that others reference
	objs []map[string]any
}

func ts(t Timestamp) string {
	return stix.FormatTimestamp(t.Time())
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func validUUID(s string) bool { return uuidRE.MatchString(s) }

// Convert maps one event. Attributes and objects marked deleted become
// revoked versions (see revoke); what cannot be mapped is in the
// result's Unsupported.
func (c *Converter) Convert(ev *Event) *Result {
	res := &Result{}
	c.Stats.Events++
	if !c.opt.KeepRestricted && Restricted(ev.Distribution) {
		c.Stats.Restricted++
		return res
	}
	if ev.Timestamp == 0 {
		if d, err := time.Parse("2006-01-02", ev.Date); err == nil {
			ev.Timestamp = Timestamp(d.Unix())
		}
	}
	x := &eventCtx{ev: ev, createdBy: c.opt.CreatedBy, res: res, clusters: map[string]*unit{}, byMISP: map[string]string{}, newly: map[string]bool{},
		collectionUUIDs: collectionUUIDs(ev)}
	if ev.Published {
		x.container = "report--" + ev.UUID
	} else {
		x.container = "grouping--" + ev.UUID
	}
	orgc := "identity--" + ev.Orgc.UUID
	if !validUUID(ev.Orgc.UUID) {
		// No creator to name: a stable one per event.
		orgc = "identity--" + uuid.NewSHA1(relationshipNamespace, []byte("orgc "+ev.UUID+ev.Orgc.Name)).String()
	}
	if x.createdBy != "" && !c.leftOut[orgc] {
		c.leftOut[orgc] = true
		c.Stats.CreatorsLeftOut++
	}
	if x.createdBy == "" {
		x.createdBy = orgc
		name := ev.Orgc.Name
		if name == "" {
			name = "unknown MISP organisation"
		}
		c.shared(x, map[string]any{"type": "identity", "spec_version": "2.1", "id": x.createdBy,
			"created": sharedCreated, "modified": sharedCreated, "name": name, "identity_class": "organization"})
	}
	if !c.opt.KeepRestricted {
		c.hideRestrictedClusters(x)
		x.public = publicClusterTags(c, x)
	}
	eventLabels, eventMarks, eventFloor := c.tags(x, ev.Tag)
	x.floor = eventFloor
	x.markings = c.tighten(x, eventMarks, eventFloor)

	// Event galaxies first: attributes may reference the same clusters.
	var eventClusters []*unit
	for i := range ev.Galaxy {
		eventClusters = append(eventClusters, c.galaxy(x, &ev.Galaxy[i], "event "+ev.UUID)...)
	}
	for i := range ev.Attribute {
		a := &ev.Attribute[i]
		if a.Timestamp == 0 {
			// Events written by hand or by PyMISP before MISP saved them
			// have none: the event's dates the attribute, as it does an
			// object, rather than 1970 (where every edit would be the
			// same version with other content).
			a.Timestamp = ev.Timestamp
		}
		// Before the deleted ones: a revoked version would carry the
		// value too.
		if !c.opt.KeepRestricted && Restricted(a.Distribution) {
			c.Stats.Restricted++
			continue
		}
		if a.Deleted {
			c.Stats.Deleted++
			c.revoke(x, func() { c.attribute(x, a) })
			continue
		}
		c.Stats.Attributes++
		c.attribute(x, a)
	}
	// Objects written as parts of another's observable (a file's pe),
	// planned over the live objects as they are written.
	var live, shared []*Object
	for i := range ev.Object {
		o := &ev.Object[i]
		if !c.opt.KeepRestricted && Restricted(o.Distribution) {
			continue
		}
		if !c.opt.KeepRestricted {
			o = withoutRestricted(o, &Stats{})
		}
		shared = append(shared, o)
		if !o.Deleted {
			live = append(live, o)
		}
	}
	x.merges = planMerges(live)
	x.merges.stamps = mergeStamps(shared, ev.Timestamp)
	for i := range ev.Object {
		o := &ev.Object[i]
		if !c.opt.KeepRestricted {
			if Restricted(o.Distribution) {
				c.Stats.Restricted++
				continue
			}
			o = withoutRestricted(o, &c.Stats)
		}
		if o.Deleted {
			c.Stats.Deleted++
			// MISP deletes an object's attributes with it: the revoked
			// version is made of all of them, so that it has the id
			// (indicator or observed-data) the live one had.
			live := *o
			live.Attribute = append([]Attribute(nil), o.Attribute...)
			for j := range live.Attribute {
				live.Attribute[j].Deleted = false
			}
			c.revoke(x, func() { c.object(x, &live) })
			continue
		}
		c.Stats.Objects++
		c.object(x, o)
	}
	// Object references between what was mapped.
	var refRels []objectRel
	for i := range ev.Object {
		o := &ev.Object[i]
		for _, r := range o.ObjectReference {
			src, dst := x.byMISP[o.UUID], x.byMISP[r.ReferencedUUID]
			if r.Deleted || src == "" {
				continue // an object not written is counted or listed itself
			}
			if x.merges.joins(o.UUID, r.ReferencedUUID) || src == dst && (x.merges.into[o.UUID] != "" || x.merges.into[r.ReferencedUUID] != "") {
				continue // within one observable: a file including its pe
			}
			if dst == "" {
				// Its target is left out (counted), listed as unsupported
				// or not in this event: the link is lost either way.
				id := r.UUID
				if id == "" {
					id = o.UUID
				}
				c.unsupported(x, "object-reference", id, r.RelationshipType, "from object %s to %s, which is not written (left out, not mapped, or not in this event)", o.UUID, r.ReferencedUUID)
				continue
			}
			// Dated by the reference (by its object when it has no
			// timestamp, as misp-stix dates it): the event's timestamp
			// moves with every edit of the event, and made a new
			// version of every relationship of an event edited
			// elsewhere, its created changed, at each import.
			when := ev.Timestamp
			switch {
			case r.Timestamp > 0:
				when = r.Timestamp
			case o.Timestamp > 0:
				when = o.Timestamp
			}
			refRels = append(refRels, objectRel{src: src, typ: relationshipName(r.RelationshipType), dst: dst, when: when,
				description: r.Comment, part: x.merges.into[o.UUID] != "", uuid: strings.ToLower(r.UUID)})
		}
	}
	for _, r := range chosenRels(refRels) {
		modified := ts(r.when)
		if r.later {
			modified = stix.FormatTimestamp(r.when.Time().Add(laterRevision))
		}
		c.relationshipAt(x, r.src, r.typ, r.dst, ts(r.when), modified, r.description)
	}
	// Analyst data and proposals of what was written (not of what was
	// left out).
	c.analystData(x, "event "+ev.UUID, &ev.AnalystData)
	c.proposals(x, "event "+ev.UUID, ev.UUID, ev.ShadowAttribute)
	if ev.ExtendsUUID != "" {
		c.unsupported(x, "event", ev.UUID, "extends", "the event extends event %s, which is not written: an extension is an event of its own here", ev.ExtendsUUID)
	}
	for i := range ev.Attribute {
		if a := &ev.Attribute[i]; x.byMISP[a.UUID] != "" {
			c.analystData(x, "attribute "+a.UUID, &a.AnalystData)
			c.proposals(x, "attribute "+a.UUID, a.UUID, a.ShadowAttribute)
		}
	}
	for i := range ev.Object {
		o := &ev.Object[i]
		if x.byMISP[o.UUID] == "" {
			continue
		}
		c.analystData(x, "object "+o.UUID, &o.AnalystData)
		for j := range o.Attribute {
			if a := &o.Attribute[j]; !bool(a.Deleted) && (c.opt.KeepRestricted || !Restricted(a.Distribution)) {
				c.analystData(x, "attribute "+a.UUID, &a.AnalystData)
				c.proposals(x, "attribute "+a.UUID, a.UUID, a.ShadowAttribute)
			}
		}
	}
	// Event reports cite what was mapped, so they come after it.
	for i := range ev.EventReport {
		r := &ev.EventReport[i]
		if !c.opt.KeepRestricted && Restricted(r.Distribution) {
			c.Stats.Restricted++
			continue
		}
		if r.Deleted {
			c.Stats.Deleted++
			c.revoke(x, func() { c.eventReport(x, r) })
			continue
		}
		c.eventReport(x, r)
	}
	// Who uses what among the event's clusters.
	for _, a := range eventClusters {
		for _, b := range eventClusters {
			if clustersUse(typeOf(a.main), typeOf(b.main)) {
				c.relationship(x, a.main, "uses", b.main, ts(ev.Timestamp), "")
			}
		}
	}
	if !ExportRest(ev) {
		c.container(x, eventLabels)
	}
	c.Stats.STIX += len(res.Objects)
	return res
}

// objectRel is the relationship an object reference makes.
type objectRel struct {
	src, typ, dst string
	when          Timestamp
	description   string
	part          bool   // the reference is a part's (a pe's), made the whole's
	uuid          string // the reference's
	// later: another reference of the same id and date has another
	// description (see chosenRels).
	later bool
}

// chosenRels returns, of the relationships rels that share an id (the
// same ends and type: references from a pe and from the file that
// includes it, both the file's, or two references of one object to the
// same target), one each, in the order of their first: the latest dated
// (the last edited in MISP, whose date is the relationship's version);
// of those equally dated, the whole's own reference before a part's,
// then the lowest reference uuid, then the lowest description. The
// choice is the same in whatever order MISP lists the objects and their
// references.
//
// Conversions before this rule wrote the first listed of them, at its
// date: where another of the chosen one's date has another description,
// that may be other content under the chosen one's id and version, so
// the chosen one is marked later, to be a version 3 ms after its date
// (see laterRevision), its created still its date.
func chosenRels(rels []objectRel) []objectRel {
	best := map[string]int{}
	var order []string
	for i, r := range rels {
		id := referenceID(r.src, r.typ, r.dst)
		j, ok := best[id]
		if !ok {
			best[id] = i
			order = append(order, id)
			continue
		}
		if relBefore(r, rels[j]) {
			best[id] = i
		}
	}
	for _, r := range rels {
		b := &rels[best[referenceID(r.src, r.typ, r.dst)]]
		if r.when == b.when && r.description != b.description {
			b.later = true
		}
	}
	out := make([]objectRel, 0, len(order))
	for _, id := range order {
		out = append(out, rels[best[id]])
	}
	return out
}

// relBefore reports whether a is chosen over b (see chosenRels).
func relBefore(a, b objectRel) bool {
	switch {
	case a.when != b.when:
		return a.when > b.when
	case a.part != b.part:
		return !a.part
	case a.uuid != b.uuid:
		return a.uuid < b.uuid
	}
	return a.description < b.description
}

// analystData lists the analyst data of where (MISP's notes, opinions
// and relationships) as unsupported, so that none is dropped silently.
func (c *Converter) analystData(x *eventCtx, where string, d *AnalystData) {
	for _, l := range []struct {
		name string
		data []AnalystDatum
	}{{"note", d.Note}, {"opinion", d.Opinion}, {"relationship", d.Relationship}} {
		for _, a := range l.data {
			c.unsupported(x, "analyst-data", a.UUID, l.name, "MISP analyst data (on %s) has no mapping here", where)
		}
	}
}

// proposals lists the proposals (shadow attributes) on where as
// unsupported: another organisation's suggestion that the event's creator
// has not accepted is no part of the event, and written as its creator's
// it would say what the creator never did. A proposal without a uuid (as
// PyMISP writes a new one) is named by the uuid of what it is on.
func (c *Converter) proposals(x *eventCtx, where, onUUID string, ps []Proposal) {
	for _, p := range ps {
		what := "add a " + p.Type + " attribute"
		if where != "event "+x.ev.UUID {
			what = "change it to a " + p.Type + " attribute"
		}
		if p.ProposalToDelete {
			what = "delete it"
		}
		by := "another organisation"
		if p.Org != nil && p.Org.Name != "" {
			by = p.Org.Name
		}
		id := p.UUID
		if id == "" {
			id = onUUID
		}
		c.unsupported(x, "proposal", id, p.Type, "a proposal by %s (on %s) to %s, not accepted into the event", by, where, what)
	}
}

// metaStrings returns the strings of a cluster's meta field, which MISP
// writes as a list and misp-stix's documentation also as one string.
func metaStrings(meta map[string]any, key string) []string {
	var out []string
	switch v := meta[key].(type) {
	case string:
		if v != "" {
			out = append(out, v)
		}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// reportRefRE finds what an event report's Markdown cites:
// @[attribute](<uuid>), @[object](<uuid>), and their @! image forms.
var reportRefRE = regexp.MustCompile(`@!?\[(?:attribute|object)\]\(([0-9a-fA-F-]{36})\)`)

// eventReport maps an event report to a note--<report uuid>, as misp-stix
// does: its name is the abstract, its Markdown the content, and it refers
// to the STIX objects of the attributes and objects it cites that were
// written (none: the event's report or grouping).
func (c *Converter) eventReport(x *eventCtx, r *EventReport) {
	if !validUUID(r.UUID) {
		c.unsupported(x, "event-report", r.UUID, r.Name, "the uuid is not a UUID")
		return
	}
	t := r.Timestamp
	if t == 0 {
		t = x.ev.Timestamp
	}
	m := x.base("note", r.UUID, t)
	setIf(m, "abstract", r.Name)
	m["content"] = r.Content
	if r.Content == "" {
		m["content"] = r.Name
	}
	// An object's attribute is cited as the object (misp-stix does so);
	// one that several objects give (MISP does not, but a feed may) as
	// the one of the lowest uuid, whatever order they come in.
	// Conversions before cited the last object listed that gives it:
	// a note that cites such an attribute is a version 3 ms after its
	// timestamp (see laterRevision), never other content under theirs.
	objectOf := map[string]string{}
	several := map[string]bool{}
	for i := range x.ev.Object {
		o := strings.ToLower(x.ev.Object[i].UUID)
		for _, a := range x.ev.Object[i].Attribute {
			had, ok := objectOf[strings.ToLower(a.UUID)]
			if ok && had != o {
				several[strings.ToLower(a.UUID)] = true
			}
			if !ok || o < had {
				objectOf[strings.ToLower(a.UUID)] = o
			}
		}
	}
	var refs []any
	// cited: a hostile report may cite each of many objects many times.
	cited := map[string]bool{}
	var after time.Duration
	for _, sm := range reportRefRE.FindAllStringSubmatch(r.Content, -1) {
		u := strings.ToLower(sm[1])
		ambiguous := several[u]
		if o, ok := objectOf[u]; ok {
			u = strings.ToLower(o)
		}
		id := x.byMISP[u]
		if id != "" && !cited[id] {
			cited[id] = true
			refs = append(refs, id)
		}
		if id != "" && x.newly[u] {
			// An import before the template was mapped did not cite
			// it: a new version of the note it wrote (see
			// mappingRevision).
			after = max(after, mappingRevision)
		}
		if ambiguous {
			after = laterRevision
		}
	}
	if after > 0 {
		m["modified"] = stix.FormatTimestamp(t.Time().Add(after))
	}
	if len(refs) == 0 {
		refs = []any{x.container}
	}
	m["object_refs"] = refs
	m["labels"] = []any{`misp:data-layer="Event Report"`}
	setIf(m, "object_marking_refs", markingRefs(x.markings, nil))
	if x.revoking {
		m["revoked"] = true
	}
	if err := c.emit(x, &unit{main: m["id"].(string), objs: []map[string]any{m}}); err != nil {
		c.unsupported(x, "event-report", r.UUID, r.Name, "invalid as STIX: %v", err)
		return
	}
	if x.revoking {
		c.Stats.Revoked++
		return
	}
	x.refs = append(x.refs, m["id"].(string))
	c.analystData(x, "event report "+r.UUID, &r.AnalystData)
}

// withoutRestricted returns o without its attributes that MISP's
// distribution restricts (counted in st.Restricted), or o itself when it
// has none.
func withoutRestricted(o *Object, st *Stats) *Object {
	if !slices.ContainsFunc(o.Attribute, func(a Attribute) bool { return Restricted(a.Distribution) }) {
		return o // no copy of an object of many attributes
	}
	keep := o.Attribute[:0:0]
	for _, a := range o.Attribute {
		if Restricted(a.Distribution) {
			st.Restricted++
			continue
		}
		keep = append(keep, a)
	}
	if len(keep) == len(o.Attribute) {
		return o
	}
	out := *o
	out.Attribute = keep
	return &out
}

func typeOf(id string) string {
	t, _, _ := strings.Cut(id, "--")
	return t
}

// base returns the common properties of an SDO made from the event.
func (x *eventCtx) base(typ, id string, t Timestamp) map[string]any {
	m := map[string]any{
		"type": typ, "spec_version": "2.1", "id": typ + "--" + id,
		"created": ts(t), "modified": ts(t), "created_by_ref": x.createdBy,
		"x_misp_event_uuid": x.ev.UUID,
	}
	if x.ev.Orgc.UUID != "" {
		m["x_misp_orgc_uuid"] = x.ev.Orgc.UUID
	}
	if x.ev.Orgc.Name != "" {
		m["x_misp_orgc_name"] = x.ev.Orgc.Name
	}
	return m
}

// tlpTags maps MISP tlp: tags to TLP 2.0 marking definitions.
var tlpTags = map[string]string{
	"tlp:white": stix.TLP2ClearID, "tlp:clear": stix.TLP2ClearID,
	"tlp:green": stix.TLP2GreenID, "tlp:amber": stix.TLP2AmberID,
	"tlp:amber+strict": stix.TLP2AmberStrictID, "tlp:red": stix.TLP2RedID,
}

// tags splits tags into labels and TLP markings, writing the marking
// definitions once. Local tags, which MISP never shares, are left out
// (counted in Stats.Local), and so are the tags of clusters left out as
// restricted; floor is the strictest TLP marking among the local tags,
// or "": MISP's users of the organisation see the data under it, so the
// objects made of it are marked at least as strictly (see tighten),
// though the tag itself is not written.
func (c *Converter) tags(x *eventCtx, tags []Tag) (labels, marks []string, floor string) {
	for _, t := range tags {
		name := strings.TrimSpace(t.Name)
		id, isTLP := tlpTags[strings.ToLower(name)]
		if t.Local {
			c.Stats.Local++
			if isTLP {
				floor = stricter(floor, id)
			}
			continue
		}
		if isTLP {
			marks = append(marks, id)
			c.marking(x, id)
			continue
		}
		if lower := strings.ToLower(name); name != "" && (!c.hidden[lower] || x.public[lower]) {
			labels = append(labels, t.Name)
		}
	}
	return labels, marks, floor
}

// marking writes the TLP marking definition id, once per converter.
func (c *Converter) marking(x *eventCtx, id string) {
	if c.opt.NoMarkingObjects {
		if !c.leftOut[id] {
			c.leftOut[id] = true
			c.Stats.MarkingsLeftOut++
		}
		return
	}
	if c.seen[id] {
		return
	}
	c.seen[id] = true
	x.res.Objects = append(x.res.Objects, stix.TLPMarking(id))
	x.res.Keys = append(x.res.Keys, id+" ")
}

// tlpRank orders the TLP 2.0 markings tlpTags maps to from the least
// strict (TLP:CLEAR, 0) up; -1 for "" and other ids.
func tlpRank(id string) int {
	for i, r := range []string{stix.TLP2ClearID, stix.TLP2GreenID, stix.TLP2AmberID, stix.TLP2AmberStrictID, stix.TLP2RedID} {
		if id == r {
			return i
		}
	}
	return -1
}

// stricter returns the stricter of two TLP markings ("" is none).
func stricter(a, b string) string {
	if tlpRank(b) > tlpRank(a) {
		return b
	}
	return a
}

// tighten returns marks, or only floor when floor is stricter than every
// TLP marking in marks (or marks has none): a local tlp: tag never
// loosens a marking, and what it tightens is marked by its level alone.
// A local TLP:CLEAR restricts nothing, so it never adds a marking.
func (c *Converter) tighten(x *eventCtx, marks []string, floor string) []string {
	if tlpRank(floor) <= 0 {
		return marks
	}
	for _, m := range marks {
		if tlpRank(m) >= tlpRank(floor) {
			return marks
		}
	}
	c.marking(x, floor)
	return []string{floor}
}

// restrictedCluster reports whether MISP's distribution keeps cl in its
// organisation or a sharing group: its own level is "0" or "4" (a
// cluster has no "5": it belongs to no event), and it is not one of
// misp-galaxy's clusters, which every MISP instance has and whose tags
// MISP's synchronisation sends with events whatever their level:
// "default": true (MISP gives them "3"), or a uuid that is its misp-galaxy
// collection's (see clusterID), as in exports of MISP before
// collection_uuid, which may give misp-galaxy's clusters "0" and
// "default": false.
func (c *Converter) restrictedCluster(x *eventCtx, cl *Cluster) bool {
	if !Restricted(cl.Distribution) || bool(cl.Default) {
		return false
	}
	u := strings.ToLower(cl.UUID)
	_, collection := galaxyCollections[u]
	return !collection && !x.collectionUUIDs[u]
}

// hideRestrictedClusters adds to c.hidden the tags that name the clusters
// of x's event that MISP's distribution restricts (see
// restrictedCluster): the tag_name MISP gives, and
// misp-galaxy:<type>="<value>" and ="<uuid>" for exports without it.
func (c *Converter) hideRestrictedClusters(x *eventCtx) {
	ev := x.ev
	add := func(gs []Galaxy) {
		for _, g := range gs {
			for _, cl := range g.GalaxyCluster {
				if !c.restrictedCluster(x, &cl) {
					continue
				}
				if cl.TagName != "" {
					c.hidden[strings.ToLower(strings.TrimSpace(cl.TagName))] = true
				}
				for _, typ := range []string{g.Type, cl.Type} {
					for _, v := range []string{cl.Value, cl.UUID} {
						if typ != "" && v != "" {
							c.hidden[strings.ToLower(fmt.Sprintf("misp-galaxy:%s=%q", typ, v))] = true
						}
					}
				}
			}
		}
	}
	eachGalaxies(ev, add)
}

// shared writes an object that many events share, once per converter.
func (c *Converter) shared(x *eventCtx, m map[string]any) bool {
	id := m["id"].(string)
	if c.seen[id] {
		return true
	}
	if err := c.emit(x, &unit{main: id, objs: []map[string]any{m}}); err != nil {
		return false
	}
	c.seen[id] = true
	return true
}

// emit validates a unit and writes it; an invalid unit is written as
// nothing and returned as the error. The maps hold only what
// encoding/json decodes (strings, json.Number, bools, []any, maps), so
// they are validated as they are, without decoding the JSON again.
//
// An observable whose id the converter wrote already (the same value in
// another attribute or object, in this event or an earlier one) is not
// written again: the unit's references resolve to the first one, which
// stays as it was even when this one differs in properties outside the
// id (a domain-ip object's domain-name has resolves_to_refs, a domain
// attribute's has not), since an object is written once.
func (c *Converter) emit(x *eventCtx, u *unit) error {
	raws := make([]json.RawMessage, 0, len(u.objs))
	keys := make([]string, 0, len(u.objs))
	for _, m := range u.objs {
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := c.validator.Validate(&stix.Object{Props: m}); err != nil {
			return err
		}
		raws = append(raws, b)
		id, _ := m["id"].(string)
		version, _ := m["modified"].(string)
		if version == "" {
			version, _ = m["created"].(string)
		}
		keys = append(keys, id+" "+version)
	}
	for i, m := range u.objs {
		typ, _ := m["type"].(string)
		if !stix.IsObservable(typ) {
			x.res.Objects = append(x.res.Objects, raws[i])
			x.res.Keys = append(x.res.Keys, keys[i])
			continue
		}
		id, _ := m["id"].(string)
		if c.observables[id] {
			// Written by this event before: of the forms its attributes
			// and objects give the id (a domain alone, or with the
			// addresses a domain-ip resolves it to), the shortest stays,
			// then the lowest bytes, so that the event gives the same
			// observable in whatever order MISP lists them. That is the
			// form claiming least beyond the value, and the one written
			// first where MISP lists a plain attribute of the value before
			// an object with more. One written by an earlier event of
			// this converter stays as it is.
			if at, ok := x.observables[id]; ok && lessObservable(raws[i], x.res.Objects[at]) {
				x.res.Objects[at] = raws[i]
			}
			continue
		}
		c.observables[id] = true
		if x.observables == nil {
			x.observables = map[string]int{}
		}
		x.observables[id] = len(x.res.Objects)
		x.res.Objects = append(x.res.Objects, raws[i])
		x.res.Keys = append(x.res.Keys, keys[i])
	}
	return nil
}

// lessObservable orders the forms of one observable: the shorter first,
// then the lower bytes.
func lessObservable(a, b []byte) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return bytes.Compare(a, b) < 0
}

// mergeObservable returns first with what other adds to it: the
// properties first lacks, and the ids of other's *_refs lists that
// first's lists lack. Where both have a property, first's value stays.
// changed reports whether anything was added; first is not modified.
func mergeObservable(first, other map[string]any) (merged map[string]any, changed bool) {
	merged = make(map[string]any, len(first))
	for k, v := range first {
		merged[k] = v
	}
	for k, v := range other {
		have, ok := merged[k]
		if !ok {
			merged[k], changed = v, true
			continue
		}
		if !strings.HasSuffix(k, "_refs") {
			continue
		}
		l, ok1 := have.([]any)
		add, ok2 := v.([]any)
		if !ok1 || !ok2 {
			continue
		}
		union := append([]any(nil), l...)
		for _, r := range add {
			if r, ok := r.(string); ok && !slices.Contains(union, any(r)) {
				union, changed = append(union, r), true
			}
		}
		merged[k] = union
	}
	return merged, changed
}

// maxReason bounds the text of an [Unsupported] reason.
const maxReason = 1024

func (c *Converter) unsupported(x *eventCtx, kind, id, name, format string, args ...any) {
	if x.revoking {
		return
	}
	// The event's text (a template name, a value) is bounded and
	// printable here, whatever a reason quotes of it.
	x.res.Unsupported = append(x.res.Unsupported, Unsupported{Event: x.ev.UUID, Kind: kind, UUID: untrusted.Text(id, maxShown), Name: untrusted.Text(name, maxShown),
		Reason: untrusted.Text(fmt.Sprintf(format, args...), maxReason)})
}

// labelsOf is the labels misp-stix gives an attribute.
func attributeLabels(a *Attribute, tagLabels []string) []any {
	l := []any{fmt.Sprintf("misp:type=%q", a.Type)}
	if a.Category != "" {
		l = append(l, fmt.Sprintf("misp:category=%q", a.Category))
	}
	for _, t := range tagLabels {
		l = append(l, t)
	}
	return l
}

func markingRefs(own, inherited []string) []any {
	m := own
	if len(m) == 0 {
		m = inherited
	}
	if len(m) == 0 {
		return nil
	}
	out := make([]any, 0, len(m))
	for _, id := range m {
		out = append(out, id)
	}
	return out
}

func setIf(m map[string]any, k string, v any) {
	switch v := v.(type) {
	case string:
		if v != "" {
			m[k] = v
		}
	case []any:
		if len(v) > 0 {
			m[k] = v
		}
	}
}

// seenTime parses a MISP first_seen/last_seen (RFC 3339 with microseconds).
func seenTime(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", false
	}
	return stix.FormatTimestamp(t), true
}

// ruleTypes are attribute types whose value is a rule in another
// language: indicators with that pattern_type.
var ruleTypes = map[string]string{"yara": "yara", "snort": "snort", "sigma": "sigma", "suricata": "suricata"}

func (c *Converter) attribute(x *eventCtx, a *Attribute) {
	if !validUUID(a.UUID) {
		c.unsupported(x, "attribute", a.UUID, a.Type, "the uuid is not a UUID")
		return
	}
	tagLabels, marks, floor := c.tags(x, a.Tag)
	labels := attributeLabels(a, tagLabels)
	if len(marks) == 0 {
		marks = x.markings
	}
	mrefs := markingRefs(c.tighten(x, marks, stricter(x.floor, floor)), nil)
	var u *unit
	switch {
	case ruleTypes[a.Type] != "":
		m := x.base("indicator", a.UUID, a.Timestamp)
		m["pattern"], m["pattern_type"], m["valid_from"] = a.Value, ruleTypes[a.Type], ts(a.Timestamp)
		u = &unit{main: m["id"].(string), objs: []map[string]any{m}}
	case a.Type == "vulnerability":
		m := x.base("vulnerability", a.UUID, a.Timestamp)
		m["name"] = a.Value
		if cveRE.MatchString(a.Value) {
			m["external_references"] = []any{map[string]any{"source_name": "cve", "external_id": a.Value}}
		}
		u = &unit{main: m["id"].(string), objs: []map[string]any{m}}
	case a.Type == "campaign-name":
		m := x.base("campaign", a.UUID, a.Timestamp)
		m["name"] = a.Value
		u = &unit{main: m["id"].(string), objs: []map[string]any{m}}
	case a.Type == "text" || a.Type == "comment" || a.Type == "other":
		m := x.base("note", a.UUID, a.Timestamp)
		m["content"] = a.Value
		m["object_refs"] = []any{x.container}
		u = &unit{main: m["id"].(string), objs: []map[string]any{m}}
	default:
		terms, known, err := termsOf(a)
		if !known {
			c.unsupported(x, "attribute", a.UUID, a.Type, "no STIX mapping for this attribute type")
			return
		}
		if err != nil {
			c.unsupported(x, "attribute", a.UUID, a.Type, "%v", err)
			return
		}
		first, last := ts(a.Timestamp), ts(a.Timestamp)
		if t, ok := seenTime(a.FirstSeen); ok {
			first = t
		}
		if t, ok := seenTime(a.LastSeen); ok {
			last = t
			if bool(a.ToIDs) || patternOnly[a.Type] {
				c.unsupported(x, "last-seen", a.UUID, a.Type, "last_seen %s not written: an indicator has no time it was last seen (valid_until says when it stops being valid)", a.LastSeen)
			}
		}
		u = c.observation(x, a.UUID, a.Timestamp, bool(a.ToIDs) || patternOnly[a.Type], terms, first, last)
	}
	m := u.objs[0]
	setIf(m, "labels", labels)
	setIf(m, "object_marking_refs", mrefs)
	if t := typeOf(u.main); t == "indicator" || t == "vulnerability" || t == "campaign" {
		setIf(m, "description", a.Comment)
	}
	if typeOf(u.main) == "indicator" && m["pattern_type"] == "stix" {
		m["kill_chain_phases"] = []any{map[string]any{"kill_chain_name": "misp-category", "phase_name": a.Category}}
		if a.Category == "" {
			delete(m, "kill_chain_phases")
		}
	}
	if x.revoking {
		m["revoked"] = true
	}
	if err := c.emit(x, u); err != nil {
		c.unsupported(x, "attribute", a.UUID, a.Type, "invalid as STIX: %v", err)
		return
	}
	if x.revoking {
		c.Stats.Revoked++
		return
	}
	x.refs = append(x.refs, u.main)
	x.byMISP[a.UUID] = u.main
	t := typeOf(u.main)
	c.notWritten(x, a, t != "indicator" && t != "vulnerability" && t != "campaign")
	c.attached(x, u.main, a.Galaxy, "attribute "+a.UUID, a.Timestamp)
	c.sightings(x, u.main, a)
}

var cveRE = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)

// observation returns an indicator (toIDs) or an observed-data with its
// observables for terms.
func (c *Converter) observation(x *eventCtx, id string, t Timestamp, toIDs bool, terms []term, first, last string) *unit {
	if toIDs {
		m := x.base("indicator", id, t)
		m["pattern"], m["pattern_type"], m["pattern_version"], m["valid_from"] = patternOf(terms), "stix", "2.1", first
		if listPatternRevision(terms) {
			m["modified"] = stix.FormatTimestamp(t.Time().Add(time.Millisecond))
		}
		return &unit{main: m["id"].(string), objs: []map[string]any{m}}
	}
	m := x.base("observed-data", id, t)
	if last < first {
		last = first
	}
	m["first_observed"], m["last_observed"], m["number_observed"] = first, last, json.Number("1")
	scos, dropped := observables(terms, id)
	if dropped {
		// An earlier conversion wrote an observable of the value
		// dropped, which nothing referenced: this is a new version of
		// that observed-data (see mappingRevision).
		m["modified"] = stix.FormatTimestamp(t.Time().Add(mappingRevision))
	}
	for _, s := range scos {
		switch s["type"] {
		case "network-traffic":
			if _, ok := s["protocols"]; !ok {
				s["protocols"] = []any{"tcp"} // required; misp-stix's default
				if ext, _ := s["extensions"].(map[string]any); ext["http-request-ext"] != nil {
					s["protocols"] = []any{"tcp", "http"} // as misp-stix writes an http-request
				}
			}
		case "email-message":
			s["is_multipart"] = false
		}
	}
	scos = deterministicIDs(scos)
	refs := make([]any, 0, len(scos))
	for _, s := range scos {
		refs = append(refs, s["id"])
	}
	m["object_refs"] = refs
	return &unit{main: m["id"].(string), objs: append([]map[string]any{m}, scos...)}
}

// newlyMapped are the templates an import before listed as unsupported
// that are written alone now: a note of an event report that cites one
// (or a part written in another's observable) is a new version (see
// mappingRevision), and so was a report or grouping that refers to one,
// which is now always 4 ms after its event (see containerRevision). (A
// pe-section is never alone.) Those mapped on 6 December 2026 before pe
// objects were merged (android-app to process) are here too: an import
// between their mapping and this one wrote the report, with them, at the
// event's timestamp, and takes this as the next version; one before
// their mapping wrote it without them, at the same version.
var newlyMapped = map[string]bool{"pe": true, "registry-key-value": true, "lnk": true, "image": true, "netflow": true,
	"android-app": true, "artifact": true, "credential": true, "directory": true, "http-request": true, "network-socket": true, "process": true,
	"facebook-account": true, "github-user": true, "gitlab-user": true, "parler-account": true, "reddit-account": true, "telegram-account": true, "twitter-account": true}

// mappingRevision is how much later than its MISP timestamp a file's
// indicator or observed-data made with its pe is: an import before pe
// objects were merged wrote the file without it at its timestamp, or a
// millisecond later (see listPatternRevision), and the node that holds
// that version takes the one with its pe as the next, not as a conflict.
// So are a registry-key's with its values, a network-socket's with its
// state as is_listening or is_blocking, and were a report or grouping
// that refers to an object of a template newly mapped (see newlyMapped;
// they are now a version later still: see laterRevision).
const mappingRevision = 2 * time.Millisecond

// laterRevision is how much later than its MISP timestamp what changes
// what conversions of 6 December 2026 wrote for it is: the version after
// theirs (at the timestamp, 1 ms or 2 ms after it: see
// listPatternRevision and mappingRevision), never other content under
// one of their versions. So are:
//
//   - a report or grouping (now 4 ms after it: see containerRevision):
//     its object_refs are sorted, so that the same
//     objects make the same bytes whatever order MISP lists them in
//     (MISP does not move the event's timestamp when only the order
//     differs: two instances list the objects of one event in the order
//     each stored them); those imports wrote the event's order. (An
//     event report's note lists what its Markdown cites in the order it
//     cites them: the order is its content, which moves the report's
//     timestamp when edited.)
//   - a netflow's observed-data whose protocols now have tcp for its TCP
//     flags (term.later);
//   - a file's or pe's indicator or observed-data whose pe compilation
//     time is now a STIX timestamp (term.later), 3 ms after the latest
//     timestamp of it and its parts where it has parts.
const laterRevision = 3 * time.Millisecond

// containerRevision is how much later than its event's timestamp a report
// or grouping is: its labels (the event's tags) and markings are sorted
// too, so that the same event makes the same bytes whatever order MISP
// lists its tags in (each instance lists them in the order it attached
// them). Conversions of 6 December 2026 before that wrote them in the
// event's order, 3 ms after it (laterRevision, object_refs sorted): the
// node that holds that version takes this one as the next.
const containerRevision = 4 * time.Millisecond

// MaxObjectAttributes and MaxObjectValue bound what a MISP object may
// hold to be converted: its live attributes, and the bytes of each value
// (MISP keeps a value in a TEXT column, 65535 bytes in MySQL). An object
// over either is listed as unsupported, whole, and nothing is written of
// it: a feed could otherwise make one indicator of a million
// comparisons, a pattern no node stores (max_object_size) that costs
// gigabytes to build.
const (
	MaxObjectAttributes = 1000
	MaxObjectValue      = 65535
)

func (c *Converter) object(x *eventCtx, o *Object) {
	if !validUUID(o.UUID) {
		c.unsupported(x, "object", o.UUID, o.Name, "the uuid is not a UUID")
		return
	}
	if !x.revoking && x.merges.merged(o) {
		return // written in the observable of the object that includes it
	}
	if o.Name == "pe-section" {
		c.unsupported(x, "object", o.UUID, o.Name, "no pe object of the event includes it: a section is one of a pe's sections (misp-stix writes a lone one as a custom object)")
		return
	}
	if n := x.merges.apart[o.UUID]; n > 0 && !x.revoking {
		c.unsupported(x, "object", o.UUID, o.Name, "the file includes %d pe objects: none is its windows-pebinary-ext (one file has one), and each is written as a file of its own", n)
	}
	pieces := []piece{ownPiece(o)}
	if !x.revoking {
		pieces = x.merges.pieces(o)
	}
	if len(pieces) > 1 {
		defer func() {
			if x.byMISP[o.UUID] == "" {
				for _, p := range pieces[1:] {
					c.unsupported(x, "object", p.o.UUID, p.name, "not written: it is part of object %s, which is not", o.UUID)
				}
				return
			}
			for _, p := range pieces[1:] {
				if x.byMISP[p.o.UUID] == "" {
					x.byMISP[p.o.UUID] = x.byMISP[o.UUID]
				}
			}
		}()
	}
	live := 0
	for _, p := range pieces {
		for i := range p.o.Attribute {
			if a := &p.o.Attribute[i]; !a.Deleted {
				live++
				if len(a.Value) > MaxObjectValue {
					c.unsupported(x, "object", o.UUID, o.Name, "attribute %s (%s) has a value of %d bytes, more than the %d an object's attribute may have", untrusted.Text(a.UUID, maxShown), untrusted.Text(a.ObjectRelation, maxShown), len(a.Value), MaxObjectValue)
					return
				}
			}
		}
	}
	if live > MaxObjectAttributes {
		with := ""
		if len(pieces) > 1 {
			with = " (with the objects it includes)"
		}
		c.unsupported(x, "object", o.UUID, o.Name, "%d attributes%s, more than the %d an object may have", live, with, MaxObjectAttributes)
		return
	}
	// An indicator's pattern compares only the attributes with to_ids,
	// as misp-stix's does: the others (a file's state, path or size, an
	// e-mail's recipients) are context that an observation seldom
	// carries, and ANDed in they would keep the indicator from ever
	// matching what it describes. An object whose to_ids attributes map
	// to no comparison (only a payload) is observed-data of them all.
	// An object with merged parts (a file and its pe) is an indicator
	// where any of them has to_ids, as misp-stix makes it.
	toIDs := false
	ids := make([]piece, len(pieces))
	for i, p := range pieces {
		only := *p.o
		only.Attribute = nil
		for _, a := range p.o.Attribute {
			if !bool(a.Deleted) && bool(a.ToIDs) {
				toIDs = true
				only.Attribute = append(only.Attribute, a)
			}
		}
		ids[i] = piece{o: &only, name: p.name, under: p.under}
	}
	// An observable holds no port over 65535, no netflow ending before
	// it starts: those values are not written in the observed-data (and
	// listed); a pattern compares them as MISP gives them, as before.
	valid, bad := validPieces(pieces)
	src := valid
	if toIDs {
		src = ids
	}
	terms, known, err := piecesTerms(src, toIDs)
	if toIDs && known && err == nil && len(terms) == 0 {
		toIDs = false
		terms, known, err = piecesTerms(valid, false)
	}
	if !toIDs && known && err == nil {
		for _, d := range bad {
			c.unsupported(x, "object", d.piece.o.UUID, d.piece.name, "%s %q not written: %s", d.a.ObjectRelation, untrusted.Text(d.a.Value, maxShown), d.why)
		}
	}
	if !known {
		c.unsupported(x, "object", o.UUID, o.Name, "no STIX mapping for this object template (%d attributes)", len(o.Attribute))
		return
	}
	if err != nil {
		c.unsupported(x, "object", o.UUID, o.Name, "%v", err)
		return
	}
	if len(terms) == 0 {
		c.unsupported(x, "object", o.UUID, o.Name, "no attribute to map")
		return
	}
	if o.Name == "pe" && !toIDs && !holds(o, templates["pe"], "type") {
		// A pe no file includes is a file of its windows-pebinary-ext,
		// which requires pe_type: misp-stix refuses it too (its
		// pattern, which compares the extension's properties alone,
		// needs none).
		c.unsupported(x, "object", o.UUID, o.Name, "no type: a pe no file includes is a file of its windows-pebinary-ext, which requires pe_type (misp-stix writes none of it either)")
		return
	}
	if toIDs {
		// A relation the object repeats is a list in its observable.
		if obs, _, err := piecesTerms(pieces, false); err == nil {
			markLists(terms, obs)
		}
	}
	var tagLabels []string
	var marks []string
	floor := x.floor
	var galaxies []Galaxy
	for _, a := range attributesOf(pieces) {
		l, m, f := c.tags(x, a.Tag)
		tagLabels, marks, floor = append(tagLabels, l...), append(marks, m...), stricter(floor, f)
		galaxies = append(galaxies, a.Galaxy...)
	}
	t := o.Timestamp
	if t == 0 {
		t = x.ev.Timestamp
	}
	if !toIDs {
		// The observable holds one value where the object gives several
		// (two domains of a domain-ip): the first is written, the others
		// reported.
		first := map[string]any{}
		for _, tm := range terms {
			if !tm.oneValue() {
				continue
			}
			p := tm.patternPath()
			key := p
			if tm.ref != nil && !tm.shared {
				// A single reference holds the first value of its
				// relation; another relation's value stands beside it
				// (see observables).
				key += " " + tm.relation
			}
			if v, ok := first[key]; !ok {
				first[key] = tm.value
			} else if v != tm.value {
				c.unsupported(x, "object", o.UUID, o.Name, "%s %q not written: the observed-data's %s holds one value, %q", tm.relation, untrusted.Text(fmt.Sprint(tm.value), maxShown), p, untrusted.Text(fmt.Sprint(v), maxShown))
			}
		}
	}
	first, last := ts(t), ts(t)
	if v, ok := seenTime(o.FirstSeen); ok {
		first = v
	}
	if v, ok := seenTime(o.LastSeen); ok {
		last = v
		if toIDs {
			c.unsupported(x, "last-seen", o.UUID, o.Name, "last_seen %s not written: an indicator has no time it was last seen (valid_until says when it stops being valid)", o.LastSeen)
		}
	}
	u := c.observation(x, o.UUID, t, toIDs, terms, first, last)
	m := u.objs[0]
	// A value left out of an observed-data (see validPieces) changes
	// what conversions before wrote (a pe's compilation time that is no
	// time) or what they refused whole (a port over 65535).
	later := slices.ContainsFunc(terms, func(t term) bool { return t.later }) || !toIDs && len(bad) > 0
	if at, ok := x.merges.stamps[o.UUID]; ok && !x.revoking {
		// Before pe and registry-key-value objects were merged, the
		// file was written without its pe, the key without its values
		// (listed as unsupported): its indicator or observed-data with
		// them is a new version of it (see mappingRevision). MISP moves
		// the timestamp of the part it edits or deletes, not its
		// whole's: the version is the latest of them all.
		after := mappingRevision
		if later {
			after = laterRevision
		}
		m["modified"] = stix.FormatTimestamp(at.Time().Add(after))
	} else if later {
		m["modified"] = stix.FormatTimestamp(t.Time().Add(laterRevision))
	} else if slices.ContainsFunc(terms, func(t term) bool { return t.revised }) {
		// A socket's state was x_misp_state (see mappingRevision).
		m["modified"] = stix.FormatTimestamp(t.Time().Add(mappingRevision))
	}
	labels := []any{fmt.Sprintf("misp:name=%q", o.Name)}
	if o.MetaCategory != "" {
		labels = append(labels, fmt.Sprintf("misp:meta-category=%q", o.MetaCategory))
	}
	for _, l := range dedupe(tagLabels) {
		labels = append(labels, l)
	}
	m["labels"] = labels
	marks = dedupe(marks)
	if len(marks) == 0 {
		marks = x.markings
	}
	setIf(m, "object_marking_refs", markingRefs(c.tighten(x, marks, floor), nil))
	if typeOf(u.main) == "indicator" {
		setIf(m, "description", o.Comment)
		if o.MetaCategory != "" {
			m["kill_chain_phases"] = []any{map[string]any{"kill_chain_name": "misp-category", "phase_name": o.MetaCategory}}
		}
	}
	if x.revoking {
		m["revoked"] = true
	}
	if err := c.emit(x, u); err != nil {
		c.unsupported(x, "object", o.UUID, o.Name, "invalid as STIX: %v", err)
		return
	}
	if x.revoking {
		c.Stats.Revoked++
		return
	}
	x.refs = append(x.refs, u.main)
	x.byMISP[o.UUID] = u.main
	if newlyMapped[o.Name] {
		x.newly[o.UUID] = true
	}
	for _, p := range pieces[1:] {
		x.newly[p.o.UUID] = true // a part was never written before
	}
	for _, p := range pieces {
		if p.o.Comment != "" && (typeOf(u.main) != "indicator" || p.o != o) {
			c.unsupported(x, "comment", p.o.UUID, p.name, "the object's comment (%d characters) is not written: STIX observed-data has no description (nor in misp-stix), and an indicator has its own object's", len(p.o.Comment))
		}
	}
	for _, a := range attributesOf(pieces) {
		c.notWritten(x, a, true)
	}
	c.attached(x, u.main, galaxies, "object "+o.UUID, t)
	for _, p := range pieces {
		for i := range p.o.Attribute {
			c.sightings(x, u.main, &p.o.Attribute[i])
		}
	}
}

// attributesOf returns the live attributes of the pieces.
func attributesOf(pieces []piece) []*Attribute {
	var out []*Attribute
	for _, p := range pieces {
		for i := range p.o.Attribute {
			if a := &p.o.Attribute[i]; !a.Deleted {
				out = append(out, a)
			}
		}
	}
	return out
}

// notWritten lists what of attribute a, written, its STIX form does not
// hold: its comment where that has no description (observed-data, notes,
// an object's attributes: comment says so), the decay scores of a REST
// search with includeDecayingScore, and an attachment's or malware
// sample's payload (data), of which only the file name and hashes are
// written.
func (c *Converter) notWritten(x *eventCtx, a *Attribute, comment bool) {
	if comment && a.Comment != "" {
		c.unsupported(x, "comment", a.UUID, a.Type, "the attribute's comment (%d characters) is not written: its STIX form has no description (nor in misp-stix)", len(a.Comment))
	}
	for _, d := range a.DecayScore {
		state := "not decayed"
		if d.Decayed {
			state = "decayed"
		}
		c.unsupported(x, "decay-score", a.UUID, a.Type, "the decaying model %q's score %.2f (%s) is not written: it is the answering instance's view, which STIX cannot say", d.DecayingModel.Name, d.Score, state)
	}
	if a.Data != "" {
		c.unsupported(x, "attachment", a.UUID, a.Type, "the payload (data, %d characters of base64) is not written: only the file name and hashes", len(a.Data))
	}
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// galaxyKind maps a galaxy type to the STIX type of its clusters.
func galaxyKind(typ string) string {
	t := strings.ToLower(typ)
	switch {
	case strings.Contains(t, "attack-pattern"):
		return "attack-pattern"
	case strings.Contains(t, "intrusion-set"):
		return "intrusion-set"
	case strings.Contains(t, "course-of-action"):
		return "course-of-action"
	case strings.Contains(t, "threat-actor") || t == "microsoft-activity-group":
		return "threat-actor"
	case strings.Contains(t, "malware") || t == "malpedia" || t == "ransomware" || t == "rat" ||
		t == "botnet" || t == "banker" || t == "stealer" || t == "exploit-kit" || t == "backdoor" || t == "android":
		return "malware"
	case strings.Contains(t, "tool"):
		return "tool"
	case strings.Contains(t, "vulnerability"):
		return "vulnerability"
	case strings.Contains(t, "campaign"):
		return "campaign"
	case t == "sector":
		return "identity" // a class of identities, as misp-stix writes it
	case t == "country" || t == "region" || strings.Contains(t, "location"):
		return "location"
	}
	return ""
}

// locationOf sets what a location cluster says of where it is, as
// misp-stix maps it: a country's ISO code (meta ISO, or country), a
// region (meta region; of a UN M49 region its name, "154 - Northern
// Europe" being "northern-europe"), and administrative_area and city.
// STIX requires a region, a country or coordinates: a cluster with none
// is listed as invalid.
func locationOf(m map[string]any, typ string, cl *Cluster) {
	if v := metaStrings(cl.Meta, "ISO"); len(v) > 0 {
		m["country"] = v[0]
	} else if v := metaStrings(cl.Meta, "country"); len(v) > 0 {
		m["country"] = v[0]
	}
	if v := metaStrings(cl.Meta, "region"); len(v) > 0 {
		m["region"] = v[0]
	} else if strings.ToLower(typ) == "region" {
		name := cl.Value
		if _, after, ok := strings.Cut(name, " - "); ok {
			name = after
		}
		setIf(m, "region", strings.Trim(relationshipName(name), "-"))
	}
	for _, k := range []string{"administrative_area", "city"} {
		if v := metaStrings(cl.Meta, k); len(v) > 0 {
			m[k] = v[0]
		}
	}
}

// galaxy writes the SDOs of a galaxy's clusters and returns them.
func (c *Converter) galaxy(x *eventCtx, g *Galaxy, where string) []*unit {
	kind := galaxyKind(g.Type)
	var out []*unit
	for i := range g.GalaxyCluster {
		cl := &g.GalaxyCluster[i]
		if cl.Local {
			// Attached by a local tag: MISP never shares that link.
			c.Stats.Local++
			continue
		}
		if !c.opt.KeepRestricted && c.restrictedCluster(x, cl) {
			// Before anything that names it, Unsupported included.
			c.Stats.Restricted++
			continue
		}
		c.Stats.Clusters++
		if cl.Value == "" {
			c.unsupported(x, "galaxy", cl.UUID, g.Type, "a cluster without a value")
			continue
		}
		cid := c.clusterID(x, g, cl)
		if u, ok := x.clusters[cid]; ok {
			out = append(out, u)
			continue
		}
		if kind == "" {
			c.unsupported(x, "galaxy", cid, g.Type, "no STIX mapping for galaxy %q (cluster %q, on %s)", g.Type, cl.Value, where)
			continue
		}
		m := map[string]any{"type": kind, "spec_version": "2.1", "id": kind + "--" + cid,
			"created": sharedCreated, "modified": sharedCreated, "created_by_ref": x.createdBy,
			"name": cl.Value, "labels": []any{fmt.Sprintf("misp:galaxy-name=%q", g.Name), fmt.Sprintf("misp:galaxy-type=%q", g.Type)}}
		setIf(m, "description", cl.Description)
		switch kind {
		case "malware":
			m["is_family"] = true
		case "identity":
			m["identity_class"] = "class"
		case "location":
			locationOf(m, g.Type, cl)
		}
		if kind != "attack-pattern" && kind != "course-of-action" && kind != "vulnerability" && kind != "identity" && kind != "location" {
			var aliases []any
			for _, s := range metaStrings(cl.Meta, "synonyms") {
				if s != cl.Value {
					aliases = append(aliases, s)
				}
			}
			setIf(m, "aliases", aliases)
		}
		if kind == "attack-pattern" || kind == "malware" || kind == "tool" {
			// "mitre-attack:defense-evasion", as misp-stix maps it.
			var phases []any
			for _, s := range metaStrings(cl.Meta, "kill_chain") {
				if chain, phase, ok := strings.Cut(s, ":"); ok && chain != "" && phase != "" {
					phases = append(phases, map[string]any{"kill_chain_name": chain, "phase_name": phase})
				}
			}
			setIf(m, "kill_chain_phases", phases)
		}
		var ext []any
		{
			for _, s := range metaStrings(cl.Meta, "external_id") {
				switch {
				case strings.HasPrefix(s, "CAPEC-"):
					ext = append(ext, map[string]any{"source_name": "capec", "external_id": s})
				case cveRE.MatchString(s):
					ext = append(ext, map[string]any{"source_name": "cve", "external_id": s})
				case s != "":
					ext = append(ext, map[string]any{"source_name": "mitre-attack", "external_id": s})
				}
			}
			if kind == "vulnerability" {
				// A branded vulnerability's CVE ids are its aliases.
				for _, s := range metaStrings(cl.Meta, "aliases") {
					if cveRE.MatchString(s) {
						ext = append(ext, map[string]any{"source_name": "cve", "external_id": s})
					}
				}
			}
			for _, s := range metaStrings(cl.Meta, "refs") {
				if u, err := url.Parse(s); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
					ext = append(ext, map[string]any{"source_name": "url", "url": s})
				}
			}
		}
		setIf(m, "external_references", ext)
		u := &unit{main: m["id"].(string), objs: []map[string]any{m}}
		if !c.seen[u.main] {
			if err := c.emit(x, u); err != nil {
				c.unsupported(x, "galaxy", cl.UUID, g.Type, "invalid as STIX: %v", err)
				continue
			}
			c.seen[u.main] = true
		}
		x.clusters[cid] = u
		x.refs = append(x.refs, u.main)
		out = append(out, u)
	}
	return out
}

// clusterID returns the uuid of a cluster's SDO: the cluster's uuid, or,
// where that uuid names the cluster's collection rather than the cluster
// (MISP exports older than collection_uuid give every cluster of a
// collection the collection's uuid: GAMEFISH and X-Agent are both
// 0d821b68-..., the uuid of misp-galaxy's clusters/tool.json), a UUIDv5
// of the galaxy type and the value. A uuid names a collection when it is
// one of misp-galaxy's or when the event gives it to clusters of other
// values. (A uuid met with another value in an earlier event is kept:
// misp-galaxy renames clusters and keeps their uuids.)
func (c *Converter) clusterID(x *eventCtx, g *Galaxy, cl *Cluster) string {
	derived := uuidV5("cluster " + g.Type + " " + cl.Value)
	cid := strings.ToLower(cl.UUID)
	if !validUUID(cid) {
		return derived
	}
	if _, ok := galaxyCollections[cid]; ok || x.collectionUUIDs[cid] {
		return derived
	}
	return cid
}

// publicClusterTags returns the tags that name the clusters of x's event
// that MISP doesn't restrict (lower case): their tag_name and the
// misp-galaxy:<type>="<value>" and ="<uuid>" forms.
func publicClusterTags(c *Converter, x *eventCtx) map[string]bool {
	tags := map[string]bool{}
	eachGalaxies(x.ev, func(gs []Galaxy) {
		for _, g := range gs {
			for _, cl := range g.GalaxyCluster {
				if c.restrictedCluster(x, &cl) {
					continue
				}
				if cl.TagName != "" {
					tags[strings.ToLower(strings.TrimSpace(cl.TagName))] = true
				}
				for _, typ := range []string{g.Type, cl.Type} {
					for _, v := range []string{cl.Value, cl.UUID} {
						if typ != "" && v != "" {
							tags[strings.ToLower(fmt.Sprintf("misp-galaxy:%s=%q", typ, v))] = true
						}
					}
				}
			}
		}
	})
	return tags
}

// eachGalaxies calls fn with the galaxies of the event, of each of its
// attributes and of each attribute of its objects.
func eachGalaxies(ev *Event, fn func([]Galaxy)) {
	fn(ev.Galaxy)
	for i := range ev.Attribute {
		fn(ev.Attribute[i].Galaxy)
	}
	for i := range ev.Object {
		for j := range ev.Object[i].Attribute {
			fn(ev.Object[i].Attribute[j].Galaxy)
		}
	}
}

// collectionUUIDs returns the cluster uuids that the event gives to
// clusters of different values: collection uuids (see clusterID).
func collectionUUIDs(ev *Event) map[string]bool {
	values := map[string]string{}
	out := map[string]bool{}
	add := func(gs []Galaxy) {
		for _, g := range gs {
			for _, cl := range g.GalaxyCluster {
				u := strings.ToLower(cl.UUID)
				if v, ok := values[u]; ok && v != cl.Value {
					out[u] = true
				}
				values[u] = cl.Value
			}
		}
	}
	eachGalaxies(ev, add)
	return out
}

// attached links an indicator or observed-data to the clusters of its
// attribute or object, dated by the attribute or object (when; the
// event's when 0): the event's timestamp moves at every edit of the
// event, and made a new version of every such relationship, its created
// changed, at each import of an event edited elsewhere.
func (c *Converter) attached(x *eventCtx, from string, gs []Galaxy, where string, when Timestamp) {
	if when == 0 {
		when = x.ev.Timestamp
	}
	for i := range gs {
		for _, u := range c.galaxy(x, &gs[i], where) {
			rel := "related-to"
			if t := typeOf(u.main); typeOf(from) == "indicator" && t != "vulnerability" && t != "course-of-action" && t != "identity" && t != "location" {
				rel = "indicates"
			}
			c.relationship(x, from, rel, u.main, ts(when), "")
		}
	}
}

// relationship writes a relationship from src to dst of type typ; its
// description is an object reference's comment.
func (c *Converter) relationship(x *eventCtx, src, typ, dst, when, description string) {
	c.relationshipAt(x, src, typ, dst, when, when, description)
}

// relationshipAt writes the relationship of [Converter.relationship],
// created at created, a version modified at modified.
func (c *Converter) relationshipAt(x *eventCtx, src, typ, dst, created, modified, description string) {
	id := referenceID(src, typ, dst)
	if c.seen[id] {
		return
	}
	m := map[string]any{"type": "relationship", "spec_version": "2.1", "id": id,
		"created": created, "modified": modified, "created_by_ref": x.createdBy,
		"relationship_type": typ, "source_ref": src, "target_ref": dst, "x_misp_event_uuid": x.ev.UUID}
	setIf(m, "description", description)
	if err := c.emit(x, &unit{main: id, objs: []map[string]any{m}}); err == nil {
		c.seen[id] = true
		x.refs = append(x.refs, id)
	}
}

// sightings writes the type-0 sightings of an attribute as STIX
// sightings of of (its indicator or observed-data).
//
// The further instances that Parley's feed export made of a STIX sighting
// of count > 1 ([SightingInstanceUUID] of the first's uuid) fold back into
// that sighting: its count, and first_seen and last_seen the earliest and
// latest of their dates (the first's date is its created and modified),
// and its where_sighted_refs the organisations of them all, each once, in
// the order of the instances. MISP itself never makes such uuids.
func (c *Converter) sightings(x *eventCtx, of string, a *Attribute) {
	index := map[string]int{}
	for i, s := range a.Sighting {
		if s.Type == "" || s.Type == "0" {
			index[s.UUID] = i
		}
	}
	instanceOf := map[int]int{}
	// instances are the positions of a sighting's further instances, in
	// the order of their number.
	instances := map[int][]int{}
	for i, s := range a.Sighting {
		if _, ok := index[s.UUID]; !ok || !validUUID(s.UUID) {
			continue
		}
		for k := int64(1); ; k++ {
			j, ok := index[SightingInstanceUUID("sighting--"+s.UUID, k)]
			if !ok || j == i {
				break
			}
			if _, taken := instanceOf[j]; taken {
				break
			}
			instanceOf[j] = i
			instances[i] = append(instances[i], j)
		}
	}
	type span struct {
		n           int64
		first, last Timestamp
	}
	spans := map[int]*span{}
	for j, i := range instanceOf {
		// The first is dated when the sighting was made; the others
		// span first_seen to last_seen.
		d := a.Sighting[j].DateSighting
		sp := spans[i]
		if sp == nil {
			sp = &span{n: 1, first: d, last: d}
			spans[i] = sp
		}
		sp.n++
		sp.first, sp.last = min(sp.first, d), max(sp.last, d)
	}
	for i := range a.Sighting {
		s := &a.Sighting[i]
		c.Stats.Sightings++
		if _, ok := instanceOf[i]; ok {
			continue // counted in the sighting it is an instance of
		}
		if s.Type != "" && s.Type != "0" {
			what := map[Text]string{"1": "a false-positive report", "2": "an expiration"}[s.Type]
			if what == "" {
				what = "of type " + string(s.Type)
			}
			c.unsupported(x, "sighting", s.UUID, "sighting", "%s, which STIX sightings cannot say", what)
			continue
		}
		if !validUUID(s.UUID) {
			c.unsupported(x, "sighting", s.UUID, "sighting", "the uuid is not a UUID")
			continue
		}
		m := map[string]any{"type": "sighting", "spec_version": "2.1", "id": "sighting--" + s.UUID,
			"created": ts(s.DateSighting), "modified": ts(s.DateSighting), "created_by_ref": x.createdBy,
			"first_seen": ts(s.DateSighting), "last_seen": ts(s.DateSighting), "count": json.Number("1"),
			"sighting_of_ref": of, "x_misp_event_uuid": x.ev.UUID}
		if sp := spans[i]; sp != nil {
			m["first_seen"], m["last_seen"], m["count"] = ts(sp.first), ts(sp.last), json.Number(strconv.FormatInt(sp.n, 10))
		}
		if typeOf(of) == "observed-data" {
			m["observed_data_refs"] = []any{of}
		}
		// Where MISP's sighting came from (a sensor, a honeypot, the
		// stream of Parley's matcher that the feed export wrote there):
		// STIX sightings have no such property.
		setIf(m, "x_misp_source", s.Source)
		// Sighted where its organisation is and, for the instances the
		// export made of one STIX sighting, theirs: each once, in the
		// order of the instances (which name them in turn).
		var where []any
		named := map[string]bool{} // a hostile event may give many
		for _, k := range append([]int{i}, instances[i]...) {
			org := a.Sighting[k].Organisation
			if org == nil || !validUUID(org.UUID) {
				continue
			}
			id := "identity--" + org.UUID
			if named[id] {
				continue
			}
			name := org.Name
			if name == "" {
				name = "unknown MISP organisation"
			}
			if c.shared(x, map[string]any{"type": "identity", "spec_version": "2.1", "id": id,
				"created": sharedCreated, "modified": sharedCreated, "created_by_ref": x.createdBy,
				"name": name, "identity_class": "organization"}) {
				where = append(where, id)
				named[id] = true
			}
		}
		if len(where) > 0 {
			m["where_sighted_refs"] = where
		}
		if err := c.emit(x, &unit{main: m["id"].(string), objs: []map[string]any{m}}); err != nil {
			c.unsupported(x, "sighting", s.UUID, "sighting", "invalid as STIX: %v", err)
			continue
		}
		x.refs = append(x.refs, m["id"].(string))
	}
}

// ExportRest reports whether ev is the event that Parley's feed export
// made of the objects no report or grouping held ([EventFor]): its
// uuid is derived from its info. Such an event is no report of anyone's:
// importing it writes its objects without a report or grouping, as they
// were before the export.
func ExportRest(ev *Event) bool {
	name, ok := strings.CutPrefix(ev.Info, exportInfo)
	return ok && ev.UUID == uuidV5("export "+name)
}

// container writes the event's report (published) or grouping.
func (c *Converter) container(x *eventCtx, labels []string) {
	ev := x.ev
	typ, _, _ := strings.Cut(x.container, "--")
	m := x.base(typ, ev.UUID, ev.Timestamp)
	// Its object_refs, labels and markings are sorted (see
	// containerRevision): a new version of what any earlier import wrote
	// at the event's timestamp, 2 ms after it where it referred to an
	// object of a template newly mapped (see newlyMapped), or 3 ms after
	// it with its object_refs sorted (see laterRevision).
	m["modified"] = stix.FormatTimestamp(ev.Timestamp.Time().Add(containerRevision))
	m["name"] = ev.Info
	if ev.Info == "" {
		m["name"] = "MISP event " + ev.UUID
	}
	if typ == "report" {
		pt := ev.PublishTimestamp
		if pt == 0 {
			pt = ev.Timestamp
		}
		m["published"] = ts(pt)
	} else {
		m["context"] = "suspicious-activity"
	}
	refs := dedupe(x.refs)
	slices.Sort(refs)
	if len(refs) == 0 {
		// object_refs must not be empty: an empty event refers to its creator.
		refs = []string{x.createdBy}
	}
	l := make([]any, 0, len(refs))
	for _, r := range refs {
		l = append(l, r)
	}
	m["object_refs"] = l
	// Its labels (the event's tags) and markings are sorted too: MISP
	// lists an event's tags in the order each instance attached them.
	var ls []any
	for _, s := range slices.Sorted(slices.Values(labels)) {
		ls = append(ls, s)
	}
	setIf(m, "labels", ls)
	setIf(m, "object_marking_refs", markingRefs(slices.Sorted(slices.Values(x.markings)), nil))
	m["external_references"] = []any{map[string]any{"source_name": "misp", "external_id": ev.UUID}}
	setIf(m, "x_misp_date", ev.Date)
	setIf(m, "x_misp_threat_level_id", string(ev.ThreatLevelID))
	setIf(m, "x_misp_analysis", string(ev.Analysis))
	if err := c.emit(x, &unit{main: x.container, objs: []map[string]any{m}}); err != nil {
		c.unsupported(x, "event", ev.UUID, "event", "invalid as STIX: %v", err)
	}
}

// referenceID is the id of the relationship the converter makes from src
// to dst of type typ: the same for the same ends, whatever MISP's uuid
// of the reference or the event it is in.
func referenceID(src, typ, dst string) string {
	return "relationship--" + uuid.NewSHA1(relationshipNamespace, []byte(src+" "+typ+" "+dst)).String()
}

// clustersUse reports whether, among an event's galaxy clusters, one of
// STIX type at "uses" one of type bt: threat actors and intrusion sets
// use malware, tools and attack patterns, and malware attack patterns.
func clustersUse(at, bt string) bool {
	return (at == "threat-actor" || at == "intrusion-set") && (bt == "malware" || bt == "tool" || bt == "attack-pattern") ||
		at == "malware" && bt == "attack-pattern"
}

// relationshipName makes a MISP relationship type ("analysed-with",
// "Drops") a STIX one: lower case, '-' between words.
func relationshipName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		return "related-to"
	}
	return out
}

// uuidV5 is a stable UUID for s in this package's namespace.
func uuidV5(s string) string { return uuid.NewSHA1(relationshipNamespace, []byte(s)).String() }

// Single is one value to make an indicator of, outside any event (a line
// of a plain list, a CSV row).
type Single struct {
	// ID is the indicator's id; empty: indicator--<UUIDv5 of type and
	// value>, so that the same value gets the same id on every import.
	ID    string
	Type  string // a MISP attribute type: ip-dst, domain, md5, ...
	Value string
	// Pattern, when set, is the STIX pattern to use instead of the one
	// Type gives (a list's address has no direction).
	Pattern  string
	Category string
	Comment  string
	Tags     []string // labels; tlp: tags become TLP 2.0 markings
	// Created is the indicator's created, modified and valid_from.
	Created   time.Time
	CreatedBy string // created_by_ref; may be empty
}

// ErrNoMapping is wrapped by [Indicator] for a type without a pattern.
var ErrNoMapping = errors.New("no STIX pattern for this type")

// Indicator returns the indicator for s with the pattern the MISP
// mapping gives its type (labels misp:type and misp:category, as
// [Converter] writes them), valid per [stix.Validator] with the pattern
// package's validator. It fails for a type without a pattern (wrapping
// [ErrNoMapping]) and for a value that does not fit its type.
func Indicator(s Single) (json.RawMessage, error) {
	id := s.ID
	if id == "" {
		id = "indicator--" + uuidV5("indicator "+s.Type+" "+s.Value)
	}
	created := stix.FormatTimestamp(s.Created.Truncate(time.Millisecond))
	m := map[string]any{"type": "indicator", "spec_version": "2.1", "id": id, "created": created, "modified": created, "valid_from": created}
	if rt := ruleTypes[s.Type]; rt != "" {
		m["pattern"], m["pattern_type"] = s.Value, rt
	} else if s.Pattern != "" {
		m["pattern"], m["pattern_type"], m["pattern_version"] = s.Pattern, "stix", "2.1"
	} else {
		terms, known, err := termsOf(&Attribute{Type: s.Type, Value: s.Value, UUID: uuidOf(id)})
		if !known {
			return nil, fmt.Errorf("%w: %q", ErrNoMapping, s.Type)
		}
		if err != nil {
			return nil, err
		}
		m["pattern"], m["pattern_type"], m["pattern_version"] = patternOf(terms), "stix", "2.1"
	}
	setIf(m, "created_by_ref", s.CreatedBy)
	setIf(m, "description", s.Comment)
	labels := []any{fmt.Sprintf("misp:type=%q", s.Type)}
	if s.Category != "" {
		labels = append(labels, fmt.Sprintf("misp:category=%q", s.Category))
		if m["pattern_type"] == "stix" {
			m["kill_chain_phases"] = []any{map[string]any{"kill_chain_name": "misp-category", "phase_name": s.Category}}
		}
	}
	var marks []any
	for _, t := range s.Tags {
		if id, ok := tlpTags[strings.ToLower(t)]; ok {
			marks = append(marks, id)
		} else {
			labels = append(labels, t)
		}
	}
	m["labels"] = labels
	setIf(m, "object_marking_refs", marks)
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	o, err := stix.Parse(b)
	if err != nil {
		return nil, err
	}
	if err := (&stix.Validator{Patterns: map[string]func(string) error{"stix": pattern.Validate}}).Validate(o); err != nil {
		return nil, err
	}
	return b, nil
}

// Markings returns the TLP 2.0 marking definitions that objects made
// from tags reference, for a bundle that should carry them.
func Markings(tags []string) []json.RawMessage {
	var out []json.RawMessage
	seen := map[string]bool{}
	for _, t := range tags {
		if id, ok := tlpTags[strings.ToLower(t)]; ok && !seen[id] {
			seen[id] = true
			out = append(out, stix.TLPMarking(id))
		}
	}
	return out
}

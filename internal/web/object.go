package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/stix"
)

// MaxGraphNeighbours caps the relationship graph; the table beside it
// lists up to MaxRelationships.
const (
	MaxGraphNeighbours = 16
	MaxRelationships   = 500
)

// prop is a top-level property as the page lists it; Note, if set, says
// in words what its value names (a member's name, a TLP level).
type prop struct {
	Key, Value, Note string
	// Refs, when set, are the ids the property holds (a source_ref, a
	// sighting_of_ref, observed_data_refs...), shown in place of Value,
	// each named when the member may read it (see nameRefs).
	Refs []refView
	// ids, for a reference nested in an extension or an embedded object
	// (nestedRefProps), are the ids it holds; Key is then its path.
	ids []string
}

// refView is one id an object's property references: with the label and
// type of the object's latest version when Named (the member may read
// it), or the bare id, the same whether the object is hidden from the
// member or doesn't exist.
type refView struct {
	ID, Label, Type string
	Named           bool
}

type observable struct{ Type, Path, Op, Value, Lookup string }

type versionView struct {
	Version, Added time.Time
	Collection     string
	LogIndex       int64
	Changes        []string
	Current        bool
}

type relRow struct {
	RelType, Direction string
	Other              summary
	Rel                summary
}

// gnode is a node of the relationship graph. Its label (the object's
// name, and under it the relationship) sits at LX, LY with text-anchor
// Anchor: beside the node and away from the centre, so that labels of
// neighbouring nodes don't cross.
type gnode struct {
	X, Y, LX, LY     float64
	Anchor           string
	Label, Rel, Href string
	Center           bool
}

type gedge struct {
	X1, Y1, X2, Y2 float64
}

type graphView struct {
	W, H      int
	Nodes     []gnode
	Edges     []gedge
	Truncated int
}

type bar struct {
	X, Y, W, H float64
	Label      string
	N          int
	// Unsigned of the N were counted by unsigned sightings (a relay
	// collection's): drawn apart, on top, UH high from UY, so that a
	// relayed claim can't pose as members' signed sightings.
	Unsigned int
	UY, UH   float64
}

type memberCount struct {
	Name  string
	Count int
	// Unsigned of the Count were counted by unsigned sightings.
	Unsigned int
}

type sightingsView struct {
	// First and Last label the chart's ends (their days), under the
	// first and the last bar: at FirstX (text-anchor FirstAnchor) and at
	// LastX (anchored at its end).
	First, Last string
	FirstX      float64
	FirstAnchor string
	LastX       float64
	Total       int
	// Unsigned of the Total were counted by sightings stored unsigned
	// (a relay collection's, or signed with a key no log the node
	// checked holds): a member relayed them, none signed them.
	Unsigned  int
	PerMember []memberCount
	Bars      []bar
	List      []summary
}

type voteView struct {
	Member, Value, Explanation, OpinionID string
	Confidence                            string
	Mine                                  bool
	// Earlier: the opinion is dated before the object's latest version
	// (ObjectVersion): an opinion names an object, not a version, so it
	// may be about what an earlier version said.
	Earlier bool
}

type countView struct {
	Value string
	N     int
}

type concurrenceView struct {
	Counts      []countView
	Votes       []voteView
	Voices, Of  int
	Unavailable string
	MineRaw     []ownOpinion
	Values      []string
	Writable    []store.Collection
	// NoKey: the member has no signing key in force, so the forms,
	// which sign in the browser, are not offered.
	NoKey        bool
	CanSight     bool
	VerifiedHint string
	// ObjectRevoked: the node says the latest version of the object the
	// member may read is revoked (object_revoked of GET /concurrence),
	// modified at ObjectVersion.
	ObjectRevoked bool
	ObjectVersion string
	// Earlier is the number of Votes dated before ObjectVersion.
	Earlier int
}

type ownOpinion struct{ ID, Value, Raw string }

type objectView struct {
	S summary
	// RawBase64 is the object's JSON as stored, for the browser's check.
	RawBase64 string
	// LogIndex is the log entry of the version shown (not necessarily
	// the newest listed: see [Handler.objectVersions]).
	LogIndex     int64
	Version      string
	Name         string
	Description  string
	Pattern      string
	PatternErr   string
	Observables  []observable
	Props        []prop
	References   []summary
	Missing      []string
	Versions     []versionView
	Graph        graphView
	Rels         []relRow
	Sightings    sightingsView
	Opinions     concurrenceView
	Collections  []string
	SignedBy     string
	External     []extRef
	VerifyMember string
	// CheckTimeoutMS is [Deps.CheckTimeout] in milliseconds, for verify.js.
	CheckTimeoutMS int64
	// Peer is the peer this node replicated the object from, when the
	// version shown is in a peer's local collection (docs/federation.md):
	// the browser's check then also checks it in the peer's log.
	Peer *peerView
	// Clipped says that some text was too long to show whole (see
	// MaxShownText).
	Clipped bool
	// OlderVersionsLeftOut, ReferencesLeftOut, RelsLeftOut and
	// EndsLeftOut (the objects at the other ends of relationships) say
	// that a list stopped at its bound (see memory.go).
	OlderVersionsLeftOut, ReferencesLeftOut, RelsLeftOut, EndsLeftOut bool
}

// objectPageMemory is what an object page reserves before it reads: its
// versions, the objects it references (object_refs, and those its other
// reference properties name: nameRefs), the relationships and sightings
// naming it and the objects at their other ends, and the object it shows
// whole. The versions are two queries, each within half of
// VersionBytes (see [Handler.objectVersions]). (Not in two steps, the object by its size once read: a member
// holding its share would then wait for itself.)
var objectPageMemory = pageMemory{queries: []int64{VersionBytes / 2, VersionBytes / 2, RelatedBytes, RelatedBytes, RelatedBytes, RelatedBytes}, whole: 1}

// peerView names the peer a replicated object comes from, as this node
// recorded it (parley peer add); the browser checks the object in that
// peer's log with the peer's log key, which it pins on first use.
type peerView struct {
	Name, URL, Origin, Remote, Into string
	Stopped                         bool
}

// peerOf returns the peer whose local collection is coll, or nil.
func (h *Handler) peerOf(ctx context.Context, coll string) (*peerView, error) {
	ps, err := h.d.Store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Into == coll {
			origin, _, _ := strings.Cut(p.LogKey, "+")
			return &peerView{Name: p.Name, URL: p.URL, Origin: origin, Remote: p.Remote, Into: p.Into, Stopped: p.State.Stopped != ""}, nil
		}
	}
	return nil, nil
}

// objectVersions returns the versions of id the object's page lists
// (oldest first), the one it shows, and whether older ones were left
// out. The version shown is the latest stored outside the collections
// replicated from peers, when there is one, and else the latest: a
// peer's copies claim no id (docs/federation.md), so a later version a
// peer logged of an id a member of this node shared, or another object
// under its id and version, stays in the peer's collection and is
// listed among the versions, but doesn't stand for the member's object.
//
// Where the member reads both kinds of collection, the versions outside
// the peers' collections and those in them are read by separate
// queries, each within half of MaxVersions and VersionBytes (or the
// whole, for the peers', when there is none outside them): however many
// or large the versions a peer logged under the id, with whatever dates,
// they neither push the member's own versions out of the list nor take
// over the page. objectPageMemory reserves for both queries.
func (h *Handler) objectVersions(ctx context.Context, a access, id string) (versions []store.Object, shown store.Object, olderLeftOut bool, err error) {
	whole := store.Bound{Rows: MaxVersions, Bytes: VersionBytes}
	own := slices.DeleteFunc(slices.Clone(a.readable), func(c string) bool { return a.peerCopies[c] })
	if len(own) == 0 || len(own) == len(a.readable) {
		versions, olderLeftOut, err = h.q.ObjectVersions(ctx, a.readable, id, whole)
		if err != nil || len(versions) == 0 {
			return nil, store.Object{}, false, err
		}
		return versions, versions[len(versions)-1], olderLeftOut, nil
	}
	copies := slices.DeleteFunc(slices.Clone(a.readable), func(c string) bool { return !a.peerCopies[c] })
	half := store.Bound{Rows: MaxVersions / 2, Bytes: VersionBytes / 2}
	mine, moreMine, err := h.q.ObjectVersions(ctx, own, id, half)
	if err != nil {
		return nil, store.Object{}, false, err
	}
	b := half
	if len(mine) == 0 {
		b = whole
	}
	theirs, moreTheirs, err := h.q.ObjectVersions(ctx, copies, id, b)
	if err != nil {
		return nil, store.Object{}, false, err
	}
	switch {
	case len(mine) > 0:
		shown = mine[len(mine)-1]
	case len(theirs) > 0:
		shown = theirs[len(theirs)-1]
	default:
		return nil, store.Object{}, false, nil
	}
	// In the stores' order: by version, then as added.
	versions = append(mine, theirs...)
	slices.SortStableFunc(versions, func(x, y store.Object) int {
		if c := x.Version.Compare(y.Version); c != 0 {
			return c
		}
		return cmp.Compare(x.Seq, y.Seq)
	})
	return versions, shown, moreMine || moreTheirs, nil
}

// latestOwnOf picks, of objs (the latest versions of ids, one per
// collection holding each, as [store.UIQueries.LatestObjects] returns
// them), the version that stands for each id where a page names an id
// by one version (a report's references, a relationship's other end, a
// property's referenced objects), as [Handler.objectVersions] picks the version an object's page shows: the
// latest outside the collections replicated from peers when there is
// one, and else the latest. It returns the picks' Seqs.
func (a access) latestOwnOf(objs []store.Object) map[int64]bool {
	best := map[string]store.Object{}
	for _, o := range objs {
		b, ok := best[o.ID]
		peer, bPeer := a.peerCopies[o.Collection], a.peerCopies[b.Collection]
		if !ok || (bPeer && !peer) || (bPeer == peer && o.Version.After(b.Version)) {
			best[o.ID] = o
		}
	}
	picked := make(map[int64]bool, len(best))
	for _, o := range best {
		picked[o.Seq] = true
	}
	return picked
}

type extRef struct{ Source, ID, URL, Description string }

// object renders one object: the latest version the member may read,
// its properties for its type, versions, relationships, sightings,
// opinions, and the receipt that the page's script verifies. An object
// with no version in a readable collection is 404 like an unknown id.
func (h *Handler) object(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	me := sessionFrom(r).member
	id := r.PathValue("id")
	if _, err := stix.SplitIdentifier(id); err != nil {
		h.fail(w, r, http.StatusNotFound, "There is no such object, or you may not read it.", nil)
		return
	}
	mem := objectPageMemory
	var tally func(context.Context) (opinion.Concurrence, error)
	if h.d.Concurrence != nil {
		// One reservation for the page and its tally, measured before
		// either reads: a second, while the member holds its share,
		// would wait for itself.
		n, compute, err := h.d.Concurrence(ctx, me, id)
		switch {
		case err == nil:
			mem.extra, tally = n, compute
		case ctx.Err() != nil:
			h.fail(w, r, http.StatusInternalServerError, "", err)
			return
		default:
			// The page goes on without its tally, which says it is
			// not available (and logs err), as when computing it fails.
			tally = func(context.Context) (opinion.Concurrence, error) { return opinion.Concurrence{}, err }
		}
	}
	release, ok := h.reserve(w, r, me, mem)
	if !ok {
		return
	}
	defer release()
	a, err := h.access(ctx, me)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	versions, latest, olderLeftOut, err := h.objectVersions(ctx, a, id)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	if len(versions) == 0 {
		h.fail(w, r, http.StatusNotFound, "There is no such object, or you may not read it.", nil)
		return
	}
	// Decoded property by property, so that no property costs more than
	// its size as text: one too long to show isn't decoded at all.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(latest.Raw, &fields); err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	v := objectView{S: a.summarize(latest), RawBase64: base64.StdEncoding.EncodeToString(latest.Raw), LogIndex: latest.LogIndex, SignedBy: a.name(latest.Member), VerifyMember: latest.Member,
		CheckTimeoutMS: h.d.CheckTimeout.Milliseconds()}
	if v.Peer, err = h.peerOf(ctx, latest.Collection); err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	v.Version, _ = stringField(fields, "modified")
	if v.Version == "" {
		v.Version, _ = stringField(fields, "created")
	}
	if v.Version == "" {
		// A cyber-observable has neither: its version is the time the
		// node added it (as its log entry's opening names it), which the
		// browser's check can't read from the object.
		v.Version = store.FormatTime(latest.Version)
	}
	cut := func(s string) string {
		s, clipped := clip(s, MaxShownText)
		v.Clipped = v.Clipped || clipped
		return s
	}
	name, _ := stringField(fields, "name")
	v.Name = cut(name)
	desc, _ := stringField(fields, "description")
	v.Description = cut(desc)
	if p, ok := stringField(fields, "pattern"); ok {
		v.Pattern = cut(p)
		// A pattern too long to show is not taken apart either.
		if pt, _ := stringField(fields, "pattern_type"); (pt == "" || pt == "stix") && len(p) <= MaxShownText {
			if in, err := pattern.Inspect(p); err != nil {
				v.PatternErr = err.Error()
			} else {
				for _, c := range in.Comparisons {
					val := strings.Trim(c.Value, "'")
					path := make([]string, len(c.Path))
					for i, p := range c.Path {
						path[i] = fmt.Sprint(p)
					}
					v.Observables = append(v.Observables, observable{c.ObjectType, strings.Join(path, "."), c.Operator, c.Value, val})
				}
			}
		}
	}
	var clipped bool
	v.Props, clipped = flatProps(fields)
	nameProps(v.Props, a)
	nested, moreNested := nestedRefProps(fields)
	v.Props, clipped = append(v.Props, nested...), clipped || moreNested
	if err := h.nameRefs(ctx, a, fields, v.Props); err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	var moreRefs bool
	v.External, moreRefs = externalRefs(fields["external_references"])
	v.Clipped = v.Clipped || clipped || moreRefs
	for i := range v.External {
		e := &v.External[i]
		e.Source, e.ID, e.Description = cut(e.Source), cut(e.ID), cut(e.Description)
		if len(e.URL) > MaxShownText {
			e.URL, v.Clipped = "", true
		}
	}
	seen := map[string]bool{}
	for _, o := range versions {
		if !seen[o.Collection] {
			seen[o.Collection] = true
			v.Collections = append(v.Collections, a.byID[o.Collection].Title)
		}
	}
	v.Versions = versionTimeline(versions, olderLeftOut, latest, a)
	v.OlderVersionsLeftOut = olderLeftOut

	// Referenced objects (a report's, a grouping's, an opinion's): one
	// query for all of them.
	var objectRefs []string
	json.Unmarshal(fields["object_refs"], &objectRefs) // what isn't a string is left out
	objectRefs = slices.DeleteFunc(objectRefs, func(s string) bool { return s == "" })
	if refs := objectRefs; len(refs) > 0 {
		if len(refs) > MaxRelationships {
			refs = refs[:MaxRelationships]
		}
		got, more, err := h.q.LatestObjects(ctx, a.readable, refs, store.Bound{Bytes: RelatedBytes})
		if err != nil {
			h.fail(w, r, http.StatusInternalServerError, "", err)
			return
		}
		v.ReferencesLeftOut = more
		picked := a.latestOwnOf(got)
		found := map[string]bool{}
		for _, o := range got {
			if picked[o.Seq] && !found[o.ID] {
				found[o.ID] = true
				v.References = append(v.References, a.summarize(o))
			}
		}
		// Past the bound, an id not read may still be readable: only a
		// complete read says which are not.
		for _, ref := range refs {
			if !found[ref] && !more {
				v.Missing = append(v.Missing, ref)
			}
		}
	}

	// Relationships and sightings: one query for those naming this
	// object, one for the objects at their other ends.
	refs, more, err := h.q.Referencing(ctx, a.readable, id, store.Bound{Rows: MaxRelationships, Bytes: RelatedBytes})
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	v.RelsLeftOut = more
	var others []string
	for _, o := range refs {
		hd := decodeHead(o.Raw)
		if o.Type == "relationship" {
			if hd.Source == id {
				others = append(others, hd.Target)
			} else {
				others = append(others, hd.Source)
			}
		}
	}
	otherObjs, endsLeftOut, err := h.q.LatestObjects(ctx, a.readable, others, store.Bound{Bytes: RelatedBytes})
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	v.EndsLeftOut = endsLeftOut
	picked := a.latestOwnOf(otherObjs)
	byID := map[string]summary{}
	for _, o := range otherObjs {
		if picked[o.Seq] {
			byID[o.ID] = a.summarize(o)
		}
	}
	var sightings []store.Object
	for _, o := range refs {
		hd := decodeHead(o.Raw)
		switch o.Type {
		case "relationship":
			row := relRow{RelType: hd.RelType, Rel: a.summarize(o), Direction: "→"}
			other := hd.Target
			if hd.Target == id {
				other, row.Direction = hd.Source, "←"
			}
			s, ok := byID[other]
			if !ok {
				s = summary{ID: other, Label: other, Type: strings.SplitN(other, "--", 2)[0]}
			}
			row.Other = s
			v.Rels = append(v.Rels, row)
		case "sighting":
			if hd.SightOf == id {
				sightings = append(sightings, o)
			}
		}
	}
	v.Graph = graph(v.S, v.Rels)
	v.Sightings = sightingChart(a, sightings)
	v.Opinions = h.opinions(r, a, me, id, latest, tally)
	h.render(w, r, http.StatusOK, "object", v.S.Label, v)
}

// flatProps lists the top-level properties as text, except those the
// page shows elsewhere; values that are not strings are shown as JSON. A
// value longer than MaxShownText is shown as its JSON, cut, without
// decoding it; clipped says so.
func flatProps(fields map[string]json.RawMessage) (out []prop, clipped bool) {
	for k, raw := range fields {
		switch k {
		case "name", "description", "pattern", "extensions", "object_refs", "external_references":
			continue
		}
		if len(raw) > MaxShownText {
			s, _ := clip(string(raw[:min(len(raw), MaxShownText+utf8.UTFMax)]), MaxShownText)
			out, clipped = append(out, prop{Key: k, Value: s}), true
			continue
		}
		var val any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if d.Decode(&val) != nil {
			continue
		}
		out = append(out, prop{Key: k, Value: propText(val)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, clipped
}

// nameProps notes, beside the ids that a person reads as words, what
// they name: the member created_by_ref is (as the node names it), and the
// TLP levels object_marking_refs holds.
func nameProps(props []prop, a access) {
	for i, p := range props {
		switch p.Key {
		case "created_by_ref":
			if n := a.name(p.Value); n != p.Value {
				props[i].Note = n
			}
		case "object_marking_refs":
			var names []string
			for _, id := range strings.Split(p.Value, ", ") {
				if l, ok := stix.LookupTLP(id); ok {
					names = append(names, l.Name)
				}
			}
			props[i].Note = strings.Join(names, ", ")
		}
	}
}

// MaxNamedRefs is the most ids of an object's reference properties
// (other than object_refs, which the page lists, created_by_ref, a
// member, and object_marking_refs, TLP levels) that its page names:
// those past it are shown as bare ids.
const MaxNamedRefs = 100

// isRefProp says whether property k of an object holds STIX ids that
// nameRefs names.
func isRefProp(k string) bool {
	switch k {
	case "created_by_ref", "object_marking_refs", "object_refs":
		return false
	}
	return strings.HasSuffix(k, "_ref") || strings.HasSuffix(k, "_refs")
}

// nameRefs sets the Refs of each reference property in props (isRefProp)
// that holds an id or a list of ids: the first MaxNamedRefs distinct ids
// of them all are read in one query, bounded by RelatedBytes, from the
// collections the member reads, and each one read is named by its
// latest version's label and type. Any other id, of an object the member
// may not read, of none, or past the bounds, is shown bare, alike: the
// page tells nothing of objects hidden from the member.
func (h *Handler) nameRefs(ctx context.Context, a access, fields map[string]json.RawMessage, props []prop) error {
	var want []string
	seen := map[string]bool{}
	lists := map[int][]string{}
	for i, p := range props {
		ids := p.ids
		if ids == nil {
			if !isRefProp(p.Key) || len(fields[p.Key]) > MaxShownText {
				continue // a value too long to show is shown cut, as text
			}
			if json.Unmarshal(fields[p.Key], &ids) != nil {
				var id string
				if json.Unmarshal(fields[p.Key], &id) != nil {
					continue
				}
				ids = []string{id}
			}
			if !stixIDs(ids) {
				continue
			}
		}
		lists[i] = ids
		for _, id := range ids {
			if !seen[id] && len(want) < MaxNamedRefs {
				seen[id] = true
				want = append(want, id)
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	got, _, err := h.q.LatestObjects(ctx, a.readable, want, store.Bound{Bytes: RelatedBytes})
	if err != nil {
		return err
	}
	picked := a.latestOwnOf(got)
	named := map[string]summary{}
	for _, o := range got {
		if _, ok := named[o.ID]; !ok && picked[o.Seq] {
			named[o.ID] = a.summarize(o)
		}
	}
	for i, ids := range lists {
		refs := make([]refView, len(ids))
		for j, id := range ids {
			refs[j] = refView{ID: id}
			if s, ok := named[id]; ok {
				refs[j] = refView{ID: id, Label: s.Short, Type: s.Type, Named: true}
			}
		}
		props[i].Refs = refs
	}
	return nil
}

// stixIDs reports whether ids is a non-empty list of STIX identifiers.
func stixIDs(ids []string) bool {
	return len(ids) > 0 && !slices.ContainsFunc(ids, func(id string) bool { _, err := stix.SplitIdentifier(id); return err != nil })
}

// MaxNestedRefProps is the most references nested in extensions and
// embedded objects (nestedRefProps) that an object page lists; those
// past it are left out of the list (the page says so; its JSON holds
// them), and only the first MaxNamedRefs ids of all its references are
// named.
const MaxNestedRefProps = 200

// maxNestedDepth is how deep nestedRefProps looks for references.
const maxNestedDepth = 16

// nestedRefProps lists the references that an object holds below its
// top level: each property, at any depth under maxNestedDepth, of an
// extension (the extensions map) or of an embedded object (a property
// whose value is an object or a list, such as a custom property's or a
// granular marking's), whose name ends in _ref or _refs and whose value
// is a STIX id or a non-empty list of them. Each is a prop whose Key is
// its path (extensions.ID.parent_ref, x_list[2].source_ref) and whose ids
// nameRefs names, as it names the top-level ones: listed after them, so
// that the top-level references are named first within MaxNamedRefs. A
// value longer than MaxShownText is not looked into (it is shown cut, or,
// an extension, only in the JSON). At most MaxNestedRefProps are listed;
// more says some were left out.
func nestedRefProps(fields map[string]json.RawMessage) (out []prop, more bool) {
	keys := make([]string, 0, len(fields))
	for k, raw := range fields {
		if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') && len(raw) <= MaxShownText {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var walk func(path string, v any, depth int)
	walk = func(path string, v any, depth int) {
		if depth > maxNestedDepth {
			return
		}
		switch v := v.(type) {
		case map[string]any:
			names := make([]string, 0, len(v))
			for k := range v {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				if !plainKey(k) {
					continue // not shown in a path: see plainKey
				}
				p := path + "." + k
				if strings.HasSuffix(k, "_ref") || strings.HasSuffix(k, "_refs") {
					var ids []string
					switch x := v[k].(type) {
					case string:
						ids = []string{x}
					case []any:
						if ids = stringList(x); len(ids) != len(x) {
							ids = nil
						}
					}
					if stixIDs(ids) {
						if len(out) == MaxNestedRefProps {
							more = true
							return
						}
						out = append(out, prop{Key: p, Value: strings.Join(ids, ", "), ids: ids})
						continue
					}
				}
				walk(p, v[k], depth+1)
			}
		case []any:
			for i, x := range v {
				walk(path+"["+strconv.Itoa(i)+"]", x, depth+1)
			}
		}
	}
	for _, k := range keys {
		var v any
		if json.Unmarshal(fields[k], &v) != nil {
			continue
		}
		walk(k, v, 0)
	}
	return out, more
}

// plainKey reports whether k, a key below an object's top level, may be
// part of a path that nestedRefProps shows: 1 to 250 ASCII letters,
// digits, '_' and '-', as STIX property names and extension ids are.
// Any other key (a member's: bidirectional overrides, spaces, dots that
// would make a path read as another) is not looked into; what it holds
// is only in the object's JSON.
func plainKey(k string) bool {
	if k == "" || len(k) > 250 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// stringField returns the string value of fields[k], and whether it is
// one.
func stringField(fields map[string]json.RawMessage, k string) (string, bool) {
	var s string
	if raw, ok := fields[k]; !ok || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// propText shows a property value: a string as itself, a list of
// strings joined by commas, anything else as JSON (not HTML-escaped
// here: the template escapes it).
func propText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		if l := stringList(v); len(l) == len(v) {
			return strings.Join(l, ", ")
		}
	}
	var b strings.Builder
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.Encode(v)
	return strings.TrimSpace(b.String())
}

func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// MaxExternalRefs is the most external references an object page shows.
const MaxExternalRefs = 200

// externalRefs decodes an object's external_references, at most
// MaxExternalRefs of them, and says whether there were more; entries that
// are not objects, and fields that are not strings, are left out.
func externalRefs(raw json.RawMessage) (out []extRef, more bool) {
	d := json.NewDecoder(bytes.NewReader(raw))
	if t, err := d.Token(); err != nil || t != json.Delim('[') {
		return nil, false
	}
	for d.More() {
		if len(out) == MaxExternalRefs {
			return out, true
		}
		var x struct {
			Source      string `json:"source_name"`
			ID          string `json:"external_id"`
			URL         string `json:"url"`
			Description string `json:"description"`
		}
		if err := d.Decode(&x); err != nil {
			var typeErr *json.UnmarshalTypeError
			if !errors.As(err, &typeErr) {
				return out, false // not JSON: the rest can't be read
			}
			// An entry or a field of another type stays zero.
		}
		e := extRef{Source: x.Source, ID: x.ID, Description: x.Description}
		if u := x.URL; strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
			e.URL = u // other schemes are shown as text only
		} else if u != "" {
			e.Description = strings.TrimSpace(e.Description + " " + u)
		}
		if e != (extRef{}) {
			out = append(out, e)
		}
	}
	return out, false
}

// versionTimeline says, for each version, which top-level properties
// changed from the previous one (modified and the signature aside); when
// older versions were left out, the first has no previous one to compare.
// The version shown (the page's object) is marked current. A version
// with the same id and version as the previous one is the same version,
// in another collection, only where its bytes are the same; else it is
// another object under that id and version, named as a peer's copy where
// it is in a collection replicated from a peer (named as a knows the
// peer's member).
func versionTimeline(versions []store.Object, olderLeftOut bool, shown store.Object, a access) []versionView {
	var out []versionView
	var prev map[string]json.RawMessage
	for i, o := range versions {
		var cur map[string]json.RawMessage
		json.Unmarshal(o.Raw, &cur)
		vv := versionView{Version: o.Version, Added: o.DateAdded, LogIndex: o.LogIndex, Current: o.LogIndex == shown.LogIndex && o.Collection == shown.Collection}
		if prev == nil && olderLeftOut {
			vv.Changes = []string{"the oldest version shown"}
		} else if prev == nil {
			vv.Changes = []string{"first version"}
		} else if i > 0 && versions[i-1].Version.Equal(o.Version) && bytes.Equal(versions[i-1].Raw, o.Raw) {
			vv.Changes = []string{"the same version, in another collection"}
		} else if i > 0 && versions[i-1].Version.Equal(o.Version) {
			c := "another object under the same id and version"
			if a.peerCopies[o.Collection] {
				c += " (" + a.name(o.Member) + "'s copy)"
			}
			vv.Changes = []string{c}
		} else {
			var keys []string
			for k := range cur {
				keys = append(keys, k)
			}
			for k := range prev {
				if _, ok := cur[k]; !ok {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == "modified" || k == "extensions" {
					continue
				}
				p, inPrev := prev[k]
				c, inCur := cur[k]
				switch {
				case !inPrev:
					vv.Changes = append(vv.Changes, "added "+k)
				case !inCur:
					vv.Changes = append(vv.Changes, "removed "+k)
				case string(p) != string(c):
					vv.Changes = append(vv.Changes, "changed "+k)
				}
			}
			if len(vv.Changes) == 0 {
				vv.Changes = []string{"no change but the timestamp"}
			}
		}
		prev = cur
		out = append(out, vv)
	}
	// Newest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// graph lays out the object and up to MaxGraphNeighbours related
// objects on an ellipse around it, each labelled outward (see [gnode]);
// the SVG's text is escaped by the template like any other text. The
// picture is 800 wide, so that a label of 24 characters at either side
// stays inside it.
func graph(center summary, rels []relRow) graphView {
	n := min(len(rels), MaxGraphNeighbours)
	w, h := 800, 440
	if n <= 2 {
		h = 220
	}
	g := graphView{W: w, H: h}
	cx, cy := float64(w)/2, float64(h)/2
	rx, ry := 200.0, float64(h)/2-60
	g.Nodes = append(g.Nodes, gnode{X: cx, Y: cy, LX: cx, LY: cy + 28, Anchor: "middle", Label: trimLabel(center.Label), Center: true})
	g.Truncated = len(rels) - n
	start := -math.Pi / 2
	if n <= 2 {
		start = 0 // right, then left: beside the centre, not over its label
	}
	for i := 0; i < n; i++ {
		angle := start + 2*math.Pi*float64(i)/float64(max(n, 1))
		c, sn := math.Cos(angle), math.Sin(angle)
		x, y := math.Round(cx+rx*c), math.Round(cy+ry*sn)
		rel := rels[i]
		nd := gnode{X: x, Y: y, Label: trimLabel(rel.Other.Label), Rel: rel.Direction + " " + rel.RelType, Href: "/ui/objects/" + rel.Other.ID}
		switch {
		case c > 0.15:
			nd.LX, nd.LY, nd.Anchor = x+12, y-2, "start"
		case c < -0.15:
			nd.LX, nd.LY, nd.Anchor = x-12, y-2, "end"
		case sn < 0:
			nd.LX, nd.LY, nd.Anchor = x, y-26, "middle"
		default:
			nd.LX, nd.LY, nd.Anchor = x, y+22, "middle"
		}
		g.Nodes = append(g.Nodes, nd)
		g.Edges = append(g.Edges, gedge{X1: cx, Y1: cy, X2: x, Y2: y})
	}
	return g
}

func trimLabel(s string) string {
	if r := []rune(s); len(r) > 24 {
		return string(r[:23]) + "…"
	}
	return s
}

// sightingChart counts sightings (their count property, 1 when absent)
// per member and per day of first_seen (created when absent). A sighting
// can't be first seen after the node added it: one dated later (by a
// member who would push the others' days off the chart, which shows the
// newest) counts on the day it was added.
func sightingChart(a access, sightings []store.Object) sightingsView {
	var v sightingsView
	perMember, perMemberUnsigned := map[string]int{}, map[string]int{}
	perDay, perDayUnsigned := map[string]int{}, map[string]int{}
	for _, o := range sightings {
		var s struct {
			Count     *int   `json:"count"`
			FirstSeen string `json:"first_seen"`
			Created   string `json:"created"`
		}
		json.Unmarshal(o.Raw, &s)
		n := 1
		if s.Count != nil && *s.Count >= 0 {
			n = *s.Count
		}
		v.Total += n
		perMember[a.name(o.Member)] += n
		if !o.Signed {
			v.Unsigned += n
			perMemberUnsigned[a.name(o.Member)] += n
		}
		day := s.FirstSeen
		if day == "" {
			day = s.Created
		}
		if t, err := time.Parse(time.RFC3339Nano, day); err == nil && !o.DateAdded.IsZero() && t.After(o.DateAdded) {
			day = o.DateAdded.UTC().Format(time.DateOnly)
		}
		if len(day) >= 10 {
			day = day[:10]
		}
		perDay[day] += n
		if !o.Signed {
			perDayUnsigned[day] += n
		}
		v.List = append(v.List, a.summarize(o))
	}
	for name, n := range perMember {
		v.PerMember = append(v.PerMember, memberCount{name, n, perMemberUnsigned[name]})
	}
	sort.Slice(v.PerMember, func(i, j int) bool { return v.PerMember[i].Name < v.PerMember[j].Name })
	var days []string
	peak := 1
	for d, n := range perDay {
		days = append(days, d)
		peak = max(peak, n)
	}
	sort.Strings(days)
	days = everyDay(days, 60)
	const chartW, chartH = 600.0, 120.0
	step := chartW / float64(max(len(days), 1))
	bw := min(48, step)
	for i, d := range days {
		hgt := math.Round(chartH * float64(perDay[d]) / float64(peak))
		uh := math.Round(chartH * float64(perDayUnsigned[d]) / float64(peak))
		v.Bars = append(v.Bars, bar{X: math.Round(float64(i)*step + (step-bw)/2), Y: chartH - hgt, W: math.Max(1, math.Round(bw-2)), H: hgt, Label: d, N: perDay[d],
			Unsigned: perDayUnsigned[d], UY: chartH - hgt, UH: uh})
	}
	if n := len(v.Bars); n > 0 {
		first, last := v.Bars[0], v.Bars[n-1]
		v.First, v.Last = first.Label, last.Label
		v.FirstX, v.FirstAnchor = first.X, "start"
		v.LastX = last.X + last.W
		if n == 1 {
			v.FirstX, v.FirstAnchor = first.X+first.W/2, "middle"
		}
	}
	return v
}

// everyDay fills the gaps between sorted days (YYYY-MM-DD), so that the
// chart's bars stand on a time axis, and keeps the last max days: those
// before the max days that end at the last one are left out, however far
// back (a day years before the others would otherwise fill the chart
// with the empty days after it). A day that doesn't parse gets no days
// filled after it, and is kept where it sorts in those days.
func everyDay(days []string, max int) []string {
	if n := len(days); n > 0 {
		if last, err := time.Parse(time.DateOnly, days[n-1]); err == nil {
			from := last.AddDate(0, 0, 1-max).Format(time.DateOnly)
			i := 0
			for i < n-1 && days[i] < from {
				i++
			}
			days = days[i:]
		}
	}
	var out []string
	for i, d := range days {
		out = append(out, d)
		if i+1 == len(days) {
			break
		}
		a, err1 := time.Parse(time.DateOnly, d)
		b, err2 := time.Parse(time.DateOnly, days[i+1])
		if err1 != nil || err2 != nil {
			continue
		}
		for t := a.AddDate(0, 0, 1); t.Before(b) && len(out) < 100000; t = t.AddDate(0, 0, 1) {
			out = append(out, t.Format(time.DateOnly))
		}
	}
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}

// opinions computes the concurrence on id as this member may see it with
// tally (what Deps.Concurrence returned, the page having reserved its
// memory; nil when the node computes none), and prepares the forms to
// add, revoke and sight.
func (h *Handler) opinions(r *http.Request, a access, me store.Member, id string, latest store.Object, tally func(context.Context) (opinion.Concurrence, error)) concurrenceView {
	v := concurrenceView{CanSight: latest.Type == "indicator"}
	for _, val := range opinion.Values {
		v.Values = append(v.Values, string(val))
	}
	// The forms sign with the member's key in the browser: a member
	// with no key in force gets a word instead of forms whose every post
	// the node would refuse.
	v.NoKey = me.PublicKey == nil
	if !v.NoKey {
		for _, c := range a.visible {
			if c.CanWrite(me.ID) && c.CanRead(me.ID) && c.ID == latest.Collection {
				v.Writable = append(v.Writable, c)
			}
		}
		for _, c := range a.visible {
			if c.CanWrite(me.ID) && c.CanRead(me.ID) && c.ID != latest.Collection {
				v.Writable = append(v.Writable, c)
			}
		}
	}
	if tally == nil {
		v.Unavailable = "This node does not compute concurrence."
		return v
	}
	c, err := tally(r.Context())
	if err != nil {
		h.d.Logger.Warn("web: concurrence", "object", id, "err", err)
		v.Unavailable = "The concurrence is not available right now; reload in a moment."
		return v
	}
	v.Voices, v.Of = c.Voices, c.MembersWithAccess
	v.ObjectRevoked, v.ObjectVersion = c.ObjectRevoked, c.ObjectLatestVersion
	for _, val := range opinion.Values {
		v.Counts = append(v.Counts, countView{string(val), c.Counts[val]})
	}
	explain := map[string]string{}
	raws := map[string]string{}
	for _, it := range c.Evidence.Items {
		if op, err := opinion.Parse(it.Object); err == nil {
			key := op.ID + "|" + stix.FormatTimestamp(op.Version)
			explain[key] = op.Explanation
			// The revoke form signs this object again with the analyst's
			// key: only a version the analyst shared (the log's sharer,
			// not created_by_ref alone, which another member may write
			// into an object it relays), so that a planted copy of the
			// analyst's opinion id, of other content, is never signed.
			if op.Member == me.ID && it.Member == me.ID {
				raws[key] = string(it.Object)
			}
		}
	}
	latestVersion, latestErr := time.Parse(time.RFC3339Nano, c.ObjectLatestVersion)
	for _, vote := range c.Votes {
		vv := voteView{Member: a.name(vote.Member), Value: string(vote.Value), OpinionID: vote.OpinionID, Mine: vote.Member == me.ID}
		if vote.Confidence != nil {
			vv.Confidence = itoa(*vote.Confidence)
		}
		if vt, err := time.Parse(time.RFC3339Nano, vote.Version); err == nil && latestErr == nil && vt.Before(latestVersion) {
			vv.Earlier = true
			v.Earlier++
		}
		key := vote.OpinionID + "|" + vote.Version
		for k, e := range explain {
			if k == key || strings.HasPrefix(k, vote.OpinionID+"|") && sameInstant(k[len(vote.OpinionID)+1:], vote.Version) {
				vv.Explanation = e
			}
		}
		for k, raw := range raws {
			if strings.HasPrefix(k, vote.OpinionID+"|") && sameInstant(k[len(vote.OpinionID)+1:], vote.Version) {
				v.MineRaw = append(v.MineRaw, ownOpinion{ID: vote.OpinionID, Value: string(vote.Value), Raw: raw})
			}
		}
		v.Votes = append(v.Votes, vv)
	}
	return v
}

func sameInstant(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

// opinionNoScript answers the opinion form posted without JavaScript:
// opinions are signed in the browser, so there is nothing the node can
// do with the fields alone.
func (h *Handler) opinionNoScript(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, http.StatusUnprocessableEntity, "Opinions are signed in your browser with your key, which needs JavaScript. Enable it for this site, or use parley opinion on the command line.", nil)
}

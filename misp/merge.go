package misp

import (
	"slices"
	"strconv"
)

// peUnder is where a pe object's properties go in its file.
var peUnder = []string{"extensions", "windows-pebinary-ext"}

// sectionUnder is where the i-th pe-section goes in its file.
func sectionUnder(i int) []string {
	return []string{"extensions", "windows-pebinary-ext", "sections", "[" + strconv.Itoa(i) + "]"}
}

// valueUnder is where the i-th registry-key-value goes in its key.
func valueUnder(i int) []string { return []string{"values", "[" + strconv.Itoa(i) + "]"} }

// merges says which MISP objects are written as parts of another's
// observable, as misp-stix writes them: the pe a file includes is the
// file's windows-pebinary-ext, and the pe-sections a pe includes the
// extension's sections, in the order of the pe's references; the
// registry-key-values a registry-key contains are its values.
//
// Only the relationship types misp-stix reads count ("includes",
// "included-in", from the file or pe; "contains", from the key), and
// only live objects of this event. The references are followed at most
// two steps (file → pe → pe-section) by template name, never further,
// so no cycle or chain of references costs more than the references it
// has.
type merges struct {
	// parts are, by the uuid of the object written, the pieces written
	// in its observable after its own.
	parts map[string][]piece
	// into is, for each object written as a part, the uuid of the first
	// object it is written in (a pe two files include is written in
	// both, as misp-stix writes it).
	into map[string]string
	// apart lists files that include more than one pe: misp-stix merges
	// none of them (which extension would it be?), nor does this.
	apart map[string]int
	// within holds the pairs of objects written in one observable (a
	// file and its pe, a pe and its sections, a key and its values): a
	// reference between them makes no relationship.
	within map[[2]string]bool
	// stamps holds, for each object that has or had parts (see
	// mergeStamps), the latest timestamp of it, its parts and the
	// references between them.
	stamps map[string]Timestamp
}

// mergeStamps returns, for each live file, pe or registry-key of objs
// (the event's objects, deleted ones too) that references a part by a
// relationship merges follow (even a deleted reference or part), the
// latest timestamp among it, those parts (and a pe's sections) and those
// references: MISP moves the timestamp of the object it edits or
// deletes, not the one that includes it, and the whole's version must
// move with any of them (zero timestamps are the event's).
func mergeStamps(objs []*Object, event Timestamp) map[string]Timestamp {
	byUUID := make(map[string]*Object, len(objs))
	for _, o := range objs {
		if _, ok := byUUID[o.UUID]; !ok || !bool(o.Deleted) {
			byUUID[o.UUID] = o // a live object before a deleted one of the same uuid
		}
	}
	stamp := func(t Timestamp) Timestamp {
		if t == 0 {
			return event
		}
		return t
	}
	partName := map[string]string{"file": "pe", "pe": "pe-section", "registry-key": "registry-key-value"}
	// latest follows o's references to parts, depth 0 or 1 (a file's
	// pe's sections), and reports whether it found any.
	var latest func(o *Object, depth int, at *Timestamp) bool
	latest = func(o *Object, depth int, at *Timestamp) bool {
		found := false
		for _, r := range o.ObjectReference {
			t := byUUID[r.ReferencedUUID]
			rel := includes(r.RelationshipType)
			if o.Name == "registry-key" {
				rel = r.RelationshipType == "contains"
			}
			if !rel || t == nil || t.Name != partName[o.Name] {
				continue
			}
			found = true
			*at = max(*at, stamp(t.Timestamp), r.Timestamp)
			if t.Name == "pe" && depth == 0 {
				latest(t, 1, at)
			}
		}
		return found
	}
	out := map[string]Timestamp{}
	for _, o := range objs {
		if o.Deleted || partName[o.Name] == "" || byUUID[o.UUID] != o {
			continue
		}
		at := stamp(o.Timestamp)
		if latest(o, 0, &at) {
			out[o.UUID] = at
		}
	}
	return out
}

// includes are the relationship types by which misp-stix finds a file's
// pe and a pe's sections.
func includes(typ string) bool { return typ == "includes" || typ == "included-in" }

// planMerges plans the merges of an event's live objects (those written,
// their restricted attributes left out), in the event's order.
func planMerges(objs []*Object) merges {
	m := merges{parts: map[string][]piece{}, into: map[string]string{}, apart: map[string]int{}, within: map[[2]string]bool{}}
	byUUID := make(map[string]*Object, len(objs))
	for _, o := range objs {
		if _, ok := byUUID[o.UUID]; !ok {
			byUUID[o.UUID] = o
		}
	}
	// included returns the distinct live objects of template name that o
	// includes, in the order of its references.
	included := func(o *Object, name string) []*Object {
		var out []*Object
		seen := map[string]bool{}
		for _, r := range o.ObjectReference {
			t := byUUID[r.ReferencedUUID]
			rel := includes(r.RelationshipType)
			if name == "registry-key-value" {
				rel = r.RelationshipType == "contains" // as misp-stix reads a key's values
			}
			if bool(r.Deleted) || !rel || t == nil || t.Name != name || seen[t.UUID] {
				continue
			}
			seen[t.UUID] = true
			out = append(out, t)
		}
		return out
	}
	sections := func(pe *Object) []piece {
		var out []piece
		for _, s := range included(pe, "pe-section") {
			if !hasLive(s) {
				continue // no place in the list for an empty section
			}
			out = append(out, piece{o: s, name: "pe-section", under: sectionUnder(len(out))})
		}
		return out
	}
	mark := func(ps []piece, host string) {
		for _, p := range ps {
			if _, ok := m.into[p.o.UUID]; !ok {
				m.into[p.o.UUID] = host
			}
			m.within[[2]string{host, p.o.UUID}] = true
		}
		if len(ps) > 0 && ps[0].name == "pe" {
			for _, s := range ps[1:] {
				m.within[[2]string{ps[0].o.UUID, s.o.UUID}] = true
			}
		}
	}
	for _, o := range objs {
		if o.Name != "file" || byUUID[o.UUID] != o {
			continue
		}
		// A pe without its type makes no windows-pebinary-ext of an
		// observed-data (STIX requires pe_type; an indicator's pattern
		// need not compare it): the file is written without it, as
		// before pe objects were merged, and the pe is listed (see
		// object).
		pes := slices.DeleteFunc(included(o, "pe"), func(pe *Object) bool {
			return !hasLiveRelation(pe, "type") && !anyToIDs(o) && !anyToIDs(pe) && !slices.ContainsFunc(sections(pe), func(p piece) bool { return anyToIDs(p.o) })
		})
		switch {
		case len(pes) == 0:
			continue
		case len(pes) > 1:
			m.apart[o.UUID] = len(pes)
			continue
		}
		ps := append([]piece{{o: pes[0], name: "pe", under: peUnder}}, sections(pes[0])...)
		if tooMany(o, ps) {
			continue
		}
		m.parts[o.UUID] = ps
		mark(ps, o.UUID)
	}
	for _, o := range objs {
		if o.Name != "registry-key" || byUUID[o.UUID] != o {
			continue
		}
		var ps []piece
		for _, v := range included(o, "registry-key-value") {
			if hasLive(v) {
				ps = append(ps, piece{o: v, name: "registry-key-value", under: valueUnder(len(ps))})
			}
		}
		if len(ps) > 0 && !tooMany(o, ps) {
			m.parts[o.UUID] = ps
			mark(ps, o.UUID)
		}
	}
	// A pe no file includes is a file of its own, with its sections.
	for _, o := range objs {
		if o.Name != "pe" || byUUID[o.UUID] != o || m.into[o.UUID] != "" {
			continue
		}
		if ps := sections(o); len(ps) > 0 && !tooMany(o, ps) {
			m.parts[o.UUID] = ps
			mark(ps, o.UUID)
		}
	}
	return m
}

func hasLive(o *Object) bool {
	for i := range o.Attribute {
		if !o.Attribute[i].Deleted {
			return true
		}
	}
	return false
}

// hasLiveRelation reports whether o has a live attribute of the relation.
func hasLiveRelation(o *Object, relation string) bool {
	return slices.ContainsFunc(o.Attribute, func(a Attribute) bool { return !bool(a.Deleted) && a.ObjectRelation == relation })
}

// tooMany reports whether o with its parts ps has more live attributes
// than [MaxObjectAttributes]: it is then written without them, as before
// they were merged (each part alone, or listed), not refused whole.
func tooMany(o *Object, ps []piece) bool {
	n := 0
	for _, p := range append([]piece{{o: o}}, ps...) {
		for i := range p.o.Attribute {
			if !p.o.Attribute[i].Deleted {
				n++
			}
		}
	}
	return n > MaxObjectAttributes
}

// anyToIDs reports whether o has a live attribute with to_ids.
func anyToIDs(o *Object) bool {
	return slices.ContainsFunc(o.Attribute, func(a Attribute) bool { return !bool(a.Deleted) && bool(a.ToIDs) })
}

// joins reports whether a reference between a and b is one between
// objects written in one observable.
func (m merges) joins(a, b string) bool {
	return m.within[[2]string{a, b}] || m.within[[2]string{b, a}]
}

// pieces returns what o's observable is made of: o, then its parts.
func (m merges) pieces(o *Object) []piece {
	return append([]piece{ownPiece(o)}, m.parts[o.UUID]...)
}

// ownPiece is o's own share of its observable: a pe is a file's
// windows-pebinary-ext, and a registry-key-value no key contains the
// first of a key's values (as misp-stix writes them); other objects are
// their observable's root.
func ownPiece(o *Object) piece {
	own := piece{o: o, name: o.Name}
	switch o.Name {
	case "pe":
		own.under = peUnder
	case "registry-key-value":
		own.under = valueUnder(0)
	}
	return own
}

// merged reports whether the object is written as a part of another's
// observable: a pe a file includes, or a pe-section a pe includes.
func (m merges) merged(o *Object) bool {
	host, ok := m.into[o.UUID]
	return ok && host != o.UUID && (o.Name == "pe" || o.Name == "pe-section" || o.Name == "registry-key-value")
}

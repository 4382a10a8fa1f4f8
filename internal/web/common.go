package web

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
)

// access is what one member may see: the collections it may read or
// write (everything else doesn't exist for it) and member names.
type access struct {
	visible  []store.Collection
	readable []string
	byID     map[string]store.Collection
	names    map[string]string // member id -> name
	members  []store.Member
	// peerCopies are the collections replicated from peers, whose
	// copies claim no id (docs/federation.md; see [Handler.objectVersions]).
	peerCopies map[string]bool
	// fills maps each peer's and feed's member (peer:NAME, feed:NAME) to
	// the collections it fills: nobody logs in as it, so a collection's
	// lists name it (a grant of an older version) for nothing but its
	// feed's write on its own collection.
	fills map[string]map[string]bool
}

func (a access) canRead(coll string) bool {
	for _, c := range a.readable {
		if c == coll {
			return true
		}
	}
	return false
}

func (a access) name(member string) string {
	if n, ok := a.names[member]; ok {
		return n
	}
	return member
}

// access loads the collections, members, peers and feeds in four small
// queries; every page starts with it, and no page queries per row after
// it. Its members are those the viewer may see ([store.ListedMembers]).
func (h *Handler) access(ctx context.Context, m store.Member) (access, error) {
	cs, err := h.d.Store.Collections(ctx)
	if err != nil {
		return access{}, err
	}
	a := access{byID: map[string]store.Collection{}, names: map[string]string{}}
	for _, c := range cs {
		if c.CanRead(m.ID) || c.CanWrite(m.ID) {
			a.visible = append(a.visible, c)
			a.byID[c.ID] = c
		}
		if c.CanRead(m.ID) {
			a.readable = append(a.readable, c.ID)
		}
	}
	members, err := h.d.Store.Members(ctx)
	if err != nil {
		return access{}, err
	}
	// The members of peers and feeds only to readers of what they fill,
	// on every page (the members page, the collections' creator filter,
	// names), as GET /members lists them.
	ps, err := h.d.Store.Peers(ctx)
	if err != nil {
		return access{}, err
	}
	fs, err := h.d.Store.Feeds(ctx)
	if err != nil {
		return access{}, err
	}
	a.peerCopies = store.PeerCollections(ps)
	a.fills = map[string]map[string]bool{}
	for _, p := range ps {
		if a.fills[p.Member] == nil {
			a.fills[p.Member] = map[string]bool{}
		}
		a.fills[p.Member][p.Into] = true
	}
	for _, f := range fs {
		if a.fills[f.Member] == nil {
			a.fills[f.Member] = map[string]bool{}
		}
		a.fills[f.Member][f.Into] = true
	}
	a.members = store.ListedMembers(m.ID, members, cs, ps, fs)
	for _, mm := range a.members {
		a.names[mm.ID] = mm.Name
	}
	return a, nil
}

// tlpBadge is a TLP marking as the UI shows it: its TLP 2.0 name and the
// CSS class of its colour.
type tlpBadge struct {
	Name  string
	Class string
}

func tlpBadges(refs []string) []tlpBadge {
	var out []tlpBadge
	for _, r := range refs {
		l, ok := stix.LookupTLP(r)
		if !ok {
			continue
		}
		out = append(out, tlpBadge{Name: l.Name, Class: "tlp-" + strings.ReplaceAll(l.Level, "+", "-")})
	}
	return out
}

// summary is one object in a list.
type summary struct {
	Seq        int64
	ID         string
	Type       string
	Label      string
	Collection string
	CollTitle  string
	Member     string
	Creator    string
	Added      time.Time
	Version    time.Time
	Signed     bool
	// ForeignSigned says that the object carries a signature although
	// the node stored it as unsigned: a key no log the node checked holds
	// signed it (what a peer itself replicated from another node).
	ForeignSigned bool
	TLP           []tlpBadge
	Revoked       bool
	// Short and AddedText are Label and Added as a list shows them,
	// computed here: a function call in a template costs a reflective
	// call per row.
	Short, AddedText string
}

// head holds the properties a list shows, decoded without the rest.
type head struct {
	Name     string          `json:"name"`
	Value    json.RawMessage `json:"value"`
	Pattern  string          `json:"pattern"`
	Markings []string        `json:"object_marking_refs"`
	Revoked  bool            `json:"revoked"`
	Opinion  string          `json:"opinion"`
	RelType  string          `json:"relationship_type"`
	Source   string          `json:"source_ref"`
	Target   string          `json:"target_ref"`
	SightOf  string          `json:"sighting_of_ref"`
	Count    *int            `json:"count"`
	Explain  string          `json:"explanation"`
}

func decodeHead(raw []byte) head {
	var hd head
	json.Unmarshal(raw, &hd) // a field of another type stays empty
	return hd
}

func label(o store.Object, hd head) string {
	switch {
	case hd.Name != "":
		return hd.Name
	case len(hd.Value) > 0 && hd.Value[0] == '"':
		var s string
		if json.Unmarshal(hd.Value, &s) == nil {
			return s
		}
	case hd.Pattern != "":
		return hd.Pattern
	case hd.Opinion != "":
		return hd.Opinion
	case hd.RelType != "":
		typ := func(id string) string { t, _, _ := strings.Cut(id, "--"); return t }
		return typ(hd.Source) + " " + hd.RelType + " " + typ(hd.Target)
	}
	return o.ID
}

// MaxLabel and MaxShownText bound the text a page shows of one label
// (an object's name, value or pattern as it is listed and titled) and of
// one property: longer text is cut, with "…", and the object's JSON, which
// the object page carries for the browser's check and the proof bundle
// holds, has it whole. So what a page renders is bounded by its bounds
// (memory.go), not by the objects' sizes.
const (
	MaxLabel     = 1 << 10
	MaxShownText = 64 << 10
)

// clip returns s cut to at most n bytes on a character boundary, with
// "…" when cut, and whether it was cut.
func clip(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…", true
}

func (a access) summarize(o store.Object) summary {
	hd := decodeHead(o.Raw)
	l, _ := clip(label(o, hd), MaxLabel)
	short := l
	if len(short) > 120 {
		if r := []rune(short); len(r) > 120 {
			short = string(r[:120]) + "…"
		}
	}
	return summary{
		Short: short, AddedText: o.DateAdded.UTC().Format("2006-01-02 15:04:05Z"),
		Seq: o.Seq, ID: o.ID, Type: o.Type, Label: l,
		Collection: o.Collection, CollTitle: a.byID[o.Collection].Title,
		Member: o.Member, Creator: a.name(o.Member),
		Added: o.DateAdded, Version: o.Version, Signed: o.Signed,
		TLP: tlpBadges(hd.Markings), Revoked: hd.Revoked, ForeignSigned: !o.Signed && hasSignature(o.Raw),
	}
}

// hasSignature reports whether the object carries a signature
// extension; only objects stored as unsigned are asked, which are few.
func hasSignature(raw []byte) bool {
	var x struct {
		Ext map[string]json.RawMessage `json:"extensions"`
	}
	json.Unmarshal(raw, &x) // what isn't an object has no signature
	_, ok := x.Ext[stix.SignatureExtensionID]
	return ok
}

func (a access) summaries(objs []store.Object) []summary {
	out := make([]summary, len(objs))
	for i, o := range objs {
		out[i] = a.summarize(o)
	}
	return out
}

// age says how long ago t was, coarsely.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "never"
	case d < time.Minute:
		return "less than a minute ago"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	default:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return itoa(n) + " " + unit + "s"
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

package misp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/stix"
)

// A term is one comparison of a STIX pattern and, equivalently, one
// property of an observable: the value at prop of a root cyber-observable
// of type typ, or at key of an observable the root references.
type term struct {
	typ   string   // the root observable's type, such as "file"
	prop  []string // the property path in the root, such as {"hashes", "SHA-256"}
	ref   *ref     // when set, the value lives in a referenced observable
	value any      // string or int64
	uuid  string   // the MISP attribute's uuid: keys a referenced observable (its id until deterministicIDs)
	stamp bool     // value is a STIX timestamp: t'...' in patterns
	hex   bool     // value is hex: h'...' in patterns
	each  bool     // prop is a list: the pattern compares prop[*]
	// bareBefore: a conversion before list patterns compared prop
	// without [*] (see listPatternRevision).
	bareBefore bool
	// relation and misp type, for the reverse mapping of the feed export.
	relation, mispType string
	// revised: the property is a mapping later than the template's
	// first (a socket's state as is_listening, which was x_misp_state):
	// what has it is a new version of what an earlier import wrote (see
	// mappingRevision).
	revised bool
	// later: the property is a mapping later than those of 6 December
	// 2026 (a netflow's tcp protocol for its TCP flags, a pe's
	// compilation time as a STIX timestamp): what has it is a new
	// version of what they wrote (see laterRevision).
	later bool
	// shared: every relation of the slot's reference names one
	// observable (see slot.shared).
	shared bool
}

// ref is a reference from the root observable to another one.
type ref struct {
	prop  string   // "src_ref", "resolves_to_refs"
	list  bool     // a *_refs list
	typ   string   // the referenced observable's type
	key   []string // the property path in it, such as {"value"}
	typed bool     // the pattern also compares <prop>.type (network-traffic ends)
}

// patternPath writes the object path of one term.
func (t term) patternPath() string { return t.pathForm(false) }

// pathForm writes the object path of one term, as a conversion before
// list patterns wrote it when before is set (see listPatternRevision).
func (t term) pathForm(before bool) string {
	var b strings.Builder
	b.WriteString(t.typ)
	b.WriteByte(':')
	writePath(&b, t.prop)
	if t.each && t.ref == nil && !(before && t.bareBefore) {
		b.WriteString("[*]")
	}
	if t.ref != nil {
		if len(t.prop) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t.ref.prop)
		if t.ref.list {
			b.WriteString("[*]")
		}
		b.WriteByte('.')
		writePath(&b, t.ref.key)
	}
	return b.String()
}

func writePath(b *strings.Builder, path []string) {
	for i, p := range path {
		if isIndex(p) {
			b.WriteString(p) // sections[0]
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if plainKey(p) {
			b.WriteString(p)
		} else {
			b.WriteString(quote(p))
		}
	}
}

// plainKey reports whether a path key can be written without quotes.
func plainKey(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// quote writes a STIX pattern string literal.
func quote(s string) string {
	return "'" + quoter.Replace(s) + "'"
}

var quoter = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

func literal(v any) string {
	switch v := v.(type) {
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		s := floatText(v)
		if !strings.Contains(s, ".") {
			s += ".0" // a float literal, not an integer
		}
		return s
	}
	return quote(v.(string))
}

// floatText writes a number property (a section's entropy) without an
// exponent.
func floatText(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// isIndex reports whether a property path step is a list index ("[0]":
// a pe-section's place in its file's sections), which holds an object.
func isIndex(p string) bool {
	if len(p) < 3 || p[0] != '[' || p[len(p)-1] != ']' {
		return false
	}
	_, err := strconv.Atoi(p[1 : len(p)-1])
	return err == nil
}

// index is the list index a step isIndex names.
func index(p string) int {
	n, _ := strconv.Atoi(p[1 : len(p)-1])
	return n
}

// literal is the term's value as a pattern literal: a timestamp
// property compares with a timestamp (t'...'), which a STIX matcher
// compares as an instant, not as a string.
func (t term) literal() string {
	if s, ok := t.value.(string); ok && t.stamp {
		return "t" + quote(s)
	}
	if s, ok := t.value.(string); ok && t.hex {
		return "h" + quote(s)
	}
	return literal(t.value)
}

// operator is the comparison a term's pattern makes: ISSUBSET for an
// address term whose value is a CIDR block (MISP's ip-src, ip-dst and
// their composites take them, and mean every address in it; with "=",
// as misp-stix writes it, the pattern compares the string and no
// observed address ever matches), "=" for everything else.
func (t term) operator() string {
	typ, key := t.typ, t.prop
	if t.ref != nil {
		typ, key = t.ref.typ, t.ref.key
	}
	if s, ok := t.value.(string); ok && (typ == "ipv4-addr" || typ == "ipv6-addr") && len(key) == 1 && key[0] == "value" && strings.Contains(s, "/") {
		return "ISSUBSET"
	}
	return "="
}

// oneValue reports whether the term's path holds one value in an
// observable: not a *_refs list, nor protocols or an x_misp_ property,
// which the observables hold as lists (see setPath).
func (t term) oneValue() bool {
	if t.ref != nil {
		return !t.ref.list
	}
	if len(t.prop) == 0 {
		return false
	}
	leaf := t.prop[len(t.prop)-1]
	return leaf != "protocols" && !strings.HasPrefix(leaf, "x_misp_")
}

// patternOf ANDs the comparisons of terms into one observation expression.
// All terms share one root type (the table guarantees it).
//
// A path that holds one value (see oneValue) and that several terms give
// different values, such as the two domains of a domain-ip object, ORs
// them in one parenthesised comparison where the first of them stands:
// ANDed, one observable would need both values, and the pattern could
// never match.
//
// A list property (protocols, a relation the object repeats: see
// markLists) compares element by element, prop[*], and its comparisons
// are ANDed: the observable's list holds every value.
func patternOf(terms []term) string { return patternForm(terms, false) }

// patternForm is [patternOf], or with before the pattern a conversion
// before list patterns wrote (see listPatternRevision).
func patternForm(terms []term, before bool) string {
	var parts []string
	group := map[string]int{} // a one-value path: its part
	alts := map[string][]string{}
	seen := map[string]bool{} // the comparisons written (sets, not scans: an object may have many attributes)
	for _, t := range terms {
		path := t.pathForm(before)
		c := path + " " + t.operator() + " " + t.literal()
		if t.ref != nil && t.ref.typed {
			p := t.typ + ":" + t.ref.prop + ".type = " + quote(t.ref.typ)
			c = p + " AND " + c
			if len(terms) > 1 {
				c = "(" + c + ")"
			}
		}
		if !t.oneValue() {
			if !before && seen[c] {
				continue // a value the object repeats
			}
			seen[c] = true
			parts = append(parts, c)
			continue
		}
		if _, ok := group[path]; !ok {
			group[path] = len(parts)
			parts = append(parts, c)
		}
		if !seen[c] {
			seen[c] = true
			alts[path] = append(alts[path], c)
		}
	}
	for path, i := range group {
		if a := alts[path]; len(a) > 1 {
			parts[i] = "(" + strings.Join(a, " OR ") + ")"
		}
	}
	return "[" + strings.Join(parts, " AND ") + "]"
}

// listPatternRevision reports whether an indicator's pattern differs
// from the one a conversion before list patterns wrote for the same
// terms: that one compared a list (a network-connection's protocols, a
// relation the object repeats) with "=", which no observation matches.
// Such an indicator's modified is a millisecond after its MISP
// timestamp (MISP timestamps are whole seconds, and MISP does not move
// them for a new converter): a new version of what a node took from an
// earlier import, not another content under the same id and version,
// which the node would refuse as a conflict.
func listPatternRevision(terms []term) bool {
	return patternForm(terms, true) != patternForm(terms, false)
}

// markLists marks, in terms (those of an indicator), the comparisons of
// an x_misp_ property that all of the object's attributes, obs (the
// terms of its observed-data), give more than once: the observable holds
// them as a list (see setPath), which the pattern compares element by
// element. One given once is a string, compared as one.
func markLists(terms, obs []term) {
	n := map[string]int{}
	for _, t := range obs {
		if t.ref == nil && len(t.prop) > 0 && strings.HasPrefix(t.prop[len(t.prop)-1], "x_misp_") {
			n[t.patternPath()]++
		}
	}
	for i := range terms {
		t := &terms[i]
		if t.ref == nil && len(t.prop) > 0 && strings.HasPrefix(t.prop[len(t.prop)-1], "x_misp_") && n[t.patternPath()] > 1 {
			t.each, t.bareBefore = true, true
		}
	}
}

// observables builds the cyber-observables the terms describe: the root
// (<typ>--rootUUID) first, then the ones it references
// (<type>--<attribute uuid>); [deterministicIDs] then gives them their
// section 2.9 ids.
//
// A single reference holds the first value of its relation: a second
// value of that relation (two ip-src of a network-connection) makes no
// observable, which nothing would reference (the conversion lists it as
// not written), and dropped says so. A value of another relation for
// the same reference (a host name beside the address of dst_ref) stands
// beside it, referenced by the observed-data alone.
func observables(terms []term, rootUUID string) (out []map[string]any, dropped bool) {
	if len(terms) == 0 {
		return nil, false
	}
	typ := terms[0].typ
	root := map[string]any{"type": typ, "spec_version": "2.1", "id": typ + "--" + rootUUID}
	out = []map[string]any{root}
	byID := map[string]map[string]any{}
	setBy := map[string]string{} // a single reference's path: the relation that set it
	for _, t := range terms {
		if t.ref == nil {
			setPath(root, t.prop, jsonValue(t.value))
			continue
		}
		id := t.ref.typ + "--" + t.uuid
		child, ok := byID[id]
		holder := root
		if len(t.prop) > 0 {
			holder = subMap(root, t.prop)
		}
		at := strings.Join(append(append([]string(nil), t.prop...), t.ref.prop), ".")
		if cur, set := holder[t.ref.prop]; !ok && !t.ref.list && set && cur != id && setBy[at] == t.relation && t.relation != "" {
			dropped = true
			continue
		}
		if !ok {
			child = map[string]any{"type": t.ref.typ, "spec_version": "2.1", "id": id}
			byID[id] = child
			out = append(out, child)
			if t.ref.list {
				l, _ := holder[t.ref.prop].([]any)
				holder[t.ref.prop] = append(l, id)
			} else if _, set := holder[t.ref.prop]; !set {
				holder[t.ref.prop] = id
				setBy[at] = t.relation
			}
		}
		setPath(child, t.ref.key, jsonValue(t.value))
	}
	return out, dropped
}

// deterministicIDs gives each observable of scos (the root first, then
// the ones it references) the id STIX 2.1 section 2.9 defines for its
// content, which Parley nodes share between members (one id names one
// value everywhere), in place of misp-stix's attribute uuids: the
// referenced ones first, then, with the references renamed, the root. An
// observable without an ID contributing property keeps its uuid id.
// Observables that end up with the same id (ip-src and ip-dst of one
// address) are returned once, merged as [mergeObservable] says, so the
// result has unique ids in the order of scos.
func deterministicIDs(scos []map[string]any) []map[string]any {
	rename := map[string]string{}
	for i := len(scos) - 1; i >= 0; i-- {
		m := scos[i]
		renameRefs(m, rename)
		var props map[string]any
		b, err := json.Marshal(m)
		if err == nil {
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			err = d.Decode(&props)
		}
		if err != nil {
			continue
		}
		typ, _ := m["type"].(string)
		obj := &stix.Object{Type: typ, Props: props}
		if id, err := stix.DeterministicID(typ, props); err == nil && stix.IsObservable(typ) {
			if u, err := uuid.Parse(strings.TrimPrefix(id, typ+"--")); err != nil || u.Version() == 4 {
				// No ID contributing property (an email-message of an
				// email-attachment alone): STIX gives a random id, so the
				// one made from the MISP uuids stays, and converting the
				// same event again gives the same object.
				continue
			}
			obj.ID = id
			if stix.CheckDeterministicID(obj) == nil {
				rename[m["id"].(string)] = id
				m["id"] = id
			}
		}
	}
	out := scos[:0:0]
	at := map[string]int{}
	for _, m := range scos {
		id, _ := m["id"].(string)
		if i, ok := at[id]; ok {
			out[i], _ = mergeObservable(out[i], m)
			continue
		}
		at[id] = len(out)
		out = append(out, m)
	}
	return out
}

// renameRefs replaces, in the *_ref and *_refs properties of m (at any
// depth), the ids that rename maps.
func renameRefs(m map[string]any, rename map[string]string) {
	for k, v := range m {
		switch x := v.(type) {
		case string:
			if n, ok := rename[x]; ok && (strings.HasSuffix(k, "_ref") || strings.HasSuffix(k, "_refs")) {
				m[k] = n
			}
		case []any:
			if strings.HasSuffix(k, "_refs") {
				for i, r := range x {
					if s, ok := r.(string); ok {
						if n, ok := rename[s]; ok {
							x[i] = n
						}
					}
				}
			}
		case map[string]any:
			renameRefs(x, rename)
		}
	}
}

// jsonValue is v as encoding/json decodes it (integers as json.Number).
func jsonValue(v any) any {
	switch v := v.(type) {
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case float64:
		return json.Number(floatText(v))
	}
	return v
}

// subMap returns the object at path in m, made where it is missing; a
// step that is a list index ("sections", "[1]") names an object of a
// list, which gets empty objects up to it.
func subMap(m map[string]any, path []string) map[string]any {
	for i := 0; i < len(path); i++ {
		p := path[i]
		if i+1 < len(path) && isIndex(path[i+1]) {
			n := index(path[i+1])
			l, _ := m[p].([]any)
			for len(l) <= n {
				l = append(l, map[string]any{})
			}
			m[p] = l
			next, ok := l[n].(map[string]any)
			if !ok {
				next = map[string]any{}
				l[n] = next
			}
			m = next
			i++
			continue
		}
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	return m
}

// setPath sets a nested property. A repeated leaf becomes a list for
// list-valued properties (protocols) and custom ones (x_misp_...: MISP
// objects repeat relations); a defined single-valued property keeps its
// first value.
func setPath(m map[string]any, path []string, v any) {
	holder := subMap(m, path[:len(path)-1])
	leaf := path[len(path)-1]
	if leaf == "protocols" {
		l, _ := holder[leaf].([]any)
		holder[leaf] = append(l, v)
		return
	}
	old, set := holder[leaf]
	switch {
	case !set:
		holder[leaf] = v
	case strings.HasPrefix(leaf, "x_misp_"):
		if l, ok := old.([]any); ok {
			holder[leaf] = append(l, v)
		} else {
			holder[leaf] = []any{old, v}
		}
	}
}

// --- attribute types ---

// hashKeys maps MISP hash attribute types to STIX hash names, as
// misp-stix names them.
var hashKeys = map[string]string{
	"md5": "MD5", "sha1": "SHA-1", "sha224": "SHA-224", "sha256": "SHA-256",
	"sha384": "SHA-384", "sha512": "SHA-512", "sha512/224": "SHA-224",
	"sha512/256": "SHA-256", "sha3-224": "SHA3-224", "sha3-256": "SHA3-256",
	"sha3-384": "SHA3-384", "sha3-512": "SHA3-512", "ssdeep": "SSDEEP",
	"tlsh": "TLSH", "imphash": "IMPHASH", "authentihash": "AUTHENTIHASH",
	"pehash": "PEHASH", "vhash": "VHASH", "telfhash": "TELFHASH",
}

// addrType returns the observable type of an IP address or CIDR.
func addrType(v string) (string, error) {
	if p, err := netip.ParsePrefix(v); err == nil {
		if p.Addr().Is4() {
			return "ipv4-addr", nil
		}
		return "ipv6-addr", nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return "", fmt.Errorf("%q is not an IP address", untrusted.Text(v, maxShown))
	}
	if a.Is4() || a.Is4In6() {
		return "ipv4-addr", nil
	}
	return "ipv6-addr", nil
}

func port(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port", untrusted.Text(v, maxShown))
	}
	return n, nil
}

// ipTerm is an end of a connection: network-traffic:<end>_ref.
func ipTerm(end, v string) (term, error) {
	typ, err := addrType(v)
	if err != nil {
		return term{}, err
	}
	return term{typ: "network-traffic", ref: &ref{prop: end + "_ref", typ: typ, key: []string{"value"}, typed: true}, value: v}, nil
}

func split2(v string) (string, string, error) {
	a, b, ok := strings.Cut(v, "|")
	if !ok {
		return "", "", fmt.Errorf("%q is not a composite value (a|b)", v)
	}
	return a, b, nil
}

func simple(typ string, prop ...string) func(string) ([]term, error) {
	return func(v string) ([]term, error) {
		return []term{{typ: typ, prop: prop, value: v}}, nil
	}
}

// attributeTerms maps a MISP attribute type to the terms of its pattern
// and observables (misp-stix's documented mapping; ports and AS numbers
// are integers here, as the STIX properties are).
var attributeTerms = map[string]func(v string) ([]term, error){
	"domain":   simple("domain-name", "value"),
	"hostname": simple("domain-name", "value"),
	"email":    simple("email-addr", "value"),
	"url":      simple("url", "value"),
	"link":     simple("url", "value"),
	"uri":      simple("url", "value"),
	"mutex":    simple("mutex", "name"),
	"filename": simple("file", "name"),
	// The attachment's content is not in a feed or search result without
	// withAttachments; its name is.
	"attachment": simple("file", "name"),
	"regkey": func(v string) ([]term, error) {
		return []term{{typ: "windows-registry-key", prop: []string{"key"}, value: fullHive(v)}}, nil
	},
	"mac-address": func(v string) ([]term, error) {
		return []term{{typ: "mac-addr", prop: []string{"value"}, value: strings.ToLower(v)}}, nil
	},
	"AS": func(v string) ([]term, error) {
		n, err := strconv.ParseInt(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(v)), "AS"), 10, 64)
		if err != nil || n < 0 || n > 1<<32-1 {
			return nil, fmt.Errorf("%q is not an AS number", v)
		}
		return []term{{typ: "autonomous-system", prop: []string{"number"}, value: n}}, nil
	},
	"ip-src": func(v string) ([]term, error) {
		t, err := ipTerm("src", v)
		return []term{t}, err
	},
	"ip-dst": func(v string) ([]term, error) {
		t, err := ipTerm("dst", v)
		return []term{t}, err
	},
	"ip-src|port": ipPort("src"),
	"ip-dst|port": ipPort("dst"),
	"domain|ip": func(v string) ([]term, error) {
		d, ip, err := split2(v)
		if err != nil {
			return nil, err
		}
		typ, err := addrType(ip)
		if err != nil {
			return nil, err
		}
		return []term{
			{typ: "domain-name", prop: []string{"value"}, value: d},
			{typ: "domain-name", ref: &ref{prop: "resolves_to_refs", list: true, typ: typ, key: []string{"value"}}, value: ip},
		}, nil
	},
	"hostname|port": func(v string) ([]term, error) {
		h, p, err := split2(v)
		if err != nil {
			return nil, err
		}
		n, err := port(p)
		if err != nil {
			return nil, err
		}
		return []term{
			{typ: "network-traffic", ref: &ref{prop: "dst_ref", typ: "domain-name", key: []string{"value"}, typed: true}, value: h},
			{typ: "network-traffic", prop: []string{"dst_port"}, value: n},
		}, nil
	},
	"email-src": func(v string) ([]term, error) {
		return []term{{typ: "email-message", ref: &ref{prop: "from_ref", typ: "email-addr", key: []string{"value"}}, value: v}}, nil
	},
	"email-dst": func(v string) ([]term, error) {
		return []term{{typ: "email-message", ref: &ref{prop: "to_refs", list: true, typ: "email-addr", key: []string{"value"}}, value: v}}, nil
	},
	"email-subject":    simple("email-message", "subject"),
	"email-body":       simple("email-message", "body"),
	"email-message-id": simple("email-message", "message_id"),
	"email-reply-to":   simple("email-message", "additional_header_fields", "Reply-To"),
	"email-x-mailer":   simple("email-message", "additional_header_fields", "X-Mailer"),
	"email-attachment": func(v string) ([]term, error) {
		// body_multipart is a list of MIME parts, not of references; the
		// pattern names the attached file, the observable keeps the name.
		return []term{{typ: "email-message", prop: []string{"x_misp_attachment"}, value: v}}, nil
	},
	"github-username": func(v string) ([]term, error) {
		return []term{
			{typ: "user-account", prop: []string{"account_type"}, value: "github"},
			{typ: "user-account", prop: []string{"account_login"}, value: v},
		}, nil
	},
	"regkey|value": func(v string) ([]term, error) {
		k, d, err := split2(v)
		if err != nil {
			return nil, err
		}
		return []term{
			{typ: "windows-registry-key", prop: []string{"key"}, value: fullHive(k)},
			{typ: "windows-registry-key", prop: []string{"x_misp_value"}, value: d},
		}, nil
	},
	"x509-fingerprint-md5":    simple("x509-certificate", "hashes", "MD5"),
	"x509-fingerprint-sha1":   simple("x509-certificate", "hashes", "SHA-1"),
	"x509-fingerprint-sha256": simple("x509-certificate", "hashes", "SHA-256"),
	"ja3-fingerprint-md5":     simple("network-traffic", "x_misp_ja3_fingerprint_md5"),
	"user-agent": func(v string) ([]term, error) {
		return []term{{typ: "network-traffic", prop: []string{"extensions", "http-request-ext", "request_header", "User-Agent"}, value: v}}, nil
	},
	"size-in-bytes": func(v string) ([]term, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a size", v)
		}
		return []term{{typ: "file", prop: []string{"size"}, value: n}}, nil
	},
	"port": func(v string) ([]term, error) {
		n, err := port(v)
		return []term{{typ: "network-traffic", prop: []string{"dst_port"}, value: n}}, err
	},
}

func ipPort(end string) func(string) ([]term, error) {
	return func(v string) ([]term, error) {
		ip, p, err := split2(v)
		if err != nil {
			return nil, err
		}
		t, err := ipTerm(end, ip)
		if err != nil {
			return nil, err
		}
		n, err := port(p)
		if err != nil {
			return nil, err
		}
		return []term{t, {typ: "network-traffic", prop: []string{end + "_port"}, value: n}}, nil
	}
}

func init() {
	for typ, key := range hashKeys {
		attributeTerms[typ] = simple("file", "hashes", key)
		attributeTerms["filename|"+typ] = func(v string) ([]term, error) {
			name, h, err := split2(v)
			if err != nil {
				return nil, err
			}
			return []term{
				{typ: "file", prop: []string{"name"}, value: name},
				{typ: "file", prop: []string{"hashes", key}, value: h},
			}, nil
		}
	}
	attributeTerms["malware-sample"] = attributeTerms["filename|md5"]
}

// termsOf returns the terms of one attribute, each marked with the
// attribute's uuid and type.
func termsOf(a *Attribute) ([]term, bool, error) {
	f, ok := attributeTerms[a.Type]
	if !ok {
		return nil, false, nil
	}
	ts, err := f(a.Value)
	if err != nil {
		return nil, true, err
	}
	for i := range ts {
		ts[i].uuid = a.UUID
		ts[i].mispType = a.Type
	}
	return ts, true, nil
}

// patternOnly are the attribute types whose terms make no valid
// observable alone (a port without an address): they are indicators
// whatever to_ids says, as misp-stix makes them.
var patternOnly = map[string]bool{"port": true, "size-in-bytes": true, "user-agent": true}

// hives are the abbreviations of registry hives MISP users write; STIX
// wants the hive spelled out.
var hives = map[string]string{
	"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKCR": "HKEY_CLASSES_ROOT",
	"HKU": "HKEY_USERS", "HKCC": "HKEY_CURRENT_CONFIG",
}

// fullHive spells out an abbreviated hive at the start of a key.
func fullHive(k string) string {
	h, rest, _ := strings.Cut(k, `\`)
	if full, ok := hives[strings.ToUpper(h)]; ok {
		if rest == "" {
			return full
		}
		return full + `\` + rest
	}
	return k
}

package match

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/stix"

	"github.com/google/uuid"
)

// stixDecoder reads STIX observed-data: a bundle (every observed-data in
// it is one event whose observables are the bundle's objects named in its
// object_refs), a lone observed-data object of STIX 2.0 with embedded
// "objects", or a JSON array of such values. STIX input is not the hot
// path, so it uses encoding/json.
type stixDecoder struct {
	evs []*Event
}

func (d *stixDecoder) decode(data []byte) ([]*Event, error) {
	var v any
	dec := json.NewDecoder(bytesReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("couldn't parse STIX JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("data after the STIX JSON value")
	}
	d.evs = d.evs[:0]
	if err := d.value(v); err != nil {
		return nil, err
	}
	return d.evs, nil
}

func (d *stixDecoder) value(v any) error {
	switch x := v.(type) {
	case []any:
		for _, o := range x {
			if err := d.value(o); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		switch x["type"] {
		case "bundle":
			objs, _ := x["objects"].([]any)
			pool := map[string]map[string]any{}
			for _, o := range objs {
				if m, ok := o.(map[string]any); ok {
					if id, ok := m["id"].(string); ok {
						pool[id] = m
					}
				}
			}
			for _, o := range objs {
				if m, ok := o.(map[string]any); ok && m["type"] == "observed-data" {
					if err := d.observed(m, pool); err != nil {
						return err
					}
				}
			}
			return nil
		case "observed-data":
			return d.observed(x, nil)
		}
		return fmt.Errorf("a STIX %v object is not observed-data or a bundle", x["type"])
	}
	return errors.New("not a STIX bundle or observed-data object")
}

// observed turns one observed-data object into an event.
func (d *stixDecoder) observed(od map[string]any, pool map[string]map[string]any) error {
	e := &Event{Format: FormatSTIX}
	e.reset()
	e.Format = FormatSTIX
	e.observed = od
	if s, ok := od["first_observed"].(string); ok {
		t, err := parseSTIXTime(s)
		if err != nil {
			return fmt.Errorf("observed-data first_observed: %w", err)
		}
		e.setTime(t)
	}
	ids := map[string]int{}
	if n, ok := od["number_observed"].(json.Number); ok {
		if _, err := n.Int64(); err != nil {
			return fmt.Errorf("observed-data number_observed %v is not an integer", n)
		}
	}
	if refs, ok := od["object_refs"].([]any); ok {
		for _, r := range refs {
			id, _ := r.(string)
			if m, ok := pool[id]; ok {
				if _, dup := ids[id]; !dup {
					ids[id] = len(e.Objects)
					t, _ := m["type"].(string)
					e.Objects = append(e.Objects, Object{Type: t, raw: m})
				}
			}
		}
	} else if objs, ok := od["objects"].(map[string]any); ok {
		// STIX 2.0: keys of the objects dictionary are the reference names.
		for k, o := range objs {
			if m, ok := o.(map[string]any); ok {
				ids[k] = len(e.Objects)
				t, _ := m["type"].(string)
				e.Objects = append(e.Objects, Object{Type: t, raw: m})
			}
		}
	}
	for i := range e.Objects {
		e.fieldsFromSCO(i, ids)
	}
	d.evs = append(d.evs, e)
	return nil
}

// fieldsFromSCO extracts the known attributes of object i so that the
// index can find it; the object itself stays as given for the evaluator.
func (e *Event) fieldsFromSCO(i int, ids map[string]int) {
	o := e.Objects[i]
	for a := Attr(1); a < numAttrs; a++ {
		in := attrInfos[a]
		if in.typ != o.Type {
			continue
		}
		vals := lookupPath(o.raw, in.path)
		for _, v := range vals {
			switch in.kind {
			case vkRef, vkRefs:
				if s, ok := v.(string); ok {
					if j, ok := ids[s]; ok {
						e.addRef(i, a, j)
					}
				}
			case vkNumber:
				if n, ok := v.(json.Number); ok {
					if b, ok := normInt([]byte(n)); ok {
						e.add(i, a, b)
					}
				}
			default:
				if s, ok := v.(string); ok {
					if b, ok := e.normalizeAttr(a, []byte(s)); ok {
						e.add(i, a, b)
					}
				}
			}
		}
	}
}

// normalizeAttr normalises a value of attribute a as the decoders do.
func (e *Event) normalizeAttr(a Attr, v []byte) ([]byte, bool) {
	switch a {
	case AttrIPv4, AttrIPv6:
		n, v6, ok := e.normIP(v)
		if !ok || v6 != (a == AttrIPv6) {
			return nil, false
		}
		return n, true
	case AttrDomain:
		return e.normDomain(v)
	case AttrURL:
		return e.normURL(v)
	case AttrEmail:
		return e.normEmail(v)
	case AttrFileMD5, AttrFileSHA1, AttrFileSHA256, AttrX509MD5, AttrX509SHA1, AttrX509SHA256:
		return e.normHex(v, hexLen(a))
	case AttrProtocol:
		return e.lower(v), true
	case AttrMAC:
		n, err := normalizeMACText(string(v))
		return []byte(n), err == nil
	case AttrSrcPort, AttrDstPort, AttrFileSize:
		return normInt(v)
	case AttrX509Serial:
		// as the log decoders (x509Serial) and indicator literals
		// (normalizeValue) have it, or an observation's serial in any
		// other form matched no indicator, not even one copying it
		start := len(e.arena)
		e.arena = appendSerial(e.arena, v)
		return e.arena[start:len(e.arena):len(e.arena)], true
	}
	return e.save(v), true
}

// lookupPath returns the values at path below m; "*" walks every element
// of a list; a list at the end of the path yields its elements.
func lookupPath(m map[string]any, path []string) []any {
	cur := []any{m}
	for _, p := range path {
		var next []any
		for _, c := range cur {
			switch x := c.(type) {
			case map[string]any:
				if v, ok := x[p]; ok {
					next = append(next, v)
				}
			case []any:
				if p == "*" {
					next = append(next, x...)
				}
			}
		}
		cur = next
	}
	var out []any
	for _, c := range cur {
		if l, ok := c.([]any); ok {
			out = append(out, l...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// Observation returns the event as STIX: an observed-data object and the
// SCOs it refers to, with deterministic ids, as the pattern evaluator and
// the --observed-data output take them. Events decoded from STIX return
// their objects as given. The maps are new on every call.
func (e *Event) Observation() (observed map[string]any, scos []map[string]any) {
	if e.observed != nil {
		scos = make([]map[string]any, len(e.Objects))
		for i, o := range e.Objects {
			scos[i] = o.raw
		}
		return e.observed, scos
	}
	scos = make([]map[string]any, len(e.Objects))
	for i, o := range e.Objects {
		scos[i] = map[string]any{"type": o.Type, "spec_version": "2.1"}
	}
	for _, f := range e.Fields {
		in := attrInfos[f.Attr]
		m := scos[f.Obj]
		for _, p := range in.path[:len(in.path)-1] {
			if p == "*" {
				break
			}
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		last := in.path[len(in.path)-1]
		switch in.kind {
		case vkString:
			m[last] = string(f.Value)
		case vkNumber:
			n, _ := strconv.ParseInt(string(f.Value), 10, 64)
			m[last] = n
		case vkList:
			key := in.path[len(in.path)-2]
			l, _ := scos[f.Obj][key].([]any)
			scos[f.Obj][key] = append(l, string(f.Value))
		case vkRef:
			m[last] = f.Ref
		case vkRefs:
			l, _ := m[last].([]any)
			m[last] = append(l, f.Ref)
		}
	}
	// Identifiers: deterministic UUIDv5 ids (STIX 2.1 section 2.9) once
	// the properties are known. Referenced objects (addresses) have no
	// references themselves, so they get their ids in the first pass and
	// the referring objects, whose ids cover the references, in the second.
	ids := make([]string, len(scos))
	hasRefs := make([]bool, len(scos))
	for _, f := range e.Fields {
		if k := attrInfos[f.Attr].kind; k == vkRef || k == vkRefs {
			hasRefs[f.Obj] = true
		}
	}
	for pass := 0; pass < 2; pass++ {
		for i, m := range scos {
			if hasRefs[i] != (pass == 1) {
				continue
			}
			for k, v := range m {
				if !isRefKey(k) {
					continue
				}
				switch x := v.(type) {
				case int:
					m[k] = ids[x]
				case []any:
					for j, r := range x {
						if ri, ok := r.(int); ok {
							x[j] = ids[ri]
						}
					}
				}
			}
			ids[i] = scoID(e.Objects[i].Type, m)
			m["id"] = ids[i]
		}
	}
	refs := make([]any, len(scos))
	for i := range scos {
		refs[i] = ids[i]
	}
	t := e.Time()
	if t.IsZero() {
		t = time.Unix(0, 0).UTC()
	}
	ts := formatSTIXTime(t)
	observed = map[string]any{
		"type":            "observed-data",
		"spec_version":    "2.1",
		"first_observed":  ts,
		"last_observed":   ts,
		"number_observed": 1,
		"object_refs":     refs,
	}
	return observed, scos
}

func isRefKey(k string) bool {
	n := len(k)
	return n > 4 && k[n-4:] == "_ref" || n > 5 && k[n-5:] == "_refs"
}

// scoNamespace is the STIX 2.1 section 2.9 namespace, used here for objects
// whose type has no ID contributing property present, so that the same
// event always gets the same ids (the spec would give a random UUIDv4).
var scoNamespace = uuid.MustParse("00abedb4-aa42-466c-9c01-fed23315a9b7")

func scoID(typ string, m map[string]any) string {
	props := make(map[string]any, len(m))
	names := contributing(typ)
	for k, v := range m {
		if names[k] {
			if k == "hashes" {
				v = preferredHash(v)
			}
			props[k] = v
		}
	}
	if len(props) > 0 {
		// The id section 2.9 defines, exactly as the node checks it: over
		// the properties as JSON decodes them (the decoders build Go
		// slices and maps of other types).
		var decoded map[string]any
		b, err := json.Marshal(props)
		if err == nil {
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			err = d.Decode(&decoded)
		}
		if err == nil {
			if id, err := stix.DeterministicID(typ, decoded); err == nil {
				return id
			}
		}
	}
	v4 := false
	if len(props) == 0 {
		// No ID contributing property: section 2.9 makes the id a UUIDv4
		// (and a node refuses a UUIDv5 there); its random bits are a hash
		// of all properties instead, so that the same event keeps its ids.
		v4 = true
		for k, v := range m {
			if k != "type" && k != "spec_version" && k != "id" {
				props[k] = v
			}
		}
	}
	// encoding/json sorts map keys, and for the strings, integers and
	// lists the decoders produce its output is the RFC 8785 canonical form
	// section 2.9 asks for (it escapes <, > and & differently, which only
	// changes ids of values holding them).
	b, _ := json.Marshal(props)
	u := uuid.NewSHA1(scoNamespace, b)
	if v4 {
		u[6] = u[6]&0x0f | 0x40
	}
	return typ + "--" + u.String()
}

// preferredHash keeps the one hash section 2.9 lets contribute to an id.
func preferredHash(v any) any {
	h, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for _, alg := range []string{"MD5", "SHA-1", "SHA-256", "SHA-512"} {
		if hv, ok := h[alg]; ok {
			return map[string]any{alg: hv}
		}
	}
	return v
}

// contributing returns the ID contributing properties (STIX 2.1 section
// 6) of the types the decoders produce.
func contributing(typ string) map[string]bool {
	var names []string
	switch typ {
	case "network-traffic":
		names = []string{"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"}
	case "email-message":
		names = []string{"from_ref", "subject", "body"}
	case "file":
		names = []string{"hashes", "name", "extensions", "parent_directory_ref"}
	case "x509-certificate":
		names = []string{"hashes", "serial_number"}
	default:
		names = []string{"value"}
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// parseSTIXTime parses a STIX timestamp (RFC 3339 in UTC with "Z").
func parseSTIXTime(s string) (time.Time, error) {
	if len(s) < 20 || s[10] != 'T' || s[len(s)-1] != 'Z' {
		return time.Time{}, fmt.Errorf("%q is not a STIX timestamp", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a STIX timestamp", s)
	}
	return t.UTC(), nil
}

// formatSTIXTime writes t in UTC with at least millisecond precision, as
// STIX 2.1 section 3.2 requires for created and modified.
func formatSTIXTime(t time.Time) string {
	s := t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000000")
	end := len(s)
	for end > len(s)-6 && s[end-1] == '0' {
		end--
	}
	return s[:end] + "Z"
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func normalizeMACText(s string) (string, error) {
	return private.Normalize(private.TypeMAC, s)
}

// shareable returns copies of an event's observed-data and SCOs (from
// [Event.Observation], before the observed-data has its id) completed into
// objects that STIX 2.1, and so a node, accepts: a log names less than
// some types require. An email-message without is_multipart (required,
// with no default; a log does not say, and a mail with attachments is
// multipart) is left out, not signed as false; a network-traffic without
// protocols (Zeek's http, ssl, smtp, ftp logs … have no proto field) gets
// the network layer of its addresses (ipv4 or ipv6), and http where it
// has an HTTP request; an http-request-ext without its required method
// or request line is left out (its other properties with it), a
// network-traffic with neither address and a file with neither name nor
// hashes are left out, and references to what was left out with them.
// Ids are worked out again where the contributing properties changed.
// left is how many observables were left out. ok is false when none is
// left (the observed-data would refer to none, which STIX forbids).
// Matching uses the objects as they were.
func shareable(od map[string]any, scos []map[string]any) (_ map[string]any, _ []map[string]any, left int, ok bool) {
	typeOf := make(map[string]string, len(scos))
	for _, m := range scos {
		if id, ok := m["id"].(string); ok {
			typeOf[id], _ = m["type"].(string)
		}
	}
	dropped := map[string]bool{}
	out := make([]map[string]any, 0, len(scos))
	for _, m := range scos {
		c := make(map[string]any, len(m)+1)
		for k, v := range m {
			c[k] = v
		}
		id, _ := c["id"].(string)
		switch c["type"] {
		case "email-message":
			if _, ok := c["is_multipart"]; !ok {
				// Required, with no default, and a log does not say
				// (a mail with attachments is multipart): left out
				// rather than signed as false.
				dropped[id] = true
				continue
			}
		case "file":
			if c["hashes"] == nil && c["name"] == nil {
				dropped[id] = true
				continue
			}
		case "network-traffic":
			src, _ := c["src_ref"].(string)
			dst, _ := c["dst_ref"].(string)
			if src == "" && dst == "" {
				dropped[id] = true
				continue
			}
			http := false
			if exts, ok := c["extensions"].(map[string]any); ok {
				if h, ok := exts["http-request-ext"].(map[string]any); ok {
					if h["request_method"] == nil || h["request_value"] == nil {
						rest := make(map[string]any, len(exts))
						for k, v := range exts {
							if k != "http-request-ext" {
								rest[k] = v
							}
						}
						if len(rest) == 0 {
							delete(c, "extensions")
						} else {
							c["extensions"] = rest
						}
					} else {
						http = true
					}
				}
			}
			if _, ok := c["protocols"]; !ok {
				var protos []any
				for _, r := range []string{src, dst} {
					var p string
					switch typeOf[r] {
					case "ipv4-addr":
						p = "ipv4"
					case "ipv6-addr":
						p = "ipv6"
					}
					if p != "" && (len(protos) == 0 || protos[0] != p) {
						protos = append(protos, p)
					}
				}
				if len(protos) > 1 {
					// Both layers named (an IPv4-mapped peer): neither is
					// the outer one; say nothing of the network layer.
					protos = nil
				}
				if http {
					protos = append(protos, "http")
				}
				if len(protos) == 0 {
					// No protocol named or implied: a network-traffic
					// without one is not STIX.
					dropped[id] = true
					continue
				}
				c["protocols"] = protos
			}
		}
		out = append(out, c)
	}
	// References to what was left out go; the ids of referring objects
	// are worked out again (referenced objects refer to none, as in
	// Observation, and keep theirs unless changed above).
	renamed := map[string]string{}
	hasRefs := make([]bool, len(out))
	for i, c := range out {
		for k := range c {
			hasRefs[i] = hasRefs[i] || isRefKey(k)
		}
	}
	for pass := 0; pass < 2; pass++ {
		for i, c := range out {
			for k, v := range c {
				if !isRefKey(k) {
					continue
				}
				switch x := v.(type) {
				case string:
					if dropped[x] {
						delete(c, k)
					} else if n, ok := renamed[x]; ok {
						c[k] = n
					}
				case []any:
					var l []any
					for _, r := range x {
						s, _ := r.(string)
						if dropped[s] {
							continue
						}
						if n, ok := renamed[s]; ok {
							r = n
						}
						l = append(l, r)
					}
					if len(l) == 0 {
						delete(c, k)
					} else {
						c[k] = l
					}
				}
			}
			if hasRefs[i] != (pass == 1) {
				continue
			}
			old, _ := c["id"].(string)
			typ, _ := c["type"].(string)
			if id := scoID(typ, c); id != old {
				c["id"] = id
				renamed[old] = id
			}
		}
	}
	if len(out) == 0 {
		return nil, nil, len(dropped), false
	}
	o := make(map[string]any, len(od))
	for k, v := range od {
		o[k] = v
	}
	refs := make([]any, len(out))
	for i, c := range out {
		refs[i] = c["id"]
	}
	o["object_refs"] = refs
	return o, out, len(dropped), true
}

// nodeChecks is the STIX 2.1 validation a node makes of a pushed object.
var nodeChecks stix.Validator

// nodeAccepts reports whether a node's checks of an object's content
// (STIX 2.1 validation, and the deterministic id of an observable) pass
// for every one of objs.
func nodeAccepts(objs []map[string]any) bool {
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return false
		}
		so, err := stix.Parse(b)
		if err == nil {
			err = nodeChecks.Validate(so)
		}
		if err == nil {
			err = stix.CheckDeterministicID(so)
		}
		if err != nil {
			return false
		}
	}
	return true
}

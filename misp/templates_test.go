package misp

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/stix"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// newTemplates are the object templates mapped since misp-stix's
// documented examples of them (testdata/misp_objects_to_stix21.json)
// were listed as unsupported.
var newTemplates = []string{"android-app", "artifact", "credential", "directory", "facebook-account", "github-user", "gitlab-user", "http-request",
	"network-socket", "parler-account", "reddit-account", "telegram-account", "twitter-account", "lnk", "image", "netflow"}

// docObject returns the MISP object misp-stix documents under name, with
// its STIX 2.1 form.
func docObject(t *testing.T, name string) (Object, mispStixDoc) {
	t.Helper()
	d, ok := loadDoc(t, "misp_objects_to_stix21.json")[name]
	if !ok {
		t.Fatalf("no %s in misp-stix's mapping", name)
	}
	var o Object
	if err := json.Unmarshal(d.MISP, &o); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return o, d
}

// withToIDs returns o with to_ids of every attribute set as toIDs says
// (nil: as the document has it).
func withToIDs(o Object, toIDs *bool) Object {
	o.Attribute = append([]Attribute(nil), o.Attribute...)
	if toIDs != nil {
		for i := range o.Attribute {
			o.Attribute[i].ToIDs = Bool(*toIDs)
		}
	}
	return o
}

// TestNewTemplatesAgainstMispStix converts misp-stix's documented
// objects of the templates in newTemplates, which were listed as
// unsupported: with their to_ids, the indicator compares what
// misp-stix's pattern compares; without, the observable has the
// properties of misp-stix's, the same values, except the documented
// differences (an artifact's payload and a profile image, which feeds do
// not carry; the deterministic ids; a boolean x_misp_human is the
// attribute's value, "false").
func TestNewTemplatesAgainstMispStix(t *testing.T) {
	no := false
	for _, name := range newTemplates {
		o, d := docObject(t, name)
		ind := d.first("indicator")
		root := d.first(templates[name].root)
		if ind == nil || root == nil {
			t.Fatalf("%s: misp-stix's document has no indicator or %s", name, templates[name].root)
		}

		objs, unsupp := convertOne(t, event(nil, []Object{withToIDs(o, nil)}), Options{})
		got := objs["indicator--"+o.UUID]
		if got == nil {
			t.Errorf("%s: no indicator; unsupported %v", name, unsupp)
			continue
		}
		comparisons := func(p string) string {
			c := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "["), "]"), " AND ")
			sort.Strings(c)
			return strings.Join(c, "\n")
		}
		wantPattern := ind["pattern"].(string)
		if p, ok := patternDeviations[name]; ok {
			wantPattern = p
		}
		if g, w := comparisons(got["pattern"].(string)), comparisons(wantPattern); g != w {
			t.Errorf("%s: pattern\n got  %s\n want %s (misp-stix)", name, got["pattern"], ind["pattern"])
		}
		if err := validator.Validate(mustParse(t, got)); err != nil {
			t.Errorf("%s: %v", name, err)
		}

		objs, unsupp = convertOne(t, event(nil, []Object{withToIDs(o, &no)}), Options{})
		for _, u := range unsupp {
			if u.Kind != "comment" && u.Kind != "attachment" {
				t.Errorf("%s: unsupported %v", name, u)
			}
		}
		sco := observableOf(t, objs, "observed-data--"+o.UUID, root["type"].(string))
		if sco == nil {
			t.Errorf("%s: no %s observable", name, root["type"])
			continue
		}
		want := map[string]any{}
		for k, v := range root {
			switch k {
			case "id", "payload_bin":
				continue // deterministic ids; the payload is not in feeds
			}
			if a, ok := v.(map[string]any); ok && a["data"] != nil {
				continue // an attachment's payload (a profile image)
			}
			if b, ok := v.(bool); ok && strings.HasPrefix(k, "x_misp_") {
				v = fmt.Sprint(b) // x_misp_<relation> holds the attribute's value as MISP writes it
			}
			want[k] = v
		}
		if fix := observableDeviations[name]; fix != nil {
			fix(want)
		}
		// References compare by the value of what they name: the ids are
		// the deterministic ones, not misp-stix's.
		theirs := map[string]map[string]any{}
		for _, r := range d.STIX {
			var o map[string]any
			if json.Unmarshal(r, &o) == nil {
				theirs[fmt.Sprint(o["id"])] = o
			}
		}
		for i, m := range []map[string]any{want, sco} {
			objs := objs
			if i == 0 {
				objs = theirs
			}
			for k, v := range m {
				if id, ok := v.(string); ok && strings.HasSuffix(k, "_ref") && objs[id] != nil {
					m[k] = objs[id]["value"]
				}
			}
		}
		delete(sco, "id")
		for _, k := range []string{"ctime", "mtime", "atime", "start", "end"} {
			// misp-stix writes whole seconds without a fraction.
			if g, ok := sco[k].(string); ok {
				if ts, err := time.Parse(time.RFC3339Nano, g); err == nil {
					sco[k] = ts.UTC().Format(time.RFC3339)
				}
			}
		}
		if g, w := jsonText(sco), jsonText(want); g != w {
			t.Errorf("%s: observable\n got  %s\n want %s (misp-stix)", name, g, w)
		}
	}
}

// patternDeviations are the patterns Parley writes where misp-stix's
// differ, as the package documentation says: the address and host name
// of a destination, both its dst_ref, are ORed (ANDed, no observable
// satisfies them).
var patternDeviations = map[string]string{
	// The sample's payload (malware-sample) is not in feeds, as a file's
	// is not: misp-stix compares its artifact's.
	"lnk": "[file:name = 'oui' AND file:hashes.MD5 = '8764605c6f388c89096b534d33565802' AND " +
		"file:hashes.'SHA-1' = '46aba99aa7158e4609aaa72b50990842fd22ae86' AND " +
		"file:hashes.'SHA-256' = 'ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b']",
	// The URL is x_misp_url: an artifact of a url needs its content's
	// hashes (STIX 2.1), and the attachment is not in feeds.
	"image": "[file:name = 'STIX.png' AND file:x_misp_url = 'https://oasis-open.github.io/cti-documentation/img/STIX.png']",
	// The full URL is x_misp_url, as in misp-stix's observable: misp-stix's
	// pattern compares request_value with the URI and the URL, ANDed,
	// which no request satisfies.
	"http-request": "[(network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '8.8.8.8') AND " +
		"((network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '149.13.33.14') OR " +
		"(network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'circl.lu')) AND " +
		"network-traffic:extensions.'http-request-ext'.request_value = '/projects/internships/' AND " +
		"network-traffic:x_misp_url = 'http://circl.lu/projects/internships/']",
	"network-socket": "[(network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '1.2.3.4') AND " +
		"((network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '5.6.7.8') OR " +
		"(network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'circl.lu'))]",
}

// observableDeviations turn misp-stix's observable into Parley's, as the
// package documentation says.
var observableDeviations = map[string]func(map[string]any){
	"netflow": func(m map[string]any) {
		// tcp for the TCP flags after the protocol the object gives
		// (from the outermost layer in, as STIX lists them); misp-stix
		// writes it first.
		m["protocols"] = []any{"ip", "tcp"}
		// The autonomous systems stay x_misp_<relation>, not the
		// addresses' belongs_to_refs (not ID contributing).
		m["x_misp_src_as"], m["x_misp_dst_as"] = "1234", "5678"
	},
	"lnk": func(m map[string]any) {
		delete(m, "content_ref") // the sample, not in feeds
	},
	"image": func(m map[string]any) {
		delete(m, "content_ref") // the attachment, not in feeds
		m["x_misp_url"] = "https://oasis-open.github.io/cti-documentation/img/STIX.png"
	},
	"network-socket": func(m map[string]any) {
		// The host name stands beside the address that dst_ref holds (a
		// domain-name of its own), as a network-connection's does.
		delete(m, "x_misp_hostname_dst")
	},
}

func mustParse(t *testing.T, m map[string]any) *stix.Object {
	t.Helper()
	o, err := stix.Parse([]byte(jsonText(m)))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestNewTemplatesGolden writes the whole conversion of each new
// template's documented object (with misp-stix's to_ids, then with none)
// and compares it with testdata/golden/object_<name>.json (-update
// rewrites them). A second conversion by a new converter gives the same
// objects and versions, so a second import of the event adds nothing and
// conflicts with nothing.
func TestNewTemplatesGolden(t *testing.T) {
	no := false
	for _, name := range newTemplates {
		o, _ := docObject(t, name)
		var out bytes.Buffer
		for _, toIDs := range []*bool{nil, &no} {
			ev := event(nil, []Object{withToIDs(o, toIDs)})
			first := NewConverter(Options{}).Convert(ev)
			again := NewConverter(Options{}).Convert(ev)
			if jsonText(first.Objects) != jsonText(again.Objects) || strings.Join(first.Keys, ",") != strings.Join(again.Keys, ",") {
				t.Errorf("%s: a second conversion differs", name)
			}
			for _, raw := range first.Objects {
				o, err := stix.Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				if err := validator.Validate(o); err != nil {
					t.Errorf("%s: invalid %s: %v", name, raw, err)
				}
				out.Write(raw)
				out.WriteByte('\n')
			}
		}
		file := "testdata/golden/object_" + name + ".json"
		if *update {
			if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (go test -run TestNewTemplatesGolden -update writes it)", err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s: the conversion differs from %s:\n%s", name, file, out.Bytes())
		}
	}
}

// TestNewTemplatesExportImportBack: a feed export of the new templates'
// indicators and observed-data (with misp-stix's to_ids, none and all)
// imports back as the same, in MISP's terms (a directory's times come
// back as MISP datetimes, not as the t'...' literals of the pattern).
func TestNewTemplatesExportImportBack(t *testing.T) {
	no, yes := false, true
	var objects []Object
	for _, name := range newTemplates {
		o, _ := docObject(t, name)
		objects = append(objects, withToIDs(o, nil))
		od := withToIDs(o, &no)
		od.UUID = uuidV5("observed " + o.UUID)
		all := withToIDs(o, &yes)
		all.UUID = uuidV5("all " + o.UUID)
		objects = append(objects, od, all)
	}
	ev := event(nil, objects)
	objs, _ := stixOf(t, Options{}, ev)
	dir := t.TempDir()
	if err := WriteFeed(dir, FeedFromSTIX(objs, EventFor("test"))); err != nil {
		t.Fatal(err)
	}
	back := loadFeedEvent(t, dir, ev.UUID)
	for _, o := range back.Object {
		for _, a := range o.Attribute {
			if a.ObjectRelation == "creation-time" && a.Value != "2021-10-25T16:22:00.000Z" {
				t.Errorf("object %s: creation-time %q, want the datetime", o.UUID, a.Value)
			}
		}
	}
	again, _ := stixOf(t, Options{}, back)
	first := map[string]int{}
	for i, o := range objs {
		first[o.ID] = i
	}
	n := 0
	for _, b := range again {
		if b.Type != "indicator" && b.Type != "observed-data" {
			continue
		}
		if i, ok := first[b.ID]; ok && b.Type == "indicator" && b.Props["pattern"] != objs[i].Props["pattern"] {
			t.Errorf("%s: pattern %s, was %s", b.ID, b.Props["pattern"], objs[i].Props["pattern"])
		}
		if i, ok := first[b.ID]; ok && b.Type == "observed-data" {
			// The observables come back whole (a socket's socket-ext
			// too), under the same deterministic ids (in another order:
			// the feed writes the properties sorted).
			sorted := func(v any) string {
				l := stringList(v)
				sort.Strings(l)
				return strings.Join(l, " ")
			}
			if g, w := sorted(b.Props["object_refs"]), sorted(objs[i].Props["object_refs"]); g != w {
				t.Errorf("%s: observables %s, were %s", b.ID, g, w)
			}
		}
		i, ok := first[b.ID]
		if !ok {
			t.Errorf("%s is new", b.ID)
			continue
		}
		n++
		if !SameInMISP(objs[i], b, again...) {
			t.Errorf("%s is not the same:\n%s\n%s", b.ID, objs[i].Raw, b.Raw)
		}
	}
	if n != 3*len(newTemplates) {
		t.Errorf("compared %d, want %d", n, 3*len(newTemplates))
	}
}

// TestObjectDatetimes: a MISP datetime with a time zone is a STIX
// timestamp, compared as one (t'...') in a pattern; one without a zone
// names no instant and stays x_misp_<relation>, as does a path encoding
// that is no character set name.
func TestObjectDatetimes(t *testing.T) {
	attr := func(rel, typ, v string) Attribute {
		return Attribute{UUID: uuidV5(rel + v), ObjectRelation: rel, Type: typ, Value: v, ToIDs: true, Category: "Other"}
	}
	for _, tc := range []struct {
		value, want string
	}{
		{"2021-10-25T16:22:00+00:00", `directory:ctime = t'2021-10-25T16:22:00.000Z'`},
		{"2021-10-25T18:22:00.5+02:00", `directory:ctime = t'2021-10-25T16:22:00.500Z'`},
		{"2021-10-25 16:22:00+0000", `directory:ctime = t'2021-10-25T16:22:00.000Z'`},
		{"2021-10-25T16:22:00", `directory:x_misp_creation_time = '2021-10-25T16:22:00'`},
		{"yesterday", `directory:x_misp_creation_time = 'yesterday'`},
	} {
		o := Object{UUID: "5f8a2b1c-3d4e-4f6a-8b9c-0d1e2f3a4b5c", Name: "directory", Attribute: []Attribute{
			attr("path", "text", "/tmp"), attr("creation-time", "datetime", tc.value)}}
		objs, unsupp := convertOne(t, event(nil, []Object{o}), Options{})
		ind := objs["indicator--"+o.UUID]
		if ind == nil {
			t.Errorf("%s: no indicator: %v", tc.value, unsupp)
			continue
		}
		if want := "[directory:path = '/tmp' AND " + tc.want + "]"; ind["pattern"] != want {
			t.Errorf("%s: %s, want %s", tc.value, ind["pattern"], want)
		}
	}
	o := Object{UUID: "5f8a2b1c-3d4e-4f6a-8b9c-0d1e2f3a4b5c", Name: "directory", Attribute: []Attribute{
		attr("path", "text", "/tmp"), attr("path-encoding", "text", "UTF 8 (unix)"), attr("creation-time", "datetime", "2021-10-25T16:22:00")}}
	o.Attribute[1].ToIDs, o.Attribute[2].ToIDs = false, false
	o.Attribute[0].ToIDs = false
	objs, _ := convertOne(t, event(nil, []Object{o}), Options{})
	dir := observableOf(t, objs, "observed-data--"+o.UUID, "directory")
	if dir == nil || dir["x_misp_path_encoding"] != "UTF 8 (unix)" || dir["x_misp_creation_time"] != "2021-10-25T16:22:00" || dir["path_enc"] != nil || dir["ctime"] != nil {
		t.Errorf("directory %v", dir)
	}
}

// TestSocketExtension: a network-socket's address family and socket type
// are its socket-ext's where they are STIX's values; the socket type
// needs the address family, which STIX requires of a socket-ext, and
// stays x_misp_socket_type without it, as does a family STIX does not
// name (AF_UNIX).
func TestSocketExtension(t *testing.T) {
	attr := func(rel, typ, v string) Attribute {
		return Attribute{UUID: uuidV5(rel + v), ObjectRelation: rel, Type: typ, Value: v, Category: "Network activity"}
	}
	for _, tc := range []struct {
		attrs []Attribute
		want  string
	}{
		{[]Attribute{attr("address-family", "text", "AF_INET6"), attr("socket-type", "text", "SOCK_STREAM")},
			`"extensions":{"socket-ext":{"address_family":"AF_INET6","socket_type":"SOCK_STREAM"}}`},
		{[]Attribute{attr("socket-type", "text", "SOCK_STREAM")}, `"x_misp_socket_type":"SOCK_STREAM"`},
		{[]Attribute{attr("address-family", "text", "AF_UNIX"), attr("socket-type", "text", "SOCK_DGRAM")},
			`"x_misp_address_family":"AF_UNIX","x_misp_socket_type":"SOCK_DGRAM"`},
		{[]Attribute{attr("socket-type", "text", "SOCK_BIG"), attr("address-family", "text", "AF_INET")},
			`"extensions":{"socket-ext":{"address_family":"AF_INET"}},`},
		{[]Attribute{attr("protocol", "text", "UDP")}, `"protocols":["udp"]`},
	} {
		o := Object{UUID: "5afb3223-0988-4ef1-a920-02070a00020f", Name: "network-socket",
			Attribute: append([]Attribute{attr("ip-dst", "ip-dst", "5.6.7.8")}, tc.attrs...)}
		objs, unsupp := convertOne(t, event(nil, []Object{o}), Options{})
		sco := observableOf(t, objs, "observed-data--"+o.UUID, "network-traffic")
		if sco == nil {
			t.Errorf("%v: no network-traffic: %v", tc.attrs, unsupp)
			continue
		}
		if !strings.Contains(jsonText(sco), tc.want) {
			t.Errorf("%s, want %s in it", jsonText(sco), tc.want)
		}
	}
	// A pattern may compare the socket type alone (to_ids on it, not
	// on the address family, or none at all).
	o := Object{UUID: "5afb3223-0988-4ef1-a920-02070a00020f", Name: "network-socket", Attribute: []Attribute{
		attr("ip-dst", "ip-dst", "5.6.7.8"), attr("socket-type", "text", "SOCK_RAW")}}
	o.Attribute[1].ToIDs = true
	objs, _ := convertOne(t, event(nil, []Object{o}), Options{})
	if ind := objs["indicator--"+o.UUID]; ind == nil || ind["pattern"] != "[network-traffic:extensions.'socket-ext'.socket_type = 'SOCK_RAW']" {
		t.Errorf("indicator %v", ind)
	}
}

// TestNewTemplatesMatchTheirObservation: the indicator of an object with
// every attribute to_ids matches the observed-data of the same object
// without to_ids (a STIX matcher evaluating the pattern over the
// observables): a directory's times compare as timestamps, a socket's
// protocols element by element (protocols[*]), its extension by path.
func TestNewTemplatesMatchTheirObservation(t *testing.T) {
	no, yes := false, true
	for _, name := range newTemplates {
		o, _ := docObject(t, name)
		ind, _ := convertOne(t, event(nil, []Object{withToIDs(o, &yes)}), Options{})
		p, _ := ind["indicator--"+o.UUID]["pattern"].(string)
		if p == "" {
			t.Errorf("%s: no indicator", name)
			continue
		}
		res := NewConverter(Options{}).Convert(event(nil, []Object{withToIDs(o, &no)}))
		data := []byte("[" + string(bytes.Join(asBytes(res.Objects), []byte(","))) + "]")
		r, err := pattern.MatchJSON(p, data)
		if err != nil || !r.Matched {
			t.Errorf("%s: %s does not match its observation (%v):\n%s", name, p, err, data)
		}
	}
}

func asBytes(raws []json.RawMessage) [][]byte {
	out := make([][]byte, len(raws))
	for i, r := range raws {
		out[i] = r
	}
	return out
}

// TestHTTPRequestExtension: an http-request's method, URI and headers are
// its http-request-ext's when it has both the method and the URI, which
// the extension requires; otherwise the observable keeps them as
// x_misp_<relation> (a pattern compares the URI all the same).
func TestHTTPRequestExtension(t *testing.T) {
	attr := func(rel, typ, v string) Attribute {
		return Attribute{UUID: uuidV5(rel + v), ObjectRelation: rel, Type: typ, Value: v, Category: "Network activity"}
	}
	for _, tc := range []struct {
		attrs []Attribute
		want  string
	}{
		{[]Attribute{attr("method", "http-method", "GET"), attr("uri", "uri", "/a"), attr("user-agent", "user-agent", "curl/8")},
			`"extensions":{"http-request-ext":{"request_header":{"User-Agent":"curl/8"},"request_method":"GET","request_value":"/a"}},"id":`},
		{[]Attribute{attr("uri", "uri", "/a"), attr("user-agent", "user-agent", "curl/8")},
			`"protocols":["tcp"],"spec_version":"2.1","type":"network-traffic","x_misp_uri":"/a","x_misp_user_agent":"curl/8"`},
		{[]Attribute{attr("method", "http-method", "GET"), attr("url", "url", "http://x.example/a")},
			`"protocols":["tcp"],"spec_version":"2.1","type":"network-traffic","x_misp_method":"GET","x_misp_url":"http://x.example/a"`},
	} {
		o := Object{UUID: "cfdb71ed-889f-4646-a388-43d936e1e3b9", Name: "http-request",
			Attribute: append([]Attribute{attr("ip", "ip-dst", "149.13.33.14")}, tc.attrs...)}
		objs, unsupp := convertOne(t, event(nil, []Object{o}), Options{})
		sco := observableOf(t, objs, "observed-data--"+o.UUID, "network-traffic")
		if sco == nil {
			t.Errorf("%v: no network-traffic: %v", tc.attrs, unsupp)
			continue
		}
		if !strings.Contains(jsonText(sco), tc.want) {
			t.Errorf("%s, want %s in it", jsonText(sco), tc.want)
		}
		if _, ext := sco["extensions"]; ext != (jsonText(sco["protocols"]) == `["tcp","http"]`) {
			t.Errorf("protocols %s", jsonText(sco["protocols"]))
		}
		o.Attribute[1].ToIDs = true
		objs, _ = convertOne(t, event(nil, []Object{o}), Options{})
		if ind := objs["indicator--"+o.UUID]; ind == nil || !strings.Contains(ind["pattern"].(string), "'http-request-ext'") && o.Attribute[1].ObjectRelation != "url" {
			t.Errorf("%v: indicator %v", tc.attrs, ind)
		}
	}
}

// TestRegistryKeyKeepsItsMapping pins the registry-key mapping of earlier
// imports: last-modified, name, data and data-type stay x_misp_*
// (misp-stix writes modified_time and values), so that an event imported
// before imports again without conflicts (see the package
// documentation).
func TestRegistryKeyKeepsItsMapping(t *testing.T) {
	o, _ := docObject(t, "registry-key")
	no := false
	objs, _ := convertOne(t, event(nil, []Object{withToIDs(o, &no)}), Options{})
	key := observableOf(t, objs, "observed-data--"+o.UUID, "windows-registry-key")
	if key == nil || key["x_misp_last_modified"] != "2020-10-25T16:22:00+00:00" || key["modified_time"] != nil || key["values"] != nil ||
		key["x_misp_name"] != "RegistryName" || key["x_misp_data_type"] != "REG_SZ" {
		t.Errorf("registry-key observable %s", jsonText(key))
	}
	id, _ := stix.DeterministicID("windows-registry-key", map[string]any{"key": key["key"]})
	if key != nil && key["id"] != id {
		t.Errorf("id %s, want %s (its key's)", key["id"], id)
	}
}

// TestProcess converts misp-stix's documented process object: with its
// parent-image (parent_ref.image_ref, two references away) it is listed
// as unsupported, not written without it; without, the indicator
// compares what misp-stix's pattern does (the pid as an integer), the
// observable has its image, child and parent (pid and command line one
// process) as misp-stix's, an export to a feed imports back the same,
// and the indicator matches the observation.
func TestProcess(t *testing.T) {
	o, d := docObject(t, "process")
	objs, unsupp := convertOne(t, event(nil, []Object{o}), Options{})
	if objs["indicator--"+o.UUID] != nil || len(unsupp) != 1 || !strings.Contains(unsupp[0].Reason, "parent-image") {
		t.Errorf("with parent-image: %v", unsupp)
	}
	o.Attribute = slices.DeleteFunc(slices.Clone(o.Attribute), func(a Attribute) bool {
		return a.ObjectRelation == "parent-image" || a.ObjectRelation == "parent-process-name"
	})
	objs, unsupp = convertOne(t, event(nil, []Object{o}), Options{})
	ind := objs["indicator--"+o.UUID]
	if want := "[process:pid = 2510 AND process:image_ref.name = 'test_process.exe']"; ind == nil || ind["pattern"] != want {
		t.Errorf("indicator %v (%v), want pattern %s (misp-stix: %s)", ind, unsupp, want, d.first("indicator")["pattern"])
	}
	no, yes := false, true
	objs, _ = convertOne(t, event(nil, []Object{withToIDs(o, &no)}), Options{})
	proc := observableOf(t, objs, "observed-data--"+o.UUID, "process")
	if proc == nil {
		t.Fatal("no process")
	}
	deref := func(id any) map[string]any { return objs[fmt.Sprint(id)] }
	children, _ := proc["child_refs"].([]any)
	if proc["pid"] != float64(2510) || deref(proc["image_ref"])["name"] != "test_process.exe" || len(children) != 1 ||
		deref(children[0])["pid"] != float64(1401) || proc["x_misp_name"] != "TestProcess" {
		t.Errorf("process %s", jsonText(proc))
	}
	if parent := deref(proc["parent_ref"]); parent == nil || parent["pid"] != float64(2107) || parent["command_line"] != "grep -nrG iglocska /home/viktor/friends.txt" {
		t.Errorf("parent %s", jsonText(parent))
	}

	// Exported and imported back; matched.
	all := withToIDs(o, &yes)
	all.UUID = uuidV5("all " + o.UUID)
	ev := event(nil, []Object{withToIDs(o, &no), all})
	first, _ := stixOf(t, Options{}, ev)
	dir := t.TempDir()
	if err := WriteFeed(dir, FeedFromSTIX(first, EventFor("test"))); err != nil {
		t.Fatal(err)
	}
	again, _ := stixOf(t, Options{}, loadFeedEvent(t, dir, ev.UUID))
	byID := map[string]string{}
	canonical := func(o *stix.Object) string {
		if o.Type == "observed-data" {
			// The feed writes the properties sorted: the observables
			// come back in another order.
			refs := stringList(o.Props["object_refs"])
			sort.Strings(refs)
			return strings.Join(refs, " ")
		}
		return string(o.Raw)
	}
	for _, s := range first {
		byID[s.ID] = canonical(s)
	}
	n := 0
	for _, s := range again {
		switch s.Type {
		case "indicator", "observed-data", "process", "file":
			n++
			if byID[s.ID] != canonical(s) {
				t.Errorf("imported back:\n%s\nwas\n%s", canonical(s), byID[s.ID])
			}
		}
	}
	if n != 6 {
		t.Errorf("%d objects compared, want 6", n)
	}
	res := NewConverter(Options{}).Convert(event(nil, []Object{withToIDs(o, &no)}))
	p, _ := objsOf(t, NewConverter(Options{}).Convert(event(nil, []Object{all})))["indicator--"+all.UUID]["pattern"].(string)
	if r, err := pattern.MatchJSON(p, []byte("["+string(bytes.Join(asBytes(res.Objects), []byte(",")))+"]")); err != nil || !r.Matched {
		t.Errorf("%s does not match its observation (%v)", p, err)
	}
}

func objsOf(t *testing.T, r *Result) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, raw := range r.Objects {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		out[m["id"].(string)] = m
	}
	return out
}

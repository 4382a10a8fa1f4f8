package misp

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/stix"
)

// hostileAttr is one attribute of a crafted object.
func hostileAttr(rel, typ, v string) Attribute {
	return Attribute{UUID: uuidV5("hostile " + rel + " " + v), ObjectRelation: rel, Type: typ, Value: v, ToIDs: true}
}

func hostileMany(n int, rel, typ string) []Attribute {
	out := make([]Attribute, n)
	for i := range out {
		out[i] = Attribute{UUID: uuidV5(fmt.Sprint("hostile many ", rel, i)), ObjectRelation: rel, Type: typ, Value: fmt.Sprint(i + 10), ToIDs: true}
	}
	return out
}

// TestHostileTemplates sends the new templates crafted objects, each in
// an event beside a good one (with to_ids, and again without: indicator
// and observed-data). A bad object is listed as unsupported, with a
// bounded, printable reason, and nothing is written of it (not even a
// reference from the event's grouping); the good object is written all
// the same. What a template can take (a socket family STIX doesn't list,
// a datetime whose zone moves it out of STIX's years, a repeated
// relation, pids that name each other) is written as the mapping says,
// and every object written is valid STIX.
func TestHostileTemplates(t *testing.T) {
	a := hostileAttr
	bidi := "\u202e"
	for _, tc := range []struct {
		name  string
		obj   Object
		bad   string // a part of the unsupported reason; "" when the object is written
		check func(t *testing.T, objs map[string]map[string]any, ind, obs string)
	}{
		{name: "a million children, as 1e5", obj: Object{Name: "process", Attribute: append([]Attribute{a("pid", "text", "4")}, hostileMany(100000, "child-pid", "text")...)},
			bad: "100001 attributes, more than the 1000 an object may have"},
		{name: "one child more than the bound", obj: Object{Name: "process", Attribute: append([]Attribute{a("pid", "text", "4")}, hostileMany(MaxObjectAttributes, "child-pid", "text")...)},
			bad: "1001 attributes"},
		{name: "a social account of 1e5 attributes", obj: Object{Name: "telegram-account", Attribute: append([]Attribute{a("id", "text", "1")}, hostileMany(100000, "phone", "text")...)},
			bad: "more than the 1000 an object may have"},
		{name: "a huge command line", obj: Object{Name: "process", Attribute: []Attribute{a("pid", "text", "4"), a("command-line", "text", strings.Repeat("A", MaxObjectValue+1))}},
			bad: "has a value of 65536 bytes, more than the 65535"},
		{name: "a pid of 60000 digits", obj: Object{Name: "process", Attribute: []Attribute{a("pid", "text", bidi+strings.Repeat("9", 60000))}},
			bad: "pid \"?999"},
		{name: "a negative child pid", obj: Object{Name: "process", Attribute: []Attribute{a("pid", "text", "4"), a("child-pid", "text", "-1")}},
			bad: `child-pid "-1" is not a number`},
		{name: "a pid in exponent form", obj: Object{Name: "process", Attribute: []Attribute{a("pid", "text", "1e6")}},
			bad: `pid "1e6" is not a number`},
		{name: "an address with a bidi override", obj: Object{Name: "http-request", Attribute: []Attribute{a("ip-dst", "ip-dst", "1.2.3.4"+bidi+"\x1b[2J"), a("method", "http-method", "GET")}},
			bad: `"1.2.3.4??[2J" is not an IP address`},
		{name: "a template name of a MiB", obj: Object{Name: "twitter-account" + bidi + strings.Repeat("x", 1<<20), Attribute: []Attribute{a("id", "text", "1")}},
			bad: "no STIX mapping for this object template"},
		{name: "an artifact with a url and no hash", obj: Object{Name: "artifact", Attribute: []Attribute{a("url", "url", "http://x.example/a")}},
			// The indicator compares the URL; the observable would be
			// invalid STIX (hashes are required beside url).
			bad: `"hashes" is required when url is present`},
		{name: "pids that name each other", obj: Object{Name: "process", Attribute: []Attribute{a("pid", "text", "4"), a("child-pid", "text", "4"), a("parent-pid", "text", "4"), a("child-pid", "text", "4")}},
			check: func(t *testing.T, objs map[string]map[string]any, ind, obs string) {
				root := observableOf(t, objs, "observed-data--"+obs, "process")
				if root == nil {
					t.Fatal("no process")
				}
				kids := stringList(root["child_refs"])
				if len(kids) != 1 || kids[0] == root["id"] || root["parent_ref"] == root["id"] || root["parent_ref"] == kids[0] {
					t.Errorf("process %v: a child or parent is itself, or one child twice", root)
				}
			}},
		{name: "datetimes whose zones leave STIX's years", obj: Object{Name: "directory", Attribute: []Attribute{a("path", "text", "/tmp"),
			a("creation-time", "datetime", "9999-12-31T23:59:59-14:00"), a("access-time", "datetime", "0001-01-01T00:00:00+14:00"),
			a("modification-time", "datetime", "2021-02-30T00:00:00Z")}},
			check: func(t *testing.T, objs map[string]map[string]any, ind, obs string) {
				d := observableOf(t, objs, "observed-data--"+obs, "directory")
				if d == nil || d["ctime"] != nil || d["atime"] != nil || d["mtime"] != nil || d["x_misp_creation_time"] != "9999-12-31T23:59:59-14:00" {
					t.Errorf("directory %v: a datetime outside STIX's years is a timestamp", d)
				}
			}},
		{name: "socket families STIX doesn't list", obj: Object{Name: "network-socket", Attribute: []Attribute{a("ip-dst", "ip-dst", "1.2.3.4"),
			a("address-family", "text", "AF_INET"+bidi), a("address-family", "text", "af_inet"), a("socket-type", "text", "SOCK_STREAM"), a("protocol", "text", "TCP\x00")}},
			check: func(t *testing.T, objs map[string]map[string]any, ind, obs string) {
				s := observableOf(t, objs, "observed-data--"+obs, "network-traffic")
				if s == nil || s["extensions"] != nil || s["x_misp_socket_type"] != "SOCK_STREAM" {
					t.Errorf("socket %v: socket-ext without a family STIX lists", s)
				}
			}},
		{name: "an http request with control and bidi characters", obj: Object{Name: "http-request", Attribute: []Attribute{a("ip-dst", "ip-dst", "1.2.3.4"),
			a("method", "http-method", "GET\r\nX-Evil: 1"), a("uri", "uri", "/"+bidi+"gnp.exe"), a("user-agent", "user-agent", "a\x1b]0;owned\x07b"), a("referer", "other", "\ufffd")}},
			check: func(t *testing.T, objs map[string]map[string]any, ind, obs string) {
				// Values are the feed's data, kept as they are (a matcher
				// compares them with what sensors saw).
				if p, _ := objs["indicator--"+ind]["pattern"].(string); !strings.Contains(p, "request_method = 'GET\r\nX-Evil: 1'") {
					t.Errorf("pattern %q", p)
				}
			}},
		{name: "repeated relations", obj: Object{Name: "twitter-account", Attribute: []Attribute{a("id", "text", "1"), a("id", "text", "2"), a("name", "text", "n"),
			a("name", "text", "n"), a("bio", "text", "b1"), a("bio", "text", "b2"), a("bio", "text", "b1")}},
			check: func(t *testing.T, objs map[string]map[string]any, ind, obs string) {
				want := "[user-account:account_type = 'twitter' AND (user-account:user_id = '1' OR user-account:user_id = '2') AND user-account:account_login = 'n' AND user-account:x_misp_bio[*] = 'b1' AND user-account:x_misp_bio[*] = 'b2']"
				if p := objs["indicator--"+ind]["pattern"]; p != want {
					t.Errorf("pattern %s, want %s", p, want)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			no := false
			o := tc.obj
			o.UUID = uuidV5("hostile " + tc.name)
			seen := o
			seen.UUID = uuidV5("hostile seen " + tc.name)
			good := Object{UUID: "4f1a2b3c-0000-4000-8000-0000000000aa", Name: "mutex", Attribute: []Attribute{a("name", "text", "good")}}
			ev := event(nil, []Object{good, o, withToIDs(seen, &no)})
			res := NewConverter(Options{}).Convert(ev)
			objs := map[string]map[string]any{}
			for _, raw := range res.Objects {
				so, err := stix.Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				if err := validator.Validate(so); err != nil {
					t.Errorf("invalid: %v: %.300s", err, raw)
				}
				objs[so.ID] = so.Props
				if p, _ := so.Props["pattern"].(string); p != "" {
					if _, err := pattern.Parse(p); err != nil {
						t.Errorf("pattern %.200q: %v", p, err)
					}
				}
			}
			if objs["indicator--"+good.UUID] == nil {
				t.Error("the good object was not written")
			}
			for _, u := range res.Unsupported {
				if s := u.String(); len(s) > 1400 || !utf8.ValidString(s) || strings.ContainsAny(s, "\u202e\x1b\r\n\x00") {
					t.Errorf("unsupported (%d bytes): %.300q", len(s), s)
				}
			}
			for _, uuid := range []string{o.UUID, seen.UUID} {
				kind := "indicator--"
				if uuid == seen.UUID {
					kind = "observed-data--"
				}
				if tc.bad == "" {
					if objs[kind+uuid] == nil {
						t.Errorf("no %s%s: %v", kind, uuid, res.Unsupported)
					}
					continue
				}
				if kind == "indicator--" && tc.name == "an artifact with a url and no hash" {
					continue // the indicator compares the URL alone
				}
				for id := range objs {
					if strings.HasSuffix(id, uuid) {
						t.Errorf("%s written of a bad object", id)
					}
				}
				found := false
				for _, u := range res.Unsupported {
					found = found || strings.Contains(u.UUID, uuid) && strings.Contains(u.Reason, tc.bad)
				}
				if !found {
					t.Errorf("%s: no unsupported %q in %.500v", uuid, tc.bad, res.Unsupported)
				}
			}
			for id, m := range objs {
				if strings.HasPrefix(id, "grouping--") && bytes.Contains([]byte(jsonText(m["object_refs"])), []byte(o.UUID)) && tc.bad != "" && tc.name != "an artifact with a url and no hash" {
					t.Errorf("the grouping references the bad object: %s", jsonText(m["object_refs"]))
				}
			}
			if tc.check != nil {
				tc.check(t, objs, o.UUID, seen.UUID)
			}
		})
	}
}

// hostileTemplateSeeds are events of crafted objects of the new
// templates, seeds of FuzzReadEvents: cyclic and repeated pids, a long
// command line, an artifact with a URL and no hash, datetimes with zones
// out of range, socket families STIX doesn't list, an HTTP request with
// control and bidi characters, repeated relations, a social account of
// many attributes.
func hostileTemplateSeeds() []string {
	obj := func(name string, attrs ...string) string {
		var b strings.Builder
		for i, a := range attrs {
			rel, rest, _ := strings.Cut(a, "=")
			typ, val, _ := strings.Cut(rest, ":")
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"uuid":"%s","object_relation":%s,"type":%s,"value":%s,"to_ids":%v}`, uuidV5(fmt.Sprint("seed ", name, i)), jsonText(rel), jsonText(typ), jsonText(val), i%2 == 0)
		}
		return fmt.Sprintf(`{"uuid":"%s","name":%s,"timestamp":"1603642920","Attribute":[%s]}`, uuidV5("seed "+name+strings.Join(attrs, ",")), jsonText(name), b.String())
	}
	ev := func(objs ...string) string {
		return `{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"seed","timestamp":"1603642920","Object":[` + strings.Join(objs, ",") + `]}}`
	}
	many := make([]string, 0, 40)
	for i := range 40 {
		many = append(many, fmt.Sprintf("child-pid=text:%d", i%7))
	}
	phones := make([]string, 0, 40)
	for i := range 40 {
		phones = append(phones, fmt.Sprintf("phone=text:0%d", i))
	}
	return []string{
		ev(obj("process", "pid=text:4", "child-pid=text:4", "parent-pid=text:4", "child-pid=text:4", "parent-command-line=text:a", "parent-command-line=text:b")),
		ev(obj("process", append([]string{"pid=text:1"}, many...)...)),
		ev(obj("process", "pid=text:-1", "command-line=text:"+strings.Repeat("A", 4000), "creation-time=datetime:2021-10-25T16:22:00+99:00", "image=filename:\u202egnp.exe")),
		ev(obj("process", "pid=text:99999999999999999999999", "parent-image=filename:x")),
		ev(obj("artifact", "url=url:http://x.example/a"), obj("artifact", "url=url:http://x.example/a", "sha256=sha256:"+strings.Repeat("a", 64), "mime_type=mime-type:PE32 executable")),
		ev(obj("directory", "path=text:/tmp", "creation-time=datetime:9999-12-31T23:59:59-14:00", "access-time=datetime:0001-01-01T00:00:00+14:00", "modification-time=datetime:2021-02-30T00:00:00Z", "path-encoding=text:\x00")),
		ev(obj("network-socket", "ip-dst=ip-dst:1.2.3.4", "address-family=text:AF_INET\u202e", "address-family=text:AF_UNIX", "socket-type=text:SOCK_STREAM", "protocol=text:TCP\u0000", "protocol=text:tcp", "state=text:listening")),
		ev(obj("http-request", "ip-dst=ip-dst:1.2.3.4\u202e", "method=http-method:GET\r\nX-Evil: 1", "uri=uri:/\u202egnp.exe", "user-agent=user-agent:a\x1b]0;t\x07", "referer=other:\ufffd", "url=url:http://x/")),
		ev(obj("http-request", "host=hostname:x.example", "method=http-method:GET", "method=http-method:POST", "uri=uri:/a", "uri=uri:/b", "content-type=other:text/html")),
		ev(obj("twitter-account", "id=text:1", "id=text:2", "name=text:n", "name=text:n", "bio=text:b", "bio=text:b", "bio=text:c")),
		ev(obj("telegram-account", append([]string{"id=text:1", "username=text:u"}, phones...)...)),
		ev(obj("credential", "username=text:u", "password=text:p", "password=text:q"), obj("android-app", "name=text:a", "domain=domain:a.example", "domain=domain:b.example")),
		// Objects written in another's observable, with cycles: a file
		// including itself and its pe, the pe its sections, the file and
		// itself, a section the pe; a key containing a value that
		// contains the key; a lone section.
		ev(mergeSeed("file", "a", "filename=filename:a.exe", "a includes a", "a includes b", "a included-in b"),
			mergeSeed("pe", "b", "type=text:exe‮", "b includes c", "b includes d", "b includes a", "b includes b", "b includes c"),
			mergeSeed("pe-section", "c", "entropy=float:1e400", "c includes b"),
			mergeSeed("pe-section", "d", "size-in-bytes=size-in-bytes:-1", "d includes d"),
			mergeSeed("pe-section", "e", "name=text:.lone"),
			mergeSeed("registry-key", "k", `key=regkey:HKLM\\x`, "k contains v", "k contains k"),
			mergeSeed("registry-key-value", "v", `data-type=text:REG_\u0000`, "v contains k")),
	}
}

// mergeSeed is a seed object named by letter, with attributes
// relation=type:value and references "letter type letter".
func mergeSeed(name, letter string, attrs ...string) string {
	id := func(l string) string { return uuidV5("merge seed " + l) }
	var as, rs []string
	for i, a := range attrs {
		if from, rest, ok := strings.Cut(a, " "); ok && !strings.Contains(a, "=") {
			typ, to, _ := strings.Cut(rest, " ")
			rs = append(rs, fmt.Sprintf(`{"uuid":"%s","object_uuid":"%s","referenced_uuid":"%s","relationship_type":%s}`, id(a), id(from), id(to), jsonText(typ)))
			continue
		}
		rel, rest, _ := strings.Cut(a, "=")
		typ, val, _ := strings.Cut(rest, ":")
		as = append(as, fmt.Sprintf(`{"uuid":"%s","object_relation":%s,"type":%s,"value":"%s","to_ids":%v}`, id(fmt.Sprint(letter, i)), jsonText(rel), jsonText(typ), val, i%2 == 0))
	}
	return fmt.Sprintf(`{"uuid":"%s","name":%s,"timestamp":"1603642920","Attribute":[%s],"ObjectReference":[%s]}`, id(letter), jsonText(name), strings.Join(as, ","), strings.Join(rs, ","))
}

// TestHostileTemplateSeeds: the seeds are events (a seed that fails to
// parse would fuzz the JSON reader only), each of whose objects is
// written or listed as unsupported.
func TestHostileTemplateSeeds(t *testing.T) {
	for i, s := range hostileTemplateSeeds() {
		evs, err := ParseEvents([]byte(s))
		if err != nil || len(evs) != 1 {
			t.Fatalf("seed %d: %v", i, err)
		}
		var live []*Object
		for j := range evs[0].Object {
			live = append(live, &evs[0].Object[j])
		}
		plan := planMerges(live)
		res := NewConverter(Options{}).Convert(evs[0])
		for _, o := range evs[0].Object {
			if plan.merged(&o) {
				if host := plan.into[o.UUID]; !slices.ContainsFunc(res.Keys, func(k string) bool { return strings.Contains(k, "--"+host+" ") }) {
					t.Errorf("seed %d: object %s (%s) is in %s, which is not written", i, o.UUID, o.Name, host)
				}
				continue
			}
			written := slices.ContainsFunc(res.Keys, func(k string) bool { return strings.Contains(k, "--"+o.UUID+" ") })
			listed := slices.ContainsFunc(res.Unsupported, func(u Unsupported) bool { return u.UUID == o.UUID })
			if !written && !listed {
				t.Errorf("seed %d: object %s (%s) neither written nor listed", i, o.UUID, o.Name)
			}
		}
	}
}

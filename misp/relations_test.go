package misp

import (
	"bytes"
	"sort"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/pattern"
)

func relAttr(rel, typ, v string, toIDs bool) Attribute {
	return Attribute{UUID: uuidV5(rel + v), ObjectRelation: rel, Type: typ, Value: v, Category: "Network activity", ToIDs: Bool(toIDs)}
}

// TestSocketState: a network-socket's state "listening" or "blocking" is
// its socket-ext's is_listening or is_blocking, true, as misp-stix
// writes it, where the socket has an address family (socket-ext requires
// it); another state, or one without a family, stays x_misp_state. A
// pattern compares the flag as a boolean and matches the observation; a
// feed export gives the state back; and the observed-data with the flag
// is a new version of the one with x_misp_state (2 ms later).
func TestSocketState(t *testing.T) {
	for _, tc := range []struct {
		attrs   []Attribute
		want    string
		revised bool
	}{
		{[]Attribute{relAttr("address-family", "text", "AF_INET", false), relAttr("state", "text", "listening", false)},
			`"extensions":{"socket-ext":{"address_family":"AF_INET","is_listening":true}}`, true},
		{[]Attribute{relAttr("address-family", "text", "AF_INET", false), relAttr("state", "text", "Blocking", false)},
			`"extensions":{"socket-ext":{"address_family":"AF_INET","is_blocking":true}}`, true},
		{[]Attribute{relAttr("address-family", "text", "AF_INET", false), relAttr("state", "text", "closed", false)},
			`"x_misp_state":"closed"`, false},
		{[]Attribute{relAttr("state", "text", "listening", false)}, `"x_misp_state":"listening"`, false},
	} {
		o := Object{UUID: "5afb3223-0988-4ef1-a920-02070a00020f", Name: "network-socket", Timestamp: 1603642920,
			Attribute: append([]Attribute{relAttr("ip-dst", "ip-dst", "5.6.7.8", false)}, tc.attrs...)}
		objs, unsupp := convertOne(t, event(nil, []Object{o}), Options{})
		sco := observableOf(t, objs, "observed-data--"+o.UUID, "network-traffic")
		if sco == nil || !strings.Contains(jsonText(sco), tc.want) {
			t.Errorf("%v: %s, want %s in it (%v)", tc.attrs, jsonText(sco), tc.want, unsupp)
			continue
		}
		want := "2020-10-25T16:22:00.000Z"
		if tc.revised {
			want = "2020-10-25T16:22:00.002Z"
		}
		if m := objs["observed-data--"+o.UUID]["modified"]; m != want {
			t.Errorf("%v: modified %v, want %s", tc.attrs, m, want)
		}
	}

	all := Object{UUID: "5afb3223-0988-4ef1-a920-02070a00020f", Name: "network-socket", Timestamp: 1603642920, MetaCategory: "network",
		Attribute: []Attribute{relAttr("ip-dst", "ip-dst", "5.6.7.8", true), relAttr("address-family", "text", "AF_INET", true),
			relAttr("state", "text", "listening", true)}}
	ind, _ := convertOne(t, event(nil, []Object{all}), Options{})
	p, _ := ind["indicator--"+all.UUID]["pattern"].(string)
	if !strings.Contains(p, "network-traffic:extensions.'socket-ext'.is_listening = true") {
		t.Errorf("pattern %s compares no is_listening", p)
	}
	no := false
	res := NewConverter(Options{}).Convert(event(nil, []Object{withToIDs(all, &no)}))
	data := []byte("[" + string(bytes.Join(asBytes(res.Objects), []byte(","))) + "]")
	if r, err := pattern.MatchJSON(p, data); err != nil || !r.Matched {
		t.Errorf("%s does not match its observation (%v):\n%s", p, err, data)
	}
	od := withToIDs(all, &no)
	od.UUID = uuidV5("observed " + all.UUID)
	ev := event(nil, []Object{all, od})
	objs, _ := stixOf(t, Options{}, ev)
	dir := t.TempDir()
	if err := WriteFeed(dir, FeedFromSTIX(objs, EventFor("test"))); err != nil {
		t.Fatal(err)
	}
	back := loadFeedEvent(t, dir, ev.UUID)
	for _, o := range back.Object {
		found := false
		for _, a := range o.Attribute {
			found = found || a.ObjectRelation == "state" && a.Value == "listening"
		}
		if !found {
			t.Errorf("object %s comes back without its state: %+v", o.UUID, o.Attribute)
		}
	}
	again, _ := stixOf(t, Options{}, back)
	for _, b := range again {
		for _, o := range objs {
			if o.ID == b.ID && (b.Type == "indicator" || b.Type == "observed-data") && (!SameInMISP(o, b, again...) || !o.Modified.Equal(b.Modified)) {
				t.Errorf("%s is not the same:\n%s\n%s", b.ID, o.Raw, b.Raw)
			}
		}
	}
}

// TestProtocolsExportByLayer: a network-connection's protocols, one list
// in STIX, go back to MISP as the relation of each one's layer (IP as
// layer3-protocol, TCP as layer4-protocol, HTTP as layer7-protocol), not
// all as layer3-protocol.
func TestProtocolsExportByLayer(t *testing.T) {
	for _, toIDs := range []bool{true, false} {
		o := Object{UUID: "5afacc53-c0b0-4825-a6ee-03c80a00020f", Name: "network-connection", Timestamp: 1603642920,
			Attribute: []Attribute{relAttr("ip-dst", "ip-dst", "5.6.7.8", toIDs), relAttr("layer3-protocol", "text", "IP", toIDs),
				relAttr("layer4-protocol", "text", "TCP", toIDs), relAttr("layer7-protocol", "text", "HTTP", toIDs)}}
		ev := event(nil, []Object{o})
		objs, _ := stixOf(t, Options{}, ev)
		dir := t.TempDir()
		if err := WriteFeed(dir, FeedFromSTIX(objs, EventFor("test"))); err != nil {
			t.Fatal(err)
		}
		back := loadFeedEvent(t, dir, ev.UUID)
		if len(back.Object) != 1 {
			t.Fatalf("%d objects back", len(back.Object))
		}
		var got []string
		for _, a := range back.Object[0].Attribute {
			if strings.HasSuffix(a.ObjectRelation, "-protocol") {
				got = append(got, a.ObjectRelation+"="+a.Value)
			}
		}
		sort.Strings(got)
		if g, w := strings.Join(got, " "), "layer3-protocol=ip layer4-protocol=tcp layer7-protocol=http"; g != w {
			t.Errorf("to_ids %v: protocols back %q, want %q", toIDs, g, w)
		}
	}
}

// TestSecondValueOfOneReference: a network-connection with two ip-src
// (without to_ids) writes the first as its src_ref and lists the second
// as not written, with no observable of it that nothing references (an
// earlier conversion left one in the observed-data: this is a new
// version of it, 2 ms later). A host name beside the address of a
// reference still stands beside it.
func TestSecondValueOfOneReference(t *testing.T) {
	o := Object{UUID: "5afacc53-c0b0-4825-a6ee-03c80a00020f", Name: "network-connection", Timestamp: 1603642920,
		Attribute: []Attribute{relAttr("ip-src", "ip-src", "1.2.3.4", false), relAttr("ip-src", "ip-src", "1.2.3.5", false),
			relAttr("ip-dst", "ip-dst", "5.6.7.8", false), relAttr("hostname-dst", "hostname", "circl.lu", false)}}
	objs, unsupp := convertOne(t, event(nil, []Object{o}), Options{})
	od := objs["observed-data--"+o.UUID]
	if od == nil {
		t.Fatalf("no observed-data: %v", unsupp)
	}
	var types []string
	for _, r := range od["object_refs"].([]any) {
		s := objs[r.(string)]
		types = append(types, s["type"].(string)+" "+jsonText(s["value"]))
		if s["value"] == "1.2.3.5" {
			t.Errorf("an observable of the second ip-src, which nothing references: %s", jsonText(s))
		}
	}
	sort.Strings(types)
	if g, w := strings.Join(types, ","), `domain-name "circl.lu",ipv4-addr "1.2.3.4",ipv4-addr "5.6.7.8",network-traffic null`; g != w {
		t.Errorf("observables %s, want %s", g, w)
	}
	if od["modified"] != "2020-10-25T16:22:00.002Z" {
		t.Errorf("modified %v, want 2 ms after the MISP timestamp", od["modified"])
	}
	listed := false
	for _, u := range unsupp {
		listed = listed || strings.Contains(u.Reason, `ip-src "1.2.3.5" not written`)
	}
	if !listed {
		t.Errorf("the second ip-src is not listed: %v", unsupp)
	}
}

// TestNewlyMappedContainerVersion: an event whose lnk, image or netflow an
// earlier import listed as unsupported (its grouping referred to none of
// them) makes a grouping that refers to it, a new version after the
// event's timestamp (4 ms: its object_refs, labels and markings sorted,
// after the 2 ms of the imports that first wrote them and the 3 ms of
// those that sorted only its object_refs); so does an event of other objects,
// whose object_refs an import before 6 December 2026 wrote in the
// event's order (TestContainerRefsSorted).
func TestNewlyMappedContainerVersion(t *testing.T) {
	for name, want := range map[string]string{"lnk": "2020-10-25T16:22:00.004Z", "image": "2020-10-25T16:22:00.004Z", "netflow": "2020-10-25T16:22:00.004Z", "mutex": "2020-10-25T16:22:00.004Z"} {
		o, _ := docObject(t, name)
		objs, unsupp := convertOne(t, event(nil, []Object{o}), Options{})
		g := objs["grouping--a6ef17d6-91cb-4a05-b10b-2f045daf874c"]
		if g == nil || g["modified"] != want || !strings.Contains(jsonText(g["object_refs"]), o.UUID) {
			t.Errorf("%s: grouping %s, want version %s referring to %s (%v)", name, jsonText(g), want, o.UUID, unsupp)
		}
	}
}

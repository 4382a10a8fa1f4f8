package misp

import (
	"bytes"
	"strings"
	"testing"
)

// TestInvalidPortsAndTimes: misp-stix's documented network-connection,
// ip-port, network-socket and netflow, without to_ids, with a port an
// observable cannot hold (over 65535, negative, a name) or a netflow's
// last packet before its first: the observed-data is written with the
// other values (it was refused whole, invalid as STIX), the bad
// attribute listed as not written; a second conversion is the same.
// With to_ids the pattern compares what MISP gives, as before.
func TestInvalidPortsAndTimes(t *testing.T) {
	none := false
	cases := []struct {
		template, relation, value string
		prop                      string // the network-traffic property left out
		add                       bool   // the attribute is added
		compared                  bool   // an indicator's pattern compares it
	}{
		{"network-connection", "dst-port", "70000", "dst_port", false, true},
		{"network-connection", "src-port", "-1", "src_port", false, false},
		{"ip-port", "dst-port", "https", "dst_port", false, false},
		{"network-socket", "src-port", "65536", "src_port", false, true},
		{"netflow", "dst-port", "99999", "dst_port", false, true},
		{"netflow", "src-port", "-80", "src_port", false, false},
		{"netflow", "last-packet-seen", "2020-10-25T16:21:59+00:00", "end", true, true},
	}
	for _, tc := range cases {
		o, _ := docObject(t, tc.template)
		o = withToIDs(o, &none)
		if tc.add {
			o.Attribute = append(o.Attribute, Attribute{UUID: "0d3f1c52-5c2e-4b8e-9c6b-6c1f0a3b2d10", ObjectRelation: tc.relation, Type: "datetime", Value: tc.value})
		}
		for i := range o.Attribute {
			a := &o.Attribute[i]
			if a.ObjectRelation == tc.relation && !tc.add {
				a.Value = tc.value
			}
		}
		ev := event(nil, []Object{o})
		objs, unsupp := convertOne(t, ev, Options{})
		od := objs["observed-data--"+o.UUID]
		if od == nil {
			t.Errorf("%s %s %q: no observed-data (%v)", tc.template, tc.relation, tc.value, unsupp)
			continue
		}
		nt := observableOf(t, objs, "observed-data--"+o.UUID, "network-traffic")
		if nt == nil {
			t.Errorf("%s: no network-traffic", tc.template)
			continue
		}
		if _, ok := nt[tc.prop]; ok {
			t.Errorf("%s: %s written: %v", tc.template, tc.prop, nt[tc.prop])
		}
		for _, p := range []string{"src_port", "dst_port", "start"} {
			if p != tc.prop && hasRelationFor(o, p) {
				if _, ok := nt[p]; !ok {
					t.Errorf("%s: %s left out too", tc.template, p)
				}
			}
		}
		if nt["dst_ref"] == nil {
			t.Errorf("%s: the destination left out too", tc.template)
		}
		listed := false
		for _, u := range unsupp {
			listed = listed || strings.Contains(u.Reason, tc.relation+` "`+tc.value+`" not written`)
		}
		if !listed {
			t.Errorf("%s %s %q: not listed as not written: %v", tc.template, tc.relation, tc.value, unsupp)
		}
		a := NewConverter(Options{}).Convert(ev)
		b := NewConverter(Options{}).Convert(ev)
		if !bytes.Equal(bytes.Join(asBytes(a.Objects), nil), bytes.Join(asBytes(b.Objects), nil)) {
			t.Errorf("%s: a second conversion differs", tc.template)
		}
		// With to_ids, the indicator's pattern compares the value (an
		// earlier import wrote it so: dropped, it would be other
		// content under the same version).
		all := true
		ind, _ := convertOne(t, event(nil, []Object{withToIDs(o, &all)}), Options{})
		if i := ind["indicator--"+o.UUID]; tc.compared && (i == nil || !strings.Contains(i["pattern"].(string), "network-traffic:"+tc.prop+" ")) {
			t.Errorf("%s: the indicator does not compare %s: %v", tc.template, tc.prop, i)
		}
	}
}

// hasRelationFor reports whether o has an attribute for a
// network-traffic port or start.
func hasRelationFor(o Object, prop string) bool {
	rel := map[string]string{"src_port": "src-port", "dst_port": "dst-port", "start": "first-packet-seen"}[prop]
	for _, a := range o.Attribute {
		if a.ObjectRelation == rel {
			return true
		}
	}
	return false
}

// TestNetflowTCPFlags: misp-stix's documented netflow (protocol IP, TCP
// flags) is a network-traffic of protocols ip and tcp, as misp-stix
// writes it (tcp after ip: from the outermost layer in); with protocol
// tcp given, tcp once; without flags, the protocol given; with an ICMP
// type (x_misp_icmp_type: icmp-ext requires the code too), ip and icmp. An observed-data
// with flags is a version 3 ms after the object's timestamp (the
// conversion that mapped netflow wrote protocols ip alone at it); its
// indicator, whose pattern is unchanged, is not.
func TestNetflowTCPFlags(t *testing.T) {
	none, all := false, true
	for _, tc := range []struct {
		name       string
		edit       func(*Object)
		protocols  string
		modified   string
		indicators string
	}{
		{"documented", func(*Object) {}, `["ip","tcp"]`, "2020-10-25T16:22:00.003Z", "2020-10-25T16:22:00.000Z"},
		{"tcp given", func(o *Object) { setRelation(o, "protocol", "TCP") }, `["tcp"]`, "2020-10-25T16:22:00.003Z", "2020-10-25T16:22:00.000Z"},
		{"no flags", func(o *Object) { setRelation(o, "tcp-flags", "") }, `["ip"]`, "2020-10-25T16:22:00.000Z", "2020-10-25T16:22:00.000Z"},
		{"icmp type", func(o *Object) {
			setRelation(o, "tcp-flags", "")
			o.Attribute = append(o.Attribute, Attribute{UUID: "6f0c3b5e-8f55-4a57-9d0e-2b7d9c1f4a21", ObjectRelation: "icmp-type", Type: "text", Value: "8"})
		}, `["ip","icmp"]`, "2020-10-25T16:22:00.003Z", "2020-10-25T16:22:00.000Z"},
	} {
		o, _ := docObject(t, "netflow")
		o = withToIDs(o, &none)
		tc.edit(&o)
		objs, _ := convertOne(t, event(nil, []Object{o}), Options{})
		nt := observableOf(t, objs, "observed-data--"+o.UUID, "network-traffic")
		if nt == nil {
			t.Fatalf("%s: no network-traffic", tc.name)
		}
		if got := jsonText(nt["protocols"]); got != tc.protocols {
			t.Errorf("%s: protocols %s, want %s", tc.name, got, tc.protocols)
		}
		if got := objs["observed-data--"+o.UUID]["modified"]; got != tc.modified {
			t.Errorf("%s: observed-data modified %v, want %s", tc.name, got, tc.modified)
		}
		ind, _ := convertOne(t, event(nil, []Object{withToIDs(o, &all)}), Options{})
		if got := ind["indicator--"+o.UUID]["modified"]; got != tc.indicators {
			t.Errorf("%s: indicator modified %v, want %s", tc.name, got, tc.indicators)
		}
	}
}

// setRelation sets the value of o's attribute of relation rel, or
// removes it where value is "".
func setRelation(o *Object, rel, value string) {
	var out []Attribute
	for _, a := range o.Attribute {
		if a.ObjectRelation == rel {
			if value == "" {
				continue
			}
			a.Value = value
		}
		out = append(out, a)
	}
	o.Attribute = out
}

// TestNetflowEndCompared: a netflow's last packet is compared with its
// first as a time, not as text ("…00.000001Z" is after "…00.000Z").
func TestNetflowEndCompared(t *testing.T) {
	none := false
	for _, end := range []string{"2020-10-25T16:22:00.000001+00:00", "2020-10-25T16:22:00+00:00", "2020-10-25T18:22:00+02:00"} {
		o, _ := docObject(t, "netflow")
		o = withToIDs(o, &none)
		o.Attribute = append(o.Attribute, Attribute{UUID: "0d3f1c52-5c2e-4b8e-9c6b-6c1f0a3b2d10", ObjectRelation: "last-packet-seen", Type: "datetime", Value: end})
		objs, unsupp := convertOne(t, event(nil, []Object{o}), Options{})
		nt := observableOf(t, objs, "observed-data--"+o.UUID, "network-traffic")
		if nt == nil || nt["end"] == nil {
			t.Errorf("%s: no end written (%v)", end, unsupp)
		}
	}
}
